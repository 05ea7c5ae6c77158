// Relacy model test of the REAL dynpcm::BasicEpochDomain (include/dynpcm/rt/epoch.h),
// instantiated with an atomic policy that maps onto Relacy (relacy_policy.h).
//
// The pattern is the DPCM link-set publication (Dpcm::Impl::publish / fe_trigger_rt):
//   writer (control): build a new object, publish it with a release store, synchronize(),
//                     then delete the old object;
//   readers (rt):     enter(slot), load the pointer (acquire), read a field of the object
//                     (an rl::var, so Relacy sees the access), exit(slot).
// Relacy must find no error over the whole search with the faithful policy (no access to freed
// memory, no data race on the field, no livelock in the writer's wait). With the seq_cst
// fences weakened (no-op, or acq_rel) it must report ACCESS TO FREED MEMORY: the program exits
// 0 only if both verdicts are as expected.
//
// Build: -std=c++20 -fno-sized-deallocation -fno-lifetime-dse, no sanitizers.

#include "dynpcm/rt/epoch.h"

#include "relacy_harness.h"

namespace dynpcm::model {
namespace {

struct Obj {
    rl::var<int> value;
};

/// kRounds publications by one writer; kReaders reader threads doing kSections sections each.
template <class Policy, int kReaders, int kRounds, int kSections>
struct EpochTest : rl::test_suite<EpochTest<Policy, kReaders, kRounds, kSections>, 1 + kReaders> {
    using Domain = BasicEpochDomain<Policy, 2>;
    static_assert(kReaders <= 2, "the domain has two slots");

    InPlace<Domain> domain;
    rl::atomic<Obj*> head;

    void before() {
        Obj* first = new Obj;
        first->value(RL_INFO) = 1;
        head.store(first, rl::mo_relaxed, RL_INFO);
    }

    void thread(unsigned index) {
        if (index == 0) {
            writer();
        } else {
            reader();
        }
    }

    void writer() {
        for (int round = 1; round <= kRounds; ++round) {
            Obj* next = new Obj;
            next->value(RL_INFO) = round + 1;
            Obj* old = head.load(rl::mo_relaxed, RL_INFO);  // only this thread stores head
            head.store(next, rl::mo_release, RL_INFO);      // publish
            domain->synchronize();                          // grace period
            delete old;                                     // reclaim
        }
    }

    void reader() {
        const int slot = domain->claim_slot();
        RL_ASSERT(slot != Domain::kNoSlot);
        int last = 0;
        for (int i = 0; i < kSections; ++i) {
            domain->enter(slot);
            Obj* o = head.load(rl::mo_acquire, RL_INFO);
            const int v = o->value(RL_INFO);  // the dereference the grace period protects
            RL_ASSERT(v >= 1 && v <= kRounds + 1);
            RL_ASSERT(v >= last);             // a later section never sees an older object
            last = v;
            domain->exit(slot);
        }
        domain->release_slot(slot);
    }

    void after() {
        Obj* o = head.load(rl::mo_relaxed, RL_INFO);
        RL_ASSERT(o->value(RL_INFO) == kRounds + 1);
        delete o;
    }
};

}  // namespace
}  // namespace dynpcm::model

int main() {
    using namespace dynpcm::model;
    const Expect pass{true, {}};
    const Expect uaf{false, {rl::test_result_access_to_freed_memory}};
    bool ok = true;

    std::printf("Relacy: BasicEpochDomain<RlPolicy, 2> (include/dynpcm/rt/epoch.h)\n");
    // The real orderings: exhaustive for one writer and one reader; then two readers.
    ok &= check<EpochTest<RlPolicy, 1, 2, 2>>({"epoch, 1 writer x 2 publications, 1 reader x 2 sections", Search::Full, 0}, pass);
    ok &= check<EpochTest<RlPolicy, 2, 1, 1>>({"epoch, 1 writer x 1 publication, 2 readers x 1 section", Search::Full, 0}, pass);
    ok &= check<EpochTest<RlPolicy, 2, 2, 2>>({"epoch, 1 writer x 2 publications, 2 readers x 2 sections", Search::Random, 200000}, pass);

    // Weakened: the seq_cst fences in enter()/synchronize() must be what makes it safe.
    ok &= check<EpochTest<RlPolicyNoFence, 1, 2, 2>>({"epoch WEAKENED: fences are no-ops", Search::Full, 0}, uaf);
    ok &= check<EpochTest<RlPolicyAcqRelFence, 1, 2, 2>>({"epoch WEAKENED: seq_cst fences -> acq_rel", Search::Full, 0}, uaf);

    std::printf("%s\n", ok ? "relacy_epoch: OK (real ordering verified; weakened orderings caught)"
                           : "relacy_epoch: FAILED");
    return ok ? 0 : 1;
}

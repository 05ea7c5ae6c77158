// Relacy model test of the REAL dynpcm::BasicEpochDomain (include/dynpcm/rt/epoch.h),
// instantiated with an atomic policy that maps onto Relacy (relacy_policy.h).
//
// The pattern is the DPCM link-set publication (Dpcm::Impl::publish / fe_trigger_rt):
//   writer (control): build a new object, publish it with a release store, synchronize(),
//                     then reclaim the old object: scribble on it (as an allocator or
//                     DYNPCM_POISON does) and delete it;
//   readers (rt):     claim a slot, then per section: enter(slot), load the pointer (acquire),
//                     read a field of the object (an rl::var, so Relacy sees the access),
//                     exit(slot).
// A reader that reads a reclaimed object is reported as ACCESS TO FREED MEMORY (after the
// delete) or DATA RACE (a read not ordered before the writer's scribble).
//
// Default run: with the faithful policy Relacy must find no error (exhaustive for the smallest
// case, context-bound and random beyond); with the seq_cst fences weakened it must report
// ACCESS TO FREED MEMORY, and with acquire/release weakened a DATA RACE. Exit 0 only if every
// verdict is as expected.
//
// --slot-reuse: readers give their slot back when done (SimClock's rt thread does, via
// release_rt_reader_slot()), so a later reader thread reuses it. This check found a real bug:
// enter() used to store the announcement relaxed, so the writer's acquire load in
// synchronize() that read a NEW reader's announcement synchronized with nobody, and nothing
// ordered the OLD reader's reads (before its exit()) ahead of the reclaim: the old reader's
// release store in exit() heads a release sequence that a plain store by another thread does not
// continue. epoch.h now stores the announcement with release; the check requires the real code
// to pass and the old relaxed announcement (RlPolicyRelaxedAnnouncement) to be caught.
//
// Build: -std=c++20 -fno-sized-deallocation -fno-lifetime-dse, no sanitizers.

#include "dynpcm/rt/epoch.h"

#include "relacy_harness.h"

namespace dynpcm::model {
namespace {

struct Obj {
    rl::var<int> value;
};

enum class Slots {
    Keep,     // each reader keeps its slot for the whole run (a long-lived rt thread)
    Release,  // a reader gives its slot back when done; a later reader may get the same one
};

/// kRounds publications by one writer; kReaders reader threads doing kSections sections each.
template <class Policy, int kReaders, int kRounds, int kSections, Slots kSlots = Slots::Keep>
struct EpochTest : rl::test_suite<EpochTest<Policy, kReaders, kRounds, kSections, kSlots>, 1 + kReaders> {
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
            old->value(RL_INFO) = -1;                       // reclaim: the allocator scribbles
            delete old;                                     // on a freed block, then frees it
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
            RL_ASSERT(v >= 1 && v <= kRounds + 1);  // -1: read a reclaimed object
            RL_ASSERT(v >= last);             // a later section never sees an older object
            last = v;
            domain->exit(slot);
        }
        if (kSlots == Slots::Release) domain->release_slot(slot);
    }

    void after() {
        Obj* o = head.load(rl::mo_relaxed, RL_INFO);
        RL_ASSERT(o->value(RL_INFO) == kRounds + 1);
        delete o;
    }
};

}  // namespace
}  // namespace dynpcm::model

int main(int argc, char** argv) {
    using namespace dynpcm::model;
    bool slot_reuse = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--slot-reuse") {
            slot_reuse = true;
        } else {
            std::fprintf(stderr, "usage: %s [--slot-reuse]\n", argv[0]);
            return 2;
        }
    }
    const Expect pass{true, {}};
    const Expect uaf{false, {rl::test_result_access_to_freed_memory}};
    const Expect race{false, {rl::test_result_data_race}};
    bool ok = true;

    if (slot_reuse) {
        std::printf("Relacy: BasicEpochDomain<RlPolicy, 2>, reader slots reused by later threads\n");
        ok &= check<EpochTest<RlPolicy, 2, 1, 1, Slots::Release>>(
            {"epoch real, slot reuse: 1 publication, 2 readers x 1 section", Search::ContextBound, 0, 2}, pass);
        ok &= check<EpochTest<RlPolicy, 2, 2, 2, Slots::Release>>(
            {"epoch real, slot reuse: 2 publications, 2 readers x 2 sections", Search::ContextBound, 0, 2}, pass);
        ok &= check<EpochTest<RlPolicy, 2, 2, 2, Slots::Release>>(
            {"epoch real, slot reuse: 2 publications, 2 readers x 2 sections", Search::Random, 200000}, pass);
        // The announcement stored relaxed, as it was: the race this check found.
        ok &= check<EpochTest<RlPolicyRelaxedAnnouncement, 2, 1, 1, Slots::Release>>(
            {"epoch WEAKENED (relaxed announcement), slot reuse: 1 publication, 2 readers x 1 section",
             Search::ContextBound, 0, 2}, race);
        std::printf("%s\n", ok ? "relacy_epoch --slot-reuse: OK" : "relacy_epoch --slot-reuse: FAILED");
        return ok ? 0 : 1;
    }

    std::printf("Relacy: the real BasicEpochDomain<RlPolicy, 2> (include/dynpcm/rt/epoch.h)\n");
    // Template arguments: policy, readers, publications, sections per reader. A full search
    // is exhaustive but only affordable for the smallest case (1 writer x 2 publications and
    // 1 reader x 2 sections is already 14M schedules); larger cases use Relacy's systematic
    // context-bound search (all schedules with at most `bound` preemptions) and random ones.
    ok &= check<EpochTest<RlPolicy, 1, 1, 1>>({"epoch real: 1 publication, 1 reader x 1 section", Search::Full, 0}, pass);
    ok &= check<EpochTest<RlPolicy, 1, 2, 2>>({"epoch real: 2 publications, 1 reader x 2 sections", Search::ContextBound, 0, 3}, pass);
    ok &= check<EpochTest<RlPolicy, 2, 1, 1>>({"epoch real: 1 publication, 2 readers x 1 section", Search::ContextBound, 0, 2}, pass);
    ok &= check<EpochTest<RlPolicy, 2, 2, 2>>({"epoch real: 2 publications, 2 readers x 2 sections", Search::ContextBound, 0, 2}, pass);
    ok &= check<EpochTest<RlPolicy, 2, 2, 2>>({"epoch real: 2 publications, 2 readers x 2 sections", Search::Random, 200000}, pass);

    // Weakened: the seq_cst fences in enter() / synchronize() must be what makes it safe, and
    // the release/acquire pair exit() -> synchronize() what orders the reads before reclaim.
    ok &= check<EpochTest<RlPolicyNoFence, 1, 1, 1>>({"epoch WEAKENED: fences are no-ops", Search::Full, 0}, uaf);
    ok &= check<EpochTest<RlPolicyAcqRelFence, 1, 1, 1>>({"epoch WEAKENED: seq_cst fences -> acq_rel", Search::Full, 0}, uaf);
    ok &= check<EpochTest<RlPolicyRelaxed, 1, 1, 1>>({"epoch WEAKENED: acquire/release -> relaxed", Search::Full, 0}, race);

    std::printf("%s\n", ok ? "relacy_epoch: OK (real ordering verified; weakened orderings caught)"
                           : "relacy_epoch: FAILED");
    return ok ? 0 : 1;
}

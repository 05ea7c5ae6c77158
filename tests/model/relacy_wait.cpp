// Relacy model tests of the one way the control path waits for the realtime thread
// (docs/CONCURRENCY.md): the REAL dynpcm::BasicSleepers and dynpcm::BasicEpochDomain
// (include/dynpcm/rt/sleepers.h, epoch.h), instantiated with the Relacy policy, whose futex
// model is Relacy's own (rl_int_futex_impl): a wake that is lost is a DEADLOCK.
//
// 1. Sleepers: a control thread waits (spins once, then sleeps on the futex) until a flag the
//    "realtime" thread sets; the waker sets it, fences, and wakes only if somebody sleeps.
//    Weakened: without the fences the waker can miss the sleeper (deadlock); without the wake
//    the sleeper sleeps for ever (deadlock).
// 2. Stop, then wait: the pattern every control-side stop uses (FeDma::trigger, SimTimer's
//    stop, PcmRuntime::sync_rt): the writer clears a `running` flag (seq_cst), calls
//    synchronize(), then owns the data the reader touches only while it sees the flag inside
//    a section: it resets it. The reader enters, checks the flag, writes the data, exits.
//    Relacy reports a DATA RACE if a reader's write can overlap the writer's reset. Weakened:
//    no synchronize() (the old "stop and go on" design), and no fences (a race, or the
//    writer's sleep misses the reader's exit: a deadlock).
//
// Build: -std=c++20 -fno-sized-deallocation -fno-lifetime-dse, no sanitizers.

#include "dynpcm/rt/epoch.h"
#include "dynpcm/rt/sleepers.h"

#include "relacy_harness.h"

namespace dynpcm::model {
namespace {

// ---- 1. Sleepers ------------------------------------------------------------------------------

enum class Waker { Real, NoWake };

template <class Policy, Waker kWaker>
struct SleepersTest : rl::test_suite<SleepersTest<Policy, kWaker>, 2> {
    InPlace<BasicSleepers<Policy>> sleepers;
    rl::atomic<int> flag;
    rl::var<int> data;

    void before() {
        flag.store(0, rl::mo_relaxed, RL_INFO);
        data(RL_INFO) = 0;
    }

    void thread(unsigned index) {
        if (index == 0) {
            // The realtime side: publishes, makes the condition true, wakes.
            data(RL_INFO) = 42;
            flag.store(1, rl::mo_release, RL_INFO);
            Policy::fence(Policy::seq_cst);
            if (kWaker == Waker::Real) sleepers->wake_after_fence();
        } else {
            sleepers->wait_until([this] { return flag.load(rl::mo_acquire, RL_INFO) == 1; });
            RL_ASSERT(data(RL_INFO) == 42);  // and it sees what the waker did before
        }
    }
};

// ---- 2. Stop, then wait -----------------------------------------------------------------------

enum class Stop { Real, NoGracePeriod };

template <class Policy, Stop kStop, int kSections>
struct StopTest : rl::test_suite<StopTest<Policy, kStop, kSections>, 2> {
    using Domain = BasicEpochDomain<Policy, 2>;
    InPlace<Domain> domain;
    typename Policy::template atomic<bool> running;
    rl::var<int> ring;  // what only a running stream's interrupt may touch

    void before() {
        Policy::store(running, true, Policy::relaxed);
        ring(RL_INFO) = 0;
    }

    void thread(unsigned index) {
        if (index == 0) {
            // Control: stop, wait out the sections that may have seen `running`, then reset.
            Policy::store(running, false, Policy::seq_cst);
            if (kStop == Stop::Real) domain->synchronize();
            ring(RL_INFO) = -1;
        } else {
            const int slot = domain->claim_slot();
            RL_ASSERT(slot != Domain::kNoSlot);
            for (int i = 0; i < kSections; ++i) {
                domain->enter(slot);
                if (Policy::load(running, Policy::seq_cst)) ring(RL_INFO) = ring(RL_INFO) + 1;
                domain->exit(slot);
            }
        }
    }

    void after() {
        const int r = ring(RL_INFO);
        RL_ASSERT(r == -1);  // the reset is the last write: no interrupt wrote after it
    }
};

}  // namespace
}  // namespace dynpcm::model

int main() {
    using namespace dynpcm::model;
    const Expect pass{true, {}};
    const Expect lost_wake{false, {rl::test_result_deadlock}};
    const Expect race{false, {rl::test_result_data_race, rl::test_result_user_assert_failed}};
    bool ok = true;

    std::printf("Relacy: the real BasicSleepers<RlPolicy> (include/dynpcm/rt/sleepers.h)\n");
    ok &= check<SleepersTest<RlPolicy, Waker::Real>>({"sleepers real: one waiter, one waker", Search::Full, 0}, pass);
    ok &= check<SleepersTest<RlPolicyNoFence, Waker::Real>>(
        {"sleepers WEAKENED: fences are no-ops (the waker misses the sleeper)", Search::Full, 0}, lost_wake);
    ok &= check<SleepersTest<RlPolicy, Waker::NoWake>>({"sleepers WEAKENED: the waker never wakes", Search::Full, 0},
                                                       lost_wake);

    std::printf("Relacy: stop, then synchronize() (BasicEpochDomain<RlPolicy, 2>), as every control-side stop does\n");
    ok &= check<StopTest<RlPolicy, Stop::Real, 1>>({"stop real: 1 interrupt", Search::Full, 0}, pass);
    ok &= check<StopTest<RlPolicy, Stop::Real, 2>>({"stop real: 2 interrupts", Search::ContextBound, 0, 3}, pass);
    ok &= check<StopTest<RlPolicy, Stop::NoGracePeriod, 1>>(
        {"stop WEAKENED: no grace period (stop and go on)", Search::Full, 0}, race);
    // Without the fences either the reset races an interrupt, or the writer's sleep misses the
    // reader's exit: Relacy finds whichever comes first.
    const Expect race_or_lost{false, {rl::test_result_data_race, rl::test_result_user_assert_failed, rl::test_result_deadlock}};
    ok &= check<StopTest<RlPolicyNoFence, Stop::Real, 1>>({"stop WEAKENED: fences are no-ops", Search::Full, 0}, race_or_lost);

    std::printf("%s\n", ok ? "relacy_wait: OK (real code verified; weakened variants caught)" : "relacy_wait: FAILED");
    return ok ? 0 : 1;
}

// Waiting for the realtime thread: the clock thread's shutdown against a timer destroyed on
// another thread, and a control thread above the clock's priority on the clock's own CPU.
// Every wait is bounded; the forced interleavings use the library's test hooks.

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <semaphore>
#include <thread>

#include "dynpcm/core/test_hooks.h"
#include "dynpcm/core/thread_role.h"
#include "dynpcm/pcm/pcm_runtime.h"
#include "dynpcm/sim/sim_clock.h"
#include "dynpcm/sim/sim_dma.h"
#include "dynpcm/sim/sim_timer.h"
#include "unit/pointer_fixture.h"

namespace dynpcm {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Parks the clock thread once, at the first time it holds a timer while `only_after` is set
// (or at once when it is null).
struct ClockParking {
    const std::atomic<bool>* only_after = nullptr;
    std::atomic<bool> armed{true};
    std::atomic<uint32_t> slot{~0U};
    std::binary_semaphore parked{0};
    std::binary_semaphore release{0};

    static void hook(test::Point p, uint32_t id, void* ctx) {
        auto* self = static_cast<ClockParking*>(ctx);
        if (p != test::Point::ClockHoldsTimer) return;
        if (self->only_after && !self->only_after->load()) return;
        bool expected = true;
        if (!self->armed.compare_exchange_strong(expected, false)) return;
        self->slot = id;
        self->parked.release();
        (void)self->release.try_acquire_for(3s);
    }
};

// A timer client that does nothing: the clock only has to hold it.
struct IdleClient final : SimTimer::Client {
    void period_rt(Frames) noexcept override {}
};

struct HookGuard {
    explicit HookGuard(ClockParking& p) : installed(test::set_hook(&ClockParking::hook, &p)) {}
    ~HookGuard() { (void)test::set_hook(nullptr, nullptr); }
    bool installed;
};

// A real-time clock running one idle timer, and the parking hook installed. Declared in this
// order so that the parking outlives the clock thread, and the timer the clock's use of it.
struct ClockWithTimer {
    ClockParking parking;
    SimClock clock{SimClock::Options{.mode = SimClock::Mode::Realtime, .try_sched_fifo = false}};
    IdleClient client;
    std::unique_ptr<SimTimer> timer = std::make_unique<SimTimer>(clock, client);
    std::optional<HookGuard> guard;
    bool start() {
        timer->attach();
        EXPECT_TRUE(clock.start().ok());
        guard.emplace(parking);
        return guard->installed;
    }
};

// Defect 1 of the hardening issue: after leaving its loop the clock thread used to apply the
// trigger mailbox of every timer still listed, outside the window detach() waited for, so a
// timer destroyed by another thread while the clock stopped was touched after it was freed.
TEST(ClockShutdown, ATimerDestroyedWhileTheClockStopsIsNeverTouchedAfterItsDestructorReturns) {
    ClockWithTimer c;
    std::atomic<bool> stopping{false};
    c.parking.only_after = &stopping;
    if (!c.start()) GTEST_SKIP() << "library built without DYNPCM_TEST_HOOKS";
    auto& [parking, clock, client, timer, guard] = c;
    std::this_thread::sleep_for(30ms);  // the clock thread is asleep, between passes

    stopping = true;
    std::thread stopper([&] { clock.stop(); });
    // If the clock thread still holds a timer after it was told to stop, destroying that timer
    // must wait until it lets go.
    if (parking.parked.try_acquire_for(1s)) {
        std::atomic<bool> destroyed{false};
        std::thread destroyer([&] {
            timer.reset();
            destroyed = true;
        });
        std::this_thread::sleep_for(100ms);
        const bool destroyed_while_held = destroyed.load();
        parking.release.release();
        destroyer.join();
        EXPECT_FALSE(destroyed_while_held) << "the timer's destructor returned while the clock thread held it";
    }
    stopper.join();
    EXPECT_FALSE(clock.running());
    timer.reset();
}

// The same rule during an ordinary pass: the destructor waits for the pass that holds the timer.
TEST(ClockShutdown, ATimerDestroyedDuringAPassThatHoldsItWaitsForThePassToEnd) {
    ClockWithTimer c;
    if (!c.start()) GTEST_SKIP() << "library built without DYNPCM_TEST_HOOKS";
    auto& [parking, clock, client, timer, guard] = c;
    ASSERT_TRUE(parking.parked.try_acquire_for(2s)) << "the clock thread never looked at its timer";

    std::atomic<bool> destroyed{false};
    std::thread destroyer([&] {
        timer.reset();
        destroyed = true;
    });
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(destroyed.load()) << "the timer's destructor returned while a pass held it";
    parking.release.release();
    destroyer.join();
    EXPECT_TRUE(destroyed.load());
    clock.stop();
}

// ---- priority inversion ---------------------------------------------------------------------

bool pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<size_t>(cpu), &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

bool set_fifo(pthread_t t, int priority) {
    sched_param sp{};
    sp.sched_priority = priority;
    return pthread_setschedparam(t, priority > 0 ? SCHED_FIFO : SCHED_OTHER, &sp) == 0;
}

// The clock's timer table grows while the clock thread passes over it: a full table is copied
// into a larger one and the old one kept, so a pass reading the old table never reads freed
// memory (ASan) nor races the copy (TSan), and every timer, old or new, keeps its period.
TEST(ClockTable, GrowsWhileTheClockRunsAndEveryTimerKeepsTicking) {
    struct Counting final : SimTimer::Client {
        std::atomic<uint64_t> periods{0};
        void period_rt(Frames) noexcept override { periods.fetch_add(1, std::memory_order_relaxed); }
    };
    SimClock clock{SimClock::Options{.mode = SimClock::Mode::Realtime, .try_sched_fifo = false}};
    constexpr size_t kTimers = 300;  // the first table holds 64: it grows three times
    std::vector<std::unique_ptr<Counting>> clients;
    std::vector<std::unique_ptr<SimTimer>> timers;
    ASSERT_TRUE(clock.start().ok());
    for (size_t i = 0; i < kTimers; ++i) {
        clients.push_back(std::make_unique<Counting>());
        timers.push_back(std::make_unique<SimTimer>(clock, *clients.back()));
        ASSERT_TRUE(timers.back()->configure(48000, 48).ok());  // 1 ms periods
        timers.back()->attach();
        ASSERT_EQ(timers.back()->trigger(TriggerCmd::Start), 0);
        if (i % 50 == 49) timers[i - 25].reset();  // detach some as the table grows
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    size_t ticking = 0, alive = 0;
    for (size_t i = 0; i < kTimers; ++i) {
        if (!timers[i]) continue;
        ++alive;
        ticking += clients[i]->periods.load() > 0 ? 1U : 0U;
    }
    EXPECT_EQ(ticking, alive);
    timers.clear();
    clock.stop();
}

// Defect 6: a control thread at SCHED_FIFO above the clock thread, on the clock's CPU, that
// waits for the clock thread by spinning on sched_yield never lets it run. start() (and every
// other wait for the realtime thread) must sleep instead.
TEST(PriorityInversion, StartReturnsWithin100msWhenTheCallerOutranksTheClockOnItsCpu) {
    if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs two CPUs";
    {
        std::binary_semaphore done{0};
        std::thread probe([&] { done.acquire(); });
        const bool fifo = set_fifo(probe.native_handle(), 10);
        done.release();
        probe.join();
        if (!fifo) GTEST_SKIP() << "SCHED_FIFO is not permitted here";
    }
    // Everything created from here on inherits CPU 0: the clock thread and the application.
    ASSERT_TRUE(pin_to_cpu(0));
    SimClock clock(SimClock::Options{.mode = SimClock::Mode::Realtime, .try_sched_fifo = true, .fifo_priority = 40});
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Playback, ptrtest::wide_constraints(), dma, PcmRuntime::Options{.nonblock = true});
    ASSERT_TRUE(ptrtest::configure(pcm, ptrtest::Config{.rate = 48000, .period = 480, .periods = 4}).ok());
    ASSERT_TRUE(ptrtest::set_thresholds(pcm, 1, pcm.boundary()).ok());
    ASSERT_TRUE(clock.start().ok());
    ASSERT_TRUE(clock.sched_fifo()) << clock.fifo_warning();

    std::atomic<bool> started{false};
    std::atomic<int64_t> took_ns{-1};
    std::binary_semaphore go{0};
    std::thread app([&] {
        set_thread_role(ThreadRole::Control);
        go.acquire();
        const auto t0 = SteadyClock::now();
        const bool ok = pcm.start().ok() && pcm.drop().ok();
        took_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - t0).count();
        started = ok;
    });
    ASSERT_TRUE(set_fifo(app.native_handle(), 60));
    // The watchdog (this thread) runs on the other CPU.
    ASSERT_TRUE(pin_to_cpu(1));
    go.release();
    const auto deadline = SteadyClock::now() + 2s;
    while (took_ns.load() < 0 && SteadyClock::now() < deadline) std::this_thread::sleep_for(1ms);
    const bool stuck = took_ns.load() < 0;
    // A stuck caller spins forever at its priority: demote it so the clock runs and it ends.
    if (stuck) (void)set_fifo(app.native_handle(), 0);
    app.join();
    clock.stop();
    ASSERT_FALSE(stuck) << "start() and drop() did not return within 2 s: the caller spun above the clock thread";
    EXPECT_TRUE(started.load());
    EXPECT_LT(took_ns.load(), 100'000'000) << "start() + drop() took " << took_ns.load() / 1000 << " us";
}

}  // namespace
}  // namespace dynpcm

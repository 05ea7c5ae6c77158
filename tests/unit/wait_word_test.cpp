// WaitWord: futex-backed sequence word (timeout, already-changed fast path, cross-thread wake).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "dynpcm/core/wait_word.h"

namespace {

using dynpcm::WaitWord;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

TEST(WaitWord, StartsAtZeroAndWakeAllBumpsTheSequence) {
    WaitWord w;
    EXPECT_EQ(w.seq(), 0U);
    w.wake_all();
    EXPECT_EQ(w.seq(), 1U);
    w.wake_all();
    w.wake_all();
    EXPECT_EQ(w.seq(), 3U);
}

TEST(WaitWord, WaitTimesOutAndReturnsFalseWhenNobodyWakes) {
    WaitWord w;
    const uint32_t seen = w.seq();
    const auto t0 = Clock::now();
    const bool woke = w.wait(seen, 20ms);
    const auto elapsed = Clock::now() - t0;
    EXPECT_FALSE(woke);
    EXPECT_GE(elapsed, 19ms) << "returned before the timeout";
    EXPECT_LT(elapsed, 1s);
    EXPECT_EQ(w.seq(), seen);
}

TEST(WaitWord, WaitReturnsImmediatelyWhenSequenceAlreadyChanged) {
    WaitWord w;
    const uint32_t seen = w.seq();
    w.wake_all();  // the wake lands between sampling and sleeping: it must not be lost
    const auto t0 = Clock::now();
    const bool woke = w.wait(seen, 2s);
    const auto elapsed = Clock::now() - t0;
    EXPECT_TRUE(woke);
    EXPECT_LT(elapsed, 500ms) << "slept although the sequence had changed";
}

TEST(WaitWord, WaitWithStaleSampleReturnsTrueEvenWithZeroTimeout) {
    WaitWord w;
    w.wake_all();
    EXPECT_TRUE(w.wait(0, 0ns));
}

TEST(WaitWord, WakeAllFromAnotherThreadWakesASleeper) {
    WaitWord w;
    std::atomic<bool> sleeping{false};
    std::atomic<bool> woke{false};
    std::atomic<int64_t> slept_ms{-1};

    std::thread sleeper([&] {
        const uint32_t seen = w.seq();
        sleeping.store(true, std::memory_order_release);
        const auto t0 = Clock::now();
        // Spurious returns are allowed: loop on the sequence, bounded by an overall deadline.
        bool r = false;
        while (w.seq() == seen && Clock::now() - t0 < 2s) r = w.wait(seen, 2s);
        if (w.seq() != seen) r = true;
        slept_ms.store(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
        woke.store(r, std::memory_order_release);
    });

    while (!sleeping.load(std::memory_order_acquire)) std::this_thread::yield();
    std::this_thread::sleep_for(10ms);  // give the sleeper time to enter the futex
    const auto t0 = Clock::now();
    w.wake_all();
    sleeper.join();
    const auto join_latency = Clock::now() - t0;

    EXPECT_TRUE(woke.load());
    EXPECT_GE(slept_ms.load(), 0);
    EXPECT_LT(join_latency, 1s) << "the sleeper ran into its timeout instead of being woken";
}

TEST(WaitWord, WakeAllWakesEverySleeper) {
    WaitWord w;
    constexpr int kSleepers = 3;
    std::atomic<int> ready{0};
    std::atomic<int> woken{0};
    const uint32_t seen = w.seq();

    std::thread threads[kSleepers];
    for (auto& t : threads) {
        t = std::thread([&] {
            ready.fetch_add(1);
            const auto t0 = Clock::now();
            while (w.seq() == seen && Clock::now() - t0 < 2s) (void)w.wait(seen, 2s);
            if (w.seq() != seen) woken.fetch_add(1);
        });
    }
    while (ready.load() < kSleepers) std::this_thread::yield();
    std::this_thread::sleep_for(10ms);
    const auto t0 = Clock::now();
    w.wake_all();
    for (auto& t : threads) t.join();

    EXPECT_EQ(woken.load(), kSleepers);
    EXPECT_LT(Clock::now() - t0, 1s);
}

}  // namespace

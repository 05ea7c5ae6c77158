#pragma once
/// WaitWord: a futex-backed sequence word that lets the realtime thread wake sleepers
/// without taking a lock.
///
/// The sleeper samples seq(), re-checks its condition, then calls wait(sample, timeout). The
/// waker changes the condition, then calls wake_all(), which bumps the sequence before the
/// futex wake, so a wake between the sample and the sleep is never lost.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace dynpcm {

class WaitWord {
public:
    /// Current sequence. Thread: any. Blocking: wait-free. Allocates: no.
    uint32_t seq() const noexcept { return seq_.load(std::memory_order_acquire); }

    /// Sleeps while seq() == seen, for at most `timeout`. Returns false on timeout.
    /// Spurious returns are allowed; callers loop on their own condition.
    /// Thread: control. Blocking: may block. Allocates: no.
    bool wait(uint32_t seen, std::chrono::nanoseconds timeout) const noexcept;

    /// Bumps the sequence and wakes every sleeper. A non-blocking futex wake, and only when
    /// somebody sleeps. Thread: any (rt-safe). Blocking: wait-free. Allocates: no.
    void wake_all() noexcept;

private:
    std::atomic<uint32_t> seq_{0};
    mutable std::atomic<uint32_t> sleepers_{0};
};

}  // namespace dynpcm

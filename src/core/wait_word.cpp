#include "dynpcm/core/wait_word.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

#include "dynpcm/core/futex.h"

namespace dynpcm {

namespace {
long futex(const std::atomic<uint32_t>* addr, int op, uint32_t val, const timespec* ts) {
    // std::atomic<uint32_t> is layout-compatible with uint32_t on Linux (lock-free, same size).
    static_assert(std::atomic<uint32_t>::is_always_lock_free);
    return syscall(SYS_futex, reinterpret_cast<const uint32_t*>(addr), op, val, ts, nullptr, 0);
}
}  // namespace

bool futex_wait(const std::atomic<uint32_t>& word, uint32_t seen, std::chrono::nanoseconds timeout) noexcept {
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(secs.count());
    ts.tv_nsec = static_cast<long>((timeout - secs).count());
    const long rc = futex(&word, FUTEX_WAIT_PRIVATE, seen, &ts);
    return !(rc == -1 && errno == ETIMEDOUT);
}

void futex_wake_all(const std::atomic<uint32_t>& word) noexcept { futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr); }

bool WaitWord::wait(uint32_t seen, std::chrono::nanoseconds timeout) const noexcept {
    if (seq_.load(std::memory_order_acquire) != seen) return true;
    // seq_cst on both sides (here and in wake_all) orders "sleepers_++ then re-read seq" against
    // "seq++ then read sleepers_", so the waker cannot skip the syscall for a real sleeper.
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    bool woken = true;
    if (seq_.load(std::memory_order_seq_cst) == seen) woken = futex_wait(seq_, seen, timeout);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return woken;
}

void WaitWord::wake_all() noexcept {
    seq_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) != 0) futex_wake_all(seq_);
}

}  // namespace dynpcm

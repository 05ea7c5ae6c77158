#include "dynpcm/core/wait_word.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

namespace dynpcm {

namespace {
long futex(const std::atomic<uint32_t>* addr, int op, uint32_t val, const timespec* ts) {
    // std::atomic<uint32_t> is layout-compatible with uint32_t on Linux (lock-free, same size).
    static_assert(std::atomic<uint32_t>::is_always_lock_free);
    return syscall(SYS_futex, reinterpret_cast<const uint32_t*>(addr), op, val, ts, nullptr, 0);
}
}  // namespace

bool WaitWord::wait(uint32_t seen, std::chrono::nanoseconds timeout) const noexcept {
    if (seq_.load(std::memory_order_acquire) != seen) return true;
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(secs.count());
    ts.tv_nsec = static_cast<long>((timeout - secs).count());
    // seq_cst on both sides (here and in wake_all) orders "sleepers_++ then re-read seq" against
    // "seq++ then read sleepers_", so the waker cannot skip the syscall for a real sleeper.
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    long rc = 0;
    if (seq_.load(std::memory_order_seq_cst) == seen)
        rc = futex(&seq_, FUTEX_WAIT_PRIVATE, seen, &ts);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return !(rc == -1 && errno == ETIMEDOUT);
}

void WaitWord::wake_all() noexcept {
    seq_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) != 0)
        futex(&seq_, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr);
}

}  // namespace dynpcm

#pragma once
/// The two futex operations the waiting primitives are built on (WaitWord, EpochDomain,
/// SerialExecutor): sleep while a 32-bit word still holds a value, and wake every sleeper.
/// The kernel checks the word and queues the sleeper atomically with respect to a wake, so a
/// wake between a caller's last check and its sleep is never lost (futex(2)).

#include <atomic>
#include <chrono>
#include <cstdint>

namespace dynpcm {

/// Sleeps while `word` == `seen`, for at most `timeout`. Returns false on timeout; may return
/// early (spuriously, or because the word changed): callers re-check their condition.
/// Thread: control. Blocking: yes. Allocates: no.
bool futex_wait(const std::atomic<uint32_t>& word, uint32_t seen, std::chrono::nanoseconds timeout) noexcept;

/// Wakes every thread sleeping on `word`. A non-blocking system call.
/// Thread: any (rt-safe). Blocking: no. Allocates: no.
void futex_wake_all(const std::atomic<uint32_t>& word) noexcept;

/// A short pause inside a bounded spin (the x86 PAUSE instruction). Thread: any.
/// Blocking: wait-free. Allocates: no.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

}  // namespace dynpcm

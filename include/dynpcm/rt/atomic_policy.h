#pragma once
/// The atomic operations the lock-free primitives (EpochDomain, SerialExecutor, Sleepers) are
/// written against. Production code uses StdAtomicPolicy; tests/model/ instantiates the very
/// same templates with a Relacy policy, so the model checker checks the shipped code, not a
/// copy.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "dynpcm/core/futex.h"

namespace dynpcm {

/// Thread: any (futex_wait: control only). Blocking: wait-free but futex_wait. Allocates: no.
struct StdAtomicPolicy {
    template <class T>
    using atomic = std::atomic<T>;
    using order = std::memory_order;
    static constexpr order relaxed = std::memory_order_relaxed;
    static constexpr order acquire = std::memory_order_acquire;
    static constexpr order release = std::memory_order_release;
    static constexpr order acq_rel = std::memory_order_acq_rel;
    static constexpr order seq_cst = std::memory_order_seq_cst;

    template <class T>
    static T load(const atomic<T>& a, order o) noexcept { return a.load(o); }
    template <class T>
    static void store(atomic<T>& a, T v, order o) noexcept { a.store(v, o); }
    template <class T>
    static T fetch_add(atomic<T>& a, T v, order o) noexcept { return a.fetch_add(v, o); }
    template <class T>
    static T fetch_sub(atomic<T>& a, T v, order o) noexcept { return a.fetch_sub(v, o); }
    template <class T>
    static bool cas(atomic<T>& a, T& expected, T desired, order o) noexcept {
        return a.compare_exchange_strong(expected, desired, o);
    }
    static void fence(order o) noexcept { std::atomic_thread_fence(o); }
    /// A waiter checks this often, a PAUSE apart (a few microseconds in all), before it sleeps:
    /// the realtime thread's sections are usually shorter than a futex round trip.
    static constexpr unsigned kSpinsBeforeSleep = 128;
    /// One step of a bounded spin.
    static void cpu_relax() noexcept { dynpcm::cpu_relax(); }
    /// Sleeps while `word` == `seen` (futex). The timeout is a safety net only: every wake the
    /// primitives need is issued (the Relacy models check that none is lost, with no timeout).
    static void futex_wait(const atomic<uint32_t>& word, uint32_t seen) noexcept {
        (void)dynpcm::futex_wait(word, seen, std::chrono::milliseconds(100));
    }
    /// Wakes every sleeper on `word`: a non-blocking system call, allowed on the rt thread.
    static void futex_wake_all(const atomic<uint32_t>& word) noexcept { dynpcm::futex_wake_all(word); }
};

}  // namespace dynpcm

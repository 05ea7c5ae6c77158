#pragma once
/// The atomic operations the lock-free primitives (EpochDomain, SerialExecutor) are written
/// against. Production code uses StdAtomicPolicy; tests/model/ instantiates the very same
/// templates with a Relacy policy, so the model checker checks the shipped code, not a copy.

#include <atomic>
#include <thread>

namespace dynpcm {

/// Thread: any (wait_a_bit: control only). Blocking: wait-free. Allocates: no.
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
    static bool cas(atomic<T>& a, T& expected, T desired, order o) noexcept {
        return a.compare_exchange_strong(expected, desired, o);
    }
    static void fence(order o) noexcept { std::atomic_thread_fence(o); }
    /// Called in control-side wait loops. Never on the rt thread.
    static void wait_a_bit() noexcept { std::this_thread::yield(); }
};

}  // namespace dynpcm

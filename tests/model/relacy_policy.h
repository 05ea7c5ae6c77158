#pragma once
/// Atomic policies that run dynpcm's lock-free templates (BasicEpochDomain, SerialExecutor)
/// under the Relacy model checker: the same interface as dynpcm::StdAtomicPolicy
/// (include/dynpcm/rt/atomic_policy.h), mapped onto rl::atomic, rl::memory_order and
/// rl::atomic_thread_fence, so Relacy explores the shipped code's orderings, not a copy.
///
/// Include order matters. <relacy/relacy.hpp> #defines memory_order_relaxed & co., `new`,
/// `delete`, `malloc`, `free` and `assert`; every standard and dynpcm header must come before
/// it, and this header after it (relacy_harness.h does both). Build without sanitizers, with
/// -fno-sized-deallocation and -fno-lifetime-dse (else GCC drops the destructor stores Relacy
/// uses to poison freed memory and a use-after-free passes silently).
///
/// Besides the faithful RlPolicy, this header has deliberately WEAKENED policies. Each test
/// runs them too and requires Relacy to fail: that shows the model is able to see the bug the
/// real ordering prevents.

#include <relacy/relacy.hpp>

namespace dynpcm::model {

/// The faithful mapping of StdAtomicPolicy.
struct RlPolicy {
    template <class T>
    using atomic = rl::atomic<T>;
    using order = rl::memory_order;
    static constexpr order relaxed = rl::mo_relaxed;
    static constexpr order acquire = rl::mo_acquire;
    static constexpr order release = rl::mo_release;
    static constexpr order acq_rel = rl::mo_acq_rel;
    static constexpr order seq_cst = rl::mo_seq_cst;

    template <class T>
    static T load(const atomic<T>& a, order o) noexcept {
        return a.load(o, RL_INFO);
    }
    template <class T>
    static void store(atomic<T>& a, T v, order o) noexcept {
        a.store(v, o, RL_INFO);
    }
    template <class T>
    static T fetch_add(atomic<T>& a, T v, order o) noexcept {
        return a.fetch_add(v, o, RL_INFO);
    }
    template <class T>
    static bool cas(atomic<T>& a, T& expected, T desired, order o) noexcept {
        // compare_exchange_strong(expected, desired, o): Relacy derives the failure order
        // from `o` the way the standard does (acq_rel -> acquire, release -> relaxed).
        return a.compare_exchange_strong(expected, desired, o, RL_INFO);
    }
    template <class T>
    static T fetch_sub(atomic<T>& a, T v, order o) noexcept {
        return a.fetch_sub(v, o, RL_INFO);
    }
    static void fence(order o) noexcept { rl::atomic_thread_fence(o, RL_INFO); }
    /// The spin before a sleep: one look is enough for the model (every schedule of the spin
    /// is a schedule of the sleep path with fewer steps), and it keeps the search small.
    static constexpr unsigned kSpinsBeforeSleep = 1;
    static void cpu_relax() noexcept { rl::yield(1, RL_INFO); }
    /// futex(FUTEX_WAIT) as Relacy's own pthread model has it (rl_int_futex_impl): the check of
    /// the word and the park are one step with respect to a wake, with the full barrier the
    /// kernel's futex implies. Untimed and without spurious wake-ups: a lost wake is a
    /// deadlock, which Relacy reports.
    static void futex_wait(const atomic<uint32_t>& word, uint32_t seen) noexcept {
        auto& w = const_cast<atomic<uint32_t>&>(word);
        rl::context& c = rl::ctx();
        c.sched();
        c.atomic_thread_fence_seq_cst();
        uint32_t now = 0;
        {
            rl::preemption_disabler pd(c);
            now = w.load(rl::mo_acquire, RL_INFO);
        }
        if (now != seen) return;
        (void)w.wait(c, false, false, RL_INFO);
    }
    static void futex_wake_all(const atomic<uint32_t>& word) noexcept {
        auto& w = const_cast<atomic<uint32_t>&>(word);
        rl::context& c = rl::ctx();
        c.sched();
        c.atomic_thread_fence_seq_cst();
        (void)w.wake(c, 1000, RL_INFO);
    }
};

/// WEAKENED: seq_cst fences do nothing (the Dekker-style pairs lose their store->load order).
struct RlPolicyNoFence : RlPolicy {
    static void fence(order) noexcept {}
};

/// WEAKENED: seq_cst fences become acq_rel fences (no store->load order either).
struct RlPolicyAcqRelFence : RlPolicy {
    static void fence(order o) noexcept {
        rl::atomic_thread_fence(o == rl::mo_seq_cst ? rl::mo_acq_rel : o, RL_INFO);
    }
};

/// WEAKENED: acquire/release/acq_rel become relaxed (fences and seq_cst operations stay).
/// Ownership handed from one owner to the next no longer carries what the previous one wrote.
struct RlPolicyRelaxed : RlPolicy {
    static constexpr order acquire = rl::mo_relaxed;
    static constexpr order release = rl::mo_relaxed;
    static constexpr order acq_rel = rl::mo_relaxed;
};

/// WEAKENED, precisely: a reader's announcement in enter() (the only store of a non-zero
/// 64-bit value with release) goes back to relaxed, as it was before Relacy caught the slot-reuse
/// race (relacy_epoch --slot-reuse). Everything else keeps its ordering.
struct RlPolicyRelaxedAnnouncement : RlPolicy {
    template <class T>
    static void store(atomic<T>& a, T v, order o) noexcept {
        const bool announcement = sizeof(T) == 8 && v != T{} && o == rl::mo_release;
        a.store(v, announcement ? rl::mo_relaxed : o, RL_INFO);
    }
};

}  // namespace dynpcm::model

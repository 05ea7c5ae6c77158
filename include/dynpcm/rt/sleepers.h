#pragma once
/// Sleepers: how a control thread waits for a condition that another thread -- often the
/// realtime thread -- makes true, without spinning on sched_yield. The waiter spins a little
/// (the condition usually turns within microseconds), then sleeps on a futex; the thread that
/// makes the condition true wakes it, with a non-blocking system call and only when somebody
/// sleeps. A control thread at SCHED_FIFO above the realtime thread, on its CPU, therefore
/// lets the realtime thread run instead of starving it.
///
/// The protocol (store-buffering with a seq_cst fence on each side):
///   waiter: count++ ; fence ; [sample seq ; check the condition ; futex_wait(seq)]...
///   waker:  make the condition true ; fence ; if count != 0: seq++, futex_wake(seq)
/// Either the waiter's check sees the condition, or the waker sees the count and wakes it;
/// a wake between the sample and the sleep changes seq, so the futex does not sleep.

#include <cstdint>

#include "dynpcm/rt/atomic_policy.h"

namespace dynpcm {

template <class P = StdAtomicPolicy>
class BasicSleepers {
public:
    /// Returns once `done()` is true. `done` may have side effects (try to take ownership);
    /// it is called until it returns true. Thread: control (never the rt thread).
    /// Blocking: yes, until the condition holds. Allocates: no.
    template <class Done>
    void wait_until(Done&& done) noexcept {
        for (unsigned i = 0; i < P::kSpinsBeforeSleep; ++i) {
            if (done()) return;
            P::cpu_relax();
        }
        P::fetch_add(count_, uint32_t{1}, P::seq_cst);
        P::fence(P::seq_cst);  // pairs with the waker's fence: see the class comment
        for (;;) {
            const uint32_t seen = P::load(seq_, P::acquire);
            if (done()) break;
            P::futex_wait(seq_, seen);
        }
        P::fetch_sub(count_, uint32_t{1}, P::relaxed);
    }

    /// Wakes the sleepers, if any. The caller has made their condition true and then issued a
    /// seq_cst fence (P::fence(P::seq_cst)). Thread: any (rt-safe). Blocking: no (at most a
    /// non-blocking futex wake). Allocates: no.
    void wake_after_fence() noexcept {
        if (P::load(count_, P::relaxed) == 0) return;
        P::fetch_add(seq_, uint32_t{1}, P::release);
        P::futex_wake_all(seq_);
    }

private:
    typename P::template atomic<uint32_t> count_{0};
    typename P::template atomic<uint32_t> seq_{0};
};

}  // namespace dynpcm

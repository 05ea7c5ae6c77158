#pragma once
/// SerialExecutor: one serialisation point for an object written from both the control path and
/// the realtime thread, where the realtime thread must never wait.
///
/// Every operation on the object runs while its runner owns the executor, so operations never
/// overlap and run in a single order. A control thread takes ownership (waiting, if it must,
/// for the current owner: control may wait for rt; it spins briefly, then sleeps). The
/// realtime thread instead posts its command to a bounded lock-free queue and tries to take
/// ownership once: if it gets it, it runs everything queued; if not, the current owner runs the
/// command before it lets go ("flat combining"). Either way the command runs exactly once and
/// the realtime thread has not waited. An owner leaving re-checks the queue after letting go,
/// so no command is stranded.
///
/// Order. Commands from one poster run in the order it posted them: a poster that gets
/// ownership first runs what is still queued, then its own command. Control functions run in
/// the order their threads took ownership. Between a control function and posted commands
/// there is no order beyond "a command posted while a control function runs runs after it".
///
/// Commands are plain data. `run` is given the executor the control side runs queued commands
/// with, `post` the one the realtime side runs them with, so each command knows which thread
/// runs it.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "dynpcm/rt/atomic_policy.h"
#include "dynpcm/rt/event_queue.h"
#include "dynpcm/rt/sleepers.h"

namespace dynpcm {

template <class Cmd, size_t kQueue, class P = StdAtomicPolicy>
class SerialExecutor {
public:
    /// A queue of at least `queue` commands (kQueue by default): size it for everything the
    /// realtime side may post while a control function owns the executor.
    /// Thread: control. Allocates: yes, once.
    explicit SerialExecutor(size_t queue = kQueue) : queue_(queue) {}

    /// Runs `fn` as the owner, then any commands the realtime thread posted meanwhile (with
    /// `exec`, on this thread). Returns what `fn` returns. Thread: control. Blocking: may wait
    /// (spin, then sleep) for the current owner. Allocates: no (fn may).
    template <class Fn, class Exec>
    auto run(Fn&& fn, Exec&& exec) -> decltype(fn()) {
        if (!try_own()) sleepers_.wait_until([this] { return try_own(); });
        struct Leave {
            SerialExecutor& self;
            Exec& exec;
            ~Leave() { self.drain_and_leave(exec); }
        } leave{*this, exec};
        return fn();
    }

    /// Posts `cmd` and runs it now if nobody owns the executor, else leaves it to the owner.
    /// Returns false only if the queue was full and the command was dropped (size the queue for
    /// the worst case). Thread: rt (any). Blocking: lock-free, never waits. Allocates: no.
    template <class Exec>
    bool post(const Cmd& cmd, Exec&& exec) noexcept {
        if (try_own()) {
            // Nobody owns it: run as the owner without queueing. What this poster queued
            // earlier and is still waiting runs first, to keep its order.
            drain(exec);
            exec(cmd);
            drain_and_leave(exec);
            return true;
        }
        if (!queue_.push(cmd)) return false;
        // Pairs with the fence in drain_and_leave(): either we see the owner gone and take
        // over, or the owner, after letting go, sees our command.
        P::fence(P::seq_cst);
        if (try_own()) drain_and_leave(exec);
        return true;
    }

    /// Commands dropped because the queue was full. Thread: any.
    uint64_t dropped() const noexcept { return queue_.dropped(); }

private:
    bool try_own() noexcept {
        bool free = false;
        return P::cas(owned_, free, true, P::acquire);
    }

    template <class Exec>
    void drain(Exec& exec) noexcept {
        while (std::optional<Cmd> c = queue_.pop()) exec(*c);
    }

    template <class Exec>
    void drain_and_leave(Exec& exec) noexcept {
        for (;;) {
            drain(exec);
            P::store(owned_, false, P::release);
            // One fence for both partners: a poster's (its command is seen below) and a
            // sleeping control thread's (it sees the executor free, or is woken here).
            P::fence(P::seq_cst);
            sleepers_.wake_after_fence();
            if (queue_.empty_hint() || !try_own()) return;
        }
    }

    EventQueue<Cmd, kQueue> queue_;
    typename P::template atomic<bool> owned_{false};
    BasicSleepers<P> sleepers_;
};

}  // namespace dynpcm

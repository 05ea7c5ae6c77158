#pragma once
/// SerialExecutor: one serialisation point for an object written from both the control path and
/// the realtime thread, where the realtime thread must never wait.
///
/// Every operation on the object runs while its runner owns the executor, so operations never
/// overlap and run in a single order. A control thread takes ownership (waiting, if it must,
/// for the current owner: control may wait for rt). The realtime thread instead posts its
/// command to a bounded lock-free queue and tries to take ownership once: if it gets it, it
/// runs everything queued; if not, the current owner runs the command before it lets go
/// ("flat combining"). Either way the command runs exactly once and the realtime thread has not
/// waited. An owner leaving re-checks the queue after letting go, so no command is stranded.
///
/// Commands are plain data; `Exec` is what the owner calls for each one.

#include <cstddef>
#include <optional>

#include "dynpcm/rt/atomic_policy.h"
#include "dynpcm/rt/event_queue.h"

namespace dynpcm {

template <class Cmd, size_t kQueue, class P = StdAtomicPolicy>
class SerialExecutor {
public:
    /// Runs `fn` as the owner, then any commands the realtime thread posted meanwhile (with
    /// `exec`). Returns what `fn` returns. Thread: control. Blocking: may wait for the current
    /// owner. Allocates: no (fn may).
    template <class Fn, class Exec>
    auto run(Fn&& fn, Exec&& exec) -> decltype(fn()) {
        while (!try_own()) P::wait_a_bit();
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
        // Fast path: nobody owns the executor, so run the command as its owner without queueing
        // it. Nothing this poster queued earlier can still be waiting: whoever owned the
        // executor then ran it before letting go (the store-buffering argument below).
        if (try_own()) {
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
    void drain_and_leave(Exec& exec) noexcept {
        for (;;) {
            while (std::optional<Cmd> c = queue_.pop()) exec(*c);
            P::store(owned_, false, P::release);
            P::fence(P::seq_cst);
            if (queue_.empty_hint() || !try_own()) return;
        }
    }

    EventQueue<Cmd, kQueue> queue_;
    typename P::template atomic<bool> owned_{false};
};

}  // namespace dynpcm

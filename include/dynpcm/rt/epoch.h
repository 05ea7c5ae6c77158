#pragma once
/// EpochDomain: the one way the control path waits out the realtime thread.
///
/// Everything the realtime thread does runs inside a read-side section: a clock pass, a BE
/// tick, a period interrupt, a trigger fan-out (sections nest). The control path makes a
/// change the realtime thread can see -- unpublishes an object (exchanges a pointer), moves a
/// state out of RUNNING, clears a DMA's running flag -- and then calls synchronize(), which
/// returns once every section that began before the call has ended. After that the realtime
/// thread can no longer see the old object or the old state: the object may be freed, the
/// state's hardware stopped, the pointers reset. The argument, once for every use:
///   reader: announce (store the epoch in its slot) ; fence ; load what it reads
///   writer: change it ; synchronize() = epoch++ ; fence ; read every slot
/// Store-buffering with a seq_cst fence on each side: either the reader's load sees the
/// change, or the writer sees the reader's announcement (an older epoch) and waits for its
/// exit(), whose release store orders everything the section did before the writer goes on.
///
/// Readers never wait and write nothing shared but their own slot: enter() is one acquire
/// load, one release store and one seq_cst fence; exit() one release store, one seq_cst fence
/// and one load (plus a non-blocking futex wake when a writer sleeps). The writer spins
/// briefly, then sleeps (Sleepers), and waits only for sections already in progress.
///
/// Why this and not liburcu: docs/CONCURRENCY.md (same read-side cost class as urcu-mb, no
/// membarrier IPIs on the realtime CPU, no per-thread registration of application threads, and
/// ThreadSanitizer understands it without annotations).

#include <array>
#include <cstddef>
#include <cstdint>

#include "dynpcm/rt/atomic_policy.h"
#include "dynpcm/rt/sleepers.h"

namespace dynpcm {

template <class P, size_t kSlots>
class BasicEpochDomain {
public:
    static constexpr int kNoSlot = -1;

    /// Claims a reader slot for the calling thread; kNoSlot when all are taken.
    /// Thread: any, before it reads. Blocking: lock-free. Allocates: no.
    int claim_slot() noexcept {
        for (size_t i = 0; i < kSlots; ++i) {
            uint32_t free = 0;
            if (P::cas(slots_[i].claimed, free, uint32_t{1}, P::acq_rel)) return static_cast<int>(i);
        }
        return kNoSlot;
    }
    /// Gives a slot back. The thread must be outside any section. Thread: its owner.
    void release_slot(int slot) noexcept { P::store(slots_[index(slot)].claimed, uint32_t{0}, P::release); }

    /// Begins a read-side section (nestable). Thread: the slot's owner (rt). Blocking:
    /// wait-free. Allocates: no.
    void enter(int slot) noexcept {
        Slot& s = slots_[index(slot)];
        if (s.depth++ > 0) return;
        // Acquire: a reader that sees a writer's new epoch also sees what it published before.
        const uint64_t e = P::load(epoch_, P::acquire);
        // Release: a writer that reads this stamp must also be ordered after everything the
        // slot's previous sections did, even when another thread used the slot before (slots
        // are reused). Relacy found the relaxed version racing (tests/model/relacy_epoch.cpp).
        P::store(s.active, e, P::release);
        // Pairs with the fence in synchronize(): either this reader's later loads see the new
        // publication, or the writer sees this announcement and waits for exit().
        P::fence(P::seq_cst);
    }
    /// Ends a read-side section. Thread: the slot's owner. Blocking: wait-free (a futex wake
    /// when a writer sleeps). Allocates: no.
    void exit(int slot) noexcept {
        Slot& s = slots_[index(slot)];
        if (--s.depth > 0) return;
        P::store(s.active, uint64_t{0}, P::release);
        // Pairs with the sleeping writer's fence (Sleepers): it sees this slot empty, or we see
        // it asleep and wake it.
        P::fence(P::seq_cst);
        sleepers_.wake_after_fence();
    }

    /// Waits until every section that began before this call (and so might hold what was
    /// unpublished before it) has ended. Thread: control (never the rt thread, and never from
    /// inside a section). Blocking: yes, for readers in a section; it sleeps after a short spin.
    /// Allocates: no.
    void synchronize() noexcept {
        const uint64_t target = P::fetch_add(epoch_, uint64_t{1}, P::seq_cst) + 1;
        P::fence(P::seq_cst);
        for (size_t i = 0; i < kSlots; ++i) {
            auto left = [&] {
                const uint64_t a = P::load(slots_[i].active, P::acquire);
                return a == 0 || a >= target;
            };
            if (!left()) sleepers_.wait_until(left);
        }
    }

    /// Whether the slot's owner is inside a section. Thread: the slot's owner.
    bool inside(int slot) const noexcept { return slots_[index(slot)].depth > 0; }

    /// The current epoch, for diagnostics. Thread: any.
    uint64_t epoch() const noexcept { return P::load(epoch_, P::relaxed); }

private:
    static size_t index(int slot) noexcept { return static_cast<size_t>(slot); }
    struct alignas(64) Slot {
        typename P::template atomic<uint64_t> active{0};   // 0: outside; else the epoch at entry
        typename P::template atomic<uint32_t> claimed{0};
        uint32_t depth = 0;                                // owner-private nesting count
    };
    alignas(64) typename P::template atomic<uint64_t> epoch_{1};
    std::array<Slot, kSlots> slots_{};
    alignas(64) BasicSleepers<P> sleepers_;
};

/// The production domain: up to 64 reader threads (clock threads and their like).
using EpochDomain = BasicEpochDomain<StdAtomicPolicy, 64>;

}  // namespace dynpcm

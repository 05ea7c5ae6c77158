#include "dynpcm/rt/rt_epoch.h"

#include <cstdio>
#include <cstdlib>

namespace dynpcm {

namespace {
// The slot goes back to the domain when its thread ends, so short-lived threads that ran
// realtime code (tests, a virtual clock's caller) never use the slots up.
struct SlotHolder {
    int slot = EpochDomain::kNoSlot;
    ~SlotHolder() {
        if (slot != EpochDomain::kNoSlot) rt_epoch().release_slot(slot);
    }
};
thread_local SlotHolder t_slot;
}  // namespace

EpochDomain& rt_epoch() noexcept {
    static EpochDomain domain;
    return domain;
}

int rt_reader_slot() noexcept {
    if (t_slot.slot == EpochDomain::kNoSlot) {
        t_slot.slot = rt_epoch().claim_slot();
        if (t_slot.slot == EpochDomain::kNoSlot) {
            std::fputs("dynpcm: more realtime threads than epoch reader slots\n", stderr);
            std::abort();
        }
    }
    return t_slot.slot;
}

void wait_for_rt() noexcept {
    if (t_slot.slot != EpochDomain::kNoSlot && rt_epoch().inside(t_slot.slot)) {
        std::fputs("dynpcm: wait_for_rt() inside a realtime section: a control-side operation "
                   "(trigger, not trigger_rt) was called from the realtime thread\n", stderr);
        std::abort();
    }
    rt_epoch().synchronize();
}

void release_rt_reader_slot() noexcept {
    if (t_slot.slot == EpochDomain::kNoSlot) return;
    rt_epoch().release_slot(t_slot.slot);
    t_slot.slot = EpochDomain::kNoSlot;
}

}  // namespace dynpcm

#include "dynpcm/rt/rt_epoch.h"

#include <cstdio>
#include <cstdlib>

namespace dynpcm {

namespace {
// A trivially destructible thread_local: first access needs no allocation.
thread_local int t_slot = EpochDomain::kNoSlot;
}  // namespace

EpochDomain& rt_epoch() noexcept {
    static EpochDomain domain;
    return domain;
}

int rt_reader_slot() noexcept {
    if (t_slot == EpochDomain::kNoSlot) {
        t_slot = rt_epoch().claim_slot();
        if (t_slot == EpochDomain::kNoSlot) {
            std::fputs("dynpcm: more realtime threads than epoch reader slots\n", stderr);
            std::abort();
        }
    }
    return t_slot;
}

void release_rt_reader_slot() noexcept {
    if (t_slot == EpochDomain::kNoSlot) return;
    rt_epoch().release_slot(t_slot);
    t_slot = EpochDomain::kNoSlot;
}

}  // namespace dynpcm

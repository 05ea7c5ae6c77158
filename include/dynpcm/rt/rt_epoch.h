#pragma once
/// The process-wide epoch domain the realtime threads read FE->BE link sets under, and each
/// thread's reader slot in it.

#include "dynpcm/rt/epoch.h"

namespace dynpcm {

/// Thread: any. Blocking: wait-free. Allocates: no.
EpochDomain& rt_epoch() noexcept;

/// The calling thread's reader slot, claimed on first use (a bounded CAS scan; no allocation,
/// so the realtime thread may do it). Aborts if every slot is taken: that is more realtime
/// threads than dynpcm is built for. Thread: any. Blocking: lock-free. Allocates: no.
int rt_reader_slot() noexcept;
/// Gives the calling thread's slot back, when the thread is about to end.
/// Thread: the slot's owner, outside any read section.
void release_rt_reader_slot() noexcept;

}  // namespace dynpcm

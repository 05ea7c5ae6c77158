#pragma once
/// recover(): alsa-lib's snd_pcm_recover for a PcmRuntime.

#include "dynpcm/core/result.h"

namespace dynpcm {

class PcmRuntime;

/// Recovers a stream after a transfer returned `err` (a negative errno):
/// -EINTR -> nothing to do; -EPIPE (xrun) -> prepare(); -ESTRPIPE (suspended) -> resume(),
/// or prepare() when the hardware cannot resume. Any other error comes back unchanged.
/// Thread: control. Blocking: no. Allocates: on error.
Result<void> recover(PcmRuntime& pcm, int err);

}  // namespace dynpcm

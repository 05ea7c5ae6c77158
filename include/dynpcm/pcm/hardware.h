#pragma once
/// PcmHardware: the "hardware" behind a PcmRuntime, i.e. the DMA engine and its position
/// register. The simulated DMA clock implements it; later the WAV, null and ALSA backends do.

#include <cstdint>

#include "dynpcm/core/result.h"
#include "dynpcm/pcm/hw_params.h"
#include "dynpcm/pcm/state.h"
#include "dynpcm/pcm/sw_params.h"

namespace dynpcm {

class PcmRuntime;

/// What pointer() returns to report that the hardware overran (SNDRV_PCM_POS_XRUN).
inline constexpr Frames kPosXrun = ~Frames{0};

/// SNDRV_PCM_INFO_* capabilities that change the runtime's behaviour.
struct PcmInfo {
    bool can_pause = true;       ///< INFO_PAUSE: pause(true/false) is allowed
    bool can_resume = true;      ///< INFO_RESUME: resume() works; without it, prepare() again
    bool drain_trigger = false;  ///< INFO_DRAIN_TRIGGER: the hardware is told DRAIN
};

/// The seam between a PcmRuntime and whatever moves its samples. Thread rules per method;
/// trigger(), pointer() and now_ns() may run on the realtime thread and must not block.
class PcmHardware {
public:
    virtual ~PcmHardware() = default;

    /// The runtime this hardware serves was created / is being destroyed.
    /// Thread: control. Blocking: may block. Allocates: may.
    virtual void attach(PcmRuntime& /*runtime*/) {}
    virtual void detach(PcmRuntime& /*runtime*/) {}

    /// A configuration was chosen; `params` is fully chosen. Thread: control. May allocate.
    virtual Result<void> hw_params(const HwParams& /*params*/) { return ok(); }
    /// Undo hw_params. Thread: control.
    virtual Result<void> hw_free() { return ok(); }
    /// About to start from position 0. Thread: control.
    virtual Result<void> prepare() { return ok(); }

    /// Start, stop, pause, suspend... from the control side. Returns 0 or a negative errno.
    /// After a stopping command returns, the hardware moves no more data and raises no more
    /// interrupts (the kernel's sync_stop). Thread: control. Blocking: may wait for the
    /// realtime thread. Allocates: no.
    virtual int trigger(TriggerCmd cmd) noexcept = 0;
    /// The same from the interrupt path (it stops the hardware on xrun and at drain end), inside
    /// the interrupt's own realtime section: it must not wait for the realtime thread, which is
    /// the caller. Thread: rt. Blocking: wait-free. Allocates: no.
    virtual int trigger_rt(TriggerCmd cmd) noexcept = 0;

    /// DMA position inside the buffer, in [0, buffer_size), or kPosXrun.
    /// Thread: any. Blocking: wait-free. Allocates: no.
    virtual Frames pointer() noexcept = 0;

    /// The hardware clock's monotonic time in ns (virtual or real). It dates pointer updates,
    /// which is how a doubly acknowledged interrupt is told from a buffer wrap.
    /// Thread: any. Blocking: wait-free. Allocates: no.
    virtual int64_t now_ns() noexcept = 0;

    /// Frames queued beyond the ring buffer (FIFOs, codec): added to delay().
    /// Thread: any. Blocking: wait-free. Allocates: no.
    virtual Frames delay() noexcept { return 0; }
};

}  // namespace dynpcm

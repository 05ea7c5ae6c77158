#pragma once
/// Backend: what plays or records one direction of a BE link: a simulated codec (sim), a
/// sink that discards or a source of silence (null), a WAV file (wav) or a real ALSA PCM
/// device (alsa). The DPCM core drives it with the kernel's BE operations and moves one
/// period of samples at each tick of the BE's clock.
///
/// Clocking. Every BE is paced by a simulated DMA clock (SimDma on the engine's SimClock):
/// virtual time in tests and scenarios, a SCHED_FIFO timer thread in real time. At each
/// period the engine calls write_rt() (playback) or read_rt() (capture) with exactly one
/// period. A real device's own clock drifts against that timer; the alsa backend absorbs the
/// difference in the device buffer and reports what it cannot absorb as an xrun.
///
/// Threads. open/hw_params/prepare/hw_free/close run on the control thread and may block and
/// allocate. trigger() runs on the control thread and trigger_rt() on the realtime thread,
/// always serialised by the BE's executor. write_rt/read_rt run on the realtime thread only, between a start
/// and a stop: they never block, allocate, free, format strings or take a lock the control
/// thread holds. position()/delay() may be called from any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dynpcm/card/dai_link.h"
#include "dynpcm/core/result.h"
#include "dynpcm/pcm/hw_params.h"
#include "dynpcm/pcm/state.h"
#include "dynpcm/pcm/sw_params.h"

namespace dynpcm {

/// Who a backend serves, for its messages.
struct BackendContext {
    std::string be_name;  ///< the BE link's name
    Stream dir = Stream::Playback;
    /// The engine runs on a real-time clock: the realtime calls must not block, so a backend
    /// whose device may block does that work on a thread of its own. Otherwise (a virtual
    /// clock, or a backend driven by hand) it works inline on the caller, which keeps runs
    /// deterministic: the caller of SimClock::advance() plays the realtime thread but may block.
    bool realtime = false;
};

class Backend {
public:
    virtual ~Backend() = default;

    /// "sim", "null", "wav" or "alsa". Thread: any. Blocking: wait-free. Allocates: no.
    virtual const char* type() const noexcept = 0;
    /// What it is bound to ("hw:0,0", "/tmp/out.wav", ...). Thread: control. Allocates: yes.
    virtual std::string describe() const = 0;

    // ---- the BE operations. Thread: control. Blocking: may (device and file I/O).
    // Allocates: may. Errors name the BE, the device or file, and what failed.

    /// The first user opened the BE (dpcm_be_dai_startup).
    virtual Result<void> open() { return ok(); }
    /// The BE's configuration, fully chosen (after be_hw_params_fixup).
    virtual Result<void> hw_params(const HwParams& params) = 0;
    /// Before a start from position 0. A backend that failed (device gone) tries to recover
    /// here, and fails again if it cannot.
    virtual Result<void> prepare() { return ok(); }
    virtual Result<void> hw_free() { return ok(); }
    /// The last user closed the BE.
    virtual void close() {}

    /// START, STOP, PAUSE_PUSH/RELEASE, SUSPEND, RESUME. Returns 0 or a negative errno.
    /// Thread: control, serialised by the BE's executor. Blocking: may (device I/O).
    /// Allocates: no.
    virtual int trigger(TriggerCmd cmd) noexcept = 0;
    /// The same from the realtime thread (an xrun or a drain end stops the BE), serialised by
    /// the BE's executor. It must not block: a backend whose trigger() may block hands the
    /// work to a thread of its own and returns. Thread: rt. Blocking: no. Allocates: no.
    virtual int trigger_rt(TriggerCmd cmd) noexcept { return trigger(cmd); }

    /// Playback: takes `frames` interleaved frames in the configured format. Capture: fills
    /// `frames` frames. Returns `frames`, or a negative errno: -EPIPE when the device ran
    /// over or under (the backend has recovered; the data of this period are lost or silent),
    /// -ENODEV or -EBADFD when the device is gone (the BE fails; nothing more is transferred
    /// until it is prepared again). Thread: rt. Blocking: no. Allocates: no.
    virtual int64_t write_rt(const void* data, Frames frames) noexcept;
    virtual int64_t read_rt(void* data, Frames frames) noexcept;

    /// Frames transferred since prepare: the BE's pointer. Thread: any. Blocking: wait-free.
    virtual Frames position() const noexcept = 0;
    /// Frames between the transfer and the converter (a device buffer, a FIFO): part of the
    /// FE's delay. Thread: any. Blocking: wait-free.
    virtual Frames delay() const noexcept { return 0; }
    /// Device-side xruns recovered so far. Thread: any. Blocking: wait-free.
    virtual uint64_t xruns() const noexcept { return 0; }
    /// Frames that did not reach the device (playback) or were not captured from it (capture)
    /// because of device trouble: xruns, clock slips, recoveries in progress. The engine
    /// reports each gap once the device moves audio again. Thread: any. Blocking: wait-free.
    virtual uint64_t lost_frames() const noexcept { return 0; }
};

/// The option names a backend type accepts, or null for an unknown type.
/// Thread: any. Blocking: wait-free. Allocates: no.
const std::vector<std::string>* backend_options(std::string_view type) noexcept;

/// Checks a binding without opening anything: the type, option names (with a suggestion for
/// a misspelt one) and option values. The message names the option and the bad value; the
/// caller adds where the binding came from. Thread: any. Allocates: on error.
Result<void> check_backend_binding(const BackendBinding& binding);

/// Makes the backend a BE link binds (check_backend_binding first). Nothing is opened yet.
/// Thread: control. Blocking: no. Allocates: yes.
Result<std::unique_ptr<Backend>> make_backend(const BackendBinding& binding, const BackendContext& context);

}  // namespace dynpcm

#pragma once
/// AlsaBackend: a BE played or recorded by a real ALSA PCM through alsa-lib: "hw:0,0",
/// "plughw:1,0", "default", "null", "file:'/tmp/out.raw',raw", or any other PCM name alsa-lib
/// resolves. The device is opened non-blocking and driven with read/write transfers
/// (RW_INTERLEAVED), one period per tick of the BE's clock.
///
/// Clocking. The engine's timer paces the transfers; the device runs on its own clock. At
/// start, playback fills the device buffer with silence up to one period short of full, so
/// the buffer absorbs the drift between the two clocks. A transfer the buffer cannot absorb
/// (device buffer full or empty: -EAGAIN from alsa-lib) loses the rest of the period and is
/// reported as an xrun (-EPIPE), like a device xrun, which the backend recovers by itself.
///
/// Real time (BackendContext::realtime). Nothing that may block runs on the realtime thread:
/// the recovery after a device xrun (drop, prepare, prefill, start) and the stops the
/// interrupt path asks for (trigger_rt) are done by the backend's own thread, which the
/// realtime thread signals without waiting; periods that arrive meanwhile are lost and counted
/// (lost_frames), and the engine reports the gap. The transfers themselves stay on the
/// realtime thread only for a plain hw PCM, whose non-blocking read/write is an ioctl; any
/// other PCM (plug, dmix, dsnoop, file, pulse, null, ...) may block inside alsa-lib (IPC
/// semaphores, file writes), so the realtime thread only fills or drains a wait-free ring and
/// the backend's thread moves it to or from the device (option `io`: auto, direct, thread).
/// Off real time everything runs inline on the caller.
///
/// Failure. When the device goes away (-ENODEV, -EBADFD or -EIO from alsa-lib) the backend is
/// marked failed: every later transfer returns -ENODEV without touching the device, and
/// prepare() reopens the device and applies the last hw_params again, or fails with -ENODEV.
///
/// alsa-lib stays out of this header: the device state lives behind a pointer.

#include <cstdint>
#include <memory>
#include <string>

#include "dynpcm/backend/backend.h"

namespace dynpcm {

class AlsaBackend final : public Backend {
public:
    /// Where the transfers run in real time: on the realtime thread (direct), on the
    /// backend's thread through a ring (thread), or direct for a plain hw PCM only (auto).
    enum class Io : uint8_t { Auto, Direct, Thread };
    struct Options {
        std::string device = "default";  ///< the ALSA PCM name
        uint32_t periods = 4;            ///< device buffer size, in BE periods (2..64)
        Io io = Io::Auto;
    };
    /// Options from a binding's option map (device, periods, io); each error names the option
    /// and the bad value. Thread: any. Blocking: no. Allocates: yes.
    static Result<Options> parse(const BackendBinding& binding);

    /// Nothing is opened yet. Thread: control. Blocking: no. Allocates: yes.
    AlsaBackend(BackendContext context, Options options);
    /// Closes the device if it is open. Thread: control. Blocking: may. Allocates: no.
    ~AlsaBackend() override;
    AlsaBackend(const AlsaBackend&) = delete;
    AlsaBackend& operator=(const AlsaBackend&) = delete;

    /// "alsa". Thread: any. Blocking: wait-free. Allocates: no.
    const char* type() const noexcept override { return "alsa"; }
    /// "ALSA device 'hw:0,0'", with the device's period and buffer once configured.
    /// Thread: control. Blocking: no. Allocates: yes.
    std::string describe() const override;

    /// Opens the device (snd_pcm_open, non-blocking). Opening an open backend does nothing.
    /// Thread: control. Blocking: may (alsa-lib reads its configuration). Allocates: yes.
    Result<void> open() override;
    /// Configures the device exactly as `params` says: interleaved access, the format, the
    /// channels and the rate (alsa-lib is not allowed to resample), a period near the BE's
    /// and a buffer of `periods` periods; a start threshold the device never reaches (the
    /// backend starts it) and avail_min of one period. Allocates the transfer scratch.
    /// Thread: control. Blocking: may (device ioctls). Allocates: yes.
    Result<void> hw_params(const HwParams& params) override;
    /// Prepares the device and sets position() to 0. A failed backend first reopens the
    /// device and applies the last hw_params again; -ENODEV if it still cannot.
    /// Thread: control. Blocking: may (reopening). Allocates: may (reopening, messages).
    Result<void> prepare() override;
    /// Frees the device's hardware configuration (snd_pcm_hw_free).
    /// Thread: control. Blocking: may. Allocates: on error.
    Result<void> hw_free() override;
    /// Closes the device (snd_pcm_close). Thread: control. Blocking: may. Allocates: no.
    void close() override;

    /// START (playback prefills silence, then snd_pcm_start), STOP (snd_pcm_drop, after the
    /// device was handed what the ring still held), PAUSE_PUSH/RELEASE (snd_pcm_pause, or drop
    /// and restart when the device cannot pause), SUSPEND (drop), RESUME (prepare and restart),
    /// DRAIN (nothing). Returns 0 or a negative errno; a failed backend refuses START, RESUME
    /// and PAUSE_RELEASE with -ENODEV. A command the realtime thread asked for and the
    /// backend's thread has not done yet is done first. Thread: control, serialised by the BE's
    /// executor. Blocking: may (device calls). Allocates: no.
    int trigger(TriggerCmd cmd) noexcept override;
    /// In real time: the realtime thread stops transferring at once and the backend's thread
    /// does the device call; returns 0 (the command is taken). Off real time: trigger().
    /// Thread: rt, serialised by the BE's executor. Blocking: no. Allocates: no.
    int trigger_rt(TriggerCmd cmd) noexcept override;

    /// Writes `frames` interleaved frames; see Backend::write_rt for the results.
    /// Thread: rt. Blocking: no. Allocates: no.
    int64_t write_rt(const void* data, Frames frames) noexcept override;
    /// Reads `frames` interleaved frames; what could not be read is silence.
    /// Thread: rt. Blocking: no. Allocates: no.
    int64_t read_rt(void* data, Frames frames) noexcept override;

    /// Frames transferred by write_rt/read_rt since prepare. Thread: any. Blocking: wait-free.
    /// Allocates: no.
    Frames position() const noexcept override;
    /// The device's delay as of the last successful transfer (snd_pcm_delay on the rt
    /// thread), 0 before the first. Thread: any. Blocking: wait-free. Allocates: no.
    Frames delay() const noexcept override;
    /// Xruns recovered so far: device xruns (-EPIPE, -ESTRPIPE) and clock slips (-EAGAIN).
    /// Thread: any. Blocking: wait-free. Allocates: no.
    uint64_t xruns() const noexcept override;
    /// Frames lost to xruns, clock slips and recoveries. Thread: any. Blocking: wait-free.
    uint64_t lost_frames() const noexcept override;
    /// Whether the transfers go through the backend's thread (real time, a PCM that may block
    /// or io: thread); known after open(). Thread: control. Blocking: wait-free.
    bool threaded() const noexcept;

    // ---- what the device runs at (after hw_params). Thread: control. Blocking: wait-free.
    // Allocates: no.
    const Options& options() const noexcept;
    /// The device's period and buffer, in frames; 0 before hw_params.
    Frames device_period() const noexcept;
    Frames device_buffer() const noexcept;
    /// Whether the device can pause (snd_pcm_hw_params_can_pause).
    bool can_pause() const noexcept;

    /// Whether the device is gone (a transfer saw -ENODEV, -EBADFD or -EIO) and prepare() has
    /// not yet brought it back. Thread: any. Blocking: wait-free. Allocates: no.
    bool failed() const noexcept;

    /// Fault injection: the next transfer (write_rt or read_rt) behaves exactly as if alsa-lib
    /// had returned `negative_errno` (-EPIPE, -EAGAIN, -ESTRPIPE, -ENODEV, ...) and goes down
    /// the same recovery path; 0 cancels. Thread: any. Blocking: wait-free. Allocates: no.
    void inject_error(int negative_errno) noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace dynpcm

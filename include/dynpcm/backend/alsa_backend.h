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
    struct Options {
        std::string device = "default";  ///< the ALSA PCM name
        uint32_t periods = 4;            ///< device buffer size, in BE periods (2..64)
    };
    /// Options from a binding's option map (device, periods); each error names the option and
    /// the bad value. Thread: any. Blocking: no. Allocates: yes.
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

    /// START (playback prefills silence, then snd_pcm_start), STOP (snd_pcm_drop),
    /// PAUSE_PUSH/RELEASE (snd_pcm_pause, or drop and restart when the device cannot pause),
    /// SUSPEND (drop), RESUME (prepare and restart), DRAIN (nothing). Returns 0 or a negative
    /// errno; a failed backend refuses START, RESUME and PAUSE_RELEASE with -ENODEV.
    /// Thread: control or rt, serialised by the BE's executor. Blocking: no. Allocates: no.
    int trigger(TriggerCmd cmd) noexcept override;

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

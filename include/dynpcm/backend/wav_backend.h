#pragma once
/// WavBackend: a BE bound to a WAV file (libsndfile). Playback records what the BE receives
/// into the file; capture plays the file, converted to the BE's format, optionally looping.
///
/// The realtime side never touches the file. A disk thread, started by prepare() and stopped
/// by hw_free()/close(), moves the samples between the file and a wait-free SpscRing of at
/// least two seconds: playback's write_rt() pushes into the ring and the disk thread writes
/// it out; capture's disk thread keeps the ring filled ahead and read_rt() pops. When the ring
/// is full (playback) or short (capture) the realtime side never waits: it drops the frames
/// (an overrun) or plays silence (an underrun) and counts them.
///
/// The file: playback (re)creates it at every prepare() (truncating), as a WAV whose subtype
/// follows the BE's format (S16_LE: PCM_16, S24_LE and S24_3LE: PCM_24, S32_LE: PCM_32,
/// FLOAT_LE: FLOAT); hw_free()/close() drain what is queued and close it with the right length.
/// Capture opens it at every prepare(), starting from its first frame; its channels and rate
/// must be the BE's, its sample format may be any libsndfile reads.
///
/// libsndfile stays out of this header (pimpl).

#include <cstdint>
#include <memory>
#include <string>

#include "dynpcm/backend/backend.h"

namespace dynpcm {

class WavBackend final : public Backend {
public:
    struct Options {
        std::string file;   ///< the WAV file to record to (playback) or play (capture)
        bool loop = false;  ///< capture: start again at the end of the file
    };
    /// Options from a binding's option map (file, loop). Errors name the option and the value.
    /// Thread: any. Blocking: no. Allocates: yes.
    static Result<Options> parse(const BackendBinding& binding);

    /// Nothing is opened yet. Thread: control. Blocking: no. Allocates: yes.
    WavBackend(BackendContext context, Options options);
    /// Stops the disk thread (playback: after writing what is queued) and closes the file.
    /// Thread: control. Blocking: yes (joins the disk thread, file I/O). Allocates: no.
    ~WavBackend() override;
    WavBackend(const WavBackend&) = delete;
    WavBackend& operator=(const WavBackend&) = delete;

    /// "wav". Thread: any. Blocking: wait-free. Allocates: no.
    const char* type() const noexcept override { return "wav"; }
    /// "WAV file '/tmp/out.wav' (record)". Thread: control. Blocking: no. Allocates: yes.
    std::string describe() const override;

    /// Takes the format, channels and rate and allocates the ring (at least 2 s). A playback
    /// BE fails with -EINVAL, naming the format, for a format a WAV file cannot hold as it is.
    /// A prepared BE is first stopped (playback: its file finished) as by hw_free().
    /// Thread: control. Blocking: may (finishing a previous file). Allocates: yes.
    Result<void> hw_params(const HwParams& params) override;
    /// Playback: (re)creates the file, truncating it. Capture: opens the file, checks its
    /// channels and rate against the BE's, and fills the ring ahead from its first frame.
    /// Then starts the disk thread and sets the position to 0. A previous file is finished
    /// first. Errors name the BE, the file and what failed.
    /// Thread: control. Blocking: yes (file I/O, thread start). Allocates: yes.
    Result<void> prepare() override;
    /// Stops the disk thread after it wrote everything queued (playback), closes the file
    /// (a valid WAV with the right length) and frees the ring. Fails, naming the BE and the
    /// file, when a write or the close failed since prepare().
    /// Thread: control. Blocking: yes (joins the disk thread, file I/O). Allocates: may.
    Result<void> hw_free() override;
    /// As hw_free(), dropping its error. Thread: control. Blocking: yes. Allocates: may.
    void close() override;

    /// START/PAUSE_RELEASE/RESUME set the running flag, STOP/PAUSE_PUSH/SUSPEND clear it,
    /// DRAIN does nothing. Returns 0 (-EINVAL for an unknown command).
    /// Thread: control or rt. Blocking: wait-free. Allocates: no.
    int trigger(TriggerCmd cmd) noexcept override;

    /// Playback: queues `frames` frames for the disk thread. When the ring is full, the frames
    /// that do not fit are dropped and counted (overruns()); the call still returns `frames`
    /// (the BE consumed them at its clock; a slow disk is not a device xrun). Returns -EBADFD
    /// when not prepared and started, -ENODEV after the disk thread failed (prepare again).
    /// Thread: rt. Blocking: wait-free (no lock, no syscall). Allocates: no.
    int64_t write_rt(const void* data, Frames frames) noexcept override;
    /// Capture: fills `frames` frames from the ring. Frames the disk thread has not read yet
    /// are silent and counted (underruns()); after the end of a file that does not loop they
    /// are silent and not counted (at_end()). Returns `frames`; -EBADFD (silence) when not
    /// prepared and started, -ENODEV (silence) after the disk thread failed.
    /// Thread: rt. Blocking: wait-free (no lock, no syscall). Allocates: no.
    int64_t read_rt(void* data, Frames frames) noexcept override;

    /// Frames transferred since prepare(), dropped or silent ones included.
    /// Thread: any. Blocking: wait-free. Allocates: no.
    Frames position() const noexcept override;
    /// overruns() + underruns(). Thread: any. Blocking: wait-free. Allocates: no.
    uint64_t xruns() const noexcept override;

    // ---- counters and state. Thread: any. Blocking: wait-free. Allocates: no.
    /// Playback: write_rt() calls that dropped frames because the ring was full, and how many
    /// frames they dropped, since prepare().
    uint64_t overruns() const noexcept;
    uint64_t overrun_frames() const noexcept;
    /// Capture: read_rt() calls that found fewer frames than asked in the ring before the end
    /// of the file (the disk thread was late), and how many silent frames they played.
    uint64_t underruns() const noexcept;
    uint64_t underrun_frames() const noexcept;
    /// Capture without loop: the realtime side has consumed every frame of the file.
    bool at_end() const noexcept;
    /// Frames waiting in the ring: playback, not yet written to the file; capture, read ahead
    /// from the file and not yet consumed. 0 before hw_params(). (Not concurrently with
    /// hw_params()/hw_free(), which replace the ring.)
    Frames buffered() const noexcept;
    /// How many frames the ring holds (0 before hw_params()). (As buffered().)
    Frames ring_frames() const noexcept;

    /// Test knob: a paused disk thread moves nothing (playback fills up and overruns, capture
    /// runs dry), except that hw_free()/close() still drain playback's ring.
    /// Thread: any. Blocking: wait-free. Allocates: no.
    void pause_disk_thread(bool paused) noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace dynpcm

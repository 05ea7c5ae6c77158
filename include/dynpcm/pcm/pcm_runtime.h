#pragma once
/// PcmRuntime: one PCM stream with alsa-lib's semantics: states, hw/sw params, a ring buffer
/// whose hw_ptr and appl_ptr run modulo `boundary`, avail/delay, thresholds, xrun, drain,
/// pause, suspend, blocking and non-blocking transfers. Every FE stream is one; BEs will carry
/// one too once they move audio.
///
/// Threads. Application and control threads call the control API; calls are serialised by an
/// internal mutex that the realtime thread never takes. The realtime (interrupt) thread calls
/// only the `_rt` methods. It is the single writer of hw_ptr while the stream runs, the
/// application is the single writer of appl_ptr, and state moves by compare-and-swap, so the
/// interrupt path never waits for the application. A control operation that must reset the
/// pointers first moves the state out of RUNNING, then waits for an interrupt already in flight
/// to finish (wait_for_rt: the kernel's sync_stop): control may wait for rt, never the reverse.
/// docs/CONCURRENCY.md has the full argument.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dynpcm/core/result.h"
#include "dynpcm/core/wait_word.h"
#include "dynpcm/pcm/hardware.h"
#include "dynpcm/pcm/hw_params.h"
#include "dynpcm/pcm/shared_ring.h"
#include "dynpcm/pcm/state.h"
#include "dynpcm/pcm/sw_params.h"
#include "dynpcm/rt/event_queue.h"

namespace dynpcm {

/// Something that happened to a stream, reported without allocation from either thread.
struct PcmEvent {
    enum class Kind : uint8_t {
        State,            ///< from -> to
        UnexpectedHwPtr,  ///< pointer jumped >= buffer + period: update ignored (detail = delta)
        LostInterrupts,   ///< pointer moved > 1.5 periods in one interrupt (detail = delta)
        BadPosition,      ///< pointer() returned >= buffer_size; treated as 0 (detail = pos)
        TriggerFailed,    ///< the hardware refused a trigger (detail = -errno)
        BadApplPtr,       ///< a shared-ring client published an impossible appl_ptr: xrun (detail = it)
    };
    Kind kind = Kind::State;
    PcmState from = PcmState::Open;
    PcmState to = PcmState::Open;
    int64_t time_ns = 0;  ///< hardware clock time
    Frames hw_ptr = 0;
    Frames appl_ptr = 0;
    int64_t detail = 0;
};

/// One consistent snapshot of a stream (snd_pcm_status): avail and delay are those of the
/// hw_ptr and appl_ptr it reports, in the state it reports.
struct PcmStatus {
    PcmState state = PcmState::Open;
    PcmState suspended_state = PcmState::Open;
    Frames hw_ptr = 0;
    Frames appl_ptr = 0;
    Frames avail = 0;
    int64_t delay = 0;
    uint64_t periods_elapsed = 0;
    uint64_t xruns = 0;
    /// When hw_ptr was last brought up to date, on the hardware's clock (ns): snd_pcm_status's
    /// tstamp with tstamp_mode ENABLE. With delay, what an A/V sync needs: at tstamp, the
    /// frame written delay frames ago is being heard.
    int64_t tstamp_ns = 0;
};

class PcmRuntime {
public:
    struct Options {
        std::string name = "pcm";                   ///< used in every error message
        PcmInfo info{};
        bool nonblock = false;                      ///< transfers return -EAGAIN instead of waiting
        std::chrono::milliseconds timeout{10000};   ///< blocking calls give -EIO after this long
                                                    ///< without progress (the kernel's 10 s)
        unsigned pointer_bits = 63;                 ///< boundary limit: 63 = LONG_MAX on 64-bit;
                                                    ///< 31 mimics a 32-bit ALSA client
        /// The application is in another process: hw_params allocates no ring, and the ring,
        /// the application pointer and the wakeups come from attach_shared().
        bool shared_ring = false;
    };

    /// Thread: control. Allocates: yes. The hardware must outlive the runtime.
    PcmRuntime(Stream stream, std::shared_ptr<const HwConstraints> constraints, PcmHardware& hw,
               Options options);
    PcmRuntime(Stream stream, std::shared_ptr<const HwConstraints> constraints, PcmHardware& hw);
    /// Closes the stream (stopping it) and waits for blocked callers to leave.
    /// Thread: control. Blocking: may block. Allocates: no.
    ~PcmRuntime();
    PcmRuntime(const PcmRuntime&) = delete;
    PcmRuntime& operator=(const PcmRuntime&) = delete;

    // ---- configuration. Thread: control. Blocking: may block (the stream's lock, an
    // interrupt in flight, and for an FE the card lock and BE executors). Allocates: yes.

    /// The full configuration space of this PCM (snd_pcm_hw_params_any).
    HwParams hw_params_any() const;
    /// Chooses a configuration from `params`, installs it and prepares the stream
    /// (snd_pcm_hw_params): OPEN/SETUP/PREPARED -> PREPARED. `params` becomes the chosen one.
    Result<void> hw_params(HwParams& params);
    /// Releases the configuration (snd_pcm_hw_free): SETUP/PREPARED -> OPEN.
    Result<void> hw_free();
    /// Installs software parameters (snd_pcm_sw_params); allowed in any configured state.
    Result<void> sw_params(const SwParams& params);
    /// The installed software parameters.
    SwParams sw_params_current() const;
    /// The installed hardware configuration (valid after hw_params).
    const HwParams& params() const noexcept { return params_; }

    /// Shares the configured stream with an application in another process (Options::
    /// shared_ring): `ring` (buffer_size frames) becomes the stream's ring, the application
    /// pointer is read from `header->client` (validated on every use: a value the stream could
    /// not have reached is an xrun of this stream, never an index), the engine's side of
    /// `header` follows the stream, and `wake_fd` (a packet socket) gets one byte, sent with
    /// MSG_DONTWAIT, when avail reaches the client's avail_min or the state changes. The
    /// memory and the socket must stay valid until hw_params, hw_free or close, each of which
    /// detaches them. Thread: control, in SETUP or PREPARED. Blocking: waits out an interrupt
    /// in flight. Allocates: no.
    Result<void> attach_shared(SharedRingHeader* header, std::byte* ring, int wake_fd);

    // ---- state operations. Thread: control. Blocking: may block (drain() until drained;
    // close() until blocked callers leave; any trigger on the stream's lock and, for an FE,
    // the card lock). Allocates: on error.

    Result<void> prepare();        ///< SETUP/PREPARED/XRUN/SUSPENDED/PAUSED -> PREPARED
    Result<void> start();          ///< PREPARED -> RUNNING
    Result<void> stop();           ///< snd_pcm_stop(SETUP): active -> SETUP, hardware stopped
    Result<void> drop();           ///< snd_pcm_drop: releases a pause, then stop()
    Result<void> drain();          ///< play out what is queued, then SETUP (-EAGAIN if nonblock)
    Result<void> pause(bool enable);  ///< RUNNING <-> PAUSED (needs info.can_pause)
    Result<void> suspend();        ///< active -> SUSPENDED, remembering the state
    Result<void> resume();         ///< SUSPENDED -> the remembered state (needs info.can_resume)
    /// Marks the device gone: DISCONNECTED, every later call fails with -ENODEV.
    void disconnect();
    /// Stops and frees the stream and wakes every blocked caller, which returns -EBADFD.
    void close();
    void set_nonblock(bool nonblock) noexcept { nonblock_.store(nonblock, std::memory_order_relaxed); }

    // ---- transfers. Thread: control. Blocking: unless nonblock. Allocates: on error.
    // Each returns the frames transferred, or an error if none were.

    Result<Frames> writei(const void* buffer, Frames frames);
    Result<Frames> writen(const void* const* channel_buffers, Frames frames);
    Result<Frames> readi(void* buffer, Frames frames);
    Result<Frames> readn(void* const* channel_buffers, Frames frames);
    /// Waits until avail >= avail_min or the state changes (snd_pcm_wait). false on timeout.
    Result<bool> wait(std::chrono::milliseconds timeout);

    // ---- status. Thread: any, while no other thread reconfigures the stream (hw_params,
    // hw_free): the sizes they change are plain fields. Blocking: wait-free. Allocates: on error
    // only (status() included: its delay() formats an error in SETUP or XRUN).

    PcmState state() const noexcept { return state_.load(std::memory_order_acquire); }
    Stream stream() const noexcept { return stream_; }
    const std::string& name() const noexcept { return opt_.name; }
    const PcmInfo& info() const noexcept { return opt_.info; }
    /// Frames the application can transfer now, with alsa-lib's state checks
    /// (-EPIPE in XRUN, -ESTRPIPE while SUSPENDED, -EBADFD before setup, -ENODEV when gone).
    Result<Frames> avail() const;
    /// The same count without state checks (snd_pcm_avail_update without the xrun check).
    Frames avail_update() const noexcept;
    /// Frames until a frame written now is heard (playback), or captured frames waiting
    /// (capture), including the hardware's own delay.
    Result<int64_t> delay() const;
    Frames hw_ptr() const noexcept { return hw_ptr_.load(std::memory_order_acquire); }
    Frames appl_ptr() const noexcept { return appl_ptr_.load(std::memory_order_acquire); }
    /// PcmStatus::tstamp_ns alone. Thread: any. Blocking: wait-free.
    int64_t tstamp_ns() const noexcept { return tstamp_ns_.load(std::memory_order_relaxed); }
    Frames boundary() const noexcept { return boundary_; }
    Frames buffer_size() const noexcept { return buffer_size_; }
    Frames period_size() const noexcept { return period_size_; }
    /// One consistent snapshot (snd_pcm_status). Thread: control (it takes the stream's lock
    /// briefly; an interrupt in progress is waited out, never interrupted). Allocates: no.
    PcmStatus status() const;
    /// The oldest unread event. Thread: one consumer at a time. Allocates: no.
    std::optional<PcmEvent> pop_event() noexcept { return events_.pop(); }

    // ---- the interrupt path. Thread: rt (one at a time). Blocking: wait-free. Allocates: no.

    /// snd_pcm_period_elapsed: update hw_ptr from the hardware's pointer, detect xrun and drain
    /// completion, wake blocked callers. Ignored unless RUNNING or DRAINING.
    void period_elapsed_rt() noexcept;
    /// The hardware behind the stream failed. `gone` (the device disappeared): DISCONNECTED,
    /// as snd_pcm_dev_disconnect leaves it, and every later call fails with -ENODEV. Otherwise
    /// an xrun, if the stream is running (the application recovers with prepare).
    void hw_error_rt(bool gone) noexcept;
    /// Playback: the hardware reads `frames` interleaved frames at buffer position `offset`.
    /// Frames the application has not written (underrun) read as silence, never as stale data.
    void dma_read_rt(Frames offset, Frames frames, void* dst) noexcept;
    /// Capture: the hardware writes `frames` interleaved frames at buffer position `offset`.
    /// Frames that would overwrite data the application has not read yet are dropped (the
    /// overrun is reported as an xrun by the pointer update).
    void dma_write_rt(Frames offset, Frames frames, const void* src) noexcept;

private:
    enum class Xfer : uint8_t { Interleaved, NonInterleaved };
    Result<Frames> transfer(Xfer kind, bool write, const void* const* in, void* const* out, Frames frames);
    Result<void> check_configured(const char* op) const;
    Result<void> transfer_state_error(PcmState s, const char* op) const;
    Error bad_state(const char* op, PcmState s) const;

    // State machine helpers; the *_locked ones expect app_mutex_ held.
    bool set_state(PcmState from, PcmState to) noexcept;
    void force_state(PcmState to) noexcept;
    Result<void> start_locked();
    Result<void> stop_locked(PcmState to);
    Result<void> pause_locked(bool enable);
    Result<void> prepare_locked();
    void sync_rt() const noexcept;
    bool hw_running(PcmState s) const noexcept;
    bool is_active(PcmState s) const noexcept;
    int trigger(TriggerCmd cmd) noexcept;
    int trigger_rt(TriggerCmd cmd) noexcept;
    Result<Frames> wait_for_avail(std::unique_lock<std::mutex>& lock, Frames want, const char* op);

    // snd_pcm_update_hw_ptr0 / snd_pcm_update_state: run by the rt thread while RUNNING or
    // DRAINING, or by control after it has moved the state and synced.
    void update_hw_ptr(bool in_interrupt, PcmState expected) noexcept;
    void update_state(Frames avail, PcmState expected, bool in_interrupt) noexcept;
    Frames avail_of(Frames hw, Frames appl) const noexcept;
    bool playback_has_data() const noexcept;
    void report(PcmEvent::Kind kind, PcmState from, PcmState to, int64_t detail) noexcept;
    // The shared ring (attach_shared): the client's appl_ptr taken in if valid (else an xrun),
    // the engine's side published, the client woken.
    Frames take_shared_appl() noexcept;
    void publish_state() noexcept;
    void publish_pointer(Frames hw) noexcept;
    void wake_client(bool state_change) noexcept;
    void detach_shared() noexcept;

    Stream stream_;
    std::shared_ptr<const HwConstraints> constraints_;
    PcmHardware& hw_;
    Options opt_;

    mutable std::mutex app_mutex_;  // serialises control calls; never taken by rt
    std::atomic<bool> nonblock_{false};
    std::atomic<bool> closed_{false};
    std::atomic<uint32_t> blocked_callers_{0};
    WaitWord callers_left_;  // bumped when the last blocked caller leaves
    WaitWord wake_;

    // Configuration: written only by control while no interrupt can run (OPEN/SETUP/PREPARED).
    HwParams params_;
    Frames buffer_size_ = 0;
    Frames period_size_ = 0;
    Frames boundary_ = 0;
    uint32_t frame_bytes_ = 0;
    uint32_t sample_bytes_ = 0;
    uint32_t channels_ = 0;
    std::vector<std::byte> ring_;
    std::byte* ring_base_ = nullptr;  // ring_.data(), or the shared ring
    std::atomic<SharedRingHeader*> shared_{nullptr};
    std::atomic<int> wake_fd_{-1};
    std::atomic<Frames> avail_min_{1}, start_threshold_{1}, stop_threshold_{0};
    Frames silence_threshold_ = 0, silence_size_ = 0;

    // Pointers and state.
    std::atomic<PcmState> state_{PcmState::Open};
    std::atomic<PcmState> suspended_state_{PcmState::Open};  // read by status() from any thread
    std::atomic<Frames> hw_ptr_{0};
    std::atomic<Frames> appl_ptr_{0};
    std::atomic<int64_t> tstamp_ns_{0};  // rt_.hw_ptr_time_ns, for status(): any thread reads it
    std::atomic<uint64_t> periods_elapsed_{0};
    std::atomic<uint32_t> snapshot_seq_{0};  // status()'s seqlock: odd while the interrupt path updates
    std::atomic<uint64_t> xruns_{0};

    // Written by whoever currently owns hw_ptr (see the class comment).
    struct {
        Frames hw_ptr_base = 0;
        Frames hw_ptr_interrupt = 0;
        int64_t hw_ptr_time_ns = 0;     // the kernel's hw_ptr_jiffies
        int64_t buffer_time_ns = 0;     // the kernel's hw_ptr_buffer_jiffies
    } rt_;

    EventQueue<PcmEvent, 256> events_;
};

}  // namespace dynpcm

#include "dynpcm/pcm/pcm_runtime.h"

#include <fmt/format.h>

#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "dynpcm/core/thread_role.h"
#include "dynpcm/rt/rt_epoch.h"

namespace dynpcm {

namespace {

// The interrupt path's side of the status() seqlock: odd while it updates.
class SnapshotWrite {
public:
    explicit SnapshotWrite(std::atomic<uint32_t>& seq) : seq_(seq), at_(seq.load(std::memory_order_relaxed) + 1) {
        seq_.store(at_, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
    }
    ~SnapshotWrite() { seq_.store(at_ + 1, std::memory_order_release); }
    SnapshotWrite(const SnapshotWrite&) = delete;
    SnapshotWrite& operator=(const SnapshotWrite&) = delete;

private:
    std::atomic<uint32_t>& seq_;
    uint32_t at_;
};

// Counts callers inside a transfer so close() and the destructor can wait for them to leave;
// the last one out wakes close().
class CallerCount {
public:
    CallerCount(std::atomic<uint32_t>& n, WaitWord& left) : n_(n), left_(left) {
        n_.fetch_add(1, std::memory_order_acq_rel);
    }
    ~CallerCount() {
        if (n_.fetch_sub(1, std::memory_order_acq_rel) == 1) left_.wake_all();
    }
    CallerCount(const CallerCount&) = delete;
    CallerCount& operator=(const CallerCount&) = delete;

private:
    std::atomic<uint32_t>& n_;
    WaitWord& left_;
};

}  // namespace

PcmRuntime::PcmRuntime(Stream stream, std::shared_ptr<const HwConstraints> constraints, PcmHardware& hw)
    : PcmRuntime(stream, std::move(constraints), hw, Options{}) {}

PcmRuntime::PcmRuntime(Stream stream, std::shared_ptr<const HwConstraints> constraints, PcmHardware& hw,
                       Options options)
    : stream_(stream),
      constraints_(constraints ? std::move(constraints) : std::make_shared<const HwConstraints>()),
      hw_(hw),
      opt_(std::move(options)),
      params_(HwParams::any(constraints_)) {
    nonblock_.store(opt_.nonblock, std::memory_order_relaxed);
    opt_.pointer_bits = std::clamp(opt_.pointer_bits, 16U, 63U);
    hw_.attach(*this);
}

PcmRuntime::~PcmRuntime() {
    close();
    hw_.detach(*this);
}

// ------------------------------------------------------------------------------------------
// errors

// snd_pcm_running: capture DRAINING has already stopped its hardware.
bool PcmRuntime::hw_running(PcmState s) const noexcept {
    return s == PcmState::Running || (s == PcmState::Draining && stream_ == Stream::Playback);
}
bool PcmRuntime::is_active(PcmState s) const noexcept { return hw_running(s) || s == PcmState::Paused; }

Error PcmRuntime::bad_state(const char* op, PcmState s) const {
    const int code = s == PcmState::Xrun          ? -EPIPE
                     : s == PcmState::Suspended    ? -ESTRPIPE
                     : s == PcmState::Disconnected ? -ENODEV
                                                   : -EBADFD;
    return Error(code, fmt::format("pcm '{}': {} is not allowed in state {}", opt_.name, op, pcm_state_name(s)));
}

Result<void> PcmRuntime::check_configured(const char* op) const {
    if (closed_.load(std::memory_order_acquire))
        return Error(-EBADFD, fmt::format("pcm '{}': {} after close", opt_.name, op));
    const PcmState s = state();
    if (s == PcmState::Disconnected) return bad_state(op, s);
    if (s == PcmState::Open)
        return Error(-EBADFD, fmt::format("pcm '{}': {} needs hw_params first (state OPEN)", opt_.name, op));
    return ok();
}

// ------------------------------------------------------------------------------------------
// state helpers

void PcmRuntime::report(PcmEvent::Kind kind, PcmState from, PcmState to, int64_t detail) noexcept {
    PcmEvent e;
    e.kind = kind;
    e.from = from;
    e.to = to;
    e.time_ns = hw_.now_ns();
    e.hw_ptr = hw_ptr_.load(std::memory_order_relaxed);
    e.appl_ptr = appl_ptr_.load(std::memory_order_relaxed);
    e.detail = detail;
    events_.push(e);
}

bool PcmRuntime::set_state(PcmState from, PcmState to) noexcept {
    PcmState expected = from;
    if (!state_.compare_exchange_strong(expected, to, std::memory_order_seq_cst)) return false;
    if (from != to) {
        report(PcmEvent::Kind::State, from, to, 0);
        publish_state();
        wake_client(true);
    }
    return true;
}

void PcmRuntime::force_state(PcmState to) noexcept {
    const PcmState from = state_.exchange(to, std::memory_order_seq_cst);
    if (from != to) {
        report(PcmEvent::Kind::State, from, to, 0);
        publish_state();
        wake_client(true);
    }
}

// ------------------------------------------------------------------------------------------
// the shared ring: an application in another process (docs/DAEMON.md, "The data plane")

Result<void> PcmRuntime::attach_shared(SharedRingHeader* header, std::byte* ring, int wake_fd) {
    DYNPCM_ASSERT_THREAD(control);
    std::unique_lock lk(app_mutex_);
    if (!opt_.shared_ring)
        return Error(-EINVAL, fmt::format("pcm '{}': attach_shared on a stream not opened for a shared ring", opt_.name));
    const PcmState s = state();
    if (s != PcmState::Setup && s != PcmState::Prepared) return bad_state("attach_shared", s);
    if (!header || !ring) return Error(-EINVAL, fmt::format("pcm '{}': attach_shared without memory", opt_.name));
    sync_rt();
    ring_base_ = ring;
    wake_fd_.store(wake_fd, std::memory_order_relaxed);
    header->engine.hw_ptr.store(hw_ptr_.load(std::memory_order_relaxed), std::memory_order_seq_cst);
    header->engine.state.store(static_cast<uint32_t>(s), std::memory_order_seq_cst);
    header->engine.xruns.store(xruns_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    shared_.store(header, std::memory_order_release);
    publish_state();  // the state may have moved while it was stored
    return ok();
}

void PcmRuntime::detach_shared() noexcept {
    // Callers have synced with rt: no interrupt in flight reads the ring or the header.
    shared_.store(nullptr, std::memory_order_release);
    wait_for_rt();  // an rt failure report (hw_error_rt) may be publishing right now
    ring_base_ = ring_.empty() ? nullptr : ring_.data();
    wake_fd_.store(-1, std::memory_order_relaxed);
}

Frames PcmRuntime::take_shared_appl() noexcept {
    SharedRingHeader* h = shared_.load(std::memory_order_acquire);
    // Acquire: for an in-process application this is the load that makes its frames visible.
    const Frames cur = appl_ptr_.load(std::memory_order_acquire);
    if (!h || boundary_ == 0) return cur;
    // Acquire: the frames the client wrote before it published this pointer are visible.
    const uint64_t v = h->client.appl_ptr.load(std::memory_order_acquire);
    if (v == cur) return cur;
    // The client is untrusted. Any value below the boundary is a position, never an index
    // (offsets come from hw_ptr), so no value can reach outside the ring; but one the stream
    // could not have reached is refused: playback more than a buffer ahead of hw_ptr, capture
    // ahead of it (reading frames not captured). A value behind hw_ptr is an ordinary underrun
    // or overrun, which the stop threshold decides as for any application.
    bool valid = v < boundary_;
    if (valid) {
        const Frames hw = hw_ptr_.load(std::memory_order_relaxed);
        int64_t ahead = static_cast<int64_t>(v) - static_cast<int64_t>(hw);  // signed, mod boundary
        const auto half = static_cast<int64_t>(boundary_ / 2);
        if (ahead > half) ahead -= static_cast<int64_t>(boundary_);
        if (ahead < -half) ahead += static_cast<int64_t>(boundary_);
        valid = stream_ == Stream::Playback ? ahead <= static_cast<int64_t>(buffer_size_) : ahead <= 0;
    }
    if (valid) {
        appl_ptr_.store(v, std::memory_order_release);
        return v;
    }
    h->engine.bad_appl.fetch_add(1, std::memory_order_relaxed);
    report(PcmEvent::Kind::BadApplPtr, state(), state(), static_cast<int64_t>(v));
    // An xrun of this stream only. The caller is the interrupt path (while the stream runs) or
    // the control path (before it runs, when this is not an xrun and the old pointer stands).
    const PcmState s = state_.load(std::memory_order_seq_cst);
    if (hw_running(s) && set_state(s, PcmState::Xrun)) {
        xruns_.fetch_add(1, std::memory_order_relaxed);
        trigger_rt(TriggerCmd::Stop);
    }
    return cur;
}

void PcmRuntime::publish_state() noexcept {
    SharedRingHeader* h = shared_.load(std::memory_order_acquire);
    if (!h) return;
    // Both threads change the state (by CAS) and publish it. Store, then check that the state
    // is still the one stored: whoever stores last re-reads the latest, so the copy converges
    // to the state even when two publications cross.
    for (;;) {
        const PcmState s = state_.load(std::memory_order_seq_cst);
        h->engine.state.store(static_cast<uint32_t>(s), std::memory_order_seq_cst);
        if (state_.load(std::memory_order_seq_cst) == s) break;
    }
    h->engine.xruns.store(xruns_.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

void PcmRuntime::publish_pointer(Frames hw) noexcept {
    // hw_ptr has one writer at a time (the class comment); its copy is written right after it.
    // seq_cst: ordered before the wake flag's exchange (wake_client), which the client reads
    // after clearing the flag.
    if (SharedRingHeader* h = shared_.load(std::memory_order_acquire)) {
        h->engine.hw_ptr.store(hw, std::memory_order_seq_cst);
        h->engine.update_ns.store(rt_.hw_ptr_time_ns, std::memory_order_relaxed);
    }
}

void PcmRuntime::wake_client(bool state_change) noexcept {
    SharedRingHeader* h = shared_.load(std::memory_order_acquire);
    const int fd = wake_fd_.load(std::memory_order_relaxed);
    if (!h || fd < 0) return;
    if (!state_change) {
        const PcmState s = state_.load(std::memory_order_seq_cst);
        if (s == PcmState::Draining && stream_ == Stream::Playback) return;  // the drain's end wakes it
        const Frames want = std::clamp<Frames>(h->client.avail_min.load(std::memory_order_relaxed), 1, buffer_size_);
        if (avail_update() < want) return;
    }
    // One wakeup per time the client cleared the flag: it clears it, then reads the header.
    if (h->wake.armed.exchange(1, std::memory_order_seq_cst) != 0) return;
    // A packet socket and MSG_DONTWAIT: the client holds the other end but cannot make this
    // send block (an eventfd's O_NONBLOCK lives in a file description the client would share).
    // A full queue means wakeups are pending anyway; a closed peer is EPIPE, ignored.
    static const char one = 1;
    (void)::send(fd, &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void PcmRuntime::sync_rt() const noexcept {
    // The state already left RUNNING/DRAINING (seq_cst), so an interrupt that starts now sees it
    // and does nothing; wait only for one that started before (each runs in a realtime
    // section). Control waits for rt, never the reverse.
    wait_for_rt();
}

int PcmRuntime::trigger(TriggerCmd cmd) noexcept {
    const int rc = hw_.trigger(cmd);
    if (rc < 0) report(PcmEvent::Kind::TriggerFailed, state(), state(), rc);
    return rc;
}

int PcmRuntime::trigger_rt(TriggerCmd cmd) noexcept {
    const int rc = hw_.trigger_rt(cmd);
    if (rc < 0) report(PcmEvent::Kind::TriggerFailed, state(), state(), rc);
    return rc;
}

Frames PcmRuntime::avail_of(Frames hw, Frames appl) const noexcept {
    const auto b = static_cast<int64_t>(boundary_);
    int64_t a = stream_ == Stream::Playback ? static_cast<int64_t>(hw + buffer_size_) - static_cast<int64_t>(appl)
                                            : static_cast<int64_t>(hw) - static_cast<int64_t>(appl);
    if (a < 0) a += b;
    else if (b > 0 && a >= b) a -= b;
    return static_cast<Frames>(a);
}

Frames PcmRuntime::avail_update() const noexcept {
    if (buffer_size_ == 0) return 0;
    return avail_of(hw_ptr_.load(std::memory_order_acquire), appl_ptr_.load(std::memory_order_acquire));
}

bool PcmRuntime::playback_has_data() const noexcept {
    if (stop_threshold_.load(std::memory_order_relaxed) >= boundary_) return true;
    return avail_update() < buffer_size_;
}

// ------------------------------------------------------------------------------------------
// configuration

HwParams PcmRuntime::hw_params_any() const { return HwParams::any(constraints_); }

Result<void> PcmRuntime::hw_params(HwParams& params) {
    DYNPCM_ASSERT_THREAD(control);
    std::unique_lock lk(app_mutex_);
    if (closed_.load()) return Error(-EBADFD, fmt::format("pcm '{}': hw_params after close", opt_.name));
    const PcmState s = state();
    if (s != PcmState::Open && s != PcmState::Setup && s != PcmState::Prepared) return bad_state("hw_params", s);
    if (&params.constraints() != constraints_.get())
        return Error(-EINVAL, fmt::format("pcm '{}': hw_params: the space was made by another PCM; start "
                                          "from hw_params_any() of this one",
                                          opt_.name));
    sync_rt();  // a drain that just ended may still be stopping the hardware
    detach_shared();  // the old configuration's memory goes with it
    HwParams chosen = params;
    if (auto r = chosen.choose(); !r)
        return Error(r.code(), fmt::format("pcm '{}': hw_params: {}", opt_.name, r.error().message()));
    if (s != PcmState::Open) {
        if (auto r = hw_.hw_free(); !r)
            return Error(r.code(), fmt::format("pcm '{}': hw_free before hw_params: {}", opt_.name, r.error().message()));
        force_state(PcmState::Open);  // the old configuration is gone, whatever happens next
    }
    if (auto r = hw_.hw_params(chosen); !r)
        return Error(r.code(), fmt::format("pcm '{}': hardware refused {}: {}", opt_.name, chosen.summary(),
                                           r.error().message()));

    params_ = chosen;
    params = chosen;
    period_size_ = chosen.period_size();
    buffer_size_ = chosen.buffer_size();
    channels_ = chosen.channels();
    sample_bytes_ = format_info(chosen.format()).physical / 8;
    frame_bytes_ = sample_bytes_ * channels_;
    boundary_ = compute_boundary(buffer_size_, opt_.pointer_bits);
    if (opt_.shared_ring) ring_.clear();
    else ring_.assign(static_cast<size_t>(buffer_size_) * frame_bytes_, std::byte{format_info(chosen.format()).silence_byte});
    ring_base_ = ring_.empty() ? nullptr : ring_.data();
    const SwParams sw = sw_params_defaults(period_size_, buffer_size_, boundary_);
    avail_min_.store(sw.avail_min);
    start_threshold_.store(sw.start_threshold);
    stop_threshold_.store(sw.stop_threshold);
    silence_threshold_ = sw.silence_threshold;
    silence_size_ = sw.silence_size;
    rt_.buffer_time_ns = static_cast<int64_t>(buffer_size_ * 1000000000ULL / chosen.rate());
    force_state(PcmState::Setup);
    return prepare_locked();  // alsa-lib's snd_pcm_hw_params prepares too
}

Result<void> PcmRuntime::hw_free() {
    DYNPCM_ASSERT_THREAD(control);
    std::unique_lock lk(app_mutex_);
    if (closed_.load()) return Error(-EBADFD, fmt::format("pcm '{}': hw_free after close", opt_.name));
    const PcmState s = state();
    if (s == PcmState::Open) return ok();
    if (s != PcmState::Setup && s != PcmState::Prepared) return bad_state("hw_free", s);
    sync_rt();
    if (auto r = hw_.hw_free(); !r)
        return Error(r.code(), fmt::format("pcm '{}': hw_free: {}", opt_.name, r.error().message()));
    force_state(PcmState::Open);
    detach_shared();
    return ok();
}

SwParams PcmRuntime::sw_params_current() const {
    SwParams p;
    p.avail_min = avail_min_.load();
    p.start_threshold = start_threshold_.load();
    p.stop_threshold = stop_threshold_.load();
    std::lock_guard lk(app_mutex_);
    p.silence_threshold = silence_threshold_;
    p.silence_size = silence_size_;
    p.boundary = boundary_;
    return p;
}

Result<void> PcmRuntime::sw_params(const SwParams& p) {
    DYNPCM_ASSERT_THREAD(control);
    std::unique_lock lk(app_mutex_);
    if (auto r = check_configured("sw_params"); !r) return r;
    if (auto r = validate_sw_params(p, buffer_size_, boundary_); !r)
        return Error(r.code(), fmt::format("pcm '{}': {}", opt_.name, r.error().message()));
    avail_min_.store(p.avail_min);
    start_threshold_.store(p.start_threshold);
    stop_threshold_.store(p.stop_threshold);
    silence_threshold_ = p.silence_threshold;
    silence_size_ = p.silence_size;
    // snd_pcm_sw_params: on a running stream the new thresholds apply at once
    // (snd_pcm_update_state): a stop threshold already reached is an xrun, a drain may be done.
    const PcmState s = state();
    if (hw_running(s)) {
        const Frames avail = avail_update();
        const bool drained = s == PcmState::Draining && avail >= buffer_size_ + hw_.delay();
        const bool xrun = s == PcmState::Running && avail >= p.stop_threshold;
        if ((drained || xrun) && set_state(s, drained ? PcmState::Setup : PcmState::Xrun)) {
            if (xrun) xruns_.fetch_add(1, std::memory_order_relaxed);
            sync_rt();
            trigger(TriggerCmd::Stop);
        }
    }
    wake_.wake_all();  // a lower avail_min may satisfy a sleeper now
    return ok();
}

// ------------------------------------------------------------------------------------------
// state operations

Result<void> PcmRuntime::prepare() {
    DYNPCM_ASSERT_THREAD(control);
    std::unique_lock lk(app_mutex_);
    if (auto r = check_configured("prepare"); !r) return r;
    return prepare_locked();
}

Result<void> PcmRuntime::prepare_locked() {
    PcmState s = state();
    if (hw_running(s))
        return Error(-EBUSY, fmt::format("pcm '{}': prepare while {}: stop or drop it first", opt_.name,
                                         pcm_state_name(s)));
    if (s == PcmState::Paused)
        if (auto r = pause_locked(false); !r) return r;
    if (s == PcmState::Paused || s == PcmState::Suspended)
        if (auto r = stop_locked(PcmState::Setup); !r) return r;
    // The interrupt path publishes XRUN (or SETUP at drain end) before it stops the hardware:
    // let it finish before the hardware is prepared (the kernel's snd_pcm_sync_stop).
    sync_rt();
    if (auto r = hw_.prepare(); !r)
        return Error(r.code(), fmt::format("pcm '{}': prepare: {}", opt_.name, r.error().message()));
    // snd_pcm_do_reset + post_reset: both pointers restart at 0.
    hw_ptr_.store(0, std::memory_order_release);
    appl_ptr_.store(0, std::memory_order_release);
    rt_.hw_ptr_base = 0;
    rt_.hw_ptr_interrupt = 0;
    tstamp_ns_.store(hw_.now_ns(), std::memory_order_relaxed);
    publish_pointer(0);
    force_state(PcmState::Prepared);
    wake_.wake_all();
    return ok();
}

Result<void> PcmRuntime::start() {
    DYNPCM_ASSERT_THREAD(control);
    std::unique_lock lk(app_mutex_);
    if (auto r = check_configured("start"); !r) return r;
    return start_locked();
}

Result<void> PcmRuntime::start_locked() {
    const PcmState s = state();
    if (s != PcmState::Prepared) return bad_state("start", s);
    take_shared_appl();  // what a client in another process wrote before it asked for the start
    if (stream_ == Stream::Playback && !playback_has_data())
        return Error(-EPIPE, fmt::format("pcm '{}': start with an empty playback buffer", opt_.name));
    const Frames hw = hw_ptr_.load(std::memory_order_relaxed);
    rt_.hw_ptr_interrupt = hw - hw % period_size_;
    rt_.hw_ptr_time_ns = hw_.now_ns();
    tstamp_ns_.store(rt_.hw_ptr_time_ns, std::memory_order_relaxed);
    // RUNNING is published before the trigger, so the first interrupt cannot be ignored.
    set_state(PcmState::Prepared, PcmState::Running);
    if (const int rc = trigger(TriggerCmd::Start); rc < 0) {
        set_state(PcmState::Running, PcmState::Prepared);
        sync_rt();
        return Error(rc, fmt::format("pcm '{}': the hardware refused START", opt_.name));
    }
    return ok();
}

Result<void> PcmRuntime::stop() {
    DYNPCM_ASSERT_THREAD(control);
    std::unique_lock lk(app_mutex_);
    if (auto r = check_configured("stop"); !r) return r;
    return stop_locked(PcmState::Setup);
}

Result<void> PcmRuntime::stop_locked(PcmState to) {
    for (;;) {
        const PcmState s = state();
        if (s == PcmState::Open || s == PcmState::Disconnected) return bad_state("stop", s);
        if (s == to) return ok();
        // The interrupt path may move RUNNING->XRUN or DRAINING->SETUP under us: retry then.
        if (!set_state(s, to)) continue;
        if (is_active(s)) {
            sync_rt();
            trigger(TriggerCmd::Stop);
        }
        wake_.wake_all();
        return ok();
    }
}

Result<void> PcmRuntime::drop() {
    DYNPCM_ASSERT_THREAD(control);
    std::unique_lock lk(app_mutex_);
    if (auto r = check_configured("drop"); !r) return r;
    if (state() == PcmState::Paused && opt_.info.can_pause)
        if (auto r = pause_locked(false); !r) return r;
    return stop_locked(PcmState::Setup);
}

Result<void> PcmRuntime::pause(bool enable) {
    DYNPCM_ASSERT_THREAD(control);
    std::unique_lock lk(app_mutex_);
    if (auto r = check_configured(enable ? "pause" : "pause release"); !r) return r;
    return pause_locked(enable);
}

Result<void> PcmRuntime::pause_locked(bool enable) {
    if (!opt_.info.can_pause)
        return Error(-ENOSYS, fmt::format("pcm '{}': the hardware cannot pause", opt_.name));
    if (enable) {
        if (!set_state(PcmState::Running, PcmState::Paused)) return bad_state("pause", state());
        sync_rt();
        update_hw_ptr(false, PcmState::Paused);  // snd_pcm_do_pause syncs the pointer on push
        if (state() != PcmState::Paused) return bad_state("pause", state());
        if (const int rc = trigger(TriggerCmd::PausePush); rc < 0) {
            set_state(PcmState::Paused, PcmState::Running);
            return Error(rc, fmt::format("pcm '{}': the hardware refused PAUSE_PUSH", opt_.name));
        }
    } else {
        if (state() != PcmState::Paused) return bad_state("pause release", state());
        rt_.hw_ptr_time_ns = hw_.now_ns();  // no time passed for the pointer while paused
        tstamp_ns_.store(rt_.hw_ptr_time_ns, std::memory_order_relaxed);
        take_shared_appl();
        // RUNNING before the trigger, as in start(): an interrupt the hardware raises as soon
        // as it runs again must not be ignored.
        if (!set_state(PcmState::Paused, PcmState::Running)) return bad_state("pause release", state());
        if (const int rc = trigger(TriggerCmd::PauseRelease); rc < 0) {
            // The interrupt path may have stopped the stream meanwhile (device gone): say so.
            if (!set_state(PcmState::Running, PcmState::Paused)) return bad_state("pause release", state());
            sync_rt();
            return Error(rc, fmt::format("pcm '{}': the hardware refused PAUSE_RELEASE", opt_.name));
        }
    }
    wake_.wake_all();
    return ok();
}

Result<void> PcmRuntime::drain() {
    DYNPCM_ASSERT_THREAD(control);
    CallerCount caller(blocked_callers_, callers_left_);
    std::unique_lock lk(app_mutex_);
    if (auto r = check_configured("drain"); !r) return r;
    PcmState s = state();
    if (s == PcmState::Suspended) return bad_state("drain", s);
    if (s == PcmState::Paused)
        if (auto r = pause_locked(false); !r) return r;

    if (stream_ == Stream::Capture) {
        // Capture: stop the hardware now; reads then return what is left, then SETUP.
        for (;;) {
            s = state();
            if (s == PcmState::Running) {
                const PcmState to = avail_update() > 0 ? PcmState::Draining : PcmState::Setup;
                if (!set_state(s, to)) continue;
                sync_rt();
                trigger(TriggerCmd::Stop);
            } else if (s == PcmState::Prepared || s == PcmState::Xrun) {
                force_state(PcmState::Setup);
            }
            wake_.wake_all();
            return ok();
        }
    }

    // Playback: snd_pcm_do_drain_init.
    s = state();
    if (s == PcmState::Prepared) {
        take_shared_appl();  // a client in another process wrote less than its start threshold
        if (avail_update() >= buffer_size_) {
            force_state(PcmState::Setup);
            return ok();
        }
        if (auto r = start_locked(); !r) return r;
        s = PcmState::Running;
    }
    if (s == PcmState::Running && !set_state(PcmState::Running, PcmState::Draining)) s = state();
    if (s == PcmState::Xrun) {
        force_state(PcmState::Setup);
        return ok();
    }
    if (state() != PcmState::Draining) return ok();  // SETUP already: nothing to play
    if (opt_.info.drain_trigger) trigger(TriggerCmd::Drain);

    const auto timeout = opt_.timeout;
    auto last_progress = std::chrono::steady_clock::now();
    Frames last_hw = hw_ptr();
    while (state() == PcmState::Draining) {
        if (nonblock_.load())
            return Error(-EAGAIN, fmt::format("pcm '{}': draining (non-blocking)", opt_.name));
        const uint32_t seen = wake_.seq();
        if (state() != PcmState::Draining || closed_.load()) break;
        if (hw_ptr() != last_hw) {
            last_hw = hw_ptr();
            last_progress = std::chrono::steady_clock::now();
        } else if (std::chrono::steady_clock::now() - last_progress > timeout) {
            return Error(-EIO, fmt::format("pcm '{}': drain made no progress for {} ms (DMA or IRQ trouble?)",
                                           opt_.name, timeout.count()));
        }
        lk.unlock();
        wake_.wait(seen, std::chrono::milliseconds(50));
        lk.lock();
    }
    if (closed_.load()) return Error(-EBADFD, fmt::format("pcm '{}': closed while draining", opt_.name));
    return ok();
}

Result<void> PcmRuntime::suspend() {
    DYNPCM_ASSERT_THREAD(control);
    std::unique_lock lk(app_mutex_);
    if (closed_.load()) return Error(-EBADFD, fmt::format("pcm '{}': suspend after close", opt_.name));
    for (;;) {
        const PcmState s = state();
        switch (s) {
            case PcmState::Open:
            case PcmState::Setup:
            case PcmState::Disconnected:
            case PcmState::Suspended:
                // snd_pcm_pre_suspend: nothing to suspend.
                return Error(-EBUSY, fmt::format("pcm '{}': nothing to suspend in state {}", opt_.name,
                                                 pcm_state_name(s)));
            default: break;
        }
        if (!set_state(s, PcmState::Suspended)) continue;
        suspended_state_.store(s, std::memory_order_relaxed);
        if (hw_running(s)) {
            sync_rt();
            if (const int rc = trigger(TriggerCmd::Suspend); rc < 0) {
                // snd_pcm_do_suspend fails the suspend: the stream goes on as it was.
                set_state(PcmState::Suspended, s);
                return Error(rc, fmt::format("pcm '{}': the hardware refused SUSPEND", opt_.name));
            }
        }
        wake_.wake_all();
        return ok();
    }
}

Result<void> PcmRuntime::resume() {
    DYNPCM_ASSERT_THREAD(control);
    std::unique_lock lk(app_mutex_);
    if (auto r = check_configured("resume"); !r) return r;
    if (!opt_.info.can_resume)
        return Error(-ENOSYS, fmt::format("pcm '{}': the hardware cannot resume; prepare again", opt_.name));
    if (state() != PcmState::Suspended) return bad_state("resume", state());
    const PcmState prev = suspended_state_.load(std::memory_order_relaxed);
    if (!hw_running(prev)) {
        set_state(PcmState::Suspended, prev);
    } else {
        rt_.hw_ptr_time_ns = hw_.now_ns();
        tstamp_ns_.store(rt_.hw_ptr_time_ns, std::memory_order_relaxed);
        take_shared_appl();
        // The running state first, then the trigger (as start() and pause release do).
        if (!set_state(PcmState::Suspended, prev)) return bad_state("resume", state());
        if (const int rc = trigger(TriggerCmd::Resume); rc < 0) {
            set_state(prev, PcmState::Suspended);
            sync_rt();
            return Error(rc, fmt::format("pcm '{}': the hardware refused RESUME", opt_.name));
        }
    }
    wake_.wake_all();
    return ok();
}

void PcmRuntime::disconnect() {
    DYNPCM_ASSERT_THREAD(control);
    std::unique_lock lk(app_mutex_);
    if (closed_.load()) return;
    const PcmState from = state_.exchange(PcmState::Disconnected, std::memory_order_seq_cst);
    if (from == PcmState::Disconnected) return;
    report(PcmEvent::Kind::State, from, PcmState::Disconnected, 0);
    publish_state();
    wake_client(true);
    if (is_active(from)) {
        sync_rt();
        trigger(TriggerCmd::Stop);
    }
    wake_.wake_all();
}

void PcmRuntime::close() {
    DYNPCM_ASSERT_THREAD(control);
    {
        std::unique_lock lk(app_mutex_);
        if (closed_.load()) return;
        const PcmState s = state();
        if (is_active(s)) (void)stop_locked(PcmState::Setup);
        sync_rt();
        if (s != PcmState::Open && s != PcmState::Disconnected) (void)hw_.hw_free();
        closed_.store(true, std::memory_order_release);
        sync_rt();
        detach_shared();
    }
    // Blocked callers wake, see closed_, and return -EBADFD; wait until they are out.
    for (;;) {
        const uint32_t seen = callers_left_.seq();
        if (blocked_callers_.load(std::memory_order_acquire) == 0) break;
        wake_.wake_all();
        callers_left_.wait(seen, std::chrono::milliseconds(10));
    }
}

// ------------------------------------------------------------------------------------------
// status

Result<Frames> PcmRuntime::avail() const {
    if (closed_.load()) return Error(-EBADFD, fmt::format("pcm '{}': avail after close", opt_.name));
    const PcmState s = state();
    switch (s) {
        case PcmState::Prepared:
        case PcmState::Running:
        case PcmState::Draining:
        case PcmState::Paused: return avail_update();
        default: return bad_state("avail", s);
    }
}

Result<int64_t> PcmRuntime::delay() const {
    auto a = avail();
    if (!a) return std::move(a).error();
    const auto hw_delay = static_cast<int64_t>(hw_.delay());
    if (stream_ == Stream::Playback)
        return static_cast<int64_t>(buffer_size_) - static_cast<int64_t>(*a) + hw_delay;
    return static_cast<int64_t>(*a) + hw_delay;
}

PcmStatus PcmRuntime::status() const {
    // One snapshot, as snd_pcm_status64 takes under the stream lock: the stream's lock keeps
    // the application's side still, and the interrupt path's updates are told by their
    // sequence word (a seqlock it never waits on). A reader that keeps meeting an update waits
    // for the interrupt to end instead of spinning.
    std::lock_guard lk(app_mutex_);
    for (int attempt = 0;; ++attempt) {
        const uint32_t seq = snapshot_seq_.load(std::memory_order_acquire);
        if ((seq & 1U) == 0) {
            PcmStatus st;
            st.state = state();
            st.suspended_state = suspended_state_.load(std::memory_order_relaxed);
            st.hw_ptr = hw_ptr();
            st.appl_ptr = appl_ptr();
            st.avail = buffer_size_ ? avail_of(st.hw_ptr, st.appl_ptr) : 0;
            const bool counted = st.state == PcmState::Prepared || st.state == PcmState::Running ||
                                 st.state == PcmState::Draining || st.state == PcmState::Paused;
            if (counted && !closed_.load(std::memory_order_acquire)) {
                const auto hw_delay = static_cast<int64_t>(hw_.delay());
                st.delay = stream_ == Stream::Playback
                               ? static_cast<int64_t>(buffer_size_) - static_cast<int64_t>(st.avail) + hw_delay
                               : static_cast<int64_t>(st.avail) + hw_delay;
            }
            st.periods_elapsed = periods_elapsed_.load(std::memory_order_relaxed);
            st.xruns = xruns_.load(std::memory_order_relaxed);
            st.tstamp_ns = tstamp_ns_.load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (snapshot_seq_.load(std::memory_order_relaxed) == seq) return st;
        }
        if (attempt >= 8) sync_rt();
    }
}

// ------------------------------------------------------------------------------------------
// transfers

Result<Frames> PcmRuntime::writei(const void* buffer, Frames frames) {
    const void* bufs[1] = {buffer};
    return transfer(Xfer::Interleaved, true, bufs, nullptr, frames);
}
Result<Frames> PcmRuntime::writen(const void* const* channel_buffers, Frames frames) {
    return transfer(Xfer::NonInterleaved, true, channel_buffers, nullptr, frames);
}
Result<Frames> PcmRuntime::readi(void* buffer, Frames frames) {
    void* bufs[1] = {buffer};
    return transfer(Xfer::Interleaved, false, nullptr, bufs, frames);
}
Result<Frames> PcmRuntime::readn(void* const* channel_buffers, Frames frames) {
    return transfer(Xfer::NonInterleaved, false, nullptr, channel_buffers, frames);
}

Result<void> PcmRuntime::transfer_state_error(PcmState s, const char* op) const {
    switch (s) {
        case PcmState::Prepared:
        case PcmState::Running:
        case PcmState::Paused: return ok();
        case PcmState::Draining:
            if (stream_ == Stream::Capture) return ok();
            return bad_state(op, s);
        default: return bad_state(op, s);
    }
}

Result<Frames> PcmRuntime::wait_for_avail(std::unique_lock<std::mutex>& lock, Frames want, const char* op) {
    auto last_progress = std::chrono::steady_clock::now();
    Frames last_hw = hw_ptr();
    for (;;) {
        const uint32_t seen = wake_.seq();
        if (closed_.load()) return Error(-EBADFD, fmt::format("pcm '{}': closed while blocked in {}", opt_.name, op));
        const PcmState s = state();
        if (s == PcmState::Draining && stream_ == Stream::Capture) return avail_update();
        // The kernel's wait_for_avail: a playback drain that began while we waited is -EPIPE
        // (a transfer that starts in DRAINING is -EBADFD).
        if (s == PcmState::Draining)
            return Error(-EPIPE, fmt::format("pcm '{}': a drain began while {} waited", opt_.name, op));
        if (auto r = transfer_state_error(s, op); !r) return std::move(r).error();
        const Frames a = avail_update();
        if (a >= want) return a;
        if (hw_ptr() != last_hw || s == PcmState::Paused) {
            last_hw = hw_ptr();
            last_progress = std::chrono::steady_clock::now();
        } else if (std::chrono::steady_clock::now() - last_progress > opt_.timeout) {
            return Error(-EIO, fmt::format("pcm '{}': {} waited {} ms with no progress (DMA or IRQ trouble?)",
                                           opt_.name, op, opt_.timeout.count()));
        }
        lock.unlock();
        wake_.wait(seen, std::chrono::milliseconds(50));
        lock.lock();
    }
}

Result<Frames> PcmRuntime::transfer(Xfer kind, bool write, const void* const* in, void* const* out, Frames frames) {
    DYNPCM_ASSERT_THREAD(control);
    const bool playback = stream_ == Stream::Playback;
    const char* op = write ? (kind == Xfer::Interleaved ? "writei" : "writen")
                           : (kind == Xfer::Interleaved ? "readi" : "readn");
    if (write != playback)
        return Error(-EINVAL, fmt::format("pcm '{}': {} on a {} stream", opt_.name, op, stream_name(stream_)));
    if (opt_.shared_ring)
        return Error(-EINVAL, fmt::format("pcm '{}': {} on a shared-ring stream: its application writes the ring "
                                          "in another process", opt_.name, op));
    CallerCount caller(blocked_callers_, callers_left_);
    std::unique_lock lk(app_mutex_);
    if (auto r = check_configured(op); !r) return std::move(r).error();
    const Access want_access = kind == Xfer::Interleaved ? Access::RwInterleaved : Access::RwNonInterleaved;
    if (params_.access() != want_access)
        return Error(-EINVAL, fmt::format("pcm '{}': {} needs {} access; the stream is configured for {}",
                                          opt_.name, op, access_name(want_access), access_name(params_.access())));
    if (frames == 0) return Frames{0};
    const void* const* bufs = playback ? in : reinterpret_cast<const void* const*>(out);
    if (bufs == nullptr) return Error(-EFAULT, fmt::format("pcm '{}': {} with a null buffer", opt_.name, op));
    const unsigned nbufs = kind == Xfer::Interleaved ? 1U : channels_;
    for (unsigned c = 0; c < nbufs; ++c)
        if (bufs[c] == nullptr)
            return Error(-EFAULT, fmt::format("pcm '{}': {} with a null buffer (channel {})", opt_.name, op, c));
    if (auto r = transfer_state_error(state(), op); !r) return std::move(r).error();

    if (!playback && state() == PcmState::Prepared && frames >= start_threshold_.load())
        if (auto r = start_locked(); !r) return std::move(r).error();

    Frames done = 0;
    while (done < frames) {
        Frames a = avail_update();
        if (a == 0) {
            if (!playback && state() == PcmState::Draining) {
                (void)stop_locked(PcmState::Setup);
                break;
            }
            if (nonblock_.load()) {
                if (done == 0) return Error(-EAGAIN, fmt::format("pcm '{}': {} would block", opt_.name, op));
                break;
            }
            auto w = wait_for_avail(lk, std::min(frames - done, avail_min_.load()), op);
            if (!w) {
                if (done > 0) break;
                return std::move(w).error();
            }
            continue;
        }
        if (auto r = transfer_state_error(state(), op); !r) {
            if (done > 0) break;
            return std::move(r).error();
        }
        const Frames appl = appl_ptr_.load(std::memory_order_relaxed);
        const Frames ofs = appl % buffer_size_;
        const Frames n = std::min({frames - done, a, buffer_size_ - ofs});
        std::byte* ring = ring_base_ + ofs * frame_bytes_;
        if (kind == Xfer::Interleaved) {
            const size_t bytes = static_cast<size_t>(n) * frame_bytes_;
            const size_t skip = static_cast<size_t>(done) * frame_bytes_;
            if (playback) std::memcpy(ring, static_cast<const std::byte*>(in[0]) + skip, bytes);
            else std::memcpy(static_cast<std::byte*>(out[0]) + skip, ring, bytes);
        } else {
            for (unsigned c = 0; c < channels_; ++c)
                for (Frames f = 0; f < n; ++f) {
                    std::byte* slot = ring + f * frame_bytes_ + c * sample_bytes_;
                    const size_t at = static_cast<size_t>(done + f) * sample_bytes_;
                    if (playback) std::memcpy(slot, static_cast<const std::byte*>(in[c]) + at, sample_bytes_);
                    else std::memcpy(static_cast<std::byte*>(out[c]) + at, slot, sample_bytes_);
                }
        }
        Frames next = appl + n;
        if (next >= boundary_) next -= boundary_;
        appl_ptr_.store(next, std::memory_order_release);
        done += n;
        if (playback && state() == PcmState::Prepared &&
            buffer_size_ - avail_update() >= start_threshold_.load())
            if (auto r = start_locked(); !r) break;
    }
    return done;
}

Result<bool> PcmRuntime::wait(std::chrono::milliseconds timeout) {
    DYNPCM_ASSERT_THREAD(control);
    CallerCount caller(blocked_callers_, callers_left_);
    std::unique_lock lk(app_mutex_);
    if (auto r = check_configured("wait"); !r) return std::move(r).error();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const uint32_t seen = wake_.seq();
        if (closed_.load()) return Error(-EBADFD, fmt::format("pcm '{}': closed while waiting", opt_.name));
        const PcmState s = state();
        if (s != PcmState::Prepared && s != PcmState::Running && s != PcmState::Paused && s != PcmState::Draining)
            return bad_state("wait", s);
        if (avail_update() >= avail_min_.load()) return true;
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return false;
        lk.unlock();
        wake_.wait(seen, deadline - now);
        lk.lock();
    }
}

// ------------------------------------------------------------------------------------------
// the interrupt path

void PcmRuntime::period_elapsed_rt() noexcept {
    DYNPCM_ASSERT_THREAD(rt);
    {
        // The section is what sync_rt() waits out: the state is read inside it.
        RtSection section;
        const PcmState s = state_.load(std::memory_order_seq_cst);
        if (hw_running(s)) {
            SnapshotWrite w(snapshot_seq_);
            periods_elapsed_.fetch_add(1, std::memory_order_relaxed);
            take_shared_appl();
            update_hw_ptr(true, s);
            if (SharedRingHeader* h = shared_.load(std::memory_order_acquire)) {
                h->engine.delay_extra.store(static_cast<int64_t>(hw_.delay()), std::memory_order_relaxed);
                h->engine.xruns.store(xruns_.load(std::memory_order_relaxed), std::memory_order_relaxed);
            }
            wake_client(false);
        }
    }
    wake_.wake_all();
}

void PcmRuntime::hw_error_rt(bool gone) noexcept {
    DYNPCM_ASSERT_THREAD(rt);
    {
        RtSection section;
        SnapshotWrite w(snapshot_seq_);
        PcmState s = state_.load(std::memory_order_seq_cst);
        if (gone) {
            while (s != PcmState::Disconnected && !state_.compare_exchange_weak(s, PcmState::Disconnected)) {
            }
            if (s != PcmState::Disconnected) {
                report(PcmEvent::Kind::State, s, PcmState::Disconnected, 0);
                publish_state();
                wake_client(true);
                if (is_active(s)) trigger_rt(TriggerCmd::Stop);
            }
        } else if (hw_running(s) && set_state(s, PcmState::Xrun)) {
            xruns_.fetch_add(1, std::memory_order_relaxed);
            trigger_rt(TriggerCmd::Stop);
        }
    }
    wake_.wake_all();
}

void PcmRuntime::update_hw_ptr(bool in_interrupt, PcmState expected) noexcept {
    Frames pos = hw_.pointer();
    const int64_t now = hw_.now_ns();
    if (pos == kPosXrun) {
        if (set_state(expected, PcmState::Xrun)) {
            xruns_.fetch_add(1, std::memory_order_relaxed);
            in_interrupt ? trigger_rt(TriggerCmd::Stop) : trigger(TriggerCmd::Stop);
        }
        return;
    }
    if (pos >= buffer_size_) {
        report(PcmEvent::Kind::BadPosition, expected, expected, static_cast<int64_t>(pos));
        pos = 0;
    }
    const Frames old_hw = hw_ptr_.load(std::memory_order_relaxed);
    Frames base = rt_.hw_ptr_base;
    Frames new_hw = base + pos;
    auto next_base = [&] {
        base += buffer_size_;
        if (base >= boundary_) base = 0;
        new_hw = base + pos;
    };
    bool assumed_wrap = false;
    if (in_interrupt && rt_.hw_ptr_interrupt + period_size_ > new_hw) {
        // Less than a period since the last interrupt: a doubly acknowledged interrupt, unless
        // more than half a buffer of time passed, in which case a whole buffer wrapped.
        if (now - rt_.hw_ptr_time_ns > rt_.buffer_time_ns / 2) {
            next_base();
            assumed_wrap = true;
        }
    }
    if (!assumed_wrap && new_hw < old_hw) next_base();

    const Frames delta = new_hw >= old_hw ? new_hw - old_hw : new_hw + boundary_ - old_hw;
    if (delta >= buffer_size_ + period_size_) {
        report(PcmEvent::Kind::UnexpectedHwPtr, expected, expected, static_cast<int64_t>(delta));
        return;  // "Unexpected hw_ptr": the kernel ignores this update
    }
    if (in_interrupt && delta > period_size_ + period_size_ / 2)
        report(PcmEvent::Kind::LostInterrupts, expected, expected, static_cast<int64_t>(delta));
    if (new_hw == old_hw) {
        rt_.hw_ptr_time_ns = now;
        tstamp_ns_.store(now, std::memory_order_relaxed);
        return;
    }
    if (in_interrupt) {
        Frames d = new_hw >= rt_.hw_ptr_interrupt ? new_hw - rt_.hw_ptr_interrupt
                                                  : new_hw + boundary_ - rt_.hw_ptr_interrupt;
        d -= d % period_size_;
        rt_.hw_ptr_interrupt += d;
        if (rt_.hw_ptr_interrupt >= boundary_) rt_.hw_ptr_interrupt -= boundary_;
    }
    rt_.hw_ptr_base = base;
    rt_.hw_ptr_time_ns = now;
    tstamp_ns_.store(now, std::memory_order_relaxed);
    hw_ptr_.store(new_hw, std::memory_order_release);
    publish_pointer(new_hw);
    update_state(avail_of(new_hw, appl_ptr_.load(std::memory_order_acquire)), expected, in_interrupt);
}

void PcmRuntime::update_state(Frames avail, PcmState expected, bool in_interrupt) noexcept {
    auto stop = [&] { in_interrupt ? trigger_rt(TriggerCmd::Stop) : trigger(TriggerCmd::Stop); };
    if (expected == PcmState::Draining) {
        // Drained once the ring is empty and, beyond the kernel's rule, the frames queued past
        // it (hardware FIFOs; a DPCM FE's port FIFOs) have played too: the DMA has moved that
        // much silence past the last frame. Stopping at the empty ring would cut them off.
        const Frames queued = stream_ == Stream::Playback ? hw_.delay() : 0;
        if (avail >= buffer_size_ + queued && set_state(PcmState::Draining, PcmState::Setup))
            stop();  // snd_pcm_drain_done
        return;
    }
    if (avail >= stop_threshold_.load(std::memory_order_relaxed) && set_state(expected, PcmState::Xrun)) {
        xruns_.fetch_add(1, std::memory_order_relaxed);
        stop();
    }
}

void PcmRuntime::dma_read_rt(Frames offset, Frames frames, void* dst) noexcept {
    auto* out = static_cast<std::byte*>(dst);
    const uint8_t silence = buffer_size_ ? format_info(params_.format()).silence_byte : 0;
    if (buffer_size_ == 0 || frame_bytes_ == 0) return;
    const Frames appl = take_shared_appl();
    const Frames hw = hw_ptr_.load(std::memory_order_acquire);
    if (!ring_base_) {
        std::memset(out, silence, frames * frame_bytes_);
        return;
    }
    // Frames queued for the hardware, signed: negative when it already ran past the
    // application (possible only with stop_threshold >= boundary).
    int64_t queued = static_cast<int64_t>(appl) - static_cast<int64_t>(hw);
    if (queued > static_cast<int64_t>(boundary_ / 2)) queued -= static_cast<int64_t>(boundary_);
    if (queued < -static_cast<int64_t>(boundary_ / 2)) queued += static_cast<int64_t>(boundary_);
    offset %= buffer_size_;
    const Frames ahead = (offset + buffer_size_ - hw % buffer_size_) % buffer_size_;
    const int64_t valid_signed = std::clamp<int64_t>(queued - static_cast<int64_t>(ahead), 0, static_cast<int64_t>(frames));
    const auto valid = static_cast<Frames>(valid_signed);
    Frames done = 0;
    while (done < valid) {
        const Frames at = (offset + done) % buffer_size_;
        const Frames n = std::min(valid - done, buffer_size_ - at);
        std::memcpy(out + done * frame_bytes_, ring_base_ + at * frame_bytes_, n * frame_bytes_);
        done += n;
    }
    std::memset(out + valid * frame_bytes_, silence, (frames - valid) * frame_bytes_);
}

void PcmRuntime::dma_write_rt(Frames offset, Frames frames, const void* src) noexcept {
    if (buffer_size_ == 0 || frame_bytes_ == 0 || !ring_base_) return;
    const auto* in = static_cast<const std::byte*>(src);
    const Frames appl = take_shared_appl();
    const Frames hw = hw_ptr_.load(std::memory_order_acquire);
    const Frames unread = std::min(avail_of(hw, appl), buffer_size_);
    offset %= buffer_size_;
    const Frames ahead = (offset + buffer_size_ - hw % buffer_size_) % buffer_size_;
    // Room before the write would clobber frames the application has not read.
    const int64_t room = static_cast<int64_t>(buffer_size_) - static_cast<int64_t>(unread) - static_cast<int64_t>(ahead);
    const auto allowed = static_cast<Frames>(std::clamp<int64_t>(room, 0, static_cast<int64_t>(frames)));
    Frames done = 0;
    while (done < allowed) {
        const Frames at = (offset + done) % buffer_size_;
        const Frames n = std::min(allowed - done, buffer_size_ - at);
        std::memcpy(ring_base_ + at * frame_bytes_, in + done * frame_bytes_, n * frame_bytes_);
        done += n;
    }
}

}  // namespace dynpcm

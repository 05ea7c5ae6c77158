// The alsa backend: a BE on a real ALSA PCM through alsa-lib, opened non-blocking and driven
// with interleaved read/write transfers at the engine's clock.

#include "dynpcm/backend/alsa_backend.h"

#include <alsa/asoundlib.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "backend/backends.h"
#include "core/test_point.h"
#include "dynpcm/core/thread_role.h"
#include "dynpcm/core/wait_word.h"
#include "dynpcm/rt/spsc_ring.h"

namespace dynpcm {

namespace {

constexpr double kMinPeriods = 2;
constexpr double kMaxPeriods = 64;
constexpr double kDefaultPeriods = 4;

/// dynpcm's formats keep alsa-lib's numbering; the switch keeps the mapping explicit and
/// refuses a value alsa-lib would not know.
snd_pcm_format_t to_alsa(Format f) noexcept {
    switch (f) {
        case Format::S8: return SND_PCM_FORMAT_S8;
        case Format::U8: return SND_PCM_FORMAT_U8;
        case Format::S16_LE: return SND_PCM_FORMAT_S16_LE;
        case Format::S16_BE: return SND_PCM_FORMAT_S16_BE;
        case Format::S24_LE: return SND_PCM_FORMAT_S24_LE;
        case Format::S24_BE: return SND_PCM_FORMAT_S24_BE;
        case Format::S32_LE: return SND_PCM_FORMAT_S32_LE;
        case Format::S32_BE: return SND_PCM_FORMAT_S32_BE;
        case Format::FLOAT_LE: return SND_PCM_FORMAT_FLOAT_LE;
        case Format::FLOAT64_LE: return SND_PCM_FORMAT_FLOAT64_LE;
        case Format::S24_3LE: return SND_PCM_FORMAT_S24_3LE;
        case Format::S24_3BE: return SND_PCM_FORMAT_S24_3BE;
    }
    return SND_PCM_FORMAT_UNKNOWN;
}

/// The errors that mean the device is gone or unusable until it is opened again.
bool device_gone(long err) noexcept { return err == -ENODEV || err == -EBADFD || err == -EIO; }

struct HwParamsDeleter {
    void operator()(snd_pcm_hw_params_t* p) const noexcept { snd_pcm_hw_params_free(p); }
};
struct SwParamsDeleter {
    void operator()(snd_pcm_sw_params_t* p) const noexcept { snd_pcm_sw_params_free(p); }
};
using HwParamsPtr = std::unique_ptr<snd_pcm_hw_params_t, HwParamsDeleter>;
using SwParamsPtr = std::unique_ptr<snd_pcm_sw_params_t, SwParamsDeleter>;

std::string alsa_error(long err) { return snd_strerror(static_cast<int>(err)); }

}  // namespace

// ---- options ------------------------------------------------------------------------------

Result<AlsaBackend::Options> AlsaBackend::parse(const BackendBinding& b) {
    using namespace backend_detail;
    Options o;
    o.device = option_or(b, "device", o.device);
    if (o.device.empty())
        return Error(-EINVAL, "backend 'alsa': option device: '' is empty; give an ALSA PCM name "
                              "(hw:0,0, plughw:0,0, default, ...)");
    auto periods = parse_number(b, "periods", kDefaultPeriods, kMinPeriods, kMaxPeriods);
    if (!periods) return std::move(periods).error();
    if (*periods != std::floor(*periods))
        return Error(-EINVAL, fmt::format("backend 'alsa': option periods: '{}' is not a whole number",
                                          option_or(b, "periods", "")));
    o.periods = static_cast<uint32_t>(*periods);
    const std::string io = option_or(b, "io", "auto");
    if (io == "auto") o.io = Io::Auto;
    else if (io == "direct") o.io = Io::Direct;
    else if (io == "thread") o.io = Io::Thread;
    else return Error(-EINVAL, fmt::format("backend 'alsa': option io: '{}' is not auto, direct or thread", io));
    return o;
}

namespace backend_detail {
Result<void> check_alsa(const BackendBinding& b) {
    auto o = AlsaBackend::parse(b);
    if (!o) return std::move(o).error();
    return ok();
}
Result<std::unique_ptr<Backend>> make_alsa(const BackendBinding& b, const BackendContext& c) {
    auto o = AlsaBackend::parse(b);
    if (!o) return std::move(o).error();
    return std::unique_ptr<Backend>(std::make_unique<AlsaBackend>(c, std::move(*o)));
}
}  // namespace backend_detail

// ---- the device ---------------------------------------------------------------------------

struct AlsaBackend::Impl {
    BackendContext ctx;
    Options opt;

    // The device: the control thread's, and in real time the backend thread's, under `dev`.
    // The realtime thread reads these between a start and a stop, while nobody changes them.
    snd_pcm_t* pcm = nullptr;
    std::optional<HwParams> last;  // what hw_params applied: re-applied after a reopen
    snd_pcm_format_t format = SND_PCM_FORMAT_UNKNOWN;
    uint32_t channels = 0;
    Frames period = 0;             // the BE's period: frames per transfer
    Frames dev_period = 0;         // what the device chose
    Frames dev_buffer = 0;
    Frames prefill = 0;            // playback silence written at each start
    size_t frame_bytes = 0;
    bool can_pause = false;
    bool threaded = false;         // transfers through `ring` and the backend's thread
    std::vector<std::byte> silence;  // one BE period of silence in the device's format

    std::atomic<Frames> position{0};
    std::atomic<Frames> delay{0};
    std::atomic<uint64_t> xruns{0};
    std::atomic<uint64_t> lost{0};
    std::atomic<bool> failed{false};
    std::atomic<int> injected{0};

    // Real time (ctx.realtime): what the realtime thread may do with the device, and what it
    // asked the backend's thread to do. It only reads `io` and stores the requests.
    enum class Io : uint8_t { Stopped, Running, Recovering };
    std::atomic<Io> io{Io::Stopped};
    std::atomic<int> recover{0};   // the error a realtime transfer met, for the backend thread
    std::atomic<int> pending{0};   // a command the realtime thread asked for, + 1
    std::mutex dev;                // the device calls of control and the backend thread
    std::thread worker;
    std::atomic<bool> quit{false};
    WaitWord work;
    std::unique_ptr<SpscRing<std::byte>> ring;  // threaded transfers (BE frames, bytes)
    std::vector<std::byte> io_buf;              // the backend thread's transfer buffer
    size_t io_at = 0, io_len = 0;               // playback: popped from the ring, not yet written

    Impl(BackendContext c, Options o) : ctx(std::move(c)), opt(std::move(o)) {}
    ~Impl() { stop_worker(); }

    bool playback() const noexcept { return ctx.dir == Stream::Playback; }
    snd_pcm_stream_t alsa_stream() const noexcept {
        return playback() ? SND_PCM_STREAM_PLAYBACK : SND_PCM_STREAM_CAPTURE;
    }
    std::string dev_name() const { return fmt::format("ALSA device '{}'", opt.device); }

    int open_pcm() noexcept { return snd_pcm_open(&pcm, opt.device.c_str(), alsa_stream(), SND_PCM_NONBLOCK); }
    void close_pcm() noexcept {
        if (pcm) snd_pcm_close(pcm);
        pcm = nullptr;
    }
    void forget_setup() noexcept {
        last.reset();
        dev_period = dev_buffer = prefill = period = 0;
        can_pause = false;
    }

    // The message of a failed configuration step, without the BE's name.
    Error refuse(long err, std::string what) const {
        return Error(static_cast<int>(err), fmt::format("{} {}: {}", dev_name(), what, alsa_error(err)));
    }
    Result<void> apply(const HwParams& p);
    Result<void> reopen();

    // ---- the device's commands: control, or the backend thread in real time. May block.
    int device_command(TriggerCmd cmd) noexcept;
    int prefill_silence() noexcept;
    int restart() noexcept;
    void recover_device(int err) noexcept;
    void flush_ring() noexcept;
    void reset_ring() noexcept;
    enum class Moved : uint8_t { Some, Idle, Blocked };
    Moved move_data() noexcept;  // the backend thread's share of a threaded transfer
    void note_delay() noexcept;
    void start_worker();
    void stop_worker() noexcept;
    void run_worker() noexcept;

    // ---- realtime side: no allocation, no blocking, no formatting.
    long take_injected() noexcept;
    int64_t transfer_error(long err) noexcept;
    int64_t write_ring(const std::byte* data, Frames frames) noexcept;
    int64_t read_ring(std::byte* data, Frames frames) noexcept;
};

Result<void> AlsaBackend::Impl::apply(const HwParams& p) {
    const snd_pcm_format_t fmt_alsa = to_alsa(p.format());
    if (fmt_alsa == SND_PCM_FORMAT_UNKNOWN || p.period_size() == 0 || p.channels() == 0 || p.rate() == 0)
        return Error(-EINVAL, fmt::format("{}: the BE's configuration is not chosen: {}", dev_name(), p.summary()));

    snd_pcm_hw_params_t* raw_hw = nullptr;
    if (const int e = snd_pcm_hw_params_malloc(&raw_hw); e < 0) return refuse(e, "has no room for hw_params");
    const HwParamsPtr hw(raw_hw);
    if (const int e = snd_pcm_hw_params_any(pcm, hw.get()); e < 0)
        return refuse(e, "cannot report its configurations");
    if (const int e = snd_pcm_hw_params_set_rate_resample(pcm, hw.get(), 0); e < 0)
        return refuse(e, "cannot turn off alsa-lib's resampling");
    if (const int e = snd_pcm_hw_params_set_access(pcm, hw.get(), SND_PCM_ACCESS_RW_INTERLEAVED); e < 0)
        return refuse(e, "does not offer interleaved read/write access");

    if (const int e = snd_pcm_hw_params_set_format(pcm, hw.get(), fmt_alsa); e < 0) {
        std::string offered;
        int count = 0;
        const Format* all = all_formats(&count);
        for (int i = 0; i < count; ++i)
            if (snd_pcm_hw_params_test_format(pcm, hw.get(), to_alsa(all[i])) == 0)
                offered += fmt::format("{}{}", offered.empty() ? "" : ", ", format_info(all[i]).name);
        return Error(e, fmt::format("{} does not support format {} (it offers: {})", dev_name(),
                                    format_info(p.format()).name, offered.empty() ? "none dynpcm knows" : offered));
    }
    if (const int e = snd_pcm_hw_params_set_channels(pcm, hw.get(), p.channels()); e < 0) {
        unsigned lo = 0, hi = 0;
        snd_pcm_hw_params_get_channels_min(hw.get(), &lo);
        snd_pcm_hw_params_get_channels_max(hw.get(), &hi);
        return Error(e, fmt::format("{} does not support {} channels (it offers {}..{})", dev_name(), p.channels(), lo, hi));
    }
    if (const int e = snd_pcm_hw_params_set_rate(pcm, hw.get(), p.rate(), 0); e < 0) {
        unsigned lo = 0, hi = 0;
        int lo_dir = 0, hi_dir = 0;
        snd_pcm_hw_params_get_rate_min(hw.get(), &lo, &lo_dir);
        snd_pcm_hw_params_get_rate_max(hw.get(), &hi, &hi_dir);
        if (lo_dir > 0) ++lo;  // an open bound: the next integer is the first rate offered
        if (hi_dir < 0 && hi > 0) --hi;
        return Error(e, fmt::format("{} cannot run at {} Hz without resampling (it offers {}..{} Hz)", dev_name(),
                                    p.rate(), lo, hi));
    }
    snd_pcm_uframes_t period_frames = p.period_size();
    int dir = 0;
    if (const int e = snd_pcm_hw_params_set_period_size_near(pcm, hw.get(), &period_frames, &dir); e < 0)
        return refuse(e, fmt::format("refuses a period near {} frames", p.period_size()));
    snd_pcm_uframes_t buffer_frames = period_frames * opt.periods;
    if (const int e = snd_pcm_hw_params_set_buffer_size_near(pcm, hw.get(), &buffer_frames); e < 0)
        return refuse(e, fmt::format("refuses a buffer near {} frames ({} periods of {})", period_frames * opt.periods,
                                     opt.periods, period_frames));
    if (const int e = snd_pcm_hw_params(pcm, hw.get()); e < 0)
        return refuse(e, fmt::format("refuses {} (device period {}, buffer {})", p.summary(), period_frames,
                                     buffer_frames));
    snd_pcm_hw_params_get_period_size(hw.get(), &period_frames, &dir);
    snd_pcm_hw_params_get_buffer_size(hw.get(), &buffer_frames);
    const bool pausable = snd_pcm_hw_params_can_pause(hw.get()) == 1;

    snd_pcm_sw_params_t* raw_sw = nullptr;
    if (const int e = snd_pcm_sw_params_malloc(&raw_sw); e < 0) return refuse(e, "has no room for sw_params");
    const SwParamsPtr sw(raw_sw);
    snd_pcm_uframes_t boundary = 0;
    if (const int e = snd_pcm_sw_params_current(pcm, sw.get()); e < 0) return refuse(e, "cannot report its sw_params");
    if (const int e = snd_pcm_sw_params_get_boundary(sw.get(), &boundary); e < 0)
        return refuse(e, "cannot report its boundary");
    // The backend starts the device itself (after the prefill): it never starts on its own.
    if (const int e = snd_pcm_sw_params_set_start_threshold(pcm, sw.get(), boundary); e < 0)
        return refuse(e, "refuses the start threshold");
    if (const int e = snd_pcm_sw_params_set_avail_min(pcm, sw.get(), period_frames); e < 0)
        return refuse(e, fmt::format("refuses avail_min {}", period_frames));
    if (const int e = snd_pcm_sw_params(pcm, sw.get()); e < 0) return refuse(e, "refuses its sw_params");

    format = fmt_alsa;
    channels = p.channels();
    period = p.period_size();
    dev_period = period_frames;
    dev_buffer = buffer_frames;
    can_pause = pausable;
    frame_bytes = dynpcm::frame_bytes(p.format(), p.channels());
    // Start with the buffer full but one BE period, so that the first transfer fits.
    prefill = dev_buffer > period ? std::min<Frames>(Frames{opt.periods - 1} * period, dev_buffer - period) : 0;
    silence.assign(static_cast<size_t>(period) * frame_bytes, std::byte{0});
    snd_pcm_format_set_silence(format, silence.data(), static_cast<unsigned>(period * channels));
    if (threaded) {
        // The realtime thread may run this far ahead of the device before periods are lost.
        const size_t bytes = static_cast<size_t>(std::max(dev_buffer, 2 * period)) * frame_bytes;
        ring = std::make_unique<SpscRing<std::byte>>(bytes);
        io_buf.assign(bytes, std::byte{0});
        io_at = io_len = 0;
    }
    last = p;
    return ok();
}

Result<void> AlsaBackend::Impl::reopen() {
    close_pcm();
    if (const int e = open_pcm(); e < 0) {
        pcm = nullptr;
        return Error(-ENODEV, fmt::format("BE '{}': {} is gone and cannot be opened again: {}", ctx.be_name, dev_name(),
                                          alsa_error(e)));
    }
    if (last) {
        const HwParams p = *last;
        if (auto r = apply(p); !r) {
            close_pcm();
            return Error(-ENODEV, fmt::format("BE '{}': {} was gone; opened again, it refuses its configuration: {}",
                                              ctx.be_name, dev_name(), r.error().message()));
        }
    }
    return ok();
}

int AlsaBackend::Impl::prefill_silence() noexcept {
    detail::test_point(test::Point::BackendDeviceCall, 0);
    Frames left = prefill;
    while (left > 0) {
        const Frames n = std::min(left, period);
        const snd_pcm_sframes_t w = snd_pcm_writei(pcm, silence.data(), static_cast<snd_pcm_uframes_t>(n));
        if (w == -EAGAIN || w == 0) break;  // already full: enough silence
        if (w < 0) return static_cast<int>(w);
        left -= static_cast<Frames>(w);
    }
    return 0;
}

// Back to PREPARED from wherever the device is (running, xrun, paused, suspended, stopped),
// then the start sequence: playback prefills silence, then snd_pcm_start.
int AlsaBackend::Impl::restart() noexcept {
    detail::test_point(test::Point::BackendDeviceCall, 0);
    const snd_pcm_state_t s = snd_pcm_state(pcm);
    if (s != SND_PCM_STATE_PREPARED) {
        if (s != SND_PCM_STATE_SETUP) (void)snd_pcm_drop(pcm);
        if (const int e = snd_pcm_prepare(pcm); e < 0) return e;
    }
    if (playback())
        if (const int e = prefill_silence(); e < 0) return e;
    return snd_pcm_start(pcm);
}

// After a device xrun (-EPIPE) or a suspend (-ESTRPIPE): resume or restart, and count it.
void AlsaBackend::Impl::recover_device(int err) noexcept {
    detail::test_point(test::Point::BackendDeviceCall, 0);
    int e = 0;
    if (err == -ESTRPIPE) {
        e = snd_pcm_resume(pcm);
        if (e == 0 && snd_pcm_state(pcm) != SND_PCM_STATE_RUNNING) e = -EBADFD;
    }
    if (err == -EPIPE || e < 0) e = restart();
    if (e < 0 && device_gone(e)) {
        failed.store(true, std::memory_order_release);
        io.store(Io::Stopped, std::memory_order_release);
        return;
    }
    io.store(Io::Running, std::memory_order_release);
}

void AlsaBackend::Impl::reset_ring() noexcept {
    if (!ring) return;
    // Nobody transfers now (the BE's clock is stopped, the backend thread waits for `dev`).
    while (ring->readable() > 0) ring->pop(io_buf.data(), io_buf.size());
    io_at = io_len = 0;
}

void AlsaBackend::Impl::flush_ring() noexcept {
    // What the backend still holds reaches the device before a stop drops the device's buffer.
    if (!ring || !playback()) return;
    while (move_data() == Moved::Some) {
    }
    reset_ring();
}

int AlsaBackend::Impl::device_command(TriggerCmd cmd) noexcept {
    detail::test_point(test::Point::BackendDeviceCall, 0);
    const bool gone = failed.load(std::memory_order_acquire);
    recover.store(0, std::memory_order_relaxed);  // a command supersedes a recovery in progress
    int e = 0;
    switch (cmd) {
        case TriggerCmd::Start:
        case TriggerCmd::Resume:
            if (gone) return -ENODEV;
            if (!pcm || !last) return -EBADFD;
            reset_ring();
            e = restart();
            if (e >= 0 && ring && !playback()) ring->push(silence.data(), silence.size());  // one period ahead
            break;
        case TriggerCmd::PauseRelease:
            if (gone) return -ENODEV;
            if (!pcm || !last) return -EBADFD;
            e = can_pause ? snd_pcm_pause(pcm, 0) : restart();
            break;
        case TriggerCmd::PausePush:
            io.store(Io::Stopped, std::memory_order_release);
            if (gone) return 0;  // a gone device is stopped already
            if (!pcm) return -EBADFD;
            e = can_pause ? snd_pcm_pause(pcm, 1) : snd_pcm_drop(pcm);
            break;
        case TriggerCmd::Stop:
        case TriggerCmd::Suspend:
            io.store(Io::Stopped, std::memory_order_release);
            if (gone) return 0;
            if (!pcm) return -EBADFD;
            flush_ring();
            e = snd_pcm_drop(pcm);
            break;
        case TriggerCmd::Drain: return 0;  // the engine stops the BE once its FE has drained
        default: return -EINVAL;
    }
    if (e == -ENODEV) failed.store(true, std::memory_order_release);
    const bool up = cmd == TriggerCmd::Start || cmd == TriggerCmd::Resume || cmd == TriggerCmd::PauseRelease;
    if (up && e >= 0) io.store(Io::Running, std::memory_order_release);
    return e < 0 ? e : 0;
}

// The backend thread's part of a threaded transfer: ring -> device (playback) or device ->
// ring (capture), as far as the device takes or gives now.
AlsaBackend::Impl::Moved AlsaBackend::Impl::move_data() noexcept {
    if (!pcm || !ring || frame_bytes == 0) return Moved::Idle;
    long n = 0;
    if (playback()) {
        if (io_len == 0) {
            io_at = 0;
            io_len = ring->pop(io_buf.data(), io_buf.size());
        }
        if (io_len == 0) return Moved::Idle;
        n = snd_pcm_writei(pcm, io_buf.data() + io_at, static_cast<snd_pcm_uframes_t>(io_len / frame_bytes));
        if (n > 0) {
            io_at += static_cast<size_t>(n) * frame_bytes;
            io_len -= static_cast<size_t>(n) * frame_bytes;
        }
    } else {
        n = snd_pcm_readi(pcm, io_buf.data(), static_cast<snd_pcm_uframes_t>(io_buf.size() / frame_bytes));
        if (n > 0) {
            const size_t bytes = static_cast<size_t>(n) * frame_bytes;
            const size_t put = ring->push(io_buf.data(), bytes - bytes % frame_bytes);
            if (put < bytes) lost.fetch_add((bytes - put) / frame_bytes, std::memory_order_relaxed);  // rt fell behind
        }
    }
    if (n > 0) {
        note_delay();
        return Moved::Some;
    }
    if (n == 0 || n == -EAGAIN) return Moved::Blocked;
    if (n == -EPIPE || n == -ESTRPIPE) {
        xruns.fetch_add(1, std::memory_order_relaxed);
        recover_device(static_cast<int>(n));
        return Moved::Some;
    }
    if (device_gone(n)) {
        failed.store(true, std::memory_order_release);
        io.store(Io::Stopped, std::memory_order_release);
    }
    return Moved::Idle;
}

void AlsaBackend::Impl::note_delay() noexcept {
    snd_pcm_sframes_t d = 0;
    if (snd_pcm_delay(pcm, &d) != 0) return;
    Frames total = d > 0 ? static_cast<Frames>(d) : 0;
    if (ring && frame_bytes) total += static_cast<Frames>((ring->readable() + io_len) / frame_bytes);
    delay.store(total, std::memory_order_relaxed);
}

void AlsaBackend::Impl::start_worker() {
    if (!ctx.realtime || worker.joinable()) return;
    quit.store(false);
    worker = std::thread([this] { run_worker(); });
}

void AlsaBackend::Impl::stop_worker() noexcept {
    if (!worker.joinable()) return;
    quit.store(true);
    work.wake_all();
    worker.join();
}

void AlsaBackend::Impl::run_worker() noexcept {
    set_thread_role(ThreadRole::Control);
    for (;;) {
        const uint32_t seen = work.seq();
        if (quit.load(std::memory_order_acquire)) return;
        Moved moved = Moved::Idle;
        {
            std::lock_guard lk(dev);
            if (const int p = pending.exchange(0); p != 0) {
                (void)device_command(static_cast<TriggerCmd>(p - 1));
                moved = Moved::Some;
            }
            if (const int e = recover.exchange(0); e != 0 && io.load() == Io::Recovering) {
                recover_device(e);
                moved = Moved::Some;
            }
            if (threaded && io.load(std::memory_order_acquire) == Io::Running) {
                const Moved m = move_data();
                if (moved != Moved::Some) moved = m;
            }
        }
        // Device full (or empty): look again in a millisecond. Ring empty: until the realtime
        // thread hands it a period (it wakes us).
        if (moved == Moved::Blocked) work.wait(seen, std::chrono::milliseconds(1));
        else if (moved == Moved::Idle) work.wait(seen, std::chrono::milliseconds(100));
    }
}

long AlsaBackend::Impl::take_injected() noexcept {
    if (injected.load(std::memory_order_relaxed) == 0) return 0;
    return injected.exchange(0, std::memory_order_relaxed);
}

// What a transfer does with an error alsa-lib returned (or the injection stood in for). The
// frames of the period that did not move are already counted as lost.
int64_t AlsaBackend::Impl::transfer_error(long err) noexcept {
    switch (err) {
        case -EAGAIN:
            // The device's clock runs apart from the engine's and the buffer cannot absorb it:
            // this period is lost (playback) or silent (capture).
            xruns.fetch_add(1, std::memory_order_relaxed);
            return -EPIPE;
        case -EPIPE:
        case -ESTRPIPE:
            xruns.fetch_add(1, std::memory_order_relaxed);
            if (ctx.realtime) {
                // Recovering may block: the backend's thread does it, meanwhile periods are lost.
                recover.store(static_cast<int>(err), std::memory_order_relaxed);
                io.store(Io::Recovering, std::memory_order_release);
                work.wake_all();
                return -EPIPE;
            }
            recover_device(static_cast<int>(err));
            if (failed.load(std::memory_order_acquire)) return -ENODEV;
            return -EPIPE;
        case -ENODEV:
        case -EBADFD:
        case -EIO: failed.store(true, std::memory_order_release); return err;
        default: return err;
    }
}

int64_t AlsaBackend::Impl::write_ring(const std::byte* data, Frames frames) noexcept {
    const size_t bytes = static_cast<size_t>(frames) * frame_bytes;
    const size_t room = ring->writable() / frame_bytes * frame_bytes;
    const size_t put = ring->push(data, std::min(bytes, room));
    position.fetch_add(put / frame_bytes, std::memory_order_release);
    work.wake_all();  // a futex wake only when the backend thread sleeps
    if (put == bytes) return static_cast<int64_t>(frames);
    // The device does not keep up: what does not fit is lost.
    lost.fetch_add((bytes - put) / frame_bytes, std::memory_order_relaxed);
    xruns.fetch_add(1, std::memory_order_relaxed);
    return -EPIPE;
}

int64_t AlsaBackend::Impl::read_ring(std::byte* data, Frames frames) noexcept {
    const size_t bytes = static_cast<size_t>(frames) * frame_bytes;
    const size_t got = ring->pop(data, bytes);
    position.fetch_add(got / frame_bytes, std::memory_order_release);
    work.wake_all();
    if (got == bytes) return static_cast<int64_t>(frames);
    snd_pcm_format_set_silence(format, data + got, static_cast<unsigned>((bytes - got) / frame_bytes * channels));
    lost.fetch_add((bytes - got) / frame_bytes, std::memory_order_relaxed);
    xruns.fetch_add(1, std::memory_order_relaxed);
    return -EPIPE;
}

// ---- AlsaBackend ----------------------------------------------------------------------------

AlsaBackend::AlsaBackend(BackendContext context, Options options)
    : impl_(std::make_unique<Impl>(std::move(context), std::move(options))) {}

AlsaBackend::~AlsaBackend() { close(); }

std::string AlsaBackend::describe() const {
    if (impl_->dev_period == 0) return impl_->dev_name();
    return fmt::format("{} (period {}, buffer {}{})", impl_->dev_name(), impl_->dev_period, impl_->dev_buffer,
                       impl_->threaded ? ", written by its own thread" : "");
}

Result<void> AlsaBackend::open() {
    DYNPCM_ASSERT_THREAD(control);
    Impl& d = *impl_;
    {
        std::lock_guard lk(d.dev);
        if (d.pcm) return ok();
        if (const int e = d.open_pcm(); e < 0) {
            d.pcm = nullptr;
            return Error(e, fmt::format("BE '{}': cannot open {}: {}", d.ctx.be_name, d.dev_name(), alsa_error(e)));
        }
        d.forget_setup();
        d.failed.store(false, std::memory_order_release);
        // A plain hw PCM's non-blocking transfers are ioctls; any other PCM may block inside
        // alsa-lib, so in real time its transfers go through the backend's thread.
        d.threaded = d.ctx.realtime && (d.opt.io == Io::Thread ||
                                        (d.opt.io == Io::Auto && snd_pcm_type(d.pcm) != SND_PCM_TYPE_HW));
    }
    d.start_worker();
    return ok();
}

Result<void> AlsaBackend::hw_params(const HwParams& params) {
    DYNPCM_ASSERT_THREAD(control);
    Impl& d = *impl_;
    std::lock_guard lk(d.dev);
    if (!d.pcm)
        return Error(-EBADFD, fmt::format("BE '{}': hw_params on {}, which is not open", d.ctx.be_name, d.dev_name()));
    if (auto r = d.apply(params); !r) {
        d.forget_setup();  // a refused hw_params leaves the device unconfigured
        return Error(r.code(), fmt::format("BE '{}': {}", d.ctx.be_name, r.error().message()));
    }
    return ok();
}

Result<void> AlsaBackend::prepare() {
    DYNPCM_ASSERT_THREAD(control);
    Impl& d = *impl_;
    std::lock_guard lk(d.dev);
    d.pending.store(0);
    d.recover.store(0);
    d.io.store(Impl::Io::Stopped, std::memory_order_release);
    bool reopened = false;
    if (d.failed.load(std::memory_order_acquire)) {
        if (auto r = d.reopen(); !r) return r;
        reopened = true;
    }
    if (!d.pcm)
        return Error(-EBADFD, fmt::format("BE '{}': prepare on {}, which is not open", d.ctx.be_name, d.dev_name()));
    if (!d.last)
        return Error(-EBADFD, fmt::format("BE '{}': prepare on {} before hw_params", d.ctx.be_name, d.dev_name()));
    auto prepare_pcm = [&d] {
        const snd_pcm_state_t s = snd_pcm_state(d.pcm);
        if (s != SND_PCM_STATE_SETUP && s != SND_PCM_STATE_PREPARED) (void)snd_pcm_drop(d.pcm);
        return snd_pcm_prepare(d.pcm);
    };
    int e = prepare_pcm();
    if (e < 0 && device_gone(e) && !reopened) {
        if (auto r = d.reopen(); !r) {
            d.failed.store(true, std::memory_order_release);
            return r;
        }
        e = prepare_pcm();
    }
    if (e < 0) {
        if (device_gone(e)) {
            d.failed.store(true, std::memory_order_release);
            return Error(-ENODEV, fmt::format("BE '{}': cannot prepare {}: {}", d.ctx.be_name, d.dev_name(), alsa_error(e)));
        }
        return Error(e, fmt::format("BE '{}': cannot prepare {}: {}", d.ctx.be_name, d.dev_name(), alsa_error(e)));
    }
    d.reset_ring();
    d.position.store(0, std::memory_order_release);
    d.delay.store(0, std::memory_order_relaxed);
    d.failed.store(false, std::memory_order_release);
    return ok();
}

Result<void> AlsaBackend::hw_free() {
    DYNPCM_ASSERT_THREAD(control);
    Impl& d = *impl_;
    std::lock_guard lk(d.dev);
    d.forget_setup();
    if (!d.pcm || d.failed.load(std::memory_order_acquire)) return ok();  // nothing to free on a gone device
    if (const int e = snd_pcm_hw_free(d.pcm); e < 0)
        return Error(e, fmt::format("BE '{}': cannot free {}: {}", d.ctx.be_name, d.dev_name(), alsa_error(e)));
    return ok();
}

void AlsaBackend::close() {
    DYNPCM_ASSERT_THREAD(control);
    Impl& d = *impl_;
    d.stop_worker();
    std::lock_guard lk(d.dev);
    d.close_pcm();
    d.forget_setup();
}

int AlsaBackend::trigger(TriggerCmd cmd) noexcept {
    Impl& d = *impl_;
    std::lock_guard lk(d.dev);
    // What the realtime thread asked for earlier comes first.
    if (const int p = d.pending.exchange(0); p != 0) (void)d.device_command(static_cast<TriggerCmd>(p - 1));
    const int rc = d.device_command(cmd);
    d.work.wake_all();
    return rc;
}

int AlsaBackend::trigger_rt(TriggerCmd cmd) noexcept {
    DYNPCM_ASSERT_THREAD(rt);
    Impl& d = *impl_;
    if (!d.ctx.realtime) return trigger(cmd);
    // The realtime thread stops transferring at once; the device call is the backend thread's.
    // Only stops come from here (an xrun, a drain end); a later one supersedes one not yet done.
    if (cmd == TriggerCmd::Stop || cmd == TriggerCmd::PausePush || cmd == TriggerCmd::Suspend)
        d.io.store(Impl::Io::Stopped, std::memory_order_release);
    d.pending.store(static_cast<int>(cmd) + 1, std::memory_order_release);
    d.work.wake_all();
    return 0;
}

int64_t AlsaBackend::write_rt(const void* data, Frames frames) noexcept {
    DYNPCM_ASSERT_THREAD(rt);
    Impl& d = *impl_;
    if (d.failed.load(std::memory_order_acquire)) return -ENODEV;
    if (!d.pcm || d.frame_bytes == 0) return -EBADFD;
    if (d.ctx.realtime && d.io.load(std::memory_order_acquire) != Impl::Io::Running) {
        // Being recovered or stopped by the backend's thread: this period never plays.
        d.lost.fetch_add(frames, std::memory_order_relaxed);
        return static_cast<int64_t>(frames);
    }
    const auto* src = static_cast<const std::byte*>(data);
    if (const long n = d.take_injected(); n != 0) {
        d.lost.fetch_add(frames, std::memory_order_relaxed);
        return d.transfer_error(n);
    }
    if (d.threaded) return d.write_ring(src, frames);
    Frames done = 0;
    while (done < frames) {
        const long n = snd_pcm_writei(d.pcm, src + static_cast<size_t>(done) * d.frame_bytes,
                                      static_cast<snd_pcm_uframes_t>(frames - done));
        if (n > 0) {
            done += static_cast<Frames>(n);
            continue;
        }
        // The rest of the period does not reach the device.
        d.position.fetch_add(done, std::memory_order_release);
        d.lost.fetch_add(frames - done, std::memory_order_relaxed);
        return d.transfer_error(n == 0 ? -EAGAIN : n);
    }
    d.position.fetch_add(done, std::memory_order_release);
    d.note_delay();
    return static_cast<int64_t>(frames);
}

int64_t AlsaBackend::read_rt(void* data, Frames frames) noexcept {
    DYNPCM_ASSERT_THREAD(rt);
    Impl& d = *impl_;
    auto* dst = static_cast<std::byte*>(data);
    auto silent_from = [&d, dst, frames](Frames from) {
        if (from >= frames || d.frame_bytes == 0) return;
        snd_pcm_format_set_silence(d.format, dst + static_cast<size_t>(from) * d.frame_bytes,
                                   static_cast<unsigned>((frames - from) * d.channels));
    };
    if (d.failed.load(std::memory_order_acquire)) {
        silent_from(0);
        return -ENODEV;
    }
    if (!d.pcm || d.frame_bytes == 0) return -EBADFD;
    if (d.ctx.realtime && d.io.load(std::memory_order_acquire) != Impl::Io::Running) {
        silent_from(0);
        d.lost.fetch_add(frames, std::memory_order_relaxed);
        return static_cast<int64_t>(frames);
    }
    if (const long n = d.take_injected(); n != 0) {
        silent_from(0);
        d.lost.fetch_add(frames, std::memory_order_relaxed);
        return d.transfer_error(n);
    }
    if (d.threaded) return d.read_ring(dst, frames);
    Frames done = 0;
    while (done < frames) {
        const long n = snd_pcm_readi(d.pcm, dst + static_cast<size_t>(done) * d.frame_bytes,
                                     static_cast<snd_pcm_uframes_t>(frames - done));
        if (n > 0) {
            done += static_cast<Frames>(n);
            continue;
        }
        // What the device did not deliver is silence.
        silent_from(done);
        d.position.fetch_add(done, std::memory_order_release);
        d.lost.fetch_add(frames - done, std::memory_order_relaxed);
        return d.transfer_error(n == 0 ? -EAGAIN : n);
    }
    d.position.fetch_add(done, std::memory_order_release);
    d.note_delay();
    return static_cast<int64_t>(frames);
}

Frames AlsaBackend::position() const noexcept { return impl_->position.load(std::memory_order_acquire); }
Frames AlsaBackend::delay() const noexcept { return impl_->delay.load(std::memory_order_relaxed); }
uint64_t AlsaBackend::xruns() const noexcept { return impl_->xruns.load(std::memory_order_relaxed); }
uint64_t AlsaBackend::lost_frames() const noexcept { return impl_->lost.load(std::memory_order_relaxed); }
bool AlsaBackend::threaded() const noexcept { return impl_->threaded; }
const AlsaBackend::Options& AlsaBackend::options() const noexcept { return impl_->opt; }
Frames AlsaBackend::device_period() const noexcept { return impl_->dev_period; }
Frames AlsaBackend::device_buffer() const noexcept { return impl_->dev_buffer; }
bool AlsaBackend::can_pause() const noexcept { return impl_->can_pause; }
bool AlsaBackend::failed() const noexcept { return impl_->failed.load(std::memory_order_acquire); }
void AlsaBackend::inject_error(int negative_errno) noexcept {
    impl_->injected.store(negative_errno > 0 ? -negative_errno : negative_errno, std::memory_order_relaxed);
}

}  // namespace dynpcm

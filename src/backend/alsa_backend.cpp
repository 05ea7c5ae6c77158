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
#include <optional>
#include <vector>

#include "backend/backends.h"
#include "dynpcm/core/thread_role.h"

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

    // Control thread only, except where noted: the rt thread reads these between a start and
    // a stop, while the control thread leaves them alone.
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
    std::vector<std::byte> silence;  // one BE period of silence in the device's format

    std::atomic<Frames> position{0};
    std::atomic<Frames> delay{0};
    std::atomic<uint64_t> xruns{0};
    std::atomic<bool> failed{false};
    std::atomic<int> injected{0};

    Impl(BackendContext c, Options o) : ctx(std::move(c)), opt(std::move(o)) {}

    bool playback() const noexcept { return ctx.dir == Stream::Playback; }
    snd_pcm_stream_t alsa_stream() const noexcept {
        return playback() ? SND_PCM_STREAM_PLAYBACK : SND_PCM_STREAM_CAPTURE;
    }
    std::string dev() const { return fmt::format("ALSA device '{}'", opt.device); }

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
        return Error(static_cast<int>(err), fmt::format("{} {}: {}", dev(), what, alsa_error(err)));
    }
    Result<void> apply(const HwParams& p);
    Result<void> reopen();

    // ---- realtime side: no allocation, no blocking, no formatting.
    int prefill_silence() noexcept;
    int start_device() noexcept;
    int restart() noexcept;
    long take_injected() noexcept;
    int64_t transfer_error(long err) noexcept;
    void note_delay() noexcept;
};

Result<void> AlsaBackend::Impl::apply(const HwParams& p) {
    const snd_pcm_format_t fmt_alsa = to_alsa(p.format());
    if (fmt_alsa == SND_PCM_FORMAT_UNKNOWN || p.period_size() == 0 || p.channels() == 0 || p.rate() == 0)
        return Error(-EINVAL, fmt::format("{}: the BE's configuration is not chosen: {}", dev(), p.summary()));

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
        return Error(e, fmt::format("{} does not support format {} (it offers: {})", dev(),
                                    format_info(p.format()).name, offered.empty() ? "none dynpcm knows" : offered));
    }
    if (const int e = snd_pcm_hw_params_set_channels(pcm, hw.get(), p.channels()); e < 0) {
        unsigned lo = 0, hi = 0;
        snd_pcm_hw_params_get_channels_min(hw.get(), &lo);
        snd_pcm_hw_params_get_channels_max(hw.get(), &hi);
        return Error(e, fmt::format("{} does not support {} channels (it offers {}..{})", dev(), p.channels(), lo, hi));
    }
    if (const int e = snd_pcm_hw_params_set_rate(pcm, hw.get(), p.rate(), 0); e < 0) {
        unsigned lo = 0, hi = 0;
        int lo_dir = 0, hi_dir = 0;
        snd_pcm_hw_params_get_rate_min(hw.get(), &lo, &lo_dir);
        snd_pcm_hw_params_get_rate_max(hw.get(), &hi, &hi_dir);
        if (lo_dir > 0) ++lo;  // an open bound: the next integer is the first rate offered
        if (hi_dir < 0 && hi > 0) --hi;
        return Error(e, fmt::format("{} cannot run at {} Hz without resampling (it offers {}..{} Hz)", dev(),
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
    last = p;
    return ok();
}

Result<void> AlsaBackend::Impl::reopen() {
    close_pcm();
    if (const int e = open_pcm(); e < 0) {
        pcm = nullptr;
        return Error(-ENODEV, fmt::format("BE '{}': {} is gone and cannot be opened again: {}", ctx.be_name, dev(),
                                          alsa_error(e)));
    }
    if (last) {
        const HwParams p = *last;
        if (auto r = apply(p); !r) {
            close_pcm();
            return Error(-ENODEV, fmt::format("BE '{}': {} was gone; opened again, it refuses its configuration: {}",
                                              ctx.be_name, dev(), r.error().message()));
        }
    }
    return ok();
}

int AlsaBackend::Impl::prefill_silence() noexcept {
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

int AlsaBackend::Impl::start_device() noexcept {
    if (playback())
        if (const int e = prefill_silence(); e < 0) return e;
    return snd_pcm_start(pcm);
}

// Back to PREPARED from wherever the device is (running, xrun, paused, suspended, stopped),
// then the start sequence.
int AlsaBackend::Impl::restart() noexcept {
    const snd_pcm_state_t s = snd_pcm_state(pcm);
    if (s != SND_PCM_STATE_PREPARED) {
        if (s != SND_PCM_STATE_SETUP) (void)snd_pcm_drop(pcm);
        if (const int e = snd_pcm_prepare(pcm); e < 0) return e;
    }
    return start_device();
}

long AlsaBackend::Impl::take_injected() noexcept {
    if (injected.load(std::memory_order_relaxed) == 0) return 0;
    return injected.exchange(0, std::memory_order_relaxed);
}

// What a transfer does with an error alsa-lib returned (or the injection stood in for).
int64_t AlsaBackend::Impl::transfer_error(long err) noexcept {
    switch (err) {
        case -EAGAIN:
            // The device's clock runs apart from the engine's and the buffer cannot absorb it:
            // this period is lost (playback) or silent (capture).
            xruns.fetch_add(1, std::memory_order_relaxed);
            return -EPIPE;
        case -EPIPE:
        case -ESTRPIPE: {
            int e = 0;
            if (err == -ESTRPIPE) {
                e = snd_pcm_resume(pcm);
                if (e == 0 && snd_pcm_state(pcm) != SND_PCM_STATE_RUNNING) e = -EBADFD;
            }
            if (err == -EPIPE || e < 0) e = restart();
            xruns.fetch_add(1, std::memory_order_relaxed);
            if (e < 0 && device_gone(e)) {
                failed.store(true, std::memory_order_release);
                return e;
            }
            return -EPIPE;
        }
        case -ENODEV:
        case -EBADFD:
        case -EIO: failed.store(true, std::memory_order_release); return err;
        default: return err;
    }
}

void AlsaBackend::Impl::note_delay() noexcept {
    snd_pcm_sframes_t d = 0;
    if (snd_pcm_delay(pcm, &d) == 0) delay.store(d > 0 ? static_cast<Frames>(d) : 0, std::memory_order_relaxed);
}

// ---- AlsaBackend ----------------------------------------------------------------------------

AlsaBackend::AlsaBackend(BackendContext context, Options options)
    : impl_(std::make_unique<Impl>(std::move(context), std::move(options))) {}

AlsaBackend::~AlsaBackend() { impl_->close_pcm(); }

std::string AlsaBackend::describe() const {
    if (impl_->dev_period == 0) return impl_->dev();
    return fmt::format("{} (period {}, buffer {})", impl_->dev(), impl_->dev_period, impl_->dev_buffer);
}

Result<void> AlsaBackend::open() {
    DYNPCM_ASSERT_THREAD(control);
    Impl& d = *impl_;
    if (d.pcm) return ok();
    if (const int e = d.open_pcm(); e < 0) {
        d.pcm = nullptr;
        return Error(e, fmt::format("BE '{}': cannot open {}: {}", d.ctx.be_name, d.dev(), alsa_error(e)));
    }
    d.forget_setup();
    d.failed.store(false, std::memory_order_release);
    return ok();
}

Result<void> AlsaBackend::hw_params(const HwParams& params) {
    DYNPCM_ASSERT_THREAD(control);
    Impl& d = *impl_;
    if (!d.pcm)
        return Error(-EBADFD, fmt::format("BE '{}': hw_params on {}, which is not open", d.ctx.be_name, d.dev()));
    if (auto r = d.apply(params); !r) {
        d.forget_setup();  // a refused hw_params leaves the device unconfigured
        return Error(r.code(), fmt::format("BE '{}': {}", d.ctx.be_name, r.error().message()));
    }
    return ok();
}

Result<void> AlsaBackend::prepare() {
    DYNPCM_ASSERT_THREAD(control);
    Impl& d = *impl_;
    bool reopened = false;
    if (d.failed.load(std::memory_order_acquire)) {
        if (auto r = d.reopen(); !r) return r;
        reopened = true;
    }
    if (!d.pcm)
        return Error(-EBADFD, fmt::format("BE '{}': prepare on {}, which is not open", d.ctx.be_name, d.dev()));
    if (!d.last)
        return Error(-EBADFD, fmt::format("BE '{}': prepare on {} before hw_params", d.ctx.be_name, d.dev()));
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
            return Error(-ENODEV, fmt::format("BE '{}': cannot prepare {}: {}", d.ctx.be_name, d.dev(), alsa_error(e)));
        }
        return Error(e, fmt::format("BE '{}': cannot prepare {}: {}", d.ctx.be_name, d.dev(), alsa_error(e)));
    }
    d.position.store(0, std::memory_order_release);
    d.delay.store(0, std::memory_order_relaxed);
    d.failed.store(false, std::memory_order_release);
    return ok();
}

Result<void> AlsaBackend::hw_free() {
    DYNPCM_ASSERT_THREAD(control);
    Impl& d = *impl_;
    d.forget_setup();
    if (!d.pcm || d.failed.load(std::memory_order_acquire)) return ok();  // nothing to free on a gone device
    if (const int e = snd_pcm_hw_free(d.pcm); e < 0)
        return Error(e, fmt::format("BE '{}': cannot free {}: {}", d.ctx.be_name, d.dev(), alsa_error(e)));
    return ok();
}

void AlsaBackend::close() {
    DYNPCM_ASSERT_THREAD(control);
    impl_->close_pcm();
    impl_->forget_setup();
}

int AlsaBackend::trigger(TriggerCmd cmd) noexcept {
    Impl& d = *impl_;
    const bool gone = d.failed.load(std::memory_order_acquire);
    int e = 0;
    switch (cmd) {
        case TriggerCmd::Start:
        case TriggerCmd::Resume:
            if (gone) return -ENODEV;
            if (!d.pcm || !d.last) return -EBADFD;
            e = d.restart();
            break;
        case TriggerCmd::PauseRelease:
            if (gone) return -ENODEV;
            if (!d.pcm || !d.last) return -EBADFD;
            e = d.can_pause ? snd_pcm_pause(d.pcm, 0) : d.restart();
            break;
        case TriggerCmd::PausePush:
            if (gone) return 0;  // a gone device is stopped already
            if (!d.pcm) return -EBADFD;
            e = d.can_pause ? snd_pcm_pause(d.pcm, 1) : snd_pcm_drop(d.pcm);
            break;
        case TriggerCmd::Stop:
        case TriggerCmd::Suspend:
            if (gone) return 0;
            if (!d.pcm) return -EBADFD;
            e = snd_pcm_drop(d.pcm);
            break;
        case TriggerCmd::Drain: return 0;  // the engine stops the BE once its FE has drained
        default: return -EINVAL;
    }
    if (e == -ENODEV) d.failed.store(true, std::memory_order_release);
    return e < 0 ? e : 0;
}

int64_t AlsaBackend::write_rt(const void* data, Frames frames) noexcept {
    DYNPCM_ASSERT_THREAD(rt);
    Impl& d = *impl_;
    if (d.failed.load(std::memory_order_acquire)) return -ENODEV;
    if (!d.pcm || d.frame_bytes == 0) return -EBADFD;
    const auto* src = static_cast<const std::byte*>(data);
    Frames done = 0;
    while (done < frames) {
        long n = d.take_injected();
        if (n == 0)
            n = snd_pcm_writei(d.pcm, src + static_cast<size_t>(done) * d.frame_bytes,
                               static_cast<snd_pcm_uframes_t>(frames - done));
        if (n > 0) {
            done += static_cast<Frames>(n);
            continue;
        }
        // The rest of the period does not reach the device.
        d.position.fetch_add(done, std::memory_order_release);
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
    Frames done = 0;
    while (done < frames) {
        long n = d.take_injected();
        if (n == 0)
            n = snd_pcm_readi(d.pcm, dst + static_cast<size_t>(done) * d.frame_bytes,
                              static_cast<snd_pcm_uframes_t>(frames - done));
        if (n > 0) {
            done += static_cast<Frames>(n);
            continue;
        }
        // What the device did not deliver is silence.
        silent_from(done);
        d.position.fetch_add(done, std::memory_order_release);
        return d.transfer_error(n == 0 ? -EAGAIN : n);
    }
    d.position.fetch_add(done, std::memory_order_release);
    d.note_delay();
    return static_cast<int64_t>(frames);
}

Frames AlsaBackend::position() const noexcept { return impl_->position.load(std::memory_order_acquire); }
Frames AlsaBackend::delay() const noexcept { return impl_->delay.load(std::memory_order_relaxed); }
uint64_t AlsaBackend::xruns() const noexcept { return impl_->xruns.load(std::memory_order_relaxed); }
const AlsaBackend::Options& AlsaBackend::options() const noexcept { return impl_->opt; }
Frames AlsaBackend::device_period() const noexcept { return impl_->dev_period; }
Frames AlsaBackend::device_buffer() const noexcept { return impl_->dev_buffer; }
bool AlsaBackend::can_pause() const noexcept { return impl_->can_pause; }
bool AlsaBackend::failed() const noexcept { return impl_->failed.load(std::memory_order_acquire); }
void AlsaBackend::inject_error(int negative_errno) noexcept {
    impl_->injected.store(negative_errno > 0 ? -negative_errno : negative_errno, std::memory_order_relaxed);
}

}  // namespace dynpcm

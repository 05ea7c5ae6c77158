// The simulated codec (sim) and the null backend.

#include "dynpcm/backend/sim_backend.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <numbers>

#include "backend/backends.h"
#include "dynpcm/dsp/convert.h"

namespace dynpcm {

// ---- options ------------------------------------------------------------------------------

Result<SimBackend::Options> SimBackend::parse(const BackendBinding& b) {
    using namespace backend_detail;
    Options o;
    const std::string signal = option_or(b, "signal", "sine");
    if (signal == "sine") o.signal = Signal::Sine;
    else if (signal == "silence") o.signal = Signal::Silence;
    else if (signal == "noise") o.signal = Signal::Noise;
    else if (signal == "counter") o.signal = Signal::Counter;
    else return Error(-EINVAL, fmt::format("backend 'sim': option signal: '{}' is not sine, silence, noise or counter", signal));
    auto f = parse_number(b, "frequency", o.frequency, 1.0, 384000.0);
    if (!f) return std::move(f).error();
    auto l = parse_number(b, "level", o.level_db, -200.0, 0.0);
    if (!l) return std::move(l).error();
    auto m = parse_number(b, "monitor", o.monitor_seconds, 0.0, 3600.0);
    if (!m) return std::move(m).error();
    auto d = parse_number(b, "delay", 0.0, 0.0, 1 << 20);
    if (!d) return std::move(d).error();
    if (*d != std::floor(*d))
        return Error(-EINVAL, fmt::format("backend 'sim': option delay: '{}' is not a whole number of frames",
                                          option_or(b, "delay", "")));
    o.frequency = *f;
    o.level_db = *l;
    o.monitor_seconds = *m;
    o.delay_frames = static_cast<Frames>(*d);
    return o;
}

namespace backend_detail {
Result<void> check_sim(const BackendBinding& b) {
    auto o = SimBackend::parse(b);
    if (!o) return std::move(o).error();
    return ok();
}
Result<std::unique_ptr<Backend>> make_sim(const BackendBinding& b, const BackendContext& c) {
    auto o = SimBackend::parse(b);
    if (!o) return std::move(o).error();
    return std::unique_ptr<Backend>(std::make_unique<SimBackend>(c, *o));
}
Result<std::unique_ptr<Backend>> make_null(const BackendBinding&, const BackendContext& c) {
    return std::unique_ptr<Backend>(std::make_unique<NullBackend>(c));
}
}  // namespace backend_detail

// ---- sim ------------------------------------------------------------------------------------

SimBackend::SimBackend(BackendContext context, Options options) : ctx_(std::move(context)), opt_(options) {}

std::string SimBackend::describe() const {
    if (ctx_.dir == Stream::Playback)
        return opt_.monitor_seconds > 0 ? fmt::format("sim codec (monitor {} s)", opt_.monitor_seconds) : "sim codec";
    switch (opt_.signal) {
        case Signal::Sine: return fmt::format("sim codec (sine {} Hz, {} dBFS)", opt_.frequency, opt_.level_db);
        case Signal::Silence: return "sim codec (silence)";
        case Signal::Noise: return fmt::format("sim codec (noise, {} dBFS)", opt_.level_db);
        case Signal::Counter: return "sim codec (frame counter)";
    }
    return "sim codec";
}

Result<void> SimBackend::hw_params(const HwParams& p) {
    format_ = p.format();
    channels_ = p.channels();
    rate_ = p.rate();
    period_ = p.period_size();
    frame_bytes_ = frame_bytes(format_, channels_);
    scratch_.assign(static_cast<size_t>(period_) * channels_, 0.0f);
    monitor_.reset();
    fifo_.assign(static_cast<size_t>(opt_.delay_frames) * frame_bytes_, std::byte{format_info(format_).silence_byte});
    delayed_.assign(static_cast<size_t>(period_) * frame_bytes_, std::byte{0});
    fifo_at_ = 0;
    if (ctx_.dir == Stream::Playback && opt_.monitor_seconds > 0) {
        const auto frames = static_cast<size_t>(std::ceil(opt_.monitor_seconds * rate_));
        monitor_ = std::make_unique<SpscRing<std::byte>>(frames * frame_bytes_);
    }
    return ok();
}

Result<void> SimBackend::prepare() {
    if (gone_.load())
        return Error(-ENODEV, fmt::format("BE '{}': sim codec is unplugged", ctx_.be_name));
    position_.store(0, std::memory_order_release);
    phase_ = 0.0;
    counter_ = 0;
    run_.store(Run::Stopped);
    return ok();
}

int SimBackend::trigger(TriggerCmd cmd) noexcept {
    if (const int e = fail_trigger_.exchange(0); e != 0) return e < 0 ? e : -e;
    const Run now = run_.load();
    auto to = [this](Run r) {
        run_.store(r);
        return 0;
    };
    switch (cmd) {
        case TriggerCmd::Start: return now == Run::Stopped || now == Run::Running ? to(Run::Running) : -EBADFD;
        case TriggerCmd::PauseRelease: return now == Run::Paused ? to(Run::Running) : -EBADFD;
        case TriggerCmd::Resume: return now == Run::Suspended ? to(Run::Running) : -EBADFD;
        case TriggerCmd::PausePush: return now == Run::Running ? to(Run::Paused) : -EBADFD;
        case TriggerCmd::Suspend: return now == Run::Running || now == Run::Paused ? to(Run::Suspended) : -EBADFD;
        case TriggerCmd::Stop:
            // What the FIFO still holds is never played (snd_pcm_drop).
            std::fill(fifo_.begin(), fifo_.end(), std::byte{format_info(format_).silence_byte});
            return to(Run::Stopped);
        case TriggerCmd::Drain: return 0;
    }
    return -EINVAL;
}

int64_t SimBackend::transfer_check(Frames frames) noexcept {
    if (gone_.load(std::memory_order_relaxed)) return -ENODEV;
    if (xrun_pending_.exchange(false, std::memory_order_relaxed)) {
        xruns_.fetch_add(1, std::memory_order_relaxed);
        lost_.fetch_add(frames, std::memory_order_relaxed);
        return -EPIPE;
    }
    return 0;
}

// What the codec plays: its level and, when monitored, the frames themselves.
void SimBackend::monitor(const std::byte* data, Frames frames) noexcept {
    const size_t samples = static_cast<size_t>(frames) * channels_;
    if (frames <= period_) {
        dsp::to_float(format_, data, scratch_.data(), samples);
        float peak = 0.0f;
        for (size_t i = 0; i < samples; ++i) peak = std::max(peak, std::fabs(scratch_[i]));
        float old = peak_.load(std::memory_order_relaxed);
        while (peak > old && !peak_.compare_exchange_weak(old, peak, std::memory_order_relaxed)) {
        }
    }
    if (monitor_) {
        const size_t bytes = static_cast<size_t>(frames) * frame_bytes_;
        const size_t put = monitor_->push(data, bytes);
        if (put < bytes) monitor_dropped_.fetch_add((bytes - put) / frame_bytes_, std::memory_order_relaxed);
    }
}

// The codec's FIFO: each frame in pushes out the one received delay_frames earlier (silence at
// first), which is what is played now.
void SimBackend::delay_line(const std::byte* in, Frames frames) noexcept {
    const size_t fb = frame_bytes_;
    const size_t depth = static_cast<size_t>(opt_.delay_frames);
    Frames done = 0;
    while (done < frames) {
        const size_t n = std::min(static_cast<size_t>(frames - done), depth - fifo_at_);
        std::byte* slot = fifo_.data() + fifo_at_ * fb;
        std::memcpy(delayed_.data() + done * fb, slot, n * fb);
        std::memcpy(slot, in + done * fb, n * fb);
        fifo_at_ = (fifo_at_ + n) % depth;
        done += n;
    }
}

int64_t SimBackend::write_rt(const void* data, Frames frames) noexcept {
    if (const int64_t e = transfer_check(frames); e < 0) return e;
    const auto* in = static_cast<const std::byte*>(data);
    if (opt_.delay_frames > 0 && frames <= period_) {
        delay_line(in, frames);
        monitor(delayed_.data(), frames);
    } else {
        monitor(in, frames);
    }
    position_.fetch_add(frames, std::memory_order_release);
    return static_cast<int64_t>(frames);
}

int64_t SimBackend::read_rt(void* data, Frames frames) noexcept {
    if (const int64_t e = transfer_check(frames); e < 0) {
        std::memset(data, format_info(format_).silence_byte, static_cast<size_t>(frames) * frame_bytes_);
        return e;
    }
    const double amp = std::pow(10.0, opt_.level_db / 20.0);
    const double step = opt_.frequency / rate_;
    Frames done = 0;
    while (done < frames) {
        const Frames n = std::min(frames - done, period_);
        for (Frames i = 0; i < n; ++i) {
            float v = 0.0f;
            if (opt_.signal == Signal::Sine) {
                v = static_cast<float>(amp * std::sin(2.0 * std::numbers::pi * phase_));
                phase_ += step;
                phase_ -= std::floor(phase_);
            } else if (opt_.signal == Signal::Noise) {
                noise_ = noise_ * 1664525u + 1013904223u;  // LCG: deterministic runs
                v = static_cast<float>(amp * (static_cast<double>(noise_ >> 8) / 8388608.0 - 1.0));
            } else if (opt_.signal == Signal::Counter) {
                const Frames number = counter_++;
                for (uint32_t c = 0; c < channels_; ++c)
                    scratch_[static_cast<size_t>(i) * channels_ + c] =
                        static_cast<float>((c == 1 ? number >> 15 : number) & 0x7FFF) / 32768.0f;
                continue;
            }
            for (uint32_t c = 0; c < channels_; ++c) scratch_[static_cast<size_t>(i) * channels_ + c] = v;
        }
        dsp::from_float(format_, scratch_.data(), static_cast<std::byte*>(data) + static_cast<size_t>(done) * frame_bytes_,
                        static_cast<size_t>(n) * channels_);
        done += n;
    }
    position_.fetch_add(frames, std::memory_order_release);
    return static_cast<int64_t>(frames);
}

size_t SimBackend::take_monitor(std::vector<std::byte>& out) {
    if (!monitor_) return 0;
    const size_t n = monitor_->readable();
    const size_t at = out.size();
    out.resize(at + n);
    return monitor_->pop(out.data() + at, n);
}

// ---- null -----------------------------------------------------------------------------------

Result<void> NullBackend::hw_params(const HwParams& p) {
    frame_bytes_ = frame_bytes(p.format(), p.channels());
    silence_ = format_info(p.format()).silence_byte;
    return ok();
}

Result<void> NullBackend::prepare() {
    position_.store(0, std::memory_order_release);
    return ok();
}

int64_t NullBackend::write_rt(const void*, Frames frames) noexcept {
    position_.fetch_add(frames, std::memory_order_release);
    return static_cast<int64_t>(frames);
}

int64_t NullBackend::read_rt(void* data, Frames frames) noexcept {
    std::memset(data, silence_, static_cast<size_t>(frames) * frame_bytes_);
    position_.fetch_add(frames, std::memory_order_release);
    return static_cast<int64_t>(frames);
}

}  // namespace dynpcm

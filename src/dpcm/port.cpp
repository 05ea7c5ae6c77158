#include "dpcm/port.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

namespace dynpcm::detail {

namespace {
Frames ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// The follower's loop (docs/DATA_PATH.md, "The controller"; chosen with bench/bench_drift): a
// PI controller, critically damped, on the continuous fill with a one-pole prefilter at five
// times its natural frequency. Wide for the first seconds, to lock fast, then narrow, so that
// what the FIFO's phase and the interrupts' jitter leave in the measurement does not reach the
// pitch.
constexpr double kBandwidthStartHz = 0.5;
constexpr double kBandwidthEndHz = 0.05;
constexpr double kWideSeconds = 2.0;  // then the bandwidth narrows with this time constant
constexpr double kPrefilter = 5.0;    // the prefilter's pole over the loop's natural frequency
constexpr double kLockSeconds = 1.0;  // locked: the fill stayed this long within 1/8 period
}  // namespace

static dsp::ChannelMap channel_map_of(const PortConfig& c) {
    if (c.channel_map.empty())
        return c.dir == Stream::Playback ? dsp::ChannelMap::standard(c.fe_channels, c.be_channels)
                                         : dsp::ChannelMap::standard(c.be_channels, c.fe_channels);
    // The map says, per BE channel, its FE channel. Playback: BE channel i plays FE channel
    // map[i]. Capture: FE channel j takes the first BE channel mapped to it.
    std::vector<int> source;
    if (c.dir == Stream::Playback) {
        for (unsigned i = 0; i < c.be_channels; ++i) {
            const int fe = i < c.channel_map.size() ? c.channel_map[i] : -1;
            source.push_back(fe >= 0 && static_cast<unsigned>(fe) < c.fe_channels ? fe : -1);
        }
        return dsp::ChannelMap::by_index(c.fe_channels, source);
    }
    source.assign(c.fe_channels, -1);
    for (unsigned i = 0; i < c.be_channels && i < c.channel_map.size(); ++i) {
        const int fe = c.channel_map[i];
        if (fe >= 0 && static_cast<unsigned>(fe) < c.fe_channels && source[static_cast<size_t>(fe)] < 0)
            source[static_cast<size_t>(fe)] = static_cast<int>(i);
    }
    return dsp::ChannelMap::by_index(c.be_channels, source);
}

Port::Port(const PortConfig& c) : cfg_(c), map_(channel_map_of(c)) {}

Result<std::unique_ptr<Port>> Port::create(const PortConfig& c) {
    if (c.fe_channels == 0 || c.be_channels == 0 || c.fe_rate == 0 || c.be_rate == 0 || c.fe_period == 0 ||
        c.be_period == 0)
        return Error(-EINVAL, "port: incomplete configuration");
    std::unique_ptr<Port> p(new Port(c));
    if (c.fe_rate != c.be_rate || c.adaptive) {
        const uint32_t in = c.dir == Stream::Playback ? c.fe_rate : c.be_rate;
        const uint32_t out = c.dir == Stream::Playback ? c.be_rate : c.fe_rate;
        auto r = c.adaptive ? dsp::Resampler::create_adaptive(c.be_channels, in, out, kMaxCorrectionPpm)
                            : dsp::Resampler::create(c.be_channels, in, out);
        if (!r) return std::move(r).error();
        p->src_ = std::move(*r);
        // Its output latency is in output frames: the BE's for playback, the FE's for capture.
        const auto lat = static_cast<Frames>(p->src_->latency());
        p->src_latency_ = c.dir == Stream::Playback ? lat : lat * c.be_rate / c.fe_rate;
    }
    // One FE chunk expressed in BE frames, with room for the resampler's rounding.
    const Frames fe_in_be = ceil_div(c.fe_period * c.be_rate, c.fe_rate) + 16;
    const Frames block = std::max(c.be_period, fe_in_be);
    const unsigned wide = std::max(c.fe_channels, c.be_channels);
    p->fifo_ = std::make_unique<SpscRing<float>>(static_cast<size_t>(4 * block + 256) * c.be_channels);
    p->mapped_.assign(static_cast<size_t>(c.fe_period) * wide, 0.0f);
    p->staged_.assign(static_cast<size_t>(block + 64) * c.be_channels, 0.0f);
    p->work_.assign(static_cast<size_t>(c.fe_period) * c.be_channels, 0.0f);
    // Prefill: the consumer may run before the producer at the same instant (another BE's
    // tick paces the FE), so one block of silence keeps it from ever running dry.
    // A link that joins a running FE starts nearly empty: its first tick may find nothing yet
    // (silence, and its fade-in starts from silence anyway), and the FE's audio reaches the new
    // BE within one period of the route change instead of a block later.
    // A follower's loop holds its FIFO where it starts, so it always starts a block deep.
    const Frames prefill = c.fade_in && !c.adaptive ? 32 : block + 32;
    p->fifo_->push_zeros(static_cast<size_t>(prefill) * c.be_channels);
    p->note_push(prefill, false);
    // Where the gain applies, how long the prefill (and the resampler's delay) lasts.
    p->lead_ = c.dir == Stream::Playback
                   ? prefill + (p->src_ ? static_cast<Frames>(p->src_->latency()) : 0)
                   : prefill * c.fe_rate / c.be_rate + (p->src_ ? static_cast<Frames>(p->src_->latency()) : 0);
    p->gain_.store(c.gain);
    p->gain_now_ = p->gain_to_ = c.fade_in ? 0.0f : c.gain;
    return p;
}

Frames Port::real_queued() const noexcept {
    return fifo_real_ + (staged_len_ > staged_silence_ ? staged_len_ - staged_silence_ : 0);
}

void Port::note_push(Frames frames, bool real) noexcept {
    if (frames == 0) return;
    if (real) fifo_real_ += frames;
    if (run_count_ > 0) {
        Run& last = runs_[(run_first_ + run_count_ - 1) % kRuns];
        if (last.real == real || run_count_ == kRuns) {
            // Full: silence and audio that share a run count as audio, so that fifo_real_ stays
            // the sum of the audio runs.
            if (real && !last.real) fifo_real_ += last.frames;
            if (!real && last.real) fifo_real_ += frames;
            last.frames += frames;
            last.real = last.real || real;
            return;
        }
    }
    runs_[(run_first_ + run_count_) % kRuns] = Run{frames, real};
    ++run_count_;
}

Frames Port::note_pop(Frames frames) noexcept {
    Frames real = 0;
    while (frames > 0 && run_count_ > 0) {
        Run& r = runs_[run_first_];
        const Frames k = std::min(frames, r.frames);
        if (r.real) real += k;
        r.frames -= k;
        frames -= k;
        if (r.frames == 0) {
            run_first_ = (run_first_ + 1) % kRuns;
            --run_count_;
        }
    }
    fifo_real_ -= std::min(fifo_real_, real);
    return real;
}

void Port::push_fifo(const float* x, Frames frames, Frames real) noexcept {
    const unsigned ch = cfg_.be_channels;
    const Frames pushed = fifo_->push(x, static_cast<size_t>(frames) * ch) / ch;
    real = std::min(real, frames);
    const Frames real_in = std::min(real, pushed);
    note_push(real_in, true);
    note_push(pushed - real_in, false);
    if (pushed < frames) {
        overruns_.fetch_add(1, std::memory_order_relaxed);
        overrun_frames_.fetch_add(real - real_in, std::memory_order_relaxed);  // audio turned away
    }
}

size_t Port::pop_fifo(float* x, size_t samples, Frames* real) noexcept {
    const size_t got = fifo_->pop(x, samples);
    const Frames r = note_pop(got / cfg_.be_channels);
    if (real) *real = r;
    return got;
}

void Port::apply_gain(float* acc, const float* src, Frames frames, unsigned channels) noexcept {
    // The target is the routing gain while connected, silence while leaving (or while a
    // play-out plays its last fade time). Any change of target restarts a linear ramp of
    // fade_frames from wherever the gain is now; a play-out's ramp is what it has left.
    const bool on = connected_.load(std::memory_order_acquire) && !play_fading_;
    const float want = on ? gain_.load(std::memory_order_relaxed) : 0.0f;
    if (want != gain_to_) {
        gain_to_ = want;
        ramp_left_ = play_fading_ ? std::max<Frames>(1, real_queued() + frames) : cfg_.fade_frames;
        if (ramp_left_ == 0) gain_now_ = want;
    }
    Frames done = 0;
    if (ramp_left_ > 0) {
        const Frames k = std::min(ramp_left_, frames);
        const float to = gain_now_ + (gain_to_ - gain_now_) * static_cast<float>(k) / static_cast<float>(ramp_left_);
        dsp::mix_add_ramp(acc, src, k, channels, gain_now_, k == ramp_left_ ? gain_to_ : to);
        gain_now_ = k == ramp_left_ ? gain_to_ : to;
        ramp_left_ -= k;
        done = k;
    }
    if (done < frames && gain_now_ != 0.0f)
        dsp::mix_add(acc + static_cast<size_t>(done) * channels, src + static_cast<size_t>(done) * channels,
                     static_cast<size_t>(frames - done) * channels, gain_now_);
    if (!on && ramp_left_ == 0 && gain_now_ == 0.0f) mark_faded_out();
}

void Port::mark_faded_out() noexcept {
    if (faded_out_.load(std::memory_order_relaxed)) return;
    faded_out_.store(true, std::memory_order_release);
    if (cfg_.faded) cfg_.faded->wake_all();  // a non-blocking futex wake, only if put() sleeps
}

void Port::gain_after_lead(float* acc, const float* src, Frames frames, unsigned channels) noexcept {
    const Frames skip = std::min(lead_, frames);
    lead_ -= skip;
    if (skip == frames) {  // silence: adds nothing, and the ramp waits
        if (!connected_.load(std::memory_order_acquire)) mark_faded_out();
        return;
    }
    const size_t off = static_cast<size_t>(skip) * channels;
    apply_gain(acc + off, src + off, frames - skip, channels);
}

void Port::top_up() noexcept {
    // Back from a rest during which its BE kept playing (for another FE) and drained it: a
    // block of silence again, before anything else touches the FIFO, so that it neither starts
    // out running dry nor plays new audio with a gap behind it.
    top_up_ = false;
    const Frames level = fifo_->readable() / cfg_.be_channels;
    const auto target = static_cast<Frames>(loop_.target);
    if (level + cfg_.be_period / 2 >= target) return;
    note_push(fifo_->push_zeros(static_cast<size_t>(target - level) * cfg_.be_channels) / cfg_.be_channels, false);
}

void Port::push_from_fe(const float* fe, Frames frames, Frames real) noexcept {
    if (playing_out_.load(std::memory_order_acquire)) return;  // it plays what it has, then goes
    if (top_up_) top_up();
    fed_ = true;
    const unsigned ch = cfg_.be_channels;
    frames = std::min(frames, cfg_.fe_period);
    real = std::min(real, frames);
    const float* in = fe;
    if (!map_.identity()) {
        map_.apply(fe, mapped_.data(), frames);
        in = mapped_.data();
    }
    if (!src_) {
        push_fifo(in, frames, real);
        return;
    }
    size_t left = frames;
    Frames real_left = real;  // of the input still to convert, the audio comes first
    const size_t cap = staged_.size() / ch;
    while (left > 0) {
        const auto d = src_->process(in, left, staged_.data(), cap);
        if (cfg_.adaptive)
            src_held_ += static_cast<double>(d.consumed) * cfg_.be_rate / cfg_.fe_rate * src_->scale() -
                         static_cast<double>(d.produced);
        // Output for audio input is audio, in proportion (the filter's delay aside).
        const Frames real_in = std::min<Frames>(real_left, d.consumed);
        const Frames real_out =
            d.consumed ? static_cast<Frames>(std::llround(static_cast<double>(d.produced) * static_cast<double>(real_in) / static_cast<double>(d.consumed))) : 0;
        real_left -= real_in;
        push_fifo(staged_.data(), d.produced, std::min<Frames>(real_out, d.produced));
        if (d.consumed == 0 && d.produced == 0) break;
        in += d.consumed * ch;
        left -= d.consumed;
    }
}

void Port::mix_into_be(float* bus, Frames frames, bool expect_data, bool first) noexcept {
    const unsigned ch = cfg_.be_channels;
    if (top_up_ && expect_data) top_up();  // its FE runs again, and this tick comes first
    frames = std::min<Frames>(frames, staged_.size() / ch);
    const size_t want = static_cast<size_t>(frames) * ch;
    // The first port into a bus at a steady unity gain is the bus: its FIFO pops straight into
    // it, saving the clear and the add (a unity mix of one FE is one copy).
    const bool on = connected_.load(std::memory_order_acquire);
    const bool steady = lead_ == 0 && ramp_left_ == 0 && gain_to_ == (on ? gain_.load(std::memory_order_relaxed) : 0.0f);
    if (!playing_out_.load(std::memory_order_acquire)) play_fading_ = false;  // routed back
    else {
        // Play-out: the last fade time of what is queued ramps down; the port is done when
        // nothing real is left.
        const Frames left = real_queued();
        if (!play_fading_ && left <= cfg_.fade_frames + frames) play_fading_ = true;
        if (left == 0) mark_faded_out();
    }
    float* into = first && steady && gain_now_ == 1.0f && !play_fading_ ? bus : staged_.data();
    if (first && into != bus) std::memset(bus, 0, want * sizeof(float));
    const size_t got = pop_fifo(into, want);
    if (got < want) {
        std::memset(into + got, 0, (want - got) * sizeof(float));
        if (expect_data && fed_) underruns_.fetch_add(1, std::memory_order_relaxed);
    }
    if (into != bus) gain_after_lead(bus, staged_.data(), frames, ch);
}

DriftState Port::drift() const noexcept {
    DriftState d;
    d.following = following_.load(std::memory_order_relaxed);
    d.locked = locked_.load(std::memory_order_relaxed);
    d.correction_ppm = correction_ppm_.load(std::memory_order_relaxed);
    d.fill = fill_.load(std::memory_order_relaxed);
    d.target = target_.load(std::memory_order_relaxed);
    d.lock_seconds = lock_seconds_.load(std::memory_order_relaxed);
    d.min_error = min_error_.load(std::memory_order_relaxed);
    d.max_error = max_error_.load(std::memory_order_relaxed);
    const uint64_t x = underruns() + overruns();
    d.xruns_after_lock = d.locked ? x - xruns_at_lock_.load(std::memory_order_relaxed) : 0;
    return d;
}

void Port::steer(bool follow, double skew) noexcept {
    if (!src_ || !src_->adaptive()) return;
    if (!follow) {
        // It rests (its FE is stopped or paused, or its BE drives now): the nominal ratio, and
        // the target and the drift learnt so far kept for when it follows again.
        if (loop_.running) {
            loop_.running = false;
            src_->set_scale(1.0);
            correction_ppm_.store(0, std::memory_order_relaxed);
            top_up_ = cfg_.dir == Stream::Playback;
        }
        following_.store(false, std::memory_order_relaxed);
        return;
    }
    const unsigned ch = cfg_.be_channels;
    const double fill = static_cast<double>(fifo_->readable() / ch + staged_len_) + src_held_ + skew;
    const double dt = static_cast<double>(cfg_.be_period) / cfg_.be_rate;
    if (!loop_.running) {
        loop_.running = true;
        loop_.filtered = 0;
        loop_.in_band = 0;
        if (!loop_.has_target) {
            // The first time: hold the FIFO where it starts (a block deep, the prefill).
            loop_.has_target = true;
            loop_.target = fill;
            target_.store(fill, std::memory_order_relaxed);
            locked_.store(false, std::memory_order_relaxed);
        }
        src_->set_scale(1.0 - loop_.integral);
        following_.store(true, std::memory_order_relaxed);
    }
    loop_.elapsed += dt;
    const double narrowing = loop_.elapsed < kWideSeconds ? 1.0 : std::exp(-(loop_.elapsed - kWideSeconds) / kWideSeconds);
    // No faster than a quarter of its update rate, whatever the BE's period (a long period at a
    // low rate would otherwise ring at the start's wide bandwidth).
    const double wn = std::min(2.0 * std::numbers::pi * (kBandwidthEndHz + (kBandwidthStartHz - kBandwidthEndHz) * narrowing),
                               0.25 / dt);
    const double error = fill - loop_.target;
    loop_.filtered += (1.0 - std::exp(-dt * kPrefilter * wn)) * (error - loop_.filtered);
    const double rate = cfg_.be_rate;
    loop_.integral += wn * wn / rate * loop_.filtered * dt;
    const double limit = kMaxCorrectionPpm * 1e-6;
    loop_.integral = std::clamp(loop_.integral, -limit, limit);
    const double scale = 1.0 - (2.0 * wn / rate * loop_.filtered + loop_.integral);
    src_->set_scale(scale);
    correction_ppm_.store((src_->scale() - 1.0) * 1e6, std::memory_order_relaxed);
    fill_.store(loop_.target + loop_.filtered, std::memory_order_relaxed);
    // Lock: the fill held within an eighth of a period of its target for a second.
    const double band = static_cast<double>(cfg_.be_period) / 8.0;
    loop_.in_band = std::abs(loop_.filtered) <= band ? loop_.in_band + dt : 0.0;
    if (!loop_.locked && loop_.in_band >= kLockSeconds) {
        loop_.locked = true;
        xruns_at_lock_.store(underruns() + overruns(), std::memory_order_relaxed);
        lock_seconds_.store(loop_.elapsed, std::memory_order_relaxed);
        min_error_.store(error, std::memory_order_relaxed);
        max_error_.store(error, std::memory_order_relaxed);
        locked_.store(true, std::memory_order_relaxed);
    } else if (loop_.locked) {
        if (error < min_error_.load(std::memory_order_relaxed)) min_error_.store(error, std::memory_order_relaxed);
        if (error > max_error_.load(std::memory_order_relaxed)) max_error_.store(error, std::memory_order_relaxed);
    }
}

void Port::push_from_be(const float* bus, Frames frames) noexcept { push_fifo(bus, frames, frames); }

void Port::mix_into_fe(float* fe, Frames frames) noexcept {
    const unsigned ch = cfg_.be_channels;
    frames = std::min(frames, cfg_.fe_period);
    float* out = work_.data();  // FE frames in BE channels
    size_t made = 0;
    if (!src_) {
        made = pop_fifo(out, static_cast<size_t>(frames) * ch) / ch;
    } else {
        const size_t cap = staged_.size() / ch;
        while (made < frames) {
            if (staged_len_ == 0) {
                staged_at_ = 0;
                Frames real = 0;
                staged_len_ = pop_fifo(staged_.data(), cap * ch, &real) / ch;
                staged_silence_ = staged_len_ - std::min<Frames>(real, staged_len_);  // the prefill, first
                if (staged_len_ == 0) break;
            }
            const auto d = src_->process(staged_.data() + staged_at_ * ch, staged_len_, out + made * ch, frames - made);
            if (cfg_.adaptive)
                src_held_ += static_cast<double>(d.consumed) -
                             static_cast<double>(d.produced) * cfg_.be_rate / cfg_.fe_rate / src_->scale();
            staged_at_ += d.consumed;
            staged_len_ -= d.consumed;
            staged_silence_ -= std::min<Frames>(staged_silence_, d.consumed);
            made += d.produced;
            if (d.consumed == 0 && d.produced == 0) break;
        }
    }
    if (made < frames) {
        std::memset(out + made * ch, 0, (frames - made) * ch * sizeof(float));
        underruns_.fetch_add(1, std::memory_order_relaxed);
    }
    const float* in = out;
    if (!map_.identity()) {
        map_.apply(out, mapped_.data(), frames);
        in = mapped_.data();
    }
    gain_after_lead(fe, in, frames, cfg_.fe_channels);
}

}  // namespace dynpcm::detail

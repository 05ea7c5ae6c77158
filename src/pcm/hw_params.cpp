#include "dynpcm/pcm/hw_params.h"

#include <fmt/format.h>

#include <algorithm>

namespace dynpcm {

namespace {

using P = HwParam;
namespace ops = interval_ops;

enum class Op { Mul, Div, MulDivK, MulKDiv, TimeUs, FramesOf, RateOf };

// One relation target = f(a, b, k), as registered by the kernel's snd_pcm_hw_constraints_init.
struct Relation {
    P target;
    Op op;
    P a;
    P b;
    uint32_t k;
    const char* text;
};

constexpr Relation kRelations[] = {
    {P::SampleBits, Op::Div, P::FrameBits, P::Channels, 0, "sample_bits = frame_bits / channels"},
    {P::FrameBits, Op::Mul, P::SampleBits, P::Channels, 0, "frame_bits = sample_bits * channels"},
    {P::FrameBits, Op::MulKDiv, P::PeriodBytes, P::PeriodSize, 8, "frame_bits = period_bytes * 8 / period_size"},
    {P::FrameBits, Op::MulKDiv, P::BufferBytes, P::BufferSize, 8, "frame_bits = buffer_bytes * 8 / buffer_size"},
    {P::Channels, Op::Div, P::FrameBits, P::SampleBits, 0, "channels = frame_bits / sample_bits"},
    {P::Rate, Op::RateOf, P::PeriodSize, P::PeriodTime, 0, "rate = period_size * 1e6 / period_time"},
    {P::Rate, Op::RateOf, P::BufferSize, P::BufferTime, 0, "rate = buffer_size * 1e6 / buffer_time"},
    {P::Periods, Op::Div, P::BufferSize, P::PeriodSize, 0, "periods = buffer_size / period_size"},
    {P::PeriodSize, Op::Div, P::BufferSize, P::Periods, 0, "period_size = buffer_size / periods"},
    {P::PeriodSize, Op::MulKDiv, P::PeriodBytes, P::FrameBits, 8, "period_size = period_bytes * 8 / frame_bits"},
    {P::PeriodSize, Op::FramesOf, P::PeriodTime, P::Rate, 0, "period_size = period_time * rate / 1e6"},
    {P::PeriodBytes, Op::MulDivK, P::PeriodSize, P::FrameBits, 8, "period_bytes = period_size * frame_bits / 8"},
    {P::PeriodTime, Op::TimeUs, P::PeriodSize, P::Rate, 0, "period_time = period_size * 1e6 / rate"},
    {P::BufferSize, Op::Mul, P::PeriodSize, P::Periods, 0, "buffer_size = period_size * periods"},
    {P::BufferSize, Op::MulKDiv, P::BufferBytes, P::FrameBits, 8, "buffer_size = buffer_bytes * 8 / frame_bits"},
    {P::BufferSize, Op::FramesOf, P::BufferTime, P::Rate, 0, "buffer_size = buffer_time * rate / 1e6"},
    {P::BufferBytes, Op::MulDivK, P::BufferSize, P::FrameBits, 8, "buffer_bytes = buffer_size * frame_bits / 8"},
    {P::BufferTime, Op::TimeUs, P::BufferSize, P::Rate, 0, "buffer_time = buffer_size * 1e6 / rate"},
};

Interval apply(const Relation& r, const Interval& a, const Interval& b) {
    switch (r.op) {
        case Op::Mul: return ops::mul(a, b);
        case Op::Div: return ops::div_exact(a, b);
        case Op::MulDivK: return ops::muldivk_exact(a, b, r.k);
        case Op::MulKDiv: return ops::mulkdiv_exact(a, r.k, b);
        case Op::TimeUs: return ops::time_us(a, b);
        case Op::FramesOf: return ops::frames_of(a, b);
        case Op::RateOf: return ops::rate_of(a, b);
    }
    return Interval::empty_set();
}

Interval physical_bits(FormatMask m) {
    Interval r = Interval::empty_set();
    int n = 0;
    const Format* all = all_formats(&n);
    for (int i = 0; i < n; ++i) {
        if (!m.has(all[i])) continue;
        const uint32_t w = format_info(all[i]).physical;
        if (r.empty()) r = Interval::single(w);
        r.min = std::min(r.min, w);
        r.max = std::max(r.max, w);
    }
    return r;
}

constexpr int kMaxPasses = 64;

}  // namespace

const char* hw_param_name(HwParam p) noexcept {
    static constexpr const char* kNames[kHwParamCount] = {
        "sample_bits", "frame_bits", "channels", "rate", "period_time", "period_size",
        "period_bytes", "periods", "buffer_time", "buffer_size", "buffer_bytes"};
    const auto i = static_cast<size_t>(p);
    return i < kHwParamCount ? kNames[i] : "?";
}

const char* access_name(Access a) noexcept {
    return a == Access::RwInterleaved ? "RW_INTERLEAVED" : "RW_NONINTERLEAVED";
}

void HwConstraints::add_list(HwParam p, std::vector<uint32_t> values) {
    std::sort(values.begin(), values.end());
    rules_.push_back({p, Rule::Kind::List, std::move(values), 0, 0});
}
void HwConstraints::add_step(HwParam p, uint32_t step) {
    rules_.push_back({p, Rule::Kind::Step, {}, step, 0});
}
void HwConstraints::add_minmax(HwParam p, uint32_t min, uint32_t max) {
    rules_.push_back({p, Rule::Kind::MinMax, {}, min, max});
}

HwParams HwParams::any(std::shared_ptr<const HwConstraints> constraints) {
    HwParams hp(std::move(constraints));
    const auto& caps = hp.constraints_->caps();
    hp.access_.bits &= caps.access.bits;
    hp.formats_ = hp.formats_ & caps.formats;
    auto& iv = hp.iv_;
    iv[index(P::Channels)].refine(caps.channels);
    iv[index(P::Rate)].refine(caps.rate);
    iv[index(P::PeriodBytes)].refine(caps.period_bytes);
    iv[index(P::Periods)].refine(caps.periods);
    iv[index(P::BufferBytes)].refine_max(caps.buffer_bytes_max);
    // Nothing below one is meaningful for these; zero would divide by zero downstream.
    for (P p : {P::Channels, P::Rate, P::PeriodSize, P::Periods, P::BufferSize, P::PeriodTime,
                P::BufferTime, P::SampleBits, P::FrameBits, P::PeriodBytes, P::BufferBytes})
        iv[index(p)].refine_min(1);
    // A broken constraint set leaves an empty space: every later call reports it.
    (void)hp.refine("hw_params_any");
    return hp;
}

Result<void> HwParams::refine(const std::string& what) {
    if (access_.empty()) return Error(-EINVAL, fmt::format("{}: no access type left", what));
    for (int pass = 0; pass < kMaxPasses; ++pass) {
        bool changed = false;

        // The format mask and sample_bits constrain each other.
        Interval sb = physical_bits(formats_);
        changed |= iv_[index(P::SampleBits)].refine(sb);
        int n = 0;
        const Format* all = all_formats(&n);
        for (int i = 0; i < n; ++i)
            if (formats_.has(all[i]) && !iv_[index(P::SampleBits)].contains(format_info(all[i]).physical)) {
                formats_.remove(all[i]);
                changed = true;
            }
        if (formats_.empty())
            return Error(-EINVAL, fmt::format("{}: no sample format left (sample_bits {})", what,
                                              iv_[index(P::SampleBits)].to_string()));

        for (const auto& rule : constraints_->rules_) {
            Interval& t = iv_[index(rule.param)];
            const Interval before = t;
            switch (rule.kind) {
                case HwConstraints::Rule::Kind::MinMax: changed |= t.refine({rule.a, rule.b}); break;
                case HwConstraints::Rule::Kind::Step: changed |= t.refine_step(rule.a); break;
                case HwConstraints::Rule::Kind::List: {
                    auto lo = std::lower_bound(rule.list.begin(), rule.list.end(), t.min);
                    auto hi = std::upper_bound(rule.list.begin(), rule.list.end(), t.max);
                    changed |= (lo >= hi) ? (t = Interval::empty_set(), true) : t.refine({*lo, *(hi - 1)});
                    break;
                }
            }
            if (t.empty())
                return Error(-EINVAL, fmt::format("{}: no configuration left: {} {} is not allowed by the "
                                                  "hardware's constraint",
                                                  what, hw_param_name(rule.param), before.to_string()));
        }

        for (const auto& r : kRelations) {
            Interval& t = iv_[index(r.target)];
            const Interval& a = iv_[index(r.a)];
            const Interval& b = iv_[index(r.b)];
            const Interval computed = apply(r, a, b);
            const Interval before = t;
            changed |= t.refine(computed);
            if (t.empty())
                return Error(-EINVAL,
                             fmt::format("{}: no configuration left: {} with {}={}, {}={} gives {}, "
                                         "but {} allows {}",
                                         what, r.text, hw_param_name(r.a), a.to_string(),
                                         hw_param_name(r.b), b.to_string(), computed.to_string(),
                                         hw_param_name(r.target), before.to_string()));
        }
        if (!changed) return ok();
    }
    return ok();  // every pass narrows integers, so this is only a safety bound
}

Result<void> HwParams::narrow(HwParam p, Interval to, const std::string& what) {
    const Interval& cur = iv_[index(p)];
    Interval next = cur;
    next.refine(to);
    if (next.empty()) {
        // Say which other parameters exclude the value, when a relation does.
        for (const auto& r : kRelations) {
            if (r.target != p) continue;
            const Interval& a = iv_[index(r.a)];
            const Interval& b = iv_[index(r.b)];
            Interval hit = apply(r, a, b);
            hit.refine(to);
            if (!hit.empty()) continue;
            return Error(-EINVAL, fmt::format("{}: {} {} conflicts with {}={}, {}={}: {} allows only {}", what,
                                              hw_param_name(p), to.to_string(), hw_param_name(r.a), a.to_string(),
                                              hw_param_name(r.b), b.to_string(), r.text, apply(r, a, b).to_string()));
        }
        return Error(-EINVAL, fmt::format("{}: {} {} is outside the allowed {}", what, hw_param_name(p),
                                          to.to_string(), cur.to_string()));
    }
    HwParams trial = *this;
    trial.iv_[index(p)] = next;
    if (auto r = trial.refine(what); !r) return r;
    *this = std::move(trial);
    return ok();
}

Result<void> HwParams::set(HwParam p, uint32_t v) {
    return narrow(p, Interval::single(v), fmt::format("set {}={}", hw_param_name(p), v));
}
Result<void> HwParams::set_min(HwParam p, uint32_t v) {
    return narrow(p, {v, Interval::kMax}, fmt::format("set {}>={}", hw_param_name(p), v));
}
Result<void> HwParams::set_max(HwParam p, uint32_t v) {
    return narrow(p, {0, v}, fmt::format("set {}<={}", hw_param_name(p), v));
}
Result<void> HwParams::set_minmax(HwParam p, uint32_t lo, uint32_t hi) {
    return narrow(p, {lo, hi}, fmt::format("set {} in {}..{}", hw_param_name(p), lo, hi));
}

Result<uint32_t> HwParams::set_first(HwParam p) {
    // An interval's end can be infeasible when relations that round interact (a minimum
    // buffer_bytes no frame size divides); step inwards until a value sticks.
    for (int attempt = 0; attempt < kMaxPasses; ++attempt) {
        const uint32_t v = iv_[index(p)].min;
        if (set(p, v)) return v;
        if (v == Interval::kMax || !set_min(p, v + 1)) break;
    }
    return Error(-EINVAL, fmt::format("no valid value for {} in {}", hw_param_name(p), iv_[index(p)].to_string()));
}

Result<uint32_t> HwParams::set_last(HwParam p) {
    for (int attempt = 0; attempt < kMaxPasses; ++attempt) {
        const uint32_t v = iv_[index(p)].max;
        if (set(p, v)) return v;
        if (v == 0 || !set_max(p, v - 1)) break;
    }
    return Error(-EINVAL, fmt::format("no valid value for {} in {}", hw_param_name(p), iv_[index(p)].to_string()));
}

Result<uint32_t> HwParams::set_near(HwParam p, uint32_t v) {
    // The best value at or below v, and the best at or above; keep the closer (lower on a tie).
    HwParams below = *this, above = *this;
    Result<uint32_t> lo = below.set_max(p, v) ? below.set_last(p) : Result<uint32_t>(Error(-EINVAL, ""));
    Result<uint32_t> hi = above.set_min(p, v) ? above.set_first(p) : Result<uint32_t>(Error(-EINVAL, ""));
    if (!lo && !hi)
        return Error(-EINVAL, fmt::format("set {}~{}: no value near it in {}", hw_param_name(p), v,
                                          iv_[index(p)].to_string()));
    const bool take_lo = lo && (!hi || v - *lo <= *hi - v);
    *this = take_lo ? std::move(below) : std::move(above);
    return take_lo ? *lo : *hi;
}

Result<void> HwParams::set_formats(FormatMask m) {
    const FormatMask next = formats_ & m;
    if (next.empty())
        return Error(-EINVAL, fmt::format("format {} is not supported (supported: {})", m.to_string(),
                                          formats_.to_string()));
    HwParams trial = *this;
    trial.formats_ = next;
    if (auto r = trial.refine(fmt::format("set format={}", m.to_string())); !r) return r;
    *this = std::move(trial);
    return ok();
}

Result<void> HwParams::set_format(Format f) { return set_formats(FormatMask::of(f)); }

Result<void> HwParams::set_access(Access a) {
    if (!access_.has(a))
        return Error(-EINVAL, fmt::format("access {} is not supported", access_name(a)));
    access_ = AccessMask::of(a);
    return ok();
}

Result<void> HwParams::choose() {
    if (!access_.single()) access_ = AccessMask::of(access_.first());
    if (!formats_.single())
        if (auto r = set_format(formats_.first()); !r) return r;
    for (P p : {P::Channels, P::Rate, P::PeriodTime})
        if (!interval(p).is_single())
            if (auto r = set_first(p); !r) return r.error();
    if (!interval(P::BufferSize).is_single())
        if (auto r = set_last(P::BufferSize); !r) return r.error();
    for (int i = 0; i < kHwParamCount; ++i) {
        const auto p = static_cast<P>(i);
        if (!interval(p).is_single())
            if (auto r = set_first(p); !r) return r.error();
    }
    return ok();
}

bool HwParams::is_chosen() const noexcept {
    if (!access_.single() || !formats_.single()) return false;
    return std::all_of(iv_.begin(), iv_.end(), [](const Interval& i) { return i.is_single(); });
}

std::string HwParams::to_string() const {
    std::string s = fmt::format("ACCESS:  {}\nFORMAT:  {}\n",
                                access_.single() ? access_name(access_.first()) : "RW_INTERLEAVED|RW_NONINTERLEAVED",
                                formats_.to_string());
    for (int i = 0; i < kHwParamCount; ++i) {
        const auto p = static_cast<P>(i);
        s += fmt::format("{:<13} {}\n", fmt::format("{}:", hw_param_name(p)), interval(p).to_string());
    }
    return s;
}

std::string HwParams::summary() const {
    return fmt::format("{} {}ch {}Hz period {} x {} (buffer {})", format_info(format()).name, channels(),
                       rate(), period_size(), periods(), buffer_size());
}

}  // namespace dynpcm

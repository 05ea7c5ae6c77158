#include "dynpcm/pcm/interval.h"

#include <fmt/format.h>

#include <algorithm>

namespace dynpcm {

namespace {
constexpr uint64_t kMax64 = Interval::kMax;
uint32_t sat(uint64_t v) { return v >= kMax64 ? Interval::kMax : static_cast<uint32_t>(v); }
uint64_t div_up(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }
// An unbounded end stays unbounded through any arithmetic.
bool inf(uint32_t v) { return v == Interval::kMax; }
}  // namespace

bool Interval::refine(const Interval& o) {
    const Interval before = *this;
    min = std::max(min, o.min);
    max = std::min(max, o.max);
    return !(before == *this);
}

bool Interval::refine_step(uint32_t step) {
    if (step <= 1 || empty()) return false;
    const Interval before = *this;
    const uint64_t lo = div_up(min, step) * step;
    const uint64_t hi = inf(max) ? kMax64 : uint64_t{max} / step * step;
    if (lo > hi || lo >= kMax64) {
        *this = empty_set();
    } else {
        min = static_cast<uint32_t>(lo);
        max = sat(hi);
    }
    return !(before == *this);
}

std::string Interval::to_string() const {
    if (empty()) return "(empty)";
    if (is_single()) return fmt::format("{}", min);
    if (inf(max)) return fmt::format("{}..inf", min);
    return fmt::format("{}..{}", min, max);
}

namespace interval_ops {

Interval mul(const Interval& a, const Interval& b) {
    if (a.empty() || b.empty()) return Interval::empty_set();
    const uint32_t lo = sat(uint64_t{a.min} * b.min);
    const uint32_t hi = (inf(a.max) && b.max) || (inf(b.max) && a.max)
                            ? Interval::kMax
                            : sat(uint64_t{a.max} * b.max);
    return {lo, hi};
}

Interval div_exact(const Interval& a, const Interval& b) {
    if (a.empty() || b.empty()) return Interval::empty_set();
    // q * d = n with n in a and d in b, q an integer: a.min/b.max <= q <= a.max/b.min.
    const uint32_t lo = inf(b.max) ? 0 : sat(div_up(a.min, std::max<uint32_t>(b.max, 1)));
    const uint32_t hi = (b.min == 0 || inf(a.max)) ? Interval::kMax : a.max / b.min;
    return {lo, hi};
}

Interval muldivk_exact(const Interval& a, const Interval& b, uint32_t k) {
    if (a.empty() || b.empty()) return Interval::empty_set();
    const uint32_t lo = sat(div_up(uint64_t{a.min} * b.min, k));
    const uint32_t hi = (inf(a.max) || inf(b.max)) ? Interval::kMax : sat(uint64_t{a.max} * b.max / k);
    return {lo, hi};
}

Interval mulkdiv_exact(const Interval& a, uint32_t k, const Interval& b) {
    if (a.empty() || b.empty()) return Interval::empty_set();
    const uint32_t lo = inf(b.max) ? 0 : sat(div_up(uint64_t{a.min} * k, std::max<uint32_t>(b.max, 1)));
    const uint32_t hi = (b.min == 0 || inf(a.max)) ? Interval::kMax : sat(uint64_t{a.max} * k / b.min);
    return {lo, hi};
}

constexpr uint64_t kUsec = 1000000;

Interval time_us(const Interval& frames, const Interval& rate) {
    if (frames.empty() || rate.empty()) return Interval::empty_set();
    const uint32_t lo = inf(rate.max) ? 0 : sat(uint64_t{frames.min} * kUsec / std::max<uint32_t>(rate.max, 1));
    const uint32_t hi = (inf(frames.max) || rate.min == 0) ? Interval::kMax : sat(uint64_t{frames.max} * kUsec / rate.min);
    return {lo, hi};
}

Interval frames_of(const Interval& time, const Interval& rate) {
    if (time.empty() || rate.empty()) return Interval::empty_set();
    // t <= f * 1e6 / r < t + 1  <=>  ceil(t * r / 1e6) <= f <= ceil((t + 1) * r / 1e6) - 1
    const uint32_t lo = sat(div_up(uint64_t{time.min} * rate.min, kUsec));
    if (inf(time.max) || inf(rate.max)) return {lo, Interval::kMax};
    const uint64_t hi = div_up((uint64_t{time.max} + 1) * rate.max, kUsec);
    return {lo, sat(hi == 0 ? 0 : hi - 1)};
}

Interval rate_of(const Interval& frames, const Interval& time) {
    if (frames.empty() || time.empty()) return Interval::empty_set();
    // t <= f * 1e6 / r < t + 1  <=>  f * 1e6 / (t + 1) < r <= f * 1e6 / t
    const uint32_t lo = inf(time.max) ? 0 : sat(uint64_t{frames.min} * kUsec / (uint64_t{time.max} + 1) + 1);
    const uint32_t hi = (inf(frames.max) || time.min == 0) ? Interval::kMax : sat(uint64_t{frames.max} * kUsec / time.min);
    return {lo, hi};
}

}  // namespace interval_ops
}  // namespace dynpcm

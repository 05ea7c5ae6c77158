#pragma once
/// Interval: a closed range of unsigned integers, the unit of the hw_params space
/// (the analogue of the kernel's struct snd_interval, restricted to integers).

#include <cstdint>
#include <limits>
#include <string>

namespace dynpcm {

/// [min, max], empty when min > max. UINT32_MAX as max means "unbounded".
/// Thread: any. Blocking: wait-free. Allocates: no (except to_string).
struct Interval {
    static constexpr uint32_t kMax = std::numeric_limits<uint32_t>::max();

    uint32_t min = 0;
    uint32_t max = kMax;

    static constexpr Interval full() { return {}; }
    static constexpr Interval single(uint32_t v) { return {v, v}; }
    static constexpr Interval empty_set() { return {1, 0}; }

    constexpr bool empty() const { return min > max; }
    constexpr bool is_single() const { return min == max; }
    constexpr bool contains(uint32_t v) const { return v >= min && v <= max; }
    constexpr bool operator==(const Interval&) const = default;

    /// Intersects with `o`. Returns true if this interval changed.
    bool refine(const Interval& o);
    bool refine_min(uint32_t v) { return refine({v, kMax}); }
    bool refine_max(uint32_t v) { return refine({0, v}); }
    /// Keeps only multiples of `step` (step > 0).
    bool refine_step(uint32_t step);
    /// "48000", "64..4096", "(empty)", "1..inf".
    std::string to_string() const;
};

/// Interval arithmetic used by the hw_params rules. Each returns a superset of the values the
/// relation allows (never loses a valid configuration), as tight as integers permit.
/// The "exact" ops are for relations whose result is an exact integer
/// (buffer_size = period_size * periods) and round inwards. Times are whole microseconds,
/// the exact duration rounded down (256 frames at 48 kHz last 5333 us), which keeps the time
/// relations exact too: time_us, frames_of and rate_of are that rounding and its inverses.
namespace interval_ops {
Interval mul(const Interval& a, const Interval& b);
Interval div_exact(const Interval& a, const Interval& b);
Interval muldivk_exact(const Interval& a, const Interval& b, uint32_t k);  ///< a*b/k
Interval mulkdiv_exact(const Interval& a, uint32_t k, const Interval& b);  ///< a*k/b
/// floor(frames * 1e6 / rate).
Interval time_us(const Interval& frames, const Interval& rate);
/// The frames whose duration rounds down to a time in `time` at a rate in `rate`.
Interval frames_of(const Interval& time, const Interval& rate);
/// The rates at which a frame count in `frames` lasts a time in `time`.
Interval rate_of(const Interval& frames, const Interval& time);
}  // namespace interval_ops

}  // namespace dynpcm

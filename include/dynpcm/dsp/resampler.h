#pragma once
/// Resampler: streaming sample-rate conversion of interleaved float frames, for the
/// realtime path. A fixed ratio is a speexdsp resampler: it allocates only in its init call and
/// processes in bounded time (why speexdsp and not soxr: docs/DATA_PATH.md, measured with
/// bench/bench_src). An adaptive one, whose ratio a drift loop moves a little at every period, is
/// a libsamplerate converter: speexdsp keeps its ratio as two 32-bit integers and its
/// rescaling overflows unless their product fits in 32 bits, so its finest step near 1:1 is
/// about 15 ppm (and a ratio it refuses leaves its state inconsistent); libsamplerate takes the
/// ratio as a double and glides to a new one across the next block (docs/DATA_PATH.md, "The
/// controller", measured with bench/bench_drift).

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dynpcm/core/result.h"

namespace dynpcm::dsp {

class Resampler {
public:
    /// The engine's default: speexdsp quality 5 (see docs/DATA_PATH.md for the measurements).
    static constexpr int kDefaultQuality = 5;

    /// Thread: control. Blocking: no. Allocates: yes. -EINVAL names the bad rate or quality.
    static Result<std::unique_ptr<Resampler>> create(unsigned channels, uint32_t in_rate, uint32_t out_rate,
                                                     int quality = kDefaultQuality);
    /// One whose output rate can be scaled in place, by up to ±`max_ppm`, for a follower in
    /// another clock domain (set_scale): libsamplerate's SRC_SINC_FASTEST. It exists even at
    /// equal rates. Thread: control. Allocates: yes.
    static Result<std::unique_ptr<Resampler>> create_adaptive(unsigned channels, uint32_t in_rate, uint32_t out_rate,
                                                              double max_ppm);
    /// Thread: control. Frees.
    ~Resampler();
    Resampler(const Resampler&) = delete;
    Resampler& operator=(const Resampler&) = delete;

    struct Done {
        size_t consumed;  ///< input frames used
        size_t produced;  ///< output frames written
    };
    /// Converts as much of `in` as fits in `out`. Thread: the one rt thread using it.
    /// Blocking: wait-free. Allocates: no.
    Done process(const float* in, size_t in_frames, float* out, size_t out_frames) noexcept;
    /// An adaptive resampler's output rate, scaled: out/in = (out_rate/in_rate) × scale, with
    /// scale clamped to 1 ± max_ppm; the next process() glides to it. Returns the scale in force.
    /// Thread: the one rt thread using it. Blocking: wait-free. Allocates: no.
    double set_scale(double scale) noexcept;
    /// The scale in force. Thread: the one rt thread using it. Blocking: wait-free.
    double scale() const noexcept { return scale_; }
    /// Made by create_adaptive(). Thread: any. Blocking: wait-free.
    bool adaptive() const noexcept { return max_ppm_ > 0; }
    /// Forgets the history (a new stream). Thread: the one user. Allocates: no.
    void reset() noexcept;

    /// Output frames by which an input frame is delayed. Thread: any.
    size_t latency() const noexcept;
    unsigned channels() const noexcept { return channels_; }
    uint32_t in_rate() const noexcept { return in_rate_; }
    uint32_t out_rate() const noexcept { return out_rate_; }

private:
    Resampler(void* state, unsigned channels, uint32_t in_rate, uint32_t out_rate)
        : state_(state), channels_(channels), in_rate_(in_rate), out_rate_(out_rate) {}
    void* state_;  // SpeexResamplerState, or SRC_STATE when adaptive; kept out of the public header
    unsigned channels_;
    uint32_t in_rate_;
    uint32_t out_rate_;
    double max_ppm_ = 0;
    double scale_ = 1.0;
    size_t latency_ = 0;  // adaptive: measured at creation
};

}  // namespace dynpcm::dsp

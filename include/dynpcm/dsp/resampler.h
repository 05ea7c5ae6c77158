#pragma once
/// Resampler: streaming sample-rate conversion of interleaved float frames, for the
/// realtime path. A thin owner of a speexdsp resampler: speexdsp allocates only in its init
/// call, processes in bounded time, and can change its ratio in place (for drift correction
/// later). Why speexdsp and not soxr: docs/DATA_PATH.md (measured with bench/bench_src).

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
    void* state_;  // SpeexResamplerState, kept out of the public header
    unsigned channels_;
    uint32_t in_rate_;
    uint32_t out_rate_;
};

}  // namespace dynpcm::dsp

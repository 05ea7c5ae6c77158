#include "dynpcm/dsp/resampler.h"

#include <fmt/format.h>
#include <speex/speex_resampler.h>

#include <cerrno>
#include <limits>

namespace dynpcm::dsp {

namespace {
SpeexResamplerState* st(void* p) { return static_cast<SpeexResamplerState*>(p); }
}  // namespace

Result<std::unique_ptr<Resampler>> Resampler::create(unsigned channels, uint32_t in_rate, uint32_t out_rate,
                                                     int quality) {
    if (channels == 0 || channels > 64) return Error(-EINVAL, fmt::format("resampler: {} channels", channels));
    if (in_rate == 0 || out_rate == 0)
        return Error(-EINVAL, fmt::format("resampler: rate {} -> {} Hz", in_rate, out_rate));
    if (quality < SPEEX_RESAMPLER_QUALITY_MIN || quality > SPEEX_RESAMPLER_QUALITY_MAX)
        return Error(-EINVAL, fmt::format("resampler: quality {} is outside {}..{}", quality,
                                          SPEEX_RESAMPLER_QUALITY_MIN, SPEEX_RESAMPLER_QUALITY_MAX));
    int err = 0;
    SpeexResamplerState* s = speex_resampler_init(channels, in_rate, out_rate, quality, &err);
    if (!s || err != RESAMPLER_ERR_SUCCESS)
        return Error(-ENOMEM, fmt::format("resampler: {} -> {} Hz: {}", in_rate, out_rate, speex_resampler_strerror(err)));
    // No skip_zeros: the filter delay comes out as leading silence, so the output count
    // tracks the rate ratio from the first call, which is what keeps a port's FIFO level steady.
    return std::unique_ptr<Resampler>(new Resampler(s, channels, in_rate, out_rate));
}

Resampler::~Resampler() { speex_resampler_destroy(st(state_)); }

Resampler::Done Resampler::process(const float* in, size_t in_frames, float* out, size_t out_frames) noexcept {
    constexpr size_t kMax = std::numeric_limits<spx_uint32_t>::max();
    auto in_len = static_cast<spx_uint32_t>(std::min(in_frames, kMax));
    auto out_len = static_cast<spx_uint32_t>(std::min(out_frames, kMax));
    speex_resampler_process_interleaved_float(st(state_), in, &in_len, out, &out_len);
    return {in_len, out_len};
}

void Resampler::reset() noexcept {
    speex_resampler_reset_mem(st(state_));
}

size_t Resampler::latency() const noexcept {
    return static_cast<size_t>(speex_resampler_get_output_latency(st(state_)));
}

}  // namespace dynpcm::dsp

#include "dynpcm/dsp/resampler.h"

#include <fmt/format.h>
#include <samplerate.h>
#include <speex/speex_resampler.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <vector>
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

Result<std::unique_ptr<Resampler>> Resampler::create_adaptive(unsigned channels, uint32_t in_rate, uint32_t out_rate,
                                                              double max_ppm) {
    if (!(max_ppm > 0 && max_ppm <= 50000))
        return Error(-EINVAL, fmt::format("resampler: adaptive range ±{} ppm is outside 0..50000", max_ppm));
    if (channels == 0 || channels > 64) return Error(-EINVAL, fmt::format("resampler: {} channels", channels));
    if (in_rate == 0 || out_rate == 0)
        return Error(-EINVAL, fmt::format("resampler: rate {} -> {} Hz", in_rate, out_rate));
    int err = 0;
    SRC_STATE* s = src_new(SRC_SINC_FASTEST, static_cast<int>(channels), &err);
    if (!s) return Error(-ENOMEM, fmt::format("resampler: {} -> {} Hz: {}", in_rate, out_rate, src_strerror(err)));
    std::unique_ptr<Resampler> r(new Resampler(s, channels, in_rate, out_rate));
    r->max_ppm_ = max_ppm;
    // Its delay, measured: where an impulse comes out.
    const size_t n = 4096;
    std::vector<float> in(n * channels, 0.0f), out(2 * n * channels, 0.0f);
    in[0] = 1.0f;
    const auto d = r->process(in.data(), n, out.data(), 2 * n);
    size_t peak = 0;
    for (size_t i = 0; i < d.produced; ++i)
        if (std::abs(out[i * channels]) > std::abs(out[peak * channels])) peak = i;
    r->latency_ = peak;
    r->reset();
    return r;
}

double Resampler::set_scale(double scale) noexcept {
    if (max_ppm_ <= 0) return 1.0;
    scale_ = std::clamp(scale, 1.0 - max_ppm_ * 1e-6, 1.0 + max_ppm_ * 1e-6);
    return scale_;
}

Resampler::~Resampler() {
    if (adaptive()) src_delete(static_cast<SRC_STATE*>(state_));
    else speex_resampler_destroy(st(state_));
}

Resampler::Done Resampler::process(const float* in, size_t in_frames, float* out, size_t out_frames) noexcept {
    if (adaptive()) {
        SRC_DATA d{};
        d.data_in = in;
        d.data_out = out;
        d.input_frames = static_cast<long>(in_frames);
        d.output_frames = static_cast<long>(out_frames);
        d.src_ratio = static_cast<double>(out_rate_) / in_rate_ * scale_;
        if (src_process(static_cast<SRC_STATE*>(state_), &d) != 0) return {in_frames, 0};
        return {static_cast<size_t>(d.input_frames_used), static_cast<size_t>(d.output_frames_gen)};
    }
    constexpr size_t kMax = std::numeric_limits<spx_uint32_t>::max();
    auto in_len = static_cast<spx_uint32_t>(std::min(in_frames, kMax));
    auto out_len = static_cast<spx_uint32_t>(std::min(out_frames, kMax));
    speex_resampler_process_interleaved_float(st(state_), in, &in_len, out, &out_len);
    return {in_len, out_len};
}

void Resampler::reset() noexcept {
    if (adaptive()) src_reset(static_cast<SRC_STATE*>(state_));
    else speex_resampler_reset_mem(st(state_));
}

size_t Resampler::latency() const noexcept {
    if (adaptive()) return latency_;
    return static_cast<size_t>(speex_resampler_get_output_latency(st(state_)));
}

}  // namespace dynpcm::dsp

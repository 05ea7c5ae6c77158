#include "dynpcm/dsp/mix.h"

#include <cmath>

#include "dsp/simd.h"


namespace dynpcm::dsp {

DYNPCM_SIMD_CLONES
void mix_add(float* __restrict acc, const float* __restrict src, size_t n, float gain) noexcept {
    if (gain == 1.0f) {
        for (size_t i = 0; i < n; ++i) acc[i] += src[i];
        return;
    }
    for (size_t i = 0; i < n; ++i) acc[i] += src[i] * gain;
}

DYNPCM_SIMD_CLONES
void mix_add_ramp(float* __restrict acc, const float* __restrict src, size_t frames, unsigned channels, float from,
                  float to) noexcept {
    if (frames == 0) return;
    const float step = (to - from) / static_cast<float>(frames);
    for (size_t f = 0; f < frames; ++f) {
        const float g = from + step * static_cast<float>(f + 1);
        for (unsigned c = 0; c < channels; ++c) acc[f * channels + c] += src[f * channels + c] * g;
    }
}

ChannelMap ChannelMap::standard(unsigned in, unsigned out) {
    ChannelMap m(in, out);
    if (in == 0 || out == 0) return m;
    if (in == 1) {
        for (unsigned o = 0; o < out; ++o) m.m_[o * in] = 1.0f;  // mono to every output
    } else if (out == 1) {
        for (unsigned i = 0; i < in; ++i) m.m_[i] = 1.0f / static_cast<float>(in);  // average down
    } else {
        for (unsigned o = 0; o < out && o < in; ++o) m.m_[o * in + o] = 1.0f;
    }
    m.identity_ = in == out;
    return m;
}

ChannelMap ChannelMap::by_index(unsigned in, const std::vector<int>& source) {
    ChannelMap m(in, static_cast<unsigned>(source.size()));
    bool identity = source.size() == in;
    for (unsigned o = 0; o < source.size(); ++o) {
        const int s = source[o];
        if (s >= 0 && static_cast<unsigned>(s) < in) m.m_[o * in + static_cast<unsigned>(s)] = 1.0f;
        identity = identity && s == static_cast<int>(o);
    }
    m.identity_ = identity;
    return m;
}

void ChannelMap::apply(const float* inbuf, float* outbuf, size_t frames) const noexcept {
    for (size_t f = 0; f < frames; ++f) {
        const float* x = inbuf + f * in_;
        float* y = outbuf + f * out_;
        for (unsigned o = 0; o < out_; ++o) {
            float sum = 0.0f;
            const float* row = m_.data() + static_cast<size_t>(o) * in_;
            for (unsigned i = 0; i < in_; ++i) sum += row[i] * x[i];
            y[o] = sum;
        }
    }
}

float db_to_gain(double db) noexcept {
    if (!(db > -144.0)) return 0.0f;
    return static_cast<float>(std::pow(10.0, db / 20.0));
}

}  // namespace dynpcm::dsp

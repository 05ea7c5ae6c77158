#pragma once
/// Mixing and channel mapping in the float mix format.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dynpcm::dsp {

/// acc[i] += src[i] * gain for `samples` samples. Float accumulation cannot wrap; saturation
/// happens once, in from_float(). Thread: any (rt-safe). Blocking: wait-free. Allocates: no.
void mix_add(float* acc, const float* src, size_t samples, float gain) noexcept;

/// A gain ramp: acc[i] += src[i] * g, g moving linearly from `from` to `to` over the frames
/// (same gain for every channel of a frame). For click-free route changes.
/// Thread: any (rt-safe). Blocking: wait-free. Allocates: no.
void mix_add_ramp(float* acc, const float* src, size_t frames, unsigned channels, float from, float to) noexcept;

/// How output channels are made from input channels: out[o] = sum over i of gain(o, i) * in[i].
/// Thread: build on control; apply() is rt-safe.
class ChannelMap {
public:
    /// The usual maps: identity for equal counts, mono duplicated to every output, stereo (or
    /// more) averaged down to mono, and otherwise channel i to output i with extra outputs
    /// silent. Thread: control. Allocates: yes.
    static ChannelMap standard(unsigned in_channels, unsigned out_channels);
    /// Output o takes input `source[o]`; a negative entry makes that output silent.
    static ChannelMap by_index(unsigned in_channels, const std::vector<int>& source);

    unsigned in_channels() const noexcept { return in_; }
    unsigned out_channels() const noexcept { return out_; }
    float gain(unsigned out, unsigned in) const noexcept { return m_[out * in_ + in]; }
    bool identity() const noexcept { return identity_; }

    /// Remaps `frames` frames from `in` (in_channels wide) into `out` (out_channels wide),
    /// overwriting it. `in` and `out` must not overlap. Thread: any (rt-safe). Blocking:
    /// wait-free. Allocates: no.
    void apply(const float* in, float* out, size_t frames) const noexcept;

private:
    ChannelMap(unsigned in, unsigned out) : in_(in), out_(out), m_(static_cast<size_t>(in) * out, 0.0f) {}
    unsigned in_;
    unsigned out_;
    std::vector<float> m_;
    bool identity_ = false;
};

/// dB to linear gain (0 dB -> 1.0); -inf or below -144 dB -> 0. Thread: any.
float db_to_gain(double db) noexcept;

}  // namespace dynpcm::dsp

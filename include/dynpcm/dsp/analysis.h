#pragma once
/// Audio analysis of captured output: levels, the dominant tone, the largest sample-to-sample
/// step (clicks) and plain signal presence. The scenario runner uses these to check what a
/// back-end played against a scenario's expectations.
///
/// Input everywhere is interleaved float in the mix format (full scale ±1.0): `frames`
/// frames of `channels` samples each. Levels are in dBFS relative to full scale 1.0, so a
/// full-scale sine has a peak of 0 dBFS and an RMS of -3.01 dBFS; silence is -infinity,
/// never NaN.
///
/// These are control-thread helpers, not for the realtime path: they run in time
/// proportional to the input, and dominant_tone() allocates (the FFT buffer).

#include <cstddef>
#include <optional>

namespace dynpcm::dsp {

/// One channel's levels, in dBFS. -infinity for silence (or no frames).
struct Level {
    double peak_dbfs;  ///< largest |sample|
    double rms_dbfs;   ///< root mean square over all frames
};

/// Peak and RMS of channel `channel` of `x`. A channel outside [0, channels) reads as
/// silence. Thread: control (any; touches only its arguments). Blocking: no. Allocates: no.
Level level(const float* x, size_t frames, unsigned channels, unsigned channel) noexcept;

/// A sinusoidal component: its frequency and its peak amplitude (a full-scale sine is 0 dBFS).
struct Tone {
    double frequency_hz;
    double amplitude_dbfs;
};

/// The strongest spectral peak of channel `channel` at sample rate `rate`. Analyses the
/// largest power-of-two window that fits in the input, at most 2^18 frames, taken from the
/// middle of the input (away from fade-ins and drains): the window's mean is removed, a
/// 4-term Blackman-Harris window applied, the peak bin found with a radix-2 FFT, placed
/// between bins by parabolic interpolation on the log magnitude, and then refined to the
/// maximum of the windowed signal's spectrum evaluated directly at arbitrary frequencies.
/// For a pure sine of 16384 frames or more at 48 kHz this gives the frequency within 0.01 Hz
/// and the amplitude within 0.01 dB (see tests/unit/analysis_test.cpp).
/// nullopt for fewer than 256 frames, a channel outside [0, channels), a rate that is not
/// positive, silence (every sample below -120 dBFS) or a constant (DC only) signal.
/// Thread: control. Blocking: no (O(n log n) work). Allocates: yes (the FFT buffer).
std::optional<Tone> dominant_tone(const float* x, size_t frames, unsigned channels, unsigned channel,
                                  double rate);

/// THD+N of a single tone on channel `channel`, in dB relative to the tone: in blocks of 16384
/// frames, the best-fitting sine (frequency, amplitude, phase and DC: the four-parameter fit of
/// IEEE 1057, started from dominant_tone()) is taken out, and what is left over every block
/// (harmonics, noise, and any modulation faster than a block's length, 0.34 s at 48 kHz) is
/// summed against the tone's power. Fitting each block follows a tone whose pitch wanders
/// slowly (a drifting clock), which a single FFT over the whole input would smear into noise.
/// nullopt with fewer than 16384 frames or no tone. Thread: control. Allocates: yes.
std::optional<double> thd_n(const float* x, size_t frames, unsigned channels, unsigned channel, double rate);

/// The largest sample-to-sample jump on any channel: |x[frame][channel] - x[frame-1][channel]|.
struct Step {
    size_t frame;    ///< the frame the jump lands on (>= 1 unless there is no step at all)
    unsigned channel;
    float size;      ///< 0 when there are fewer than two frames
};

/// The largest step over all channels and frames; the earliest one on ties (lowest frame, then
/// lowest channel). Frame 0 has no step. Thread: control (any). Blocking: no. Allocates: no.
Step max_step(const float* x, size_t frames, unsigned channels) noexcept;

/// Whether any channel's RMS level is above `threshold_dbfs`. False for no frames.
/// Thread: control (any). Blocking: no. Allocates: no.
bool present(const float* x, size_t frames, unsigned channels, double threshold_dbfs = -60) noexcept;

}  // namespace dynpcm::dsp

#include "dynpcm/dsp/analysis.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <numbers>
#include <utility>
#include <vector>

namespace dynpcm::dsp {
namespace {

using cplx = std::complex<double>;

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr size_t kMinWindow = 256;
constexpr size_t kMaxWindow = size_t{1} << 18;
constexpr double kSilence = 1e-6;  // -120 dBFS

double amplitude_to_db(double a) { return a > 0.0 ? 20.0 * std::log10(a) : kNegInf; }
double power_to_db(double p) { return p > 0.0 ? 10.0 * std::log10(p) : kNegInf; }

// In-place iterative radix-2 FFT (forward, no scaling); a.size() must be a power of two.
void fft(std::vector<cplx>& a) {
    const size_t n = a.size();
    if (n < 2) return;
    // Bit-reversal permutation.
    for (size_t i = 1, j = 0; i < n; ++i) {
        size_t bit = n >> 1;
        for (; (j & bit) != 0; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(a[i], a[j]);
    }
    // Twiddles computed directly (not by recurrence) so the large sizes stay accurate.
    std::vector<cplx> tw(n / 2);
    const double base = -2.0 * std::numbers::pi / static_cast<double>(n);
    for (size_t k = 0; k < n / 2; ++k) tw[k] = std::polar(1.0, base * static_cast<double>(k));
    for (size_t len = 2; len <= n; len <<= 1) {
        const size_t half = len / 2;
        const size_t stride = n / len;
        for (size_t start = 0; start < n; start += len) {
            for (size_t k = 0; k < half; ++k) {
                const cplx u = a[start + k];
                const cplx v = a[start + k + half] * tw[k * stride];
                a[start + k] = u + v;
                a[start + k + half] = u - v;
            }
        }
    }
}

// |sum y[n] e^{-i 2 pi b n / N}|^2: the windowed signal's spectrum at fractional bin b. The
// phasor is advanced by multiplication and re-seeded exactly every 1024 samples so the
// rounding cannot build up over long windows.
double power_at(const std::vector<double>& y, double b) {
    const size_t n = y.size();
    const double omega = -2.0 * std::numbers::pi * b / static_cast<double>(n);
    const cplx rot = std::polar(1.0, omega);
    cplx acc{0.0, 0.0};
    cplx p{1.0, 0.0};
    for (size_t i = 0; i < n; ++i) {
        if ((i & 1023) == 0) p = std::polar(1.0, omega * static_cast<double>(i));
        acc += y[i] * p;
        p *= rot;
    }
    return std::norm(acc);
}

}  // namespace

Level level(const float* x, size_t frames, unsigned channels, unsigned channel) noexcept {
    if (frames == 0 || channel >= channels) return {kNegInf, kNegInf};
    double peak = 0.0;
    double sum_sq = 0.0;
    for (size_t f = 0; f < frames; ++f) {
        const double v = static_cast<double>(x[f * channels + channel]);
        peak = std::max(peak, std::fabs(v));
        sum_sq += v * v;
    }
    return {amplitude_to_db(peak), power_to_db(sum_sq / static_cast<double>(frames))};
}

std::optional<Tone> dominant_tone(const float* x, size_t frames, unsigned channels, unsigned channel,
                                  double rate) {
    if (frames < kMinWindow || channel >= channels || !(rate > 0.0)) return std::nullopt;
    size_t n = kMinWindow;
    while (n * 2 <= frames && n * 2 <= kMaxWindow) n *= 2;
    const size_t first = (frames - n) / 2;

    // The window's samples with their mean removed, so a DC offset cannot be the "tone".
    std::vector<double> y(n);
    double mean = 0.0;
    for (size_t i = 0; i < n; ++i) {
        y[i] = static_cast<double>(x[(first + i) * channels + channel]);
        mean += y[i];
    }
    mean /= static_cast<double>(n);
    double deviation = 0.0;
    for (double& v : y) {
        v -= mean;
        deviation = std::max(deviation, std::fabs(v));
    }
    if (deviation < kSilence) return std::nullopt;  // silence, or DC only

    // 4-term Blackman-Harris (periodic form): sidelobes at -92 dB, main lobe +-4 bins.
    constexpr double a0 = 0.35875, a1 = 0.48829, a2 = 0.14128, a3 = 0.01168;
    const double step = 2.0 * std::numbers::pi / static_cast<double>(n);
    double coherent_gain = 0.0;
    for (size_t i = 0; i < n; ++i) {
        const double t = step * static_cast<double>(i);
        const double w = a0 - a1 * std::cos(t) + a2 * std::cos(2.0 * t) - a3 * std::cos(3.0 * t);
        y[i] *= w;
        coherent_gain += w;
    }

    std::vector<cplx> spec(y.begin(), y.end());
    fft(spec);
    size_t k = 1;
    double best = -1.0;
    for (size_t i = 1; i < n / 2; ++i) {
        const double p = std::norm(spec[i]);
        if (p > best) {
            best = p;
            k = i;
        }
    }
    if (!(best > 0.0)) return std::nullopt;

    // Parabolic interpolation on the log magnitude (the vertex is the same for log power).
    constexpr double kTiny = 1e-300;
    const double lm = std::log(std::norm(spec[k - 1]) + kTiny);
    const double l0 = std::log(best + kTiny);
    const double lp = std::log(std::norm(spec[k + 1]) + kTiny);
    const double denom = lm - 2.0 * l0 + lp;
    double delta = denom < 0.0 ? 0.5 * (lm - lp) / denom : 0.0;
    delta = std::clamp(delta, -0.5, 0.5);

    // Refine: golden-section search for the spectrum's maximum within half a bin of the
    // interpolated peak. For a sine the windowed spectrum peaks at its true frequency (up to
    // the -92 dB leakage of its negative-frequency image), whatever the bin offset.
    const double invphi = (std::sqrt(5.0) - 1.0) / 2.0;
    double lo = static_cast<double>(k) + delta - 0.5;
    double hi = static_cast<double>(k) + delta + 0.5;
    double c = hi - invphi * (hi - lo);
    double d = lo + invphi * (hi - lo);
    double pc = power_at(y, c);
    double pd = power_at(y, d);
    for (int it = 0; it < 40 && hi - lo > 1e-7; ++it) {
        if (pc > pd) {
            hi = d;
            d = c;
            pd = pc;
            c = hi - invphi * (hi - lo);
            pc = power_at(y, c);
        } else {
            lo = c;
            c = d;
            pc = pd;
            d = lo + invphi * (hi - lo);
            pd = power_at(y, d);
        }
    }
    const double bin = pc > pd ? c : d;
    const double peak_power = std::max(pc, pd);

    const double amplitude = 2.0 * std::sqrt(peak_power) / coherent_gain;
    return Tone{bin * rate / static_cast<double>(n), amplitude_to_db(amplitude)};
}

Step max_step(const float* x, size_t frames, unsigned channels) noexcept {
    Step best{0, 0, 0.0f};
    for (size_t f = 1; f < frames; ++f) {
        for (unsigned c = 0; c < channels; ++c) {
            const float s = std::fabs(x[f * channels + c] - x[(f - 1) * channels + c]);
            if (s > best.size) best = {f, c, s};
        }
    }
    return best;
}

bool present(const float* x, size_t frames, unsigned channels, double threshold_dbfs) noexcept {
    for (unsigned c = 0; c < channels; ++c) {
        if (level(x, frames, channels, c).rms_dbfs > threshold_dbfs) return true;
    }
    return false;
}

namespace {

// Solves the 4x4 system m·x = v in place (Gaussian elimination with partial pivoting).
bool solve4(double m[4][4], double v[4]) {
    for (int c = 0; c < 4; ++c) {
        int p = c;
        for (int r = c + 1; r < 4; ++r)
            if (std::abs(m[r][c]) > std::abs(m[p][c])) p = r;
        if (std::abs(m[p][c]) < 1e-300) return false;
        std::swap(m[p], m[c]);
        std::swap(v[p], v[c]);
        for (int r = c + 1; r < 4; ++r) {
            const double f = m[r][c] / m[c][c];
            for (int k = c; k < 4; ++k) m[r][k] -= f * m[c][k];
            v[r] -= f * v[c];
        }
    }
    for (int c = 3; c >= 0; --c) {
        for (int k = c + 1; k < 4; ++k) v[c] -= m[c][k] * v[k];
        v[c] /= m[c][c];
    }
    return true;
}

}  // namespace

std::optional<double> thd_n(const float* x, size_t frames, unsigned channels, unsigned channel, double rate) {
    constexpr size_t kBlock = 16384;
    if (frames < kBlock || channel >= channels || rate <= 0) return std::nullopt;
    double residual = 0, tone = 0;
    std::vector<double> y(kBlock);
    for (size_t start = 0; start + kBlock <= frames; start += kBlock) {
        const float* b = x + start * channels;
        const auto t0 = dominant_tone(b, kBlock, channels, channel, rate);
        if (!t0) return std::nullopt;
        for (size_t i = 0; i < kBlock; ++i) y[i] = static_cast<double>(b[i * channels + channel]);
        // Time centred in the block, in samples, keeps the fit well conditioned.
        const double mid = (kBlock - 1) / 2.0;
        double w = 2.0 * std::numbers::pi * t0->frequency_hz / rate, a = 0, c = 0, dc = 0;
        for (int iter = 0; iter < 8; ++iter) {
            // Three-parameter fit at w first (amplitudes), then the four-parameter step in w.
            double m[4][4] = {}, v[4] = {};
            for (size_t i = 0; i < kBlock; ++i) {
                const double t = static_cast<double>(i) - mid, cs = std::cos(w * t), sn = std::sin(w * t);
                const double col[4] = {cs, sn, 1.0, iter == 0 ? 0.0 : t * (-a * sn + c * cs)};
                for (int r = 0; r < 4; ++r) {
                    for (int k = 0; k < 4; ++k) m[r][k] += col[r] * col[k];
                    v[r] += col[r] * y[i];
                }
            }
            if (iter == 0) m[3][3] = 1.0;  // no frequency step on the first pass
            if (!solve4(m, v)) return std::nullopt;
            a = v[0];
            c = v[1];
            dc = v[2];
            if (iter > 0) w += v[3];
        }
        for (size_t i = 0; i < kBlock; ++i) {
            const double t = static_cast<double>(i) - mid;
            const double fit = a * std::cos(w * t) + c * std::sin(w * t) + dc;
            residual += (y[i] - fit) * (y[i] - fit);
        }
        tone += (a * a + c * c) / 2.0 * kBlock;
    }
    if (tone <= 0) return std::nullopt;
    return power_to_db(residual / tone);
}

}  // namespace dynpcm::dsp

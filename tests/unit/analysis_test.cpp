// Audio analysis (dsp/analysis.h): the checks the scenario runner makes on what a back-end
// played. Tone estimates are held to 0.1 Hz and 0.1 dB for off-bin sines; the worst errors
// seen are printed so a regression in accuracy shows before it fails.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>
#include <optional>
#include <random>
#include <vector>

#include "dynpcm/dsp/analysis.h"

namespace dynpcm::dsp {
namespace {

struct Sine {
    double hz;
    double dbfs;  // peak amplitude
    double phase = 0.0;
};

double db_to_amp(double db) { return std::pow(10.0, db / 20.0); }

// Interleaved float frames, one sine per channel (an amplitude of -inf dBFS gives silence).
std::vector<float> sines(size_t frames, double rate, const std::vector<Sine>& per_channel) {
    const size_t ch = per_channel.size();
    std::vector<float> x(frames * ch);
    for (size_t c = 0; c < ch; ++c) {
        const Sine& s = per_channel[c];
        const double a = db_to_amp(s.dbfs);
        const double w = 2.0 * std::numbers::pi * s.hz / rate;
        for (size_t f = 0; f < frames; ++f)
            x[f * ch + c] = static_cast<float>(a * std::sin(w * static_cast<double>(f) + s.phase));
    }
    return x;
}

// Gaussian white noise with the given RMS level, added to channel `c` of `x`.
void add_noise(std::vector<float>& x, unsigned channels, unsigned c, double rms_dbfs, unsigned seed) {
    std::mt19937 gen(seed);
    std::normal_distribution<double> dist(0.0, db_to_amp(rms_dbfs));
    for (size_t f = 0; f < x.size() / channels; ++f)
        x[f * channels + c] = static_cast<float>(static_cast<double>(x[f * channels + c]) + dist(gen));
}

constexpr double kSineRmsDb = -3.0102999566398120;  // 20 log10(1/sqrt 2)

TEST(Analysis, ToneFrequencyAndAmplitudeAreAccurateOffBin) {
    const double rates[] = {44100.0, 48000.0};
    const double freqs[] = {50.0, 997.0, 1000.0, 3141.6, 12345.6, 19999.3};
    const double levels[] = {0.0, -6.0, -20.0, -60.0};
    const size_t windows[] = {16384, 65536};
    double worst_hz = 0.0;
    double worst_db = 0.0;
    int cases = 0;
    for (double rate : rates) {
        for (double hz : freqs) {
            for (double db : levels) {
                for (size_t n : windows) {
                    const double phase = 0.37 * static_cast<double>(++cases);
                    const auto x = sines(n, rate, {{hz, db, phase}});
                    const auto t = dominant_tone(x.data(), n, 1, 0, rate);
                    ASSERT_TRUE(t.has_value()) << hz << " Hz " << db << " dBFS " << rate << " Hz rate " << n;
                    EXPECT_NEAR(t->frequency_hz, hz, 0.1) << db << " dBFS " << rate << " Hz rate, " << n << " frames";
                    EXPECT_NEAR(t->amplitude_dbfs, db, 0.1) << hz << " Hz " << rate << " Hz rate, " << n << " frames";
                    worst_hz = std::max(worst_hz, std::fabs(t->frequency_hz - hz));
                    worst_db = std::max(worst_db, std::fabs(t->amplitude_dbfs - db));
                }
            }
        }
    }
    std::printf("[ measure  ] %d sines: worst frequency error %.6f Hz, worst amplitude error %.6f dB\n", cases,
                worst_hz, worst_db);
}

TEST(Analysis, ToneIsAccurateAcrossTheBandAt48k) {
    // 300 frequencies spread over 50 Hz .. 20 kHz with arbitrary offsets from the bin centres.
    std::mt19937 gen(12345);
    std::uniform_real_distribution<double> hz_dist(50.0, 20000.0);
    std::uniform_real_distribution<double> db_dist(-60.0, 0.0);
    std::uniform_real_distribution<double> phase_dist(0.0, 2.0 * std::numbers::pi);
    double worst_hz = 0.0;
    double worst_db = 0.0;
    for (int i = 0; i < 300; ++i) {
        const double hz = hz_dist(gen);
        const double db = db_dist(gen);
        const auto x = sines(16384, 48000.0, {{hz, db, phase_dist(gen)}});
        const auto t = dominant_tone(x.data(), 16384, 1, 0, 48000.0);
        ASSERT_TRUE(t.has_value()) << hz;
        EXPECT_NEAR(t->frequency_hz, hz, 0.1) << db << " dBFS";
        EXPECT_NEAR(t->amplitude_dbfs, db, 0.1) << hz << " Hz";
        worst_hz = std::max(worst_hz, std::fabs(t->frequency_hz - hz));
        worst_db = std::max(worst_db, std::fabs(t->amplitude_dbfs - db));
    }
    std::printf("[ measure  ] 300 random sines, 16384 frames at 48 kHz: worst %.6f Hz, %.6f dB\n", worst_hz,
                worst_db);
}

TEST(Analysis, ToneUsesAPowerOfTwoWindowFromLongerInput) {
    // 50000 frames: a 32768-frame window from the middle; a click at the very start is outside.
    auto x = sines(50000, 48000.0, {{440.25, -12.0}});
    x[3] = 1.0f;
    const auto t = dominant_tone(x.data(), x.size(), 1, 0, 48000.0);
    ASSERT_TRUE(t.has_value());
    EXPECT_NEAR(t->frequency_hz, 440.25, 0.1);
    EXPECT_NEAR(t->amplitude_dbfs, -12.0, 0.1);
}

TEST(Analysis, ToneIgnoresADcOffset) {
    auto x = sines(16384, 48000.0, {{2500.5, -20.0}});
    for (float& v : x) v += 0.5f;
    const auto t = dominant_tone(x.data(), x.size(), 1, 0, 48000.0);
    ASSERT_TRUE(t.has_value());
    EXPECT_NEAR(t->frequency_hz, 2500.5, 0.1);
    EXPECT_NEAR(t->amplitude_dbfs, -20.0, 0.1);
}

TEST(Analysis, StereoToneReadsTheRequestedChannel) {
    const auto x = sines(32768, 48000.0, {{440.7, -6.0, 0.1}, {5432.1, -18.0, 1.3}});
    const auto left = dominant_tone(x.data(), 32768, 2, 0, 48000.0);
    const auto right = dominant_tone(x.data(), 32768, 2, 1, 48000.0);
    ASSERT_TRUE(left.has_value());
    ASSERT_TRUE(right.has_value());
    EXPECT_NEAR(left->frequency_hz, 440.7, 0.1);
    EXPECT_NEAR(left->amplitude_dbfs, -6.0, 0.1);
    EXPECT_NEAR(right->frequency_hz, 5432.1, 0.1);
    EXPECT_NEAR(right->amplitude_dbfs, -18.0, 0.1);
    EXPECT_FALSE(dominant_tone(x.data(), 32768, 2, 2, 48000.0).has_value());  // no such channel
}

TEST(Analysis, ToneInNoiseFortyDbDownIsStillFound) {
    const double freqs[] = {997.0, 3141.6, 12345.6};
    unsigned seed = 1;
    double worst_hz = 0.0;
    for (double hz : freqs) {
        for (double rate : {44100.0, 48000.0}) {
            auto x = sines(16384, rate, {{hz, -6.0, 0.5}});
            add_noise(x, 1, 0, -6.0 + kSineRmsDb - 40.0, seed++);  // noise RMS 40 dB below the tone's
            const auto t = dominant_tone(x.data(), x.size(), 1, 0, rate);
            ASSERT_TRUE(t.has_value());
            EXPECT_NEAR(t->frequency_hz, hz, 0.5) << rate;
            EXPECT_NEAR(t->amplitude_dbfs, -6.0, 0.5) << hz << " Hz at " << rate;
            worst_hz = std::max(worst_hz, std::fabs(t->frequency_hz - hz));
        }
    }
    std::printf("[ measure  ] tone with noise 40 dB down: worst frequency error %.6f Hz\n", worst_hz);
}

TEST(Analysis, SilenceHasNoToneAndMinusInfinityLevels) {
    const std::vector<float> zero(2 * 16384, 0.0f);
    EXPECT_FALSE(dominant_tone(zero.data(), 16384, 2, 0, 48000.0).has_value());
    EXPECT_FALSE(dominant_tone(zero.data(), 16384, 2, 1, 48000.0).has_value());
    const Level l = level(zero.data(), 16384, 2, 1);
    EXPECT_TRUE(std::isinf(l.peak_dbfs) && l.peak_dbfs < 0);
    EXPECT_TRUE(std::isinf(l.rms_dbfs) && l.rms_dbfs < 0);
    EXPECT_EQ(l.peak_dbfs, -std::numeric_limits<double>::infinity());
    EXPECT_EQ(l.rms_dbfs, -std::numeric_limits<double>::infinity());

    // Below -120 dBFS counts as silence too; so does a constant (DC only).
    const auto faint = sines(16384, 48000.0, {{1000.0, -130.0}});
    EXPECT_FALSE(dominant_tone(faint.data(), faint.size(), 1, 0, 48000.0).has_value());
    const std::vector<float> dc(16384, 0.25f);
    EXPECT_FALSE(dominant_tone(dc.data(), dc.size(), 1, 0, 48000.0).has_value());

    // No frames, or a channel that does not exist: -inf, not NaN.
    const Level none = level(zero.data(), 0, 2, 0);
    EXPECT_EQ(none.peak_dbfs, -std::numeric_limits<double>::infinity());
    EXPECT_EQ(none.rms_dbfs, -std::numeric_limits<double>::infinity());
    const Level bad = level(zero.data(), 16384, 2, 5);
    EXPECT_FALSE(std::isnan(bad.peak_dbfs) || std::isnan(bad.rms_dbfs));
}

TEST(Analysis, TooShortOrBadArgumentsGiveNoTone) {
    const auto x = sines(1024, 48000.0, {{3000.0, -6.0}});
    EXPECT_FALSE(dominant_tone(x.data(), 255, 1, 0, 48000.0).has_value());
    EXPECT_FALSE(dominant_tone(x.data(), 0, 1, 0, 48000.0).has_value());
    EXPECT_FALSE(dominant_tone(x.data(), 1024, 1, 0, 0.0).has_value());
    EXPECT_FALSE(dominant_tone(x.data(), 1024, 0, 0, 48000.0).has_value());
    // 256 frames is enough for a rough answer (bins are 187.5 Hz wide here).
    const auto t = dominant_tone(x.data(), 256, 1, 0, 48000.0);
    ASSERT_TRUE(t.has_value());
    EXPECT_NEAR(t->frequency_hz, 3000.0, 5.0);
    EXPECT_NEAR(t->amplitude_dbfs, -6.0, 0.5);
}

TEST(Analysis, LevelOfASine) {
    for (double db : {0.0, -6.0, -20.0, -60.0}) {
        const auto x = sines(48000, 48000.0, {{997.0, db, 0.2}, {1000.0, -90.0}});
        const Level l = level(x.data(), 48000, 2, 0);
        EXPECT_NEAR(l.peak_dbfs, db, 0.05);
        EXPECT_NEAR(l.rms_dbfs, db + kSineRmsDb, 0.05);
        const Level other = level(x.data(), 48000, 2, 1);
        EXPECT_NEAR(other.peak_dbfs, -90.0, 0.05);
        EXPECT_NEAR(other.rms_dbfs, -90.0 + kSineRmsDb, 0.05);
    }
}

TEST(Analysis, MaxStepFindsAnInjectedJump) {
    // A quiet, slow sine (steps of at most ~0.0033) on both channels; channel 1 jumps by 0.5 at
    // frame 12345 and stays there.
    auto x = sines(48000, 48000.0, {{100.0, -12.0}, {100.0, -12.0, 1.0}});
    for (size_t f = 12345; f < 48000; ++f) x[f * 2 + 1] += 0.5f;
    const Step s = max_step(x.data(), 48000, 2);
    EXPECT_EQ(s.frame, 12345u);
    EXPECT_EQ(s.channel, 1u);
    EXPECT_FLOAT_EQ(s.size, std::fabs(x[12345 * 2 + 1] - x[12344 * 2 + 1]));
    EXPECT_NEAR(s.size, 0.5f, 0.004f);

    // A negative jump on channel 0 that is bigger still.
    x[30000 * 2] -= 0.9f;
    const Step s2 = max_step(x.data(), 48000, 2);
    EXPECT_EQ(s2.frame, 30000u);
    EXPECT_EQ(s2.channel, 0u);
    EXPECT_NEAR(s2.size, 0.9f, 0.004f);
}

TEST(Analysis, MaxStepOfTooFewFramesIsZero) {
    const float one[2] = {1.0f, -1.0f};
    const Step s = max_step(one, 1, 2);
    EXPECT_EQ(s.size, 0.0f);
    EXPECT_EQ(s.frame, 0u);
    EXPECT_EQ(max_step(one, 0, 2).size, 0.0f);
    // A jump of exactly full scale between frame 0 and 1, mono.
    EXPECT_EQ(max_step(one, 2, 1).frame, 1u);
    EXPECT_EQ(max_step(one, 2, 1).size, 2.0f);
}

TEST(Analysis, PresentAgainstTheThreshold) {
    const auto tone = sines(48000, 48000.0, {{1000.0, -40.0}});
    EXPECT_TRUE(present(tone.data(), tone.size(), 1));

    const std::vector<float> zero(2 * 4800, 0.0f);
    EXPECT_FALSE(present(zero.data(), 4800, 2));
    EXPECT_FALSE(present(zero.data(), 0, 2));

    std::vector<float> noise(2 * 48000, 0.0f);
    add_noise(noise, 2, 1, -80.0, 7);
    EXPECT_FALSE(present(noise.data(), 48000, 2, -60.0));
    EXPECT_TRUE(present(noise.data(), 48000, 2, -90.0));  // ...but it is there

    // Either channel counts: silence on the left, the -40 dBFS tone on the right.
    auto stereo = sines(4800, 48000.0, {{1000.0, -200.0}, {1000.0, -40.0}});
    EXPECT_TRUE(present(stereo.data(), 4800, 2));
    EXPECT_FALSE(present(stereo.data(), 4800, 2, -30.0));
}

}  // namespace
}  // namespace dynpcm::dsp

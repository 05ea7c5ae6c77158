// Format conversion and mixing in the float mix format: exact where the formats allow it.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "dynpcm/dsp/convert.h"
#include "dynpcm/dsp/mix.h"

namespace dynpcm::dsp {
namespace {

template <class T>
std::vector<T> round_trip(Format f, const std::vector<T>& in, size_t samples) {
    std::vector<float> mid(samples);
    to_float(f, in.data(), mid.data(), samples);
    std::vector<T> out(in.size());
    from_float(f, mid.data(), out.data(), samples);
    return out;
}

TEST(DspConvert, EverySixteenBitSampleSurvivesTheRoundTripExactly) {
    std::vector<int16_t> all(65536);
    for (int i = 0; i < 65536; ++i) all[static_cast<size_t>(i)] = static_cast<int16_t>(i - 32768);
    EXPECT_EQ(round_trip(Format::S16_LE, all, all.size()), all);
}

TEST(DspConvert, EightBitSignedAndUnsignedSurviveTheRoundTripExactly) {
    std::vector<uint8_t> all(256);
    for (int i = 0; i < 256; ++i) all[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
    EXPECT_EQ(round_trip(Format::U8, all, all.size()), all);
    EXPECT_EQ(round_trip(Format::S8, all, all.size()), all);
}

TEST(DspConvert, TwentyFourBitSamplesSurviveTheRoundTripExactlyInBothContainers) {
    std::vector<int32_t> values;
    for (int64_t v = -8388608; v <= 8388607; v += 9973) values.push_back(static_cast<int32_t>(v));
    values.insert(values.end(), {-8388608, -1, 0, 1, 8388607});
    // S24_LE: four bytes, top byte the sign extension.
    std::vector<int32_t> in4 = values;
    EXPECT_EQ(round_trip(Format::S24_LE, in4, in4.size()), in4);
    // S24_3LE: three packed bytes.
    std::vector<uint8_t> in3(values.size() * 3);
    for (size_t i = 0; i < values.size(); ++i)
        for (int b = 0; b < 3; ++b) in3[3 * i + static_cast<size_t>(b)] = static_cast<uint8_t>(static_cast<uint32_t>(values[i]) >> (8 * b));
    EXPECT_EQ(round_trip(Format::S24_3LE, in3, values.size()), in3);
}

TEST(DspConvert, BigEndianFormatsReadTheSameValuesAsLittleEndian) {
    const uint8_t be16[] = {0x12, 0x34, 0x80, 0x00};  // 0x1234, -32768
    float f[2];
    to_float(Format::S16_BE, be16, f, 2);
    EXPECT_EQ(f[0], 0x1234 / 32768.0f);
    EXPECT_EQ(f[1], -1.0f);
    uint8_t back[4];
    from_float(Format::S16_BE, f, back, 2);
    EXPECT_EQ(std::memcmp(back, be16, 4), 0);
    const uint8_t be24[] = {0xFF, 0xFF, 0xFE};  // -2 in S24_3BE
    to_float(Format::S24_3BE, be24, f, 1);
    EXPECT_EQ(f[0], -2.0f / 8388608.0f);
}

TEST(DspConvert, ThirtyTwoBitKeepsTwentyFourBitsOfPrecision) {
    std::vector<int32_t> values{std::numeric_limits<int32_t>::min(), -1234567890, -1, 0, 1, 987654321,
                                std::numeric_limits<int32_t>::max() - 200};
    const auto out = round_trip(Format::S32_LE, values, values.size());
    for (size_t i = 0; i < values.size(); ++i)
        EXPECT_LE(std::llabs(static_cast<long long>(out[i]) - values[i]), 128) << values[i];
    EXPECT_EQ(out[0], std::numeric_limits<int32_t>::min());
}

TEST(DspConvert, FullScaleSaturatesAndRoundsToNearestEven) {
    const float in[] = {1.0f, -1.0f, 2.0f, -3.5f, 1.5f / 32768.0f, 2.5f / 32768.0f, -0.5f / 32768.0f,
                        std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()};
    int16_t out[9];
    from_float(Format::S16_LE, in, out, 9);
    EXPECT_EQ(out[0], 32767);   // +1.0 is one LSB above the largest sample
    EXPECT_EQ(out[1], -32768);
    EXPECT_EQ(out[2], 32767);
    EXPECT_EQ(out[3], -32768);
    EXPECT_EQ(out[4], 2);       // 1.5 LSB -> 2
    EXPECT_EQ(out[5], 2);       // 2.5 LSB -> 2 (half to even)
    EXPECT_EQ(out[6], 0);       // -0.5 LSB -> 0
    EXPECT_EQ(out[7], 0);       // NaN is silence, not undefined behaviour
    EXPECT_EQ(out[8], 32767);
}

TEST(DspConvert, S24InAFourByteContainerIsSignExtendedAsAlsaWritesIt) {
    const float in[] = {-1.0f / 8388608.0f, 1.0f};
    uint32_t out[2];
    from_float(Format::S24_LE, in, out, 2);
    EXPECT_EQ(out[0], 0xFFFFFFFFU);
    EXPECT_EQ(out[1], 0x007FFFFFU);
}

TEST(DspConvert, FloatPassesThroughBitForBitIncludingOverRange) {
    const float in[] = {0.1f, -0.75f, 1.5f, -2.25f};
    float mid[4], out[4];
    to_float(Format::FLOAT_LE, in, mid, 4);
    from_float(Format::FLOAT_LE, mid, out, 4);
    EXPECT_EQ(std::memcmp(in, out, sizeof in), 0);
}

TEST(DspMix, SumOfTwoSixteenBitStreamsIsExactAndSaturatesOnlyOnTheWayOut) {
    std::vector<int16_t> a, b;
    for (int x = -32768; x < 32768; x += 311)
        for (int y = -32768; y < 32768; y += 4099) {
            a.push_back(static_cast<int16_t>(x));
            b.push_back(static_cast<int16_t>(y));
        }
    const size_t n = a.size();
    std::vector<float> fa(n), fb(n), acc(n, 0.0f);
    to_float(Format::S16_LE, a.data(), fa.data(), n);
    to_float(Format::S16_LE, b.data(), fb.data(), n);
    mix_add(acc.data(), fa.data(), n, 1.0f);
    mix_add(acc.data(), fb.data(), n, 1.0f);
    std::vector<int16_t> out(n);
    from_float(Format::S16_LE, acc.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) {
        const int want = std::clamp(a[i] + b[i], -32768, 32767);
        ASSERT_EQ(out[i], want) << a[i] << " + " << b[i];
    }
}

TEST(DspMix, HalfGainIsExactForEvenSamples) {
    std::vector<int16_t> a{-32768, -2, 0, 2, 32766};
    std::vector<float> fa(a.size()), acc(a.size(), 0.0f);
    to_float(Format::S16_LE, a.data(), fa.data(), a.size());
    mix_add(acc.data(), fa.data(), a.size(), 0.5f);
    std::vector<int16_t> out(a.size());
    from_float(Format::S16_LE, acc.data(), out.data(), a.size());
    EXPECT_EQ(out, (std::vector<int16_t>{-16384, -1, 0, 1, 16383}));
}

TEST(DspMix, RampReachesItsTargetGainOnTheLastFrameAndRisesMonotonically) {
    const size_t frames = 240;
    std::vector<float> src(frames * 2, 1.0f), acc(frames * 2, 0.0f);
    mix_add_ramp(acc.data(), src.data(), frames, 2, 0.0f, 1.0f);
    EXPECT_EQ(acc[2 * (frames - 1)], 1.0f);
    EXPECT_EQ(acc[2 * (frames - 1) + 1], 1.0f);
    for (size_t f = 1; f < frames; ++f) {
        EXPECT_GT(acc[2 * f], acc[2 * (f - 1)]);
        EXPECT_EQ(acc[2 * f], acc[2 * f + 1]) << "channels of a frame share the gain";
    }
    EXPECT_LE(acc[0], 1.0f / static_cast<float>(frames) + 1e-7f) << "the first step is small";
}

TEST(DspChannelMap, MonoIsDuplicatedToEveryOutput) {
    const auto m = ChannelMap::standard(1, 2);
    const float in[] = {0.25f, -0.5f};
    float out[4];
    m.apply(in, out, 2);
    EXPECT_EQ((std::vector<float>(out, out + 4)), (std::vector<float>{0.25f, 0.25f, -0.5f, -0.5f}));
}

TEST(DspChannelMap, StereoIsAveragedToMono) {
    const auto m = ChannelMap::standard(2, 1);
    const float in[] = {0.5f, 0.25f, -1.0f, 1.0f};
    float out[2];
    m.apply(in, out, 2);
    EXPECT_EQ(out[0], 0.375f);
    EXPECT_EQ(out[1], 0.0f);
}

TEST(DspChannelMap, EqualCountsAreTheIdentityAndExtraOutputsAreSilent) {
    EXPECT_TRUE(ChannelMap::standard(2, 2).identity());
    const auto m = ChannelMap::standard(2, 4);
    EXPECT_FALSE(m.identity());
    const float in[] = {0.5f, -0.5f};
    float out[4];
    m.apply(in, out, 1);
    EXPECT_EQ((std::vector<float>(out, out + 4)), (std::vector<float>{0.5f, -0.5f, 0.0f, 0.0f}));
}

TEST(DspChannelMap, ByIndexSwapsAndSilences) {
    const auto m = ChannelMap::by_index(2, {1, 0, -1});
    const float in[] = {0.5f, -0.25f};
    float out[3];
    m.apply(in, out, 1);
    EXPECT_EQ((std::vector<float>(out, out + 3)), (std::vector<float>{-0.25f, 0.5f, 0.0f}));
    EXPECT_TRUE(ChannelMap::by_index(2, {0, 1}).identity());
}

TEST(DspGain, DecibelsToLinear) {
    EXPECT_EQ(db_to_gain(0.0), 1.0f);
    EXPECT_NEAR(db_to_gain(-6.0206), 0.5f, 1e-4f);
    EXPECT_NEAR(db_to_gain(20.0), 10.0f, 1e-5f);
    EXPECT_EQ(db_to_gain(-std::numeric_limits<double>::infinity()), 0.0f);
    EXPECT_EQ(db_to_gain(-200.0), 0.0f);
}

}  // namespace
}  // namespace dynpcm::dsp

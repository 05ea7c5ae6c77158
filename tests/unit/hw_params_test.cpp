// The hw_params configuration space (HwParams / HwConstraints): any, set*, propagation, choose.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dynpcm/pcm/hw_params.h"

namespace {

using dynpcm::Access;
using dynpcm::AccessMask;
using dynpcm::Format;
using dynpcm::FormatMask;
using dynpcm::HwConstraints;
using dynpcm::HwParam;
using dynpcm::HwParams;
using dynpcm::Interval;
using P = HwParam;
using Caps = HwConstraints::Caps;

constexpr std::array<P, dynpcm::kHwParamCount> kAllParams = {
    P::SampleBits, P::FrameBits, P::Channels,  P::Rate,       P::PeriodTime, P::PeriodSize,
    P::PeriodBytes, P::Periods,  P::BufferTime, P::BufferSize, P::BufferBytes};

constexpr Interval iv(uint32_t lo, uint32_t hi) { return Interval{lo, hi}; }

HwParams any_of(const Caps& caps) { return HwParams::any(std::make_shared<const HwConstraints>(caps)); }
HwParams any_default() { return any_of(Caps{}); }

// Caps shared by several tests: stereo-capable, two formats, a modest buffer.
Caps test_caps() {
    Caps c;
    c.formats = FormatMask::of(Format::S16_LE) | FormatMask::of(Format::S32_LE);
    c.channels = {1, 8};
    c.rate = {8000, 192000};
    c.period_bytes = {64, 1U << 20};
    c.periods = {2, 1024};
    c.buffer_bytes_max = 4U << 20;
    return c;
}

std::array<Interval, dynpcm::kHwParamCount> snapshot(const HwParams& hp) {
    std::array<Interval, dynpcm::kHwParamCount> s{};
    for (P p : kAllParams) s[static_cast<size_t>(p)] = hp.interval(p);
    return s;
}

void expect_unchanged(const HwParams& before, const HwParams& after) {
    for (P p : kAllParams)
        EXPECT_EQ(before.interval(p), after.interval(p))
            << dynpcm::hw_param_name(p) << ": " << before.interval(p).to_string() << " -> "
            << after.interval(p).to_string();
    EXPECT_EQ(before.formats(), after.formats());
    EXPECT_EQ(before.access_mask(), after.access_mask());
    EXPECT_EQ(before.to_string(), after.to_string());
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// names

TEST(HwParams, ParamNamesMatchAlsa) {
    EXPECT_STREQ(dynpcm::hw_param_name(P::SampleBits), "sample_bits");
    EXPECT_STREQ(dynpcm::hw_param_name(P::FrameBits), "frame_bits");
    EXPECT_STREQ(dynpcm::hw_param_name(P::Channels), "channels");
    EXPECT_STREQ(dynpcm::hw_param_name(P::Rate), "rate");
    EXPECT_STREQ(dynpcm::hw_param_name(P::PeriodTime), "period_time");
    EXPECT_STREQ(dynpcm::hw_param_name(P::PeriodSize), "period_size");
    EXPECT_STREQ(dynpcm::hw_param_name(P::PeriodBytes), "period_bytes");
    EXPECT_STREQ(dynpcm::hw_param_name(P::Periods), "periods");
    EXPECT_STREQ(dynpcm::hw_param_name(P::BufferTime), "buffer_time");
    EXPECT_STREQ(dynpcm::hw_param_name(P::BufferSize), "buffer_size");
    EXPECT_STREQ(dynpcm::hw_param_name(P::BufferBytes), "buffer_bytes");
    EXPECT_STREQ(dynpcm::access_name(Access::RwInterleaved), "RW_INTERLEAVED");
    EXPECT_STREQ(dynpcm::access_name(Access::RwNonInterleaved), "RW_NONINTERLEAVED");
}

// ---------------------------------------------------------------------------------------------
// any()

TEST(HwParams, AnyIsRefinedAgainstCaps) {
    Caps c;
    c.access = AccessMask::of(Access::RwInterleaved);
    c.formats = FormatMask::of(Format::S16_LE) | FormatMask::of(Format::S24_3LE);
    c.channels = {1, 2};
    c.rate = {44100, 48000};
    c.period_bytes = {256, 8192};
    c.periods = {2, 8};
    c.buffer_bytes_max = 16384;
    const HwParams hp = any_of(c);

    EXPECT_EQ(hp.access_mask(), AccessMask::of(Access::RwInterleaved));
    EXPECT_EQ(hp.formats(), c.formats);
    EXPECT_EQ(hp.interval(P::Channels), iv(1, 2));
    EXPECT_EQ(hp.interval(P::Rate), iv(44100, 48000));
    EXPECT_EQ(hp.interval(P::Periods), iv(2, 8));
    // sample_bits = physical widths of the formats: 16 (S16_LE) .. 24 (S24_3LE).
    EXPECT_EQ(hp.interval(P::SampleBits), iv(16, 24));
    // frame_bits = sample_bits * channels.
    EXPECT_EQ(hp.interval(P::FrameBits), iv(16, 48));
    // period_bytes 256..8192 from caps; buffer_bytes can hold at least 2 periods of 256 bytes.
    EXPECT_EQ(hp.interval(P::PeriodBytes).max, 8192U);
    EXPECT_GE(hp.interval(P::PeriodBytes).min, 256U);
    // buffer_bytes: capped by buffer_bytes_max; its min is a superset bound of the real 512.
    EXPECT_EQ(hp.interval(P::BufferBytes).max, 16384U);
    EXPECT_LE(hp.interval(P::BufferBytes).min, 512U);
    EXPECT_GE(hp.interval(P::BufferBytes).min, 86U * 16 / 8);  // 2 periods of 43 16-bit frames
    // period_size = period_bytes * 8 / frame_bits: 256*8/48 = 42.67 -> 43 .. 8192*8/16 = 4096.
    EXPECT_EQ(hp.interval(P::PeriodSize).min, 43U);
    EXPECT_LE(hp.interval(P::PeriodSize).max, 4096U);
    // buffer_size <= buffer_bytes_max * 8 / smallest frame (16 bits).
    EXPECT_LE(hp.interval(P::BufferSize).max, 8192U);
    EXPECT_FALSE(hp.is_chosen());
}

TEST(HwParams, AnyOfDefaultCapsMatchesKernelStyleRefinement) {
    const HwParams hp = any_default();
    EXPECT_EQ(hp.formats(), FormatMask::of(Format::S16_LE));
    EXPECT_EQ(hp.interval(P::SampleBits), Interval::single(16));
    EXPECT_EQ(hp.interval(P::FrameBits), iv(16, 32));
    EXPECT_EQ(hp.interval(P::Rate), iv(8000, 192000));
    // 64 bytes of 32-bit frames = 16 frames; 1 MiB of 16-bit frames = 524288 frames.
    EXPECT_EQ(hp.interval(P::PeriodSize), iv(16, 524288));
    // 2 periods of 16 frames .. 4 MiB of 16-bit frames.
    EXPECT_EQ(hp.interval(P::BufferSize), iv(32, 2097152));
    EXPECT_EQ(hp.interval(P::BufferBytes), iv(64, 4194304));
}

TEST(HwParams, AnyAppliesHardwareRules) {
    auto c = std::make_shared<HwConstraints>(test_caps());
    c->add_list(P::Rate, {96000, 44100, 48000});  // unsorted on purpose
    c->add_step(P::PeriodSize, 32);
    c->add_minmax(P::Channels, 2, 6);
    const HwParams hp = HwParams::any(c);
    EXPECT_EQ(hp.interval(P::Rate), iv(44100, 96000));
    EXPECT_EQ(hp.interval(P::Channels), iv(2, 6));
    EXPECT_EQ(hp.interval(P::PeriodSize).min % 32, 0U);
    EXPECT_EQ(hp.interval(P::PeriodSize).max % 32, 0U);
}

// ---------------------------------------------------------------------------------------------
// set() and failure semantics

TEST(HwParams, SetNarrowsToASingleValue) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set(P::Rate, 48000)) << hp.to_string();
    EXPECT_EQ(hp.interval(P::Rate), Interval::single(48000));
    EXPECT_EQ(hp.rate(), 48000U);
    ASSERT_TRUE(hp.set(P::Channels, 2));
    EXPECT_EQ(hp.channels(), 2U);
}

TEST(HwParams, SetOutOfRangeFailsWithEinvalNamingParamAndValue) {
    HwParams hp = any_default();
    const auto r = hp.set(P::Rate, 0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), -EINVAL);
    const std::string& msg = r.error().message();
    EXPECT_TRUE(contains(msg, "rate")) << msg;
    EXPECT_TRUE(contains(msg, "rate=0") || contains(msg, "rate 0")) << msg;

    const auto r2 = hp.set(P::Channels, 9);
    ASSERT_FALSE(r2);
    EXPECT_EQ(r2.code(), -EINVAL);
    EXPECT_TRUE(contains(r2.error().message(), "channels")) << r2.error().message();
    EXPECT_TRUE(contains(r2.error().message(), "9")) << r2.error().message();
    EXPECT_EQ(r2.error().to_string().rfind("EINVAL: ", 0), 0U);
}

TEST(HwParams, SetOutOfRangeFailsAndLeavesSpaceUnchanged) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set(P::Channels, 2));
    const HwParams before = hp;
    const auto snap = snapshot(hp);
    EXPECT_FALSE(hp.set(P::Rate, 4000));
    EXPECT_FALSE(hp.set(P::Rate, 500000));
    EXPECT_FALSE(hp.set_min(P::Periods, 2000));
    EXPECT_FALSE(hp.set_max(P::Periods, 1));
    EXPECT_FALSE(hp.set_minmax(P::Channels, 3, 4));
    EXPECT_EQ(snapshot(hp), snap);
    expect_unchanged(before, hp);
}

TEST(HwParams, SetFailingOnlyThroughPropagationLeavesSpaceUnchanged) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set(P::PeriodSize, 1000));
    // 2500 is inside buffer_size's interval, so only propagation (2.5 periods) can reject it.
    ASSERT_TRUE(hp.interval(P::BufferSize).contains(2500)) << hp.to_string();
    const HwParams before = hp;
    const auto r = hp.set(P::BufferSize, 2500);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), -EINVAL);
    expect_unchanged(before, hp);
    // Same for a range that holds no multiple of the period.
    const auto r2 = hp.set_minmax(P::BufferSize, 2001, 2999);
    ASSERT_FALSE(r2);
    expect_unchanged(before, hp);
}

TEST(HwParams, SetPeriodLargerThanBufferIsRejectedNamingTheConflict) {
    HwParams hp = any_default();
    ASSERT_TRUE(hp.set(P::BufferSize, 4096));
    const HwParams before = hp;
    const auto r = hp.set(P::PeriodSize, 8192);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), -EINVAL);
    const std::string& msg = r.error().message();
    EXPECT_TRUE(contains(msg, "period_size")) << msg;
    // The message must say what it conflicts with (docs/PCM_RUNTIME.md gives this very example).
    EXPECT_TRUE(contains(msg, "periods") || contains(msg, "buffer_size")) << msg;
    expect_unchanged(before, hp);
}

TEST(HwParams, BufferWithNoIntegerNumberOfPeriodsIsImpossible) {
    // Period first: 3001 / 1000 is not an integer.
    {
        HwParams hp = any_default();
        ASSERT_TRUE(hp.set(P::PeriodSize, 1000));
        const HwParams before = hp;
        const auto r = hp.set(P::BufferSize, 3001);
        ASSERT_FALSE(r) << hp.to_string();
        EXPECT_EQ(r.code(), -EINVAL);
        EXPECT_TRUE(contains(r.error().message(), "periods")) << r.error().message();
        expect_unchanged(before, hp);
    }
    // Buffer first: whichever call fails, the pair can never both be accepted. (3001 is prime,
    // so the propagation may already reject the buffer on its own.)
    {
        HwParams hp = any_default();
        const bool buffer_ok = static_cast<bool>(hp.set(P::BufferSize, 3001));
        const bool period_ok = buffer_ok && static_cast<bool>(hp.set(P::PeriodSize, 1000));
        EXPECT_FALSE(buffer_ok && period_ok) << hp.to_string();
    }
    // Buffer first with a buffer that has divisors (3002 = 2 * 19 * 79): the period is rejected.
    {
        HwParams hp = any_default();
        ASSERT_TRUE(hp.set(P::BufferSize, 3002));
        ASSERT_TRUE(hp.interval(P::PeriodSize).contains(1000)) << hp.to_string();
        const HwParams before = hp;
        const auto r = hp.set(P::PeriodSize, 1000);
        ASSERT_FALSE(r);
        EXPECT_TRUE(contains(r.error().message(), "periods")) << r.error().message();
        expect_unchanged(before, hp);
        EXPECT_TRUE(hp.set(P::PeriodSize, 1501));
        EXPECT_EQ(hp.periods(), 2U);
    }
    // Control: a buffer of exactly three periods is fine.
    {
        HwParams hp = any_default();
        ASSERT_TRUE(hp.set(P::PeriodSize, 1000));
        ASSERT_TRUE(hp.set(P::BufferSize, 3000));
        EXPECT_EQ(hp.interval(P::Periods), Interval::single(3));
    }
}

// ---------------------------------------------------------------------------------------------
// propagation

TEST(HwParams, PeriodSizeAndPeriodsFixBufferSize) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set(P::PeriodSize, 1024));
    ASSERT_TRUE(hp.set(P::Periods, 4));
    EXPECT_EQ(hp.interval(P::BufferSize), Interval::single(4096));
}

TEST(HwParams, BufferSizeAndPeriodSizeFixPeriods) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set(P::BufferSize, 6144));
    ASSERT_TRUE(hp.set(P::PeriodSize, 1024));
    EXPECT_EQ(hp.interval(P::Periods), Interval::single(6));
}

TEST(HwParams, FormatAndChannelsFixFrameBitsAndBytes) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set_format(Format::S32_LE));
    ASSERT_TRUE(hp.set(P::Channels, 2));
    EXPECT_EQ(hp.interval(P::SampleBits), Interval::single(32));
    EXPECT_EQ(hp.interval(P::FrameBits), Interval::single(64));  // sample_bits * channels
    ASSERT_TRUE(hp.set(P::PeriodSize, 1024));
    ASSERT_TRUE(hp.set(P::Periods, 4));
    EXPECT_EQ(hp.interval(P::PeriodBytes), Interval::single(1024 * 64 / 8));
    EXPECT_EQ(hp.interval(P::BufferBytes), Interval::single(4096 * 64 / 8));
}

TEST(HwParams, BytesDetermineFramesBackwards) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set_format(Format::S16_LE));
    ASSERT_TRUE(hp.set(P::Channels, 2));
    ASSERT_TRUE(hp.set(P::PeriodBytes, 4096));
    EXPECT_EQ(hp.interval(P::PeriodSize), Interval::single(1024));
    ASSERT_TRUE(hp.set(P::BufferBytes, 16384));
    EXPECT_EQ(hp.interval(P::BufferSize), Interval::single(4096));
    EXPECT_EQ(hp.interval(P::Periods), Interval::single(4));
}

TEST(HwParams, FrameBitsNarrowsChannels) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set_format(Format::S16_LE));
    ASSERT_TRUE(hp.set(P::FrameBits, 96));
    EXPECT_EQ(hp.interval(P::Channels), Interval::single(6));
}

TEST(HwParams, RateAndPeriodSizeGivePeriodTime) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set(P::Rate, 48000));
    ASSERT_TRUE(hp.set(P::PeriodSize, 960));
    // 960 frames at 48 kHz = exactly 20000 us.
    EXPECT_EQ(hp.interval(P::PeriodTime), Interval::single(20000));
    // 1024 frames at 48 kHz = 21333.3 us: the rounded relation keeps both neighbours.
    HwParams hp2 = any_of(test_caps());
    ASSERT_TRUE(hp2.set(P::Rate, 48000));
    ASSERT_TRUE(hp2.set(P::PeriodSize, 1024));
    EXPECT_TRUE(hp2.interval(P::PeriodTime).contains(21333));
    EXPECT_LE(hp2.interval(P::PeriodTime).max, 21334U);
    EXPECT_GE(hp2.interval(P::PeriodTime).min, 21333U);
}

TEST(HwParams, PeriodTimeAndRateGivePeriodSize) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set(P::Rate, 44100));
    ASSERT_TRUE(hp.set(P::PeriodTime, 10000));
    EXPECT_TRUE(hp.interval(P::PeriodSize).contains(441)) << hp.to_string();
    EXPECT_LE(hp.interval(P::PeriodSize).max - hp.interval(P::PeriodSize).min, 1U);
}

TEST(HwParams, BufferBytesMaxLimitsBufferSize) {
    Caps c = test_caps();
    c.buffer_bytes_max = 65536;
    HwParams hp = any_of(c);
    ASSERT_TRUE(hp.set_format(Format::S16_LE));
    ASSERT_TRUE(hp.set(P::Channels, 2));
    EXPECT_EQ(hp.interval(P::BufferSize).max, 16384U);  // 65536 bytes / 4-byte frames
    EXPECT_FALSE(hp.set(P::BufferSize, 16385));
}

// ---------------------------------------------------------------------------------------------
// set_min / set_max / set_minmax

TEST(HwParams, SetMinMaxNarrowBothEnds) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set_min(P::Rate, 22050));
    EXPECT_EQ(hp.interval(P::Rate), iv(22050, 192000));
    ASSERT_TRUE(hp.set_max(P::Rate, 96000));
    EXPECT_EQ(hp.interval(P::Rate), iv(22050, 96000));
    ASSERT_TRUE(hp.set_minmax(P::Channels, 2, 4));
    EXPECT_EQ(hp.interval(P::Channels), iv(2, 4));
    ASSERT_TRUE(hp.set_minmax(P::Channels, 0, 100));  // a superset changes nothing
    EXPECT_EQ(hp.interval(P::Channels), iv(2, 4));
}

// ---------------------------------------------------------------------------------------------
// set_near / set_first / set_last

TEST(HwParams, SetNearPicksExactValueWhenAllowed) {
    HwParams hp = any_of(test_caps());
    const auto r = hp.set_near(P::Rate, 48000);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 48000U);
    EXPECT_EQ(hp.interval(P::Rate), Interval::single(48000));
}

TEST(HwParams, SetNearClampsToTheRange) {
    HwParams lo = any_of(test_caps());
    const auto r1 = lo.set_near(P::Rate, 1000);
    ASSERT_TRUE(r1);
    EXPECT_EQ(*r1, 8000U);
    HwParams hi = any_of(test_caps());
    const auto r2 = hi.set_near(P::Rate, 1000000);
    ASSERT_TRUE(r2);
    EXPECT_EQ(*r2, 192000U);
    EXPECT_EQ(hi.rate(), 192000U);
}

TEST(HwParams, SetNearWithRateListPicksNearestListedRate) {
    auto c = std::make_shared<HwConstraints>(test_caps());
    c->add_list(P::Rate, {44100, 48000, 96000});
    const HwParams base = HwParams::any(c);

    HwParams a = base;
    auto r = a.set_near(P::Rate, 47000);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 48000U);
    EXPECT_EQ(a.interval(P::Rate), Interval::single(48000));

    HwParams b = base;
    r = b.set_near(P::Rate, 45000);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 44100U);
    EXPECT_EQ(b.rate(), 44100U);

    HwParams d = base;
    r = d.set_near(P::Rate, 80000);  // 16000 from 96000, 32000 from 48000
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 96000U);

    HwParams e = base;
    r = e.set_near(P::Rate, 8000);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 44100U);
}

TEST(HwParams, SetNearTieGoesToTheLowerValue) {
    auto c = std::make_shared<HwConstraints>(test_caps());
    c->add_list(P::Rate, {44100, 48000, 96000});
    HwParams hp = HwParams::any(c);
    const auto r = hp.set_near(P::Rate, 46050);  // exactly between 44100 and 48000
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 44100U);

    auto c2 = std::make_shared<HwConstraints>(test_caps());
    c2->add_step(P::PeriodSize, 32);
    HwParams hp2 = HwParams::any(c2);
    const auto r2 = hp2.set_near(P::PeriodSize, 1008);  // 992 and 1024 are both 16 away
    ASSERT_TRUE(r2);
    EXPECT_EQ(*r2, 992U);
}

TEST(HwParams, ListConstraintRejectsUnlistedRate) {
    auto c = std::make_shared<HwConstraints>(test_caps());
    c->add_list(P::Rate, {44100, 48000, 96000});
    HwParams hp = HwParams::any(c);
    const HwParams before = hp;
    const auto r = hp.set(P::Rate, 46000);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), -EINVAL);
    EXPECT_TRUE(contains(r.error().message(), "rate")) << r.error().message();
    expect_unchanged(before, hp);
    EXPECT_TRUE(hp.set(P::Rate, 96000));
}

TEST(HwParams, StepConstraintKeepsPeriodSizeMultiplesOf32) {
    auto c = std::make_shared<HwConstraints>(test_caps());
    c->add_step(P::PeriodSize, 32);
    const HwParams base = HwParams::any(c);

    HwParams a = base;
    auto r = a.set_near(P::PeriodSize, 1000);  // 992 is 8 away, 1024 is 24 away
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 992U);
    EXPECT_EQ(a.period_size(), 992U);

    HwParams b = base;
    r = b.set_near(P::PeriodSize, 1020);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 1024U);

    HwParams d = base;
    EXPECT_FALSE(d.set(P::PeriodSize, 1000));
    EXPECT_TRUE(d.set(P::PeriodSize, 960));

    HwParams e = base;
    ASSERT_TRUE(e.set_min(P::PeriodSize, 100));
    EXPECT_EQ(e.interval(P::PeriodSize).min, 128U);
    const auto first = e.set_first(P::PeriodSize);
    ASSERT_TRUE(first);
    EXPECT_EQ(*first, 128U);
}

TEST(HwParams, MinMaxConstraintBoundsTheParameter) {
    auto c = std::make_shared<HwConstraints>(test_caps());
    c->add_minmax(P::PeriodSize, 256, 4096);
    HwParams hp = HwParams::any(c);
    EXPECT_EQ(hp.interval(P::PeriodSize), iv(256, 4096));
    const auto r = hp.set(P::PeriodSize, 128);
    ASSERT_FALSE(r);
    EXPECT_TRUE(contains(r.error().message(), "period_size")) << r.error().message();
    const auto n = hp.set_near(P::PeriodSize, 10000);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 4096U);
}

TEST(HwParams, SetFirstAndSetLastPickTheEnds) {
    const HwParams base = any_of(test_caps());
    HwParams a = base;
    auto r = a.set_first(P::Rate);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 8000U);
    EXPECT_EQ(a.interval(P::Rate), Interval::single(8000));

    HwParams b = base;
    r = b.set_last(P::Rate);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 192000U);

    HwParams d = base;
    r = d.set_last(P::Channels);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 8U);

    HwParams e = base;
    ASSERT_TRUE(e.set(P::BufferSize, 4096));
    r = e.set_first(P::Periods);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 2U);
    EXPECT_EQ(e.period_size(), 2048U);
    HwParams f = base;
    ASSERT_TRUE(f.set(P::BufferSize, 4096));
    r = f.set_last(P::PeriodSize);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 2048U);
    EXPECT_EQ(f.periods(), 2U);
}

TEST(HwParams, SetFirstSkipsValuesWithNoIntegerSolution) {
    // With period_size fixed at 1000, buffer_size must be a multiple of 1000.
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set(P::PeriodSize, 1000));
    ASSERT_TRUE(hp.set_min(P::BufferSize, 2001));
    const auto r = hp.set_first(P::BufferSize);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(*r, 3000U);
    EXPECT_EQ(hp.periods(), 3U);
}

// ---------------------------------------------------------------------------------------------
// format / access

TEST(HwParams, SetFormatNarrowsSampleBits) {
    Caps c = test_caps();
    c.formats = FormatMask::of(Format::S16_LE) | FormatMask::of(Format::S24_3LE) | FormatMask::of(Format::S32_LE);
    HwParams hp = any_of(c);
    EXPECT_EQ(hp.interval(P::SampleBits), iv(16, 32));
    ASSERT_TRUE(hp.set_format(Format::S24_3LE));
    EXPECT_EQ(hp.formats(), FormatMask::of(Format::S24_3LE));
    EXPECT_EQ(hp.format(), Format::S24_3LE);
    EXPECT_EQ(hp.interval(P::SampleBits), Interval::single(24));
}

TEST(HwParams, SampleBitsNarrowsFormats) {
    Caps c = test_caps();
    c.formats = FormatMask::of(Format::S16_LE) | FormatMask::of(Format::S32_LE) | FormatMask::of(Format::FLOAT_LE);
    HwParams hp = any_of(c);
    ASSERT_TRUE(hp.set(P::SampleBits, 32));
    EXPECT_EQ(hp.formats(), FormatMask::of(Format::S32_LE) | FormatMask::of(Format::FLOAT_LE));
}

TEST(HwParams, SetUnsupportedFormatFailsNamingTheSupportedSet) {
    HwParams hp = any_of(test_caps());  // S16_LE|S32_LE
    const HwParams before = hp;
    const auto r = hp.set_format(Format::FLOAT_LE);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), -EINVAL);
    const std::string& msg = r.error().message();
    EXPECT_TRUE(contains(msg, "FLOAT_LE")) << msg;
    EXPECT_TRUE(contains(msg, "S16_LE|S32_LE")) << msg;
    expect_unchanged(before, hp);
}

TEST(HwParams, SetFormatsIntersectsTheMask) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set_formats(FormatMask::of(Format::S32_LE) | FormatMask::of(Format::FLOAT_LE)));
    EXPECT_EQ(hp.formats(), FormatMask::of(Format::S32_LE));
}

TEST(HwParams, SetFormatConflictingWithSampleBitsFails) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set(P::SampleBits, 16));
    const HwParams before = hp;
    const auto r = hp.set_format(Format::S32_LE);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), -EINVAL);
    expect_unchanged(before, hp);
}

TEST(HwParams, SetAccessNarrowsOrFails) {
    HwParams hp = any_default();
    EXPECT_FALSE(hp.access_mask().single());
    ASSERT_TRUE(hp.set_access(Access::RwNonInterleaved));
    EXPECT_TRUE(hp.access_mask().single());
    EXPECT_EQ(hp.access(), Access::RwNonInterleaved);
    const auto r = hp.set_access(Access::RwInterleaved);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), -EINVAL);
    EXPECT_TRUE(contains(r.error().message(), "RW_INTERLEAVED")) << r.error().message();
    EXPECT_EQ(hp.access(), Access::RwNonInterleaved);

    Caps c;
    c.access = AccessMask::of(Access::RwInterleaved);
    HwParams only = any_of(c);
    const auto r2 = only.set_access(Access::RwNonInterleaved);
    ASSERT_FALSE(r2);
    EXPECT_TRUE(contains(r2.error().message(), "RW_NONINTERLEAVED")) << r2.error().message();
    EXPECT_TRUE(only.set_access(Access::RwInterleaved));
}

// ---------------------------------------------------------------------------------------------
// choose()

TEST(HwParams, ChooseGivesFullyChosenSpaceInKernelOrder) {
    auto c = std::make_shared<HwConstraints>([] {
        Caps k = test_caps();
        k.channels = {2, 8};
        k.period_bytes = {256, 65536};
        k.periods = {2, 16};
        k.buffer_bytes_max = 1U << 20;
        return k;
    }());
    // 32 kHz: a 64-frame period is exactly 2000 us, so no time rounding is involved here.
    c->add_list(P::Rate, {32000, 48000});
    HwParams hp = HwParams::any(c);
    ASSERT_FALSE(hp.is_chosen());
    const auto r = hp.choose();
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_TRUE(hp.is_chosen()) << hp.to_string();

    EXPECT_EQ(hp.access(), Access::RwInterleaved);  // first access
    EXPECT_EQ(hp.format(), Format::S16_LE);         // first format
    EXPECT_EQ(hp.channels(), 2U);                   // first channels
    EXPECT_EQ(hp.rate(), 32000U);                   // first rate
    EXPECT_EQ(hp.get(P::PeriodTime), 2000U);
    // First period_time: the smallest period, 256 bytes / 4-byte frames = 64 frames.
    EXPECT_EQ(hp.period_size(), 64U);
    // buffer_size LAST: the largest buffer that period allows, 64 x 16.
    EXPECT_EQ(hp.periods(), 16U);
    EXPECT_EQ(hp.buffer_size(), 1024U);
    EXPECT_EQ(hp.get(P::PeriodBytes), 256U);
    EXPECT_EQ(hp.get(P::BufferBytes), 4096U);
    EXPECT_EQ(hp.get(P::FrameBits), 32U);
    EXPECT_EQ(hp.get(P::SampleBits), 16U);
}

TEST(HwParams, ChoosePicksLargestBufferUpToBufferBytesMax) {
    Caps c = test_caps();
    c.channels = {2, 2};
    c.formats = FormatMask::of(Format::S16_LE);
    c.rate = {16000, 16000};  // 64 frames = 4000 us exactly
    c.period_bytes = {256, 65536};
    c.periods = {2, 1024};
    c.buffer_bytes_max = 65536;
    HwParams hp = any_of(c);
    ASSERT_TRUE(hp.choose());
    ASSERT_TRUE(hp.is_chosen());
    EXPECT_EQ(hp.period_size(), 64U);
    EXPECT_EQ(hp.buffer_size(), 16384U);  // 65536 bytes / 4
    EXPECT_EQ(hp.periods(), 256U);
}

TEST(HwParams, ChooseRespectsEarlierNarrowing) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set_format(Format::S32_LE));
    ASSERT_TRUE(hp.set(P::Channels, 2));
    ASSERT_TRUE(hp.set_near(P::Rate, 48000));
    ASSERT_TRUE(hp.set_near(P::PeriodSize, 1024));
    ASSERT_TRUE(hp.set(P::Periods, 4));
    ASSERT_TRUE(hp.choose());
    ASSERT_TRUE(hp.is_chosen());
    EXPECT_EQ(hp.format(), Format::S32_LE);
    EXPECT_EQ(hp.channels(), 2U);
    EXPECT_EQ(hp.rate(), 48000U);
    EXPECT_EQ(hp.period_size(), 1024U);
    EXPECT_EQ(hp.periods(), 4U);
    EXPECT_EQ(hp.buffer_size(), 4096U);
    EXPECT_EQ(hp.get(P::BufferBytes), 4096U * 8);
    EXPECT_EQ(hp.summary(), "S32_LE 2ch 48000Hz period 1024 x 4 (buffer 4096)");
}

TEST(HwParams, ChooseSucceedsWhenPeriodTimeIsNotAWholeNumberOfMicroseconds) {
    // 64 frames at 44.1 kHz last 1451.25 us; 256 frames at 48 kHz 5333.33 us. These are not
    // integers, but the configurations are valid (the kernel and alsa-lib accept them):
    // period_time is only a rounded view of period_size / rate and must not make them impossible.
    struct Case {
        uint32_t rate;
        uint32_t period;
    };
    for (const Case k : {Case{44100, 64}, Case{48000, 64}, Case{48000, 256}, Case{48000, 512},
                         Case{48000, 480}, Case{48000, 1024}}) {
        SCOPED_TRACE(std::to_string(k.rate) + " Hz, period " + std::to_string(k.period));
        HwParams hp = any_of(test_caps());
        ASSERT_TRUE(hp.set_format(Format::S16_LE));
        ASSERT_TRUE(hp.set(P::Channels, 2));
        ASSERT_TRUE(hp.set(P::Rate, k.rate));
        ASSERT_TRUE(hp.set(P::PeriodSize, k.period));
        ASSERT_TRUE(hp.set(P::Periods, 4));
        const auto r = hp.choose();
        EXPECT_TRUE(r) << r.error().to_string() << "\n" << hp.to_string();
        if (!r) continue;
        EXPECT_TRUE(hp.is_chosen());
        EXPECT_EQ(hp.period_size(), k.period);
        EXPECT_EQ(hp.buffer_size(), 4 * k.period);
        const uint64_t num = uint64_t{k.period} * 1000000;
        const uint64_t pt = hp.get(P::PeriodTime);
        EXPECT_TRUE(pt == num / k.rate || pt == (num + k.rate - 1) / k.rate) << pt;
    }
}

TEST(HwParams, ChooseOfSmallestPeriodAt44100Succeeds) {
    // The kernel's choose() on this space gives S16_LE 2ch 44100 Hz, 64-frame periods x 16.
    Caps c = test_caps();
    c.formats = FormatMask::of(Format::S16_LE);
    c.channels = {2, 2};
    c.rate = {44100, 44100};
    c.period_bytes = {256, 65536};
    c.periods = {2, 16};
    HwParams hp = any_of(c);
    const auto r = hp.choose();
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(hp.period_size(), 64U);
    EXPECT_EQ(hp.buffer_size(), 1024U);
}

TEST(HwParams, ChooseIsDeterministic) {
    auto c = std::make_shared<HwConstraints>(test_caps());
    c->add_step(P::PeriodSize, 32);
    c->add_list(P::Rate, {16000, 32000, 48000});
    HwParams a = HwParams::any(c);
    HwParams b = HwParams::any(c);
    ASSERT_TRUE(a.set_min(P::BufferTime, 100000));
    ASSERT_TRUE(b.set_min(P::BufferTime, 100000));
    ASSERT_TRUE(a.choose());
    ASSERT_TRUE(b.choose());
    EXPECT_EQ(a.to_string(), b.to_string());
    EXPECT_EQ(a.summary(), b.summary());
    EXPECT_EQ(snapshot(a), snapshot(b));
    // Choosing an already chosen space changes nothing.
    HwParams again = a;
    ASSERT_TRUE(again.choose());
    expect_unchanged(a, again);
}

TEST(HwParams, IsChosenRequiresEveryParameterSingle) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set_format(Format::S16_LE));
    ASSERT_TRUE(hp.set_access(Access::RwInterleaved));
    ASSERT_TRUE(hp.set(P::Channels, 2));
    ASSERT_TRUE(hp.set(P::Rate, 48000));
    ASSERT_TRUE(hp.set(P::PeriodSize, 960));
    EXPECT_FALSE(hp.is_chosen()) << "periods is still open";
    ASSERT_TRUE(hp.set(P::Periods, 2));
    EXPECT_TRUE(hp.is_chosen()) << hp.to_string();
}

// ---------------------------------------------------------------------------------------------
// dumps

TEST(HwParams, ToStringListsEveryParameter) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set(P::Rate, 44100));
    const std::string s = hp.to_string();
    EXPECT_FALSE(s.empty());
    EXPECT_TRUE(contains(s, "ACCESS:")) << s;
    EXPECT_TRUE(contains(s, "FORMAT:")) << s;
    EXPECT_TRUE(contains(s, "S16_LE|S32_LE")) << s;
    for (P p : kAllParams) EXPECT_TRUE(contains(s, std::string(dynpcm::hw_param_name(p)) + ":")) << s;
    EXPECT_TRUE(contains(s, "44100")) << s;
    EXPECT_TRUE(contains(s, "1..8")) << s;  // channels
}

TEST(HwParams, SummaryOfChosenSpaceNamesKeyValues) {
    HwParams hp = any_of(test_caps());
    ASSERT_TRUE(hp.set_format(Format::S16_LE));
    ASSERT_TRUE(hp.set(P::Channels, 2));
    ASSERT_TRUE(hp.set(P::Rate, 48000));
    ASSERT_TRUE(hp.set(P::PeriodSize, 1024));
    ASSERT_TRUE(hp.set(P::Periods, 4));
    ASSERT_TRUE(hp.choose());
    const std::string s = hp.summary();
    EXPECT_EQ(s, "S16_LE 2ch 48000Hz period 1024 x 4 (buffer 4096)");
}

// ---------------------------------------------------------------------------------------------
// property: choose() on random narrowings of random caps always yields a consistent config.

uint32_t pick(std::mt19937& rng, uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
}

TEST(HwParamsProperty, RandomNarrowingsThenChooseAreAlwaysConsistent) {
    std::mt19937 rng(20240611U);
    int all_formats_n = 0;
    const Format* all_formats = dynpcm::all_formats(&all_formats_n);
    const auto nformats = static_cast<uint32_t>(all_formats_n);

    int chosen = 0;
    int failed_narrowings = 0;
    constexpr int kIterations = 2000;
    for (int iter = 0; iter < kIterations; ++iter) {
        Caps caps;
        caps.access.bits = static_cast<uint8_t>(pick(rng, 1, 3));
        caps.formats = FormatMask::none();
        const uint32_t nf = pick(rng, 1, 3);
        for (uint32_t i = 0; i < nf; ++i) caps.formats.add(all_formats[pick(rng, 0, nformats - 1)]);
        caps.channels.min = pick(rng, 1, 4);
        caps.channels.max = pick(rng, caps.channels.min, 8);
        caps.rate.min = pick(rng, 8000, 96000);
        caps.rate.max = pick(rng, 0, 2) == 0 ? caps.rate.min : pick(rng, caps.rate.min, 192000);
        caps.period_bytes.min = pick(rng, 16, 4096);
        caps.period_bytes.max = pick(rng, caps.period_bytes.min, 1U << 20);
        caps.periods.min = pick(rng, 1, 8);
        caps.periods.max = pick(rng, caps.periods.min, 256);
        caps.buffer_bytes_max = pick(rng, caps.period_bytes.min * caps.periods.min, 8U << 20);

        auto cons = std::make_shared<HwConstraints>(caps);
        uint32_t step = 1;
        if (pick(rng, 0, 3) == 0) {
            step = uint32_t{1} << pick(rng, 1, 6);
            cons->add_step(P::PeriodSize, step);
        }
        std::vector<uint32_t> rate_list;
        if (pick(rng, 0, 3) == 0) {
            rate_list = {44100, 48000, 96000};
            cons->add_list(P::Rate, rate_list);
        }
        HwParams hp = HwParams::any(cons);

        const int narrowings = static_cast<int>(pick(rng, 0, 4));
        for (int n = 0; n < narrowings; ++n) {
            const HwParams before = hp;
            const auto p = kAllParams[pick(rng, 0, static_cast<uint32_t>(dynpcm::kHwParamCount) - 1)];
            const Interval cur = hp.interval(p);
            const uint32_t hi = cur.empty() ? 0 : std::min<uint32_t>(cur.max, cur.min + 1000000);
            const uint32_t v = cur.empty() ? 0 : pick(rng, cur.min, hi);
            bool ok = false;
            switch (pick(rng, 0, 5)) {
                case 0: ok = static_cast<bool>(hp.set_near(p, v)); break;
                case 1: ok = static_cast<bool>(hp.set_min(p, v)); break;
                case 2: ok = static_cast<bool>(hp.set_max(p, v)); break;
                case 3: ok = static_cast<bool>(hp.set(p, v)); break;
                case 4: ok = static_cast<bool>(hp.set_format(all_formats[pick(rng, 0, nformats - 1)])); break;
                default:
                    ok = static_cast<bool>(hp.set_access(pick(rng, 0, 1) ? Access::RwInterleaved
                                                                        : Access::RwNonInterleaved));
                    break;
            }
            if (!ok) {
                ++failed_narrowings;
                // A failed narrowing leaves the space exactly as it was.
                ASSERT_EQ(hp.to_string(), before.to_string()) << "iteration " << iter;
            }
        }

        const HwParams pre = hp;
        if (!hp.choose()) continue;
        ++chosen;
        SCOPED_TRACE("iteration " + std::to_string(iter) + "\n" + hp.to_string());
        ASSERT_TRUE(hp.is_chosen());

        const uint32_t period_size = hp.period_size();
        const uint32_t periods = hp.periods();
        const uint32_t frame_bits = hp.get(P::FrameBits);
        const uint32_t channels = hp.channels();
        const auto& fi = dynpcm::format_info(hp.format());
        EXPECT_EQ(uint64_t{hp.buffer_size()}, uint64_t{period_size} * periods);
        EXPECT_EQ(uint64_t{hp.get(P::PeriodBytes)}, uint64_t{period_size} * frame_bits / 8);
        EXPECT_EQ(uint64_t{hp.get(P::BufferBytes)}, uint64_t{hp.buffer_size()} * frame_bits / 8);
        EXPECT_EQ(frame_bits, fi.physical * channels);
        EXPECT_EQ(hp.get(P::SampleBits), fi.physical);

        // Within the caps and the hardware rules.
        EXPECT_TRUE(caps.formats.has(hp.format()));
        EXPECT_TRUE(caps.access.has(hp.access()));
        EXPECT_TRUE(caps.channels.contains(channels));
        EXPECT_TRUE(caps.rate.contains(hp.rate()));
        EXPECT_TRUE(caps.period_bytes.contains(hp.get(P::PeriodBytes)));
        EXPECT_TRUE(caps.periods.contains(periods));
        EXPECT_LE(hp.get(P::BufferBytes), caps.buffer_bytes_max);
        EXPECT_EQ(period_size % step, 0U);
        if (!rate_list.empty()) {
            EXPECT_TRUE(hp.rate() == 44100 || hp.rate() == 48000 || hp.rate() == 96000);
        }

        // Times agree with frames and rate to within rounding.
        const uint64_t pt_exact_num = uint64_t{period_size} * 1000000;
        EXPECT_GE(uint64_t{hp.get(P::PeriodTime)}, pt_exact_num / hp.rate());
        EXPECT_LE(uint64_t{hp.get(P::PeriodTime)}, (pt_exact_num + hp.rate() - 1) / hp.rate());

        // choose() only narrows: every chosen value lies in the space it started from.
        for (P p : kAllParams)
            EXPECT_TRUE(pre.interval(p).contains(hp.get(p))) << dynpcm::hw_param_name(p);
        EXPECT_TRUE(pre.formats().has(hp.format()));
        EXPECT_TRUE(pre.access_mask().has(hp.access()));
        if (::testing::Test::HasFailure()) break;
    }
    // The property must actually have been exercised.
    EXPECT_GT(chosen, kIterations / 4) << "only " << chosen << " of " << kIterations << " chose";
    EXPECT_GT(failed_narrowings, 0);
}

}  // namespace

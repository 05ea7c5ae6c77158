// Interval and interval_ops: the integer range arithmetic behind the hw_params space.

#include <gtest/gtest.h>

#include <cstdint>

#include "dynpcm/pcm/interval.h"

namespace {

using dynpcm::Interval;
namespace ops = dynpcm::interval_ops;

constexpr uint32_t kInf = Interval::kMax;

Interval iv(uint32_t lo, uint32_t hi) { return Interval{lo, hi}; }

TEST(Interval, FactoriesDescribeFullSingleAndEmpty) {
    EXPECT_EQ(Interval::full(), iv(0, kInf));
    EXPECT_FALSE(Interval::full().empty());
    EXPECT_TRUE(Interval::single(7).is_single());
    EXPECT_TRUE(Interval::single(7).contains(7));
    EXPECT_FALSE(Interval::single(7).contains(8));
    EXPECT_TRUE(Interval::empty_set().empty());
    EXPECT_FALSE(Interval::empty_set().contains(0));
    EXPECT_FALSE(Interval::empty_set().contains(1));
}

TEST(Interval, ContainsIsInclusiveAtBothEnds) {
    const Interval i = iv(64, 4096);
    EXPECT_TRUE(i.contains(64));
    EXPECT_TRUE(i.contains(4096));
    EXPECT_FALSE(i.contains(63));
    EXPECT_FALSE(i.contains(4097));
}

TEST(Interval, RefineIntersectsAndReportsChange) {
    Interval i = iv(10, 100);
    EXPECT_TRUE(i.refine(iv(20, 200)));
    EXPECT_EQ(i, iv(20, 100));
    EXPECT_FALSE(i.refine(iv(0, 1000))) << "a superset must not count as a change";
    EXPECT_EQ(i, iv(20, 100));
    EXPECT_FALSE(i.refine(iv(20, 100)));
    EXPECT_TRUE(i.refine(iv(50, 60)));
    EXPECT_EQ(i, iv(50, 60));
}

TEST(Interval, RefineWithDisjointRangeBecomesEmpty) {
    Interval i = iv(10, 20);
    EXPECT_TRUE(i.refine(iv(30, 40)));
    EXPECT_TRUE(i.empty());
}

TEST(Interval, RefineMinAndMax) {
    Interval i = Interval::full();
    EXPECT_TRUE(i.refine_min(8000));
    EXPECT_EQ(i, iv(8000, kInf));
    EXPECT_TRUE(i.refine_max(48000));
    EXPECT_EQ(i, iv(8000, 48000));
    EXPECT_FALSE(i.refine_min(100));
    EXPECT_FALSE(i.refine_max(100000));
    EXPECT_TRUE(i.refine_min(48001));
    EXPECT_TRUE(i.empty());
}

TEST(Interval, RefineStepRoundsBothEndsInwardToMultiples) {
    Interval i = iv(10, 100);
    EXPECT_TRUE(i.refine_step(32));
    EXPECT_EQ(i, iv(32, 96));
    EXPECT_FALSE(i.refine_step(32)) << "already aligned";
    EXPECT_EQ(i, iv(32, 96));
    Interval j = iv(64, 128);
    EXPECT_FALSE(j.refine_step(32));
    EXPECT_EQ(j, iv(64, 128));
}

TEST(Interval, RefineStepWithNoMultipleInsideBecomesEmpty) {
    Interval i = iv(33, 63);
    EXPECT_TRUE(i.refine_step(32));
    EXPECT_TRUE(i.empty());
}

TEST(Interval, RefineStepKeepsZeroAndUnboundedMax) {
    Interval i = Interval::full();
    i.refine_step(32);
    EXPECT_EQ(i.min, 0U);
    EXPECT_EQ(i.max, kInf) << "an unbounded max must stay unbounded";
    Interval j = iv(1, kInf);
    EXPECT_TRUE(j.refine_step(48));
    EXPECT_EQ(j, iv(48, kInf));
}

TEST(Interval, RefineStepOfZeroOrOneIsANoOp) {
    Interval i = iv(3, 7);
    EXPECT_FALSE(i.refine_step(1));
    EXPECT_FALSE(i.refine_step(0));
    EXPECT_EQ(i, iv(3, 7));
    Interval e = Interval::empty_set();
    EXPECT_FALSE(e.refine_step(4));
    EXPECT_TRUE(e.empty());
}

TEST(Interval, ToStringFormats) {
    EXPECT_EQ(Interval::single(48000).to_string(), "48000");
    EXPECT_EQ(iv(64, 4096).to_string(), "64..4096");
    EXPECT_EQ(Interval::empty_set().to_string(), "(empty)");
    EXPECT_EQ(iv(9, 3).to_string(), "(empty)");
    EXPECT_EQ(iv(1, kInf).to_string(), "1..inf");
    EXPECT_EQ(Interval::full().to_string(), "0..inf");
}

TEST(IntervalOps, MulMultipliesEnds) {
    EXPECT_EQ(ops::mul(iv(2, 4), iv(3, 5)), iv(6, 20));
    EXPECT_EQ(ops::mul(Interval::single(1024), Interval::single(4)), Interval::single(4096));
}

TEST(IntervalOps, MulWithUnboundedMaxStaysUnbounded) {
    EXPECT_EQ(ops::mul(iv(1, kInf), iv(2, 3)), iv(2, kInf));
    EXPECT_EQ(ops::mul(iv(2, 3), iv(5, kInf)), iv(10, kInf));
    // Unbounded times exactly zero is zero, not unbounded.
    EXPECT_EQ(ops::mul(iv(1, kInf), Interval::single(0)), Interval::single(0));
}

TEST(IntervalOps, MulSaturatesOnOverflow) {
    const Interval r = ops::mul(Interval::single(70000), Interval::single(70000));
    EXPECT_EQ(r.min, kInf);
    EXPECT_EQ(r.max, kInf);
}

TEST(IntervalOps, DivExactRoundsInward) {
    // n in 10..20, d in 3..4: q = n/d exactly means 10/4 = 2.5 -> 3, 20/3 = 6.67 -> 6.
    EXPECT_EQ(ops::div_exact(iv(10, 20), iv(3, 4)), iv(3, 6));
    EXPECT_EQ(ops::div_exact(Interval::single(4096), iv(2, 1024)), iv(4, 2048));
    EXPECT_EQ(ops::div_exact(Interval::single(12), Interval::single(4)), Interval::single(3));
}

TEST(IntervalOps, DivExactWithNoIntegerQuotientIsEmpty) {
    // 3001 / 1000 has no integer quotient.
    EXPECT_TRUE(ops::div_exact(Interval::single(3001), Interval::single(1000)).empty());
}

TEST(IntervalOps, DivExactUnboundedCases) {
    EXPECT_EQ(ops::div_exact(iv(10, kInf), iv(2, 4)), iv(3, kInf));
    const Interval r = ops::div_exact(iv(10, 20), iv(1, kInf));
    EXPECT_EQ(r.max, 20U);
    EXPECT_LE(r.min, 1U);
    // Division by a range that includes zero cannot bound the quotient.
    EXPECT_EQ(ops::div_exact(iv(10, 20), iv(0, 5)).max, kInf);
}

TEST(IntervalOps, MulDivKExactRoundsInward) {
    // a*b in 9..15, /2 -> 4.5..7.5
    EXPECT_EQ(ops::muldivk_exact(iv(3, 5), Interval::single(3), 2), iv(5, 7));
    // Exact multiples agree.
    EXPECT_EQ(ops::muldivk_exact(Interval::single(1024), Interval::single(32), 8), Interval::single(4096));
}

TEST(IntervalOps, MulKDivExactRoundsInward) {
    // a*1000 in 10000..20000, / 3..7 -> 1428.57..6666.67
    EXPECT_EQ(ops::mulkdiv_exact(iv(10, 20), 1000, iv(3, 7)), iv(1429, 6666));
    // period_time for 1024 frames at 44100 Hz: 23219.95 us.
    EXPECT_TRUE(ops::mulkdiv_exact(Interval::single(1024), 1000000, Interval::single(44100)).empty());
    // period_time rounds down: 1024 frames at 44100 Hz last 23219 us.
    EXPECT_EQ(ops::time_us(Interval::single(1024), Interval::single(44100)), Interval::single(23219));
}

TEST(IntervalOps, ScaledOpsKeepUnboundedMaxUnbounded) {
    EXPECT_EQ(ops::muldivk_exact(iv(1, kInf), Interval::single(1000), 1000000).max, kInf);
    EXPECT_EQ(ops::time_us(iv(1, 10), iv(0, kInf)).max, kInf);
    EXPECT_EQ(ops::frames_of(iv(1, kInf), Interval::single(48000)).max, kInf);
    EXPECT_EQ(ops::mulkdiv_exact(iv(5, kInf), 8, iv(1, 2)), iv(20, kInf));
    // Dividing by a range that may be zero leaves the max open.
    EXPECT_EQ(ops::mulkdiv_exact(iv(5, 6), 8, iv(0, 2)).max, kInf);
    EXPECT_EQ(ops::rate_of(iv(5, 6), iv(0, 2)).max, kInf);
}

TEST(IntervalOps, ScaledOpsSaturateInsteadOfWrapping) {
    // 4e9 * 4e9 / 1 would wrap in 32 bits; it must saturate.
    const Interval big = Interval::single(4000000000U);
    EXPECT_EQ(ops::muldivk_exact(big, big, 1).min, kInf);
    EXPECT_EQ(ops::time_us(big, Interval::single(1)).min, kInf);
    // A product that fits 64 bits and then divides back into range is exact.
    EXPECT_EQ(ops::muldivk_exact(big, Interval::single(1000000), 1000000), big);
}

TEST(IntervalOps, EmptyOperandPropagates) {
    const Interval e = Interval::empty_set();
    const Interval x = iv(1, 100);
    EXPECT_TRUE(ops::mul(e, x).empty());
    EXPECT_TRUE(ops::mul(x, e).empty());
    EXPECT_TRUE(ops::div_exact(e, x).empty());
    EXPECT_TRUE(ops::div_exact(x, e).empty());
    EXPECT_TRUE(ops::muldivk_exact(e, x, 8).empty());
    EXPECT_TRUE(ops::muldivk_exact(x, e, 8).empty());
    EXPECT_TRUE(ops::mulkdiv_exact(e, 8, x).empty());
    EXPECT_TRUE(ops::mulkdiv_exact(x, 8, e).empty());
    EXPECT_TRUE(ops::time_us(e, x).empty());
    EXPECT_TRUE(ops::frames_of(x, e).empty());
    EXPECT_TRUE(ops::rate_of(e, x).empty());
}

TEST(IntervalOps, ResultsAreSupersetsOfTheTrueValues) {
    // Brute force over small ranges: every achievable exact integer result lies in the interval.
    for (uint32_t a0 = 1; a0 <= 6; ++a0)
        for (uint32_t a1 = a0; a1 <= 9; ++a1)
            for (uint32_t b0 = 1; b0 <= 4; ++b0)
                for (uint32_t b1 = b0; b1 <= 6; ++b1) {
                    const Interval a = iv(a0, a1), b = iv(b0, b1);
                    const Interval m = ops::mul(a, b), d = ops::div_exact(a, b);
                    const Interval mk = ops::muldivk_exact(a, b, 3), kd = ops::mulkdiv_exact(a, 3, b);
                    for (uint32_t x = a0; x <= a1; ++x)
                        for (uint32_t y = b0; y <= b1; ++y) {
                            ASSERT_TRUE(m.contains(x * y));
                            if (x % y == 0) {
                                ASSERT_TRUE(d.contains(x / y)) << x << "/" << y;
                            }
                            if ((x * y) % 3 == 0) {
                                ASSERT_TRUE(mk.contains(x * y / 3));
                            }
                            if ((x * 3) % y == 0) {
                                ASSERT_TRUE(kd.contains(x * 3 / y));
                            }
                        }
                }
}

TEST(IntervalOps, TimeRelationsAreExactInversesOfRoundingDown) {
    // Brute force: for every frames f and rate r in small ranges, time t = floor(f*1e6/r) lies
    // in time_us, f lies in frames_of(t, r), and r lies in rate_of(f, t).
    for (uint32_t f = 1; f <= 300; f += 7)
        for (uint32_t r = 8000; r <= 48000; r += 4000) {
            const uint32_t t = static_cast<uint32_t>(uint64_t{f} * 1000000 / r);
            ASSERT_TRUE(ops::time_us(Interval::single(f), Interval::single(r)).contains(t)) << f << "@" << r;
            ASSERT_TRUE(ops::frames_of(Interval::single(t), Interval::single(r)).contains(f)) << f << "@" << r;
            ASSERT_TRUE(ops::rate_of(Interval::single(f), Interval::single(t)).contains(r)) << f << "@" << r;
        }
    // And tight: 10000 us at 44100 Hz is exactly 441 frames; 256 frames at 48 kHz is 5333 us.
    EXPECT_EQ(ops::frames_of(Interval::single(10000), Interval::single(44100)), Interval::single(441));
    EXPECT_EQ(ops::time_us(Interval::single(256), Interval::single(48000)), Interval::single(5333));
}

}  // namespace

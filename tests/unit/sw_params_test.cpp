// sw_params: alsa-lib defaults, the kernel's validation rules, and the pointer boundary.

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <random>
#include <string>

#include "dynpcm/pcm/sw_params.h"

namespace {

using dynpcm::compute_boundary;
using dynpcm::Frames;
using dynpcm::SwParams;
using dynpcm::sw_params_defaults;
using dynpcm::validate_sw_params;

constexpr Frames kBuffer = 4096;
constexpr Frames kPeriod = 1024;
constexpr Frames kBoundary = Frames{1} << 62;

bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

// --- defaults --------------------------------------------------------------------------------

TEST(SwParamsDefaults, FollowAlsaLib) {
    const SwParams p = sw_params_defaults(kPeriod, kBuffer, kBoundary);
    EXPECT_EQ(p.avail_min, kPeriod);
    EXPECT_EQ(p.start_threshold, 1U);
    EXPECT_EQ(p.stop_threshold, kBuffer);
    EXPECT_EQ(p.silence_threshold, 0U);
    EXPECT_EQ(p.silence_size, 0U);
    EXPECT_EQ(p.boundary, kBoundary);
    EXPECT_FALSE(p.period_event);
}

TEST(SwParamsDefaults, PassBoundaryThroughUnchanged) {
    EXPECT_EQ(sw_params_defaults(256, 1024, 12345).boundary, 12345U);
    EXPECT_EQ(sw_params_defaults(480, 1920, 0).boundary, 0U);
    const SwParams p = sw_params_defaults(480, 1920, 7);
    EXPECT_EQ(p.avail_min, 480U);
    EXPECT_EQ(p.stop_threshold, 1920U);
}

TEST(SwParamsDefaults, AreValid) {
    const Frames boundary = compute_boundary(kBuffer, 63);
    EXPECT_TRUE(validate_sw_params(sw_params_defaults(kPeriod, kBuffer, boundary), kBuffer, boundary));
}

TEST(SwParams, ToStringNamesEveryField) {
    SwParams p = sw_params_defaults(kPeriod, kBuffer, kBoundary);
    p.silence_threshold = 77;
    p.silence_size = 55;
    const std::string s = p.to_string();
    EXPECT_TRUE(contains(s, "avail_min 1024")) << s;
    EXPECT_TRUE(contains(s, "start_threshold 1")) << s;
    EXPECT_TRUE(contains(s, "stop_threshold 4096")) << s;
    EXPECT_TRUE(contains(s, "silence_threshold 77")) << s;
    EXPECT_TRUE(contains(s, "silence_size 55")) << s;
    EXPECT_TRUE(contains(s, "boundary " + std::to_string(kBoundary))) << s;
}

// --- validation ------------------------------------------------------------------------------

TEST(ValidateSwParams, AvailMinZeroIsEinval) {
    SwParams p = sw_params_defaults(kPeriod, kBuffer, kBoundary);
    p.avail_min = 0;
    const auto r = validate_sw_params(p, kBuffer, kBoundary);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), -EINVAL);
    EXPECT_TRUE(contains(r.error().message(), "avail_min")) << r.error().message();
    p.avail_min = 1;
    EXPECT_TRUE(validate_sw_params(p, kBuffer, kBoundary));
}

TEST(ValidateSwParams, SilenceSizeAboveThresholdIsEinval) {
    SwParams p = sw_params_defaults(kPeriod, kBuffer, kBoundary);
    p.silence_threshold = 1000;
    p.silence_size = 1001;
    const auto r = validate_sw_params(p, kBuffer, kBoundary);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), -EINVAL);
    EXPECT_TRUE(contains(r.error().message(), "1001")) << r.error().message();
    p.silence_size = 1000;  // equal is fine
    EXPECT_TRUE(validate_sw_params(p, kBuffer, kBoundary));
    p.silence_size = 0;
    EXPECT_TRUE(validate_sw_params(p, kBuffer, kBoundary));
}

TEST(ValidateSwParams, SilenceThresholdAboveBufferIsEinval) {
    SwParams p = sw_params_defaults(kPeriod, kBuffer, kBoundary);
    p.silence_threshold = kBuffer + 1;
    const auto r = validate_sw_params(p, kBuffer, kBoundary);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), -EINVAL);
    EXPECT_TRUE(contains(r.error().message(), "silence_threshold")) << r.error().message();
    EXPECT_TRUE(contains(r.error().message(), "4097")) << r.error().message();
    p.silence_threshold = kBuffer;  // a whole buffer is the limit
    EXPECT_TRUE(validate_sw_params(p, kBuffer, kBoundary));
}

TEST(ValidateSwParams, SilenceSizeAtOrAboveBoundaryRequiresZeroThreshold) {
    const Frames boundary = compute_boundary(kBuffer, 63);
    SwParams p = sw_params_defaults(kPeriod, kBuffer, boundary);
    p.silence_size = boundary;  // "fill everything"
    p.silence_threshold = 0;
    EXPECT_TRUE(validate_sw_params(p, kBuffer, boundary));
    p.silence_size = ~Frames{0};
    EXPECT_TRUE(validate_sw_params(p, kBuffer, boundary));

    p.silence_threshold = 1;
    const auto r = validate_sw_params(p, kBuffer, boundary);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), -EINVAL);
    EXPECT_TRUE(contains(r.error().message(), "silence_threshold")) << r.error().message();

    // Just below the boundary the ordinary rules apply: size > threshold is rejected.
    p.silence_size = boundary - 1;
    p.silence_threshold = 0;
    EXPECT_FALSE(validate_sw_params(p, kBuffer, boundary));
}

TEST(ValidateSwParams, UsesTheGivenBoundaryNotTheStructField) {
    SwParams p = sw_params_defaults(kPeriod, kBuffer, 0);  // field says 0
    p.silence_size = 8192;
    p.silence_threshold = 0;
    // With boundary 8192, silence_size 8192 means "fill everything" and threshold 0 is valid.
    EXPECT_TRUE(validate_sw_params(p, kBuffer, 8192));
    // With a larger boundary it is an ordinary size, larger than the threshold.
    EXPECT_FALSE(validate_sw_params(p, kBuffer, 16384));
}

TEST(ValidateSwParams, ThresholdsThatAreNotCheckedAreAccepted) {
    // As in the kernel: start/stop thresholds beyond the buffer are meaningful ("start
    // explicitly", "never xrun"), and avail_min beyond the buffer is allowed.
    SwParams p = sw_params_defaults(kPeriod, kBuffer, kBoundary);
    p.start_threshold = kBoundary;
    p.stop_threshold = kBoundary;
    p.avail_min = kBuffer * 2;
    EXPECT_TRUE(validate_sw_params(p, kBuffer, kBoundary));
}

// --- boundary --------------------------------------------------------------------------------

TEST(ComputeBoundary, Buffer4096With63BitsIs2Pow62) {
    EXPECT_EQ(compute_boundary(4096, 63), Frames{1} << 62);
}

TEST(ComputeBoundary, Buffer4096With31BitsIs2Pow30) {
    // 2^31 - 1 - 4096 = 2147479551: 2^30 fits, 2^31 does not.
    EXPECT_EQ(compute_boundary(4096, 31), Frames{1} << 30);
}

TEST(ComputeBoundary, SmallBitsByHand) {
    // limit 2^5 - 1 = 31, minus buffer 3 = 28: 3, 6, 12, 24 fit; 48 does not.
    EXPECT_EQ(compute_boundary(3, 5), 24U);
    // limit 15, minus 5 = 10: 5, 10 fit (equality counts); 20 does not.
    EXPECT_EQ(compute_boundary(5, 4), 10U);
    // limit 1023, minus 48 = 975: 48 * 16 = 768 fits, 1536 does not.
    EXPECT_EQ(compute_boundary(48, 10), 768U);
    // limit 255, minus 100 = 155: 100 fits, 200 does not.
    EXPECT_EQ(compute_boundary(100, 8), 100U);
}

TEST(ComputeBoundary, NonPowerOfTwoBuffer) {
    // 1000 * 2^21 = 2097152000 <= 2^31 - 1 - 1000; 1000 * 2^22 is too big.
    EXPECT_EQ(compute_boundary(1000, 31), Frames{1000} << 21);
    // 3000 * 2^51 < 2^63 - 1 - 3000 < 3000 * 2^52
    EXPECT_EQ(compute_boundary(3000, 63), Frames{3000} << 51);
}

TEST(ComputeBoundary, SixtyFourBitsDoesNotOverflow) {
    EXPECT_EQ(compute_boundary(4096, 64), Frames{1} << 63);
    EXPECT_EQ(compute_boundary(1, 64), Frames{1} << 63);
}

TEST(ComputeBoundary, ZeroBufferGivesZero) {
    EXPECT_EQ(compute_boundary(0, 63), 0U);
}

TEST(ComputeBoundary, IsLargestPowerOfTwoMultipleOfBufferWithinLimit) {
    std::mt19937_64 rng(0x5eed);
    for (int i = 0; i < 2000; ++i) {
        const unsigned bits = std::uniform_int_distribution<unsigned>(24, 63)(rng);
        const Frames limit = (Frames{1} << bits) - 1;
        const Frames buffer = std::uniform_int_distribution<Frames>(1, Frames{1} << 20)(rng);
        const Frames b = compute_boundary(buffer, bits);
        SCOPED_TRACE("buffer " + std::to_string(buffer) + " bits " + std::to_string(bits));
        ASSERT_EQ(b % buffer, 0U);
        const Frames ratio = b / buffer;
        ASSERT_EQ(ratio & (ratio - 1), 0U) << "boundary/buffer must be a power of two";
        ASSERT_LE(b, limit - buffer);
        ASSERT_GT(b, (limit - buffer) / 2) << "a larger power-of-two multiple would still fit";
    }
}

}  // namespace

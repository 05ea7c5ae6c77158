// Sample formats: format_info, parse_format, frame_bytes, FormatMask.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "dynpcm/pcm/format.h"

namespace {

using dynpcm::Format;
using dynpcm::FormatMask;
using dynpcm::format_info;
using dynpcm::parse_format;

TEST(FormatInfo, S16LeIs16BitsIn16) {
    const auto& i = format_info(Format::S16_LE);
    EXPECT_EQ(i.name, "S16_LE");
    EXPECT_EQ(i.width, 16U);
    EXPECT_EQ(i.physical, 16U);
    EXPECT_TRUE(i.is_signed);
    EXPECT_FALSE(i.is_float);
    EXPECT_TRUE(i.little_endian);
    EXPECT_EQ(i.silence_byte, 0);
}

TEST(FormatInfo, S24LeIs24BitsIn32) {
    const auto& i = format_info(Format::S24_LE);
    EXPECT_EQ(i.name, "S24_LE");
    EXPECT_EQ(i.width, 24U);
    EXPECT_EQ(i.physical, 32U);
}

TEST(FormatInfo, S24_3LeIs24BitsPackedIn24) {
    const auto& i = format_info(Format::S24_3LE);
    EXPECT_EQ(i.name, "S24_3LE");
    EXPECT_EQ(i.width, 24U);
    EXPECT_EQ(i.physical, 24U);
    EXPECT_TRUE(i.little_endian);
}

TEST(FormatInfo, S32LeIs32BitsIn32) {
    const auto& i = format_info(Format::S32_LE);
    EXPECT_EQ(i.width, 32U);
    EXPECT_EQ(i.physical, 32U);
    EXPECT_FALSE(i.is_float);
}

TEST(FormatInfo, FloatLeIs32BitFloat) {
    const auto& i = format_info(Format::FLOAT_LE);
    EXPECT_EQ(i.name, "FLOAT_LE");
    EXPECT_EQ(i.width, 32U);
    EXPECT_EQ(i.physical, 32U);
    EXPECT_TRUE(i.is_float);
    EXPECT_TRUE(i.is_signed);
    EXPECT_EQ(i.silence_byte, 0);
}

TEST(FormatInfo, Float64LeIs64BitFloat) {
    const auto& i = format_info(Format::FLOAT64_LE);
    EXPECT_EQ(i.width, 64U);
    EXPECT_EQ(i.physical, 64U);
    EXPECT_TRUE(i.is_float);
}

TEST(FormatInfo, U8IsUnsignedWithSilence0x80) {
    const auto& i = format_info(Format::U8);
    EXPECT_EQ(i.name, "U8");
    EXPECT_EQ(i.width, 8U);
    EXPECT_EQ(i.physical, 8U);
    EXPECT_FALSE(i.is_signed);
    EXPECT_EQ(i.silence_byte, 0x80);
    EXPECT_EQ(format_info(Format::S8).silence_byte, 0);
}

TEST(FormatInfo, BigEndianVariantsAreMarkedBigEndian) {
    EXPECT_FALSE(format_info(Format::S16_BE).little_endian);
    EXPECT_FALSE(format_info(Format::S24_BE).little_endian);
    EXPECT_FALSE(format_info(Format::S32_BE).little_endian);
    EXPECT_FALSE(format_info(Format::S24_3BE).little_endian);
    EXPECT_EQ(format_info(Format::S24_3BE).physical, 24U);
}

TEST(FormatInfo, EnumeratorsKeepAlsaNumbering) {
    EXPECT_EQ(static_cast<int>(Format::S16_LE), 2);
    EXPECT_EQ(static_cast<int>(Format::S24_LE), 6);
    EXPECT_EQ(static_cast<int>(Format::S32_LE), 10);
    EXPECT_EQ(static_cast<int>(Format::FLOAT_LE), 14);
    EXPECT_EQ(static_cast<int>(Format::S24_3LE), 32);
}

TEST(AllFormats, ListsEveryFormatOnceInEnumOrderWithDistinctNames) {
    int n = 0;
    const Format* all = dynpcm::all_formats(&n);
    ASSERT_EQ(n, 12);
    std::set<std::string_view> names;
    for (int i = 0; i < n; ++i) {
        if (i > 0) {
            EXPECT_LT(static_cast<int>(all[i - 1]), static_cast<int>(all[i]));
        }
        const auto& info = format_info(all[i]);
        EXPECT_TRUE(names.insert(info.name).second) << info.name;
        EXPECT_EQ(info.physical % 8, 0U) << info.name;
        EXPECT_LE(info.width, info.physical) << info.name;
        // Every name parses back to its own format.
        EXPECT_EQ(parse_format(info.name), std::optional<Format>(all[i])) << info.name;
    }
}

TEST(ParseFormat, AcceptsExactNames) {
    EXPECT_EQ(parse_format("S16_LE"), std::optional<Format>(Format::S16_LE));
    EXPECT_EQ(parse_format("S24_3LE"), std::optional<Format>(Format::S24_3LE));
    EXPECT_EQ(parse_format("FLOAT_LE"), std::optional<Format>(Format::FLOAT_LE));
    EXPECT_EQ(parse_format("U8"), std::optional<Format>(Format::U8));
}

TEST(ParseFormat, IsCaseInsensitive) {
    EXPECT_EQ(parse_format("s16_le"), std::optional<Format>(Format::S16_LE));
    EXPECT_EQ(parse_format("S32_le"), std::optional<Format>(Format::S32_LE));
    EXPECT_EQ(parse_format("s24_3le"), std::optional<Format>(Format::S24_3LE));
    EXPECT_EQ(parse_format("Float64_Le"), std::optional<Format>(Format::FLOAT64_LE));
}

TEST(ParseFormat, FloatIsAnAliasForFloatLe) {
    EXPECT_EQ(parse_format("FLOAT"), std::optional<Format>(Format::FLOAT_LE));
    EXPECT_EQ(parse_format("float"), std::optional<Format>(Format::FLOAT_LE));
}

TEST(ParseFormat, RejectsUnknownAndPartialNames) {
    EXPECT_FALSE(parse_format("").has_value());
    EXPECT_FALSE(parse_format("S16").has_value());
    EXPECT_FALSE(parse_format("S16_LEX").has_value());
    EXPECT_FALSE(parse_format(" S16_LE").has_value());
    EXPECT_FALSE(parse_format("MU_LAW").has_value());
    EXPECT_FALSE(parse_format("FLOATX").has_value());
    EXPECT_FALSE(parse_format("S24_3").has_value());
}

TEST(FrameBytes, IsPhysicalBytesTimesChannels) {
    EXPECT_EQ(dynpcm::frame_bytes(Format::S16_LE, 2), 4U);
    EXPECT_EQ(dynpcm::frame_bytes(Format::S24_LE, 2), 8U);
    EXPECT_EQ(dynpcm::frame_bytes(Format::S24_3LE, 2), 6U);
    EXPECT_EQ(dynpcm::frame_bytes(Format::S24_3LE, 1), 3U);
    EXPECT_EQ(dynpcm::frame_bytes(Format::U8, 6), 6U);
    EXPECT_EQ(dynpcm::frame_bytes(Format::FLOAT64_LE, 8), 64U);
    EXPECT_EQ(dynpcm::frame_bytes(Format::S32_LE, 0), 0U);
}

TEST(FormatMask, DefaultAndNoneAreEmpty) {
    constexpr FormatMask m;
    EXPECT_TRUE(m.empty());
    EXPECT_FALSE(m.single());
    EXPECT_EQ(m, FormatMask::none());
    EXPECT_EQ(m.bits(), 0U);
    EXPECT_EQ(m.to_string(), "(none)");
}

TEST(FormatMask, OfHoldsExactlyOneFormat) {
    const FormatMask m = FormatMask::of(Format::S24_3LE);
    EXPECT_TRUE(m.has(Format::S24_3LE));
    EXPECT_FALSE(m.has(Format::S24_LE));
    EXPECT_TRUE(m.single());
    EXPECT_FALSE(m.empty());
    EXPECT_EQ(m.first(), Format::S24_3LE);
    EXPECT_EQ(m.bits(), uint64_t{1} << 32);
}

TEST(FormatMask, AddRemoveAndSetOperations) {
    FormatMask m;
    m.add(Format::S32_LE);
    m.add(Format::S16_LE);
    EXPECT_FALSE(m.single());
    EXPECT_EQ(m.first(), Format::S16_LE);  // lowest-numbered
    m.remove(Format::S16_LE);
    EXPECT_TRUE(m.single());
    EXPECT_EQ(m.first(), Format::S32_LE);
    m.remove(Format::S16_LE);  // removing an absent format is a no-op
    EXPECT_EQ(m, FormatMask::of(Format::S32_LE));

    const FormatMask a = FormatMask::of(Format::S16_LE) | FormatMask::of(Format::S32_LE);
    const FormatMask b = FormatMask::of(Format::S32_LE) | FormatMask::of(Format::FLOAT_LE);
    EXPECT_EQ(a & b, FormatMask::of(Format::S32_LE));
    const FormatMask u = a | b;
    EXPECT_TRUE(u.has(Format::S16_LE));
    EXPECT_TRUE(u.has(Format::S32_LE));
    EXPECT_TRUE(u.has(Format::FLOAT_LE));
    EXPECT_FALSE(u.has(Format::U8));
    EXPECT_TRUE((FormatMask::of(Format::U8) & FormatMask::of(Format::S8)).empty());
}

TEST(FormatMask, AllContainsEveryKnownFormat) {
    const FormatMask all = FormatMask::all();
    int n = 0;
    const Format* fs = dynpcm::all_formats(&n);
    for (int i = 0; i < n; ++i) EXPECT_TRUE(all.has(fs[i])) << format_info(fs[i]).name;
    EXPECT_EQ(all.first(), Format::S8);
    // Exactly the known formats: 12 bits set.
    int bits = 0;
    for (uint64_t b = all.bits(); b != 0; b &= b - 1) ++bits;
    EXPECT_EQ(bits, n);
}

TEST(FormatMask, ToStringJoinsNamesInEnumOrder) {
    EXPECT_EQ(FormatMask::of(Format::S16_LE).to_string(), "S16_LE");
    const FormatMask m = FormatMask::of(Format::S24_3LE) | FormatMask::of(Format::S16_LE) |
                         FormatMask::of(Format::FLOAT_LE);
    EXPECT_EQ(m.to_string(), "S16_LE|FLOAT_LE|S24_3LE");
}

}  // namespace

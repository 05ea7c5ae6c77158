#include "dynpcm/pcm/format.h"

#include <array>
#include <bit>
#include <cctype>

namespace dynpcm {

namespace {

struct Entry {
    Format format;
    FormatInfo info;
};

constexpr std::array<Entry, 12> kFormats{{
    {Format::S8, {"S8", 8, 8, true, false, true, 0}},
    {Format::U8, {"U8", 8, 8, false, false, true, 0x80}},
    {Format::S16_LE, {"S16_LE", 16, 16, true, false, true, 0}},
    {Format::S16_BE, {"S16_BE", 16, 16, true, false, false, 0}},
    {Format::S24_LE, {"S24_LE", 24, 32, true, false, true, 0}},
    {Format::S24_BE, {"S24_BE", 24, 32, true, false, false, 0}},
    {Format::S32_LE, {"S32_LE", 32, 32, true, false, true, 0}},
    {Format::S32_BE, {"S32_BE", 32, 32, true, false, false, 0}},
    {Format::FLOAT_LE, {"FLOAT_LE", 32, 32, true, true, true, 0}},
    {Format::FLOAT64_LE, {"FLOAT64_LE", 64, 64, true, true, true, 0}},
    {Format::S24_3LE, {"S24_3LE", 24, 24, true, false, true, 0}},
    {Format::S24_3BE, {"S24_3BE", 24, 24, true, false, false, 0}},
}};

constexpr std::array<Format, kFormats.size()> kAll = [] {
    std::array<Format, kFormats.size()> a{};
    for (size_t i = 0; i < kFormats.size(); ++i) a[i] = kFormats[i].format;
    return a;
}();

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) != static_cast<unsigned char>(b[i]))
            return false;
    return true;
}

}  // namespace

const FormatInfo& format_info(Format f) noexcept {
    for (const auto& e : kFormats)
        if (e.format == f) return e.info;
    return kFormats[0].info;  // unreachable for valid enumerators
}

std::optional<Format> parse_format(std::string_view name) noexcept {
    for (const auto& e : kFormats)
        if (iequals(name, e.info.name)) return e.format;
    if (iequals(name, "FLOAT")) return Format::FLOAT_LE;  // ALSA's alias
    return std::nullopt;
}

const Format* all_formats(int* count) noexcept {
    *count = static_cast<int>(kAll.size());
    return kAll.data();
}

FormatMask FormatMask::all() noexcept {
    FormatMask m;
    for (Format f : kAll) m.add(f);
    return m;
}

Format FormatMask::first() const noexcept {
    return static_cast<Format>(std::countr_zero(bits_));
}

std::string FormatMask::to_string() const {
    if (empty()) return "(none)";
    std::string s;
    for (Format f : kAll) {
        if (!has(f)) continue;
        if (!s.empty()) s += '|';
        s += format_info(f).name;
    }
    return s;
}

}  // namespace dynpcm

#pragma once
/// Sample formats, with ALSA's names and sizes (SND_PCM_FORMAT_*), and sets of them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dynpcm {

/// A sample format. The enumerators keep alsa-lib's numbering (snd_pcm_format_t), so a value
/// can cross to and from alsa-lib by cast.
enum class Format : uint8_t {
    S8 = 0,
    U8 = 1,
    S16_LE = 2,
    S16_BE = 3,
    S24_LE = 6,    ///< 24 bits in the low three bytes of a 4-byte word
    S24_BE = 7,
    S32_LE = 10,
    S32_BE = 11,
    FLOAT_LE = 14,
    FLOAT64_LE = 16,
    S24_3LE = 32,  ///< 24 bits packed in 3 bytes
    S24_3BE = 33,
};

inline constexpr int kFormatCount = 64;  ///< the width of a FormatMask

/// Static facts about one format. Thread: any. Blocking: wait-free. Allocates: no.
struct FormatInfo {
    std::string_view name;  ///< ALSA's name: "S16_LE", "S24_3LE", "FLOAT_LE", ...
    unsigned width;         ///< significant bits per sample (snd_pcm_format_width)
    unsigned physical;      ///< bits each sample occupies in memory (snd_pcm_format_physical_width)
    bool is_signed;
    bool is_float;
    bool little_endian;
    uint8_t silence_byte;   ///< the byte value a silent sample repeats (0x80 for U8, else 0)
};

/// Facts for `f`. Thread: any. Blocking: wait-free. Allocates: no.
const FormatInfo& format_info(Format f) noexcept;
/// Parses an ALSA format name ("S16_LE", case-insensitive). Thread: any. Allocates: no.
std::optional<Format> parse_format(std::string_view name) noexcept;
/// Every format dynpcm knows, in enum order. Thread: any. Allocates: no.
const Format* all_formats(int* count) noexcept;

/// Bytes per frame. Thread: any. Blocking: wait-free. Allocates: no.
inline unsigned frame_bytes(Format f, unsigned channels) noexcept {
    return format_info(f).physical / 8 * channels;
}

/// A set of formats, like ALSA's snd_mask. Thread: any. Blocking: wait-free. Allocates: no.
class FormatMask {
public:
    constexpr FormatMask() = default;
    static constexpr FormatMask none() { return FormatMask{}; }
    /// Every format dynpcm supports.
    static FormatMask all() noexcept;
    static constexpr FormatMask of(Format f) { return FormatMask{bit(f)}; }

    constexpr bool has(Format f) const { return (bits_ & bit(f)) != 0; }
    constexpr void add(Format f) { bits_ |= bit(f); }
    constexpr void remove(Format f) { bits_ &= ~bit(f); }
    constexpr bool empty() const { return bits_ == 0; }
    constexpr bool single() const { return bits_ != 0 && (bits_ & (bits_ - 1)) == 0; }
    constexpr FormatMask operator&(FormatMask o) const { return FormatMask{bits_ & o.bits_}; }
    constexpr FormatMask operator|(FormatMask o) const { return FormatMask{bits_ | o.bits_}; }
    constexpr bool operator==(const FormatMask&) const = default;
    /// The lowest-numbered format in the set; the set must not be empty.
    Format first() const noexcept;
    /// "S16_LE|S32_LE", or "(none)".
    std::string to_string() const;
    constexpr uint64_t bits() const { return bits_; }

private:
    constexpr explicit FormatMask(uint64_t b) : bits_(b) {}
    static constexpr uint64_t bit(Format f) { return uint64_t{1} << static_cast<unsigned>(f); }
    uint64_t bits_ = 0;
};

}  // namespace dynpcm

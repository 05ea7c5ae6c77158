#include "dynpcm/dsp/convert.h"

#include <bit>
#include <cmath>

#include "dsp/simd.h"
#include <cstdint>
#include <cstring>

namespace dynpcm::dsp {

namespace {

constexpr float kS8 = 128.0f;
constexpr float kS16 = 32768.0f;
constexpr float kS24 = 8388608.0f;
constexpr double kS32 = 2147483648.0;

// Round to nearest and saturate to [lo, hi]. NaN becomes 0 rather than undefined behaviour.
template <class Int, class Scale>
Int quantize(float sample, Scale scale, double lo, double hi) noexcept {
    const auto x = static_cast<double>(sample);
    if (!(x == x)) return 0;
    const double v = std::nearbyint(x * static_cast<double>(scale));
    return static_cast<Int>(v < lo ? lo : v > hi ? hi : v);
}

uint32_t load_le(const uint8_t* p, unsigned bytes) noexcept {
    uint32_t v = 0;
    for (unsigned i = 0; i < bytes; ++i) v |= uint32_t{p[i]} << (8 * i);
    return v;
}
uint32_t load_be(const uint8_t* p, unsigned bytes) noexcept {
    uint32_t v = 0;
    for (unsigned i = 0; i < bytes; ++i) v = (v << 8) | p[i];
    return v;
}
void store_le(uint8_t* p, uint32_t v, unsigned bytes) noexcept {
    for (unsigned i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void store_be(uint8_t* p, uint32_t v, unsigned bytes) noexcept {
    for (unsigned i = 0; i < bytes; ++i) p[bytes - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
}
// Sign-extends the low `bits` bits of v.
int32_t sign_extend(uint32_t v, unsigned bits) noexcept {
    const uint32_t m = uint32_t{1} << (bits - 1);
    v &= (bits == 32) ? 0xFFFFFFFFU : ((uint32_t{1} << bits) - 1);
    return static_cast<int32_t>((v ^ m) - m);
}

// S16_LE is what most PCMs carry, so it has loops of its own that compilers vectorize: a
// 16-bit load and a multiply by a power of two (exact), and back a multiply, a clamp and a
// round-to-nearest conversion (exact for every value in range). Built for AVX2 and for the
// baseline on x86-64 (dsp/simd.h).

DYNPCM_SIMD_CLONES
void s16le_to_float(const uint8_t* __restrict p, float* __restrict dst, size_t n) noexcept {
    for (size_t i = 0; i < n; ++i) {
        int16_t v;
        std::memcpy(&v, p + 2 * i, sizeof v);
        dst[i] = static_cast<float>(v) * (1.0f / kS16);
    }
}

DYNPCM_SIMD_CLONES
void float_to_s16le(const float* __restrict src, uint8_t* __restrict p, size_t n) noexcept {
    for (size_t i = 0; i < n; ++i) {
        float x = src[i] * kS16;
        x = x == x ? x : 0.0f;  // NaN: silence
        x = x < -32768.0f ? -32768.0f : x > 32767.0f ? 32767.0f : x;
        const auto v = static_cast<int16_t>(std::lrintf(x));
        std::memcpy(p + 2 * i, &v, sizeof v);
    }
}

}  // namespace

bool convertible(Format f) noexcept {
    switch (f) {
        case Format::S8: case Format::U8: case Format::S16_LE: case Format::S16_BE: case Format::S24_LE:
        case Format::S24_BE: case Format::S32_LE: case Format::S32_BE: case Format::FLOAT_LE:
        case Format::FLOAT64_LE: case Format::S24_3LE: case Format::S24_3BE:
            return true;
    }
    return false;
}

void to_float(Format f, const void* src, float* dst, size_t n) noexcept {
    const auto* p = static_cast<const uint8_t*>(src);
    switch (f) {
        case Format::S8:
            for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(static_cast<int8_t>(p[i])) / kS8;
            return;
        case Format::U8:
            for (size_t i = 0; i < n; ++i) dst[i] = (static_cast<float>(p[i]) - 128.0f) / kS8;
            return;
        case Format::S16_LE:
            if constexpr (std::endian::native == std::endian::little) {
                s16le_to_float(p, dst, n);
                return;
            }
            [[fallthrough]];
        case Format::S16_BE:
            for (size_t i = 0; i < n; ++i) {
                const uint32_t v = f == Format::S16_LE ? load_le(p + 2 * i, 2) : load_be(p + 2 * i, 2);
                dst[i] = static_cast<float>(sign_extend(v, 16)) / kS16;
            }
            return;
        case Format::S24_LE:  // 24 bits in the low three bytes of four
        case Format::S24_BE:
            for (size_t i = 0; i < n; ++i) {
                const uint32_t v = f == Format::S24_LE ? load_le(p + 4 * i, 4) : load_be(p + 4 * i, 4);
                dst[i] = static_cast<float>(sign_extend(v, 24)) / kS24;
            }
            return;
        case Format::S24_3LE:
        case Format::S24_3BE:
            for (size_t i = 0; i < n; ++i) {
                const uint32_t v = f == Format::S24_3LE ? load_le(p + 3 * i, 3) : load_be(p + 3 * i, 3);
                dst[i] = static_cast<float>(sign_extend(v, 24)) / kS24;
            }
            return;
        case Format::S32_LE:
        case Format::S32_BE:
            for (size_t i = 0; i < n; ++i) {
                const uint32_t v = f == Format::S32_LE ? load_le(p + 4 * i, 4) : load_be(p + 4 * i, 4);
                dst[i] = static_cast<float>(static_cast<double>(sign_extend(v, 32)) / kS32);
            }
            return;
        case Format::FLOAT_LE: std::memcpy(dst, src, n * sizeof(float)); return;
        case Format::FLOAT64_LE:
            for (size_t i = 0; i < n; ++i) {
                double d = 0;
                std::memcpy(&d, p + 8 * i, sizeof d);
                dst[i] = static_cast<float>(d);
            }
            return;
    }
}

void from_float(Format f, const float* src, void* dst, size_t n) noexcept {
    auto* p = static_cast<uint8_t*>(dst);
    switch (f) {
        case Format::S8:
            for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(quantize<int8_t>(src[i], kS8, -128, 127));
            return;
        case Format::U8:
            for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(quantize<int16_t>(src[i], kS8, -128, 127) + 128);
            return;
        case Format::S16_LE:
            if constexpr (std::endian::native == std::endian::little) {
                float_to_s16le(src, p, n);
                return;
            }
            [[fallthrough]];
        case Format::S16_BE:
            for (size_t i = 0; i < n; ++i) {
                const auto v = static_cast<uint32_t>(static_cast<uint16_t>(quantize<int16_t>(src[i], kS16, -32768, 32767)));
                if (f == Format::S16_LE) store_le(p + 2 * i, v, 2);
                else store_be(p + 2 * i, v, 2);
            }
            return;
        case Format::S24_LE:
        case Format::S24_BE:
        case Format::S24_3LE:
        case Format::S24_3BE: {
            const bool packed = f == Format::S24_3LE || f == Format::S24_3BE;
            const bool le = f == Format::S24_LE || f == Format::S24_3LE;
            const unsigned width = packed ? 3 : 4;
            for (size_t i = 0; i < n; ++i) {
                const int32_t s = quantize<int32_t>(src[i], kS24, -8388608, 8388607);
                // In a 4-byte container the top byte carries the sign extension, as ALSA writes it.
                const uint32_t v = packed ? (static_cast<uint32_t>(s) & 0xFFFFFFU) : static_cast<uint32_t>(s);
                if (le) store_le(p + width * i, v, width);
                else store_be(p + width * i, v, width);
            }
            return;
        }
        case Format::S32_LE:
        case Format::S32_BE:
            for (size_t i = 0; i < n; ++i) {
                const auto v = static_cast<uint32_t>(quantize<int32_t>(src[i], kS32, -2147483648.0, 2147483647.0));
                if (f == Format::S32_LE) store_le(p + 4 * i, v, 4);
                else store_be(p + 4 * i, v, 4);
            }
            return;
        case Format::FLOAT_LE: std::memcpy(dst, src, n * sizeof(float)); return;
        case Format::FLOAT64_LE:
            for (size_t i = 0; i < n; ++i) {
                const auto d = static_cast<double>(src[i]);
                std::memcpy(p + 8 * i, &d, sizeof d);
            }
            return;
    }
}

}  // namespace dynpcm::dsp

#pragma once
/// Sample conversion between PCM formats and the engine's mix format: interleaved float32,
/// full scale ±1.0. Integer formats map by powers of two (S16: x / 32768), so every sample of
/// a format of up to 24 bits survives the round trip exactly; S32 keeps float's 24-bit
/// mantissa. Converting back rounds to nearest and saturates, which is what makes mixing in
/// float safe: sums above full scale clip once, at the end, instead of wrapping.

#include <cstddef>

#include "dynpcm/pcm/format.h"

namespace dynpcm::dsp {

/// Converts `samples` samples of `f` at `src` to float. Thread: any (rt-safe). Blocking:
/// wait-free. Allocates: no.
void to_float(Format f, const void* src, float* dst, size_t samples) noexcept;

/// Converts `samples` floats to `f`, rounding to nearest and saturating at full scale (FLOAT
/// and FLOAT64 are stored as they are). Thread: any (rt-safe). Blocking: wait-free.
/// Allocates: no.
void from_float(Format f, const float* src, void* dst, size_t samples) noexcept;

/// Whether to_float/from_float handle `f` (every format dynpcm knows).
bool convertible(Format f) noexcept;

}  // namespace dynpcm::dsp

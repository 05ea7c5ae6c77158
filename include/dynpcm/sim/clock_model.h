#pragma once
/// ClockModel: a simulated crystal, as a BE's DMA clock runs on it (docs/DATA_PATH.md,
/// "Clocks"). Real BEs do not share a crystal: each runs a few hundred ppm from nominal, its
/// offset wanders with temperature, and its period interrupts come a little late, each by its
/// own amount. SimTimer::set_clock() applies one.

#include <cstdint>

namespace dynpcm {

struct ClockModel {
    double ppm = 0;        ///< the crystal's offset from nominal, parts per million
    double wander = 0;     ///< how fast the offset moves, ppm per minute (a bounded random walk)
    double span = 0;       ///< the walk stays within ±span ppm of `ppm`; 0: one minute of wander
    double jitter_us = 0;  ///< each period interrupt comes 0..jitter µs after its DMA boundary
    uint32_t seed = 0;     ///< the walk's and the jitter's sequence (0: taken from the BE's index)
};

}  // namespace dynpcm

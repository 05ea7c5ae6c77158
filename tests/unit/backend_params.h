#pragma once
// A fully chosen BE configuration, as the engine hands a backend in hw_params: for the
// backend tests.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "dynpcm/pcm/hw_params.h"

namespace dynpcm::testutil {

/// Format, channels, rate and period set; periods set when given, else the first choice.
inline HwParams chosen_params(Format f, uint32_t channels, uint32_t rate, uint32_t period,
                                      std::optional<uint32_t> periods = 4) {
    HwConstraints::Caps caps;
    caps.formats = FormatMask::all();
    caps.channels = {1, 8};
    caps.rate = {8000, 192000};
    HwParams p = HwParams::any(std::make_shared<const HwConstraints>(caps));
    EXPECT_TRUE(p.set_format(f).ok());
    EXPECT_TRUE(p.set(HwParam::Channels, channels).ok());
    EXPECT_TRUE(p.set(HwParam::Rate, rate).ok());
    EXPECT_TRUE(p.set(HwParam::PeriodSize, period).ok());
    if (periods) {
        EXPECT_TRUE(p.set(HwParam::Periods, *periods).ok());
    }
    EXPECT_TRUE(p.choose().ok());
    return p;
}

}  // namespace dynpcm::testutil

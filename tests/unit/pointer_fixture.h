#pragma once
/// Helpers for pcm_pointer_test.cpp and sim_dma_test.cpp: a scriptable fake PcmHardware whose
/// pointer and clock the test sets by hand, and small configuration helpers. Everything lives
/// in dynpcm::ptrtest so that it cannot clash with the other test files of test_pcm_runtime.

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "dynpcm/pcm/hardware.h"
#include "dynpcm/pcm/hw_params.h"
#include "dynpcm/pcm/pcm_runtime.h"
#include "dynpcm/pcm/sw_params.h"

/// Asserts that a Result is ok, printing its error otherwise.
#define PTR_ASSERT_OK(expr)                                               \
    do {                                                                  \
        const auto& ptr_r_ = (expr);                                      \
        ASSERT_TRUE(ptr_r_.ok()) << #expr << ": " << ptr_r_.error().to_string(); \
    } while (0)
#define PTR_EXPECT_OK(expr)                                               \
    do {                                                                  \
        const auto& ptr_r_ = (expr);                                      \
        EXPECT_TRUE(ptr_r_.ok()) << #expr << ": " << ptr_r_.error().to_string(); \
    } while (0)

namespace dynpcm::ptrtest {

/// A PcmHardware whose DMA position and clock are whatever the test says. trigger() records
/// every command. It never raises interrupts: the test calls period_elapsed_rt() itself.
class FakeHw final : public PcmHardware {
public:
    FakeHw() { commands.reserve(64); }

    int trigger(TriggerCmd cmd) noexcept override {
        if (fail_next != 0) {
            const int rc = fail_next;
            fail_next = 0;
            return rc;
        }
        commands.push_back(cmd);
        if (on_trigger) on_trigger(cmd);
        return 0;
    }
    int trigger_rt(TriggerCmd cmd) noexcept override { return trigger(cmd); }
    Frames pointer() noexcept override {
        ++pointer_calls;
        return pos;
    }
    int64_t now_ns() noexcept override { return now; }
    Frames delay() noexcept override {
        if (on_delay) on_delay();
        return extra_delay;
    }

    size_t count(TriggerCmd cmd) const {
        size_t n = 0;
        for (TriggerCmd c : commands) n += c == cmd ? 1U : 0U;
        return n;
    }

    /// Called after a command was accepted, before trigger() returns: what the hardware does at
    /// once (an interrupt that arrives while the runtime is still in its trigger call).
    std::function<void(TriggerCmd)> on_trigger;
    /// Called when the runtime reads delay(): what happens meanwhile (an interrupt).
    std::function<void()> on_delay;
    Frames pos = 0;
    int64_t now = 0;
    Frames extra_delay = 0;
    int fail_next = 0;
    uint64_t pointer_calls = 0;
    std::vector<TriggerCmd> commands;
};

/// Hardware whose capabilities accept every configuration the tests ask for.
inline std::shared_ptr<const HwConstraints> wide_constraints() {
    HwConstraints::Caps caps;
    caps.formats = FormatMask::of(Format::S16_LE) | FormatMask::of(Format::S32_LE);
    caps.channels = {1, 2};
    return std::make_shared<const HwConstraints>(caps);
}

struct Config {
    uint32_t rate = 32000;  ///< 32 frames = 1 ms, a buffer of 128 = 4 ms
    uint32_t channels = 1;
    Format format = Format::S16_LE;
    uint32_t period = 32;
    uint32_t periods = 4;
};

/// Chooses exactly `c` (interleaved access) and installs it; the stream ends up PREPARED.
inline Result<void> configure(PcmRuntime& pcm, const Config& c) {
    HwParams hp = pcm.hw_params_any();
    if (auto r = hp.set_access(Access::RwInterleaved); !r) return r;
    if (auto r = hp.set_format(c.format); !r) return r;
    if (auto r = hp.set(HwParam::Channels, c.channels); !r) return r;
    if (auto r = hp.set(HwParam::Rate, c.rate); !r) return r;
    if (auto r = hp.set(HwParam::PeriodSize, c.period); !r) return r;
    if (auto r = hp.set(HwParam::Periods, c.periods); !r) return r;
    return pcm.hw_params(hp);
}

/// Installs start/stop thresholds, keeping the other software parameters.
inline Result<void> set_thresholds(PcmRuntime& pcm, Frames start_threshold, Frames stop_threshold) {
    SwParams sw = pcm.sw_params_current();
    sw.start_threshold = start_threshold;
    sw.stop_threshold = stop_threshold;
    return pcm.sw_params(sw);
}

inline std::vector<PcmEvent> take_events(PcmRuntime& pcm) {
    std::vector<PcmEvent> v;
    while (auto e = pcm.pop_event()) v.push_back(*e);
    return v;
}

inline size_t count_kind(const std::vector<PcmEvent>& events, PcmEvent::Kind kind) {
    size_t n = 0;
    for (const PcmEvent& e : events) n += e.kind == kind ? 1U : 0U;
    return n;
}

/// The first event of `kind`, or nullptr.
inline const PcmEvent* find_kind(const std::vector<PcmEvent>& events, PcmEvent::Kind kind) {
    for (const PcmEvent& e : events)
        if (e.kind == kind) return &e;
    return nullptr;
}

}  // namespace dynpcm::ptrtest

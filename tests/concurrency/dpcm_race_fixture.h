#pragma once
// A small card for the race tests: two playback FEs that can each reach two BEs through
// routing mixers, on a real-time clock so the interrupt path runs on its own thread.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dynpcm/dynpcm.h"

namespace dynpcm::racetest {

inline const char* kCard = R"(card: Race
fe_links:
  - {name: Media, playback: {stream: Media Playback, formats: [S16_LE], rates: [48000], channels: 2}}
  - {name: Deep, playback: {stream: Deep Playback, formats: [S16_LE], rates: [44100, 48000], channels: 2}}
be_links:
  - {name: BE-A, playback: {stream: A Playback}, fixup: {rate: 48000, channels: 2, format: S16_LE}}
  - {name: BE-B, playback: {stream: B Playback}, fixup: {rate: 48000, channels: 2, format: S16_LE}}
widgets:
  - {name: A Mixer, type: mixer, controls: [{name: Media, value: on}, {name: Deep, value: on}]}
  - {name: B Mixer, type: mixer, controls: [{name: Media, value: on}, {name: Deep, value: on}]}
  - {name: Out A, type: output}
  - {name: Out B, type: output}
routes:
  - [A Mixer, Media, Media Playback]
  - [A Mixer, Deep, Deep Playback]
  - [B Mixer, Media, Media Playback]
  - [B Mixer, Deep, Deep Playback]
  - [A Playback, ~, A Mixer]
  - [B Playback, ~, B Mixer]
  - [Out A, ~, A Playback]
  - [Out B, ~, B Playback]
)";

struct Rig {
    std::unique_ptr<SimClock> clock;
    std::unique_ptr<Dpcm> dpcm;

    explicit Rig(bool unprotected = false, bool rt_waits_for_be = false) {
        clock = std::make_unique<SimClock>(SimClock::Options{.mode = SimClock::Mode::Realtime, .try_sched_fifo = false});
        CardLoad l = load_card_string(kCard, "race.yaml");
        EXPECT_TRUE(l.ok()) << (l.errors.empty() ? "" : l.errors.front());
        Dpcm::Options o{.clock = clock.get()};
        o.test_unprotected = unprotected;
        o.test_rt_waits_for_be = rt_waits_for_be;
        auto d = Dpcm::create(std::move(l.card), o);
        EXPECT_TRUE(d.ok());
        dpcm = std::move(*d);
        EXPECT_TRUE(clock->start().ok());
    }
    ~Rig() {
        dpcm.reset();
        clock->stop();
    }

    /// Opens an FE and configures stereo at `rate` with the given period (frames) and 2 periods.
    /// The BEs run at 48 kHz: another rate puts a resampler on the data path.
    PcmRuntime* open(const std::string& fe, uint32_t period, bool nonblock = true, uint32_t rate = 48000) {
        auto p = dpcm->open(fe, Stream::Playback, {.nonblock = nonblock, .timeout = std::chrono::milliseconds(2000)});
        EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().to_string());
        if (!p) return nullptr;
        HwParams hp = (*p)->hw_params_any();
        EXPECT_TRUE(hp.set(HwParam::Channels, 2).ok());
        EXPECT_TRUE(hp.set(HwParam::Rate, rate).ok());
        EXPECT_TRUE(hp.set(HwParam::PeriodSize, period).ok());
        EXPECT_TRUE(hp.set(HwParam::Periods, 2).ok());
        auto r = (*p)->hw_params(hp);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
        return *p;
    }
};

inline const BeDump* find_be(const DpcmDump& d, const std::string& name) {
    for (const auto& f : d.frontends)
        for (const auto& b : f.backends)
            if (b.name == name) return &b;
    for (const auto& b : d.idle_backends)
        if (b.name == name) return &b;
    return nullptr;
}

}  // namespace dynpcm::racetest

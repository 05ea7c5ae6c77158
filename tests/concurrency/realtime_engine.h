#pragma once
// A Dpcm on a real-time clock (the interrupt path on its own thread, SCHED_FIFO not asked for),
// made from a card string, and FEs opened on it for the concurrency tests.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "unit/dpcm_fixture.h"

namespace dynpcm::dpcmtest {

struct RealtimeEngine {
    SimClock clock{SimClock::Options{.mode = SimClock::Mode::Realtime, .try_sched_fifo = false}};
    std::unique_ptr<Dpcm> dpcm;

    explicit RealtimeEngine(std::string_view yaml) {
        CardLoad load = load_card_string(yaml, "realtime.yaml");
        EXPECT_TRUE(load.ok()) << (load.errors.empty() ? "" : load.errors.front());
        auto d = Dpcm::create(std::move(load.card),
                              Dpcm::Options{.clock = &clock, .pcm_timeout = std::chrono::milliseconds(2000)});
        EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message());
        if (d) dpcm = std::move(*d);
        EXPECT_TRUE(clock.start().ok());
    }
    ~RealtimeEngine() {
        dpcm.reset();
        clock.stop();
    }

    /// Opens an FE (non-blocking) with 10 ms periods, 4 of them; `free_running`: it never xruns
    /// (stop threshold at the boundary), so only a device can stop it. Null on failure.
    PcmRuntime* open(std::string_view fe, bool free_running) {
        auto p = dpcm->open(fe, Stream::Playback, {.nonblock = true});
        EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message());
        if (!p) return nullptr;
        EXPECT_TRUE(is_ok(DpcmRig::configure(**p, {.period_size = 480, .periods = 4})));
        if (free_running) {
            SwParams sw = (*p)->sw_params_current();
            sw.stop_threshold = (*p)->boundary();
            EXPECT_TRUE(is_ok((*p)->sw_params(sw)));
        }
        return *p;
    }
};

}  // namespace dynpcm::dpcmtest

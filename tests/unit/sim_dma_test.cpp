// SimClock and SimDma: virtual-time accuracy and determinism, several engines on one clock,
// pause, trigger bookkeeping and fault injection, mode errors, and a short real-time run.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dynpcm/pcm/pcm_runtime.h"
#include "dynpcm/sim/sim_clock.h"
#include "dynpcm/sim/sim_dma.h"
#include "unit/pointer_fixture.h"

namespace dynpcm {
namespace {

using ptrtest::Config;
using ptrtest::find_kind;
using ptrtest::take_events;
using namespace std::chrono_literals;

constexpr int64_t kNsPerSec = 1'000'000'000;

// A SimDma and the PcmRuntime it drives (non-blocking by default).
struct Rig {
    explicit Rig(SimClock& clock, Stream stream = Stream::Playback, const std::string& name = "sim",
                 PcmInfo info = {}, Frames fifo_frames = 0)
        : dma(clock, SimDma::Options{.name = name, .fifo_frames = fifo_frames}),
          pcm(stream, ptrtest::wide_constraints(), dma,
              PcmRuntime::Options{.name = name, .info = info, .nonblock = true}) {}

    // Configures `c`; with free_running the stream never xruns and may start empty.
    Result<void> setup(const Config& c, bool free_running) {
        if (auto r = ptrtest::configure(pcm, c); !r) return r;
        if (free_running) return ptrtest::set_thresholds(pcm, 1, pcm.boundary());
        return ok();
    }

    SimDma dma;
    PcmRuntime pcm;
};

constexpr Config k48k{.rate = 48000, .period = 48, .periods = 4};  // 1 ms periods
constexpr Frames kBuffer48k = 192;

// ------------------------------------------------------------------------------------------
// virtual time

TEST(SimDma, VirtualInterruptCountIsFloorOfElapsedTimeTimesRateOverPeriod) {
    SimClock clock;
    Rig r(clock);
    constexpr uint64_t kRate = 44100;
    constexpr uint64_t kPeriodFrames = 256;
    uint64_t delivered = 0;
    r.dma.set_sink([&delivered](const std::byte*, Frames n) { delivered += n; });
    PTR_ASSERT_OK(r.setup(Config{.rate = 44100, .period = 256, .periods = 4}, true));
    const Frames buffer = r.pcm.buffer_size();
    ASSERT_EQ(buffer, 1024U);
    PTR_ASSERT_OK(r.pcm.start());
    ASSERT_EQ(clock.now_ns(), 0);

    // The first instant at which the position reaches k periods (5804988.66 ns per period).
    auto irq_time = [](uint64_t k) { return (k * kPeriodFrames * kNsPerSec + kRate - 1) / kRate; };
    // Absolute times to advance to: just short of an interrupt, onto one, and odd amounts.
    const uint64_t targets[] = {1,           irq_time(1) - 1, irq_time(1),      irq_time(1) + 1,
                                15'804'990,  irq_time(5),     irq_time(5) + 999, irq_time(17) - 1,
                                irq_time(17), 139'261'779,   400'000'000,      irq_time(70),
                                irq_time(70) + 5'804'987};
    uint64_t t = 0;
    int exact_hits = 0;
    for (uint64_t target : targets) {
        PTR_ASSERT_OK(clock.advance(std::chrono::nanoseconds(static_cast<int64_t>(target - t))));
        t = target;
        ASSERT_EQ(clock.now_ns(), static_cast<int64_t>(t));
        const uint64_t want_irqs = t * kRate / (kPeriodFrames * kNsPerSec);
        EXPECT_EQ(r.dma.interrupts(), want_irqs) << "after " << t << " ns";
        EXPECT_EQ(r.pcm.status().periods_elapsed, want_irqs);
        // The position at each interrupt is exact: no drift however the time was cut up.
        EXPECT_EQ(r.pcm.hw_ptr(), want_irqs * kPeriodFrames) << "after " << t << " ns";
        EXPECT_EQ(delivered, want_irqs * kPeriodFrames);
        if (t == irq_time(want_irqs)) {  // at an interrupt instant the register agrees too
            ++exact_hits;
            EXPECT_EQ(r.dma.pointer(), want_irqs * kPeriodFrames % buffer) << "after " << t << " ns";
        }
    }
    EXPECT_EQ(exact_hits, 4);
    EXPECT_EQ(r.dma.interrupts(), 70U);  // (irq_time(70) + 5804987 ns) * 44100 / 256 = 70.99
    EXPECT_EQ(r.pcm.state(), PcmState::Running);
}

// The runtime may hand the application only frames the DMA has already played (playback) or
// captured (capture): that is what the pointer means (the kernel's .pointer callback).
// SimDma moves a period of data at the period's end, so its pointer must not run ahead of
// that. Here a pause at 2.5 periods syncs hw_ptr from the pointer mid-period.
TEST(SimDma, PlaybackHwPtrNeverRunsAheadOfThePlayedFrames) {
    SimClock clock;
    Rig r(clock);
    std::vector<int16_t> heard;
    heard.reserve(2048);
    r.dma.set_sink([&heard](const std::byte* data, Frames n) {
        const size_t at = heard.size();
        heard.resize(at + n);
        std::memcpy(heard.data() + at, data, n * sizeof(int16_t));
    });
    PTR_ASSERT_OK(r.setup(k48k, false));
    int16_t next = 1;
    auto write = [&](Frames n) {
        std::vector<int16_t> v(n);
        for (auto& x : v) x = next++;
        auto w = r.pcm.writei(v.data(), n);
        ASSERT_TRUE(w.ok()) << w.error().to_string();
        ASSERT_EQ(*w, n);
    };
    ASSERT_NO_FATAL_FAILURE(write(kBuffer48k));  // starts the stream
    PTR_ASSERT_OK(clock.advance(2500us));
    ASSERT_EQ(heard.size(), 96U);
    PTR_ASSERT_OK(r.pcm.pause(true));
    EXPECT_LE(r.pcm.hw_ptr(), heard.size()) << "hw_ptr claims frames the DMA has not played";

    // The application refills whatever the runtime says is free, then the stream goes on:
    // every frame must be heard once, in order.
    auto a = r.pcm.avail();
    ASSERT_TRUE(a.ok());
    ASSERT_NO_FATAL_FAILURE(write(*a));
    PTR_ASSERT_OK(r.pcm.pause(false));
    for (int i = 0; i < 6; ++i) {
        PTR_ASSERT_OK(clock.advance(1ms));
        auto free = r.pcm.avail();
        ASSERT_TRUE(free.ok()) << free.error().to_string();
        if (*free > 0) {
            ASSERT_NO_FATAL_FAILURE(write(*free));
        }
    }
    ASSERT_GE(heard.size(), 300U);
    for (size_t i = 0; i < heard.size(); ++i)
        ASSERT_EQ(heard[i], static_cast<int16_t>(i + 1)) << "frame " << i << " of " << heard.size();
}

TEST(SimDma, CaptureNeverReturnsFramesTheDmaHasNotCaptured) {
    SimClock clock;
    Rig r(clock, Stream::Capture);
    int16_t produced = 1;
    r.dma.set_source([&produced](std::byte* data, Frames n) {
        for (Frames i = 0; i < n; ++i) {
            const int16_t v = produced++;
            std::memcpy(data + i * sizeof(int16_t), &v, sizeof v);
        }
    });
    PTR_ASSERT_OK(r.setup(k48k, false));
    PTR_ASSERT_OK(r.pcm.start());
    PTR_ASSERT_OK(clock.advance(2500us));
    ASSERT_EQ(produced - 1, 96);
    PTR_ASSERT_OK(r.pcm.pause(true));
    auto a = r.pcm.avail();
    ASSERT_TRUE(a.ok());
    EXPECT_LE(*a, 96U) << "avail counts frames the DMA has not captured";
    std::vector<int16_t> got(*a);
    auto rd = r.pcm.readi(got.data(), *a);
    ASSERT_TRUE(rd.ok());
    ASSERT_EQ(*rd, *a);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], static_cast<int16_t>(i + 1)) << "frame " << i;
}

struct TraceEvent {
    PcmEvent::Kind kind;
    PcmState from, to;
    int64_t time_ns;
    Frames hw_ptr, appl_ptr;
    int64_t detail;
    bool operator==(const TraceEvent&) const = default;
};

struct Trace {
    std::vector<TraceEvent> events;
    std::vector<std::pair<int64_t, uint64_t>> periods;  // (time, checksum of the samples)
    std::vector<std::pair<Frames, Frames>> pointers;     // (hw_ptr, appl_ptr) after each step
    uint64_t interrupts = 0;
    uint64_t xruns = 0;
    bool operator==(const Trace&) const = default;
};

// A scripted session with writes, odd time steps, a pointer jump, lost interrupts, a pause,
// an underrun, recovery, an injected xrun and a drain.
Trace run_script() {
    Trace tr;
    tr.periods.reserve(256);
    SimClock clock;
    Rig r(clock);
    r.dma.set_sink([&](const std::byte* data, Frames n) {
        uint64_t h = 1469598103934665603ULL;
        for (size_t i = 0; i < n * 2; ++i) h = (h ^ static_cast<uint8_t>(data[i])) * 1099511628211ULL;
        tr.periods.emplace_back(clock.now_ns(), h);
    });
    if (!r.setup(k48k, false)) return tr;
    int16_t next = 1;
    auto write = [&](Frames n) {
        std::vector<int16_t> v(n);
        for (auto& s : v) s = next++;
        (void)r.pcm.writei(v.data(), n);
    };
    auto collect = [&] {
        while (auto e = r.pcm.pop_event())
            tr.events.push_back({e->kind, e->from, e->to, e->time_ns, e->hw_ptr, e->appl_ptr, e->detail});
        tr.pointers.emplace_back(r.pcm.hw_ptr(), r.pcm.appl_ptr());
    };
    write(150);
    for (int i = 0; i < 32; ++i) {
        (void)clock.advance(std::chrono::nanoseconds(713'000 + i * 1'111));
        if (i == 5) r.dma.inject_pointer_jump(20);
        if (i == 9) r.dma.skip_interrupts(2);
        if (i == 14) (void)r.pcm.pause(true);
        if (i == 16) (void)r.pcm.pause(false);
        if (i == 25) {
            (void)r.pcm.prepare();
            write(192);
        }
        if (i == 28) r.dma.inject_xrun();
        if (i < 20 || i > 25) {
            auto a = r.pcm.avail();
            if (a && *a > 0) write(*a);
        }
        collect();
    }
    (void)r.pcm.prepare();
    write(100);
    (void)r.pcm.drain();
    (void)clock.advance(10ms);
    collect();
    tr.interrupts = r.dma.interrupts();
    tr.xruns = r.pcm.status().xruns;
    return tr;
}

TEST(SimDma, AdvanceIsDeterministic) {
    const Trace a = run_script();
    const Trace b = run_script();
    ASSERT_FALSE(a.events.empty());
    ASSERT_FALSE(a.periods.empty());
    EXPECT_GE(a.xruns, 2U);  // the underrun and the injected one
    bool lost = false;
    for (const auto& e : a.events) lost = lost || e.kind == PcmEvent::Kind::LostInterrupts;
    EXPECT_TRUE(lost);
    EXPECT_EQ(a.events.size(), b.events.size());
    EXPECT_TRUE(a.events == b.events);
    EXPECT_TRUE(a.periods == b.periods);
    EXPECT_TRUE(a.pointers == b.pointers);
    EXPECT_EQ(a.interrupts, b.interrupts);
    EXPECT_EQ(a.xruns, b.xruns);
}

TEST(SimDma, TwoDmasAtDifferentRatesFireInTimeOrder) {
    SimClock clock;
    struct Tick {
        int64_t t;
        int id;
    };
    std::vector<Tick> log;
    log.reserve(64);
    Rig a(clock, Stream::Playback, "a");
    Rig b(clock, Stream::Playback, "b");
    a.dma.set_sink([&](const std::byte*, Frames) { log.push_back({clock.now_ns(), 0}); });
    b.dma.set_sink([&](const std::byte*, Frames) { log.push_back({clock.now_ns(), 1}); });
    PTR_ASSERT_OK(a.setup(Config{.rate = 44100, .period = 256, .periods = 4}, true));
    PTR_ASSERT_OK(b.setup(Config{.rate = 48000, .period = 300, .periods = 4}, true));
    PTR_ASSERT_OK(a.pcm.start());
    PTR_ASSERT_OK(b.pcm.start());

    PTR_ASSERT_OK(clock.advance(100ms));
    ASSERT_FALSE(log.empty());
    uint64_t ka = 0, kb = 0;
    int64_t last = 0;
    bool interleaved = false;
    for (size_t i = 0; i < log.size(); ++i) {
        EXPECT_GE(log[i].t, last) << "interrupt " << i << " fired out of time order";
        last = log[i].t;
        if (i > 0 && log[i].id != log[i - 1].id) interleaved = true;
        // Each fires at the first instant its position reaches k periods.
        if (log[i].id == 0) {
            ++ka;
            EXPECT_EQ(log[i].t, static_cast<int64_t>((ka * 256 * kNsPerSec + 44099) / 44100));
        } else {
            ++kb;
            EXPECT_EQ(log[i].t, static_cast<int64_t>((kb * 300 * kNsPerSec + 47999) / 48000));
        }
    }
    EXPECT_TRUE(interleaved);
    EXPECT_EQ(ka, 17U);  // 0.1 s * 44100 / 256 = 17.2
    EXPECT_EQ(kb, 16U);  // 0.1 s * 48000 / 300 = 16
    EXPECT_EQ(a.dma.interrupts(), ka);
    EXPECT_EQ(b.dma.interrupts(), kb);
    EXPECT_EQ(a.pcm.hw_ptr(), 17U * 256U);
    EXPECT_EQ(b.pcm.hw_ptr(), 16U * 300U);
}

TEST(SimDma, PauseFreezesThePosition) {
    SimClock clock;
    Rig r(clock);
    PTR_ASSERT_OK(r.setup(k48k, true));
    PTR_ASSERT_OK(r.pcm.start());
    PTR_ASSERT_OK(clock.advance(2500us));
    ASSERT_EQ(r.pcm.hw_ptr(), 96U);

    PTR_ASSERT_OK(r.pcm.pause(true));
    EXPECT_FALSE(r.dma.running());
    const Frames frozen = r.dma.pointer();
    EXPECT_GE(frozen, 96U);
    EXPECT_LE(frozen, 120U);
    EXPECT_EQ(r.pcm.hw_ptr(), frozen);  // pause push syncs hw_ptr with the register
    PTR_ASSERT_OK(clock.advance(50ms));
    EXPECT_EQ(r.dma.pointer(), frozen);
    EXPECT_EQ(r.dma.interrupts(), 2U);
    EXPECT_EQ(r.pcm.hw_ptr(), frozen);

    PTR_ASSERT_OK(r.pcm.pause(false));
    EXPECT_TRUE(r.dma.running());
    PTR_ASSERT_OK(clock.advance(499us));
    EXPECT_EQ(r.dma.interrupts(), 2U);
    PTR_ASSERT_OK(clock.advance(1us));  // 24 frames after the release: position 144
    EXPECT_EQ(r.dma.interrupts(), 3U);
    EXPECT_EQ(r.pcm.hw_ptr(), 144U);
    EXPECT_EQ(r.dma.pointer(), 144U);
    EXPECT_EQ(r.dma.triggers(TriggerCmd::PausePush), 1U);
    EXPECT_EQ(r.dma.triggers(TriggerCmd::PauseRelease), 1U);
    EXPECT_EQ(ptrtest::count_kind(take_events(r.pcm), PcmEvent::Kind::LostInterrupts), 0U);
}

TEST(SimDma, TriggerCountsFollowTheStateOperations) {
    SimClock clock;
    PcmInfo info;
    info.drain_trigger = true;
    Rig r(clock, Stream::Playback, "sim", info);
    PTR_ASSERT_OK(r.setup(k48k, true));
    for (int c = 0; c <= static_cast<int>(TriggerCmd::Drain); ++c)
        EXPECT_EQ(r.dma.triggers(static_cast<TriggerCmd>(c)), 0U);

    PTR_ASSERT_OK(r.pcm.start());
    PTR_ASSERT_OK(r.pcm.pause(true));
    PTR_ASSERT_OK(r.pcm.pause(false));
    PTR_ASSERT_OK(r.pcm.suspend());
    EXPECT_FALSE(r.dma.running());
    PTR_ASSERT_OK(r.pcm.resume());
    EXPECT_TRUE(r.dma.running());
    PTR_ASSERT_OK(r.pcm.drop());
    EXPECT_FALSE(r.dma.running());
    EXPECT_EQ(r.dma.triggers(TriggerCmd::Start), 1U);
    EXPECT_EQ(r.dma.triggers(TriggerCmd::PausePush), 1U);
    EXPECT_EQ(r.dma.triggers(TriggerCmd::PauseRelease), 1U);
    EXPECT_EQ(r.dma.triggers(TriggerCmd::Suspend), 1U);
    EXPECT_EQ(r.dma.triggers(TriggerCmd::Resume), 1U);
    EXPECT_EQ(r.dma.triggers(TriggerCmd::Stop), 1U);

    PTR_ASSERT_OK(r.pcm.prepare());  // prepare alone triggers nothing
    EXPECT_EQ(r.dma.triggers(TriggerCmd::Start), 1U);
    PTR_ASSERT_OK(r.pcm.start());
    r.dma.inject_xrun();
    PTR_ASSERT_OK(clock.advance(1ms));
    ASSERT_EQ(r.pcm.state(), PcmState::Xrun);
    EXPECT_EQ(r.dma.triggers(TriggerCmd::Start), 2U);
    EXPECT_EQ(r.dma.triggers(TriggerCmd::Stop), 2U);  // the interrupt path stopped it

    PTR_ASSERT_OK(r.pcm.prepare());
    std::vector<int16_t> data(48, 1);
    ASSERT_TRUE(r.pcm.writei(data.data(), 48).ok());  // auto-start
    EXPECT_EQ(r.pcm.drain().code(), -EAGAIN);
    EXPECT_EQ(r.dma.triggers(TriggerCmd::Drain), 1U);
    EXPECT_EQ(r.dma.triggers(TriggerCmd::Start), 3U);
    PTR_ASSERT_OK(clock.advance(2ms));
    EXPECT_EQ(r.pcm.state(), PcmState::Setup);
    EXPECT_EQ(r.dma.triggers(TriggerCmd::Stop), 3U);  // drain done
}

TEST(SimDma, FailNextTriggerMakesStartFailAndLeavesPrepared) {
    SimClock clock;
    Rig r(clock);
    PTR_ASSERT_OK(r.setup(k48k, true));
    (void)take_events(r.pcm);
    r.dma.fail_next_trigger(-EIO);
    auto s = r.pcm.start();
    EXPECT_EQ(s.code(), -EIO);
    EXPECT_EQ(r.pcm.state(), PcmState::Prepared);
    EXPECT_FALSE(r.dma.running());
    EXPECT_EQ(r.dma.triggers(TriggerCmd::Start), 0U);
    const auto events = take_events(r.pcm);
    const PcmEvent* e = find_kind(events, PcmEvent::Kind::TriggerFailed);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail, -EIO);
    PTR_ASSERT_OK(clock.advance(5ms));
    EXPECT_EQ(r.dma.interrupts(), 0U);
    EXPECT_EQ(r.pcm.hw_ptr(), 0U);

    PTR_ASSERT_OK(r.pcm.start());  // the failure was one-shot
    EXPECT_EQ(r.pcm.state(), PcmState::Running);
    EXPECT_EQ(r.dma.triggers(TriggerCmd::Start), 1U);
    PTR_ASSERT_OK(clock.advance(1ms));
    EXPECT_EQ(r.pcm.hw_ptr(), 48U);
}

TEST(SimDma, AdvanceByANegativeDurationFails) {
    SimClock clock;
    Rig r(clock);
    PTR_ASSERT_OK(r.setup(k48k, true));
    PTR_ASSERT_OK(r.pcm.start());
    PTR_ASSERT_OK(clock.advance(3ms));
    auto res = clock.advance(std::chrono::nanoseconds(-1));
    EXPECT_EQ(res.code(), -EINVAL);
    EXPECT_EQ(clock.now_ns(), 3'000'000);
    EXPECT_EQ(r.dma.interrupts(), 3U);
    PTR_EXPECT_OK(clock.advance(0ns));
    EXPECT_EQ(clock.now_ns(), 3'000'000);
}

TEST(SimDma, AdvanceInRealtimeModeFails) {
    SimClock clock(SimClock::Options{.mode = SimClock::Mode::Realtime});
    EXPECT_EQ(clock.mode(), SimClock::Mode::Realtime);
    auto res = clock.advance(1ms);
    EXPECT_EQ(res.code(), -EINVAL);
    EXPECT_FALSE(clock.running());
}

TEST(SimDma, StartInVirtualModeFails) {
    SimClock clock;
    auto res = clock.start();
    EXPECT_EQ(res.code(), -EINVAL);
    EXPECT_FALSE(clock.running());
    PTR_EXPECT_OK(clock.advance(1ms));  // still usable as a virtual clock
    EXPECT_EQ(clock.now_ns(), 1'000'000);
}

TEST(SimDma, FifoFramesAreAddedToDelay) {
    SimClock clock;
    Rig r(clock, Stream::Playback, "fifo", PcmInfo{}, 100);
    PTR_ASSERT_OK(r.setup(k48k, false));
    std::vector<int16_t> data(150, 1);
    ASSERT_TRUE(r.pcm.writei(data.data(), 150).ok());
    auto d = r.pcm.delay();
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, 150 + 100);
    PTR_ASSERT_OK(clock.advance(1ms));
    d = r.pcm.delay();
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, 150 - 48 + 100);
}

TEST(SimDma, PlaybackSinkReceivesTheWrittenFramesThenSilence) {
    SimClock clock;
    Rig r(clock);
    std::vector<int16_t> heard;
    heard.reserve(1024);
    r.dma.set_sink([&](const std::byte* data, Frames n) {
        const size_t at = heard.size();
        heard.resize(at + n);
        std::memcpy(heard.data() + at, data, n * sizeof(int16_t));
    });
    PTR_ASSERT_OK(r.setup(k48k, false));
    std::vector<int16_t> data(100);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<int16_t>(i + 1);
    auto w = r.pcm.writei(data.data(), 100);
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(*w, 100U);
    ASSERT_EQ(r.pcm.state(), PcmState::Running);

    PTR_ASSERT_OK(clock.advance(10ms));
    ASSERT_EQ(heard.size(), 3U * 48U);  // the third period underran: xrun, DMA stopped
    for (size_t i = 0; i < 100; ++i) ASSERT_EQ(heard[i], static_cast<int16_t>(i + 1)) << i;
    for (size_t i = 100; i < heard.size(); ++i) ASSERT_EQ(heard[i], 0) << i;
    EXPECT_EQ(r.pcm.state(), PcmState::Xrun);
    EXPECT_EQ(r.dma.interrupts(), 3U);
}

TEST(SimDma, CaptureSourceFramesReachReadi) {
    SimClock clock;
    Rig r(clock, Stream::Capture);
    int16_t next = 1;
    r.dma.set_source([&](std::byte* data, Frames n) {
        for (Frames i = 0; i < n; ++i) {
            const int16_t v = next++;
            std::memcpy(data + i * sizeof(int16_t), &v, sizeof v);
        }
    });
    PTR_ASSERT_OK(r.setup(k48k, false));
    PTR_ASSERT_OK(r.pcm.start());
    PTR_ASSERT_OK(clock.advance(2ms));
    ASSERT_EQ(r.pcm.avail_update(), 96U);
    std::vector<int16_t> got(96);
    auto rd = r.pcm.readi(got.data(), 96);
    ASSERT_TRUE(rd.ok());
    ASSERT_EQ(*rd, 96U);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], static_cast<int16_t>(i + 1)) << i;
    EXPECT_EQ(r.pcm.avail_update(), 0U);
}

// ------------------------------------------------------------------------------------------
// real time (short, loose)

TEST(SimDma, RealtimeClockElapsesAboutTheRightNumberOfPeriods) {
    SimClock clock(SimClock::Options{.mode = SimClock::Mode::Realtime});
    Rig r(clock);
    PTR_ASSERT_OK(r.setup(Config{.rate = 48000, .period = 480, .periods = 4}, true));
    PTR_ASSERT_OK(clock.start());
    ASSERT_TRUE(clock.running());
    // Either the clock thread got SCHED_FIFO, or it says why not.
    EXPECT_EQ(clock.sched_fifo(), clock.fifo_warning().empty()) << clock.fifo_warning();

    const auto t0 = std::chrono::steady_clock::now();
    PTR_ASSERT_OK(r.pcm.start());
    std::this_thread::sleep_for(200ms);
    const uint64_t irqs = r.dma.interrupts();
    const auto t1 = std::chrono::steady_clock::now();
    PTR_EXPECT_OK(r.pcm.drop());
    clock.stop();
    EXPECT_FALSE(clock.running());

    const double seconds = std::chrono::duration<double>(t1 - t0).count();
    const double expected = seconds * 48000.0 / 480.0;  // about 20
    EXPECT_GE(static_cast<double>(irqs), 0.5 * expected) << irqs << " interrupts in " << seconds << " s";
    EXPECT_LE(static_cast<double>(irqs), 1.5 * expected) << irqs << " interrupts in " << seconds << " s";
    EXPECT_GE(r.pcm.status().periods_elapsed, irqs);
    EXPECT_EQ(r.pcm.state(), PcmState::Setup);
}

}  // namespace
}  // namespace dynpcm

// Clock domains: one FE on three BEs whose crystals run at -300, 0 and +500 ppm, wandering and
// jittering. The followers' loops hold their FIFOs, the tone through them stays clean, and
// without compensation the same run underruns (docs/DATA_PATH.md, "Clocks").
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <numbers>

#include "dynpcm/backend/sim_backend.h"
#include "dynpcm/card/card_file.h"
#include "dynpcm/dpcm/dpcm.h"
#include "dynpcm/dsp/analysis.h"
#include "dynpcm/dsp/convert.h"
#include "dynpcm/sim/sim_timer.h"
#include "alloc_count.h"
#include "result_assert.h"

namespace dynpcm {
namespace {

using testutil::is_ok;

constexpr const char* kCard = R"(card: Drift
fe_links:
  - {name: Media, playback: {stream: Media Playback, formats: [S16_LE], rates: [48000], channels: 2}}
be_links:
  - {name: Codec, playback: {stream: Codec Playback}, backend: {type: sim, monitor: 20}, clock: {ppm: -300, wander: 50, jitter: 200}}
  - {name: HDMI, playback: {stream: HDMI Playback}, backend: {type: sim, monitor: 20}, clock: {ppm: 0, wander: 50, jitter: 200}}
  - {name: USB, playback: {stream: USB Playback}, backend: {type: sim, monitor: 20}, clock: {ppm: 500, wander: 50, jitter: 200}}
widgets:
  - {name: Codec Mixer, type: mixer, controls: [{name: Media, value: on}]}
  - {name: HDMI Mixer, type: mixer, controls: [{name: Media, value: on}]}
  - {name: USB Mixer, type: mixer, controls: [{name: Media, value: on}]}
  - {name: Out1, type: spk}
  - {name: Out2, type: spk}
  - {name: Out3, type: spk}
routes:
  - [Codec Mixer, Media, Media Playback]
  - [HDMI Mixer, Media, Media Playback]
  - [USB Mixer, Media, Media Playback]
  - [Codec Playback, ~, Codec Mixer]
  - [HDMI Playback, ~, HDMI Mixer]
  - [USB Playback, ~, USB Mixer]
  - [Out1, ~, Codec Playback]
  - [Out2, ~, HDMI Playback]
  - [Out3, ~, USB Playback]
)";

constexpr Frames kPeriod = 1024;

// Opens an FE non-blocking and configures it in 1024-frame periods, 4 of them (the cards here
// offer it one format, rate and channel count).
PcmRuntime& open_configured(Dpcm& dpcm, const char* fe, Stream dir) {
    PcmRuntime::Options po;
    po.nonblock = true;
    PcmRuntime& p = **dpcm.open(fe, dir, po);
    HwParams hp = p.hw_params_any();
    EXPECT_TRUE(is_ok(hp.set_access(Access::RwInterleaved)));
    EXPECT_TRUE(is_ok(hp.set(HwParam::PeriodSize, kPeriod)));
    EXPECT_TRUE(is_ok(hp.set(HwParam::Periods, 4)));
    EXPECT_TRUE(is_ok(p.hw_params(hp)));
    return p;
}

struct Played {
    DpcmDump dump;
    std::vector<std::vector<float>> played;  // per BE, the last seconds, float
    uint64_t rt_allocations = 0;            // made while time advanced, after the first second
};

// Plays a 1 kHz cosine at -6 dBFS for `seconds` of virtual time.
Played play(bool compensate, double seconds) {
    Played out;
    SimClock clock;
    CardLoad load = load_card_string(kCard, "drift.yaml");
    EXPECT_TRUE(load.ok());
    Dpcm::Options opt;
    opt.clock = &clock;
    opt.drift_compensation = compensate;
    auto d = Dpcm::create(std::move(load.card), opt);
    EXPECT_TRUE(d.ok());
    Dpcm& dpcm = **d;
    PcmRuntime& pcm = open_configured(dpcm, "Media", Stream::Playback);
    std::vector<int16_t> block;
    Frames written = 0;
    const double w = 2 * std::numbers::pi * 1000.0 / 48000.0;
    auto top_up = [&] {
        const Frames n = pcm.avail_update();
        block.resize(static_cast<size_t>(n) * 2);
        for (Frames i = 0; i < n; ++i)
            block[i * 2] = block[i * 2 + 1] =
                static_cast<int16_t>(std::lround(16384.0 * std::cos(w * static_cast<double>(written + i))));
        if (n > 0) written += *pcm.writei(block.data(), n);
    };
    top_up();  // starts it (the default start threshold)
    EXPECT_EQ(pcm.state(), PcmState::Running);
    const int steps = static_cast<int>(seconds * 100);
    testutil::reset_allocation_counts();
    for (int s = 0; s < steps; ++s) {
        {
            // The caller of advance() is the realtime thread meanwhile: the loops steer, the
            // resamplers glide to new ratios, and nothing allocates.
            std::optional<testutil::CountHere> counting;
            if (s >= 100) counting.emplace();
            EXPECT_TRUE(is_ok(clock.advance(std::chrono::milliseconds(10))));
        }
        top_up();
        if (pcm.state() != PcmState::Running) {
            ADD_FAILURE() << "the FE stopped: " << pcm_state_name(pcm.state());
            break;
        }
    }
    out.rt_allocations = testutil::allocations();
    out.dump = dpcm.dump();
    for (const char* be : {"Codec", "HDMI", "USB"}) {
        auto* sim = dynamic_cast<SimBackend*>(dpcm.backend(be, Stream::Playback));
        std::vector<std::byte> raw;
        sim->take_monitor(raw);
        std::vector<float> f(raw.size() / 2);
        dsp::to_float(Format::S16_LE, raw.data(), f.data(), f.size());
        out.played.push_back(std::move(f));
    }
    return out;
}

const BeDump& be(const DpcmDump& d, std::string_view name) {
    for (const auto& b : d.frontends.at(0).backends)
        if (b.name == name) return b;
    ADD_FAILURE() << "no BE " << name;
    return d.frontends.at(0).backends.at(0);
}

TEST(Drift, FollowersOnOtherCrystalsLockAndHoldTheirFillWithACleanTone) {
    const Played r = play(true, 40);
    std::printf("%s", r.dump.to_text().c_str());
    // The driver is the first BE in card order (all three have crystals of their own).
    EXPECT_TRUE(be(r.dump, "Codec").link.driver);
    for (const char* name : {"HDMI", "USB"}) {
        const BeDump& b = be(r.dump, name);
        SCOPED_TRACE(name);
        EXPECT_TRUE(b.link.following);
        EXPECT_TRUE(b.link.locked);
        EXPECT_LE(b.link.lock_seconds, 2.0);
        EXPECT_EQ(b.link.xruns_after_lock, 0u);
        EXPECT_EQ(b.link.underruns + b.link.overruns, 0u);
        EXPECT_GE(b.link.min_error, -static_cast<double>(kPeriod));
        EXPECT_LE(b.link.max_error, static_cast<double>(kPeriod));
    }
    EXPECT_EQ(r.rt_allocations, 0u);
    // Each crystal measures where it was put, within its wander's span.
    EXPECT_NEAR(be(r.dump, "Codec").clock.measured_ppm, -300, 51);
    EXPECT_NEAR(be(r.dump, "USB").clock.measured_ppm, 500, 51);
    for (size_t i = 0; i < 3; ++i) {
        // After lock: from 3 s on (the sim keeps the first `monitor` seconds it played).
        const auto& all = r.played[i];
        ASSERT_GT(all.size() / 2, 48000u * 10);
        const std::vector<float> x(all.begin() + 3 * 48000 * 2, all.end());
        const size_t frames = x.size() / 2;
        const auto thdn = dsp::thd_n(x.data(), frames, 2, 0, 48000);
        ASSERT_TRUE(thdn.has_value());
        std::printf("BE %zu: THD+N %.1f dB, max step %.4f\n", i, *thdn, static_cast<double>(dsp::max_step(x.data(), frames, 2).size));
        EXPECT_LE(*thdn, -80.0) << i;
        // A cosine at 0.5 of full scale steps by at most 0.5·sin(w) ≈ 0.0654 per sample.
        EXPECT_LE(static_cast<double>(dsp::max_step(x.data(), frames, 2).size), 0.0654 * 1.05) << i;
    }
}

TEST(Drift, WithoutCompensationTheFastCrystalRunsDry) {
    const Played r = play(false, 40);
    EXPECT_FALSE(be(r.dump, "USB").link.adaptive);
    EXPECT_GT(be(r.dump, "USB").link.underruns, 0u);
}

TEST(Drift, AnAvSyncClockFromDelayAndTstampFollowsTheDriversCrystalNotTheSystemClock) {
    // An application that keeps video in step with audio asks, now and then, how much of what
    // it wrote has been heard: written - delay, at status().tstamp. On a BE 300 ppm slow
    // (wandering, jittering) that must follow the BE: over 5 minutes it falls 4,320 frames
    // behind the system clock, and stays within about a period of what the BE really played.
    SimClock clock;
    CardLoad load = load_card_string(kCard, "drift.yaml");
    ASSERT_TRUE(load.ok());
    Dpcm::Options opt;
    opt.clock = &clock;
    auto d = Dpcm::create(std::move(load.card), opt);
    ASSERT_TRUE(d.ok());
    Dpcm& dpcm = **d;
    ASSERT_TRUE(is_ok(dpcm.put("HDMI Mixer Media", "off")));
    ASSERT_TRUE(is_ok(dpcm.put("USB Mixer Media", "off")));
    PcmRuntime& pcm = open_configured(dpcm, "Media", Stream::Playback);
    const Backend& codec = *dpcm.backend("Codec", Stream::Playback);
    std::vector<int16_t> block(4096 * 2, 1000);
    uint64_t written = 0;
    double min_err = 1e18, max_err = -1e18, vs_system = 0;
    int64_t oldest = 0;
    const double period_ns = 1e9 * kPeriod / 48000;
    for (int s = 0; s < 300 * 100; ++s) {
        if (const Frames n = pcm.avail_update(); n > 0) written += *pcm.writei(block.data(), n);
        ASSERT_TRUE(is_ok(clock.advance(std::chrono::milliseconds(10))));
        const PcmStatus st = pcm.status();
        ASSERT_EQ(st.state, PcmState::Running);
        const int64_t now = clock.now_ns();
        ASSERT_LE(st.tstamp_ns, now);
        oldest = std::max(oldest, now - st.tstamp_ns);
        // Heard by now, as the application reckons it: at tstamp, written - delay; since, at
        // the nominal rate.
        const double heard = static_cast<double>(written) - static_cast<double>(st.delay) +
                             static_cast<double>(now - st.tstamp_ns) * 48000e-9;
        if (s < 200) continue;  // after the first 2 s
        // Against what the codec really took (less the constant lead of silence ahead of the
        // first frame): the difference must not move.
        const double err = heard - static_cast<double>(codec.position());
        min_err = std::min(min_err, err);
        max_err = std::max(max_err, err);
        vs_system = heard - static_cast<double>(now) * 48000e-9;
    }
    std::printf("A/V: heard - codec's frames in [%.0f, %.0f]; heard - system clock at the end %.0f; tstamp at most %.2f ms old\n",
                min_err, max_err, vs_system, static_cast<double>(oldest) / 1e6);
    EXPECT_LE(max_err - min_err, static_cast<double>(kPeriod) + 64);
    // Behind the system clock by the crystal's -300 ppm (±50 of wander: ±720 frames) and the
    // lead (the range the codec comparison found): it follows the crystal, not the system.
    EXPECT_LE(vs_system, -4320.0 + 720 + max_err);
    EXPECT_GE(vs_system, -4320.0 - 720 + min_err);
    EXPECT_LE(static_cast<double>(oldest), period_ns + 200e3 + 10e6);  // at most a period (and a step) old
}

TEST(Drift, ACaptureFeFedByABackendOnAnotherCrystalGetsItsToneCleanAndNeverRunsDry) {
    // Capture: the FE's driver is a silent mic 300 ppm slow; a second mic 500 ppm fast plays a
    // 1 kHz tone into the same FE through its adaptive port.
    const std::string card = R"(card: Capture drift
fe_links:
  - {name: Rec, capture: {stream: Rec Capture, formats: [S16_LE], rates: [48000], channels: 2}}
be_links:
  - {name: Mic A, capture: {stream: A Capture}, backend: {type: sim, signal: silence}, clock: {ppm: -300, wander: 50, jitter: 200}}
  - {name: Mic B, capture: {stream: B Capture}, backend: {type: sim, signal: sine, frequency: 1000, level: -6}, clock: {ppm: 500, wander: 50, jitter: 200}}
widgets:
  - {name: Rec Mixer, type: mixer, controls: [{name: A, value: on}, {name: B, value: on}]}
  - {name: In A, type: mic}
  - {name: In B, type: mic}
routes:
  - [A Capture, ~, In A]
  - [B Capture, ~, In B]
  - [Rec Mixer, A, A Capture]
  - [Rec Mixer, B, B Capture]
  - [Rec Capture, ~, Rec Mixer]
)";
    SimClock clock;
    CardLoad load = load_card_string(card, "capture.yaml");
    ASSERT_TRUE(load.ok()) << (load.errors.empty() ? "" : load.errors[0]);
    Dpcm::Options opt;
    opt.clock = &clock;
    auto d = Dpcm::create(std::move(load.card), opt);
    ASSERT_TRUE(d.ok());
    PcmRuntime& pcm = open_configured(**d, "Rec", Stream::Capture);
    ASSERT_TRUE(is_ok(pcm.start()));
    std::vector<int16_t> got, buf(4096 * 2);
    for (int s = 0; s < 40 * 100; ++s) {
        ASSERT_TRUE(is_ok(clock.advance(std::chrono::milliseconds(10))));
        const Frames n = pcm.avail_update();
        if (n == 0) continue;
        auto r = pcm.readi(buf.data(), std::min<Frames>(n, 4096));
        ASSERT_TRUE(r.ok());
        if (s >= 300) got.insert(got.end(), buf.begin(), buf.begin() + static_cast<long>(*r * 2));
        ASSERT_EQ(pcm.state(), PcmState::Running);
    }
    const DpcmDump dump = (*d)->dump();
    const BeDump* b = nullptr;
    for (const auto& x : dump.frontends.at(0).backends)
        if (x.name == "Mic B") b = &x;
    ASSERT_NE(b, nullptr);
    EXPECT_TRUE(b->link.following);
    EXPECT_TRUE(b->link.locked);
    EXPECT_LE(b->link.lock_seconds, 2.0);
    EXPECT_EQ(b->link.underruns + b->link.overruns, 0u);
    EXPECT_GE(b->link.min_error, -static_cast<double>(kPeriod));
    EXPECT_LE(b->link.max_error, static_cast<double>(kPeriod));
    std::vector<float> x(got.size());
    dsp::to_float(Format::S16_LE, got.data(), x.data(), x.size());
    const auto thdn = dsp::thd_n(x.data(), x.size() / 2, 2, 0, 48000);
    ASSERT_TRUE(thdn.has_value());
    std::printf("capture follower: THD+N %.1f dB, fill error %+.1f..%+.1f\n", *thdn, b->link.min_error, b->link.max_error);
    EXPECT_LE(*thdn, -80.0);
}

TEST(Drift, AFollowerWhoseBeKeptPlayingThroughItsFesPauseStartsAgainABlockDeep) {
    // USB also plays Alert, so it keeps running while Media pauses and drains Media's FIFO. When
    // Media runs again, its loop starts from the target it had, the FIFO topped up with silence:
    // no underrun follows.
    std::string card = kCard;
    card.replace(card.find("fe_links:\n"), 10,
                 "fe_links:\n  - {name: Alert, playback: {stream: Alert Playback, formats: [S16_LE], rates: [48000], "
                 "channels: 2}}\n");
    card.replace(card.find("{name: USB Mixer, type: mixer, controls: [{name: Media, value: on}]}"), 68,
                 "{name: USB Mixer, type: mixer, controls: [{name: Media, value: on}, {name: Alert, value: on}]}");
    card += "  - [USB Mixer, Alert, Alert Playback]\n";
    SimClock clock;
    CardLoad load = load_card_string(card, "pause.yaml");
    ASSERT_TRUE(load.ok()) << (load.errors.empty() ? "" : load.errors[0]);
    Dpcm::Options opt;
    opt.clock = &clock;
    auto d = Dpcm::create(std::move(load.card), opt);
    ASSERT_TRUE(d.ok());
    Dpcm& dpcm = **d;
    PcmRuntime& media = open_configured(dpcm, "Media", Stream::Playback);
    PcmRuntime& alert = open_configured(dpcm, "Alert", Stream::Playback);
    std::vector<int16_t> block(4096 * 2, 1000);
    auto run = [&](double seconds, bool media_writes) {
        for (int s = 0; s < static_cast<int>(seconds * 100); ++s) {
            for (PcmRuntime* p : {&media, &alert})
                if (p != &media || media_writes)
                    if (const Frames n = p->avail_update(); n > 0) (void)p->writei(block.data(), n);
            ASSERT_TRUE(is_ok(clock.advance(std::chrono::milliseconds(10))));
            dpcm.service();
        }
    };
    run(5, true);
    auto usb = [&] {
        const DpcmDump snapshot = dpcm.dump();  // held: a range over a temporary's member would dangle
        for (const auto& b : snapshot.frontends.at(1).backends)
            if (b.name == "USB") return b.link;
        ADD_FAILURE() << "no USB link";
        return LinkDump{};
    };
    ASSERT_EQ(dpcm.dump().frontends.at(1).name, "Media");
    ASSERT_TRUE(usb().locked);
    ASSERT_TRUE(is_ok(media.pause(true)));
    run(2, false);
    ASSERT_TRUE(is_ok(media.pause(false)));
    const uint64_t before = usb().underruns;
    run(10, true);
    const LinkDump after = usb();
    EXPECT_TRUE(after.following);
    EXPECT_EQ(after.underruns, before);
    EXPECT_GE(after.min_error, -static_cast<double>(kPeriod));
    EXPECT_LE(after.max_error, static_cast<double>(kPeriod));
}

TEST(Drift, ABadCrystalIsReportedWhereItIsWritten) {
    std::string card = kCard;
    card.replace(card.find("clock: {ppm: 0, wander: 50"), 26, "clock: {ppm: 0, wandr: 50");
    card.replace(card.find("clock: {ppm: 500"), 16, "clock: {ppm: fast");
    const CardLoad l = load_card_string(card, "drift.yaml");
    ASSERT_EQ(l.errors.size(), 2u);
    EXPECT_NE(l.errors[0].find("drift.yaml:6:"), std::string::npos) << l.errors[0];
    EXPECT_NE(l.errors[0].find("'wandr'"), std::string::npos) << l.errors[0];
    EXPECT_NE(l.errors[0].find("wander"), std::string::npos) << l.errors[0];  // the suggestion
    EXPECT_NE(l.errors[1].find("drift.yaml:7:"), std::string::npos) << l.errors[1];
    EXPECT_NE(l.errors[1].find("'fast' is not a number"), std::string::npos) << l.errors[1];
}

TEST(Drift, OnlyABackendWithACrystalOfItsOwnCanHaveItChangedLive) {
    SimClock clock;
    const std::string card = std::string(kCard).replace(std::string(kCard).find(", clock: {ppm: 0, wander: 50, jitter: 200}"),
                                                         42, "");
    CardLoad load = load_card_string(card, "drift.yaml");
    ASSERT_TRUE(load.ok());
    Dpcm::Options opt;
    opt.clock = &clock;
    auto d = Dpcm::create(std::move(load.card), opt);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(is_ok((*d)->set_clock("USB", Stream::Playback, ClockModel{.ppm = 100})));
    const auto r = (*d)->set_clock("HDMI", Stream::Playback, ClockModel{.ppm = 100});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("engine's clock"), std::string::npos) << r.error().message();
    EXPECT_FALSE((*d)->set_clock("Nope", Stream::Playback, ClockModel{}).ok());
}

TEST(Drift, ACrystalOffNominalMovesItsTimerByItsOffsetAndItsInterruptsComeLateByItsJitter) {
    struct Count final : SimTimer::Client {
        void period_rt(Frames) noexcept override { ++ticks; }
        uint64_t ticks = 0;
    } count;
    SimClock clock;
    SimTimer t(clock, count);
    t.attach();
    ASSERT_TRUE(is_ok(t.configure(48000, 480)));
    ASSERT_TRUE(is_ok(t.rewind()));
    t.set_clock(ClockModel{.ppm = 1000, .jitter_us = 500});
    ASSERT_EQ(t.trigger(TriggerCmd::Start), 0);
    ASSERT_TRUE(is_ok(clock.advance(std::chrono::seconds(100))));
    // 100 s at +1000 ppm: 4,804,800 frames, 10,010 periods; the last may still be late.
    EXPECT_NEAR(static_cast<double>(t.moved()), 4'804'800.0, 480.0);
    EXPECT_NEAR(t.measured_ppm(), 1000.0, 1.0);
    EXPECT_GE(count.ticks, 10'009u);
    EXPECT_LE(count.ticks, 10'010u);
    ASSERT_EQ(t.trigger(TriggerCmd::Stop), 0);
    t.detach();
}

}  // namespace
}  // namespace dynpcm

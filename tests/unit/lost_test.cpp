// Every lost frame accounted for (docs/DATA_PATH.md, "Lost frames"): what a route removal does
// to a link's queued audio under each policy, checked against the frames that reach the BE, and
// what an FE's ring held when it was dropped or overran.
#include <gtest/gtest.h>

#include <string>

#include "dynpcm/backend/sim_backend.h"
#include "dynpcm/card/card_file.h"
#include "dynpcm/dpcm/dpcm.h"
#include "dynpcm/dsp/convert.h"
#include "result_assert.h"

namespace dynpcm {
namespace {

using testutil::is_ok;

// Music plays on Spk and Hp; Rec records Mic. Hp's route removal is the test's.
std::string card(const std::string& removal) {
    return R"(card: Lost
fe_links:
  - {name: Music, playback: {stream: Music Playback, formats: [S16_LE], rates: [48000], channels: 2}}
  - {name: Rec, capture: {stream: Rec Capture, formats: [S16_LE], rates: [48000], channels: 2}}
be_links:
  - {name: Spk, playback: {stream: Spk Playback}, backend: {type: sim, monitor: 10}}
  - {name: Hp, playback: {stream: Hp Playback}, backend: {type: sim, monitor: 10}, route_removal: )" +
           removal + R"(}
  - {name: Mic, capture: {stream: Mic Capture}, backend: {type: sim, signal: sine}}
widgets:
  - {name: Spk Mixer, type: mixer, controls: [{name: Music, value: on}]}
  - {name: Hp Mixer, type: mixer, controls: [{name: Music, value: on}]}
  - {name: Rec Mixer, type: mixer, controls: [{name: Mic, value: on}]}
  - {name: Speaker, type: spk}
  - {name: Headphone, type: hp}
  - {name: Mic In, type: mic}
routes:
  - [Spk Mixer, Music, Music Playback]
  - [Hp Mixer, Music, Music Playback]
  - [Spk Playback, ~, Spk Mixer]
  - [Hp Playback, ~, Hp Mixer]
  - [Speaker, ~, Spk Playback]
  - [Headphone, ~, Hp Playback]
  - [Mic Capture, ~, Mic In]
  - [Rec Mixer, Mic, Mic Capture]
  - [Rec Capture, ~, Rec Mixer]
)";
}

struct Rig {
    explicit Rig(const std::string& yaml) {
        CardLoad l = load_card_string(yaml, "lost.yaml");
        EXPECT_TRUE(l.ok()) << (l.errors.empty() ? "" : l.errors[0]);
        Dpcm::Options o;
        o.clock = &clock;
        auto d = Dpcm::create(std::move(l.card), o);
        EXPECT_TRUE(d.ok());
        if (d) dpcm = std::move(d).value();
    }
    ~Rig() { dpcm.reset(); }
    PcmRuntime& open(const char* fe, Stream dir) {
        PcmRuntime::Options po;
        po.nonblock = true;
        PcmRuntime* p = *dpcm->open(fe, dir, po);
        HwParams hp = p->hw_params_any();
        EXPECT_TRUE(is_ok(hp.set_access(Access::RwInterleaved)));
        EXPECT_TRUE(is_ok(hp.set_format(Format::S16_LE)));
        EXPECT_TRUE(is_ok(hp.set(HwParam::Channels, 2)));
        EXPECT_TRUE(is_ok(hp.set(HwParam::Rate, 48000)));
        EXPECT_TRUE(is_ok(hp.set(HwParam::PeriodSize, 1024)));
        EXPECT_TRUE(is_ok(hp.set(HwParam::Periods, 4)));
        EXPECT_TRUE(is_ok(p->hw_params(hp)));
        return *p;
    }
    // Keeps a playback ring full of a constant 0.25 (so that every real frame is non-zero).
    void top_up(PcmRuntime& p) {
        const Frames n = p.avail_update();
        std::vector<int16_t> x(static_cast<size_t>(n) * 2, 8192);
        if (n) (void)p.writei(x.data(), n);
    }
    void run(PcmRuntime& p, double seconds) {
        for (int i = 0; i < static_cast<int>(seconds * 200); ++i) {
            top_up(p);
            ASSERT_TRUE(is_ok(clock.advance(std::chrono::milliseconds(5))));
            dpcm->service();
        }
    }
    // Lost events so far for this FE or BE (by label), summed, and their messages.
    uint64_t lost(std::string_view fe, std::string_view be, std::string* what = nullptr) {
        for (auto& e : dpcm->take_events()) events.push_back(std::move(e));
        uint64_t n = 0;
        for (const auto& e : events)
            if (e.kind == DpcmEvent::Kind::Lost && e.fe == fe && e.be == be) {
                n += e.frames;
                if (what) *what += e.message + "\n";
            }
        return n;
    }
    // Frames of a sim BE's recording whose first sample is not 0.
    size_t reached(const char* be) {
        std::vector<std::byte> raw;
        dynamic_cast<SimBackend*>(dpcm->backend(be, Stream::Playback))->take_monitor(raw);
        size_t n = 0;
        for (size_t i = 0; i + 4 <= raw.size(); i += 4)
            if (raw[i] != std::byte{0} || raw[i + 1] != std::byte{0}) ++n;
        return n;
    }
    SimClock clock;
    std::unique_ptr<Dpcm> dpcm;
    std::vector<DpcmEvent> events;
};

constexpr const char* kMusic = "Music/playback";
constexpr const char* kHp = "Hp/playback";

TEST(LostFrames, ACutRouteLosesExactlyWhatItHadQueuedAndTheRestReachedTheBe) {
    Rig r(card("cut"));
    PcmRuntime& p = r.open("Music", Stream::Playback);
    r.run(p, 1.0);
    ASSERT_TRUE(is_ok(r.dpcm->put("Hp Mixer Music", "off")));
    const Frames pushed = p.hw_ptr();  // everything the FE stage gave Hp's port
    r.run(p, 0.2);
    std::string why;
    const uint64_t lost = r.lost(kMusic, kHp, &why);
    EXPECT_GT(lost, 0u);  // the FIFO's block
    EXPECT_NE(why.find("cut"), std::string::npos) << why;
    const size_t reached = r.reached("Hp");
    std::printf("cut: pushed %lu, reached %zu, lost %lu\n", static_cast<unsigned long>(pushed), reached,
                static_cast<unsigned long>(lost));
    EXPECT_EQ(reached + lost, pushed) << why;
}

TEST(LostFrames, APlayedOutRouteLosesNothingAndEveryFrameReachesTheBe) {
    Rig r(card("play"));
    PcmRuntime& p = r.open("Music", Stream::Playback);
    r.run(p, 1.0);
    ASSERT_TRUE(is_ok(r.dpcm->put("Hp Mixer Music", "off")));
    const Frames pushed = p.hw_ptr();
    r.run(p, 0.2);
    EXPECT_EQ(r.lost(kMusic, kHp), 0u);
    const auto d = r.dpcm->dump();
    ASSERT_EQ(d.frontends.at(0).backends.size(), 1u);  // Hp has gone, after its play-out
    // The last sample of the play-out's fade rounds to 0 at S16.
    const size_t reached = r.reached("Hp");
    std::printf("play: pushed %lu, reached %zu\n", static_cast<unsigned long>(pushed), reached);
    EXPECT_NEAR(static_cast<double>(reached), static_cast<double>(pushed), 1.0);
}

TEST(LostFrames, APlayedOutLastRouteHoldsTheFeRatherThanConsumeFramesNoBePlays) {
    // Hp is Music's only BE: while it plays out, nothing else would play what the FE moved, so
    // the FE does not move (as with no BE at all), and its ring keeps what was written.
    Rig r(card("play"));
    ASSERT_TRUE(is_ok(r.dpcm->put("Spk Mixer Music", "off")));
    PcmRuntime& p = r.open("Music", Stream::Playback);
    r.run(p, 1.0);
    ASSERT_TRUE(is_ok(r.dpcm->put("Hp Mixer Music", "off")));
    const Frames pushed = p.hw_ptr();
    r.run(p, 0.2);
    EXPECT_EQ(p.hw_ptr(), pushed);
    EXPECT_EQ(r.lost(kMusic, kHp), 0u);
    EXPECT_NEAR(static_cast<double>(r.reached("Hp")), static_cast<double>(pushed), 1.0);
    EXPECT_TRUE(r.dpcm->dump().frontends.at(0).backends.empty());
}

TEST(LostFrames, AFadedRouteLosesWhatWasQueuedAfterItsFadeAndTheRestReachedTheBe) {
    Rig r(card("fade"));
    PcmRuntime& p = r.open("Music", Stream::Playback);
    r.run(p, 1.0);
    ASSERT_TRUE(is_ok(r.dpcm->put("Hp Mixer Music", "off")));
    const Frames at_put = p.hw_ptr();
    r.run(p, 0.2);
    std::string why;
    const uint64_t lost = r.lost(kMusic, kHp, &why);
    EXPECT_GT(lost, 0u);
    EXPECT_NE(why.find("faded out"), std::string::npos) << why;
    // The fade runs while the FE goes on giving the port frames: what reached Hp and what was
    // lost add up to at least what it had at the write, and at most one 5 ms step more than
    // the fade (240 frames) and a FIFO block. The fade's last samples round to 0.
    const size_t reached = r.reached("Hp");
    std::printf("fade: at the write %lu, reached %zu, lost %lu\n", static_cast<unsigned long>(at_put), reached,
                static_cast<unsigned long>(lost));
    const double total = static_cast<double>(reached + lost);
    EXPECT_GE(total + 2, static_cast<double>(at_put));
    EXPECT_LE(total, static_cast<double>(at_put) + 240 + 240);
}

TEST(LostFrames, ADroppedFeCountsWhatItsRingStillHeldAndTheDumpSumsItsLosses) {
    Rig r(card("fade"));
    PcmRuntime& p = r.open("Music", Stream::Playback);
    r.run(p, 0.5);
    r.top_up(p);
    const Frames held = p.appl_ptr() - p.hw_ptr();
    ASSERT_GT(held, 0u);
    (void)r.dpcm->dump();
    ASSERT_TRUE(is_ok(p.drop()));
    std::string why;
    EXPECT_EQ(r.lost(kMusic, "", &why), held) << why;
    EXPECT_NE(why.find("dropped"), std::string::npos) << why;
    // Prepared again: the ports' FIFOs go too, counted per link; the FE's total is the sum.
    ASSERT_TRUE(is_ok(p.prepare()));
    const uint64_t spk = r.lost(kMusic, "Spk/playback"), hp = r.lost(kMusic, kHp);
    EXPECT_GT(spk, 0u);
    EXPECT_GT(hp, 0u);
    EXPECT_EQ(r.dpcm->dump().frontends.at(0).lost_frames, held + spk + hp);
}

TEST(LostFrames, ACaptureThatOverrunsLosesWhatItsRingHeldUnread) {
    Rig r(card("fade"));
    PcmRuntime& c = r.open("Rec", Stream::Capture);
    ASSERT_TRUE(is_ok(c.start()));
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(is_ok(r.clock.advance(std::chrono::milliseconds(5))));
    EXPECT_EQ(c.state(), PcmState::Xrun);  // nobody read
    const Frames unread = c.hw_ptr() - c.appl_ptr();
    ASSERT_TRUE(is_ok(c.prepare()));
    std::string why;
    EXPECT_EQ(r.lost("Rec/capture", "", &why), unread) << why;
    EXPECT_NE(why.find("captured, not yet read"), std::string::npos) << why;
}

TEST(LostFrames, ABadRouteRemovalIsNamedWhereItIsWritten) {
    const CardLoad l = load_card_string(card("plya"), "lost.yaml");
    ASSERT_EQ(l.errors.size(), 1u);
    EXPECT_NE(l.errors[0].find("lost.yaml:7:"), std::string::npos) << l.errors[0];
    EXPECT_NE(l.errors[0].find("'plya' is not cut, fade or play"), std::string::npos) << l.errors[0];
    EXPECT_NE(l.errors[0].find("play"), std::string::npos) << l.errors[0];
}

}  // namespace
}  // namespace dynpcm

// Unit tests for the DPCM core (src/dpcm/dpcm.cpp): the kernel's BE state machine and sharing
// rules of sound/soc/soc-pcm.c (reference: kernel-dpcm.md section 1), observed through the
// public API only: Dpcm::open/close/put, the FE PcmRuntime, and the debugfs-style dump.
//
// Each test states one rule. BE bookkeeping is compared as one line per BE
// ("START users 1 be_start 1 be_pause 0"); Dpcm::check_invariants() additionally checks that
// every BE's hardware runs exactly when its state says START.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "dpcm_fixture.h"
#include "dynpcm/backend/sim_backend.h"
#include "dynpcm/core/test_hooks.h"
#include "dynpcm/pcm/recover.h"

namespace dynpcm::dpcmtest {
namespace {

using Kind = DpcmEvent::Kind;
using Names = std::vector<std::string>;

bool has_event(const std::vector<DpcmEvent>& events, Kind kind, std::string_view fe, std::string_view be) {
    return std::any_of(events.begin(), events.end(),
                       [&](const DpcmEvent& e) { return e.kind == kind && e.fe == fe && e.be == be; });
}
size_t count_events(const std::vector<DpcmEvent>& events, Kind kind) {
    return static_cast<size_t>(
        std::count_if(events.begin(), events.end(), [&](const DpcmEvent& e) { return e.kind == kind; }));
}
bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

// =========================================================================================
// open / close: connect the BEs the routes reach; first opener opens, last closer closes

TEST(DpcmOpen, ConnectsEveryBackendItsRoutesReachAndOpensThem) {
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("HS Mixer FEA", "on"));
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(rig.dpcm->pcm("FE A", Stream::Playback), a);
    EXPECT_EQ(rig.backends("FE A"), (Names{"Speaker", "Headset"}));
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "OPEN users 1 be_start 0 be_pause 0");
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "OPEN users 1 be_start 0 be_pause 0");
    EXPECT_EQ(rig.fe_status("FE A"), "OPEN / OPEN");
    EXPECT_EQ(rig.idle_status("Codec"), "NEW users 0 be_start 0 be_pause 0") << "an unrouted BE is not opened";
    const auto events = rig.dpcm->take_events();
    EXPECT_TRUE(has_event(events, Kind::Connect, "FE A/playback", "Speaker/playback"));
    EXPECT_TRUE(has_event(events, Kind::Connect, "FE A/playback", "Headset/playback"));
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST(DpcmOpen, OnlyTheFirstOpenerOpensASharedBackendLaterOnesOnlyCountAsUsers) {
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("SPK Mixer FEB", "on"));
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "PREPARE users 1 be_start 0 be_pause 0");
    const std::string params = rig.be_dump("FE A", "Speaker")->params;
    ASSERT_FALSE(params.empty());

    PcmRuntime* b = rig.open("FE B");
    ASSERT_NE(b, nullptr);
    // The second open neither resets the state to OPEN nor drops the configuration.
    EXPECT_EQ(rig.be_status("FE B", "Speaker"), "PREPARE users 2 be_start 0 be_pause 0");
    EXPECT_EQ(rig.be_dump("FE B", "Speaker")->params, params);
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST(DpcmOpen, AFrontendStreamCannotBeOpenedTwice) {
    DpcmRig rig;
    ASSERT_NE(rig.open("FE A"), nullptr);
    auto again = rig.dpcm->open("FE A", Stream::Playback, PcmRuntime::Options{.nonblock = true});
    EXPECT_TRUE(is_error(again, -EBUSY, {"FE A"}));
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "OPEN users 1 be_start 0 be_pause 0") << "no second user";
    EXPECT_TRUE(is_error(rig.dpcm->open("No Such FE", Stream::Playback), -ENOENT, {"No Such FE"}));
    EXPECT_TRUE(is_error(rig.dpcm->open("FE A", Stream::Capture), -EINVAL, {"FE A", "capture"}));
}

TEST(DpcmClose, ReleasesItsBackendsAndOnlyTheLastCloserClosesAShared) {
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("SPK Mixer FEB", "on"));
    DPCM_ASSERT_OK(rig.put("HS Mixer FEA", "on"));
    PcmRuntime* a = rig.open("FE A");
    PcmRuntime* b = rig.open("FE B");
    ASSERT_TRUE(a && b);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(DpcmRig::configure(*b));
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    (void)rig.dpcm->take_events();

    DPCM_ASSERT_OK(rig.dpcm->close("FE A", Stream::Playback));
    EXPECT_EQ(rig.dpcm->pcm("FE A", Stream::Playback), nullptr);
    EXPECT_EQ(rig.fe_status("FE A"), "(not open)");
    // Headset was FE A's alone: stopped, freed and closed. Speaker still has FE B.
    EXPECT_EQ(rig.idle_status("Headset"), "CLOSE users 0 be_start 0 be_pause 0");
    EXPECT_EQ(rig.be_status("FE B", "Speaker"), "STOP users 1 be_start 0 be_pause 0");
    auto events = rig.dpcm->take_events();
    EXPECT_TRUE(has_event(events, Kind::Disconnect, "FE A/playback", "Speaker/playback"));
    EXPECT_TRUE(has_event(events, Kind::Disconnect, "FE A/playback", "Headset/playback"));
    DPCM_EXPECT_INVARIANTS(rig);

    DPCM_ASSERT_OK(rig.dpcm->close("FE B", Stream::Playback));
    EXPECT_EQ(rig.idle_status("Speaker"), "CLOSE users 0 be_start 0 be_pause 0");
    for (const auto& be : rig.dpcm->dump().idle_backends)
        EXPECT_TRUE(be.params.empty()) << be.name << " keeps params after its last close: " << be.params;
    EXPECT_TRUE(is_error(rig.dpcm->close("FE B", Stream::Playback), -EBADFD, {"FE B"}));
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST(DpcmClose, ClosingARunningFrontendLeavesASharedBackendRunningForTheOther) {
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("SPK Mixer FEB", "on"));
    PcmRuntime* a = rig.open("FE A");
    PcmRuntime* b = rig.open("FE B");
    ASSERT_TRUE(a && b);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(DpcmRig::configure(*b));
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*b));
    DPCM_ASSERT_OK(rig.dpcm->close("FE A", Stream::Playback));
    EXPECT_EQ(rig.be_status("FE B", "Speaker"), "START users 1 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(rig.dpcm->close("FE B", Stream::Playback));
    EXPECT_EQ(rig.idle_status("Speaker"), "CLOSE users 0 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

// =========================================================================================
// hw_params: fan-out with be_hw_params_fixup; merged constraints at open

TEST(DpcmHwParams, ABackendFixupOverridesWhatTheFrontendAsked) {
    DpcmRig rig;
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a, {.format = Format::S24_LE, .channels = 1, .rate = 44100}));
    const auto fe = rig.fe_dump("FE A");
    ASSERT_TRUE(fe.has_value());
    EXPECT_TRUE(contains(fe->params, "S24_LE 1ch 44100Hz")) << fe->params;
    const auto spk = rig.be_dump("FE A", "Speaker");
    ASSERT_TRUE(spk.has_value());
    EXPECT_TRUE(contains(spk->params, "S16_LE 2ch 48000Hz")) << spk->params;
    EXPECT_EQ(be_line(*spk), "PREPARE users 1 be_start 0 be_pause 0");
    EXPECT_TRUE(spk->warnings.empty());
}

TEST(DpcmHwParams, ABackendWithoutAFixupRunsAtTheFrontendConfiguration) {
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("CODEC Mixer FEA", "on"));
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a, {.channels = 1, .rate = 44100, .period_size = 441, .periods = 3}));
    EXPECT_TRUE(contains(rig.be_dump("FE A", "Codec")->params, "S16_LE 1ch 44100Hz period 441 x 3"))
        << rig.be_dump("FE A", "Codec")->params;
    EXPECT_TRUE(contains(rig.be_dump("FE A", "Speaker")->params, "S16_LE 2ch 48000Hz"))
        << rig.be_dump("FE A", "Speaker")->params;
}

TEST(DpcmMergedConstraints, ABackendWithoutAFixupNarrowsTheFrontendAtOpen) {
    DpcmRig rig;  // FE Wide (S16/S24/S32, 1-8 ch, 8-384 kHz) is routed to Codec (S16, 1-2 ch, 8-192 kHz)
    PcmRuntime* w = rig.open("FE Wide");
    ASSERT_NE(w, nullptr);
    const HwParams any = w->hw_params_any();
    EXPECT_TRUE(any.formats().has(Format::S16_LE));
    EXPECT_FALSE(any.formats().has(Format::S24_LE));
    EXPECT_FALSE(any.formats().has(Format::S32_LE));
    EXPECT_EQ(any.interval(HwParam::Channels), (Interval{1, 2}));
    EXPECT_EQ(any.interval(HwParam::Rate), (Interval{8000, 192000}));
    // And the FE cannot be configured outside them.
    EXPECT_FALSE(DpcmRig::configure(*w, {.format = Format::S24_LE}).ok());
    EXPECT_FALSE(DpcmRig::configure(*w, {.channels = 6}).ok());
    EXPECT_FALSE(DpcmRig::configure(*w, {.rate = 384000}).ok());
    DPCM_EXPECT_OK(DpcmRig::configure(*w, {.channels = 2, .rate = 96000}));
}

TEST(DpcmMergedConstraints, ABackendWithAFixupDoesNotNarrowTheFrontend) {
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("CODEC Mixer FEW", "off"));
    DPCM_ASSERT_OK(rig.put("SPK Mixer FEW", "on"));
    PcmRuntime* w = rig.open("FE Wide");
    ASSERT_NE(w, nullptr);
    const HwParams any = w->hw_params_any();
    EXPECT_TRUE(any.formats().has(Format::S32_LE));
    EXPECT_EQ(any.interval(HwParam::Channels), (Interval{1, 8}));
    EXPECT_EQ(any.interval(HwParam::Rate), (Interval{8000, 384000}));
    DPCM_ASSERT_OK(DpcmRig::configure(*w, {.format = Format::S32_LE, .channels = 6, .rate = 384000}));
    EXPECT_TRUE(contains(rig.be_dump("FE Wide", "Speaker")->params, "S16_LE 2ch 48000Hz"));
}

TEST(DpcmMergedConstraints, BackendsRoutedAfterOpenAreNotReconsidered) {
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("CODEC Mixer FEW", "off"));
    DPCM_ASSERT_OK(rig.put("SPK Mixer FEW", "on"));
    PcmRuntime* w = rig.open("FE Wide");
    ASSERT_NE(w, nullptr);
    DPCM_ASSERT_OK(rig.put("CODEC Mixer FEW", "on"));
    EXPECT_EQ(rig.backends("FE Wide"), (Names{"Speaker", "Codec"}));
    EXPECT_EQ(w->hw_params_any().interval(HwParam::Channels), (Interval{1, 8}));
}

TEST(DpcmMergedConstraints, AFrontendWithNoFormatInCommonWithABackendFailsToOpenNamingBoth) {
    DpcmRig rig;  // FE Float (FLOAT_LE only) is routed to Codec (S16_LE, no fixup)
    auto r = rig.dpcm->open("FE Float", Stream::Playback, PcmRuntime::Options{.nonblock = true});
    EXPECT_TRUE(is_error(r, -EINVAL, {"FE Float", "Codec", "FLOAT_LE", "S16_LE"}));
    EXPECT_EQ(rig.dpcm->pcm("FE Float", Stream::Playback), nullptr);
    EXPECT_EQ(rig.fe_status("FE Float"), "(not open)");
    EXPECT_EQ(rig.idle_status("Codec"), "NEW users 0 be_start 0 be_pause 0") << "a failed open leaves no user";
    DPCM_EXPECT_INVARIANTS(rig);

    // Routed through a BE whose DSP converts, it opens.
    DPCM_ASSERT_OK(rig.put("CODEC Mixer FEF", "off"));
    DPCM_ASSERT_OK(rig.put("SPK Mixer FEF", "on"));
    PcmRuntime* f = rig.open("FE Float");
    ASSERT_NE(f, nullptr);
    DPCM_EXPECT_OK(DpcmRig::configure(*f, {.format = Format::FLOAT_LE}));
    EXPECT_TRUE(contains(rig.be_dump("FE Float", "Speaker")->params, "S16_LE 2ch 48000Hz"));
}

TEST(DpcmMergedConstraints, ABackendLinksRateListNarrowsTheFrontendToThoseRates) {
    // dpcm_runtime_setup_be_rate intersects the rate masks (SNDRV_PCM_RATE_*): an FE on a BE
    // that supports exactly 8 and 16 kHz cannot run at 11025 Hz. A card file cannot declare a
    // BE link's rates, so this card is built in code.
    auto card = std::make_unique<Card>("Rates");
    FeLink fe;
    fe.name = "Voice";
    fe.playback.emplace();
    fe.playback->stream_name = "Voice Playback";
    fe.playback->formats = FormatMask::of(Format::S16_LE) | FormatMask::of(Format::S24_LE);
    fe.playback->rates = {8000, 48000};
    fe.playback->channels = {1, 2};
    BeLink be;
    be.name = "Modem";
    be.playback.emplace();
    be.playback->stream_name = "Modem Playback";
    be.playback->formats = FormatMask::of(Format::S16_LE);
    be.playback->rates = {8000, 16000};
    be.playback->channels = {1, 1};
    be.playback->rate_list = {8000, 16000};
    DPCM_ASSERT_OK(card->add_fe_link(std::move(fe)));
    DPCM_ASSERT_OK(card->add_be_link(std::move(be)));
    DPCM_ASSERT_OK(card->add_route("Modem Playback", "", "Voice Playback"));
    DPCM_ASSERT_OK(card->finish());
    DpcmRig rig(std::move(card));
    ASSERT_NE(rig.dpcm, nullptr);
    PcmRuntime* v = rig.open("Voice");
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(rig.backends("Voice"), (Names{"Modem"}));
    const HwParams any = v->hw_params_any();
    EXPECT_EQ(any.formats(), FormatMask::of(Format::S16_LE));
    EXPECT_EQ(any.interval(HwParam::Channels), (Interval{1, 1}));
    EXPECT_EQ(any.interval(HwParam::Rate), (Interval{8000, 16000}));
    DPCM_EXPECT_OK(DpcmRig::configure(*v, {.channels = 1, .rate = 16000, .period_size = 320}));
    DPCM_ASSERT_OK(v->hw_free());
    EXPECT_FALSE(DpcmRig::configure(*v, {.channels = 1, .rate = 11025, .period_size = 320}).ok())
        << "the BE declares only 8000 and 16000 Hz, yet the FE was configured at 11025 Hz and the BE runs at: "
        << rig.be_dump("Voice", "Modem")->params;
}

// =========================================================================================
// be_start / be_pause: only the first START and the last STOP reach a shared BE

class DpcmSharing : public ::testing::Test {
protected:
    void SetUp() override {
        DPCM_ASSERT_OK(rig.put("SPK Mixer FEB", "on"));
        a = rig.open("FE A");
        b = rig.open("FE B");
        ASSERT_TRUE(a && b);
        DPCM_ASSERT_OK(DpcmRig::configure(*a));
        DPCM_ASSERT_OK(DpcmRig::configure(*b));
    }
    std::string spk() const { return rig.be_status("FE A", "Speaker"); }

    DpcmRig rig;
    PcmRuntime* a = nullptr;
    PcmRuntime* b = nullptr;
};

TEST_F(DpcmSharing, OnlyTheFirstStartAndTheLastStopReachTheBackend) {
    EXPECT_EQ(spk(), "PREPARE users 2 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);  // includes: the BE's hardware runs
    DPCM_ASSERT_OK(DpcmRig::run(*b));
    EXPECT_EQ(spk(), "START users 2 be_start 2 be_pause 0");
    DPCM_ASSERT_OK(a->stop());
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0") << "FE B still plays";
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(b->stop());
    EXPECT_EQ(spk(), "STOP users 2 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);  // includes: the BE's hardware stopped
    // A restart from STOP is a first START again.
    DPCM_ASSERT_OK(a->prepare());
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST_F(DpcmSharing, ARepeatedStopOfTheSameFrontendCountsOnce) {
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*b));
    DPCM_ASSERT_OK(a->stop());
    DPCM_ASSERT_OK(a->stop());  // already SETUP: nothing reaches the FE or its BEs
    DPCM_ASSERT_OK(a->drop());
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST_F(DpcmSharing, AStopWhileAnotherFrontendIsPausedLeavesTheBackendPaused) {
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*b));
    DPCM_ASSERT_OK(b->pause(true));
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 1");
    DPCM_ASSERT_OK(a->stop());
    EXPECT_EQ(spk(), "PAUSED users 2 be_start 0 be_pause 1") << "the last STOP becomes a PAUSE_PUSH";
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(b->pause(false));
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(b->stop());
    EXPECT_EQ(spk(), "STOP users 2 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST_F(DpcmSharing, StoppingTheOnlyPausedFrontendStopsAPausedBackend) {
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(a->pause(true));
    EXPECT_EQ(spk(), "PAUSED users 2 be_start 0 be_pause 1");
    DPCM_ASSERT_OK(a->stop());  // snd_pcm_stop from PAUSED
    EXPECT_EQ(spk(), "STOP users 2 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST_F(DpcmSharing, PausePushAndReleaseAreCountedPerFrontend) {
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(a->pause(true));
    EXPECT_EQ(spk(), "PAUSED users 2 be_start 0 be_pause 1");
    EXPECT_EQ(rig.fe_status("FE A"), "PAUSED / PAUSED");
    EXPECT_FALSE(a->pause(true).ok()) << "a second pause is refused by the PCM";
    EXPECT_EQ(spk(), "PAUSED users 2 be_start 0 be_pause 1") << "and counts nothing";
    DPCM_ASSERT_OK(a->pause(false));
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0");

    DPCM_ASSERT_OK(DpcmRig::run(*b));
    EXPECT_EQ(spk(), "START users 2 be_start 2 be_pause 0");
    DPCM_ASSERT_OK(a->pause(true));
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 1") << "FE B still plays";
    DPCM_ASSERT_OK(b->pause(true));
    EXPECT_EQ(spk(), "PAUSED users 2 be_start 0 be_pause 2");
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(a->pause(false));
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 1");
    DPCM_ASSERT_OK(b->pause(false));
    EXPECT_EQ(spk(), "START users 2 be_start 2 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST_F(DpcmSharing, AStartOnABackendPausedByAnotherFrontendReleasesIt) {
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(a->pause(true));
    EXPECT_EQ(spk(), "PAUSED users 2 be_start 0 be_pause 1");
    DPCM_ASSERT_OK(DpcmRig::run(*b));
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 1");
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(b->stop());
    EXPECT_EQ(spk(), "PAUSED users 2 be_start 0 be_pause 1") << "FE A is still paused";
    DPCM_EXPECT_INVARIANTS(rig);
}

// =========================================================================================
// can_be_params: a BE another FE has prepared or started keeps its hw params

class DpcmCanBeParams : public ::testing::Test {
protected:
    void SetUp() override {
        DPCM_ASSERT_OK(rig.put("CODEC Mixer FEA", "on"));
        DPCM_ASSERT_OK(rig.put("CODEC Mixer FEB", "on"));
        a = rig.open("FE A");
        b = rig.open("FE B");
        ASSERT_TRUE(a && b);
        DPCM_ASSERT_OK(DpcmRig::configure(*a, {.rate = 48000}));
        (void)rig.dpcm->take_events();
    }
    void expect_kept_with_warning() {
        const auto codec = rig.be_dump("FE B", "Codec");
        ASSERT_TRUE(codec.has_value());
        EXPECT_TRUE(contains(codec->params, "S16_LE 2ch 48000Hz")) << codec->params;
        ASSERT_EQ(codec->warnings.size(), 1u);
        EXPECT_TRUE(contains(codec->warnings[0], "FE B")) << codec->warnings[0];
        EXPECT_TRUE(contains(codec->warnings[0], "44100")) << codec->warnings[0];
        EXPECT_TRUE(contains(rig.dpcm->dump().to_text(), "Warning: " + codec->warnings[0]));
        const auto events = rig.dpcm->take_events();
        EXPECT_TRUE(has_event(events, Kind::ParamsMismatch, "FE B/playback", "Codec/playback"));
        EXPECT_EQ(count_events(events, Kind::ParamsMismatch), 1u);
        // FE B itself runs at what it asked for; the FE-side DSP converts.
        EXPECT_TRUE(contains(rig.fe_dump("FE B")->params, "44100Hz"));
    }

    DpcmRig rig;
    PcmRuntime* a = nullptr;
    PcmRuntime* b = nullptr;
};

TEST_F(DpcmCanBeParams, ASecondFrontendCannotChangeTheParamsOfABackendAnotherRuns) {
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(DpcmRig::configure(*b, {.rate = 44100}));
    expect_kept_with_warning();
    EXPECT_EQ(rig.be_status("FE B", "Codec"), "START users 2 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST_F(DpcmCanBeParams, ASecondFrontendCannotChangeTheParamsOfABackendAnotherPrepared) {
    DPCM_ASSERT_OK(DpcmRig::configure(*b, {.rate = 44100}));
    expect_kept_with_warning();
    EXPECT_EQ(rig.be_status("FE B", "Codec"), "PREPARE users 2 be_start 0 be_pause 0");
}

TEST_F(DpcmCanBeParams, MatchingParamsFromASecondFrontendRaiseNoWarning) {
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(DpcmRig::configure(*b, {.rate = 48000}));
    EXPECT_TRUE(rig.be_dump("FE B", "Codec")->warnings.empty());
    EXPECT_EQ(count_events(rig.dpcm->take_events(), Kind::ParamsMismatch), 0u);
}

TEST_F(DpcmCanBeParams, ABackendKeepsItsParamsUntilItsLastUserFreesIt) {
    // dpcm_be_dai_hw_free skips a BE with other users, and dpcm_be_dai_hw_params sets only a BE
    // in OPEN, HW_PARAMS or HW_FREE. So FE A's hw_free and even its close leave the BE
    // PREPAREd at 48 kHz, and FE B's first hw_params cannot change it; FE B's next one, whose
    // implicit hw_free now reaches the BE (FE B is its only user), can.
    DPCM_ASSERT_OK(a->hw_free());
    EXPECT_EQ(rig.fe_status("FE A"), "HW_FREE / OPEN");
    EXPECT_EQ(rig.be_status("FE B", "Codec"), "PREPARE users 2 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(rig.dpcm->close("FE A", Stream::Playback));
    EXPECT_EQ(rig.be_status("FE B", "Codec"), "PREPARE users 1 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(DpcmRig::configure(*b, {.rate = 44100}));
    expect_kept_with_warning();
    DPCM_ASSERT_OK(DpcmRig::configure(*b, {.rate = 44100}));
    EXPECT_TRUE(contains(rig.be_dump("FE B", "Codec")->params, "S16_LE 2ch 44100Hz"))
        << rig.be_dump("FE B", "Codec")->params;
    EXPECT_EQ(rig.be_status("FE B", "Codec"), "PREPARE users 1 be_start 0 be_pause 0");
    EXPECT_EQ(count_events(rig.dpcm->take_events(), Kind::ParamsMismatch), 0u);
    DPCM_EXPECT_INVARIANTS(rig);
}

// =========================================================================================
// can_be_prepared: never re-prepare a BE another FE is using

TEST_F(DpcmSharing, ASecondFrontendsPrepareDoesNotReprepareARunningBackend) {
    DPCM_ASSERT_OK(b->hw_free());
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(DpcmRig::configure(*b));  // hw_params + prepare
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0");
    // A BE engine refuses prepare while it runs (-EBUSY), so success also says it was not asked.
    DPCM_ASSERT_OK(b->prepare());
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);  // the hardware still runs
    DPCM_ASSERT_OK(DpcmRig::run(*b));
    EXPECT_EQ(spk(), "START users 2 be_start 2 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST_F(DpcmSharing, ASecondFrontendsPrepareDoesNotReprepareAPausedBackend) {
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(a->pause(true));
    DPCM_ASSERT_OK(b->prepare());
    EXPECT_EQ(spk(), "PAUSED users 2 be_start 0 be_pause 1");
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(a->pause(false));
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0");
}

// =========================================================================================
// hw_free: only the last user frees a BE, and never while another FE is active on it

TEST(DpcmHwFree, TheOnlyUserFreesTheBackendAndCanConfigureItAgain) {
    DpcmRig rig;
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(a->stop());
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "STOP users 1 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(a->hw_free());
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "HW_FREE users 1 be_start 0 be_pause 0");
    EXPECT_EQ(rig.fe_status("FE A"), "HW_FREE / OPEN");
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(DpcmRig::configure(*a, {.rate = 44100}));
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "PREPARE users 1 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "START users 1 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

// dpcm_fe_dai_hw_free frees the FE (soc_pcm_hw_clean) before its BEs (dpcm_be_dai_hw_free).
TEST(DpcmHwFree, TheFrontendIsFreedBeforeItsBackends) {
    struct Order {
        std::vector<std::string> seen;
        static void hook(test::Point p, uint32_t, void* ctx) {
            if (p == test::Point::ControlFeHwFree) static_cast<Order*>(ctx)->seen.emplace_back("FE");
            if (p == test::Point::ControlBeHwFree) static_cast<Order*>(ctx)->seen.emplace_back("BE");
        }
    } order;
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("HS Mixer FEA", "on"));
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    if (!test::set_hook(&Order::hook, &order)) GTEST_SKIP() << "library built without DYNPCM_TEST_HOOKS";
    DPCM_ASSERT_OK(a->hw_free());
    (void)test::set_hook(nullptr, nullptr);
    EXPECT_EQ(order.seen, (Names{"FE", "BE", "BE"}));
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "HW_FREE users 1 be_start 0 be_pause 0");
}

TEST_F(DpcmSharing, HwFreeLeavesABackendAnotherFrontendIsRunning) {
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*b));
    DPCM_ASSERT_OK(b->stop());
    DPCM_ASSERT_OK(b->hw_free());
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0");
    EXPECT_FALSE(rig.be_dump("FE A", "Speaker")->params.empty());
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST_F(DpcmSharing, HwFreeLeavesABackendAnotherFrontendIsPaused) {
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(a->pause(true));
    DPCM_ASSERT_OK(b->hw_free());
    EXPECT_EQ(spk(), "PAUSED users 2 be_start 0 be_pause 1");
    EXPECT_FALSE(rig.be_dump("FE A", "Speaker")->params.empty());
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST_F(DpcmSharing, HwFreeDoesNotFreeABackendWithAnotherUserEvenWhenStopped) {
    // dpcm_be_dai_hw_free: "do not free hw if this BE is used by other FE" (users > 1).
    DPCM_ASSERT_OK(b->hw_free());
    DPCM_ASSERT_OK(a->hw_free());
    EXPECT_EQ(spk(), "PREPARE users 2 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(rig.dpcm->close("FE B", Stream::Playback));
    EXPECT_EQ(spk(), "PREPARE users 1 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(rig.dpcm->close("FE A", Stream::Playback));
    EXPECT_EQ(rig.idle_status("Speaker"), "CLOSE users 0 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

// =========================================================================================
// trigger order: FE A is POST, FE B is PRE

TEST(DpcmTriggerOrder, PreAndPostFrontendsBothStartPauseAndStopTheirBackends) {
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("HS Mixer FEB", "on"));
    PcmRuntime* a = rig.open("FE A");
    PcmRuntime* b = rig.open("FE B");
    ASSERT_TRUE(a && b);
    for (auto [fe, be, pcm] : {std::tuple{"FE A", "Speaker", a}, std::tuple{"FE B", "Headset", b}}) {
        SCOPED_TRACE(fe);
        DPCM_ASSERT_OK(DpcmRig::configure(*pcm));
        DPCM_ASSERT_OK(DpcmRig::run(*pcm));
        EXPECT_EQ(rig.fe_status(fe), "START / RUNNING");
        EXPECT_EQ(rig.be_status(fe, be), "START users 1 be_start 1 be_pause 0");
        DPCM_EXPECT_INVARIANTS(rig);
        DPCM_ASSERT_OK(pcm->pause(true));
        EXPECT_EQ(rig.fe_status(fe), "PAUSED / PAUSED");
        EXPECT_EQ(rig.be_status(fe, be), "PAUSED users 1 be_start 0 be_pause 1");
        DPCM_EXPECT_INVARIANTS(rig);
        DPCM_ASSERT_OK(pcm->pause(false));
        EXPECT_EQ(rig.be_status(fe, be), "START users 1 be_start 1 be_pause 0");
        DPCM_ASSERT_OK(pcm->stop());
        EXPECT_EQ(rig.fe_status(fe), "STOP / SETUP");
        EXPECT_EQ(rig.be_status(fe, be), "STOP users 1 be_start 0 be_pause 0");
        DPCM_EXPECT_INVARIANTS(rig);
        DPCM_ASSERT_OK(pcm->prepare());
        EXPECT_EQ(rig.be_status(fe, be), "PREPARE users 1 be_start 0 be_pause 0");
        DPCM_ASSERT_OK(DpcmRig::run(*pcm));
        EXPECT_EQ(rig.be_status(fe, be), "START users 1 be_start 1 be_pause 0");
        DPCM_ASSERT_OK(pcm->drop());
        EXPECT_EQ(rig.be_status(fe, be), "STOP users 1 be_start 0 be_pause 0");
        DPCM_EXPECT_INVARIANTS(rig);
    }
}

// What the interrupt path sees while it walks an FE's published BE set (test hook).
struct WalkLog {
    DpcmRig* rig = nullptr;
    std::string fe;
    std::vector<std::string> seen;
};

void record_walk(test::Point point, uint32_t /*fe*/, void* context) {
    if (point != test::Point::RtAfterLinkRead) return;
    auto* log = static_cast<WalkLog*>(context);
    log->seen.push_back(log->rig->fe_status(log->fe) + " | Speaker " + log->rig->be_status(log->fe, "Speaker") +
                        " | Headset " + log->rig->be_status(log->fe, "Headset"));
}

struct HookGuard {
    HookGuard(test::Hook h, void* ctx) { installed = test::set_hook(h, ctx); }
    ~HookGuard() { (void)test::set_hook(nullptr, nullptr); }
    HookGuard(const HookGuard&) = delete;
    HookGuard& operator=(const HookGuard&) = delete;
    bool installed = false;
};

TEST(DpcmTriggerOrder, OnTheInterruptPathTheFrontendIsStoppedBeforeItsBackendsOneByOne) {
    // Whatever the order (PRE or POST), an interrupt-path STOP records the FE's new state
    // before it walks the BEs (so a concurrent check of "other FEs' states" already sees it),
    // and then stops each BE of the published set in turn.
    for (const char* fe : {"FE A", "FE B"}) {
        SCOPED_TRACE(fe);
        DpcmRig rig;
        const std::string tag = fe == std::string("FE A") ? "FEA" : "FEB";
        DPCM_ASSERT_OK(rig.put("SPK Mixer " + tag, "on"));
        DPCM_ASSERT_OK(rig.put("HS Mixer " + tag, "on"));
        PcmRuntime* pcm = rig.open(fe);
        ASSERT_NE(pcm, nullptr);
        DPCM_ASSERT_OK(DpcmRig::configure(*pcm));
        DPCM_ASSERT_OK(DpcmRig::run(*pcm));
        WalkLog log{&rig, fe, {}};
        {
            HookGuard hook(&record_walk, &log);
            if (!hook.installed) GTEST_SKIP() << "library built without DYNPCM_TEST_HOOKS";
            DPCM_ASSERT_OK(rig.advance_periods(6));  // underrun -> xrun -> STOP on the interrupt path
        }
        ASSERT_EQ(log.seen.size(), 2u);
        EXPECT_EQ(log.seen[0],
                  "STOP / XRUN"
                  " | Speaker START users 1 be_start 1 be_pause 0"
                  " | Headset START users 1 be_start 1 be_pause 0");
        EXPECT_EQ(log.seen[1],
                  "STOP / XRUN"
                  " | Speaker STOP users 1 be_start 0 be_pause 0"
                  " | Headset START users 1 be_start 1 be_pause 0");
        EXPECT_EQ(rig.be_status(fe, "Headset"), "STOP users 1 be_start 0 be_pause 0");
        DPCM_EXPECT_INVARIANTS(rig);
    }
}

// =========================================================================================
// no BE routed

TEST(DpcmNoBackend, PrepareFailsWithEinvalNamingTheFrontendAndTheControlsThatCouldRouteIt) {
    DpcmRig rig;
    PcmRuntime* b = rig.open("FE B");  // routed nowhere
    ASSERT_NE(b, nullptr);
    EXPECT_TRUE(rig.backends("FE B").empty());
    EXPECT_TRUE(contains(rig.dpcm->dump().to_text(), "No active DSP links"));
    // hw_params prepares (as alsa-lib's does), so it fails the same way.
    const std::initializer_list<std::string_view> mentions = {"FE B", "SPK Mixer FEB", "HS Mixer FEB",
                                                              "CODEC Mixer FEB"};
    EXPECT_TRUE(is_error(DpcmRig::configure(*b), -EINVAL, mentions));
    EXPECT_TRUE(is_error(b->prepare(), -EINVAL, mentions));
    EXPECT_NE(b->state(), PcmState::Prepared);
    DPCM_EXPECT_INVARIANTS(rig);

    // Setting one of the named controls routes it, and prepare works.
    DPCM_ASSERT_OK(rig.put("HS Mixer FEB", "on"));
    EXPECT_EQ(rig.be_status("FE B", "Headset"), "HW_PARAMS users 1 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(b->prepare());
    EXPECT_EQ(rig.be_status("FE B", "Headset"), "PREPARE users 1 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(DpcmRig::run(*b));
    EXPECT_EQ(rig.be_status("FE B", "Headset"), "START users 1 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

// =========================================================================================
// runtime update (Dpcm::put -> soc_dpcm_runtime_update)

// A mux moves BE X from FE One (44.1 kHz) to FE Two (48 kHz). X has no fixup: it runs at its
// FE's configuration. Two comes first in card order. The kernel's runtime update prunes every
// FE's old BEs before it adds the new ones, so One lets X go (closed, its last user) before
// Two opens it again with Two's parameters. Going FE by FE and adding before removing (defect 8
// of the hardening issue) left X at One's 44.1 kHz under Two, depending on card order.
constexpr std::string_view kMuxCard = R"(card: Mux
fe_links:
  - {name: Two, playback: {stream: Two Playback, formats: [S16_LE], rates: [48000], channels: 2}}
  - {name: One, playback: {stream: One Playback, formats: [S16_LE], rates: [44100], channels: 2}}
be_links:
  - {name: X, playback: {stream: X Playback, formats: [S16_LE], rates: {min: 8000, max: 192000}, channels: 2}, backend: {type: sim}}
  - {name: Y, playback: {stream: Y Playback}, backend: {type: sim}, fixup: {rate: 48000, channels: 2, format: S16_LE}}
widgets:
  - {name: X Mux, type: mux, items: [One, Two], value: One}
  - {name: Out X, type: spk}
  - {name: Out Y, type: spk}
routes:
  - [X Mux, One, One Playback]
  - [X Mux, Two, Two Playback]
  - [X Playback, ~, X Mux]
  - [Y Playback, ~, Two Playback]
  - [Out X, ~, X Playback]
  - [Out Y, ~, Y Playback]
)";

struct MuxRig {
    DpcmRig rig{kMuxCard};
    PcmRuntime* one = nullptr;
    PcmRuntime* two = nullptr;
    void SetUp() {
        one = rig.open("One");
        two = rig.open("Two");
        ASSERT_TRUE(one && two);
        DPCM_ASSERT_OK(DpcmRig::configure(*one, {.rate = 44100}));
        DPCM_ASSERT_OK(DpcmRig::configure(*two, {.rate = 48000}));
        ASSERT_TRUE(contains(rig.be_dump("One", "X")->params, "44100Hz"));
    }
};

TEST(DpcmRuntimeUpdate, ABackendMovedBetweenPreparedFrontendsTakesTheNewFrontendsParams) {
    MuxRig m;
    m.SetUp();
    DPCM_ASSERT_OK(m.rig.put("X Mux", "Two"));
    EXPECT_EQ(m.rig.backends("One"), Names{});
    EXPECT_EQ(m.rig.backends("Two"), (Names{"X", "Y"}));
    const auto x = m.rig.be_dump("Two", "X");
    ASSERT_TRUE(x.has_value());
    EXPECT_TRUE(contains(x->params, "48000Hz")) << "X kept One's configuration: " << x->params;
    EXPECT_TRUE(x->warnings.empty());
    EXPECT_EQ(m.rig.be_status("Two", "X"), "PREPARE users 1 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(m.rig);
}

TEST(DpcmRuntimeUpdate, ABackendMovedBetweenRunningFrontendsJoinsTheNewOneAfterFadingOutOfTheOld) {
    MuxRig m;
    m.SetUp();
    DPCM_ASSERT_OK(DpcmRig::run(*m.one));
    DPCM_ASSERT_OK(DpcmRig::run(*m.two));
    DPCM_ASSERT_OK(m.rig.put("X Mux", "Two"));
    // X fades out of One first; until then Two cannot have it (it still runs at 44.1 kHz).
    EXPECT_EQ(m.rig.backends("One"), (Names{"X"}));
    EXPECT_EQ(m.rig.backends("Two"), (Names{"Y"}));
    DPCM_ASSERT_OK(m.rig.advance_periods(2));  // X ticks every 23 ms (1024 frames at 44.1 kHz)
    EXPECT_EQ(m.rig.backends("One"), Names{});
    EXPECT_EQ(m.rig.backends("Two"), (Names{"X", "Y"}));
    const auto x = m.rig.be_dump("Two", "X");
    ASSERT_TRUE(x.has_value());
    EXPECT_TRUE(contains(x->params, "48000Hz")) << "X kept One's configuration: " << x->params;
    EXPECT_EQ(m.rig.be_status("Two", "X"), "START users 1 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(m.rig);
}

TEST(DpcmRuntimeUpdate, ARouteTurnedOnWhileRunningBringsTheNewBackendToStart) {
    DpcmRig rig;
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    (void)rig.dpcm->take_events();

    auto changed = rig.put("HS Mixer FEA", "on");
    DPCM_ASSERT_OK(changed);
    EXPECT_TRUE(*changed);
    EXPECT_EQ(rig.backends("FE A"), (Names{"Speaker", "Headset"}));
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "START users 1 be_start 1 be_pause 0");
    EXPECT_TRUE(contains(rig.be_dump("FE A", "Headset")->params, "S16_LE 2ch 48000Hz"));
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "START users 1 be_start 1 be_pause 0") << "the old BE keeps running";
    EXPECT_EQ(rig.fe_status("FE A"), "START / RUNNING");
    const auto events = rig.dpcm->take_events();
    EXPECT_TRUE(has_event(events, Kind::Connect, "FE A/playback", "Headset/playback"));
    EXPECT_EQ(count_events(events, Kind::Disconnect), 0u);
    DPCM_EXPECT_INVARIANTS(rig);

    // Writing the same value again changes nothing and reports nothing.
    auto same = rig.put("HS Mixer FEA", "on");
    DPCM_ASSERT_OK(same);
    EXPECT_FALSE(*same);
    EXPECT_TRUE(rig.dpcm->take_events().empty());
}

TEST(DpcmRuntimeUpdate, ARouteTurnedOffWhileRunningStopsFreesAndClosesOnlyThatBackend) {
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("HS Mixer FEA", "on"));
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    (void)rig.dpcm->take_events();

    DPCM_ASSERT_OK(rig.put("SPK Mixer FEA", "off"));
    // The link fades out first (Options::fade, 5 ms) while still connected; the first control
    // call after the fade has played disconnects it.
    EXPECT_EQ(rig.backends("FE A"), (Names{"Speaker", "Headset"}));
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "START users 1 be_start 1 be_pause 0");
    DPCM_ASSERT_OK(rig.advance_periods(1));
    EXPECT_EQ(rig.backends("FE A"), (Names{"Headset"}));
    EXPECT_EQ(rig.idle_status("Speaker"), "CLOSE users 0 be_start 0 be_pause 0");
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "START users 1 be_start 1 be_pause 0");
    EXPECT_EQ(rig.fe_status("FE A"), "START / RUNNING");
    const auto events = rig.dpcm->take_events();
    EXPECT_TRUE(has_event(events, Kind::Disconnect, "FE A/playback", "Speaker/playback"));
    EXPECT_EQ(count_events(events, Kind::Connect), 0u);
    DPCM_EXPECT_INVARIANTS(rig);

    // The FE keeps playing through the change.
    DPCM_ASSERT_OK(rig.advance_periods(1));
    EXPECT_EQ(a->state(), PcmState::Running);
    EXPECT_EQ(a->status().periods_elapsed, 2u);
}

TEST(DpcmRuntimeUpdate, ARouteChangeWhilePausedGivesTheNewBackendThePausedRole) {
    DpcmRig rig;
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(a->pause(true));
    DPCM_ASSERT_OK(rig.put("HS Mixer FEA", "on"));
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "PAUSED users 1 be_start 0 be_pause 1");
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "PAUSED users 1 be_start 0 be_pause 1");
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(a->pause(false));
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "START users 1 be_start 1 be_pause 0");
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "START users 1 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST(DpcmRuntimeUpdate, ARouteChangeWhilePreparedPreparesTheNewBackendWithoutStartingIt) {
    DpcmRig rig;
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(rig.put("HS Mixer FEA", "on"));
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "PREPARE users 1 be_start 0 be_pause 0");
    EXPECT_FALSE(rig.be_dump("FE A", "Headset")->params.empty());
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "START users 1 be_start 1 be_pause 0");
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "START users 1 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST(DpcmRuntimeUpdate, ARouteChangeWhileOnlyOpenOnlyOpensTheNewBackend) {
    DpcmRig rig;
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(rig.put("HS Mixer FEA", "on"));
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "OPEN users 1 be_start 0 be_pause 0");
    EXPECT_TRUE(rig.be_dump("FE A", "Headset")->params.empty());
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "PREPARE users 1 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST(DpcmRuntimeUpdate, JoiningAndLeavingABackendAnotherFrontendRunsOnlyMovesTheCounts) {
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("HS Mixer FEB", "on"));
    PcmRuntime* a = rig.open("FE A");
    PcmRuntime* b = rig.open("FE B");
    ASSERT_TRUE(a && b);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(DpcmRig::configure(*b));
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*b));
    DPCM_ASSERT_OK(rig.put("HS Mixer FEA", "on"));
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "START users 2 be_start 2 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(rig.put("HS Mixer FEA", "off"));
    DPCM_ASSERT_OK(rig.advance_periods(1));  // the fade-out plays
    EXPECT_EQ(rig.backends("FE A"), (Names{"Speaker"}));
    EXPECT_EQ(rig.be_status("FE B", "Headset"), "START users 1 be_start 1 be_pause 0") << "FE B's stream survives";
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST(DpcmRuntimeUpdate, MovingTheOnlyRouteWhileRunningSwapsTheBackendsAndTheFrontendKeepsRunning) {
    DpcmRig rig;
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(rig.put("SPK Mixer FEA", "off"));
    DPCM_ASSERT_OK(rig.advance_periods(1));  // the fade-out plays
    EXPECT_TRUE(rig.backends("FE A").empty());
    EXPECT_EQ(rig.idle_status("Speaker"), "CLOSE users 0 be_start 0 be_pause 0");
    EXPECT_EQ(rig.fe_status("FE A"), "START / RUNNING");
    DPCM_ASSERT_OK(rig.put("CODEC Mixer FEA", "on"));
    EXPECT_EQ(rig.be_status("FE A", "Codec"), "START users 1 be_start 1 be_pause 0");
    EXPECT_TRUE(contains(rig.be_dump("FE A", "Codec")->params, "S16_LE 2ch 48000Hz"));
    DPCM_EXPECT_INVARIANTS(rig);
}

// =========================================================================================
// xrun and drain end on the interrupt path

TEST(DpcmXrun, AnUnderrunStopsTheFrontendAndItsBackendsAndRecoverBringsThemBack) {
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("HS Mixer FEA", "on"));
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(rig.advance_periods(6));  // nobody writes: the buffer runs dry
    EXPECT_EQ(a->state(), PcmState::Xrun);
    EXPECT_EQ(a->status().xruns, 1u);
    EXPECT_EQ(rig.fe_status("FE A"), "STOP / XRUN");
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "STOP users 1 be_start 0 be_pause 0");
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "STOP users 1 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);

    auto w = DpcmRig::fill(*a, 1);
    EXPECT_TRUE(is_error(w, -EPIPE));
    DPCM_ASSERT_OK(recover(*a, w.code()));
    EXPECT_EQ(rig.fe_status("FE A"), "PREPARE / PREPARED");
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "PREPARE users 1 be_start 0 be_pause 0");
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "PREPARE users 1 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "START users 1 be_start 1 be_pause 0");
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "START users 1 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST(DpcmXrun, AnXrunOfOneFrontendLeavesASharedBackendRunningForTheOther) {
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("SPK Mixer FEB", "on"));
    PcmRuntime* a = rig.open("FE A");
    PcmRuntime* b = rig.open("FE B");
    ASSERT_TRUE(a && b);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(DpcmRig::configure(*b));
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*b));
    for (int i = 0; i < 6; ++i) {  // FE B is fed every period, FE A never
        DPCM_ASSERT_OK(rig.advance_periods(1));
        if (b->state() == PcmState::Running) {
            DPCM_ASSERT_OK(DpcmRig::fill(*b));
        }
    }
    EXPECT_EQ(a->state(), PcmState::Xrun);
    EXPECT_EQ(b->state(), PcmState::Running);
    EXPECT_EQ(rig.be_status("FE B", "Speaker"), "START users 2 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(recover(*a, -EPIPE));
    EXPECT_EQ(rig.be_status("FE B", "Speaker"), "START users 2 be_start 1 be_pause 0") << "not re-prepared";
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    EXPECT_EQ(rig.be_status("FE B", "Speaker"), "START users 2 be_start 2 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST(DpcmXrun, ACaptureOverrunStopsTheBackendToo) {
    DpcmRig rig;
    PcmRuntime* r = rig.open("FE Rec", Stream::Capture);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(rig.backends("FE Rec", Stream::Capture), (Names{"Mic"}));
    DPCM_ASSERT_OK(DpcmRig::configure(*r));
    DPCM_ASSERT_OK(DpcmRig::run(*r));
    EXPECT_EQ(rig.be_status("FE Rec", "Mic", Stream::Capture), "START users 1 be_start 1 be_pause 0");
    DPCM_ASSERT_OK(rig.advance_periods(6));  // nobody reads: the buffer overflows
    EXPECT_EQ(r->state(), PcmState::Xrun);
    EXPECT_EQ(rig.fe_status("FE Rec", Stream::Capture), "STOP / XRUN");
    EXPECT_EQ(rig.be_status("FE Rec", "Mic", Stream::Capture), "STOP users 1 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(recover(*r, -EPIPE));
    DPCM_ASSERT_OK(r->start());
    EXPECT_EQ(rig.be_status("FE Rec", "Mic", Stream::Capture), "START users 1 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST(DpcmDrain, DrainReachesOnlyTheFrontendAndItsEndStopsTheBackends) {
    DpcmRig rig;
    PcmRuntime* a = rig.open("FE A", Stream::Playback, PcmInfo{.drain_trigger = true});
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(DpcmRig::fill(*a, 2 * kPeriod));
    DPCM_ASSERT_OK(a->start());
    EXPECT_TRUE(is_error(a->drain(), -EAGAIN));  // non-blocking: draining has begun
    EXPECT_EQ(a->state(), PcmState::Draining);
    // DRAIN is not a BE trigger (dpcm_be_dai_trigger has no DRAIN case).
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "START users 1 be_start 1 be_pause 0");
    EXPECT_EQ(rig.fe_status("FE A"), "START / DRAINING");
    DPCM_EXPECT_INVARIANTS(rig);
    // The ring's two periods, then what the port FIFO holds behind them (its one-block lead-in
    // and the period in flight): the drain ends when the last frame has left the FIFO, at the
    // FE period boundary after that.
    DPCM_ASSERT_OK(rig.advance_periods(4));
    EXPECT_EQ(a->state(), PcmState::Draining);
    DPCM_ASSERT_OK(rig.advance_periods(1));
    EXPECT_EQ(a->state(), PcmState::Setup);
    EXPECT_EQ(rig.fe_status("FE A"), "STOP / SETUP");
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "STOP users 1 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

// =========================================================================================
// suspend / resume

TEST(DpcmSuspend, SuspendAndResumeFanOutToTheBackends) {
    DpcmRig rig;
    DPCM_ASSERT_OK(rig.put("HS Mixer FEA", "on"));
    PcmRuntime* a = rig.open("FE A");
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(a->suspend());
    EXPECT_EQ(a->state(), PcmState::Suspended);
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "SUSPEND users 1 be_start 0 be_pause 0");
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "SUSPEND users 1 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(a->resume());
    EXPECT_EQ(a->state(), PcmState::Running);
    EXPECT_EQ(rig.fe_status("FE A"), "START / RUNNING");
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "START users 1 be_start 1 be_pause 0");
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "START users 1 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST_F(DpcmSharing, ASharedBackendSuspendsOnlyWhenItsLastRunningFrontendDoes) {
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*b));
    DPCM_ASSERT_OK(a->suspend());
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0");
    DPCM_ASSERT_OK(b->suspend());
    EXPECT_EQ(spk(), "SUSPEND users 2 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(a->resume());
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0");
    DPCM_ASSERT_OK(b->resume());
    EXPECT_EQ(spk(), "START users 2 be_start 2 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST(DpcmSuspend, WithoutResumeSupportPrepareAndStartBringTheBackendsBack) {
    // snd_pcm_recover(-ESTRPIPE) on hardware without INFO_RESUME prepares again. The BE goes
    // SUSPEND -> PREPARE (prepare is allowed from SUSPEND), and the next START is a first START
    // (be_start 0 -> 1) that must reach it.
    DpcmRig rig;
    PcmRuntime* a = rig.open("FE A", Stream::Playback, PcmInfo{.can_resume = false});
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*a));
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(a->suspend());
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "SUSPEND users 1 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(recover(*a, -ESTRPIPE));
    EXPECT_EQ(a->state(), PcmState::Prepared);
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "PREPARE users 1 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    EXPECT_EQ(rig.fe_status("FE A"), "START / RUNNING");
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "START users 1 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

// =========================================================================================
// BE triggers the hardware refuses (dpcm_be_dai_trigger's unwinding): the BE's counts stay as
// they were, the FE trigger fails, and nothing is left half-moved (defect 9 of the hardening
// issue: STOP, PAUSE_PUSH and SUSPEND used to change the roles and counts and return 0).

SimBackend& sim_of(DpcmRig& rig, std::string_view be) {
    auto* b = dynamic_cast<SimBackend*>(rig.dpcm->backend(be, Stream::Playback));
    EXPECT_NE(b, nullptr);
    return *b;
}

// FE A configured and running on Speaker; the Speaker's codec refuses its next command.
PcmRuntime* running_fe_a_with_a_refusing_speaker(DpcmRig& rig) {
    PcmRuntime* a = rig.open("FE A");
    if (!a || !is_ok(DpcmRig::configure(*a)) || !is_ok(DpcmRig::run(*a))) return nullptr;
    (void)rig.dpcm->take_events();
    sim_of(rig, "Speaker").fail_next_trigger(-EIO);
    return a;
}

TEST(DpcmTriggerFailure, ARefusedPausePushFailsThePauseAndTheStreamKeepsRunning) {
    DpcmRig rig;
    PcmRuntime* a = running_fe_a_with_a_refusing_speaker(rig);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->pause(true).code(), -EIO);
    EXPECT_EQ(a->state(), PcmState::Running);
    EXPECT_EQ(rig.fe_status("FE A"), "START / RUNNING");
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "START users 1 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
    const Frames hw = a->hw_ptr();
    DPCM_ASSERT_OK(rig.advance_periods(1));
    EXPECT_EQ(a->hw_ptr(), hw + kPeriod) << "the FE must keep moving after a refused pause";
}

TEST_F(DpcmSharing, ARefusedPausePushOnOneBackendPutsTheOthersBackAsTheyWere) {
    // FE A runs on Speaker (shared with B) and, here, Headset too; Headset refuses the pause.
    DPCM_ASSERT_OK(rig.put("HS Mixer FEA", "on"));
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    sim_of(rig, "Headset").fail_next_trigger(-EIO);
    EXPECT_EQ(a->pause(true).code(), -EIO);
    EXPECT_EQ(a->state(), PcmState::Running);
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0");
    EXPECT_EQ(rig.be_status("FE A", "Headset"), "START users 1 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST(DpcmTriggerFailure, ARefusedSuspendFailsTheSuspendAndTheStreamKeepsRunning) {
    DpcmRig rig;
    PcmRuntime* a = running_fe_a_with_a_refusing_speaker(rig);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->suspend().code(), -EIO);
    EXPECT_EQ(a->state(), PcmState::Running);
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "START users 1 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST(DpcmTriggerFailure, ARefusedStopIsReportedAndTheBackendIsNotLeftRunningUncounted) {
    // snd_pcm_drop does not fail on a refused STOP (snd_pcm_do_stop ignores it): the FE stops.
    // The BE's counts must still say what its hardware does; the reconciliation after the
    // trigger tries the STOP once more (it succeeds here: the sim codec refuses one command).
    DpcmRig rig;
    PcmRuntime* a = running_fe_a_with_a_refusing_speaker(rig);
    ASSERT_NE(a, nullptr);
    DPCM_ASSERT_OK(a->drop());
    EXPECT_EQ(a->state(), PcmState::Setup);
    EXPECT_EQ(rig.fe_status("FE A"), "STOP / SETUP");
    EXPECT_EQ(rig.be_status("FE A", "Speaker"), "STOP users 1 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
    bool reported = false;
    for (const auto& e : rig.dpcm->take_events()) reported = reported || e.kind == DpcmEvent::Kind::BeTriggerFailed;
    EXPECT_TRUE(reported) << "the refused STOP was not reported";
}

TEST_F(DpcmSharing, AResumeAfterAnotherFrontendPreparedTheSuspendedBackendStartsIt) {
    // FE A suspends Speaker; FE B prepares it again (allowed from SUSPEND). The BE is no longer
    // suspended, so A's resume must START it (the kernel's dpcm_be_dai_trigger only RESUMEs a
    // SUSPENDed BE). The sim codec refuses a RESUME it was not suspended for, as a device would.
    DPCM_ASSERT_OK(DpcmRig::run(*a));
    DPCM_ASSERT_OK(a->suspend());
    EXPECT_EQ(spk(), "SUSPEND users 2 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(b->prepare());
    EXPECT_EQ(spk(), "PREPARE users 2 be_start 0 be_pause 0");
    DPCM_ASSERT_OK(a->resume());
    EXPECT_EQ(a->state(), PcmState::Running);
    EXPECT_EQ(spk(), "START users 2 be_start 1 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

// =========================================================================================
// check_invariants through a long scripted sequence

TEST(DpcmInvariants, HoldAfterEveryStepOfALongScriptedSequence) {
    DpcmRig rig;
    PcmRuntime* a = nullptr;
    PcmRuntime* b = nullptr;
    PcmRuntime* r = nullptr;
    auto ok_ = [](auto&& res) { return is_ok(res); };
    auto put = [&](const char* c, const char* v) { return ok_(rig.put(c, v)); };
    auto open = [&](PcmRuntime*& p, const char* fe, Stream dir) {
        p = rig.open(fe, dir);
        return p ? ::testing::AssertionSuccess() : ::testing::AssertionFailure() << "open " << fe;
    };
    auto feed = [&](PcmRuntime* p) {
        if (p && p->state() == PcmState::Running) return ok_(DpcmRig::fill(*p));
        return ::testing::AssertionSuccess();
    };
    const std::vector<std::pair<const char*, std::function<::testing::AssertionResult()>>> steps = {
        {"route FE B to Speaker", [&] { return put("SPK Mixer FEB", "on"); }},
        {"open FE A", [&] { return open(a, "FE A", Stream::Playback); }},
        {"open FE B", [&] { return open(b, "FE B", Stream::Playback); }},
        {"open FE Rec", [&] { return open(r, "FE Rec", Stream::Capture); }},
        {"configure FE A", [&] { return ok_(DpcmRig::configure(*a)); }},
        {"configure FE B at 44100", [&] { return ok_(DpcmRig::configure(*b, {.rate = 44100})); }},
        {"configure FE Rec", [&] { return ok_(DpcmRig::configure(*r)); }},
        {"run FE A", [&] { return ok_(DpcmRig::run(*a)); }},
        {"run FE B", [&] { return ok_(DpcmRig::run(*b)); }},
        {"run FE Rec", [&] { return ok_(DpcmRig::run(*r)); }},
        {"advance 1 period", [&] { return ok_(rig.advance_periods(1)); }},
        {"feed FE A", [&] { return feed(a); }},
        {"pause FE B", [&] { return ok_(b->pause(true)); }},
        {"route FE A to Headset while running", [&] { return put("HS Mixer FEA", "on"); }},
        {"stop FE A (FE B paused)", [&] { return ok_(a->stop()); }},
        {"route FE B to Headset while paused", [&] { return put("HS Mixer FEB", "on"); }},
        {"release FE B", [&] { return ok_(b->pause(false)); }},
        {"prepare FE A", [&] { return ok_(a->prepare()); }},
        {"run FE A", [&] { return ok_(DpcmRig::run(*a)); }},
        {"advance 6 periods (xruns)", [&] { return ok_(rig.advance_periods(6)); }},
        {"recover FE A", [&] { return ok_(recover(*a, -EPIPE)); }},
        {"recover FE B", [&] { return ok_(recover(*b, -EPIPE)); }},
        {"recover FE Rec", [&] { return ok_(recover(*r, -EPIPE)); }},
        {"run FE B", [&] { return ok_(DpcmRig::run(*b)); }},
        {"run FE A", [&] { return ok_(DpcmRig::run(*a)); }},
        {"suspend FE B", [&] { return ok_(b->suspend()); }},
        {"suspend FE A", [&] { return ok_(a->suspend()); }},
        {"route FE A to Codec while suspended", [&] { return put("CODEC Mixer FEA", "on"); }},
        {"resume FE A", [&] { return ok_(a->resume()); }},
        {"resume FE B", [&] { return ok_(b->resume()); }},
        {"unroute FE A from Speaker while running", [&] { return put("SPK Mixer FEA", "off"); }},
        {"pause FE A", [&] { return ok_(a->pause(true)); }},
        {"unroute FE B from Headset while running", [&] { return put("HS Mixer FEB", "off"); }},
        {"release FE A", [&] { return ok_(a->pause(false)); }},
        {"advance 1 period", [&] { return ok_(rig.advance_periods(1)); }},
        {"feed FE A", [&] { return feed(a); }},
        {"feed FE B", [&] { return feed(b); }},
        {"drop FE A", [&] { return ok_(a->drop()); }},
        {"hw_free FE A", [&] { return ok_(a->hw_free()); }},
        {"route FE A to Speaker while freed", [&] { return put("SPK Mixer FEA", "on"); }},
        {"configure FE A", [&] { return ok_(DpcmRig::configure(*a)); }},
        {"run FE A", [&] { return ok_(DpcmRig::run(*a)); }},
        {"drain FE B (non-blocking)", [&] {
             auto d = b->drain();
             return d.ok() || d.code() == -EAGAIN ? ::testing::AssertionSuccess() : is_ok(d);
         }},
        {"advance 6 periods (drain ends, FE A xruns)", [&] { return ok_(rig.advance_periods(6)); }},
        {"close FE A", [&] { return ok_(rig.dpcm->close("FE A", Stream::Playback)); }},
        {"stop FE Rec", [&] { return ok_(r->stop()); }},
        {"close FE B", [&] { return ok_(rig.dpcm->close("FE B", Stream::Playback)); }},
        {"close FE Rec", [&] { return ok_(rig.dpcm->close("FE Rec", Stream::Capture)); }},
    };
    for (const auto& [name, step] : steps) {
        SCOPED_TRACE(name);
        ASSERT_TRUE(step()) << name;
        DPCM_ASSERT_OK(rig.dpcm->check_invariants()) << "after: " << name << "\n" << rig.dpcm->dump().to_text();
    }
    for (const char* be : {"Speaker", "Headset", "Codec"})
        EXPECT_EQ(rig.idle_status(be), "CLOSE users 0 be_start 0 be_pause 0") << be;
    EXPECT_EQ(rig.idle_status("Mic", Stream::Capture), "CLOSE users 0 be_start 0 be_pause 0");
    EXPECT_TRUE(rig.dpcm->dump().frontends.empty());
}

// =========================================================================================
// the dump

class DpcmDumpFormat : public ::testing::Test {
protected:
    void SetUp() override {
        DPCM_ASSERT_OK(rig.put("HS Mixer FEA", "on"));
        DPCM_ASSERT_OK(rig.put("SPK Mixer FEB", "on"));
        a = rig.open("FE A");
        b = rig.open("FE B");
        r = rig.open("FE Rec", Stream::Capture);
        ASSERT_TRUE(a && b && r);
        DPCM_ASSERT_OK(DpcmRig::configure(*a));
        DPCM_ASSERT_OK(DpcmRig::configure(*b));
        DPCM_ASSERT_OK(DpcmRig::run(*a));
        DPCM_ASSERT_OK(DpcmRig::run(*b));
        DPCM_ASSERT_OK(b->pause(true));
    }
    DpcmRig rig;
    PcmRuntime* a = nullptr;
    PcmRuntime* b = nullptr;
    PcmRuntime* r = nullptr;
};

TEST_F(DpcmDumpFormat, TextHasTheKernelDebugfsShape) {
    const std::string text = rig.dpcm->dump().to_text();
    SCOPED_TRACE(text);
    const size_t fe_a = text.find("[FE A - Playback]\n");
    const size_t fe_b = text.find("[FE B - Playback]\n");
    const size_t fe_rec = text.find("[FE Rec - Capture]\n");
    ASSERT_NE(fe_a, std::string::npos);
    ASSERT_NE(fe_b, std::string::npos);
    ASSERT_NE(fe_rec, std::string::npos);
    // FE A's section: its state and params, then "Backends:", then each BE with its counts.
    const std::string a_sec = text.substr(fe_a, fe_b > fe_a ? fe_b - fe_a : std::string::npos);
    EXPECT_TRUE(contains(a_sec, "State: START")) << a_sec;
    EXPECT_TRUE(contains(a_sec, "HW Params: S16_LE 2ch 48000Hz")) << a_sec;
    // Its PCM device number: the FE links in card order take 0, 1, ...
    EXPECT_TRUE(contains(a_sec, fmt::format("PCM device: {}\n",
                                            rig.dpcm->card().fe_links()[*rig.dpcm->card().find_fe("FE A")].device_number)))
        << a_sec;
    const size_t backends = a_sec.find("Backends:");
    ASSERT_NE(backends, std::string::npos);
    const size_t spk = a_sec.find("- Speaker");
    const size_t hs = a_sec.find("- Headset");
    ASSERT_NE(spk, std::string::npos);
    ASSERT_NE(hs, std::string::npos);
    EXPECT_LT(a_sec.find("State:"), backends);
    EXPECT_LT(backends, spk);
    EXPECT_TRUE(contains(a_sec.substr(spk), "State: START  users: 2  be_start: 1  be_pause: 1")) << a_sec;
    EXPECT_TRUE(contains(a_sec.substr(hs), "State: START  users: 1  be_start: 1  be_pause: 0")) << a_sec;
    const std::string b_sec = text.substr(fe_b);
    EXPECT_TRUE(contains(b_sec, "State: PAUSED")) << b_sec;
    EXPECT_TRUE(contains(text.substr(fe_rec), "State: OPEN")) << "FE Rec is open, not configured";
    EXPECT_TRUE(contains(text.substr(fe_rec), "- Mic"));
    // The BE nobody uses is listed apart.
    const size_t unused = text.find("Unused backends");
    ASSERT_NE(unused, std::string::npos);
    EXPECT_TRUE(contains(text.substr(unused), "- Codec"));
}

TEST_F(DpcmDumpFormat, JsonParsesAndCarriesTheSameState) {
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(rig.dpcm->dump().to_json()));
    EXPECT_EQ(j.at("card"), "DPCM Test");
    ASSERT_TRUE(j.at("frontends").is_array());
    const nlohmann::json* fe_a = nullptr;
    for (const auto& f : j.at("frontends"))
        if (f.at("name") == "FE A" && f.at("stream") == "playback") fe_a = &f;
    ASSERT_NE(fe_a, nullptr) << j.dump(2);
    EXPECT_EQ(fe_a->at("state"), "START");
    EXPECT_EQ(fe_a->at("pcm_state"), "RUNNING");
    EXPECT_TRUE(contains(fe_a->at("hw_params").get<std::string>(), "48000Hz"));
    const auto& bes = fe_a->at("backends");
    ASSERT_EQ(bes.size(), 2u);
    EXPECT_EQ(bes[0].at("name"), "Speaker");
    EXPECT_EQ(bes[0].at("state"), "START");
    EXPECT_EQ(bes[0].at("users"), 2);
    EXPECT_EQ(bes[0].at("be_start"), 1);
    EXPECT_EQ(bes[0].at("be_pause"), 1);
    EXPECT_TRUE(contains(bes[0].at("hw_params").get<std::string>(), "S16_LE 2ch 48000Hz"));
    EXPECT_TRUE(bes[0].at("warnings").is_array());
    EXPECT_EQ(bes[1].at("name"), "Headset");
    EXPECT_EQ(bes[1].at("be_start"), 1);
    EXPECT_EQ(bes[1].at("be_pause"), 0);
    bool codec_idle = false;
    for (const auto& be : j.at("idle_backends"))
        if (be.at("name") == "Codec") codec_idle = be.at("users") == 0 && be.at("state") == "NEW";
    EXPECT_TRUE(codec_idle) << j.at("idle_backends").dump();
    // The JSON and the structured dump agree.
    const DpcmDump d = rig.dpcm->dump();
    EXPECT_EQ(j.at("frontends").size(), d.frontends.size());
}


// =========================================================================================
// no fixed limits: a card the size of q6routing's (8 FE links, 126 BE links, each of both
// directions) runs, with one FE on every BE at once

std::string big_card(int fes, int bes) {
    std::string y = "card: big\nfe_links:\n";
    for (int f = 1; f <= fes; ++f)
        y += fmt::format("  - {{name: MM{0}, playback: {{stream: MM{0} Playback}}, capture: {{stream: MM{0} Capture}}}}\n", f);
    y += "be_links:\n";
    for (int b = 0; b < bes; ++b)
        y += fmt::format("  - {{name: P{0}, playback: {{stream: P{0} Playback}}, capture: {{stream: P{0} Capture}}, "
                         "backend: null, fixup: {{rate: 48000, channels: 2, format: S16_LE}}}}\n",
                         b);
    y += "widgets:\n";
    for (int b = 0; b < bes; ++b) {
        y += fmt::format("  - {{name: P{} Mixer, type: mixer, controls: [", b);
        for (int f = 1; f <= fes; ++f) y += fmt::format("{}{{name: MM{}}}", f > 1 ? ", " : "", f);
        y += "]}\n";
    }
    y += "routes:\n";
    for (int b = 0; b < bes; ++b) {
        for (int f = 1; f <= fes; ++f) y += fmt::format("  - [P{0} Mixer, MM{1}, MM{1} Playback]\n", b, f);
        y += fmt::format("  - [P{0} Playback, ~, P{0} Mixer]\n", b);
        y += fmt::format("  - [MM1 Capture, ~, P{0} Capture]\n", b);
    }
    return y;
}

TEST(DpcmSize, AQ6RoutingSizedCardRunsWithOneFeOnEveryBe) {
    constexpr int kFes = 8, kBes = 126;
    DpcmRig rig(big_card(kFes, kBes));
    ASSERT_TRUE(rig.dpcm);
    for (int b = 0; b < kBes; ++b) DPCM_ASSERT_OK(rig.put(fmt::format("P{} Mixer MM1", b), "on"));
    PcmRuntime* play = rig.open("MM1");
    PcmRuntime* rec = rig.open("MM1", Stream::Capture);
    ASSERT_TRUE(play && rec);
    DPCM_ASSERT_OK(DpcmRig::configure(*play));
    DPCM_ASSERT_OK(DpcmRig::configure(*rec));
    DPCM_ASSERT_OK(DpcmRig::run(*play));
    DPCM_ASSERT_OK(rec->start());
    DPCM_ASSERT_OK(rig.advance_periods(2));
    EXPECT_EQ(rig.backends("MM1").size(), static_cast<size_t>(kBes));
    EXPECT_EQ(rig.backends("MM1", Stream::Capture).size(), static_cast<size_t>(kBes));
    EXPECT_EQ(rig.be_status("MM1", "P125"), "START users 1 be_start 1 be_pause 0");
    EXPECT_EQ(rig.dpcm->card().fe_links()[7].device_number, 7u);
    DPCM_EXPECT_INVARIANTS(rig);
    // Every other FE joins BE P125 as well: its per-FE tables hold all 16 FE streams.
    DPCM_ASSERT_OK(rig.put("P125 Mixer MM8", "on"));
    PcmRuntime* other = rig.open("MM8");
    ASSERT_TRUE(other);
    DPCM_ASSERT_OK(DpcmRig::configure(*other));
    DPCM_ASSERT_OK(DpcmRig::run(*other));
    DPCM_ASSERT_OK(rig.advance_periods(1));  // MM1's ring (4 periods) still has data
    EXPECT_EQ(rig.fe_status("MM1"), "START / RUNNING");
    EXPECT_EQ(rig.be_status("MM8", "P125"), "START users 2 be_start 2 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
}

}  // namespace
}  // namespace dynpcm::dpcmtest

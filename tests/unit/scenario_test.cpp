// The scenario loader and runner through the library: what a run reports, records and traces.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sndfile.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "dynpcm/card/card_file.h"
#include "dynpcm/scenario/runner.h"

namespace dynpcm::scenario {
namespace {

const std::string kRoot = DYNPCM_SOURCE_DIR;

std::unique_ptr<Card> phone() {
    CardLoad l = load_card_file(kRoot + "/examples/cards/phone.yaml");
    EXPECT_TRUE(l.ok());
    return std::move(l.card);
}

Scenario load(const std::string& text) {
    ScenarioLoad l = load_scenario_string(text, "t.yaml");
    EXPECT_TRUE(l.ok()) << (l.errors.empty() ? "" : l.errors.front());
    return l.ok() ? *l.scenario : Scenario{};
}

TEST(ScenarioFile, StepsKeepTheirLinesAndTimesAndSortStably) {
    const Scenario s = load(R"(scenario: order
steps:
  - {at: 1.0, dump: a}
  - {at: 0.5, start: Media Playback}
  - {stop: Media Playback}
  - {at: 0.5, close: Media Playback/playback}
)");
    ASSERT_EQ(s.steps.size(), 4u);
    EXPECT_EQ(s.steps[0].action, Step::Action::Start);
    EXPECT_EQ(s.steps[0].line, 4);
    EXPECT_EQ(s.steps[1].action, Step::Action::Stop);  // inherits 0.5 from the step before it
    EXPECT_EQ(s.steps[2].action, Step::Action::Close);
    EXPECT_TRUE(s.steps[2].dir_given);
    EXPECT_EQ(s.steps[3].action, Step::Action::Dump);
    EXPECT_DOUBLE_EQ(s.end, 1.0);
}

TEST(ScenarioFile, EveryErrorIsReportedInFileOrder) {
    ScenarioLoad l = load_scenario_string(R"(scenario: bad
clock: sometimes
steps:
  - {at: x, dump: a}
  - {write: Media Playback, tone: {frequency: -3}}
  - {expect: {audio: {be: Spk}}}
)", "bad.yaml");
    ASSERT_EQ(l.errors.size(), 4u);
    EXPECT_NE(l.errors[0].find("bad.yaml:2: clock: 'sometimes' is not virtual or realtime"), std::string::npos) << l.errors[0];
    EXPECT_NE(l.errors[1].find("bad.yaml:4: at: 'x' is not a number"), std::string::npos) << l.errors[1];
    EXPECT_NE(l.errors[2].find("bad.yaml:5:"), std::string::npos) << l.errors[2];
    EXPECT_NE(l.errors[2].find("-3 Hz is out of range"), std::string::npos) << l.errors[2];
    EXPECT_NE(l.errors[3].find("bad.yaml:6: expect audio: say present, level, frequency or thd_n"), std::string::npos) << l.errors[3];
}

TEST(ScenarioRun, ARunReportsItsTimelineRecordsEachBeAndWritesATraceWithATrackPerStream) {
    const auto dir = std::filesystem::path(::testing::TempDir()) / "dynpcm_scenario_run";
    std::filesystem::remove_all(dir);
    const Scenario s = load(R"(scenario: short
steps:
  - {open: Media Playback, params: {format: S16_LE, rate: 48000, channels: 2, period: 960, periods: 4}}
  - {write: Media Playback, tone: {frequency: 500, level: -6}, duration: 0.5}
  - {at: 0.3, expect: {audio: {be: Speaker amp I2S, frequency: 500, level: -6, tolerance: 0.5, window: 0.2}}}
  - {at: 0.3, expect: {fe: Media Playback, state: XRUN}}
  - {at: 0.6, close: Media Playback}
)");
    RunOptions o;
    o.out_dir = dir.string();
    o.trace_file = (dir / "trace.json").string();
    auto r = run_scenario(s, phone(), o);
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_EQ(r->checks.size(), 3u);  // two expectations and the closing invariant check
    EXPECT_TRUE(r->checks[0].ok) << r->checks[0].text;
    EXPECT_FALSE(r->checks[1].ok) << "it is still running at 0.3 s";
    EXPECT_NE(r->checks[1].text.find("t.yaml:6: FE Media Playback/playback is XRUN (it is RUNNING)"), std::string::npos)
        << r->checks[1].text;
    EXPECT_FALSE(r->ok());

    // The speaker's recording: the port's lead-in, then the tone until the xrun cut it (the
    // port FIFO's last block never plays: that is what an xrun costs).
    SF_INFO info{};
    SNDFILE* f = sf_open((dir / "Speaker_amp_I2S_playback.wav").c_str(), SFM_READ, &info);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(info.samplerate, 48000);
    EXPECT_EQ(info.channels, 2);
    EXPECT_GE(info.frames, 24000 - 2 * 960);
    sf_close(f);

    // The trace: valid JSON, a named track for the FE and for the BE, spans that never overlap
    // on a track.
    std::ifstream in(dir / "trace.json");
    const auto j = nlohmann::json::parse(in);
    std::map<int, std::string> tracks;
    std::map<int, double> track_end;
    for (const auto& e : j["traceEvents"]) {
        if (e["ph"] == "M" && e["name"] == "thread_name") tracks[e["tid"].get<int>()] = e["args"]["name"];
        if (e["ph"] != "X") continue;
        const int tid = e["tid"];
        const double ts = e["ts"], dur = e["dur"];
        EXPECT_GT(dur, 0);
        EXPECT_GE(ts, track_end[tid]) << "spans on track " << tid << " overlap";
        track_end[tid] = ts + dur;
    }
    std::vector<std::string> names;
    for (const auto& [tid, name] : tracks) names.push_back(name);
    EXPECT_NE(std::find(names.begin(), names.end(), "FE Media Playback/playback"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "BE Speaker amp I2S/playback"), names.end());
    EXPECT_FALSE(nlohmann::json::parse(r->to_json())["ok"].get<bool>());
}

TEST(ScenarioRun, NamesTheCardDoesNotHaveAreBadInputWithTheirLine) {
    const Scenario s = load("scenario: x\nsteps:\n  - {open: Media}\n  - {set: {Spk Volume: 3}}\n");
    auto r = run_scenario(s, phone(), {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), -EINVAL);
    EXPECT_NE(r.error().message().find("t.yaml:3: card 'Phone' has no FE link 'Media'"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("t.yaml:4: card 'Phone' has no control 'Spk Volume'"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace dynpcm::scenario

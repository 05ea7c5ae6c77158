/// The card file loader (load_card_string / load_card_file): one test per class of error
/// message, each checking the exact "file:line:" prefix and the message's key words; the
/// example phone card; YAML merge keys; and a robustness test over mutated card files.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dynpcm/card/card.h"
#include "dynpcm/card/card_file.h"

namespace dynpcm {
namespace {

// ---------------------------------------------------------------------------------------------
// Helpers

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
    if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

std::string all_errors(const CardLoad& r) {
    std::string s;
    for (const auto& e : r.errors) s += "\n  " + e;
    return s.empty() ? std::string(" (none)") : s;
}

/// The 1-based line of the first occurrence of `needle` in `text` (0 if absent).
int line_of(std::string_view text, std::string_view needle) {
    const size_t at = text.find(needle);
    if (at == std::string_view::npos) {
        ADD_FAILURE() << "'" << needle << "' is not in the test's card text";
        return 0;
    }
    return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

std::string prefix(std::string_view file, int line) { return std::string(file) + ":" + std::to_string(line) + ": "; }

/// Expects exactly one error, starting with "<file>:<line>: " and containing every word.
void expect_one_error(const CardLoad& r, std::string_view file, int line, std::initializer_list<std::string> words) {
    EXPECT_EQ(r.card, nullptr) << "a card with errors must not be returned";
    EXPECT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    const std::string& e = r.errors[0];
    const std::string want = prefix(file, line);
    EXPECT_EQ(e.substr(0, want.size()), want) << "error: " << e;
    for (const auto& w : words) EXPECT_TRUE(Contains(e, w));
}

CardLoad load(std::string_view text, std::string_view file = "t.yaml") { return load_card_string(text, file); }

std::filesystem::path phone_yaml_path() {
    return std::filesystem::path(__FILE__).parent_path() / "../../examples/cards/phone.yaml";
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// ---------------------------------------------------------------------------------------------
// One test per class of error

TEST(CardFileErrors, YamlSyntaxErrorHasLineAndColumn) {
    // A tab where YAML wants spaces: line 3, column 2.
    const auto tab = load("card: X\nwidgets:\n\t- {name: a, type: mic}\n");
    ASSERT_EQ(tab.errors.size(), 1u) << all_errors(tab);
    EXPECT_EQ(tab.card, nullptr);
    EXPECT_EQ(tab.errors[0].rfind("t.yaml:3:2: YAML syntax error: ", 0), 0u) << tab.errors[0];
    // A key indented off the block it belongs to: line 4, column 4.
    const auto indent = load("card: X\nwidgets:\n  - name: a\n   type: mic\n");
    ASSERT_EQ(indent.errors.size(), 1u) << all_errors(indent);
    EXPECT_EQ(indent.errors[0].rfind("t.yaml:4:4: YAML syntax error: ", 0), 0u) << indent.errors[0];
}

TEST(CardFileErrors, EmptyFile) {
    for (const char* text : {"", "\n\n", "# only a comment\n   \n"}) {
        SCOPED_TRACE(testing::PrintToString(text));
        expect_one_error(load(text), "t.yaml", 1, {"the file is empty", "card: <name>"});
    }
}

TEST(CardFileErrors, MissingCardName) {
    // The file starts at line 1; there is no line 0 to point at.
    const std::string text = "widgets:\n  - {name: Mic, type: mic}\n";
    expect_one_error(load(text), "t.yaml", 1, {"card", "is missing"});
}

TEST(CardFileErrors, UnknownTopLevelKeySuggests) {
    const std::string text = "card: X\nwidgts:\n  - {name: Mic, type: mic}\n";
    const auto r = load(text);
    expect_one_error(r, "t.yaml", 2, {});
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0], "t.yaml:2: card file: unknown key 'widgts' (did you mean 'widgets'?)");
}

TEST(CardFileErrors, UnknownWidgetKey) {
    const std::string text = R"(card: X
widgets:
  - {name: Mic, type: mic}
  - name: Out
    type: spk
    strem: Playback
)";
    expect_one_error(load(text), "t.yaml", line_of(text, "strem"),
                     {"unknown key 'strem'", "(did you mean 'stream'?)"});
}

TEST(CardFileErrors, UnknownWidgetTypeSuggests) {
    const std::string text = R"(card: X
widgets:
  - {name: Mic, type: mic}
  - {name: Out Mixer, type: mixr}
)";
    const auto r = load(text);
    expect_one_error(r, "t.yaml", 4, {});
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0], "t.yaml:4: widget 'Out Mixer': unknown widget type 'mixr' (did you mean 'mixer'?)");
}

TEST(CardFileErrors, DuplicateWidgetName) {
    const std::string text = R"(card: X
widgets:
  - {name: Mic, type: mic}
  - {name: Speaker, type: spk}
  - name: Mic
    type: input
)";
    const auto r = load(text);
    expect_one_error(r, "t.yaml", line_of(text, "name: Mic\n"), {"widget 'Mic' is defined twice"});
}

TEST(CardFileErrors, DuplicateControlName) {
    const std::string text = R"(card: X
controls:
  - {name: Voice Gain, type: int, max: 15}
  - {name: Mode, type: enum, items: [A, B]}
  - {name: Voice Gain, type: bool}
)";
    expect_one_error(load(text), "t.yaml", 5, {"control 'Voice Gain' is defined twice"});
}

TEST(CardFileErrors, DuplicateLinkName) {
    const std::string text = R"(card: X
fe_links:
  - name: Media
    playback: {stream: MM1 Playback}
be_links:
  - name: Codec
    playback: {stream: Codec Playback}
  - name: Media
    playback: {stream: I2S Playback}
)";
    expect_one_error(load(text), "t.yaml", 8, {"link 'Media' is defined twice"});
}

TEST(CardFileErrors, DanglingRouteSuggestsTheNearestWidget) {
    // The example from the loader's documentation, reproduced exactly.
    const std::string text = R"(card: Phone
widgets:
  - {name: HPHL PA, type: out_drv}
  - {name: Headphone, type: hp}
  - {name: Headset Mic, type: mic}
  - {name: ADC2, type: adc}
routes:
  - [Headphone, ~, HPHL PA]
  - [ADC2, ~, Headset Mic]
  - [HPHL PA, ~, Headfone]
)";
    const auto r = load(text, "phone.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.card, nullptr);
    EXPECT_EQ(r.errors[0], "phone.yaml:10: route 3: unknown source widget 'Headfone' (did you mean 'Headphone'?)");
    // The unknown sink reads the same way, and a far name gets no suggestion.
    const std::string sink = "card: X\nwidgets:\n  - {name: Speaker, type: spk}\n  - {name: Mic, type: mic}\n"
                             "routes:\n  - [Spekaer, ~, Mic]\n  - [Speaker, ~, Turntable Input]\n";
    const auto s = load(sink);
    ASSERT_EQ(s.errors.size(), 2u) << all_errors(s);
    EXPECT_EQ(s.errors[0], "t.yaml:6: route 1: unknown sink widget 'Spekaer' (did you mean 'Speaker'?)");
    EXPECT_EQ(s.errors[1], "t.yaml:7: route 2: unknown source widget 'Turntable Input'");
}

TEST(CardFileErrors, RouteWithWrongArity) {
    const std::string text = R"(card: X
widgets:
  - {name: Mic, type: mic}
  - {name: Speaker, type: spk}
routes:
  - [Speaker, ~, Mic]
  - [Speaker, Mic]
)";
    expect_one_error(load(text), "t.yaml", 7, {"route 2", "expected [sink, control, source]", "got 2 entries"});
}

TEST(CardFileErrors, ControlsOnAWidgetThatTakesNone) {
    const std::string text = R"(card: X
widgets:
  - {name: Mic, type: mic}
  - name: Speaker
    type: spk
    controls: [{name: Volume, type: int, max: 10}]
)";
    expect_one_error(load(text), "t.yaml", line_of(text, "name: Speaker"),
                     {"widget 'Speaker' (spk) takes no controls", "'Volume'"});
}

TEST(CardFileErrors, MuxRouteWithAnUnknownItem) {
    const std::string text = R"(card: X
widgets:
  - {name: SLIM RX1, type: aif_in}
  - {name: HPH Mux, type: mux, items: [ZERO, RX1], value: RX1}
routes:
  - [HPH Mux, RX2, SLIM RX1]
)";
    expect_one_error(load(text), "t.yaml", 6,
                     {"route 1", "mux 'HPH Mux' has no item 'RX2'", "(did you mean 'RX1'?)", "ZERO, RX1"});
}

TEST(CardFileErrors, MuxInitialValueNotAmongItems) {
    const std::string text = R"(card: X
widgets:
  - name: HPH Mux
    type: mux
    items: [ZERO, RX1]
    value: RX2
)";
    expect_one_error(load(text), "t.yaml", 6, {"widget 'HPH Mux'", "unknown item 'RX2'", "ZERO, RX1"});
}

TEST(CardFileErrors, ValueOutOfRangeForAnIntControl) {
    const std::string text = R"(card: X
controls:
  - {name: Voice Gain, type: int, min: 0, max: 15, value: 16}
)";
    const auto r = load(text);
    expect_one_error(r, "t.yaml", 3, {"'Voice Gain'", "16 is out of range 0..15"});
    // The message names the control once, not "control 'X': control 'X': ...".
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].find("'Voice Gain'"), r.errors[0].rfind("'Voice Gain'")) << r.errors[0];
    // The same inside a widget: the error points at the value's line.
    const std::string w = R"(card: X
widgets:
  - name: Speaker PGA
    type: pga
    controls:
      - {name: Volume, type: int, max: 127,
         value: 128}
)";
    const auto rw = load(w);
    // Named by its ALSA control name, which carries the widget's name.
    expect_one_error(rw, "t.yaml", 7, {"'Speaker PGA Volume'", "128 is out of range 0..127"});
}

TEST(CardFileErrors, BadBool) {
    const std::string text = R"(card: X
widgets:
  - {name: Mic, type: mic}
  - {name: Speaker, type: spk, pin_switch: maybe}
)";
    expect_one_error(load(text), "t.yaml", 4, {"widget 'Speaker'", "pin_switch", "'maybe' is not true or false"});
}

TEST(CardFileErrors, UnknownControlTypeSuggests) {
    const std::string text = R"(card: X
controls:
  - {name: Voice Gain, type: int, max: 15}
  - name: Call Mode
    type: enun
    items: [Off, On]
)";
    expect_one_error(load(text), "t.yaml", 5,
                     {"control 'Call Mode'", "unknown control type 'enun'", "(did you mean 'enum'?)"});
}

TEST(CardFileErrors, UnknownFormatInALink) {
    const std::string text = R"(card: X
fe_links:
  - name: Media
    playback:
      stream: MM1 Playback
      formats: [S16_LE, S17_LE]
)";
    expect_one_error(load(text), "t.yaml", 6, {"FE link 'Media' playback", "unknown format 'S17_LE'"});
}

TEST(CardFileErrors, UnknownBackendType) {
    const std::string text = R"(card: X
be_links:
  - name: Codec
    playback: {stream: Codec Playback}
    backend: {type: alsaa, device: "hw:0,0"}
)";
    expect_one_error(load(text), "t.yaml", 5,
                     {"BE link 'Codec'", "unknown backend 'alsaa'", "(did you mean 'alsa'?)", "sim, null, wav, alsa"});
}

TEST(CardFileErrors, BackendOptionsAreCheckedWhereTheyAreWritten) {
    auto card = [](const std::string& backend) {
        return "card: X\nbe_links:\n  - name: Codec\n    playback: {stream: Codec Playback}\n    backend: " + backend + "\n";
    };
    expect_one_error(load(card("{type: sim, frequncy: 440}")), "t.yaml", 5,
                     {"BE link 'Codec'", "backend 'sim' has no option 'frequncy'", "(did you mean 'frequency'?)"});
    expect_one_error(load(card("{type: sim, level: loud}")), "t.yaml", 5, {"option level: 'loud' is not a number"});
    expect_one_error(load(card("{type: sim, signal: square}")), "t.yaml", 5, {"option signal: 'square'"});
    expect_one_error(load(card("{type: alsa, periods: 1}")), "t.yaml", 5, {"backend 'alsa'", "periods", "1"});
    expect_one_error(load(card("{type: wav}")), "t.yaml", 5, {"backend 'wav'", "file"});
    expect_one_error(load(card("{type: wav, file: x.wav, loop: maybe}")), "t.yaml", 5, {"loop", "'maybe'"});
    expect_one_error(load(card("{type: null, device: hw}")), "t.yaml", 5, {"backend 'null' takes no options", "'device'"});
}

TEST(CardFile, AWavBackendsRelativeFileIsFoundNextToTheCardFile) {
    const std::string text = "card: X\nbe_links:\n  - name: Codec\n    playback: {stream: Codec Playback}\n"
                             "    backend: {type: wav, file: out/rec.wav}\n  - name: Abs\n"
                             "    playback: {stream: Abs Playback}\n    backend: {type: wav, file: /tmp/abs.wav}\n";
    CardLoad l = load_card_string(text, "/cards/phone/t.yaml");
    ASSERT_TRUE(l.ok()) << (l.errors.empty() ? "" : l.errors.front());
    EXPECT_EQ(l.card->be_links()[0].backend.options.at("file"), "/cards/phone/out/rec.wav");
    EXPECT_EQ(l.card->be_links()[1].backend.options.at("file"), "/tmp/abs.wav");
}

TEST(CardFileErrors, FeLinkWithNeitherPlaybackNorCapture) {
    const std::string text = R"(card: X
fe_links:
  - name: Media
    playback: {stream: MM1 Playback}
  - name: Silent
    trigger: pre
)";
    expect_one_error(load(text), "t.yaml", 5, {"FE link 'Silent' has neither playback nor capture"});
}

TEST(CardFileErrors, StreamNameCollidesWithAWidgetOfAnotherType) {
    const std::string text = R"(card: X
be_links:
  - name: Codec
    playback: {stream: Codec Playback}
widgets:
  - {name: Codec Playback, type: mixer}
)";
    expect_one_error(load(text), "t.yaml", 3,
                     {"stream 'Codec Playback' would be a dai_in widget", "a mixer widget has that name"});
}

TEST(CardFileWarnings, AifStreamMatchingNoLink) {
    // The kernel leaves such a widget unbound (snd_soc_dapm_link_dai_widgets); the card loads
    // and the warning points at the widget's line.
    const std::string text = R"(card: X
be_links:
  - name: Codec
    playback: {stream: Codec Playback}
    capture: {stream: Codec Capture}
widgets:
  - {name: AIF1 RX, type: aif_in, stream: Codec Playback}
  - {name: AIF2 RX, type: aif_in, stream: Codec Playbak}
  - {name: AIF3 RX, type: aif_in, stream: Nowhere Playback}
)";
    const auto r = load(text);
    ASSERT_TRUE(r.ok()) << all_errors(r);
    ASSERT_EQ(r.warnings.size(), 2u);
    EXPECT_EQ(r.warnings[0].rfind(prefix("t.yaml", 8), 0), 0u) << r.warnings[0];
    EXPECT_TRUE(Contains(r.warnings[0], "widget 'AIF2 RX': stream 'Codec Playbak' is the stream of no DAI in its "
                                        "component; left unbound, as snd_soc_dapm_link_dai_widgets leaves it "
                                        "(did you mean 'Codec Playback'?)"));
    EXPECT_EQ(r.warnings[1].rfind(prefix("t.yaml", 9), 0), 0u) << r.warnings[1];
    EXPECT_TRUE(Contains(r.warnings[1], "'Nowhere Playback'"));
}

TEST(CardFileErrors, ControlNameLongerThan43Characters) {
    const std::string long_name(44, 'V');
    const std::string text = "card: X\ncontrols:\n  - {name: " + std::string(43, 'O') + "}\n  - {name: " + long_name +
                             ", type: int, max: 3}\n";
    expect_one_error(load(text), "t.yaml", 4, {"'" + long_name + "'", "44 characters", "at most 43"});
    // The limit applies to the full "<widget> <kcontrol>" name.
    const std::string w = "card: X\nwidgets:\n  - name: " + std::string(30, 'M') +
                          "\n    type: mixer\n    controls: [{name: " + std::string(13, 'k') + "}]\n";
    expect_one_error(load(w), "t.yaml", 3, {"44 characters", "at most 43"});
}

TEST(CardFileErrors, CountOutOfRange) {
    const std::string text = R"(card: X
controls:
  - {name: Coeffs, type: bytes, count: 4}
  - {name: EQ, type: bytes, count: 0}
  - name: Big
    type: int
    max: 3
    count: 513
)";
    const auto r = load(text);
    ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
    EXPECT_EQ(r.card, nullptr);
    EXPECT_EQ(r.errors[0].rfind(prefix("t.yaml", 4), 0), 0u) << r.errors[0];
    EXPECT_TRUE(Contains(r.errors[0], "control 'EQ'"));
    EXPECT_TRUE(Contains(r.errors[0], "count: 0 is out of range 1..512"));
    EXPECT_EQ(r.errors[1].rfind(prefix("t.yaml", 8), 0), 0u) << r.errors[1];
    EXPECT_TRUE(Contains(r.errors[1], "count: 513 is out of range 1..512"));
}

TEST(CardFileErrors, MultipleErrorsAreAllReportedInFileOrder) {
    // Each expected error is (a snippet on its line, words of its message), in file order.
    auto check = [](const std::string& text, const std::vector<std::pair<std::string, std::string>>& want) {
        const auto r = load(text);
        EXPECT_EQ(r.card, nullptr);
        ASSERT_EQ(r.errors.size(), want.size()) << all_errors(r);
        std::vector<std::string> want_prefixes, got_prefixes;
        for (size_t i = 0; i < want.size(); ++i) {
            want_prefixes.push_back(prefix("t.yaml", line_of(text, want[i].first)));
            got_prefixes.push_back(r.errors[i].substr(0, r.errors[i].find(' ') + 1));
        }
        EXPECT_EQ(got_prefixes, want_prefixes) << "errors are not in file order:" << all_errors(r);
        // Whatever the order, each expected message is there at its line.
        for (size_t i = 0; i < want.size(); ++i) {
            const auto it = std::find_if(r.errors.begin(), r.errors.end(), [&](const std::string& e) {
                return e.rfind(want_prefixes[i], 0) == 0 && e.find(want[i].second) != std::string::npos;
            });
            EXPECT_NE(it, r.errors.end()) << "no error '" << want_prefixes[i] << "... " << want[i].second << "'"
                                          << all_errors(r);
        }
    };
    {
        SCOPED_TRACE("widgets first");
        const std::string text = R"(card: X
widgets:
  - {name: Mic, type: mic}
  - {name: Amp, type: amp}
  - {name: Speaker, type: spk, pin_switch: perhaps}
fe_links:
  - name: Media
    playback: {stream: MM1 Playback, formats: [S8_LEE]}
controls:
  - {name: Gain, type: int, max: 5, value: 9}
routes:
  - [Speaker, ~, Mik]
  - [Speaker]
)";
        check(text, {{"type: amp", "unknown widget type 'amp'"},
                     {"perhaps", "'perhaps' is not true or false"},
                     {"S8_LEE", "unknown format 'S8_LEE'"},
                     {"value: 9", "9 is out of range 0..5"},
                     {"Mik]", "unknown source widget 'Mik' (did you mean 'Mic'?)"},
                     {"[Speaker]", "got 1 entries"}});
    }
    {
        // The layout of examples/cards/phone.yaml: links before widgets.
        SCOPED_TRACE("links first");
        const std::string text = R"(card: X
fe_links:
  - name: Media
    playback: {stream: MM1 Playback, formats: [S8_LEE]}
be_links:
  - name: Codec
    playback: {stream: Codec Playback}
    backend: pulse
widgets:
  - {name: Mic, type: mic}
  - {name: Amp, type: amp}
controls:
  - {name: Gain, type: int, max: 5, value: 9}
routes:
  - [Codec Playback, ~, Mik]
)";
        check(text, {{"S8_LEE", "unknown format 'S8_LEE'"},
                     {"pulse", "unknown backend 'pulse'"},
                     {"type: amp", "unknown widget type 'amp'"},
                     {"value: 9", "9 is out of range 0..5"},
                     {"Mik]", "unknown source widget 'Mik'"}});
    }
}

TEST(CardFileErrors, NonexistentPathCannotBeOpened) {
    const std::string path = "/nonexistent/dir/card.yaml";
    const auto r = load_card_file(path);
    EXPECT_EQ(r.card, nullptr);
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].rfind(path + ":", 0), 0u) << r.errors[0];
    EXPECT_TRUE(Contains(r.errors[0], "cannot open"));
}

TEST(CardFileErrors, DirectoryIsNotReportedAsAnEmptyFile) {
    // Opening a directory succeeds on Linux, but reading it fails: that is not an empty file.
    const std::string dir = std::filesystem::path(__FILE__).parent_path().string();
    const auto r = load_card_file(dir);
    EXPECT_EQ(r.card, nullptr);
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].rfind(dir + ":", 0), 0u) << r.errors[0];
    EXPECT_TRUE(Contains(r.errors[0], "cannot"));
    EXPECT_EQ(r.errors[0].find("the file is empty"), std::string::npos) << r.errors[0];
}

// ---------------------------------------------------------------------------------------------
// Positive: the example phone card, merge keys

class PhoneCard : public ::testing::Test {
protected:
    void SetUp() override {
        const auto path = phone_yaml_path();
        ASSERT_TRUE(std::filesystem::exists(path)) << path;
        loaded = load_card_file(path.string());
        ASSERT_TRUE(loaded.ok()) << all_errors(loaded);
        card = loaded.card.get();
    }
    std::vector<std::string> routes(const char* fe, Stream dir) const {
        std::vector<std::string> out;
        const auto i = card->find_fe(fe);
        EXPECT_TRUE(i.has_value()) << fe;
        if (!i) return out;
        for (size_t be : card->fe_routes(*i, dir)) out.push_back(card->be_links()[be].name);
        return out;
    }
    CardLoad loaded;
    Card* card = nullptr;
};

TEST_F(PhoneCard, LoadsWithItsLinks) {
    EXPECT_EQ(card->name(), "Phone");
    EXPECT_EQ(card->fe_links().size(), 5u);
    EXPECT_EQ(card->be_links().size(), 6u);
    const std::vector<std::string> fes{"Media Playback", "Deep Buffer", "Ringtone", "Voice Call", "Primary Capture"};
    for (size_t i = 0; i < fes.size(); ++i) EXPECT_EQ(card->fe_links()[i].name, fes[i]);
    const std::vector<std::string> bes{"Speaker amp I2S", "Headset codec", "Earpiece", "Bluetooth SCO", "HDMI", "DMIC"};
    for (size_t i = 0; i < bes.size(); ++i) EXPECT_EQ(card->be_links()[i].name, bes[i]);

    const FeLink& media = card->fe_links()[0];
    ASSERT_TRUE(media.playback.has_value());
    EXPECT_FALSE(media.capture.has_value());
    EXPECT_EQ(media.playback->stream_name, "MultiMedia1 Playback");
    EXPECT_TRUE(media.playback->formats.has(Format::S16_LE));
    EXPECT_TRUE(media.playback->formats.has(Format::S24_LE));
    EXPECT_FALSE(media.playback->formats.has(Format::S32_LE));
    EXPECT_EQ(media.playback->rate_list, (std::vector<uint32_t>{44100, 48000}));
    EXPECT_EQ(media.playback->rates, (Interval{44100, 48000}));
    EXPECT_EQ(media.playback->channels, (Interval{1, 2}));
    const FeLink& voice = card->fe_links()[3];
    EXPECT_EQ(voice.trigger[0], TriggerOrder::Pre);
    EXPECT_EQ(voice.trigger[1], TriggerOrder::Pre);
    EXPECT_EQ(card->be_links()[4].backend.type, "null") << "'backend: {type: null}' means the null backend";
    EXPECT_EQ(card->be_links()[2].fixup.channels, std::optional<uint32_t>{1});

    // Controls the file declares, with their initial values.
    const Control* hph = card->find_control("HPH Mux");
    ASSERT_NE(hph, nullptr);
    EXPECT_EQ(format_ctl_value(*hph), "RX1");
    const Control* pga = card->find_control("Speaker PGA Volume");
    ASSERT_NE(pga, nullptr);
    EXPECT_EQ(pga->value, std::vector<int64_t>{100});
    EXPECT_DOUBLE_EQ(pga->db_at(100).value(), -13.5);
    EXPECT_NE(card->find_control("Speaker Switch"), nullptr);
    EXPECT_NE(card->find_control("Headphone Switch"), nullptr);
    EXPECT_NE(card->find_control("Voice Call Mode"), nullptr);
    EXPECT_EQ(format_ctl_value(*card->find_control("PRI_MI2S_RX Audio Mixer MultiMedia1")), "on");
    EXPECT_EQ(format_ctl_value(*card->find_control("SLIMBUS_0_RX Audio Mixer MultiMedia1")), "off");
}

TEST_F(PhoneCard, DefaultRoutes) {
    EXPECT_EQ(routes("Media Playback", Stream::Playback), std::vector<std::string>{"Speaker amp I2S"});
    EXPECT_EQ(routes("Primary Capture", Stream::Capture), std::vector<std::string>{"DMIC"});
    EXPECT_TRUE(routes("Deep Buffer", Stream::Playback).empty());
    EXPECT_TRUE(routes("Voice Call", Stream::Capture).empty());
}

TEST_F(PhoneCard, MixerSwitchAddsTheHeadsetBe) {
    auto r = card->put("SLIMBUS_0_RX Audio Mixer MultiMedia1", "on");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(*r);
    EXPECT_EQ(routes("Media Playback", Stream::Playback),
              (std::vector<std::string>{"Speaker amp I2S", "Headset codec"}));
    // Other FEs are unaffected.
    EXPECT_TRUE(routes("Deep Buffer", Stream::Playback).empty());
    // The routing controls of Media Playback are its column of the routing mixers.
    const auto ctls = card->routing_controls(*card->find_fe("Media Playback"), Stream::Playback);
    EXPECT_EQ(ctls, (std::vector<std::string>{"SLIMBUS_0_RX Audio Mixer MultiMedia1", "PRI_MI2S_RX Audio Mixer MultiMedia1",
                                              "SEC_MI2S_RX Audio Mixer MultiMedia1",
                                              "INT_BT_SCO_RX Audio Mixer MultiMedia1", "HDMI Audio Mixer MultiMedia1"}));
}

TEST(CardFileMerge, MergeKeysCopyTheAnchorAndOwnKeysWin) {
    const std::string text = R"(card: X
widgets:
  - &base
    name: Base Mixer
    type: mixer
    controls: [{name: A}, {name: B, value: on}]
  - <<: *base
    name: Other Mixer
    controls: [{name: A, value: on}]
  - {<<: *base, name: Third Mixer}
  - <<: *base
    name: Fourth Switch
    type: switch
controls:
  - &gain {name: Left Gain, type: int, min: 0, max: 15, value: 8}
  - {<<: *gain, name: Right Gain, value: 3}
)";
    const auto r = load(text);
    ASSERT_TRUE(r.ok()) << all_errors(r);
    const Card& c = *r.card;
    auto value = [&](const char* name) -> std::optional<std::vector<int64_t>> {
        const Control* k = c.find_control(name);
        if (!k) return std::nullopt;
        return k->value;
    };
    EXPECT_EQ(value("Base Mixer A"), std::vector<int64_t>{0});
    EXPECT_EQ(value("Base Mixer B"), std::vector<int64_t>{1});
    // Own 'controls' replace the anchor's list entirely.
    EXPECT_EQ(value("Other Mixer A"), std::vector<int64_t>{1});
    EXPECT_EQ(value("Other Mixer B"), std::nullopt);
    EXPECT_EQ(c.graph().widget(*c.graph().find("Other Mixer")).type, WidgetType::Mixer);
    // Everything not set is inherited.
    EXPECT_EQ(value("Third Mixer A"), std::vector<int64_t>{0});
    EXPECT_EQ(value("Third Mixer B"), std::vector<int64_t>{1});
    EXPECT_EQ(c.graph().widget(*c.graph().find("Fourth Switch")).type, WidgetType::Switch);
    EXPECT_EQ(value("Fourth Switch B"), std::vector<int64_t>{1});
    EXPECT_EQ(value("Left Gain"), std::vector<int64_t>{8});
    EXPECT_EQ(value("Right Gain"), std::vector<int64_t>{3});
    ASSERT_NE(c.find_control("Right Gain"), nullptr);
    EXPECT_EQ(c.find_control("Right Gain")->info.max, 15);

    // An error in a merged item points at the item.
    const std::string bad = text + "  - {<<: *gain, name: Centre Gain, value: 99}\n";
    const auto rb = load(bad);
    expect_one_error(rb, "t.yaml", line_of(bad, "Centre Gain"), {"99 is out of range 0..15"});
}

// ---------------------------------------------------------------------------------------------
// Robustness: mutated variants of phone.yaml never throw or crash, and every error names the file.

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::string cur;
    for (char ch : text) {
        if (ch == '\n') {
            lines.push_back(cur);
            cur.clear();
        } else {
            cur += ch;
        }
    }
    if (!cur.empty()) lines.push_back(cur);
    return lines;
}

std::string mutate(const std::vector<std::string>& original, std::mt19937& rng) {
    auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
    static constexpr std::string_view kChars = "abcXYZ019 \t:-[]{},#&*!|>'\"%@?~<=\\\n";
    std::vector<std::string> lines = original;
    const size_t edits = 1 + pick(4);
    bool truncate = false;
    for (size_t e = 0; e < edits && !lines.empty(); ++e) {
        switch (pick(6)) {
            case 0: lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(pick(lines.size()))); break;
            case 1: {
                const size_t i = pick(lines.size());
                lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(pick(lines.size() + 1)), lines[i]);
                break;
            }
            case 2: std::swap(lines[pick(lines.size())], lines[pick(lines.size())]); break;
            case 3:
            case 4: {
                std::string& l = lines[pick(lines.size())];
                const char ch = kChars[pick(kChars.size())];
                if (l.empty()) l.push_back(ch);
                else l[pick(l.size())] = ch;
                break;
            }
            default: truncate = true; break;
        }
    }
    std::string text;
    for (const auto& l : lines) text += l + '\n';
    if (truncate && !text.empty()) text.resize(pick(text.size()));
    return text;
}

TEST(CardFileRobustness, MutatedPhoneCardsNeverThrowAndAlwaysNameTheFile) {
    const std::string phone = read_file(phone_yaml_path());
    ASSERT_FALSE(phone.empty());
    const auto lines = split_lines(phone);
    constexpr int kVariants = 2000;
    int loaded = 0, rejected = 0;
    for (int i = 0; i < kVariants; ++i) {
        std::mt19937 rng(static_cast<uint32_t>(0xCA4D0000u + static_cast<uint32_t>(i)));
        const std::string text = mutate(lines, rng);
        CardLoad r;
        try {
            r = load_card_string(text, "phone.yaml");
        } catch (const std::exception& e) {
            FAIL() << "variant " << i << " threw: " << e.what() << "\n" << text;
        } catch (...) {
            FAIL() << "variant " << i << " threw a non-std exception\n" << text;
        }
        if (r.errors.empty()) {
            ASSERT_NE(r.card, nullptr) << "variant " << i << ": no errors but no card\n" << text;
            ++loaded;
            // A card that loaded is usable.
            for (size_t fe = 0; fe < r.card->fe_links().size(); ++fe)
                for (Stream s : {Stream::Playback, Stream::Capture}) {
                    for (size_t be : r.card->fe_routes(fe, s)) ASSERT_LT(be, r.card->be_links().size());
                    (void)r.card->routing_controls(fe, s);
                }
        } else {
            ASSERT_EQ(r.card, nullptr) << "variant " << i << ": errors and a card";
            ++rejected;
            for (const auto& e : r.errors)
                ASSERT_EQ(e.rfind("phone.yaml:", 0), 0u) << "variant " << i << ": " << e << "\n" << text;
        }
    }
    // Sanity: the mutations exercise both outcomes.
    EXPECT_GT(loaded, 0);
    EXPECT_GT(rejected, kVariants / 4);
}

}  // namespace
}  // namespace dynpcm

namespace dynpcm {
namespace {

TEST(CardFileControls, ReadOnlyControlsRefuseWrites) {
    const auto r = load_card_string(R"(card: X
controls:
  - {name: Jack Present, type: bool, value: on, read_only: true}
  - {name: Voice Gain, type: int, max: 15}
)", "t.yaml");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.card->find_control("Jack Present")->info.read_only);
    EXPECT_FALSE(r.card->find_control("Voice Gain")->info.read_only);
    auto put = r.card->put("Jack Present", "off");
    ASSERT_FALSE(put);
    EXPECT_EQ(put.error().code(), -EPERM);
    EXPECT_EQ(r.card->find_control("Jack Present")->value, std::vector<int64_t>{1});
    EXPECT_TRUE(r.card->put("Voice Gain", "7").ok());
}

// ---------------------------------------------------------------------------------------------
// identity: snd_ctl_card_info, what UCM matches a profile on

TEST(CardFileIdentity, DefaultsFromTheNameAndOverridesPerField) {
    const auto d = load("card: Qualcomm-RB5 Speakers\n");
    ASSERT_TRUE(d.ok()) << all_errors(d);
    EXPECT_EQ(d.card->identity().id, "QualcommRB5Spea") << "the kernel's id: letters and digits, 15 at most";
    EXPECT_EQ(d.card->identity().driver, "dynpcm");
    EXPECT_EQ(d.card->identity().long_name, "Qualcomm-RB5 Speakers");
    EXPECT_EQ(card_id_from_name("2nd card"), "D2ndcard");

    const auto r = load("card: X\nidentity: {id: RB5, driver: sm8250, long_name: Qualcomm-RB5-WSA8815-Speakers-DMIC0}\n");
    ASSERT_TRUE(r.ok()) << all_errors(r);
    EXPECT_EQ(r.card->identity().id, "RB5");
    EXPECT_EQ(r.card->identity().driver, "sm8250");
    EXPECT_EQ(r.card->identity().name, "X");
    EXPECT_EQ(r.card->identity().long_name, "Qualcomm-RB5-WSA8815-Speakers-DMIC0");
}

TEST(CardFileIdentity, BadFieldsNameTheLineAndTheLimit) {
    expect_one_error(load("card: X\nidentity:\n  id: 'hw:0'\n"), "t.yaml", 3,
                     {"identity id 'hw:0' must be letters, digits, '_' or '-'"});
    expect_one_error(load("card: X\nidentity:\n  driver: a-driver-name-too-long\n"), "t.yaml", 3,
                     {"identity driver 'a-driver-name-too-long' is 22 characters long; the kernel's limit is 15"});
    const auto r = load("card: X\nidentity: {longname: Y}\n");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(all_errors(r).find("identity: unknown key 'longname' (did you mean 'long_name'?)"), std::string::npos)
        << all_errors(r);
}

TEST(CardFileErrors, ControlsKeepToAlsasValueLimits) {
    const auto r = load("card: X\ncontrols:\n  - {name: Wide, type: int, max: 3, count: 129}\n");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(all_errors(r).find("control 'Wide': count 129 is over ALSA's 128 values for INTEGER controls"),
              std::string::npos)
        << all_errors(r);
    EXPECT_TRUE(load("card: X\ncontrols:\n  - {name: Blob, type: bytes, count: 512}\n").ok());
    const std::string item(64, 'i');
    const auto e = load("card: X\ncontrols:\n  - {name: E, type: enum, items: [a, " + item + "]}\n");
    ASSERT_FALSE(e.ok());
    EXPECT_NE(all_errors(e).find("is 64 characters; ALSA allows at most 63"), std::string::npos) << all_errors(e);
}

}  // namespace
}  // namespace dynpcm

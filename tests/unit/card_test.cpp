/// Card: the routing model built on the DAPM graph, as the kernel's ASoC core defines it
/// (sound/soc/soc-dapm.c, soc-pcm.c): control naming per widget type, route checking, control
/// writes (validation, routing updates, power, notifications), FE->BE path discovery
/// (dpcm_path_get), DAI stream binding, and the value parser / formatter.

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dynpcm/card/card.h"
#include "dynpcm/card/control.h"
#include "dynpcm/card/dai_link.h"
#include "dynpcm/dapm/graph.h"
#include "dynpcm/dapm/widget.h"

namespace dynpcm {
namespace {

/// Substring checks without gmock (the test binaries link gtest only).
::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
    if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}
::testing::AssertionResult Lacks(const std::string& text, const std::string& part) {
    if (text.find(part) == std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "'" << text << "' contains '" << part << "'";
}

// ---------------------------------------------------------------------------------------------
// Helpers

KcontrolSpec Bool(std::string name, int64_t initial = 0, bool invert = false) {
    KcontrolSpec k;
    k.name = std::move(name);
    k.info.type = CtlType::Boolean;
    k.info.min = 0;
    k.info.max = 1;
    k.info.invert = invert;
    k.value = {initial};
    return k;
}

KcontrolSpec Int(std::string name, int64_t min, int64_t max, int64_t step = 1, std::vector<int64_t> initial = {},
                 uint32_t count = 1) {
    KcontrolSpec k;
    k.name = std::move(name);
    k.info.type = CtlType::Integer;
    k.info.count = count;
    k.info.min = min;
    k.info.max = max;
    k.info.step = step;
    k.value = std::move(initial);
    return k;
}

KcontrolSpec Enum(std::string name, std::vector<std::string> items, int64_t initial = 0) {
    KcontrolSpec k;
    k.name = std::move(name);
    k.info.type = CtlType::Enumerated;
    k.info.min = 0;
    k.info.max = static_cast<int64_t>(items.size()) - 1;
    k.info.items = std::move(items);
    k.value = {initial};
    return k;
}

KcontrolSpec Bytes(std::string name, uint32_t count) {
    KcontrolSpec k;
    k.name = std::move(name);
    k.info.type = CtlType::Bytes;
    k.info.count = count;
    k.info.min = 0;
    k.info.max = 255;
    return k;
}

WidgetSpec W(std::string name, WidgetType type, std::vector<KcontrolSpec> kcontrols = {}) {
    WidgetSpec s;
    s.name = std::move(name);
    s.type = type;
    s.kcontrols = std::move(kcontrols);
    return s;
}

WidgetSpec Pin(std::string name, WidgetType type) {
    WidgetSpec s = W(std::move(name), type);
    s.pin_switch = true;
    return s;
}

WidgetSpec Aif(std::string name, WidgetType type, std::string stream) {
    WidgetSpec s = W(std::move(name), type);
    s.stream = std::move(stream);
    return s;
}

LinkStream LS(std::string stream_name) {
    LinkStream s;
    s.stream_name = std::move(stream_name);
    return s;
}

FeLink Fe(std::string name, std::optional<std::string> playback, std::optional<std::string> capture = std::nullopt) {
    FeLink l;
    l.name = std::move(name);
    if (playback) l.playback = LS(*playback);
    if (capture) l.capture = LS(*capture);
    return l;
}

BeLink Be(std::string name, std::optional<std::string> playback, std::optional<std::string> capture = std::nullopt) {
    BeLink l;
    l.name = std::move(name);
    if (playback) l.playback = LS(*playback);
    if (capture) l.capture = LS(*capture);
    return l;
}

/// Adds a widget and fails the test (by throwing from ASSERT-less context) if it is rejected.
WidgetId add(Card& card, const WidgetSpec& spec) {
    auto r = card.add_widget(spec);
    EXPECT_TRUE(r.ok()) << spec.name << ": " << (r.ok() ? "" : r.error().message());
    return r.ok() ? *r : WidgetId{0};
}

void route(Card& card, std::string_view sink, std::string_view control, std::string_view source) {
    auto r = card.add_route(sink, control, source);
    EXPECT_TRUE(r.ok()) << sink << " <- " << control << " <- " << source << ": "
                        << (r.ok() ? "" : r.error().message());
}

uint32_t numid(const Card& card, std::string_view name) {
    const Control* c = card.find_control(name);
    EXPECT_NE(c, nullptr) << "no control '" << name << "'";
    return c ? c->id.numid : 0;
}

bool powered(const Card& card, std::string_view widget) {
    const auto w = card.graph().find(widget);
    EXPECT_TRUE(w.has_value()) << "no widget '" << widget << "'";
    return w && card.graph().widget(*w).power;
}

/// Whether the path from `source` to `sink` exists and is connected.
std::optional<bool> path_connected(const Card& card, std::string_view source, std::string_view sink) {
    const auto s = card.graph().find(source);
    const auto k = card.graph().find(sink);
    if (!s || !k) return std::nullopt;
    for (PathId p : card.graph().widget(*s).sinks)
        if (card.graph().path(p).sink == *k) return card.graph().path(p).connected;
    return std::nullopt;
}

std::string message(const Result<bool>& r) { return r.ok() ? std::string("(ok)") : r.error().message(); }
template <typename T>
std::string message(const Result<T>& r) {
    return r.ok() ? std::string("(ok)") : r.error().message();
}

Control make_control(std::string name, const KcontrolSpec& spec) {
    Control c;
    c.id.name = std::move(name);
    c.info = spec.info;
    c.value = spec.value.empty() ? std::vector<int64_t>(spec.info.count, 0) : spec.value;
    return c;
}

// ---------------------------------------------------------------------------------------------
// Control naming (dapm_create_or_share_kcontrol)

TEST(CardControls, NamesFollowTheWidgetType) {
    Card card("naming");
    const WidgetId mix = add(card, W("Out Mixer", WidgetType::Mixer, {Bool("DAC Switch"), Bool("Line Switch")}));
    const WidgetId sw = add(card, W("Amp", WidgetType::Switch, {Bool("Switch")}));
    const WidgetId named = add(card, W("Route Mixer", WidgetType::MixerNamedCtl, {Bool("Master Playback Switch")}));
    const WidgetId mux = add(card, W("Input Mux", WidgetType::Mux, {Enum("Input Mux", {"Mic", "Line"})}));
    const WidgetId demux = add(card, W("Out Demux", WidgetType::Demux, {Enum("ignored", {"A", "B"})}));
    const WidgetId pga = add(card, W("HP PGA", WidgetType::Pga, {Int("Volume", 0, 31)}));
    const WidgetId spk = add(card, Pin("Speaker", WidgetType::Spk));
    ASSERT_TRUE(card.add_control(Int("Master Volume", 0, 100)).ok());

    struct Want {
        const char* name;
        CtlRole role;
        std::optional<WidgetId> widget;
        const char* kcontrol;
    };
    const std::vector<Want> want{
        {"Out Mixer DAC Switch", CtlRole::MixerPath, mix, "DAC Switch"},
        {"Out Mixer Line Switch", CtlRole::MixerPath, mix, "Line Switch"},
        {"Amp Switch", CtlRole::MixerPath, sw, "Switch"},
        {"Master Playback Switch", CtlRole::MixerPath, named, "Master Playback Switch"},
        {"Input Mux", CtlRole::Mux, mux, "Input Mux"},
        {"Out Demux", CtlRole::Demux, demux, "ignored"},
        {"HP PGA Volume", CtlRole::Plain, pga, "Volume"},
        {"Speaker Switch", CtlRole::Pin, spk, "Switch"},
        {"Master Volume", CtlRole::Plain, std::nullopt, "Master Volume"},
    };
    ASSERT_EQ(card.controls().size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        SCOPED_TRACE(want[i].name);
        const Control& c = card.controls()[i];
        EXPECT_EQ(c.id.name, want[i].name);
        EXPECT_EQ(c.id.numid, i + 1) << "numids are 1-based and dense, in creation order";
        EXPECT_EQ(c.id.iface, CtlIface::Mixer);
        EXPECT_EQ(c.role, want[i].role);
        EXPECT_EQ(c.widget, want[i].widget);
        EXPECT_EQ(c.kcontrol, want[i].kcontrol);
        EXPECT_EQ(card.find_control(want[i].name), &c);
        EXPECT_EQ(card.control(c.id.numid), &c);
    }
    // The "Out Mixer" widget itself has no control of that bare name; the mux has nothing else.
    EXPECT_EQ(card.find_control("Out Mixer"), nullptr);
    EXPECT_EQ(card.find_control("Speaker"), nullptr);
    EXPECT_EQ(card.find_control("Input Mux", 1), nullptr) << "index 1 is a different element";
    EXPECT_EQ(card.control(0), nullptr);
    EXPECT_EQ(card.control(static_cast<uint32_t>(want.size() + 1)), nullptr);
    // A pin switch starts enabled; a control with no initial value starts at its minimum.
    EXPECT_EQ(card.find_control("Speaker Switch")->value, std::vector<int64_t>{1});
    EXPECT_EQ(card.find_control("Master Volume")->value, std::vector<int64_t>{0});
}

TEST(CardControls, InitialValueDefaultsToMinimumAndFillsChannels) {
    Card card("init");
    ASSERT_TRUE(card.add_control(Int("Offset", -10, 10)).ok());
    ASSERT_TRUE(card.add_control(Int("Stereo", 0, 100, 1, {42}, 2)).ok());
    ASSERT_TRUE(card.add_control(Enum("Mode", {"A", "B", "C"}, 2)).ok());
    EXPECT_EQ(card.find_control("Offset")->value, std::vector<int64_t>{-10});
    EXPECT_EQ(card.find_control("Stereo")->value, (std::vector<int64_t>{42, 42}));
    EXPECT_EQ(card.find_control("Mode")->value, std::vector<int64_t>{2});
    // An initial value that does not validate is rejected with the control's name.
    auto bad = card.add_control(Int("Too Loud", 0, 10, 1, {11}));
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.code(), -EINVAL);
    EXPECT_TRUE(Contains(bad.error().message(), "'Too Loud'"));
    EXPECT_EQ(card.find_control("Too Loud"), nullptr);
}

TEST(CardControls, WidgetsThatTakeNoControlsRejectThem) {
    Card card("none");
    auto r = card.add_widget(W("Speaker", WidgetType::Spk, {Bool("Switch")}));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), -EINVAL);
    EXPECT_TRUE(Contains(r.error().message(), "'Speaker'"));
    EXPECT_TRUE(Contains(r.error().message(), "takes no controls"));
    EXPECT_TRUE(card.controls().empty());
}

TEST(CardControls, MuxNeedsExactlyOneEnumAndMixerNeedsSwitchableControls) {
    Card card("shape");
    auto none = card.add_widget(W("M1", WidgetType::Mux));
    ASSERT_FALSE(none.ok());
    EXPECT_TRUE(Contains(none.error().message(), "'M1'"));
    auto not_enum = card.add_widget(W("M2", WidgetType::Mux, {Bool("x")}));
    ASSERT_FALSE(not_enum.ok());
    EXPECT_TRUE(Contains(not_enum.error().message(), "ENUMERATED"));
    auto mixer_enum = card.add_widget(W("Mix", WidgetType::Mixer, {Enum("Sel", {"a", "b"})}));
    ASSERT_FALSE(mixer_enum.ok());
    EXPECT_TRUE(Contains(mixer_enum.error().message(), "'Sel'"));
    EXPECT_TRUE(card.controls().empty());
}

// ---------------------------------------------------------------------------------------------
// Duplicates

TEST(CardDuplicates, WidgetControlAndLinkNamesAreUnique) {
    Card card("dups");
    add(card, W("Mic", WidgetType::Mic));
    auto w = card.add_widget(W("Mic", WidgetType::Mic));
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.code(), -EEXIST);
    EXPECT_EQ(w.error().message(), "widget 'Mic' is defined twice");

    ASSERT_TRUE(card.add_control(Int("Volume", 0, 10)).ok());
    auto c = card.add_control(Int("Volume", 0, 20));
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.code(), -EEXIST);
    EXPECT_EQ(c.error().message(), "control 'Volume' is defined twice");
    EXPECT_EQ(card.controls().size(), 1u);

    // A widget whose kcontrol would collide with an existing control name.
    add(card, W("Amp", WidgetType::Switch, {Bool("Switch")}));
    auto collide = card.add_control(Bool("Amp Switch"));
    ASSERT_FALSE(collide.ok());
    EXPECT_TRUE(Contains(collide.error().message(), "'Amp Switch' is defined twice"));
    // The same kcontrol twice within one mixer.
    auto twice = card.add_widget(W("Mix", WidgetType::Mixer, {Bool("A"), Bool("A")}));
    ASSERT_FALSE(twice.ok());
    EXPECT_EQ(twice.code(), -EEXIST);
    EXPECT_TRUE(Contains(twice.error().message(), "'A' is defined twice"));
    EXPECT_EQ(card.find_control("Mix A"), nullptr) << "a rejected widget leaves no controls behind";

    ASSERT_TRUE(card.add_fe_link(Fe("Media", "MM1 Playback")).ok());
    auto fe = card.add_fe_link(Fe("Media", "MM2 Playback"));
    ASSERT_FALSE(fe.ok());
    EXPECT_EQ(fe.code(), -EEXIST);
    EXPECT_EQ(fe.error().message(), "link 'Media' is defined twice");
    // FE and BE links share one namespace.
    auto be = card.add_be_link(Be("Media", "I2S Playback"));
    ASSERT_FALSE(be.ok());
    EXPECT_EQ(be.error().message(), "link 'Media' is defined twice");
    ASSERT_TRUE(card.add_be_link(Be("Codec", "I2S Playback")).ok());
    auto be2 = card.add_be_link(Be("Codec", "I2S2 Playback"));
    ASSERT_FALSE(be2.ok());
    EXPECT_EQ(be2.error().message(), "link 'Codec' is defined twice");
    // Two links cannot share a stream.
    auto shared = card.add_be_link(Be("Codec2", "I2S Playback"));
    ASSERT_FALSE(shared.ok());
    EXPECT_TRUE(Contains(shared.error().message(), "link 'Codec2': stream 'I2S Playback' already belongs to BE link 'Codec'"));
    auto shared_fe = card.add_fe_link(Fe("Media2", "MM1 Playback"));
    ASSERT_FALSE(shared_fe.ok());
    EXPECT_TRUE(Contains(shared_fe.error().message(), "link 'Media2': stream 'MM1 Playback' already belongs to FE link 'Media'"));
    EXPECT_EQ(card.fe_links().size(), 1u);
    EXPECT_EQ(card.be_links().size(), 1u);
}

TEST(CardDuplicates, RejectedBeLinkLeavesNoBeBinding) {
    // The capture stream of this link collides with a mixer, so the link is rejected after its
    // playback DAI widget was created. That widget must not claim to belong to a BE: the card
    // has no BE at all, and a retry with a good capture stream must succeed.
    Card card("atomic");
    add(card, W("Clash", WidgetType::Mixer));
    auto bad = card.add_be_link(Be("Codec", "Codec Playback", "Clash"));
    ASSERT_FALSE(bad.ok());
    EXPECT_TRUE(Contains(bad.error().message(), "'Clash'"));
    EXPECT_TRUE(card.be_links().empty());
    const auto w = card.graph().find("Codec Playback");
    if (w) {
        EXPECT_FALSE(card.be_of_widget(*w).has_value()) << "a rejected BE link left a dangling BE index";
    }
    auto retry = card.add_be_link(Be("Codec", "Codec Playback", "Codec Capture"));
    EXPECT_TRUE(retry.ok()) << message(retry);
}

TEST(CardLinks, FeLinkNeedsADirectionAndCreatesDaiWidgets) {
    Card card("links");
    auto none = card.add_fe_link(Fe("Empty", std::nullopt));
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.code(), -EINVAL);
    EXPECT_EQ(none.error().message(), "FE link 'Empty' has neither playback nor capture");
    auto be_none = card.add_be_link(Be("Empty BE", std::nullopt));
    ASSERT_FALSE(be_none.ok());
    EXPECT_EQ(be_none.error().message(), "BE link 'Empty BE' has neither playback nor capture");

    auto fe = card.add_fe_link(Fe("Voice", "Voice Playback", "Voice Capture"));
    ASSERT_TRUE(fe.ok()) << message(fe);
    const auto p = card.graph().find("Voice Playback");
    const auto c = card.graph().find("Voice Capture");
    ASSERT_TRUE(p && c);
    EXPECT_EQ(card.graph().widget(*p).type, WidgetType::DaiIn);
    EXPECT_EQ(card.graph().widget(*c).type, WidgetType::DaiOut);
    EXPECT_EQ(card.fe_links()[*fe].playback->widget, *p);
    EXPECT_EQ(card.fe_links()[*fe].capture->widget, *c);
    EXPECT_EQ(card.find_fe("Voice"), std::optional<size_t>{0});
    EXPECT_FALSE(card.find_fe("Nope").has_value());
    EXPECT_FALSE(card.be_of_widget(*p).has_value()) << "an FE DAI widget is not a BE's";

    // A stream name that is already a widget of another type is refused.
    add(card, W("Loop", WidgetType::Mixer));
    auto clash = card.add_be_link(Be("Loopback", "Loop"));
    ASSERT_FALSE(clash.ok());
    EXPECT_EQ(clash.code(), -EEXIST);
    EXPECT_TRUE(Contains(clash.error().message(), "stream 'Loop' would be a dai_in widget, but a mixer widget"));
}

// ---------------------------------------------------------------------------------------------
// add_route errors

class CardRouteErrors : public ::testing::Test {
protected:
    void SetUp() override {
        add(card, W("Headset Mic", WidgetType::Mic));
        add(card, W("Speaker", WidgetType::Spk));
        add(card, W("Out Mixer", WidgetType::Mixer, {Bool("Mic Switch"), Bool("Line Switch")}));
        add(card, W("Capture Mux", WidgetType::Mux, {Enum("Capture Mux", {"Mic", "Line", "Zero"})}));
        add(card, W("HP PGA", WidgetType::Pga, {Int("Volume", 0, 31)}));
    }
    Card card{"routes"};
};

TEST_F(CardRouteErrors, UnknownSinkNearTypoSuggests) {
    auto r = card.add_route("Spekaer", "", "Out Mixer");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), -ENOENT);
    EXPECT_EQ(r.error().message(), "unknown sink widget 'Spekaer' (did you mean 'Speaker'?)");
}

TEST_F(CardRouteErrors, UnknownSourceNearTypoSuggests) {
    auto r = card.add_route("Out Mixer", "Mic Switch", "Headset Mik");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), -ENOENT);
    EXPECT_EQ(r.error().message(), "unknown source widget 'Headset Mik' (did you mean 'Headset Mic'?)");
}

TEST_F(CardRouteErrors, UnknownWidgetFarFromAnyNameHasNoSuggestion) {
    auto sink = card.add_route("Bluetooth Transmitter", "", "Out Mixer");
    ASSERT_FALSE(sink.ok());
    EXPECT_EQ(sink.error().message(), "unknown sink widget 'Bluetooth Transmitter'");
    auto source = card.add_route("Speaker", "", "Zzyzx");
    ASSERT_FALSE(source.ok());
    EXPECT_EQ(source.error().message(), "unknown source widget 'Zzyzx'");
    EXPECT_TRUE(Lacks(source.error().message(), "did you mean"));
}

TEST_F(CardRouteErrors, MixerRouteNamingAControlTheMixerLacks) {
    auto r = card.add_route("Out Mixer", "DAC Switch", "Headset Mic");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), -EINVAL);
    const std::string m = r.error().message();
    EXPECT_TRUE(Contains(m, "mixer 'Out Mixer' has no control 'DAC Switch'"));
    EXPECT_TRUE(Contains(m, "Mic Switch, Line Switch")) << "the message lists the controls it does have";
    // A near miss is suggested.
    auto near = card.add_route("Out Mixer", "Mic Swich", "Headset Mic");
    ASSERT_FALSE(near.ok());
    EXPECT_TRUE(Contains(near.error().message(), "(did you mean 'Mic Switch'?)"));
    EXPECT_EQ(card.graph().path_count(), 0u);
}

TEST_F(CardRouteErrors, MuxRouteNamingAnUnknownItem) {
    auto r = card.add_route("Capture Mux", "Linein", "Headset Mic");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), -EINVAL);
    const std::string m = r.error().message();
    EXPECT_TRUE(Contains(m, "mux 'Capture Mux' has no item 'Linein'"));
    EXPECT_TRUE(Contains(m, "Mic, Line, Zero"));
    EXPECT_EQ(card.graph().path_count(), 0u);
}

TEST_F(CardRouteErrors, ControlOnARouteIntoAPgaIsRejected) {
    auto r = card.add_route("HP PGA", "Volume", "Out Mixer");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), -EINVAL);
    EXPECT_TRUE(Contains(r.error().message(), "'HP PGA' (pga) names control 'Volume'"));
    auto spk = card.add_route("Speaker", "Switch", "HP PGA");
    ASSERT_FALSE(spk.ok());
    EXPECT_TRUE(Contains(spk.error().message(), "'Speaker' (spk)"));
    // Without a control the same route is fine.
    EXPECT_TRUE(card.add_route("HP PGA", "", "Out Mixer").ok());
}

TEST_F(CardRouteErrors, RouteFromAWidgetToItself) {
    auto r = card.add_route("Out Mixer", "", "Out Mixer");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(Contains(r.error().message(), "'Out Mixer'"));
}

TEST(CardSuggest, NoSuggestionThatSharesNothingWithTheName) {
    // Replacing every character is no typo fix: "unknown item 'C' (did you mean 'A'?)" misleads.
    EXPECT_EQ(nearest_name("C", {"A", "B"}), std::nullopt);
    EXPECT_EQ(nearest_name("XY", {"AB", "Zero"}), std::nullopt);
    Card card("s");
    add(card, W("A", WidgetType::Mic));
    auto r = card.add_route("A", "", "Q");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(), "unknown source widget 'Q'");
}

TEST(CardSuggest, NearestName) {
    EXPECT_EQ(edit_distance("Headfone", "Headphone"), 2u);
    EXPECT_EQ(edit_distance("abc", "ABC"), 0u) << "case-insensitive";
    EXPECT_EQ(edit_distance("", "abc"), 3u);
    EXPECT_EQ(nearest_name("widgts", {"card", "widgets", "routes"}), std::optional<std::string>("widgets"));
    EXPECT_EQ(nearest_name("xyzzy", {"card", "widgets", "routes"}), std::nullopt);
    EXPECT_EQ(nearest_name("anything", {}), std::nullopt);
    EXPECT_EQ(nearest_name("RX2", {"ZERO", "RX1"}), std::optional<std::string>("RX1"));
    Card card("s");
    add(card, W("Headphone", WidgetType::Hp));
    EXPECT_EQ(card.suggest_widget("Headfone"), std::optional<std::string>("Headphone"));
    EXPECT_EQ(card.suggest_widget("Microphone Array"), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// put(): validation

class CardPut : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(card.add_control(Bool("Flag")).ok());
        ASSERT_TRUE(card.add_control(Int("Gain", -10, 10, 2)).ok());
        ASSERT_TRUE(card.add_control(Enum("Mode", {"Off", "Handset", "Speaker"})).ok());
        ASSERT_TRUE(card.add_control(Bytes("Coeffs", 4)).ok());
        ASSERT_TRUE(card.add_control(Int("Stereo", 0, 100, 1, {}, 2)).ok());
        sub = card.subscribe([this](const Control& c) { notified.push_back({c.id.name, c.value}); });
    }
    /// Expects put() to fail with -EINVAL, a message naming the control and `bad`, and no
    /// change or notification.
    void expect_rejected(const char* name, const std::vector<int64_t>& values, const std::string& bad) {
        SCOPED_TRACE(name);
        const auto before = card.find_control(name)->value;
        auto r = card.put(numid(card, name), values);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.code(), -EINVAL);
        EXPECT_TRUE(Contains(r.error().message(), std::string("'") + name + "'"));
        EXPECT_TRUE(Contains(r.error().message(), bad));
        EXPECT_EQ(card.find_control(name)->value, before);
        EXPECT_TRUE(notified.empty());
    }
    Card card{"put"};
    int sub = 0;
    std::vector<std::pair<std::string, std::vector<int64_t>>> notified;
};

TEST_F(CardPut, BooleanRange) {
    expect_rejected("Flag", {2}, "2");
    expect_rejected("Flag", {-1}, "-1");
    EXPECT_TRUE(card.put(numid(card, "Flag"), {1}).value());
}

TEST_F(CardPut, IntegerRangeAndStep) {
    expect_rejected("Gain", {12}, "12 is out of range -10..10");
    expect_rejected("Gain", {-11}, "-11 is out of range -10..10");
    expect_rejected("Gain", {-7}, "-7 is not on the step 2");  // -10 + 2k only
    EXPECT_TRUE(card.put(numid(card, "Gain"), {-6}).value());
    EXPECT_TRUE(card.put(numid(card, "Gain"), {10}).value());
    EXPECT_EQ(card.find_control("Gain")->value, std::vector<int64_t>{10});
}

TEST_F(CardPut, EnumeratedRange) {
    expect_rejected("Mode", {3}, "3");
    expect_rejected("Mode", {-1}, "-1");
    EXPECT_TRUE(card.put(numid(card, "Mode"), {2}).value());
}

TEST_F(CardPut, BytesRange) {
    expect_rejected("Coeffs", {0, 1, 256, 3}, "256");
    expect_rejected("Coeffs", {0, -1, 2, 3}, "-1");
    EXPECT_TRUE(card.put(numid(card, "Coeffs"), {0, 255, 16, 1}).value());
    EXPECT_EQ(card.find_control("Coeffs")->value, (std::vector<int64_t>{0, 255, 16, 1}));
}

TEST_F(CardPut, WrongValueCount) {
    expect_rejected("Flag", {}, "expects 1 value(s), got 0");
    expect_rejected("Flag", {0, 1}, "expects 1 value(s), got 2");
    expect_rejected("Stereo", {50}, "expects 2 value(s), got 1");
    expect_rejected("Coeffs", {1, 2, 3, 4, 5}, "expects 4 value(s), got 5");
}

TEST_F(CardPut, UnknownNumid) {
    auto r = card.put(0, {1});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), -ENOENT);
    auto r2 = card.put(999, {1});
    ASSERT_FALSE(r2.ok());
    EXPECT_EQ(r2.code(), -ENOENT);
    EXPECT_TRUE(Contains(r2.error().message(), "999"));
    EXPECT_TRUE(notified.empty());
}

TEST_F(CardPut, UnchangedValueReturnsFalseAndNotifiesNobody) {
    auto r = card.put(numid(card, "Gain"), {-10});  // the initial value
    ASSERT_TRUE(r.ok()) << message(r);
    EXPECT_FALSE(*r);
    auto r2 = card.put(numid(card, "Stereo"), {0, 0});
    ASSERT_TRUE(r2.ok());
    EXPECT_FALSE(*r2);
    EXPECT_TRUE(notified.empty());
}

TEST_F(CardPut, ChangeNotifiesExactlyOnceWithTheNewValue) {
    int second = 0;
    const int h2 = card.subscribe([&](const Control& c) {
        ++second;
        EXPECT_EQ(c.id.name, "Stereo");
    });
    auto r = card.put(numid(card, "Stereo"), {80, 75});
    ASSERT_TRUE(r.ok()) << message(r);
    EXPECT_TRUE(*r);
    ASSERT_EQ(notified.size(), 1u);
    EXPECT_EQ(notified[0].first, "Stereo");
    EXPECT_EQ(notified[0].second, (std::vector<int64_t>{80, 75}));
    EXPECT_EQ(second, 1);
    // Writing the same value again changes nothing.
    EXPECT_FALSE(card.put(numid(card, "Stereo"), {80, 75}).value());
    EXPECT_EQ(notified.size(), 1u);
    // After unsubscribing, only the remaining subscriber hears about changes.
    card.unsubscribe(h2);
    EXPECT_TRUE(card.put(numid(card, "Stereo"), {80, 76}).value());
    EXPECT_EQ(notified.size(), 2u);
    EXPECT_EQ(second, 1);
    card.unsubscribe(sub);
    EXPECT_TRUE(card.put(numid(card, "Stereo"), {1, 2}).value());
    EXPECT_EQ(notified.size(), 2u);
}

TEST_F(CardPut, ByNameParsesText) {
    auto r = card.put("Mode", "speaker");
    ASSERT_TRUE(r.ok()) << message(r);
    EXPECT_TRUE(*r);
    EXPECT_EQ(card.find_control("Mode")->value, std::vector<int64_t>{2});
    EXPECT_TRUE(card.put("Stereo", "80,75").value());
    EXPECT_EQ(card.find_control("Stereo")->value, (std::vector<int64_t>{80, 75}));
    EXPECT_EQ(notified.size(), 2u);

    auto unknown = card.put("Mdoe", "Off");
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.code(), -ENOENT);
    EXPECT_TRUE(Contains(unknown.error().message(), "no control 'Mdoe' (did you mean 'Mode'?)"));
    auto bad = card.put("Mode", "Loud");
    ASSERT_FALSE(bad.ok());
    EXPECT_TRUE(Contains(bad.error().message(), "'Loud'"));
    EXPECT_EQ(notified.size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// put(): routing and power

/// mic -> mixer ("Mic Switch") -> speaker.
class MixerPower : public ::testing::Test {
protected:
    void build(KcontrolSpec sw) {
        add(card, W("Mic", WidgetType::Mic));
        add(card, W("Mix", WidgetType::Mixer, {std::move(sw)}));
        add(card, W("Spk", WidgetType::Spk));
        route(card, "Mix", "Mic Switch", "Mic");
        route(card, "Spk", "", "Mix");
        ASSERT_TRUE(card.finish().ok());
    }
    bool all(bool on) const { return powered(card, "Mic") == on && powered(card, "Mix") == on && powered(card, "Spk") == on; }
    Card card{"mixer"};
};

TEST_F(MixerPower, SwitchConnectsAndDisconnectsThePath) {
    build(Bool("Mic Switch", 0));
    EXPECT_EQ(path_connected(card, "Mic", "Mix"), false);
    EXPECT_TRUE(all(false));
    const uint32_t id = numid(card, "Mix Mic Switch");
    const Control* c = card.control(id);
    ASSERT_EQ(c->paths.size(), 1u) << "the kcontrol owns the route it switches";

    bool powered_when_notified = false;
    card.subscribe([&](const Control&) { powered_when_notified = powered(card, "Spk"); });
    ASSERT_TRUE(card.put(id, {1}).value());
    EXPECT_EQ(path_connected(card, "Mic", "Mix"), true);
    EXPECT_TRUE(all(true));
    EXPECT_TRUE(powered_when_notified) << "subscribers run after the power update";

    ASSERT_TRUE(card.put(id, {0}).value());
    EXPECT_EQ(path_connected(card, "Mic", "Mix"), false);
    EXPECT_TRUE(all(false));
}

TEST_F(MixerPower, InitiallyOnSwitchPowersAtFinish) {
    build(Bool("Mic Switch", 1));
    EXPECT_EQ(path_connected(card, "Mic", "Mix"), true);
    EXPECT_TRUE(all(true));
}

TEST_F(MixerPower, IntegerMixerControlConnectsWhileNonZero) {
    build(Int("Mic Switch", 0, 3, 1, {0}));
    const uint32_t id = numid(card, "Mix Mic Switch");
    EXPECT_TRUE(all(false));
    ASSERT_TRUE(card.put(id, {2}).value());
    EXPECT_TRUE(all(true));
    ASSERT_TRUE(card.put(id, {3}).value());
    EXPECT_TRUE(all(true));
    ASSERT_TRUE(card.put(id, {0}).value());
    EXPECT_TRUE(all(false));
}

TEST_F(MixerPower, InvertedSwitchConnectsWhileNotMax) {
    build(Bool("Mic Switch", 0, /*invert=*/true));
    const uint32_t id = numid(card, "Mix Mic Switch");
    EXPECT_EQ(path_connected(card, "Mic", "Mix"), true) << "inverted: 0 is not the maximum, so on";
    EXPECT_TRUE(all(true));
    ASSERT_TRUE(card.put(id, {1}).value());
    EXPECT_EQ(path_connected(card, "Mic", "Mix"), false);
    EXPECT_TRUE(all(false));
    ASSERT_TRUE(card.put(id, {0}).value());
    EXPECT_TRUE(all(true));
}

TEST_F(MixerPower, InvertedIntegerControl) {
    KcontrolSpec k = Int("Mic Switch", 0, 3, 1, {3});
    k.info.invert = true;
    build(k);
    const uint32_t id = numid(card, "Mix Mic Switch");
    EXPECT_TRUE(all(false)) << "inverted at max: off";
    ASSERT_TRUE(card.put(id, {2}).value());
    EXPECT_TRUE(all(true));
    ASSERT_TRUE(card.put(id, {0}).value());
    EXPECT_TRUE(all(true));
}

TEST(CardMux, SelectsExactlyOneInputPath) {
    Card card("mux");
    add(card, W("Mic1", WidgetType::Mic));
    add(card, W("Mic2", WidgetType::Mic));
    add(card, W("Mux", WidgetType::Mux, {Enum("Mux", {"One", "Two", "Zero"}, 0)}));
    add(card, W("Spk", WidgetType::Spk));
    route(card, "Mux", "One", "Mic1");
    route(card, "Mux", "Two", "Mic2");
    route(card, "Spk", "", "Mux");
    ASSERT_TRUE(card.finish().ok());
    const uint32_t id = numid(card, "Mux");
    EXPECT_EQ(card.control(id)->paths.size(), 2u);

    auto connected_inputs = [&] {
        std::vector<std::string> out;
        for (PathId p : card.graph().widget(*card.graph().find("Mux")).sources)
            if (card.graph().path(p).connected) out.push_back(card.graph().widget(card.graph().path(p).source).name);
        return out;
    };
    EXPECT_EQ(connected_inputs(), std::vector<std::string>{"Mic1"});
    EXPECT_TRUE(powered(card, "Mic1"));
    EXPECT_FALSE(powered(card, "Mic2"));
    EXPECT_TRUE(powered(card, "Spk"));

    ASSERT_TRUE(card.put(id, {1}).value());
    EXPECT_EQ(connected_inputs(), std::vector<std::string>{"Mic2"});
    EXPECT_FALSE(powered(card, "Mic1"));
    EXPECT_TRUE(powered(card, "Mic2"));
    EXPECT_TRUE(powered(card, "Spk"));

    // An item with no route connects nothing.
    ASSERT_TRUE(card.put("Mux", "Zero").value());
    EXPECT_TRUE(connected_inputs().empty());
    EXPECT_FALSE(powered(card, "Mic1"));
    EXPECT_FALSE(powered(card, "Mic2"));
    EXPECT_FALSE(powered(card, "Spk"));
    EXPECT_FALSE(powered(card, "Mux"));

    ASSERT_TRUE(card.put("Mux", "One").value());
    EXPECT_EQ(connected_inputs(), std::vector<std::string>{"Mic1"});
    EXPECT_TRUE(powered(card, "Spk"));
}

TEST(CardMux, InitialSelectionDecidesRouteStateAtAddRoute) {
    Card card("mux2");
    add(card, W("A", WidgetType::Mic));
    add(card, W("B", WidgetType::Mic));
    add(card, W("Mux", WidgetType::Mux, {Enum("Mux", {"A", "B"}, 1)}));
    route(card, "Mux", "A", "A");
    route(card, "Mux", "B", "B");
    EXPECT_EQ(path_connected(card, "A", "Mux"), false);
    EXPECT_EQ(path_connected(card, "B", "Mux"), true);
}

TEST(CardDemux, SelectsExactlyOneOutputPath) {
    Card card("demux");
    add(card, W("Mic", WidgetType::Mic));
    add(card, W("Demux", WidgetType::Demux, {Enum("Demux", {"Left", "Right"}, 0)}));
    add(card, W("SpkL", WidgetType::Spk));
    add(card, W("SpkR", WidgetType::Spk));
    route(card, "Demux", "", "Mic");
    route(card, "SpkL", "Left", "Demux");
    route(card, "SpkR", "Right", "Demux");
    // A demux route naming an item the demux lacks.
    auto bad = card.add_route("SpkR", "Centre", "Demux");
    ASSERT_FALSE(bad.ok());
    EXPECT_TRUE(Contains(bad.error().message(), "demux 'Demux' has no item 'Centre'"));
    ASSERT_TRUE(card.finish().ok());

    EXPECT_EQ(path_connected(card, "Demux", "SpkL"), true);
    EXPECT_EQ(path_connected(card, "Demux", "SpkR"), false);
    EXPECT_TRUE(powered(card, "SpkL"));
    EXPECT_FALSE(powered(card, "SpkR"));
    EXPECT_TRUE(powered(card, "Mic"));

    ASSERT_TRUE(card.put("Demux", "Right").value());
    EXPECT_EQ(path_connected(card, "Demux", "SpkL"), false);
    EXPECT_EQ(path_connected(card, "Demux", "SpkR"), true);
    EXPECT_FALSE(powered(card, "SpkL"));
    EXPECT_TRUE(powered(card, "SpkR"));
    EXPECT_TRUE(powered(card, "Mic"));
}

TEST(CardPin, PinSwitchEnablesAndDisablesTheEndpoint) {
    Card card("pin");
    add(card, W("Mic", WidgetType::Mic));
    add(card, W("Mix", WidgetType::Mixer, {Bool("Mic Switch", 1)}));
    add(card, Pin("Spk", WidgetType::Spk));
    route(card, "Mix", "Mic Switch", "Mic");
    route(card, "Spk", "", "Mix");
    ASSERT_TRUE(card.finish().ok());
    const WidgetId spk = *card.graph().find("Spk");
    EXPECT_TRUE(card.graph().widget(spk).pin_enabled);
    EXPECT_TRUE(powered(card, "Spk"));
    EXPECT_TRUE(powered(card, "Mic"));

    int notes = 0;
    card.subscribe([&](const Control&) { ++notes; });
    ASSERT_TRUE(card.put("Spk Switch", "off").value());
    EXPECT_FALSE(card.graph().widget(spk).pin_enabled);
    EXPECT_FALSE(powered(card, "Spk"));
    EXPECT_FALSE(powered(card, "Mix"));
    EXPECT_FALSE(powered(card, "Mic"));
    EXPECT_EQ(path_connected(card, "Mix", "Spk"), true) << "a pin does not disconnect paths";

    EXPECT_FALSE(card.put("Spk Switch", "off").value());
    ASSERT_TRUE(card.put("Spk Switch", "on").value());
    EXPECT_TRUE(card.graph().widget(spk).pin_enabled);
    EXPECT_TRUE(powered(card, "Spk"));
    EXPECT_TRUE(powered(card, "Mic"));
    EXPECT_EQ(notes, 2);
}

// ---------------------------------------------------------------------------------------------
// fe_routes (dpcm_path_get) and routing_controls

/// FE "Media" (playback MM Playback, capture MM Capture) and FE "Other" (playback).
/// BEs: 0 "Speaker I2S" (playback), 1 "Headset" (playback + capture), 2 "DMIC" (capture),
///      3 "Codec2Codec" (playback), 4 "Downstream" (playback, only past BE 3).
class FeRoutes : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(card.add_fe_link(Fe("Media", "MM Playback", "MM Capture")).ok());
        ASSERT_TRUE(card.add_fe_link(Fe("Other", "Other Playback")).ok());
        ASSERT_TRUE(card.add_be_link(Be("Speaker I2S", "SPK Playback")).ok());
        ASSERT_TRUE(card.add_be_link(Be("Headset", "HS Playback", "HS Capture")).ok());
        ASSERT_TRUE(card.add_be_link(Be("DMIC", std::nullopt, "DMIC Capture")).ok());
        ASSERT_TRUE(card.add_be_link(Be("Codec2Codec", "C2C Playback")).ok());
        ASSERT_TRUE(card.add_be_link(Be("Downstream", "DS Playback")).ok());

        add(card, W("SPK Mixer", WidgetType::Mixer, {Bool("Media", 1), Bool("Other", 0)}));
        add(card, W("HS Mixer", WidgetType::Mixer, {Bool("Media", 0)}));
        add(card, W("C2C Mixer", WidgetType::Mixer, {Bool("Media", 0)}));
        add(card, W("Post Mixer", WidgetType::Mixer, {Bool("C2C", 1)}));
        add(card, W("Media Capture Mixer", WidgetType::Mixer, {Bool("HS", 1), Bool("DMIC", 0)}));
        add(card, W("Loop Mixer", WidgetType::Mixer, {Bool("Media", 1)}));
        route(card, "SPK Mixer", "Media", "MM Playback");
        route(card, "SPK Mixer", "Other", "Other Playback");
        route(card, "SPK Playback", "", "SPK Mixer");
        route(card, "HS Mixer", "Media", "MM Playback");
        route(card, "HS Playback", "", "HS Mixer");
        route(card, "C2C Mixer", "Media", "MM Playback");
        route(card, "C2C Playback", "", "C2C Mixer");
        // Past the C2C BE: the walk must stop at the BE DAI widget.
        route(card, "Post Mixer", "C2C", "C2C Playback");
        route(card, "DS Playback", "", "Post Mixer");
        // Capture side.
        route(card, "Media Capture Mixer", "HS", "HS Capture");
        route(card, "Media Capture Mixer", "DMIC", "DMIC Capture");
        route(card, "MM Capture", "", "Media Capture Mixer");
        // A playback walk from Media that reaches capture DAI widgets of two BEs (a loopback):
        // they are the wrong direction and must not be listed.
        route(card, "Loop Mixer", "Media", "MM Playback");
        route(card, "DMIC Capture", "", "Loop Mixer");
        route(card, "HS Capture", "", "Loop Mixer");
        ASSERT_TRUE(card.finish().ok());
        media = *card.find_fe("Media");
        other = *card.find_fe("Other");
    }
    std::vector<size_t> be(std::initializer_list<const char*> names) const {
        std::vector<size_t> out;
        for (const char* n : names) out.push_back(*card.find_be(n));
        return out;
    }
    Card card{"dpcm"};
    size_t media = 0, other = 0;
};

TEST_F(FeRoutes, PlaybackDefaultAndAfterSwitching) {
    EXPECT_EQ(card.fe_routes(media, Stream::Playback), be({"Speaker I2S"}));
    ASSERT_TRUE(card.put("HS Mixer Media", "on").value());
    EXPECT_EQ(card.fe_routes(media, Stream::Playback), be({"Speaker I2S", "Headset"}));
    ASSERT_TRUE(card.put("SPK Mixer Media", "off").value());
    EXPECT_EQ(card.fe_routes(media, Stream::Playback), be({"Headset"}));
    ASSERT_TRUE(card.put("HS Mixer Media", "off").value());
    EXPECT_TRUE(card.fe_routes(media, Stream::Playback).empty());
}

TEST_F(FeRoutes, CaptureMultipleBes) {
    EXPECT_EQ(card.fe_routes(media, Stream::Capture), be({"Headset"}));
    ASSERT_TRUE(card.put("Media Capture Mixer DMIC", "on").value());
    EXPECT_EQ(card.fe_routes(media, Stream::Capture), be({"Headset", "DMIC"})) << "sorted by BE index";
}

TEST_F(FeRoutes, BeReachedOnlyInTheOtherDirectionIsNotListed) {
    // Media playback reaches "DMIC Capture" (DMIC has no playback) and "HS Capture" (Headset's
    // capture DAI) over the connected loop mixer: neither makes the BE a playback route.
    const auto loop = path_connected(card, "Loop Mixer", "DMIC Capture");
    ASSERT_EQ(loop, true);
    const auto routes = card.fe_routes(media, Stream::Playback);
    EXPECT_EQ(routes, be({"Speaker I2S"}));
}

TEST_F(FeRoutes, WalkStopsAtTheBe) {
    ASSERT_TRUE(card.put("C2C Mixer Media", "on").value());
    EXPECT_EQ(card.fe_routes(media, Stream::Playback), be({"Speaker I2S", "Codec2Codec"}))
        << "'Downstream' lies past the Codec2Codec BE DAI widget and is not an FE route";
}

TEST_F(FeRoutes, OtherFeAndBadArguments) {
    EXPECT_TRUE(card.fe_routes(other, Stream::Playback).empty());
    ASSERT_TRUE(card.put("SPK Mixer Other", "on").value());
    EXPECT_EQ(card.fe_routes(other, Stream::Playback), be({"Speaker I2S"}));
    EXPECT_TRUE(card.fe_routes(other, Stream::Capture).empty()) << "Other has no capture";
    EXPECT_TRUE(card.fe_routes(99, Stream::Playback).empty());
    EXPECT_TRUE(card.routing_controls(99, Stream::Playback).empty());
    EXPECT_TRUE(card.routing_controls(other, Stream::Capture).empty());
}

TEST_F(FeRoutes, BeOfWidget) {
    EXPECT_EQ(card.be_of_widget(*card.graph().find("HS Playback")), std::optional<size_t>{1});
    EXPECT_EQ(card.be_of_widget(*card.graph().find("HS Capture")), std::optional<size_t>{1});
    EXPECT_EQ(card.be_of_widget(*card.graph().find("DMIC Capture")), std::optional<size_t>{2});
    EXPECT_FALSE(card.be_of_widget(*card.graph().find("MM Playback")).has_value());
    EXPECT_FALSE(card.be_of_widget(*card.graph().find("SPK Mixer")).has_value());
    EXPECT_FALSE(card.be_of_widget(100000).has_value());
}

TEST_F(FeRoutes, RoutingControlsListTheMixerControlsBetweenFeAndBes) {
    // Connection state does not matter; controls of other FEs and controls past a BE do.
    // ("Loop Mixer Media" only leads to capture DAI widgets, so it can never give Media a
    // playback BE; whether it is listed is left open.)
    auto playback_controls = [&] {
        auto v = card.routing_controls(media, Stream::Playback);
        std::erase(v, std::string("Loop Mixer Media"));
        return v;
    };
    const std::vector<std::string> playback{"SPK Mixer Media", "HS Mixer Media", "C2C Mixer Media"};
    EXPECT_EQ(playback_controls(), playback);
    ASSERT_TRUE(card.put("SPK Mixer Media", "off").value());
    EXPECT_EQ(playback_controls(), playback);

    const std::vector<std::string> capture{"Media Capture Mixer HS", "Media Capture Mixer DMIC"};
    EXPECT_EQ(card.routing_controls(media, Stream::Capture), capture);
    EXPECT_EQ(card.routing_controls(other, Stream::Playback), std::vector<std::string>{"SPK Mixer Other"});
}

TEST(CardRoutingControls, IncludesMuxesOnTheWay) {
    Card card("muxroute");
    ASSERT_TRUE(card.add_fe_link(Fe("FE", "FE Playback")).ok());
    ASSERT_TRUE(card.add_be_link(Be("BE", "BE Playback")).ok());
    add(card, W("Src", WidgetType::Siggen));
    add(card, W("Sel", WidgetType::Mux, {Enum("Sel", {"Tone", "FE"}, 0)}));
    route(card, "Sel", "Tone", "Src");
    route(card, "Sel", "FE", "FE Playback");
    route(card, "BE Playback", "", "Sel");
    ASSERT_TRUE(card.finish().ok());
    EXPECT_EQ(card.routing_controls(0, Stream::Playback), std::vector<std::string>{"Sel"});
    EXPECT_TRUE(card.fe_routes(0, Stream::Playback).empty());
    ASSERT_TRUE(card.put("Sel", "FE").value());
    EXPECT_EQ(card.fe_routes(0, Stream::Playback), std::vector<size_t>{0});
}

// ---------------------------------------------------------------------------------------------
// finish(): DAI stream binding (snd_soc_dapm_link_dai_widgets)

TEST(CardFinish, AifBindsToItsDaiStreamWidget) {
    Card card("bind");
    ASSERT_TRUE(card.add_be_link(Be("Codec", "X Playback", "X Capture")).ok());
    const WidgetId rx = add(card, Aif("AIF1 RX", WidgetType::AifIn, "X Playback"));
    const WidgetId tx = add(card, Aif("AIF1 TX", WidgetType::AifOut, "X Capture"));
    const WidgetId dac = add(card, Aif("DAC1", WidgetType::Dac, "X Playback"));
    const WidgetId adc = add(card, Aif("ADC1", WidgetType::Adc, "X Capture"));
    add(card, W("Plain AIF", WidgetType::AifIn));  // no stream: left alone
    const size_t paths_before = card.graph().path_count();
    ASSERT_TRUE(card.finish().ok());
    EXPECT_EQ(card.graph().path_count(), paths_before + 4);
    const WidgetId xp = *card.graph().find("X Playback");
    const WidgetId xc = *card.graph().find("X Capture");
    EXPECT_EQ(path_connected(card, "X Playback", "AIF1 RX"), true);
    EXPECT_EQ(path_connected(card, "X Playback", "DAC1"), true);
    EXPECT_EQ(path_connected(card, "AIF1 TX", "X Capture"), true);
    EXPECT_EQ(path_connected(card, "ADC1", "X Capture"), true);
    ASSERT_EQ(card.graph().widget(rx).sources.size(), 1u);
    EXPECT_EQ(card.graph().path(card.graph().widget(rx).sources[0]).source, xp);
    EXPECT_EQ(card.graph().path(card.graph().widget(tx).sinks[0]).sink, xc);
    EXPECT_EQ(card.graph().widget(dac).sources.size(), 1u);
    EXPECT_EQ(card.graph().widget(adc).sinks.size(), 1u);
    // finish() is idempotent.
    ASSERT_TRUE(card.finish().ok());
    EXPECT_EQ(card.graph().path_count(), paths_before + 4);
}

// snd_soc_dapm_link_dai_widgets leaves a widget whose stream no DAI has unbound; dynpcm warns.
std::string all_warnings(const Card& card) {
    std::string w;
    for (const auto& n : card.warnings()) w += n.message + "\n";
    return w;
}

TEST(CardFinish, UnknownStreamIsAWarningWithASuggestion) {
    Card card("bind");
    ASSERT_TRUE(card.add_be_link(Be("Codec", "X Playback")).ok());
    add(card, Aif("AIF1 RX", WidgetType::AifIn, "X Playbak"));
    ASSERT_TRUE(card.finish().ok());
    EXPECT_TRUE(Contains(all_warnings(card), "widget 'AIF1 RX': stream 'X Playbak' is the stream of no DAI in its "
                                             "component; left unbound"));
    EXPECT_TRUE(Contains(all_warnings(card), "(did you mean 'X Playback'?)"));
    EXPECT_TRUE(card.graph().widget(*card.graph().find("AIF1 RX")).sources.empty());
}

TEST(CardFinish, StreamBindsInTheDaiWidgetsDirection) {
    // The kernel joins by the DAI widget's type, whatever the widget's own: a playback DAI
    // widget feeds every widget whose sname holds its stream.
    Card card("bind");
    ASSERT_TRUE(card.add_be_link(Be("Codec", "X Playback", "X Capture")).ok());
    add(card, Aif("AIF1 TX", WidgetType::AifOut, "X Playback"));
    ASSERT_TRUE(card.finish().ok());
    const WidgetId aif = *card.graph().find("AIF1 TX");
    ASSERT_EQ(card.graph().widget(aif).sources.size(), 1u);
    EXPECT_EQ(card.graph().path(card.graph().widget(aif).sources[0]).source, *card.graph().find("X Playback"));
    EXPECT_EQ(card.stream_bindings(), 1u);
}

TEST(CardFinish, FarUnknownStreamHasNoSuggestion) {
    Card card("bind");
    ASSERT_TRUE(card.add_be_link(Be("Codec", "X Playback")).ok());
    add(card, Aif("AIF1 RX", WidgetType::AifIn, "Completely Different"));
    ASSERT_TRUE(card.finish().ok());
    EXPECT_TRUE(Contains(all_warnings(card), "left unbound"));
    EXPECT_TRUE(Lacks(all_warnings(card), "did you mean"));
}

// ---------------------------------------------------------------------------------------------
// parse_ctl_value / format_ctl_value / db_at

TEST(CtlValue, BooleanWords) {
    const Control c = make_control("Flag", Bool("Flag"));
    for (const char* s : {"on", "ON", "true", "True", "1", "yes", " on "}) {
        auto v = parse_ctl_value(c, s);
        ASSERT_TRUE(v.ok()) << s << ": " << message(v);
        EXPECT_EQ(*v, std::vector<int64_t>{1}) << s;
    }
    for (const char* s : {"off", "OFF", "false", "0", "no"}) {
        auto v = parse_ctl_value(c, s);
        ASSERT_TRUE(v.ok()) << s << ": " << message(v);
        EXPECT_EQ(*v, std::vector<int64_t>{0}) << s;
    }
    for (const char* s : {"2", "maybe", "", "onn"}) {
        auto v = parse_ctl_value(c, s);
        ASSERT_FALSE(v.ok()) << "'" << s << "' parsed";
        EXPECT_EQ(v.code(), -EINVAL);
        EXPECT_TRUE(Contains(v.error().message(), "'Flag'"));
    }
}

TEST(CtlValue, EnumByNameCaseInsensitivelyAndByIndex) {
    const Control c = make_control("Mode", Enum("Mode", {"Off", "Handset", "Speakerphone"}));
    EXPECT_EQ(parse_ctl_value(c, "Handset").value(), std::vector<int64_t>{1});
    EXPECT_EQ(parse_ctl_value(c, "handset").value(), std::vector<int64_t>{1});
    EXPECT_EQ(parse_ctl_value(c, "SPEAKERPHONE").value(), std::vector<int64_t>{2});
    EXPECT_EQ(parse_ctl_value(c, "off").value(), std::vector<int64_t>{0});
    EXPECT_EQ(parse_ctl_value(c, "2").value(), std::vector<int64_t>{2});
    EXPECT_EQ(parse_ctl_value(c, "0").value(), std::vector<int64_t>{0});
    auto unknown = parse_ctl_value(c, "Bluetooth");
    ASSERT_FALSE(unknown.ok());
    EXPECT_TRUE(Contains(unknown.error().message(), "unknown item 'Bluetooth'"));
    EXPECT_TRUE(Contains(unknown.error().message(), "Off, Handset, Speakerphone"));
    auto out = parse_ctl_value(c, "3");
    ASSERT_FALSE(out.ok()) << "index past the last item";
    EXPECT_TRUE(Contains(out.error().message(), "'Mode'"));
}

TEST(CtlValue, CommaListsAndSingleValueFillsAllChannels) {
    const Control c = make_control("Volume", Int("Volume", 0, 100, 1, {}, 2));
    EXPECT_EQ(parse_ctl_value(c, "80,75").value(), (std::vector<int64_t>{80, 75}));
    EXPECT_EQ(parse_ctl_value(c, "80, 75").value(), (std::vector<int64_t>{80, 75}));
    EXPECT_EQ(parse_ctl_value(c, "50").value(), (std::vector<int64_t>{50, 50}));
    EXPECT_EQ(parse_ctl_value(c, "0x10").value(), (std::vector<int64_t>{16, 16}));
    auto three = parse_ctl_value(c, "1,2,3");
    ASSERT_FALSE(three.ok());
    EXPECT_TRUE(Contains(three.error().message(), "expects 2 value(s), got 3"));
    auto range = parse_ctl_value(c, "80,101");
    ASSERT_FALSE(range.ok());
    EXPECT_TRUE(Contains(range.error().message(), "101 is out of range 0..100"));
    auto garbage = parse_ctl_value(c, "80,loud");
    ASSERT_FALSE(garbage.ok());
    EXPECT_TRUE(Contains(garbage.error().message(), "'loud'"));
    auto empty_part = parse_ctl_value(c, "80,");
    EXPECT_FALSE(empty_part.ok());

    const Control neg = make_control("Offset", Int("Offset", -10, 10));
    EXPECT_EQ(parse_ctl_value(neg, "-5").value(), std::vector<int64_t>{-5});
    EXPECT_EQ(parse_ctl_value(neg, "+5").value(), std::vector<int64_t>{5});
}

TEST(CtlValue, HexBytes) {
    const Control c = make_control("Coeffs", Bytes("Coeffs", 4));
    EXPECT_EQ(parse_ctl_value(c, "0x01,0xff,16,0").value(), (std::vector<int64_t>{1, 255, 16, 0}));
    EXPECT_EQ(parse_ctl_value(c, "0XAB").value(), (std::vector<int64_t>{0xab, 0xab, 0xab, 0xab}));
    auto big = parse_ctl_value(c, "0x100,0,0,0");
    ASSERT_FALSE(big.ok());
    EXPECT_TRUE(Contains(big.error().message(), "256"));
    EXPECT_FALSE(parse_ctl_value(c, "0xzz,0,0,0").ok());
}

TEST(CtlValue, Format) {
    Control b = make_control("Flag", Bool("Flag", 1));
    EXPECT_EQ(format_ctl_value(b), "on");
    b.value = {0};
    EXPECT_EQ(format_ctl_value(b), "off");
    Control e = make_control("Mode", Enum("Mode", {"Off", "Handset", "Speakerphone"}, 2));
    EXPECT_EQ(format_ctl_value(e), "Speakerphone");
    Control i = make_control("Volume", Int("Volume", 0, 100, 1, {80, 75}, 2));
    EXPECT_EQ(format_ctl_value(i), "80,75");
    Control y = make_control("Coeffs", Bytes("Coeffs", 3));
    y.value = {1, 255, 0};
    EXPECT_EQ(format_ctl_value(y), "1,255,0");
    // format and parse round-trip.
    for (const Control* c : {&b, &e, &i, &y}) {
        auto back = parse_ctl_value(*c, format_ctl_value(*c));
        ASSERT_TRUE(back.ok()) << c->id.name << ": " << message(back);
        EXPECT_EQ(*back, c->value) << c->id.name;
    }
}

TEST(CtlValue, DbAtWithMute) {
    KcontrolSpec k = Int("Volume", 0, 127);
    k.info.db = DbScale{-6350, 50, true};
    Control c = make_control("Volume", k);
    const auto mute = c.db_at(0);
    ASSERT_TRUE(mute.has_value());
    EXPECT_DOUBLE_EQ(*mute, -99999.99) << "SND_CTL_TLV_DB_GAIN_MUTE";
    EXPECT_DOUBLE_EQ(c.db_at(1).value(), -63.0);
    EXPECT_DOUBLE_EQ(c.db_at(127).value(), 0.0);
    EXPECT_DOUBLE_EQ(c.db_at(100).value(), -13.5);

    c.info.db->mute = false;
    EXPECT_DOUBLE_EQ(c.db_at(0).value(), -63.5);

    KcontrolSpec off = Int("Offset", -10, 10);
    off.info.db = DbScale{-1000, 100, true};
    Control o = make_control("Offset", off);
    EXPECT_LT(o.db_at(-10).value(), -9999.0) << "mute applies at the minimum, which need not be 0";
    EXPECT_DOUBLE_EQ(o.db_at(-9).value(), -9.0);
    EXPECT_DOUBLE_EQ(o.db_at(0).value(), 0.0);

    Control plain = make_control("Plain", Int("Plain", 0, 10));
    EXPECT_FALSE(plain.db_at(5).has_value());
}

TEST(CtlValue, ConnectsHonoursInvert) {
    Control c = make_control("Sw", Bool("Sw"));
    EXPECT_FALSE(c.connects(0));
    EXPECT_TRUE(c.connects(1));
    c.info.invert = true;
    EXPECT_TRUE(c.connects(0));
    EXPECT_FALSE(c.connects(1));
}

TEST(CtlValue, TypeAndIfaceNames) {
    EXPECT_STREQ(ctl_type_name(CtlType::Boolean), "BOOLEAN");
    EXPECT_STREQ(ctl_type_name(CtlType::Integer), "INTEGER");
    EXPECT_STREQ(ctl_type_name(CtlType::Enumerated), "ENUMERATED");
    EXPECT_STREQ(ctl_type_name(CtlType::Bytes), "BYTES");
    EXPECT_STREQ(ctl_iface_name(CtlIface::Mixer), "MIXER");
}

TEST(CardControls, NameLengthLimit) {
    Card card("len");
    const std::string ok43(kCtlNameMax, 'a');
    EXPECT_TRUE(card.add_control(Bool(ok43)).ok());
    auto r = card.add_control(Bool(std::string(kCtlNameMax + 1, 'b')));
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(Contains(r.error().message(), "is 44 characters; ALSA allows at most 43"));
    // The limit applies to the full "<widget> <kcontrol>" name.
    auto w = card.add_widget(W(std::string(30, 'W'), WidgetType::Mixer, {Bool(std::string(13, 'k'))}));
    ASSERT_FALSE(w.ok());
    EXPECT_TRUE(Contains(w.error().message(), "44 characters"));
}

}  // namespace
}  // namespace dynpcm

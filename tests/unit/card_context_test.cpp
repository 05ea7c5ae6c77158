// DAPM contexts (components), DAIs and DAI links as the kernel has them, read from card files:
// per-context widget names and prefixes, the kernel's route resolution, the CPU-codec
// connections of BE links, PCM device numbers, and disable_route_checks.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "dynpcm/card/card.h"
#include "dynpcm/card/card_file.h"

namespace dynpcm {
namespace {

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& e : v) s += e + "\n";
    return s;
}

bool has(const std::vector<std::string>& v, const std::string& part) {
    return std::any_of(v.begin(), v.end(), [&](const std::string& e) { return e.find(part) != std::string::npos; });
}

// The widget of that name in that component.
std::optional<WidgetId> in(const Card& c, const std::string& name, const std::string& component) {
    const auto ctx = c.find_component(component);
    if (!ctx) return std::nullopt;
    for (WidgetId w : c.graph().named(name))
        if (c.graph().widget(w).context == *ctx) return w;
    return std::nullopt;
}

bool path(const Card& c, WidgetId source, WidgetId sink) {
    for (PathId p : c.graph().widget(sink).sources)
        if (c.graph().path(p).source == source) return true;
    return false;
}

// Two codecs with widgets of the same name, a platform with the CPU DAIs, a machine route.
constexpr const char* kTwoCodecs = R"(card: ctx
components:
  - name: platform
    dais:
      - {name: SSP0 Pin, playback: ssp0 Tx, capture: ssp0 Rx}
      - {name: FE Pin, playback: System Playback}
    widgets:
      - {name: Mix, type: mixer, controls: [{name: Sys, value: on}]}
    routes:
      - [Mix, Sys, System Playback]
      - [ssp0 Tx, ~, Mix]
  - name: codec-a
    prefix: Left
    dais:
      - {name: aif, playback: AIF Playback, capture: AIF Capture}
    widgets:
      - {name: DAC, type: dac, stream: AIF Playback}
      - {name: ADC, type: adc, stream: AIF Capture}
      - {name: SPK, type: spk}
      - {name: Amp, type: pga, controls: [{name: Volume, type: int, max: 10, value: 5}]}
      - {name: Mic, type: mic}
    routes:
      - [Amp, ~, DAC]
      - [SPK, ~, Amp]
      - [ADC, ~, Mic]
  - name: codec-b
    prefix: Right
    dais:
      - {name: aif, playback: AIF Playback}
    widgets:
      - {name: DAC, type: dac, stream: AIF Playback}
      - {name: SPK, type: spk}
    routes:
      - [SPK, ~, DAC]
fe_links:
  - {name: Media, cpu_dai: FE Pin}
be_links:
  - {name: SSP0-Codec, cpus: [SSP0 Pin], codecs: ["codec-a:aif", "codec-b:aif"]}
)";

TEST(CardContexts, PrefixesNameWidgetsAndControlsPerComponent) {
    const auto r = load_card_string(kTwoCodecs, "t.yaml");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const Card& c = *r.card;
    ASSERT_EQ(c.components().size(), 4u);
    EXPECT_TRUE(in(c, "Left DAC", "codec-a"));
    EXPECT_TRUE(in(c, "Right DAC", "codec-b"));
    EXPECT_TRUE(in(c, "Left AIF Playback", "codec-a"));  // DAI widgets are prefixed; their sname is not
    EXPECT_EQ(c.graph().widget(*in(c, "Left AIF Playback", "codec-a")).stream, "AIF Playback");
    EXPECT_NE(c.find_control("Left Amp Volume"), nullptr);
    // A component's routes take its prefix: "Left Amp" <- "Left DAC".
    EXPECT_TRUE(path(c, *in(c, "Left DAC", "codec-a"), *in(c, "Left Amp", "codec-a")));
    // Stream bindings stay inside a context: codec-b's DAC is bound to its own DAI only.
    EXPECT_TRUE(path(c, *in(c, "Right AIF Playback", "codec-b"), *in(c, "Right DAC", "codec-b")));
    EXPECT_FALSE(path(c, *in(c, "Left AIF Playback", "codec-a"), *in(c, "Right DAC", "codec-b")));
}

TEST(CardContexts, BeLinkConnectsItsCpuDaiToEachCodecDai) {
    const auto r = load_card_string(kTwoCodecs, "t.yaml");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const Card& c = *r.card;
    const WidgetId cpu_tx = *in(c, "ssp0 Tx", "platform"), cpu_rx = *in(c, "ssp0 Rx", "platform");
    // snd_soc_dapm_connect_dai_link_widgets: playback CPU -> codec, capture codec -> CPU; one
    // CPU serves both codecs; codec-b has no capture stream, so capture pairs with codec-a only.
    EXPECT_TRUE(path(c, cpu_tx, *in(c, "Left AIF Playback", "codec-a")));
    EXPECT_TRUE(path(c, cpu_tx, *in(c, "Right AIF Playback", "codec-b")));
    EXPECT_TRUE(path(c, *in(c, "Left AIF Capture", "codec-a"), cpu_rx));
    EXPECT_EQ(c.dai_link_connections(), 3u);
    // The link has both directions, and every one of its DAI widgets belongs to it.
    const BeLink& be = c.be_links()[0];
    ASSERT_TRUE(be.playback && be.capture);
    EXPECT_EQ(be.playback->dai_widgets.size(), 3u);
    EXPECT_EQ(c.be_of_widget(*in(c, "Right AIF Playback", "codec-b")), std::optional<size_t>{0});
    // The FE reaches it through the platform's mixer.
    EXPECT_EQ(c.fe_routes(0, Stream::Playback), std::vector<size_t>{0});
}

TEST(CardContexts, SameNameInOneComponentIsAnError) {
    const std::string text = R"(card: x
components:
  - name: codec
    widgets:
      - {name: DAC, type: dac}
      - {name: DAC, type: pga}
)";
    const auto r = load_card_string(text, "t.yaml");
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(has(r.errors, "t.yaml:6: widget 'DAC' is defined twice in component 'codec'")) << joined(r.errors);
}

TEST(CardContexts, MachineRouteTakesTheLastOfSeveralAndWarns) {
    // snd_soc_dapm_add_route: no widget of the name in the card's own context, so the last
    // one card-wide, with the kernel's "overwritten" warning.
    const std::string text = R"(card: x
components:
  - name: one
    widgets: [{name: Out, type: output}]
  - name: two
    widgets: [{name: Out, type: output}]
widgets:
  - {name: Sig, type: siggen}
routes:
  - [Out, ~, Sig]
)";
    const auto r = load_card_string(text, "t.yaml");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const Card& c = *r.card;
    const WidgetId sig = *c.graph().find("Sig");
    EXPECT_TRUE(path(c, sig, *in(c, "Out", "two")));
    EXPECT_FALSE(path(c, sig, *in(c, "Out", "one")));
    EXPECT_TRUE(has(r.warnings, "sink widget 'Out' is in 2 components; the route takes the last, 'Out' (component 'two')"))
        << joined(r.warnings);
}

TEST(CardContexts, ComponentRouteFindsItsOwnWidgetFirstAndADaiWidgetBeforeATopologyOne) {
    // skl_hda_dsp_generic: the platform's DAI widget "DMIC01 Rx" and a topology widget of that
    // name share the platform's context; the DAI's is made first, so routes reach it.
    const std::string text = R"(card: x
components:
  - name: platform
    dais:
      - {name: DMIC01 Pin, capture: DMIC01 Rx}
      - {name: FE Pin, capture: DMIC Capture}
    widgets:
      - {name: DMIC01 Rx, type: aif_in}
      - {name: cap, type: pga}
    routes:
      - [cap, ~, DMIC01 Rx]
      - [DMIC Capture, ~, cap]
fe_links:
  - {name: DMIC, cpu_dai: FE Pin}
be_links:
  - {name: dmic01, cpus: [DMIC01 Pin]}
)";
    const auto r = load_card_string(text, "t.yaml");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const Card& c = *r.card;
    EXPECT_TRUE(has(r.warnings, "widget 'DMIC01 Rx' (aif_in) in component 'platform' has the name of a DAI stream widget"))
        << joined(r.warnings);
    EXPECT_EQ(c.fe_routes(0, Stream::Capture), std::vector<size_t>{0});
}

TEST(CardContexts, PcmDeviceNumbersInTheKernelsOrder) {
    const std::string text = R"(card: x
fe_links:
  - {name: A, playback: {stream: A Playback}}
  - {name: B, playback: {stream: B Playback}, device: 7}
  - {name: C, capture: {stream: C Capture}}
be_links:
  - {name: X, playback: {stream: X Playback}}
)";
    const auto r = load_card_string(text, "t.yaml");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const Card& c = *r.card;
    EXPECT_EQ(c.fe_links()[0].device_number, 0u);
    EXPECT_EQ(c.fe_links()[1].device_number, 7u);  // asked for
    EXPECT_EQ(c.fe_links()[2].device_number, 2u);  // the runtime's number: B took 1
    EXPECT_EQ(c.be_links()[0].number, 3u);         // BEs take numbers too
    EXPECT_EQ(c.find_fe_device(2), std::optional<size_t>{2});
    const std::string clash = R"(card: x
fe_links:
  - {name: A, playback: {stream: A Playback}, device: 1}
  - {name: B, playback: {stream: B Playback}}
)";
    const auto r2 = load_card_string(clash, "t.yaml");
    EXPECT_FALSE(r2.ok());
    EXPECT_TRUE(has(r2.errors, "FE links 'A' and 'B' both have PCM device 1")) << joined(r2.errors);
}

TEST(CardContexts, DisableRouteChecksTurnsAbsentWidgetsIntoWarnings) {
    const std::string base = R"(card: x
widgets:
  - {name: Sig, type: siggen}
  - {name: Out, type: output}
routes:
  - [Out, ~, Sig]
  - [HDMI3, ~, Sig]
)";
    const auto strict = load_card_string(base, "t.yaml");
    EXPECT_FALSE(strict.ok());
    EXPECT_TRUE(has(strict.errors, "t.yaml:7: route 2: unknown sink widget 'HDMI3'")) << joined(strict.errors);
    const auto lenient = load_card_string("disable_route_checks: true\n" + base, "t.yaml");
    ASSERT_TRUE(lenient.ok()) << joined(lenient.errors);
    EXPECT_TRUE(has(lenient.warnings, "t.yaml:8: route 2: unknown sink widget 'HDMI3' (left out: disable_route_checks)"))
        << joined(lenient.warnings);
}

TEST(CardContexts, MultiCpuAndCodecPairing) {
    // SoundWire aggregation: two CPU DAIs and two codec DAIs pair i with i; 2 against 3 needs a
    // channel map the kernel has and dynpcm does not read.
    std::string text = R"(card: x
components:
  - name: platform
    dais:
      - {name: SDW0 Pin, playback: SDW0 Tx}
      - {name: SDW1 Pin, playback: SDW1 Tx}
  - name: amp-l
    prefix: L
    dais: [{name: amp, playback: Amp Playback}]
  - name: amp-r
    prefix: R
    dais: [{name: amp, playback: Amp Playback}]
  - name: amp-c
    prefix: C
    dais: [{name: amp, playback: Amp Playback}]
be_links:
  - {name: SDW, cpus: [SDW0 Pin, SDW1 Pin], codecs: ["amp-l:amp", "amp-r:amp"]}
)";
    const auto r = load_card_string(text, "t.yaml");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const Card& c = *r.card;
    EXPECT_TRUE(path(c, *in(c, "SDW0 Tx", "platform"), *in(c, "L Amp Playback", "amp-l")));
    EXPECT_TRUE(path(c, *in(c, "SDW1 Tx", "platform"), *in(c, "R Amp Playback", "amp-r")));
    EXPECT_FALSE(path(c, *in(c, "SDW0 Tx", "platform"), *in(c, "R Amp Playback", "amp-r")));
    text.replace(text.find("\"amp-r:amp\"]"), 12, "\"amp-r:amp\", \"amp-c:amp\"]");
    const auto bad = load_card_string(text, "t.yaml");
    EXPECT_FALSE(bad.ok());
    EXPECT_TRUE(has(bad.errors, "BE link 'SDW': 2 CPU DAIs and 3 codec DAIs pair only with a channel map")) << joined(bad.errors);
}

TEST(CardContexts, BadDaiReferencesAreNamed) {
    const auto r = load_card_string(R"(card: x
components:
  - name: a
    dais: [{name: aif, playback: P}]
  - name: b
    dais: [{name: aif, playback: P}]
be_links:
  - {name: L, cpus: [aif]}
  - {name: M, cpus: [nope]}
)",
                                    "t.yaml");
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(has(r.errors, "t.yaml:8: BE link 'L': no DAI 'aif' (or more than one: give 'component:dai')")) << joined(r.errors);
    EXPECT_TRUE(has(r.errors, "t.yaml:9: BE link 'M': no DAI 'nope'")) << joined(r.errors);
}

}  // namespace
}  // namespace dynpcm

namespace dynpcm {
namespace {

TEST(CardContexts, OneCodecDaiOnTwoBeLinksLeadsToTheFirst) {
    // dmic-codec's DAI is on both dmic01 and dmic16k in Intel machines; an FE reaching its
    // widget reaches the first link, as dpcm_get_be finds it. An FE link with cpu_dai takes the
    // directions it gives (a capture-only FE on a DAI with both streams).
    const auto r = load_card_string(R"(card: x
components:
  - name: platform
    dais:
      - {name: DMIC01 Pin, capture: DMIC01 Rx}
      - {name: DMIC16k Pin, capture: DMIC16k Rx}
      - {name: System Pin, playback: System Playback, capture: System Capture}
    routes:
      - [System Capture, ~, DMIC01 Rx]
  - name: dmic-codec
    dais: [{name: dmic-hifi, capture: Capture}]
fe_links:
  - {name: Capture Port, cpu_dai: System Pin, capture: {}}
be_links:
  - {name: dmic01, cpus: [DMIC01 Pin], codecs: [dmic-hifi]}
  - {name: dmic16k, cpus: [DMIC16k Pin], codecs: [dmic-hifi]}
)",
                                    "t.yaml");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const Card& c = *r.card;
    EXPECT_FALSE(c.fe_links()[0].playback.has_value());
    EXPECT_EQ(c.fe_routes(0, Stream::Capture), std::vector<size_t>{0});
    EXPECT_EQ(c.be_of_widget(*in(c, "Capture", "dmic-codec")), std::optional<size_t>{0});
    EXPECT_EQ(c.dai_link_connections(), 2u);
}

}  // namespace
}  // namespace dynpcm

// libFuzzer target: the scenario loader, and the check of a loaded scenario against a card,
// must never crash, hang or leak on any input, and every error must name a location.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dynpcm/card/card_file.h"
#include "dynpcm/scenario/runner.h"

namespace {
// A small card the checker resolves names against.
constexpr std::string_view kCard = R"(card: Fuzz
fe_links:
  - {name: Media Playback, playback: {stream: MM Playback}}
  - {name: Voice Call, playback: {stream: V Playback}, capture: {stream: V Capture}}
be_links:
  - {name: Speaker amp I2S, playback: {stream: Spk Playback}, backend: {type: sim}}
  - {name: DMIC, capture: {stream: Mic Capture}, backend: {type: sim}}
widgets:
  - {name: Mix, type: mixer, controls: [{name: MultiMedia1, value: on}]}
  - {name: Headphone, type: hp, pin_switch: true}
  - {name: Mic In, type: mic}
routes:
  - [Mix, MultiMedia1, MM Playback]
  - [Spk Playback, ~, Mix]
  - [Headphone, ~, Spk Playback]
  - [Mic Capture, ~, Mic In]
  - [V Capture, ~, Mic Capture]
)";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const dynpcm::CardLoad card = dynpcm::load_card_string(kCard, "fuzz-card.yaml");
    if (!card.ok()) std::abort();
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    dynpcm::scenario::ScenarioLoad l = dynpcm::scenario::load_scenario_string(text, "fuzz.yaml");
    if (l.scenario == nullptr && l.errors.empty()) std::abort();  // failed without saying why
    for (const auto& e : l.errors)
        if (e.rfind("fuzz.yaml:", 0) != 0) std::abort();          // an error that names no location
    if (l.scenario) {
        auto r = dynpcm::scenario::check_scenario(*l.scenario, *card.card);
        if (!r && r.error().message().rfind("fuzz.yaml:", 0) != 0) std::abort();
    }
    return 0;
}

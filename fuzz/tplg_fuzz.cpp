// libFuzzer target: the topology loader must never crash, hang or leak on any bytes; a failed
// parse must name the byte offset, and a parsed topology must build a card (with a machine
// overlay whose BE link takes link config 0 and DAI config "SSP0 Pin") or say why not.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "dynpcm/topology/topology_card.h"

namespace {

constexpr std::string_view kOverlay = R"(
be_links:
  - name: BE0
    id: 0
    cpu_dai: SSP0 Pin
    playback: {stream: BE0 Playback}
    capture: {stream: BE0 Capture}
)";

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto t = dynpcm::tplg::parse_topology(std::span<const uint8_t>(data, size), "fuzz.tplg");
    if (!t) {
        if (!starts_with(t.error().message(), "fuzz.tplg: offset 0x")) std::abort();  // no offset named
        return 0;
    }
    for (std::string_view overlay : {std::string_view{}, kOverlay}) {
        dynpcm::CardLoad l = dynpcm::build_topology_card(*t, overlay, "overlay.yaml");
        if (l.card == nullptr && l.errors.empty()) std::abort();  // failed without saying why
        for (const auto& e : l.errors)
            if (!starts_with(e, "fuzz.tplg") && !starts_with(e, "overlay.yaml:")) std::abort();
        if (l.card)
            for (size_t fe = 0; fe < l.card->fe_links().size(); ++fe) {
                (void)l.card->fe_routes(fe, dynpcm::Stream::Playback);
                (void)l.card->fe_routes(fe, dynpcm::Stream::Capture);
            }
    }
    return 0;
}

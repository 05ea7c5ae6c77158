#pragma once
/// A card from an ALSA topology and a machine overlay (docs/TOPOLOGY.md).
///
/// The topology gives what soc-topology.c gives a kernel card: widgets and their kcontrols,
/// card-level controls, the DAPM graph, and PCMs, which become FE links (DAI stream widgets
/// named after their capabilities, "System Playback"). What it leaves to the machine driver
/// comes from the overlay, a card-file fragment: BE links (with their dai_link `id` and
/// `cpu_dai`, which the topology's link and DAI configs match), their backends, codec widgets
/// and the routes between codec widgets and BE DAI streams. Link configs set a BE's fixup
/// (format, rate, channels) where the overlay leaves it open, and its DAI format; DAI configs
/// narrow what a BE's streams accept.
///
/// Errors name the topology's byte offset or the overlay's line. Warnings report what the
/// topology carries that dynpcm keeps but does not interpret (private data, vendor tuples,
/// vendor blocks) and configs that matched no BE link.

#include <string>
#include <string_view>

#include "dynpcm/card/card_file.h"
#include "dynpcm/topology/topology.h"

namespace dynpcm {

/// Loads FILE.tplg (or compiles FILE.conf) and, when `overlay_path` is not empty, the overlay.
/// Thread: control. Blocking: reads files, and waits for alsatplg on a .conf. Allocates: yes.
CardLoad load_topology_card(const std::string& tplg_path, const std::string& overlay_path = {});

/// The same from a parsed topology and overlay text (empty: no overlay); `overlay_name` is used
/// in messages and to find WAV files next to it. Thread: control. Allocates: yes.
CardLoad build_topology_card(const tplg::Topology& topology, std::string_view overlay_text,
                             std::string_view overlay_name);

}  // namespace dynpcm

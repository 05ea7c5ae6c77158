#pragma once
// Reading a card file as a machine overlay on top of what a topology already gives the card
// (src/topology/topology_card.cpp). The card file loader calls these at fixed points so that
// one set of rules reads both whole card files and overlays. Internal. Thread: control.

#include <functional>
#include <string>
#include <string_view>

#include "dynpcm/card/card_file.h"

namespace dynpcm {

struct OverlayHooks {
    std::string default_name;                  ///< the card's name when the overlay gives none
    std::function<void(Card&)> add_first;      ///< before the overlay's widgets: the topology's objects
    std::function<void(BeLink&)> configure_be; ///< each overlay BE link before it is added
    std::function<void(Card&)> add_missing_bes;///< after the overlay's BE links: those the topology implies
    /// Before the overlay's routes: the topology's graph. With `overlay_had_key_error`, routes
    /// to missing widgets are counted, not reported one by one (they likely follow from it).
    std::function<void(Card&, bool overlay_had_key_error)> add_routes;
    /// "file: offset 0x..", where a widget the overlay did not declare comes from, for messages.
    std::function<std::string(const std::string& widget)> locate;
};

/// Loads `text` (may be empty: no overlay) into a card that `hooks` fill first. The card is
/// finished only when the overlay has no errors; the caller adds its own errors.
CardLoad load_card_overlay(std::string_view text, std::string_view filename, const OverlayHooks& hooks);

}  // namespace dynpcm

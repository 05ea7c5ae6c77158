#pragma once
/// The card file: a hand-written YAML description of a card (docs/CARD_FILE.md), read with
/// yaml-cpp. Every error names the file, the line and the offending name, e.g.
///   phone.yaml:42: route 3: unknown source widget 'Headfone' (did you mean 'Headphone'?)
/// Loading never throws and never crashes on malformed input; it reports every error it can
/// find, not just the first.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dynpcm/card/card.h"

namespace dynpcm {

struct CardLoad {
    std::unique_ptr<Card> card;        ///< set when there were no errors
    std::vector<std::string> errors;   ///< "file:line: message", in file order
    std::vector<std::string> warnings; ///< kept going, but worth knowing: something may not be what was meant
    std::vector<std::string> notes;    ///< information only (data kept but not interpreted); the CLI shows it with -v
    bool ok() const noexcept { return card != nullptr && errors.empty(); }
};

/// Reads and checks a card file. Thread: control. Blocking: reads the file. Allocates: yes.
CardLoad load_card_file(const std::string& path);
/// The same for text already in memory; `filename` is used in messages.
CardLoad load_card_string(std::string_view text, std::string_view filename);

}  // namespace dynpcm

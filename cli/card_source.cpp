#include "card_source.h"

#include <fmt/format.h>

#include "dynpcm/card/card_file.h"

namespace dynpcm::cli {

void CardSource::add_to(CLI::App& sub, bool with_sets) {
    sub.add_option("CARD", card_file, "Card file (YAML)")->required();
    if (with_sets)
        sub.add_option("--set", sets, "Set a control first: 'NAME=VALUE' (repeatable)")->take_all();
}

std::unique_ptr<Card> CardSource::load() const {
    CardLoad l = load_card_file(card_file);
    if (!l.ok()) {
        for (const auto& e : l.errors) fmt::print(stderr, "{}\n", e);
        return nullptr;
    }
    for (const auto& s : sets) {
        const size_t eq = s.find('=');
        if (eq == std::string::npos || eq == 0) {
            fmt::print(stderr, "--set '{}': expected NAME=VALUE\n", s);
            return nullptr;
        }
        if (auto r = l.card->put(std::string_view(s).substr(0, eq), std::string_view(s).substr(eq + 1)); !r) {
            fmt::print(stderr, "--set '{}': {}\n", s, r.error().message());
            return nullptr;
        }
    }
    return std::move(l.card);
}

}  // namespace dynpcm::cli

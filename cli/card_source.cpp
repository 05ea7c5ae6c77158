#include "card_source.h"

#include <fmt/format.h>

#include "dynpcm/topology/topology_card.h"

namespace dynpcm::cli {

void CardSource::add_to(CLI::App& sub, bool with_sets) {
    sub.add_option("CARD", card_file, "Card file (YAML); or give --tplg");
    add_tplg_options(sub);
    if (with_sets)
        // One value per --set: a greedy --set would swallow a following card file.
        sub.add_option("--set", sets, "Set a control first: 'NAME=VALUE' (repeatable)")->take_all()->allow_extra_args(false);
}

void CardSource::add_tplg_options(CLI::App& sub) {
    auto* t = sub.add_option("--tplg", tplg_file, "ALSA topology instead of a card file: FILE.tplg, or FILE.conf (compiled "
                                                  "with alsatplg)");
    sub.add_option("--overlay", overlay_file, "Machine overlay for --tplg (YAML: BE links, codec widgets, routes)")->needs(t);
    sub.add_flag("-v,--verbose", verbose, "Also print information notes (such as topology data kept but not interpreted)");
}

std::string CardSource::describe() const {
    if (tplg_file.empty()) return card_file;
    return overlay_file.empty() ? tplg_file : fmt::format("{} + {}", tplg_file, overlay_file);
}

std::optional<std::string> CardSource::usage_error() const {
    if (card_file.empty() == tplg_file.empty())
        return card_file.empty() ? "no card: give a card file, or --tplg FILE [--overlay FILE.yaml]"
                                 : fmt::format("give either a card file ('{}') or --tplg ('{}'), not both", card_file,
                                               tplg_file);
    return std::nullopt;
}

CardLoad CardSource::load_card(bool all_warnings) const {
    CardLoad l;
    if (auto u = usage_error()) {
        l.errors.push_back(*u);
        return l;
    }
    l = tplg_file.empty() ? load_card_file(card_file) : load_topology_card(tplg_file, overlay_file);
    if (all_warnings)
        for (const auto& w : l.warnings) fmt::print(stderr, "warning: {}\n", w);
    else if (!l.warnings.empty())
        fmt::print(stderr, "{}: {} warning{} ('dynpcm check' lists them)\n", describe(), l.warnings.size(),
                   l.warnings.size() == 1 ? "" : "s");
    if (verbose)
        for (const auto& n : l.notes) fmt::print(stderr, "note: {}\n", n);
    return l;
}

std::unique_ptr<Card> CardSource::load() const {
    CardLoad l = load_card(false);
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

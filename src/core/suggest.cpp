#include "dynpcm/core/suggest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace dynpcm {

size_t edit_distance(std::string_view a, std::string_view b) {
    // Optimal string alignment distance: insertions, deletions, substitutions, transpositions.
    std::vector<size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                              std::tolower(static_cast<unsigned char>(b[j - 1]));
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
            // A swap of two neighbours ("Mdoe") is one typo, not two.
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                cur[j] = std::min(cur[j], before[j - 2] + 1);
        }
        before = prev;
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

namespace {
bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    if (prefix.empty() || prefix.size() > s.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    return true;
}
}  // namespace

std::optional<std::string> nearest_name(std::string_view name, const std::vector<std::string>& candidates) {
    // A name that only one candidate starts with ("Media" for "Media Playback") is a
    // shortened name, not a typo.
    const std::string* prefixed = nullptr;
    int prefix_hits = 0;
    for (const auto& c : candidates)
        if (c.size() > name.size() && starts_with_nocase(c, name)) {
            prefixed = &c;
            ++prefix_hits;
        }
    if (prefix_hits == 1 && name.size() >= 3) return *prefixed;
    std::optional<std::string> best;
    size_t best_d = SIZE_MAX;
    for (const auto& c : candidates) {
        // Cheap bound first: names of very different length cannot be near.
        const size_t len_gap = c.size() > name.size() ? c.size() - name.size() : name.size() - c.size();
        if (len_gap >= best_d || len_gap > name.size() / 3 + 2) continue;
        const size_t d = edit_distance(name, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    // Close enough to be a typo, and sharing at least one character with the name.
    if (best && best_d <= std::max<size_t>(1, name.size() / 3) && best_d < std::min(name.size(), best->size()))
        return best;
    return std::nullopt;
}

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates) {
    auto s = nearest_name(name, candidates);
    return s ? fmt::format(" (did you mean '{}'?)", *s) : std::string{};
}

}  // namespace dynpcm

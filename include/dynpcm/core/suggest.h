#pragma once
/// "Did you mean …?" for names users type: widgets, controls, items, keys.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dynpcm {

/// Edit distance counting a swap of neighbours as one edit (optimal string alignment),
/// case-insensitive. Thread: any. Allocates: yes.
size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `name` if it is close enough to be a likely typo.
/// Thread: any. Allocates: yes.
std::optional<std::string> nearest_name(std::string_view name, const std::vector<std::string>& candidates);

/// " (did you mean 'X'?)" for the nearest candidate, or "".
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace dynpcm

#pragma once
// Output shared by the commands that read a card file and those that ask a running daemon.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "dynpcm/card/control.h"

namespace dynpcm::cli {

/// `ctl list`: one line per control (numid, name, type, range or items, value, dB), then the
/// card's PCM devices; or a JSON array. `widget_of` names a control's widget (empty: none, or
/// not known, as from a daemon, which also does not report roles: `with_roles` false).
void print_controls(const std::vector<Control>& controls, const std::vector<std::pair<uint32_t, std::string>>& pcms,
                    bool as_json, const std::function<std::string(const Control&)>& widget_of, bool with_roles = true);
/// `routes`: the routes JSON (routes_to_json) as a table, or as it is.
void print_routes(const std::string& routes_json, bool as_json);

}  // namespace dynpcm::cli

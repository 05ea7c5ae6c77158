#include "print.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

namespace dynpcm::cli {

namespace {

using nlohmann::json;

const char* role_name(CtlRole r) {
    switch (r) {
        case CtlRole::Plain: return "value";
        case CtlRole::MixerPath: return "route switch";
        case CtlRole::Mux: return "mux";
        case CtlRole::Demux: return "demux";
        case CtlRole::Pin: return "pin";
    }
    return "?";
}

std::string range_of(const Control& c) {
    switch (c.info.type) {
        case CtlType::Boolean: return "off|on";
        case CtlType::Integer:
            return c.info.step > 1 ? fmt::format("{}..{} step {}", c.info.min, c.info.max, c.info.step)
                                   : fmt::format("{}..{}", c.info.min, c.info.max);
        case CtlType::Enumerated: return fmt::format("{}", fmt::join(c.info.items, "|"));
        case CtlType::Bytes: return fmt::format("{} bytes", c.info.count);
    }
    return "";
}

json control_json(const Control& c, const std::string& widget, bool with_role) {
    json j{{"numid", c.id.numid},   {"iface", ctl_iface_name(c.id.iface)}, {"name", c.id.name},
           {"index", c.id.index},   {"type", ctl_type_name(c.info.type)},  {"count", c.info.count},
           {"value", c.value},      {"role", role_name(c.role)}};
    if (c.info.read_only) j["read_only"] = true;
    if (c.info.type == CtlType::Integer) {
        j["min"] = c.info.min;
        j["max"] = c.info.max;
        j["step"] = c.info.step;
    }
    if (c.info.type == CtlType::Enumerated) {
        j["items"] = c.info.items;
        j["value_text"] = format_ctl_value(c);
    }
    if (c.info.db) j["db"] = {{"min", c.info.db->min_cdb / 100.0}, {"step", c.info.db->step_cdb / 100.0}, {"mute", c.info.db->mute}};
    if (!widget.empty()) j["widget"] = widget;
    if (!with_role) j.erase("role");
    return j;
}

}  // namespace

void print_controls(const std::vector<Control>& controls, const std::vector<std::pair<uint32_t, std::string>>& pcms,
                    bool as_json, const std::function<std::string(const Control&)>& widget_of, bool with_roles) {
    if (as_json) {
        json arr = json::array();
        for (const auto& c : controls) arr.push_back(control_json(c, widget_of(c), with_roles));
        fmt::print("{}\n", arr.dump(2));
        return;
    }
    for (const auto& c : controls) {
        std::string extra;
        if (c.info.db && !c.value.empty()) {
            const auto db = c.db_at(c.value[0]);
            extra = c.info.db->mute && c.value[0] == c.info.min ? " (mute)" : fmt::format(" ({:+.2f} dB)", *db);
        }
        if (c.info.read_only) extra += " [read-only]";
        fmt::print("numid={:<3} {:<44} {:<10} {:<24} = {}{}\n", c.id.numid, fmt::format("'{}'", c.id.name),
                   ctl_type_name(c.info.type), range_of(c), format_ctl_value(c), extra);
    }
    // What `amixer` shows beside the controls: the card's PCM devices (snd_ctl_pcm_info).
    for (const auto& [device, what] : pcms) fmt::print("pcm={:<3}    {}\n", device, what);
}

void print_routes(const std::string& routes_json, bool as_json) {
    if (as_json) {
        fmt::print("{}\n", routes_json);
        return;
    }
    const auto j = nlohmann::ordered_json::parse(routes_json);
    for (const auto& [key, r] : j.items()) {
        const auto bes = r["bes"].get<std::vector<std::string>>();
        fmt::print("{:>3} {:<32} -> {}\n", r["device"].get<uint32_t>(), key,
                   bes.empty() ? "(no BE)" : fmt::format("{}", fmt::join(bes, ", ")));
    }
}

}  // namespace dynpcm::cli

#include "dynpcm/card/control.h"

#include "dynpcm/core/suggest.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <charconv>

namespace dynpcm {

const char* ctl_type_name(CtlType t) noexcept {
    switch (t) {
        case CtlType::Boolean: return "BOOLEAN";
        case CtlType::Integer: return "INTEGER";
        case CtlType::Enumerated: return "ENUMERATED";
        case CtlType::Bytes: return "BYTES";
    }
    return "?";
}

const char* ctl_iface_name(CtlIface i) noexcept {
    switch (i) {
        case CtlIface::Mixer: return "MIXER";
        case CtlIface::Card: return "CARD";
        case CtlIface::Pcm: return "PCM";
    }
    return "?";
}

std::optional<double> Control::db_at(int64_t v) const noexcept {
    if (!info.db) return std::nullopt;
    if (info.db->mute && v == info.min) return -9999999.0 / 100;  // ALSA's SND_CTL_TLV_DB_GAIN_MUTE
    // In double: a topology's range and step can each be near 2^32, beyond int64 once multiplied.
    return (info.db->min_cdb + static_cast<double>(v - info.min) * info.db->step_cdb) / 100.0;
}

Result<void> validate_ctl_values(const Control& c, const std::vector<int64_t>& values) {
    const auto& i = c.info;
    if (values.size() != i.count)
        return Error(-EINVAL, fmt::format("control '{}': expects {} value(s), got {}", c.id.name, i.count, values.size()));
    for (size_t k = 0; k < values.size(); ++k) {
        const int64_t v = values[k];
        const std::string where = i.count > 1 ? fmt::format(" (value {})", k) : "";
        switch (i.type) {
            case CtlType::Boolean:
                if (v != 0 && v != 1)
                    return Error(-EINVAL, fmt::format("control '{}': {} is not a boolean (0 or 1){}", c.id.name, v, where));
                break;
            case CtlType::Integer:
                if (v < i.min || v > i.max)
                    return Error(-EINVAL, fmt::format("control '{}': {} is out of range {}..{}{}", c.id.name, v, i.min, i.max, where));
                if (i.step > 1 && (v - i.min) % i.step != 0)
                    return Error(-EINVAL, fmt::format("control '{}': {} is not on the step {} from {}{}", c.id.name, v, i.step, i.min, where));
                break;
            case CtlType::Enumerated:
                if (v < 0 || static_cast<uint64_t>(v) >= i.items.size())
                    return Error(-EINVAL, fmt::format("control '{}': item {} does not exist (0..{}){}", c.id.name, v,
                                                      static_cast<int64_t>(i.items.size()) - 1, where));
                break;
            case CtlType::Bytes:
                if (v < 0 || v > 255)
                    return Error(-EINVAL, fmt::format("control '{}': byte {} is out of range 0..255{}", c.id.name, v, where));
                break;
        }
    }
    return ok();
}

namespace {

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& ch : r) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return r;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::optional<int64_t> parse_int(std::string_view s) {
    s = trim(s);
    int base = 10;
    bool neg = false;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    }
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return neg ? -v : v;
}

Result<int64_t> parse_one(const Control& c, std::string_view text) {
    const std::string t = lower(trim(text));
    switch (c.info.type) {
        case CtlType::Boolean:
            if (t == "on" || t == "true" || t == "yes" || t == "1") return int64_t{1};
            if (t == "off" || t == "false" || t == "no" || t == "0") return int64_t{0};
            break;
        case CtlType::Enumerated:
            for (size_t i = 0; i < c.info.items.size(); ++i)
                if (lower(c.info.items[i]) == t) return static_cast<int64_t>(i);
            if (auto v = parse_int(t)) return *v;
            return Error(-EINVAL, fmt::format("control '{}': unknown item '{}'{} (items: {})", c.id.name, trim(text),
                                              did_you_mean(trim(text), c.info.items), fmt::join(c.info.items, ", ")));
        case CtlType::Integer:
        case CtlType::Bytes:
            if (auto v = parse_int(t)) return *v;
            break;
    }
    return Error(-EINVAL, fmt::format("control '{}': cannot read '{}' as a {} value", c.id.name, trim(text),
                                      ctl_type_name(c.info.type)));
}

}  // namespace

Result<std::vector<int64_t>> parse_ctl_value(const Control& c, std::string_view text) {
    std::vector<int64_t> out;
    size_t pos = 0;
    while (pos <= text.size()) {
        const size_t comma = text.find(',', pos);
        const std::string_view part = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        auto v = parse_one(c, part);
        if (!v) return std::move(v).error();
        out.push_back(*v);
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    if (out.size() == 1 && c.info.count > 1) out.assign(c.info.count, out[0]);
    if (auto r = validate_ctl_values(c, out); !r) return std::move(r).error();
    return out;
}

std::string format_ctl_value(const Control& c) {
    std::string s;
    for (size_t k = 0; k < c.value.size(); ++k) {
        if (k) s += ',';
        const int64_t v = c.value[k];
        if (c.info.type == CtlType::Boolean) s += v ? "on" : "off";
        else if (c.info.type == CtlType::Enumerated && v >= 0 && static_cast<size_t>(v) < c.info.items.size())
            s += c.info.items[static_cast<size_t>(v)];
        else s += fmt::format("{}", v);
    }
    return s;
}

}  // namespace dynpcm

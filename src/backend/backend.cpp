// The backend factory: option tables, option parsing and dispatch to each type.

#include "dynpcm/backend/backend.h"

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>

#include "backend/backends.h"
#include "dynpcm/core/suggest.h"

namespace dynpcm {

int64_t Backend::write_rt(const void*, Frames) noexcept { return -EINVAL; }
int64_t Backend::read_rt(void*, Frames) noexcept { return -EINVAL; }

namespace {
struct TypeInfo {
    const char* name;
    std::vector<std::string> options;
    Result<void> (*check)(const BackendBinding&);
    Result<std::unique_ptr<Backend>> (*make)(const BackendBinding&, const BackendContext&);
};

Result<void> no_check(const BackendBinding&) { return ok(); }

const std::array<TypeInfo, 4>& types() {
    using namespace backend_detail;
    static const std::array<TypeInfo, 4> t{{
        {"sim", {"signal", "frequency", "level", "monitor", "delay"}, check_sim, make_sim},
        {"null", {}, no_check, make_null},
        {"wav", {"file", "loop"}, check_wav, make_wav},
        {"alsa", {"device", "periods", "io"}, check_alsa, make_alsa},
    }};
    return t;
}

const TypeInfo* find_type(std::string_view name) {
    for (const auto& t : types())
        if (name == t.name) return &t;
    return nullptr;
}
}  // namespace

const std::vector<std::string>* backend_options(std::string_view type) noexcept {
    const TypeInfo* t = find_type(type);
    return t ? &t->options : nullptr;
}

Result<void> check_backend_binding(const BackendBinding& binding) {
    const TypeInfo* t = find_type(binding.type);
    if (!t) {
        std::vector<std::string> names;
        for (const auto& x : types()) names.emplace_back(x.name);
        return Error(-EINVAL, fmt::format("unknown backend '{}'{} (sim, null, wav, alsa)", binding.type,
                                          did_you_mean(binding.type, names)));
    }
    for (const auto& [key, value] : binding.options) {
        if (std::find(t->options.begin(), t->options.end(), key) != t->options.end()) continue;
        if (t->options.empty())
            return Error(-EINVAL, fmt::format("backend '{}' takes no options; got '{}'", t->name, key));
        return Error(-EINVAL, fmt::format("backend '{}' has no option '{}'{} (options: {})", t->name, key,
                                          did_you_mean(key, t->options), fmt::join(t->options, ", ")));
    }
    return t->check(binding);
}

Result<std::unique_ptr<Backend>> make_backend(const BackendBinding& binding, const BackendContext& context) {
    if (auto r = check_backend_binding(binding); !r)
        return Error(r.code(), fmt::format("BE '{}': {}", context.be_name, r.error().message()));
    return find_type(binding.type)->make(binding, context);
}

namespace backend_detail {

std::string option_or(const BackendBinding& b, std::string_view key, std::string fallback) {
    const auto it = b.options.find(std::string(key));
    return it == b.options.end() ? std::move(fallback) : it->second;
}

Result<double> parse_number(const BackendBinding& b, std::string_view key, double fallback, double min, double max) {
    const auto it = b.options.find(std::string(key));
    if (it == b.options.end()) return fallback;
    const std::string& s = it->second;
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v))
        return Error(-EINVAL, fmt::format("backend '{}': option {}: '{}' is not a number", b.type, key, s));
    if (v < min || v > max)
        return Error(-EINVAL, fmt::format("backend '{}': option {}: {} is out of range [{}, {}]", b.type, key, s, min, max));
    return v;
}

Result<bool> parse_flag(const BackendBinding& b, std::string_view key, bool fallback) {
    const auto it = b.options.find(std::string(key));
    if (it == b.options.end()) return fallback;
    const std::string& s = it->second;
    if (s == "true" || s == "on" || s == "yes" || s == "1") return true;
    if (s == "false" || s == "off" || s == "no" || s == "0") return false;
    return Error(-EINVAL, fmt::format("backend '{}': option {}: '{}' is not true or false", b.type, key, s));
}

}  // namespace backend_detail
}  // namespace dynpcm

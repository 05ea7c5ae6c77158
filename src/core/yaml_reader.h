#pragma once
// YamlReader: what the YAML loaders (card files, scenarios) share: typed reads of scalars,
// key checks with suggestions, and errors collected as "file:line: message", reported in file
// order. Internal to the library. Thread: control.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/read_file.h"
#include "dynpcm/core/suggest.h"
#include "dynpcm/sim/clock_model.h"

namespace dynpcm {

class YamlReader {
public:
    explicit YamlReader(std::string file) : file_(std::move(file)) {}

    /// Reads a whole file for a loader (read_input_file): its text, or its one error added to
    /// `errors`. Thread: control. Blocking: file I/O. Allocates: yes.
    static std::optional<std::string> read_file(const std::string& path, std::string_view what,
                                                std::vector<std::string>& errors) {
        auto text = read_input_file(path, what);
        if (!text) {
            errors.push_back(text.error().message());
            return std::nullopt;
        }
        return std::move(text).value();
    }

    /// Parses the text, or records a "file:line:column: YAML syntax error" and returns nothing.
    std::optional<YAML::Node> parse(std::string_view text) {
        try {
            return YAML::Load(std::string(text));
        } catch (const YAML::Exception& e) {
            errors_.emplace_back(e.mark.line + 1, fmt::format("{}:{}:{}: YAML syntax error: {}", file_, e.mark.line + 1,
                                                              e.mark.column + 1, e.msg));
            return std::nullopt;
        }
    }

    /// The errors so far, in file order. Allocates.
    std::vector<std::string> sorted_errors() {
        std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<std::string> out;
        for (auto& e : errors_) out.push_back(std::move(e.second));
        errors_.clear();
        return out;
    }

protected:
    // ---- messages
    template <typename... Args>
    void err(const YAML::Node& at, fmt::format_string<Args...> f, Args&&... args) {
        // A missing key has no position of its own: report the item that lacks it.
        const int line = at.IsDefined() && at.Mark().line >= 0 ? at.Mark().line + 1 : item_line_;
        add_error(line, fmt::format(f, std::forward<Args>(args)...));
    }

    void add_error(int line, std::string message) {
        errors_.emplace_back(line, fmt::format("{}:{}: {}", file_, line, message));
    }


    bool check_keys(const YAML::Node& map, const std::vector<std::string>& allowed, const std::string& what) {
        if (!map.IsMap()) {
            err(map, "{} must be a mapping (key: value)", what);
            return false;
        }
        bool good = true;
        for (const auto& kv : map) {
            if (!kv.first.IsScalar()) {
                err(kv.first, "{}: keys must be plain names", what);
                good = false;
                continue;
            }
            const std::string key = kv.first.Scalar();
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                err(kv.first, "{}: unknown key '{}'{}", what, key, did_you_mean(key, allowed));
                good = false;
            }
        }
        return good;
    }

    // ---- scalars
    std::optional<std::string> str(const YAML::Node& n, const std::string& what, bool required = true) {
        if (!n.IsDefined() || n.IsNull()) {
            if (required) err(n, "{} is missing", what);
            return std::nullopt;
        }
        if (!n.IsScalar()) {
            err(n, "{} must be a plain value", what);
            return std::nullopt;
        }
        return n.Scalar();
    }

    std::optional<int64_t> integer(const YAML::Node& n, const std::string& what) {
        auto s = str(n, what);
        if (!s) return std::nullopt;
        int64_t v = 0;
        const char* b = s->data();
        const char* e = b + s->size();
        if (b != e && *b == '+') ++b;
        auto [p, ec] = std::from_chars(b, e, v);
        if (ec != std::errc{} || p != e || b == e) {
            err(n, "{}: '{}' is not an integer", what, *s);
            return std::nullopt;
        }
        return v;
    }

    std::optional<uint32_t> uint(const YAML::Node& n, const std::string& what, uint32_t lo, uint32_t hi) {
        auto v = integer(n, what);
        if (!v) return std::nullopt;
        if (*v < lo || *v > hi) {
            err(n, "{}: {} is out of range {}..{}", what, *v, lo, hi);
            return std::nullopt;
        }
        return static_cast<uint32_t>(*v);
    }

    /// A crystal (`clock: {ppm, wander, span, jitter, seed}`), as card files and scenarios write it.
    std::optional<ClockModel> clock_model(const YAML::Node& n, const std::string& what) {
        ClockModel c;
        if (n.IsNull()) return c;  // `clock:` alone: a crystal of its own, at nominal
        if (!check_keys(n, {"ppm", "wander", "span", "jitter", "seed"}, what)) return std::nullopt;
        auto read = [&](const char* key, double lo, double hi, double& out) {
            if (auto v = n[key]) {
                auto x = number(v, fmt::format("{} {}", what, key));
                if (x && (*x < lo || *x > hi)) err(v, "{} {}: {} is outside {}..{}", what, key, *x, lo, hi);
                else if (x) out = *x;
            }
        };
        read("ppm", -10000, 10000, c.ppm);
        read("wander", 0, 10000, c.wander);
        read("span", 0, 10000, c.span);
        read("jitter", 0, 100000, c.jitter_us);
        if (auto v = n["seed"]) c.seed = uint(v, what + " seed", 0, UINT32_MAX).value_or(0);
        return c;
    }

    std::optional<double> number(const YAML::Node& n, const std::string& what) {
        auto s = str(n, what);
        if (!s) return std::nullopt;
        try {
            size_t used = 0;
            const double v = std::stod(*s, &used);
            if (used == s->size() && std::isfinite(v)) return v;
        } catch (const std::exception&) {
        }
        err(n, "{}: '{}' is not a number", what, *s);
        return std::nullopt;
    }

    std::optional<bool> boolean(const YAML::Node& n, const std::string& what) {
        auto s = str(n, what);
        if (!s) return std::nullopt;
        if (*s == "true" || *s == "yes" || *s == "on") return true;
        if (*s == "false" || *s == "no" || *s == "off") return false;
        err(n, "{}: '{}' is not true or false", what, *s);
        return std::nullopt;
    }

    bool sequence(const YAML::Node& n, const std::string& what, size_t limit) {
        if (!n.IsSequence()) {
            err(n, "{} must be a list", what);
            return false;
        }
        if (n.size() > limit) {
            err(n, "{} has {} entries; the limit is {}", what, n.size(), limit);
            return false;
        }
        return true;
    }

    std::string file_;
    std::vector<std::pair<int, std::string>> errors_;
    int item_line_ = 1;  // the item being read: where a missing key is reported
};

}  // namespace dynpcm

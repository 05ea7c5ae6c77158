#include "dynpcm/card/card_file.h"

#include "card/card_overlay.h"
#include "core/yaml_reader.h"
#include "dynpcm/backend/backend.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace dynpcm {

namespace {

// Bounds that keep hostile files from exhausting memory or time.
constexpr size_t kMaxWidgets = 100000;
constexpr size_t kMaxRoutes = 1000000;
constexpr size_t kMaxLinks = 4096;
constexpr size_t kMaxListItems = 4096;

class Loader : YamlReader {
public:
    explicit Loader(std::string file, const OverlayHooks* overlay = nullptr)
        : YamlReader(std::move(file)), overlay_(overlay) {}

    CardLoad run(std::string_view text) {
        CardLoad out;
        const std::optional<YAML::Node> root = overlay_ && text.empty() ? YAML::Node() : parse(text);
        if (!root) {
            out.errors = sorted_errors();
            return out;
        }
        try {
            load(*root);
        } catch (const YAML::Exception& e) {
            // yaml-cpp throws on some malformed structures we did not anticipate.
            add_error(e.mark.line + 1, e.msg);
        }
        if (errors_.empty() && card_) out.card = std::move(card_);
        out.errors = sorted_errors();
        out.warnings = std::move(warnings_);  // sections are checked in a fixed order; report in file order
        return out;
    }

private:

    // ---- sections
    // snd_ctl_card_info, with the kernel's field sizes; what is not given keeps its default.
    void identity(const YAML::Node& n) {
        if (!check_keys(n, {"id", "driver", "name", "long_name", "mixer_name", "components"}, "identity")) return;
        CardIdentity ident = card_->identity();
        const struct { const char* key; std::string* field; size_t max; } fields[] = {
            {"id", &ident.id, 15},           {"driver", &ident.driver, 15},         {"name", &ident.name, 31},
            {"long_name", &ident.long_name, 79}, {"mixer_name", &ident.mixer_name, 79}, {"components", &ident.components, 127}};
        for (const auto& f : fields) {
            const auto v = n[f.key] ? str(n[f.key], std::string("identity ") + f.key) : std::nullopt;
            if (!v) continue;
            if (v->size() > f.max) {
                err(n[f.key], "identity {} '{}' is {} characters long; the kernel's limit is {}", f.key, *v, v->size(), f.max);
                continue;
            }
            if (std::string_view(f.key) == "id" &&
                (v->empty() || !std::all_of(v->begin(), v->end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }))) {
                err(n[f.key], "identity id '{}' must be letters, digits, '_' or '-' (hw:ID names the card by it)", *v);
                continue;
            }
            *f.field = *v;
        }
        card_->set_identity(std::move(ident));
    }

    void load(const YAML::Node& root) {
        const bool empty = !root.IsDefined() || root.IsNull();
        if (empty && !overlay_) {
            add_error(1, "the file is empty; a card file starts with 'card: <name>'");
            return;
        }
        if (!empty && !check_keys(root, {"card", "identity", "fully_routed", "disable_route_checks", "route_removal", "stream_match", "components",
                                         "fe_links", "be_links", "widgets", "controls", "routes"},
                                  overlay_ ? "overlay" : "card file")) {
            key_error_ = true;
            if (!root.IsMap()) return;
        }
        std::optional<std::string> name;
        if (!overlay_ || root["card"]) name = str(root["card"], "card (the card's name)");
        card_ = std::make_unique<Card>(name.value_or(overlay_ ? overlay_->default_name : "unnamed"));
        if (overlay_ && overlay_->add_first) overlay_->add_first(*card_);
        if (auto id = root["identity"]) identity(id);
        if (root["fully_routed"])
            if (auto b = boolean(root["fully_routed"], "fully_routed")) card_->graph().set_fully_routed(*b);
        if (auto r = root["route_removal"])
            if (auto v = route_removal(r, "route_removal")) card_->set_route_removal(*v);
        if (root["disable_route_checks"])
            card_->set_disable_route_checks(boolean(root["disable_route_checks"], "disable_route_checks").value_or(false));
        if (auto m = root["stream_match"]) {
            const auto v = str(m, "stream_match");
            if (v && *v == "exact") card_->set_stream_match(StreamMatch::Exact);
            else if (v && *v != "substring") err(m, "stream_match '{}' must be substring (the kernel's) or exact", *v);
        }
        // Components first: their DAIs and widgets exist when the machine's links name them
        // (soc_probe_component before the card's links and routes).
        std::vector<std::pair<uint32_t, YAML::Node>> component_routes;
        if (auto c = root["components"]; c && sequence(c, "components", kMaxLinks))
            for (size_t i = 0; i < c.size(); ++i) component(c[i], i + 1, component_routes);
        if (auto w = root["widgets"]; w && sequence(w, "widgets", kMaxWidgets))
            for (size_t i = 0; i < w.size(); ++i) widget(w[i], 0);
        if (auto l = root["fe_links"]; l && sequence(l, "fe_links", kMaxLinks))
            for (size_t i = 0; i < l.size(); ++i) fe_link(l[i], i + 1);
        if (auto l = root["be_links"]; l && sequence(l, "be_links", kMaxLinks))
            for (size_t i = 0; i < l.size(); ++i) be_link(l[i], i + 1);
        if (overlay_ && overlay_->add_missing_bes) overlay_->add_missing_bes(*card_);
        if (auto c = root["controls"]; c && sequence(c, "controls", kMaxWidgets))
            for (size_t i = 0; i < c.size(); ++i) card_control(c[i]);
        if (overlay_ && overlay_->add_routes) overlay_->add_routes(*card_, key_error_);
        for (const auto& [ctx, r] : component_routes)
            for (size_t i = 0; i < r.size(); ++i) route(r[i], i + 1, ctx);
        if (auto r = root["routes"]; r && sequence(r, "routes", kMaxRoutes))
            for (size_t i = 0; i < r.size(); ++i) route(r[i], i + 1, 0);
        if (suppressed_routes_ > 0)
            add_error(first_suppressed_line_, fmt::format("{} route{} name{} widgets that are missing, probably because of the "
                                                         "error above; fix it first",
                                                         suppressed_routes_, suppressed_routes_ == 1 ? "" : "s",
                                                         suppressed_routes_ == 1 ? "s" : ""));
        if (errors_.empty()) {
            if (auto r = card_->finish(); !r) add_error(1, r.error().message());
            for (const auto& note : card_->warnings()) {
                const std::string wname = note.widget ? card_->graph().widget(*note.widget).name : std::string();
                if (auto it = widget_lines_.find(wname); it != widget_lines_.end())
                    warnings_.push_back(fmt::format("{}:{}: {}", file_, it->second, note.message));
                else if (overlay_ && overlay_->locate && !wname.empty())
                    warnings_.push_back(fmt::format("{}: {}", overlay_->locate(wname), note.message));
                else
                    warnings_.push_back(fmt::format("{}: {}", file_, note.message));
            }
        }
    }

    // A component: a DAPM context with its prefix, DAIs, widgets and routes (the routes are
    // added with the others, once every widget exists). An overlay may add to the topology's.
    void component(const YAML::Node& item, size_t index, std::vector<std::pair<uint32_t, YAML::Node>>& routes) {
        const YAML::Node n = with_merges(item);
        const std::string what = fmt::format("component {}", index);
        if (!check_keys(n, {"name", "prefix", "dais", "widgets", "routes"}, what)) {
            key_error_ = true;
            if (!n.IsMap()) return;
        }
        auto name = str(n["name"], what + ": name");
        if (!name) return;
        const std::string where = fmt::format("component '{}'", *name);
        std::string prefix;
        if (n["prefix"] && !n["prefix"].IsNull()) prefix = str(n["prefix"], where + ": prefix").value_or("");
        uint32_t ctx = 0;
        if (auto existing = card_->find_component(*name)) {
            if (!prefix.empty()) err(n["prefix"], "{}: it exists already (the topology's); its prefix cannot change", where);
            ctx = *existing;
        } else if (auto r = card_->add_component(*name, prefix)) {
            ctx = *r;
        } else {
            err(n, "{}", r.error().message());
            return;
        }
        if (auto d = n["dais"]; d && sequence(d, where + ": dais", kMaxLinks))
            for (const auto& item_d : d) dai(item_d, ctx, where);
        if (auto w = n["widgets"]; w && sequence(w, where + ": widgets", kMaxWidgets))
            for (size_t i = 0; i < w.size(); ++i) widget(w[i], ctx);
        if (auto r = n["routes"]; r && sequence(r, where + ": routes", kMaxRoutes)) routes.emplace_back(ctx, r);
    }

    void dai(const YAML::Node& item, uint32_t ctx, const std::string& component) {
        const YAML::Node n = with_merges(item);
        const std::string what = component + " DAI";
        if (!check_keys(n, {"name", "playback", "capture"}, what)) {
            key_error_ = true;
            if (!n.IsMap()) return;
        }
        auto name = str(n["name"], what + ": name");
        if (!name) return;
        std::string streams[2];
        for (int d = 0; d < 2; ++d)
            if (auto v = n[d == 0 ? "playback" : "capture"])
                streams[d] = str(v, fmt::format("{} '{}': {} (its stream name)", what, *name, d == 0 ? "playback" : "capture"))
                                 .value_or("");
        if (auto r = card_->add_dai(ctx, *name, streams[0], streams[1]); !r) err(n, "{}", r.error().message());
    }

    std::optional<KcontrolSpec> kcontrol(const YAML::Node& item, const std::string& what, bool card_level,
                                         const std::string& widget = {}) {
        const YAML::Node n = with_merges(item);
        std::vector<std::string> keys{"name", "type", "min", "max", "step", "count", "items", "value", "db", "invert",
                                      "read_only"};
        if (!check_keys(n, keys, what)) return std::nullopt;
        KcontrolSpec k;
        auto name = str(n["name"], what + ": name");
        if (!name) return std::nullopt;
        k.name = *name;
        const std::string where = fmt::format("{} '{}'", card_level ? "control" : what, k.name);
        std::string type = "bool";
        if (n["type"])
            if (auto t = str(n["type"], where + ": type")) type = *t;
        auto& i = k.info;
        if (type == "bool" || type == "boolean") {
            i.type = CtlType::Boolean;
            i.min = 0;
            i.max = 1;
        } else if (type == "int" || type == "integer") {
            i.type = CtlType::Integer;
            i.min = 0;
            i.max = 0;
            if (!n["max"]) err(n, "{}: an integer control needs 'max'", where);
        } else if (type == "enum" || type == "enumerated") {
            i.type = CtlType::Enumerated;
        } else if (type == "bytes") {
            i.type = CtlType::Bytes;
            i.min = 0;
            i.max = 255;
        } else {
            err(n["type"], "{}: unknown control type '{}'{}", where, type, did_you_mean(type, {"bool", "int", "enum", "bytes"}));
            return std::nullopt;
        }
        if (n["min"]) i.min = integer(n["min"], where + ": min").value_or(i.min);
        if (n["max"]) i.max = integer(n["max"], where + ": max").value_or(i.max);
        if (n["step"]) i.step = integer(n["step"], where + ": step").value_or(1);
        if (n["count"]) i.count = uint(n["count"], where + ": count", 1, 512).value_or(1);
        if (n["invert"]) i.invert = boolean(n["invert"], where + ": invert").value_or(false);
        if (n["read_only"]) i.read_only = boolean(n["read_only"], where + ": read_only").value_or(false);
        if (n["items"]) {
            if (i.type != CtlType::Enumerated) err(n["items"], "{}: only enum controls have items", where);
            else if (sequence(n["items"], where + ": items", kMaxListItems))
                for (const auto& it : n["items"])
                    if (auto s = str(it, where + ": item")) i.items.push_back(*s);
            std::set<std::string> seen;
            for (const auto& s : i.items)
                if (!seen.insert(s).second) err(n["items"], "{}: item '{}' appears twice", where, s);
        }
        if (n["db"]) {
            const auto& d = n["db"];
            if (check_keys(d, {"min", "step", "mute"}, where + ": db")) {
                DbScale db;
                db.min_cdb = static_cast<int32_t>(std::lround(number(d["min"], where + ": db min").value_or(0) * 100));
                db.step_cdb = static_cast<int32_t>(std::lround(number(d["step"], where + ": db step").value_or(0) * 100));
                if (d["mute"]) db.mute = boolean(d["mute"], where + ": db mute").value_or(false);
                if (i.type != CtlType::Integer) err(d, "{}: only integer controls have a dB scale", where);
                i.db = db;
            }
        }
        if (i.type == CtlType::Integer && i.min > i.max) err(n, "{}: min {} is above max {}", where, i.min, i.max);
        if (i.type == CtlType::Enumerated && i.items.empty()) {
            err(n, "{}: an enum control needs items", where);
            return std::nullopt;
        }
        if (auto v = n["value"]; v) {
            Control probe;  // to parse the value as the control will; messages use its name
            probe.id.name = widget.empty() ? k.name : widget + " " + k.name;
            probe.info = i;
            std::string text;
            if (v.IsSequence()) {
                std::vector<std::string> parts;
                for (const auto& e : v)
                    if (auto s = str(e, where + ": value")) parts.push_back(*s);
                text = fmt::format("{}", fmt::join(parts, ","));
            } else if (auto s = str(v, where + ": value")) {
                text = *s;
            }
            auto parsed = parse_ctl_value(probe, text);
            if (!parsed) {
                err(v, "{}", parsed.error().message());
                return std::nullopt;
            }
            k.value = *parsed;
        }
        return k;
    }

    void widget(const YAML::Node& item, uint32_t ctx) {
        const YAML::Node n = with_merges(item);
        const std::string what = "widget";
        if (!check_keys(n, {"name", "type", "stream", "subseq", "pin_switch", "controls", "items", "value"}, what)) {
            key_error_ = true;
            if (!n.IsMap()) return;
        }
        auto name = str(n["name"], "widget: name");
        if (!name) return;
        widget_lines_.emplace(*name, item_line_);
        const std::string where = fmt::format("widget '{}'", *name);
        auto type_s = str(n["type"], where + ": type");
        if (!type_s) return placeholder(*name);
        const auto type = parse_widget_type(*type_s);
        if (!type) {
            std::vector<std::string> names;
            for (int t = 0; t < kWidgetTypeCount; ++t) names.emplace_back(widget_type_name(static_cast<WidgetType>(t)));
            err(n["type"], "{}: unknown widget type '{}'{}", where, *type_s, did_you_mean(*type_s, names));
            return placeholder(*name);
        }
        WidgetSpec spec;
        spec.name = *name;
        spec.type = *type;
        spec.context = ctx;
        if (n["stream"]) spec.stream = str(n["stream"], where + ": stream").value_or("");
        if (n["subseq"]) spec.subseq = static_cast<int>(integer(n["subseq"], where + ": subseq").value_or(0));
        if (n["pin_switch"]) spec.pin_switch = boolean(n["pin_switch"], where + ": pin_switch").value_or(false);
        const bool mux = *type == WidgetType::Mux || *type == WidgetType::Demux;
        if (mux) {
            if (n["controls"]) err(n["controls"], "{}: a {} takes 'items' (and 'value'), not 'controls'", where, *type_s);
            if (!n["items"]) {
                err(n, "{}: a {} needs 'items', the names of its inputs", where, *type_s);
                return;
            }
            auto kc = kcontrol_from_mux(n, where);
            if (!kc) return;
            spec.kcontrols.push_back(*kc);
        } else {
            if (n["items"] || n["value"])
                err(n["items"] ? n["items"] : n["value"], "{}: only mux and demux widgets take 'items'/'value' here; "
                    "put controls under 'controls'", where);
            if (auto c = n["controls"]; c && sequence(c, where + ": controls", kMaxListItems))
                for (const auto& k : c)
                    if (auto kc = kcontrol(k, where + " control", false, *name)) spec.kcontrols.push_back(*kc);
        }
        if (auto r = card_->add_widget(spec); !r) {
            err(n, "{}", r.error().message());
            placeholder(*name);
        }
    }

    // A widget that failed to load still exists under its name, so routes that name it do not
    // add errors of their own: the widget's error is the one to fix.
    void placeholder(const std::string& name) {
        if (card_->graph().find(name)) return;
        placeholders_.insert(name);
        (void)card_->add_widget(WidgetSpec{name, WidgetType::Virtual, {}, 0, false, {}});
    }

    std::optional<KcontrolSpec> kcontrol_from_mux(const YAML::Node& n, const std::string& where) {
        KcontrolSpec k;
        k.name = n["name"].Scalar();
        k.info.type = CtlType::Enumerated;
        if (!sequence(n["items"], where + ": items", kMaxListItems)) return std::nullopt;
        for (const auto& it : n["items"])
            if (auto s = str(it, where + ": item")) k.info.items.push_back(*s);
        if (k.info.items.empty()) {
            err(n["items"], "{}: items is empty", where);
            return std::nullopt;
        }
        std::set<std::string> seen;
        for (const auto& s : k.info.items)
            if (!seen.insert(s).second) err(n["items"], "{}: item '{}' appears twice", where, s);
        if (auto v = n["value"]; v) {
            auto s = str(v, where + ": value");
            if (!s) return std::nullopt;
            const auto it = std::find(k.info.items.begin(), k.info.items.end(), *s);
            if (it == k.info.items.end()) {
                err(v, "{}: unknown item '{}'{} (items: {})", where, *s, did_you_mean(*s, k.info.items), fmt::join(k.info.items, ", "));
                return std::nullopt;
            }
            k.value = {static_cast<int64_t>(it - k.info.items.begin())};
        }
        return k;
    }

    void card_control(const YAML::Node& n) {
        auto k = kcontrol(n, "control", true);
        if (!k) return;
        if (auto r = card_->add_control(*k); !r) err(n, "{}", r.error().message());
    }

    // `stream_optional`: the link names its DAIs, which give the stream names.
    std::optional<LinkStream> link_stream(const YAML::Node& n, const std::string& where, bool fe, bool stream_optional) {
        if (!check_keys(n, {"stream", "formats", "rates", "channels"}, where)) {
            key_error_ = true;
            return std::nullopt;
        }
        LinkStream s;
        if (!fe) {
            // A BE declares what its codec or device takes; by default anything, since a BE
            // without a fixup narrows the FEs that use it (dpcm_merged_*).
            s.formats = FormatMask::all();
            s.rates = {1000, 768000};
            s.channels = {1, 32};
        }
        if (n["stream"] || !stream_optional) {
            auto name = str(n["stream"], where + ": stream");
            if (!name) return std::nullopt;
            s.stream_name = *name;
        }
        if (auto f = n["formats"]) {
            s.formats = FormatMask::none();
            YAML::Node list = f.IsSequence() ? f : YAML::Node(YAML::NodeType::Sequence);
            if (!f.IsSequence()) list.push_back(f);
            for (const auto& e : list) {
                auto t = str(e, where + ": format");
                if (!t) continue;
                if (auto fm = parse_format(*t)) s.formats.add(*fm);
                else err(e, "{}: unknown format '{}' (S16_LE, S24_LE, S24_3LE, S32_LE, FLOAT_LE, ...)", where, *t);
            }
        }
        if (auto r = n["rates"]) {
            if (r.IsMap()) {
                if (check_keys(r, {"min", "max"}, where + ": rates"))
                    s.rates = {uint(r["min"], where + ": rates min", 1, 768000).value_or(8000),
                               uint(r["max"], where + ": rates max", 1, 768000).value_or(192000)};
            } else {
                YAML::Node list = r.IsSequence() ? r : YAML::Node(YAML::NodeType::Sequence);
                if (!r.IsSequence()) list.push_back(r);
                for (const auto& e : list)
                    if (auto v = uint(e, where + ": rate", 1, 768000)) s.rate_list.push_back(*v);
                if (!s.rate_list.empty())
                    s.rates = {*std::min_element(s.rate_list.begin(), s.rate_list.end()),
                               *std::max_element(s.rate_list.begin(), s.rate_list.end())};
            }
        }
        if (auto c = n["channels"]) {
            if (c.IsMap()) {
                if (check_keys(c, {"min", "max"}, where + ": channels"))
                    s.channels = {uint(c["min"], where + ": channels min", 1, 64).value_or(1),
                                  uint(c["max"], where + ": channels max", 1, 64).value_or(2)};
            } else if (auto v = uint(c, where + ": channels", 1, 64)) {
                s.channels = {*v, *v};
            }
            if (s.channels.empty()) err(c, "{}: channels min is above max", where);
        }
        if (s.rates.empty()) err(n["rates"], "{}: rates min is above max", where);
        return s;
    }

    void trigger(const YAML::Node& n, const std::string& where, TriggerOrder (&out)[2]) {
        auto parse = [&](const YAML::Node& v) -> std::optional<TriggerOrder> {
            auto s = str(v, where + ": trigger");
            if (!s) return std::nullopt;
            if (*s == "pre") return TriggerOrder::Pre;
            if (*s == "post") return TriggerOrder::Post;
            err(v, "{}: trigger '{}' must be pre or post", where, *s);
            return std::nullopt;
        };
        if (n.IsMap()) {
            if (!check_keys(n, {"playback", "capture"}, where + ": trigger")) return;
            if (n["playback"]) out[0] = parse(n["playback"]).value_or(out[0]);
            if (n["capture"]) out[1] = parse(n["capture"]).value_or(out[1]);
        } else if (auto t = parse(n)) {
            out[0] = out[1] = *t;
        }
    }

    // What FE and BE links share: name, line, the two directions and the trigger order.
    template <class Link>
    std::optional<std::pair<Link, YAML::Node>> link_common(const YAML::Node& item, const std::string& what,
                                                           std::vector<std::string> keys, bool fe) {
        const YAML::Node n = with_merges(item);
        keys.insert(keys.end(), {"name", "playback", "capture", "trigger"});
        if (!check_keys(n, keys, what)) {
            key_error_ = true;
            if (!n.IsMap()) return std::nullopt;
        }
        Link link;
        auto name = str(n["name"], what + ": name");
        if (!name) return std::nullopt;
        link.name = *name;
        link.line = item_line_;
        const std::string where = fmt::format("{} link '{}'", fe ? "FE" : "BE", link.name);
        const bool by_dai = fe ? bool(n["cpu_dai"]) : bool(n["cpus"]);
        if (n["playback"]) link.playback = link_stream(n["playback"], where + " playback", fe, by_dai);
        if (n["capture"]) link.capture = link_stream(n["capture"], where + " capture", fe, by_dai);
        if (n["trigger"]) trigger(n["trigger"], where, link.trigger);
        return std::make_pair(std::move(link), n);
    }

    void fe_link(const YAML::Node& item, size_t index) {
        auto l = link_common<FeLink>(item, fmt::format("fe_link {}", index), {"cpu_dai", "device"}, true);
        if (!l) return;
        const std::string where = fmt::format("FE link '{}'", l->first.name);
        if (auto c = l->second["cpu_dai"]) l->first.cpu_dai = str(c, where + ": cpu_dai").value_or("");
        if (auto d = l->second["device"]) l->first.device = uint(d, where + ": device (its PCM device number)", 0, 1023);
        if (auto r = card_->add_fe_link(std::move(l->first)); !r) err(l->second, "{}", r.error().message());
    }

    std::optional<RouteRemoval> route_removal(const YAML::Node& n, const std::string& what) {
        auto s = str(n, what);
        if (!s) return std::nullopt;
        if (*s == "cut") return RouteRemoval::Cut;
        if (*s == "fade") return RouteRemoval::Fade;
        if (*s == "play") return RouteRemoval::Play;
        err(n, "{}: '{}' is not cut, fade or play{}", what, *s, did_you_mean(*s, {"cut", "fade", "play"}));
        return std::nullopt;
    }

    void be_link(const YAML::Node& item, size_t index) {
        auto l = link_common<BeLink>(item, fmt::format("be_link {}", index),
                                     {"id", "cpu_dai", "cpus", "codecs", "playback_only", "capture_only", "backend", "fixup", "clock",
                                      "route_removal"},
                                     false);
        if (!l) return;
        BeLink& link = l->first;
        const YAML::Node& n = l->second;
        const std::string where = fmt::format("BE link '{}'", link.name);
        link.id = static_cast<uint32_t>(index - 1);
        if (n["id"]) link.id = uint(n["id"], where + ": id", 0, UINT32_MAX).value_or(link.id);
        if (n["cpu_dai"]) link.cpu_dai = str(n["cpu_dai"], where + ": cpu_dai").value_or("");
        for (auto [key, out] : {std::pair{"cpus", &link.cpus}, std::pair{"codecs", &link.codecs}})
            if (auto v = n[key]) {
                YAML::Node list = v.IsSequence() ? v : YAML::Node(YAML::NodeType::Sequence);
                if (!v.IsSequence()) list.push_back(v);
                for (const auto& e : list)
                    if (auto d = str(e, fmt::format("{}: {} (DAI names)", where, key))) out->push_back(*d);
            }
        if (!link.codecs.empty() && link.cpus.empty()) err(n["codecs"], "{}: codecs need cpus (the CPU DAIs)", where);
        if (n["playback_only"]) link.playback_only = boolean(n["playback_only"], where + ": playback_only").value_or(false);
        if (n["capture_only"]) link.capture_only = boolean(n["capture_only"], where + ": capture_only").value_or(false);
        if (auto b = n["backend"]) {
            if (b.IsNull()) {
                link.backend.type = "null";  // `backend: null` reads as YAML null
            } else if (b.IsScalar()) {
                link.backend.type = b.Scalar();
            } else if (b.IsMap()) {
                for (const auto& kv : b) {
                    auto key = str(kv.first, where + ": backend key");
                    if (key && *key == "type" && kv.second.IsNull()) {
                        link.backend.type = "null";
                        continue;
                    }
                    auto val = str(kv.second, where + ": backend option");
                    if (!key || !val) continue;
                    if (*key == "type") link.backend.type = *val;
                    else link.backend.options[*key] = *val;
                }
            } else {
                err(b, "{}: backend must be a type name or a mapping", where);
            }
            if (auto r = check_backend_binding(link.backend); !r) err(b, "{}: {}", where, r.error().message());
            // A WAV file named relative to the card file is found next to it.
            if (auto it = link.backend.options.find("file"); link.backend.type == "wav" && it != link.backend.options.end()) {
                const std::filesystem::path f(it->second), dir = std::filesystem::path(file_).parent_path();
                if (f.is_relative() && !dir.empty()) it->second = (dir / f).string();
            }
        }
        if (auto f = n["fixup"]) {
            if (check_keys(f, {"rate", "channels", "format", "channel_map"}, where + ": fixup")) {
                if (f["rate"]) link.fixup.rate = uint(f["rate"], where + ": fixup rate", 1, 768000);
                if (f["channels"]) link.fixup.channels = uint(f["channels"], where + ": fixup channels", 1, 64);
                if (f["format"])
                    if (auto s = str(f["format"], where + ": fixup format")) {
                        link.fixup.format = parse_format(*s);
                        if (!link.fixup.format) err(f["format"], "{}: unknown format '{}'", where, *s);
                    }
                if (auto m = f["channel_map"]) {
                    if (!m.IsSequence() || m.size() == 0) {
                        err(m, "{}: fixup channel_map must be a list of FE channels, one per BE channel", where);
                    } else {
                        for (const auto& c : m)
                            if (auto v = integer(c, where + ": fixup channel_map")) {
                                if (*v < -1 || *v > 63) err(c, "{}: fixup channel_map: {} is not an FE channel (0..63, or -1 for none)", where, *v);
                                else link.fixup.channel_map.push_back(static_cast<int>(*v));
                            }
                        if (link.fixup.channels && link.fixup.channel_map.size() != *link.fixup.channels)
                            err(m, "{}: fixup channel_map has {} entries but the BE runs {} channels", where,
                                link.fixup.channel_map.size(), *link.fixup.channels);
                    }
                }
            }
        }
        if (auto c = n["clock"]) link.clock = clock_model(c, where + ": clock");
        if (auto r = n["route_removal"]) link.route_removal = route_removal(r, where + ": route_removal");
        if (overlay_ && overlay_->configure_be) overlay_->configure_be(link);
        if (auto r = card_->add_be_link(std::move(link)); !r) err(n, "{}", r.error().message());
    }

    void route(const YAML::Node& item, size_t index, uint32_t ctx) {
        const YAML::Node n = with_merges(item);
        const std::string what = fmt::format("route {}", index);
        YAML::Node sink, control, source;
        if (n.IsSequence()) {
            if (n.size() != 3) {
                err(n, "{}: expected [sink, control, source], got {} entries", what, n.size());
                return;
            }
            sink = n[0];
            control = n[1];
            source = n[2];
        } else if (n.IsMap()) {
            if (!check_keys(n, {"sink", "control", "source"}, what)) return;
            sink = n["sink"];
            control = n["control"];
            source = n["source"];
        } else {
            err(n, "{}: expected [sink, control, source] or a mapping with sink, control and source", what);
            return;
        }
        auto s = str(sink, what + ": sink");
        auto o = str(source, what + ": source");
        std::string c;
        if (control.IsDefined() && !control.IsNull()) c = str(control, what + ": control").value_or("");
        if (!s || !o) return;
        if (placeholders_.count(*s) || placeholders_.count(*o)) return;
        auto r = card_->add_route(*s, c, *o, ctx);
        if (r) return;
        if (key_error_ && r.error().code() == -ENOENT) {
            if (suppressed_routes_++ == 0) first_suppressed_line_ = item_line_;  // likely what the bad key would have made
            return;
        }
        // snd_soc_bind_card with disable_route_checks: the route is left out, the card binds.
        if (card_->disable_route_checks())
            warnings_.push_back(fmt::format("{}:{}: {}: {} (left out: disable_route_checks)", file_, item_line_, what,
                                            r.error().message()));
        else
            err(n, "{}: {}", what, r.error().message());
    }

    // YAML merge keys ("<<: *anchor", YAML 1.1), which yaml-cpp 0.7 does not resolve: a map
    // item gets the keys of the merged map(s) it does not set itself. Values stay the original
    // nodes, so their line numbers survive.
    YAML::Node with_merges(const YAML::Node& n) {
        item_line_ = n.IsDefined() && n.Mark().line >= 0 ? n.Mark().line + 1 : item_line_;
        if (!n.IsMap() || !n["<<"]) return n;
        YAML::Node out(YAML::NodeType::Map);
        for (const auto& kv : n)
            if (!(kv.first.IsScalar() && kv.first.Scalar() == "<<")) out[kv.first] = kv.second;
        const YAML::Node src = n["<<"];
        std::vector<YAML::Node> sources;
        if (src.IsMap()) sources.push_back(src);
        else if (src.IsSequence())
            for (const auto& e : src) sources.push_back(e);
        for (const auto& m : sources) {
            if (!m.IsMap()) {
                err(src, "'<<' must merge a mapping (an anchored map such as *mixer)");
                continue;
            }
            for (const auto& kv : m)
                if (kv.first.IsScalar() && !out[kv.first.Scalar()]) out[kv.first.Scalar()] = kv.second;
        }
        return out;
    }

    const OverlayHooks* overlay_;
    std::unique_ptr<Card> card_;
    std::map<std::string, int> widget_lines_;
    std::set<std::string> placeholders_;  // widgets already reported as broken
    std::vector<std::string> warnings_;
    bool key_error_ = false;        // an unknown or misplaced key: missing widgets may follow from it
    int first_suppressed_line_ = 1;
    size_t suppressed_routes_ = 0;  // routes to missing widgets not reported because of it
};

}  // namespace

CardLoad load_card_string(std::string_view text, std::string_view filename) {
    return Loader(std::string(filename)).run(text);
}

CardLoad load_card_overlay(std::string_view text, std::string_view filename, const OverlayHooks& hooks) {
    return Loader(std::string(filename), &hooks).run(text);
}

CardLoad load_card_file(const std::string& path) {
    CardLoad out;
    const auto text = YamlReader::read_file(path, "card file", out.errors);
    if (!text) return out;
    return load_card_string(*text, path);
}

}  // namespace dynpcm

#include "dynpcm/card/card.h"

#include "dynpcm/dsp/mix.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

namespace dynpcm {

namespace {
bool is_dai_type(WidgetType t) { return t == WidgetType::DaiIn || t == WidgetType::DaiOut; }
}  // namespace

const char* trigger_order_name(TriggerOrder t) noexcept { return t == TriggerOrder::Pre ? "pre" : "post"; }

Card::Card(std::string name)
    : name_(std::move(name)),
      identity_{card_id_from_name(name_), "dynpcm", name_.substr(0, 31), name_.substr(0, 79), name_.substr(0, 79), ""} {
    components_.push_back(Component{"card", ""});
}

std::string card_id_from_name(std::string_view name) {
    std::string id;
    for (char ch : name) {
        if (id.size() == 15) break;
        if (!std::isalnum(static_cast<unsigned char>(ch))) continue;
        if (id.empty() && std::isdigit(static_cast<unsigned char>(ch))) id += 'D';
        id += ch;
    }
    return id.empty() ? "Default" : id.substr(0, 15);
}

Result<uint32_t> Card::add_component(std::string name, std::string prefix) {
    if (name.empty()) return Error(-EINVAL, "a component needs a name");
    if (find_component(name)) return Error(-EEXIST, fmt::format("component '{}' is defined twice", name));
    components_.push_back(Component{std::move(name), std::move(prefix)});
    return static_cast<uint32_t>(components_.size() - 1);
}

std::optional<uint32_t> Card::find_component(std::string_view name) const noexcept {
    for (size_t i = 0; i < components_.size(); ++i)
        if (components_[i].name == name) return static_cast<uint32_t>(i);
    return std::nullopt;
}

std::string Card::prefixed(uint32_t component, std::string_view name) const {
    const std::string& p = component < components_.size() ? components_[component].prefix : std::string();
    return p.empty() ? std::string(name) : fmt::format("{} {}", p, name);
}

std::string Card::describe_widget(WidgetId w) const {
    const DapmWidget& wd = graph_.widget(w);
    if (wd.context == 0) return fmt::format("'{}'", wd.name);
    return fmt::format("'{}' (component '{}')", wd.name, components_[wd.context].name);
}

Result<size_t> Card::add_dai(uint32_t component, std::string name, std::string playback_stream, std::string capture_stream) {
    if (component >= components_.size()) return Error(-EINVAL, fmt::format("DAI '{}': no component {}", name, component));
    if (name.empty()) return Error(-EINVAL, "a DAI needs a name");
    if (playback_stream.empty() && capture_stream.empty())
        return Error(-EINVAL, fmt::format("DAI '{}' has neither a playback nor a capture stream", name));
    for (const auto& d : dais_)
        if (d.name == name && d.component == component)
            return Error(-EEXIST, fmt::format("DAI '{}' is defined twice in component '{}'", name, components_[component].name));
    Dai dai;
    dai.name = std::move(name);
    dai.component = component;
    dai.stream[0] = std::move(playback_stream);
    dai.stream[1] = std::move(capture_stream);
    for (int d = 0; d < 2; ++d) {
        if (dai.stream[d].empty()) continue;
        const std::string wname = prefixed(component, dai.stream[d]);
        for (WidgetId w : graph_.named(wname))
            if (graph_.widget(w).context == component && is_dai_type(graph_.widget(w).type))
                return Error(-EEXIST, fmt::format("DAI '{}': component '{}' already has a DAI stream widget '{}'", dai.name,
                                                  components_[component].name, wname));
        dai.widget[d] = graph_.add_widget(wname, d == 0 ? WidgetType::DaiIn : WidgetType::DaiOut, dai.stream[d], 0, component);
        probe_dai_widgets_.resize(graph_.widget_count());
        probe_dai_widgets_[*dai.widget[d]] = true;
    }
    dais_.push_back(std::move(dai));
    return dais_.size() - 1;
}

Result<size_t> Card::adopt_dai(uint32_t component, std::string name, WidgetId widget) {
    if (widget >= graph_.widget_count() || !is_dai_type(graph_.widget(widget).type))
        return Error(-EINVAL, fmt::format("DAI '{}': widget {} is no DAI stream widget", name, widget));
    Dai dai;
    dai.name = std::move(name);
    dai.component = component;
    const int d = graph_.widget(widget).type == WidgetType::DaiIn ? 0 : 1;
    dai.stream[d] = graph_.widget(widget).stream;
    dai.widget[d] = widget;
    dais_.push_back(std::move(dai));
    return dais_.size() - 1;
}

const Dai* Card::find_dai(std::string_view name) const noexcept {
    std::string_view component, dai = name;
    if (const size_t colon = name.rfind(':'); colon != std::string_view::npos) {  // "i2c-INT343A:00:aif1"
        component = name.substr(0, colon);
        dai = name.substr(colon + 1);
    }
    const Dai* found = nullptr;
    for (const auto& d : dais_) {
        if (d.name != dai || (!component.empty() && components_[d.component].name != component)) continue;
        if (found) return nullptr;  // ambiguous: "component:dai" says which
        found = &d;
    }
    return found;
}

std::optional<size_t> Card::find_fe_device(uint32_t device) const noexcept {
    for (size_t i = 0; i < fe_.size(); ++i)
        if (fe_[i].device_number == device) return i;
    return std::nullopt;
}


namespace {
std::vector<std::string> widget_names(const DapmGraph& g) {
    std::vector<std::string> names;
    names.reserve(g.widget_count());
    for (WidgetId w = 0; w < g.widget_count(); ++w) names.push_back(g.widget(w).name);
    return names;
}


}  // namespace

std::optional<std::string> Card::suggest_widget(std::string_view name) const {
    return nearest_name(name, widget_names(graph_));
}

// ------------------------------------------------------------------------------------------
// building

Result<uint32_t> Card::add_ctl(const KcontrolSpec& spec, std::string full_name, CtlRole role,
                               std::optional<WidgetId> widget) {
    if (full_name.empty()) return Error(-EINVAL, "a control needs a name");
    if (full_name.size() > kCtlNameMax)
        return Error(-EINVAL, fmt::format("control name '{}' is {} characters; ALSA allows at most {}", full_name,
                                          full_name.size(), kCtlNameMax));
    if (find_control(full_name))
        return Error(-EEXIST, fmt::format("control '{}' is defined twice", full_name));
    Control c;
    c.id.numid = static_cast<uint32_t>(controls_.size() + 1);
    c.id.name = std::move(full_name);
    c.info = spec.info;
    c.role = role;
    c.widget = widget;
    c.kcontrol = spec.name;
    const auto& i = c.info;
    if (i.count == 0 || i.count > 512)
        return Error(-EINVAL, fmt::format("control '{}': count {} must be 1..512", c.id.name, i.count));
    // snd_ctl_elem_value holds 128 values of a BOOLEAN, INTEGER or ENUMERATED control (512 bytes).
    if (i.type != CtlType::Bytes && i.count > 128)
        return Error(-EINVAL, fmt::format("control '{}': count {} is over ALSA's 128 values for {} controls", c.id.name,
                                          i.count, ctl_type_name(i.type)));
    if (i.items.size() > 1024)
        return Error(-EINVAL, fmt::format("control '{}': {} items; dynpcm serves at most 1024", c.id.name, i.items.size()));
    for (const auto& item : i.items)
        if (item.size() > 63)
            return Error(-EINVAL, fmt::format("control '{}': item '{}' is {} characters; ALSA allows at most 63", c.id.name,
                                              item, item.size()));
    if (i.type == CtlType::Integer && (i.min > i.max || i.step <= 0))
        return Error(-EINVAL, fmt::format("control '{}': range {}..{} step {} is empty", c.id.name, i.min, i.max, i.step));
    if (i.type == CtlType::Enumerated && i.items.empty())
        return Error(-EINVAL, fmt::format("control '{}': an enumerated control needs items", c.id.name));
    const int64_t first = i.type == CtlType::Integer ? i.min : 0;
    c.value = spec.value.empty() ? std::vector<int64_t>(i.count, first) : spec.value;
    if (c.value.size() == 1 && i.count > 1) c.value.assign(i.count, c.value[0]);
    if (auto r = validate_ctl_values(c, c.value); !r) return std::move(r).error();
    controls_.push_back(std::move(c));
    return controls_.back().id.numid;
}

Result<uint32_t> Card::add_control(const KcontrolSpec& spec) {
    return add_ctl(spec, spec.name, CtlRole::Plain, std::nullopt);
}

Result<WidgetId> Card::add_widget(const WidgetSpec& spec) {
    if (spec.name.empty()) return Error(-EINVAL, "a widget needs a name");
    if (spec.context >= components_.size())
        return Error(-EINVAL, fmt::format("widget '{}': no component {}", spec.name, spec.context));
    const std::string name = prefixed(spec.context, spec.name);
    const std::string in_component =
        spec.context == 0 ? std::string() : fmt::format(" in component '{}'", components_[spec.context].name);
    for (WidgetId w : graph_.named(name)) {
        if (graph_.widget(w).context != spec.context) continue;
        // The kernel makes a component's DAI widgets when it probes, before its topology loads,
        // and lets a topology widget share a DAI widget's name; routes then find the DAI's.
        if (probe_dai(w) && !is_dai_type(spec.type)) {
            warnings_.push_back({std::nullopt, fmt::format("widget '{}' ({}){} has the name of a DAI stream widget; "
                                                           "routes naming it reach the DAI's, as in the kernel",
                                                           name, widget_type_name(spec.type), in_component)});
            continue;
        }
        return Error(-EEXIST, fmt::format("widget '{}' is defined twice{}", name, in_component));
    }
    const KcontrolKind kind = widget_kcontrol_kind(spec.type);
    const auto tname = widget_type_name(spec.type);
    if (kind == KcontrolKind::None && !spec.kcontrols.empty())
        return Error(-EINVAL, fmt::format("widget '{}' ({}) takes no controls, but '{}' is given", spec.name, tname,
                                          spec.kcontrols.front().name));
    if (kind == KcontrolKind::Mux) {
        if (spec.kcontrols.size() != 1)
            return Error(-EINVAL, fmt::format("{} '{}' needs exactly one enumerated control (its items), got {}", tname,
                                              spec.name, spec.kcontrols.size()));
        if (spec.kcontrols[0].info.type != CtlType::Enumerated)
            return Error(-EINVAL, fmt::format("{} '{}': its control must be ENUMERATED", tname, spec.name));
    }
    if (kind == KcontrolKind::Mixer)
        for (const auto& k : spec.kcontrols)
            if (k.info.type != CtlType::Boolean && k.info.type != CtlType::Integer)
                return Error(-EINVAL, fmt::format("{} '{}': control '{}' must be BOOLEAN or INTEGER to switch a route",
                                                  tname, spec.name, k.name));

    const size_t first_ctl = controls_.size();
    // A DAI widget's stream is its own name when none is given (a card file's dai_in widget).
    std::string stream = spec.stream.empty() && is_dai_type(spec.type) ? spec.name : spec.stream;
    const WidgetId id = graph_.add_widget(name, spec.type, std::move(stream), spec.subseq, spec.context);
    auto unwind = [&](Error e) -> Result<WidgetId> {
        // The widget stays in the graph (graphs only grow), so routes that name it later do
        // not cascade into more errors while a loader goes on checking the rest of a file.
        controls_.resize(first_ctl);
        return e;
    };
    for (const auto& k : spec.kcontrols) {
        std::string full;
        switch (widget_kcontrol_naming(spec.type)) {
            case KcontrolNaming::WidgetAndControl: full = spec.name + " " + k.name; break;
            case KcontrolNaming::ControlOnly: full = k.name; break;
            case KcontrolNaming::WidgetOnly: full = spec.name; break;
        }
        full = prefixed(spec.context, full);  // snd_soc_cnew with the component's prefix
        if (kind == KcontrolKind::Mixer && std::any_of(spec.kcontrols.begin(), spec.kcontrols.end(),
                                                       [&](const KcontrolSpec& o) { return &o != &k && o.name == k.name; }))
            return unwind(Error(-EEXIST, fmt::format("widget '{}': control '{}' is defined twice", spec.name, k.name)));
        const CtlRole role = kind == KcontrolKind::Mixer ? CtlRole::MixerPath
                             : spec.type == WidgetType::Mux ? CtlRole::Mux
                             : spec.type == WidgetType::Demux ? CtlRole::Demux
                                                               : CtlRole::Plain;
        if (auto r = add_ctl(k, std::move(full), role, id); !r) return unwind(std::move(r).error());
    }
    if (spec.pin_switch) {
        KcontrolSpec pin{"Switch", CtlInfo{CtlType::Boolean, 1, 0, 1, 1, {}, std::nullopt, false}, {1}};
        if (auto r = add_ctl(pin, name + " Switch", CtlRole::Pin, id); !r) return unwind(std::move(r).error());
    }
    return id;
}

std::optional<WidgetId> Card::resolve(const std::string& name, uint32_t context, const char* role) {
    // snd_soc_dapm_add_route: the first widget of the name in the route's own context (a DAI
    // widget made at probe before any other), else the last one anywhere else.
    std::optional<WidgetId> own, other;
    size_t others = 0;
    for (WidgetId w : graph_.named(name)) {
        if (graph_.widget(w).context == context) {
            if (!own || (probe_dai(w) && !probe_dai(*own))) own = w;
        } else {
            other = w;
            ++others;
        }
    }
    if (own) return own;
    if (others > 1)
        warnings_.push_back({other, fmt::format("{} widget '{}' is in {} components; the route takes the last, {} (as the "
                                                "kernel does, with 'overwritten')",
                                                role, name, others, describe_widget(*other))});
    return other;
}

Result<PathId> Card::add_route(std::string_view sink_short, std::string_view control, std::string_view source_short,
                               uint32_t context) {
    if (context >= components_.size()) return Error(-EINVAL, fmt::format("route: no component {}", context));
    const std::string sink_name = prefixed(context, sink_short), source_name = prefixed(context, source_short);
    const auto sink = resolve(sink_name, context, "sink");
    if (!sink)
        return Error(-ENOENT, fmt::format("unknown sink widget '{}'{}", sink_name, did_you_mean(sink_name, widget_names(graph_))));
    const auto source = resolve(source_name, context, "source");
    if (!source)
        return Error(-ENOENT,
                     fmt::format("unknown source widget '{}'{}", source_name, did_you_mean(source_name, widget_names(graph_))));
    if (*sink == *source) return Error(-EINVAL, fmt::format("route from '{}' to itself", sink_name));
    if (control.empty()) return graph_.add_path(*source, *sink, {}, true);

    const WidgetType st = graph_.widget(*sink).type;
    const WidgetType ot = graph_.widget(*source).type;
    auto find_kctl = [&](WidgetId w, CtlRole role) -> Control* {
        for (auto& c : controls_)
            if (c.widget == w && c.role == role) return &c;
        return nullptr;
    };
    Control* ctl = nullptr;
    bool connect = false;
    if (st == WidgetType::Mux || ot == WidgetType::Demux) {
        const bool mux = st == WidgetType::Mux;
        const WidgetId owner = mux ? *sink : *source;
        ctl = find_kctl(owner, mux ? CtlRole::Mux : CtlRole::Demux);
        if (!ctl) return Error(-EINVAL, fmt::format("{} '{}' has no control", mux ? "mux" : "demux", graph_.widget(owner).name));
        const auto& items = ctl->info.items;
        const auto it = std::find(items.begin(), items.end(), control);
        if (it == items.end())
            return Error(-EINVAL, fmt::format("{} '{}' has no item '{}'{} (items: {})", mux ? "mux" : "demux",
                                              graph_.widget(owner).name, control, did_you_mean(control, items),
                                              fmt::join(items, ", ")));
        connect = items[static_cast<size_t>(ctl->value[0])] == control;
    } else if (widget_kcontrol_kind(st) == KcontrolKind::Mixer) {
        std::vector<std::string> names;
        for (auto& c : controls_)
            if (c.widget == *sink && c.role == CtlRole::MixerPath) {
                if (c.kcontrol == control) ctl = &c;
                names.push_back(c.kcontrol);
            }
        if (!ctl)
            return Error(-EINVAL, fmt::format("{} '{}' has no control '{}'{} (controls: {})", widget_type_name(st), sink_name,
                                              control, did_you_mean(control, names),
                                              names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
        connect = std::any_of(ctl->value.begin(), ctl->value.end(), [&](int64_t v) { return ctl->connects(v); });
    } else {
        return Error(-EINVAL, fmt::format("route into '{}' ({}) names control '{}', but only mixers, switches, muxes "
                                          "and demuxes switch routes",
                                          sink_name, widget_type_name(st), control));
    }
    const PathId p = graph_.add_path(*source, *sink, std::string(control), connect);
    ctl->paths.push_back(p);
    return p;
}

Result<WidgetId> Card::add_dai_widget(const std::string& link, const std::string& stream_name, WidgetType type) {
    if (stream_name.empty())
        return Error(-EINVAL, fmt::format("link '{}': its {} needs a stream name", link,
                                          type == WidgetType::DaiIn ? "playback" : "capture"));
    const uint32_t ctx = default_dai_context_;
    const std::string name = prefixed(ctx, stream_name);
    for (WidgetId w : graph_.named(name)) {
        if (graph_.widget(w).context != ctx) continue;
        if (graph_.widget(w).type != type)
            return Error(-EEXIST, fmt::format("stream '{}' would be a {} widget, but a {} widget has that name",
                                              stream_name, widget_type_name(type), widget_type_name(graph_.widget(w).type)));
        if (w < be_by_widget_.size() && be_by_widget_[w])
            return Error(-EEXIST, fmt::format("link '{}': stream '{}' already belongs to BE link '{}'", link, stream_name,
                                              be_[*be_by_widget_[w]].name));
        for (const auto& fe : fe_)
            for (const auto& s : {fe.playback, fe.capture})
                if (s && s->widget == w)
                    return Error(-EEXIST, fmt::format("link '{}': stream '{}' already belongs to FE link '{}'", link,
                                                      stream_name, fe.name));
        return w;
    }
    return graph_.add_widget(name, type, stream_name, 0, ctx);
}

namespace {
bool link_name_taken(const std::vector<FeLink>& fe, const std::vector<BeLink>& be, const std::string& name) {
    return std::any_of(fe.begin(), fe.end(), [&](const FeLink& l) { return l.name == name; }) ||
           std::any_of(be.begin(), be.end(), [&](const BeLink& l) { return l.name == name; });
}

// A link direction as its DAI gives it, keeping what the link declared of formats and rates.
void stream_from_dai(std::optional<LinkStream>& ls, const Dai& dai, int d, bool be) {
    if (!ls) {
        ls.emplace();
        if (be) {  // a BE takes anything unless it says otherwise (dpcm_merged_*)
            ls->formats = FormatMask::all();
            ls->rates = {1000, 768000};
            ls->channels = {1, 32};
        }
    }
    ls->stream_name = dai.stream[d];
    ls->widget = *dai.widget[d];
}
}  // namespace

Result<size_t> Card::add_fe_link(FeLink link) {
    if (link.name.empty()) return Error(-EINVAL, "an FE link needs a name");
    if (link_name_taken(fe_, be_, link.name)) return Error(-EEXIST, fmt::format("link '{}' is defined twice", link.name));
    if (!link.cpu_dai.empty()) {
        // The FE DAI's streams are the link's (soc_new_pcm: the CPU DAI's stream widgets).
        const Dai* dai = find_dai(link.cpu_dai);
        if (!dai) return Error(-ENOENT, fmt::format("FE link '{}': no DAI '{}' (or more than one: give 'component:dai')",
                                                    link.name, link.cpu_dai));
        // The directions the link gives (playback: / capture:), or else all its DAI has.
        const bool all = !link.playback && !link.capture;
        for (int d = 0; d < 2; ++d) {
            auto& ls = d == 0 ? link.playback : link.capture;
            if (!all && !ls) continue;
            if (dai->widget[d]) stream_from_dai(ls, *dai, d, false);
            else if (ls) return Error(-EINVAL, fmt::format("FE link '{}': DAI '{}' has no {} stream", link.name, dai->name,
                                                           d == 0 ? "playback" : "capture"));
        }
    }
    if (!link.playback && !link.capture)
        return Error(-EINVAL, fmt::format("FE link '{}' has neither playback nor capture", link.name));
    for (int d = 0; d < 2; ++d) {
        auto& ls = d == 0 ? link.playback : link.capture;
        if (!ls) continue;
        if (link.cpu_dai.empty()) {
            auto w = add_dai_widget(link.name, ls->stream_name, d == 0 ? WidgetType::DaiIn : WidgetType::DaiOut);
            if (!w) return std::move(w).error();
            ls->widget = *w;
        }
        ls->dai_widgets = {ls->widget};
    }
    fe_.push_back(std::move(link));
    return fe_.size() - 1;
}

// A BE link's streams from its CPU and codec DAIs (soc_get_playback_capture: a direction is
// there when a CPU DAI and a codec DAI both have it, or the CPU DAI alone with no codec).
Result<void> Card::link_dais(BeLink& link) {
    std::vector<const Dai*> cpus, codecs;
    for (auto [names, out] : {std::pair{&link.cpus, &cpus}, std::pair{&link.codecs, &codecs}})
        for (const auto& n : *names) {
            const Dai* d = find_dai(n);
            if (!d) return Error(-ENOENT, fmt::format("BE link '{}': no DAI '{}' (or more than one: give 'component:dai')",
                                                      link.name, n));
            out->push_back(d);
        }
    if (cpus.empty()) return Error(-EINVAL, fmt::format("BE link '{}' names codecs but no CPU DAI (cpus:)", link.name));
    for (int d = 0; d < 2; ++d) {
        auto& ls = d == 0 ? link.playback : link.capture;
        const bool cpu_has = std::any_of(cpus.begin(), cpus.end(), [&](const Dai* x) { return x->widget[d].has_value(); });
        const bool codec_has = codecs.empty() ||
                               std::any_of(codecs.begin(), codecs.end(), [&](const Dai* x) { return x->widget[d].has_value(); });
        const bool wanted = !(d == 0 ? link.capture_only : link.playback_only);
        if (!(cpu_has && codec_has && wanted)) {
            ls.reset();
            continue;
        }
        const Dai* first = *std::find_if(cpus.begin(), cpus.end(), [&](const Dai* x) { return x->widget[d].has_value(); });
        stream_from_dai(ls, *first, d, true);
        for (const auto* group : {&cpus, &codecs})
            for (const Dai* x : *group)
                if (x->widget[d]) ls->dai_widgets.push_back(*x->widget[d]);
    }
    if (link.cpu_dai.empty()) link.cpu_dai = cpus.front()->name;
    return ok();
}

Result<size_t> Card::add_be_link(BeLink link) {
    if (link.name.empty()) return Error(-EINVAL, "a BE link needs a name");
    if (link_name_taken(fe_, be_, link.name)) return Error(-EEXIST, fmt::format("link '{}' is defined twice", link.name));
    if (!link.cpus.empty() || !link.codecs.empty())
        if (auto r = link_dais(link); !r) return std::move(r).error();
    if (!link.playback && !link.capture)
        return Error(-EINVAL, fmt::format("BE link '{}' has neither playback nor capture", link.name));
    if (link.cpus.empty()) {
        if (link.playback && link.capture && link.playback->stream_name == link.capture->stream_name)
            return Error(-EEXIST, fmt::format("BE link '{}': playback and capture need different stream names", link.name));
        for (Stream s : {Stream::Playback, Stream::Capture}) {
            auto& ls = s == Stream::Playback ? link.playback : link.capture;
            if (!ls) continue;
            auto w = add_dai_widget(link.name, ls->stream_name, s == Stream::Playback ? WidgetType::DaiIn : WidgetType::DaiOut);
            if (!w) return std::move(w).error();
            ls->widget = *w;
            ls->dai_widgets = {*w};
        }
    }
    // Bind only once both directions are in, so a rejected link leaves no binding behind.
    const size_t index = be_.size();
    // A DAI may serve several BE links (dmic-codec's on dmic01 and dmic16k): its widget then
    // leads to the first of them, as dpcm_get_be finds the first in link order.
    for (const auto& ls : {link.playback, link.capture}) {
        if (!ls) continue;
        for (WidgetId w : ls->dai_widgets) {
            if (be_by_widget_.size() <= w) be_by_widget_.resize(w + 1);
            if (!be_by_widget_[w]) be_by_widget_[w] = index;
        }
    }
    be_.push_back(std::move(link));
    return index;
}

// snd_soc_dapm_link_dai_widgets: every widget with a stream name (sname) is joined to each DAI
// stream widget of its own context whose stream its sname contains (strstr; or equals, with
// StreamMatch::Exact): from a playback DAI widget into it, from it into a capture one.
void Card::link_dai_widgets() {
    const size_t n = graph_.widget_count();
    std::vector<bool> bound(n, false);
    std::vector<std::string> dai_streams;
    for (WidgetId d = 0; d < n; ++d) {
        const DapmWidget& dw = graph_.widget(d);
        if (!is_dai_type(dw.type) || dw.stream.empty()) continue;
        dai_streams.push_back(dw.stream);
        for (WidgetId w = 0; w < n; ++w) {
            const DapmWidget& ww = graph_.widget(w);
            if (ww.context != dw.context || is_dai_type(ww.type) || ww.stream.empty()) continue;
            const bool exact = ww.stream == dw.stream;
            if (!exact && (stream_match_ == StreamMatch::Exact || ww.stream.find(dw.stream) == std::string::npos)) continue;
            if (dw.type == WidgetType::DaiIn) graph_.add_path(d, w, {}, true);
            else graph_.add_path(w, d, {}, true);
            ++stream_bindings_;
            bound[w] = true;
            if (!exact)
                warnings_.push_back({w, fmt::format("widget {} (stream '{}') is bound to DAI stream '{}' because its name "
                                                    "contains it, as the kernel's strstr() match does; an exact match "
                                                    "would not bind it (stream_match: exact)",
                                                    describe_widget(w), ww.stream, dw.stream)});
        }
    }
    for (WidgetId w = 0; w < n; ++w) {
        const DapmWidget& ww = graph_.widget(w);
        // Stream widgets only: SOF's pipeline (scheduler) widgets carry an sname too, naming the
        // widget that schedules them, and are meant to bind to nothing.
        const bool stream_widget = ww.type == WidgetType::AifIn || ww.type == WidgetType::AifOut ||
                                   ww.type == WidgetType::Dac || ww.type == WidgetType::Adc;
        if (bound[w] || !stream_widget || ww.stream.empty()) continue;
        warnings_.push_back({w, fmt::format("widget {}: stream '{}' is the stream of no DAI in its component; left "
                                            "unbound, as snd_soc_dapm_link_dai_widgets leaves it{}",
                                            describe_widget(w), ww.stream, did_you_mean(ww.stream, dai_streams))});
    }
}

// snd_soc_dapm_connect_dai_link_widgets: on each BE link, a CPU DAI's playback widget feeds
// its codec DAI's, and a codec DAI's capture widget feeds its CPU DAI's. One CPU serves every
// codec, every CPU one codec, or CPU i codec i.
Result<void> Card::connect_dai_link_widgets() {
    for (const auto& be : be_) {
        if (be.cpus.empty() || be.codecs.empty()) continue;
        const size_t nc = be.cpus.size(), nk = be.codecs.size();
        if (nc != 1 && nk != 1 && nc != nk)
            return Error(-EINVAL, fmt::format("BE link '{}': {} CPU DAIs and {} codec DAIs pair only with a channel map "
                                              "(dai_link.ch_maps), which dynpcm does not read",
                                              be.name, nc, nk));
        for (size_t i = 0; i < std::max(nc, nk); ++i) {
            const Dai* cpu = find_dai(be.cpus[nc == 1 ? 0 : i]);
            const Dai* codec = find_dai(be.codecs[nk == 1 ? 0 : i]);
            for (int d = 0; d < 2; ++d) {
                if (!(d == 0 ? be.playback : be.capture) || !cpu->widget[d] || !codec->widget[d]) continue;
                if (d == 0) graph_.add_path(*cpu->widget[0], *codec->widget[0], {}, true);
                else graph_.add_path(*codec->widget[1], *cpu->widget[1], {}, true);
                ++dai_link_connections_;
            }
        }
    }
    return ok();
}

// PCM device numbers as the kernel gives them: each runtime takes the next number in the
// order its link was added -- the machine's links in order, BEs too (they make no device
// node), then the topology's FE links -- unless the link asks for one (a topology whose
// platform uses the DAI link id, as SOF does).
Result<void> Card::number_devices() {
    uint32_t next = 0;
    std::vector<std::pair<uint32_t, size_t>> taken;  // device, FE
    auto take = [&](FeLink& fe, size_t index) -> Result<void> {
        fe.device_number = fe.device.value_or(next);
        for (const auto& [dev, other] : taken)
            if (dev == fe.device_number)
                return Error(-EEXIST, fmt::format("FE links '{}' and '{}' both have PCM device {}", fe_[other].name, fe.name, dev));
        taken.emplace_back(fe.device_number, index);
        return ok();
    };
    for (size_t i = 0; i < fe_.size(); ++i)
        if (!fe_[i].topology) {
            if (auto r = take(fe_[i], i); !r) return r;
            ++next;
        }
    for (auto& be : be_) be.number = next++;
    for (size_t i = 0; i < fe_.size(); ++i)
        if (fe_[i].topology) {
            if (auto r = take(fe_[i], i); !r) return r;
            ++next;
        }
    return ok();
}

Result<void> Card::finish() {
    if (finished_) return ok();
    link_dai_widgets();
    if (auto r = connect_dai_link_widgets(); !r) return r;
    if (auto r = number_devices(); !r) return r;
    be_by_widget_.resize(graph_.widget_count());
    graph_.sync();
    finished_ = true;
    return ok();
}

// ------------------------------------------------------------------------------------------
// controls

const Control* Card::find_control(std::string_view name, uint32_t index) const noexcept {
    for (const auto& c : controls_)
        if (c.id.name == name && c.id.index == index) return &c;
    return nullptr;
}

const Control* Card::control(uint32_t numid) const noexcept {
    if (numid == 0 || numid > controls_.size()) return nullptr;
    return &controls_[numid - 1];
}

void Card::apply_binding(const Control& c) {
    switch (c.role) {
        case CtlRole::Plain: break;
        case CtlRole::MixerPath: {
            const bool on = std::any_of(c.value.begin(), c.value.end(), [&](int64_t v) { return c.connects(v); });
            for (PathId p : c.paths) graph_.connect_path(p, on);
            break;
        }
        case CtlRole::Mux:
        case CtlRole::Demux: {
            const std::string& item = c.info.items[static_cast<size_t>(c.value[0])];
            for (PathId p : c.paths) graph_.connect_path(p, graph_.path(p).control == item);
            break;
        }
        case CtlRole::Pin: graph_.set_pin(*c.widget, c.value[0] != 0); break;
    }
}

Result<bool> Card::put(uint32_t numid, const std::vector<int64_t>& values) {
    if (numid == 0 || numid > controls_.size())
        return Error(-ENOENT, fmt::format("card '{}': no control with numid {}", name_, numid));
    Control& c = controls_[numid - 1];
    if (c.info.read_only) return Error(-EPERM, fmt::format("control '{}' is read-only", c.id.name));
    if (auto r = validate_ctl_values(c, values); !r) return std::move(r).error();
    if (c.value == values) return false;
    c.value = values;
    apply_binding(c);
    graph_.sync();
    // A callback may subscribe or unsubscribe: iterate over a copy.
    const auto subscribers = subscribers_;
    const Control changed = c;
    for (const auto& [handle, cb] : subscribers) cb(changed);
    return true;
}

Result<bool> Card::put(std::string_view name, std::string_view text) {
    const Control* c = find_control(name);
    if (!c) {
        std::vector<std::string> names;
        for (const auto& k : controls_) names.push_back(k.id.name);
        return Error(-ENOENT, fmt::format("card '{}': no control '{}'{}", name_, name, did_you_mean(name, names)));
    }
    auto v = parse_ctl_value(*c, text);
    if (!v) return std::move(v).error();
    return put(c->id.numid, *v);
}

int Card::subscribe(std::function<void(const Control&)> callback) {
    subscribers_.emplace_back(next_subscriber_, std::move(callback));
    return next_subscriber_++;
}

void Card::unsubscribe(int handle) {
    std::erase_if(subscribers_, [&](const auto& s) { return s.first == handle; });
}

// ------------------------------------------------------------------------------------------
// routing

std::optional<size_t> Card::find_fe(std::string_view name) const noexcept {
    for (size_t i = 0; i < fe_.size(); ++i)
        if (fe_[i].name == name) return i;
    return std::nullopt;
}

std::optional<size_t> Card::find_be(std::string_view name) const noexcept {
    for (size_t i = 0; i < be_.size(); ++i)
        if (be_[i].name == name) return i;
    return std::nullopt;
}

std::optional<size_t> Card::be_of_widget(WidgetId w) const noexcept {
    if (w >= be_by_widget_.size()) return std::nullopt;
    return be_by_widget_[w];
}

std::vector<size_t> Card::fe_routes(size_t fe, Stream dir) const {
    std::vector<size_t> out;
    if (fe >= fe_.size()) return out;
    const auto& ls = fe_[fe].stream(dir);
    if (!ls) return out;
    const auto reached = graph_.walk(ls->widget, dir == Stream::Playback ? Dir::Out : Dir::In,
                                     [this](WidgetId w) { return be_of_widget(w).has_value(); });
    for (WidgetId w : reached) {
        const auto be = be_of_widget(w);
        // Only the BE's DAI widgets for this direction count (snd_soc_dai_stream_valid).
        if (!be || !be_[*be].stream(dir)) continue;
        const auto& ws = be_[*be].stream(dir)->dai_widgets;
        if (std::find(ws.begin(), ws.end(), w) != ws.end()) out.push_back(*be);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::optional<double> Card::route_gain(size_t fe, size_t be, Stream dir) const {
    if (fe >= fe_.size() || be >= be_.size() || !fe_[fe].stream(dir) || !be_[be].stream(dir)) return std::nullopt;
    const bool down = dir == Stream::Playback;
    const WidgetId start = fe_[fe].stream(dir)->widget;
    const WidgetId goal = be_[be].stream(dir)->widget;
    // Breadth-first along connected audio paths, as dpcm_path_get walks, remembering how each
    // widget was reached.
    constexpr PathId kNone = ~PathId{0};
    std::vector<PathId> via(graph_.widget_count(), kNone);
    std::vector<uint8_t> seen(graph_.widget_count(), 0);
    std::vector<WidgetId> queue{start};
    seen[start] = 1;
    for (size_t i = 0; i < queue.size() && !seen[goal]; ++i) {
        const WidgetId w = queue[i];
        if (w != start && be_of_widget(w)) continue;
        for (PathId p : down ? graph_.widget(w).sinks : graph_.widget(w).sources) {
            const DapmPath& path = graph_.path(p);
            if (!path.connected || path.supply) continue;
            const WidgetId next = down ? path.sink : path.source;
            if (seen[next]) continue;
            seen[next] = 1;
            via[next] = p;
            queue.push_back(next);
        }
    }
    if (!seen[goal]) return std::nullopt;
    auto gain_of = [](const Control& c, int64_t v) {
        if (const auto db = c.db_at(v)) return static_cast<double>(dsp::db_to_gain(*db));
        return 1.0;
    };
    double gain = 1.0;
    for (WidgetId w = goal; w != start;) {
        const PathId p = via[w];
        const DapmPath& path = graph_.path(p);
        for (const Control& c : controls_)
            if (c.role == CtlRole::MixerPath && std::find(c.paths.begin(), c.paths.end(), p) != c.paths.end())
                gain *= gain_of(c, c.value.empty() ? 0 : c.value[0]);
        w = down ? path.source : path.sink;
        if (w == start) break;
        // The widget's own volumes and switches (a DSP PGA, say).
        for (const Control& c : controls_) {
            if (c.role != CtlRole::Plain || c.widget != w || c.value.empty()) continue;
            if (c.info.type == CtlType::Boolean && c.value[0] == 0) gain = 0.0;
            else if (c.info.db) gain *= gain_of(c, c.value[0]);
        }
    }
    return gain;
}

std::vector<std::string> Card::routing_controls(size_t fe, Stream dir) const {
    std::vector<std::string> names;
    if (fe >= fe_.size() || !fe_[fe].stream(dir)) return names;
    // Paths, connected or not, that lie on some way from the FE's DAI widget to a BE DAI widget
    // of the same direction: reachable forwards from the FE and backwards from such a BE.
    const bool down = dir == Stream::Playback;
    const WidgetId start = fe_[fe].stream(dir)->widget;
    auto reach = [&](std::vector<WidgetId> work, bool forward) {
        std::vector<uint8_t> seen(graph_.widget_count(), 0);
        for (WidgetId w : work) seen[w] = 1;
        while (!work.empty()) {
            const WidgetId w = work.back();
            work.pop_back();
            if (forward && w != start && be_of_widget(w)) continue;  // the walk ends at a BE
            const bool along_sinks = forward == down;
            for (PathId p : along_sinks ? graph_.widget(w).sinks : graph_.widget(w).sources) {
                if (graph_.path(p).supply) continue;
                const WidgetId next = along_sinks ? graph_.path(p).sink : graph_.path(p).source;
                if (!seen[next]) {
                    seen[next] = 1;
                    work.push_back(next);
                }
            }
        }
        return seen;
    };
    std::vector<WidgetId> bes;
    for (const auto& be : be_)
        if (be.stream(dir)) bes.push_back(be.stream(dir)->widget);
    const auto from_fe = reach({start}, true);
    const auto to_be = reach(bes, false);
    auto on_route = [&](PathId p) {
        const DapmPath& path = graph_.path(p);
        const WidgetId near = down ? path.source : path.sink;
        const WidgetId far = down ? path.sink : path.source;
        return !path.supply && from_fe[near] && to_be[far] && !(be_of_widget(near) && near != start);
    };
    for (const auto& c : controls_) {
        if (c.role != CtlRole::MixerPath && c.role != CtlRole::Mux && c.role != CtlRole::Demux) continue;
        if (std::any_of(c.paths.begin(), c.paths.end(), on_route)) names.push_back(c.id.name);
    }
    return names;
}

}  // namespace dynpcm

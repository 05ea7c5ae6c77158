// `dynpcm check | ctl | routes | graph`: inspect a card's routing model.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "card_source.h"
#include "daemon_commands.h"
#include "dynpcm/dpcm/dpcm.h"
#include "print.h"
#include "dynpcm/card/routes.h"
#include "commands.h"

namespace dynpcm::cli {

namespace {

using nlohmann::json;

int run_check(const CardSource& src) {
    if (auto u = src.usage_error()) {
        fmt::print(stderr, "{}\n", *u);
        return kExitBadInput;
    }
    CardLoad l = src.load_card(true);
    if (!l.ok()) {
        for (const auto& e : l.errors) fmt::print("{}\n", e);
        fmt::print("{}: {} error{}\n", src.describe(), l.errors.size(), l.errors.size() == 1 ? "" : "s");
        return kExitFailed;
    }
    const Card& c = *l.card;
    fmt::print("{}: card '{}' is valid: {} widgets, {} routes ({} stream bindings and {} DAI link connections "
               "the card made), {} controls, {} FE links, {} BE links{}\n",
               src.describe(), c.name(), c.graph().widget_count(), c.graph().path_count(), c.stream_bindings(),
               c.dai_link_connections(), c.controls().size(), c.fe_links().size(), c.be_links().size(),
               c.components().size() > 1 ? fmt::format(", {} component{}", c.components().size() - 1,
                                                       c.components().size() == 2 ? "" : "s")
                                         : "");
    for (size_t i = 1; i < c.components().size(); ++i) {
        const Component& comp = c.components()[i];
        size_t widgets = 0, dais = 0;
        for (WidgetId w = 0; w < c.graph().widget_count(); ++w) widgets += c.graph().widget(w).context == i ? 1U : 0U;
        for (const auto& d : c.dais()) dais += d.component == i ? 1U : 0U;
        fmt::print("  component '{}'{}: {} widgets, {} DAIs\n", comp.name,
                   comp.prefix.empty() ? "" : fmt::format(" (prefix '{}')", comp.prefix), widgets, dais);
    }
    for (const auto& fe : c.fe_links())
        fmt::print("  FE '{}' PCM device {}\n", fe.name, fe.device_number);
    // A topology's link and DAI configs land on the overlay's BE links: show what they made.
    if (!src.tplg_file.empty())
        for (const auto& be : c.be_links()) {
            fmt::print("  BE '{}' id {}{}", be.name, be.id, be.cpu_dai.empty() ? "" : fmt::format(" cpu_dai '{}'", be.cpu_dai));
            const auto& f = be.fixup;
            if (f.format || f.rate || f.channels)
                fmt::print(", fixup {} {} {}", f.format ? format_info(*f.format).name : "-",
                           f.rate ? fmt::format("{} Hz", *f.rate) : "-", f.channels ? fmt::format("{} ch", *f.channels) : "-");
            if (const auto& d = be.dai_format)
                fmt::print(", {} (BCLK from the {}, FSYNC from the {}{})", d->format, d->codec_bclk_provider ? "codec" : "CPU",
                           d->codec_fsync_provider ? "codec" : "CPU",
                           d->tdm_slots ? fmt::format(", TDM {}x{}", d->tdm_slots, d->tdm_slot_width) : "");
            for (const auto& s : {be.playback, be.capture})
                if (s && !(s->formats == FormatMask::all()))  // narrowed by a DAI config (or the overlay)
                    fmt::print(", '{}' {} {} Hz {} ch", s->stream_name, s->formats.to_string(), s->rates.to_string(),
                               s->channels.to_string());
            fmt::print("\n");
        }
    return kExitOk;
}

int run_ctl_list(const CardSource& src, bool as_json) {
    auto card = src.load();
    if (!card) return kExitBadInput;
    std::vector<std::pair<uint32_t, std::string>> pcms;
    for (const auto& fe : card->fe_links())
        pcms.emplace_back(fe.device_number,
                          fmt::format("'{}'{}{}", fe.name, fe.playback ? " playback" : "", fe.capture ? " capture" : ""));
    print_controls(card->controls(), pcms, as_json, [&](const Control& c) {
        return c.widget ? card->graph().widget(*c.widget).name : std::string();
    });
    return kExitOk;
}

int run_dump(const CardSource& src, bool as_json) {
    auto card = src.load();
    if (!card) return kExitBadInput;
    SimClock clock;
    auto dpcm = Dpcm::create(std::move(card), {.clock = &clock});
    if (!dpcm) {
        fmt::print(stderr, "{}\n", dpcm.error().message());
        return kExitFailed;
    }
    const DpcmDump d = (*dpcm)->dump();
    fmt::print("{}\n", as_json ? d.to_json() : d.to_text());
    return kExitOk;
}

int run_routes(const CardSource& src, bool as_json) {
    auto card = src.load();
    if (!card) return kExitBadInput;
    print_routes(routes_to_json(live_routes(*card)), as_json);
    return kExitOk;
}

// ---- graph ---------------------------------------------------------------------------------

std::string dot_escape(const std::string& s) {
    std::string r;
    for (char ch : s) {
        if (ch == '"' || ch == '\\') r += '\\';
        r += ch;
    }
    return r;
}

const char* shape_of(WidgetType t) {
    switch (t) {
        case WidgetType::Mic: case WidgetType::Line: case WidgetType::Hp: case WidgetType::Spk:
        case WidgetType::Siggen: case WidgetType::Sink: case WidgetType::Input: case WidgetType::Output:
            return "ellipse";
        case WidgetType::Mixer: case WidgetType::MixerNamedCtl: return "invtrapezium";
        case WidgetType::Mux: case WidgetType::Demux: case WidgetType::Switch: return "trapezium";
        case WidgetType::DaiIn: case WidgetType::DaiOut: case WidgetType::AifIn: case WidgetType::AifOut:
            return "cds";
        case WidgetType::Supply: case WidgetType::RegulatorSupply: case WidgetType::ClockSupply:
        case WidgetType::Pinctrl: case WidgetType::Micbias: case WidgetType::Vmid:
            return "hexagon";
        default: return "box";
    }
}

std::string make_dot(const Card& card) {
    const DapmGraph& g = card.graph();
    std::string fe_of(g.widget_count(), '\0');
    std::vector<std::string> link_label(g.widget_count());
    for (const auto& fe : card.fe_links())
        for (const auto& s : {fe.playback, fe.capture})
            if (s) link_label[s->widget] = "FE " + fe.name;
    for (const auto& be : card.be_links())
        for (const auto& s : {be.playback, be.capture})
            if (s) link_label[s->widget] = "BE " + be.name;

    std::string d = fmt::format("digraph \"{}\" {{\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
                                "  edge [fontname=\"Helvetica\", fontsize=8];\n  label=\"{} - powered widgets green, "
                                "connected routes solid\";\n",
                                dot_escape(card.name()), dot_escape(card.name()));
    for (WidgetId w = 0; w < g.widget_count(); ++w) {
        const DapmWidget& wd = g.widget(w);
        const std::string& link = link_label[w];
        std::string label = fmt::format("{}\\n({}{})", dot_escape(wd.name), widget_type_name(wd.type),
                                        wd.context == 0 ? "" : ", " + dot_escape(card.components()[wd.context].name));
        if (!link.empty()) label = fmt::format("{}\\n{}", dot_escape(link), label);
        const char* color = link.rfind("FE ", 0) == 0 ? "blue" : link.rfind("BE ", 0) == 0 ? "darkorange" : "black";
        d += fmt::format("  w{} [label=\"{}\", shape={}, style=filled, fillcolor=\"{}\", color={}, penwidth={}];\n", w,
                         label, shape_of(wd.type), wd.power ? "#9be39b" : "white", color, link.empty() ? 1 : 2);
    }
    for (PathId p = 0; p < g.path_count(); ++p) {
        const DapmPath& path = g.path(p);
        const bool live = path.connected && g.widget(path.source).power && g.widget(path.sink).power;
        const char* style = path.supply ? "dotted" : path.connected ? "solid" : "dashed";
        d += fmt::format("  w{} -> w{} [style={}, color=\"{}\", penwidth={}{}];\n", path.source, path.sink, style,
                         path.connected ? (live ? "darkgreen" : "black") : "gray60", live ? 2.5 : 1.0,
                         path.control.empty() ? "" : fmt::format(", label=\"{}\"", dot_escape(path.control)));
    }
    d += "}\n";
    return d;
}

int run_graph(const CardSource& src, const std::string& out, const std::vector<std::string>& active) {
    auto card = src.load();
    if (!card) return kExitBadInput;
    // Streams marked active make their FE DAI widgets endpoints, so the paths they feed power up.
    std::vector<std::string> wanted = active;
    if (wanted.empty())
        for (const auto& fe : card->fe_links())
            for (Stream s : {Stream::Playback, Stream::Capture})
                if (fe.stream(s)) wanted.push_back(fmt::format("{}/{}", fe.name, stream_name(s)));
    for (const auto& a : wanted) {
        if (a == "none") continue;
        const size_t slash = a.rfind('/');
        const std::string dir = slash == std::string::npos ? "" : a.substr(slash + 1);
        if (dir != "playback" && dir != "capture") {
            fmt::print(stderr, "--active '{}': expected '<FE link>/playback' or '<FE link>/capture'\n", a);
            return kExitBadInput;
        }
        const auto fe = card->find_fe(a.substr(0, slash));
        if (!fe) {
            std::vector<std::string> names;
            for (const auto& l : card->fe_links()) names.push_back(l.name);
            fmt::print(stderr, "--active '{}': no FE link '{}'{}\n", a, a.substr(0, slash),
                       did_you_mean(a.substr(0, slash), names));
            return kExitBadInput;
        }
        const auto& s = card->fe_links()[*fe].stream(dir == "playback" ? Stream::Playback : Stream::Capture);
        if (!s) {
            fmt::print(stderr, "--active '{}': FE '{}' has no {} stream\n", a, card->fe_links()[*fe].name, dir);
            return kExitBadInput;
        }
        card->graph().set_stream_active(s->widget, true);
    }
    card->graph().sync();
    const std::string dot = make_dot(*card);
    if (out.empty()) {
        fmt::print("{}", dot);
        return kExitOk;
    }
    const size_t dotpos = out.rfind('.');
    const std::string ext = dotpos == std::string::npos ? "" : out.substr(dotpos + 1);
    if (ext == "dot" || ext == "gv") {
        std::ofstream f(out);
        f << dot;
        if (!f) {
            fmt::print(stderr, "cannot write {}\n", out);
            return kExitBadInput;
        }
        return kExitOk;
    }
    if (ext != "svg" && ext != "png" && ext != "pdf") {
        fmt::print(stderr, "-o {}: use a .dot, .svg, .png or .pdf file name\n", out);
        return kExitBadInput;
    }
    // Graphviz renders; the file name goes through the shell quoted.
    std::string quoted = "'";
    for (char ch : out) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    quoted += "'";
    FILE* pipe = ::popen(fmt::format("dot -T{} -o {}", ext, quoted).c_str(), "w");
    if (!pipe) {
        fmt::print(stderr, "cannot run Graphviz 'dot' (install graphviz, or write a .dot file)\n");
        return kExitBadInput;
    }
    std::fwrite(dot.data(), 1, dot.size(), pipe);
    if (::pclose(pipe) != 0) {
        fmt::print(stderr, "Graphviz 'dot' failed to write {} (is graphviz installed?)\n", out);
        return kExitBadInput;
    }
    return kExitOk;
}

}  // namespace

void add_card_commands(CLI::App& app) {
    {
        auto src = std::make_shared<CardSource>();
        CLI::App* sub = app.add_subcommand("check", "Validate a card (file, or --tplg with --overlay); exit 0 if valid, 1 with the errors if not");
        src->add_to(*sub, false);
        sub->callback([src] { throw Exit{run_check(*src)}; });
    }
    {
        auto src = std::make_shared<CardSource>();
        auto as_json = std::make_shared<bool>(false);
        auto socket = std::make_shared<std::string>();
        CLI::App* sub = app.add_subcommand(
            "ctl", "Card controls: 'dynpcm ctl CARD list [--json]', 'dynpcm ctl list --tplg FILE [--overlay FILE]', or of a "
                   "running daemon: 'dynpcm ctl --socket PATH list | get NAME | set NAME VALUE'");
        src->add_to(*sub, true);
        auto verb = std::make_shared<std::string>();
        auto rest = std::make_shared<std::vector<std::string>>();
        sub->add_option("VERB", *verb, "list (before or after CARD)");
        sub->add_option("ARGS", *rest, "With --socket: get NAME, set NAME VALUE");
        sub->add_flag("--json", *as_json, "Print JSON");
        sub->add_option("--socket", *socket, "Ask the dynpcmd listening here instead of loading a card");
        sub->callback([src, verb, rest, as_json, socket] {
            if (!socket->empty()) {
                // With a daemon there is no CARD: every positional is the verb and its arguments.
                std::vector<std::string> words;
                for (const auto* w : {&src->card_file, verb.get()})
                    if (!w->empty()) words.push_back(*w);
                words.insert(words.end(), rest->begin(), rest->end());
                throw Exit{remote_ctl(*socket, words, *as_json)};
            }
            // 'ctl CARD list', 'ctl list CARD', and with --tplg just 'ctl list': the verb is
            // whichever positional says "list".
            if (src->card_file == "list") {
                src->card_file = *verb;
                *verb = "list";
            }
            if ((!verb->empty() && *verb != "list") || !rest->empty()) {
                fmt::print(stderr, "ctl: unknown verb '{}' (with a card file the one verb is 'list'; get and set need "
                                   "--socket, or use --set)\n", *verb);
                throw Exit{kExitBadInput};
            }
            throw Exit{run_ctl_list(*src, *as_json)};
        });
    }
    {
        auto src = std::make_shared<CardSource>();
        auto as_json = std::make_shared<bool>(false);
        auto socket = std::make_shared<std::string>();
        CLI::App* sub = app.add_subcommand("routes", "The BE links each FE link reaches through the graph (dpcm_path_get)");
        src->add_to(*sub, true);
        sub->add_flag("--json", *as_json, "Print {\"<FE>/<playback|capture>\": {\"device\": N, \"bes\": [BE, ...]}}, in the card's FE order");
        sub->add_option("--socket", *socket, "Ask the dynpcmd listening here instead of loading a card");
        sub->callback([src, as_json, socket] {
            throw Exit{socket->empty() ? run_routes(*src, *as_json) : remote_routes(*socket, *as_json)};
        });
    }
    {
        auto src = std::make_shared<CardSource>();
        auto as_json = std::make_shared<bool>(false);
        auto socket = std::make_shared<std::string>();
        CLI::App* sub = app.add_subcommand("dump", "The DPCM state of every FE and BE (the kernel's debugfs state): of a card "
                                                   "as loaded, or of a running daemon with --socket");
        src->add_to(*sub, true);
        sub->add_flag("--json", *as_json, "Print JSON");
        sub->add_option("--socket", *socket, "Ask the dynpcmd listening here instead of loading a card");
        sub->callback([src, as_json, socket] {
            throw Exit{socket->empty() ? run_dump(*src, *as_json) : remote_dump(*socket, *as_json)};
        });
    }
    {
        auto src = std::make_shared<CardSource>();
        auto out = std::make_shared<std::string>();
        auto active = std::make_shared<std::vector<std::string>>();
        CLI::App* sub = app.add_subcommand("graph", "Draw the DAPM graph with Graphviz (DOT on stdout, or -o FILE)");
        src->add_to(*sub, true);
        sub->add_option("-o,--output", *out, "FILE.dot, FILE.svg, FILE.png or FILE.pdf");
        sub->add_option("--active", *active,
                        "Mark an FE stream active, e.g. 'Media Playback/playback' (repeatable; default: all FE "
                        "streams; 'none' for none)")->take_all();
        sub->callback([src, out, active] { throw Exit{run_graph(*src, *out, *active)}; });
    }
}

}  // namespace dynpcm::cli

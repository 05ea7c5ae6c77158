// `dynpcm tplg info | dump FILE`: what an ALSA topology binary holds, block by block.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "card_source.h"
#include "commands.h"
#include "dynpcm/pcm/format.h"
#include "dynpcm/topology/topology.h"

namespace dynpcm::cli {

namespace {

using nlohmann::json;
using namespace dynpcm::tplg;

// A link config's name for reports: ABI 4 link configs have none, only an id.
std::string link_name(const LinkConfig& l) { return l.name.empty() ? fmt::format("id {}", l.id) : l.name; }

size_t kcontrol_count(const Topology& t) {
    size_t n = t.controls.size();
    for (const auto& w : t.widgets) n += w.kcontrols.size();
    return n;
}

const char* kind_name(Kcontrol::Kind k) {
    switch (k) {
        case Kcontrol::Kind::Mixer: return "mixer";
        case Kcontrol::Kind::Enum: return "enum";
        case Kcontrol::Kind::Bytes: return "bytes";
    }
    return "?";
}

std::string formats_of(uint64_t bits) {
    std::vector<std::string> names;
    for (unsigned b = 0; b < 64; ++b)
        if (bits & (uint64_t{1} << b)) {
            const auto f = static_cast<Format>(b);
            int n = 0;
            const Format* all = all_formats(&n);
            const bool known = std::find(all, all + n, f) != all + n;
            names.push_back(known ? std::string(format_info(f).name) : fmt::format("#{}", b));
        }
    return names.empty() ? "none" : fmt::format("{}", fmt::join(names, "|"));
}

std::string rates_text(uint32_t mask, uint32_t lo, uint32_t hi) {
    const auto list = rates_of(mask);
    std::string s = list.empty() ? "" : fmt::format("{} ", fmt::join(list, ","));
    if (mask & (1u << 30)) s += "continuous ";
    return s + fmt::format("{}..{} Hz", lo, hi);
}

std::string caps_text(const StreamCaps& c) {
    return fmt::format("'{}' formats {} rates {} channels {}..{}", c.name, formats_of(c.formats),
                       rates_text(c.rates, c.rate_min, c.rate_max), c.channels_min, c.channels_max);
}

std::string hex(const std::vector<uint8_t>& b, size_t max) {
    std::string s;
    for (size_t i = 0; i < std::min(b.size(), max); ++i) s += fmt::format("{}{:02x}", i ? " " : "", b[i]);
    if (b.size() > max) s += fmt::format(" ... ({} bytes)", b.size());
    return s;
}

void print_stream_configs(const std::vector<StreamConfig>& streams) {
    for (const auto& s : streams)
        fmt::print("    config '{}' {} {} Hz {} ch\n", s.name, formats_of(s.format), fmt::join(rates_of(s.rate), ","),
                   s.channels);
}

// SND_SOC_TPLG_LNK_FLGBIT_* (and the DAI flags, its first three): the ones the mask sets.
void print_flags(uint32_t mask, uint32_t flags) {
    static constexpr const char* names[] = {"symmetric_rates", "symmetric_channels", "symmetric_sample_bits",
                                            "voice_wakeup"};
    std::vector<std::string> set;
    for (uint32_t b = 0; b < 32; ++b)
        if (mask & (1u << b))
            set.push_back(fmt::format("{} {}", b < std::size(names) ? names[b] : fmt::format("bit {}", b),
                                      flags & (1u << b) ? "on" : "off"));
    if (!set.empty()) fmt::print("    flags: {}\n", fmt::join(set, ", "));
}

void print_private(const PrivateData& p, const char* indent) {
    if (p.empty()) return;
    fmt::print("{}private data at {:#x}: {} bytes", indent, p.offset, p.bytes.size());
    if (p.tuples.empty()) {
        fmt::print(": {}\n", hex(p.bytes, 32));
        return;
    }
    fmt::print(", {} vendor tuple{}\n", p.tuples.size(), p.tuples.size() == 1 ? "" : "s");
    static constexpr const char* types[] = {"uuid", "string", "bool", "byte", "word", "short"};
    for (const auto& t : p.tuples) {
        std::string v;
        if (t.type == 0) v = hex(std::vector<uint8_t>(t.uuid.begin(), t.uuid.end()), 16);
        else if (t.type == 1) v = fmt::format("'{}'", t.string);
        else v = fmt::format("{}", t.value);
        fmt::print("{}  token {} ({}) = {}\n", indent, t.token, t.type < 6 ? types[t.type] : "?", v);
    }
}

void print_kcontrol(const Kcontrol& k, const char* indent) {
    fmt::print("{}{:#06x} {} '{}' ops {}/{}/{}", indent, k.offset, kind_name(k.kind), k.name, k.info_op, k.get_op, k.put_op);
    switch (k.kind) {
        case Kcontrol::Kind::Mixer:
            fmt::print(" min {} max {}{} channels {}{}", k.min, k.max,
                       k.platform_max ? fmt::format(" platform_max {}", k.platform_max) : "", k.channels,
                       k.invert ? " inverted" : "");
            break;
        case Kcontrol::Kind::Enum: fmt::print(" items [{}]", fmt::join(k.texts, ", ")); break;
        case Kcontrol::Kind::Bytes: fmt::print(" max {} bytes", k.bytes_max); break;
    }
    if (k.db)
        fmt::print(" dB {:.2f} step {:.2f}{}", k.db->min_cdb / 100.0, k.db->step_cdb / 100.0, k.db->mute ? " mute" : "");
    else if (k.tlv_type)
        fmt::print(" TLV type {}", k.tlv_type);
    fmt::print("\n");
    std::string deeper = std::string(indent) + "  ";
    print_private(k.priv, deeper.c_str());
}

// ---- JSON: the same objects as the text dump, for scripts

json private_json(const PrivateData& p) {
    json tuples = json::array();
    for (const auto& t : p.tuples) {
        json v;
        if (t.type == 0) v = hex(std::vector<uint8_t>(t.uuid.begin(), t.uuid.end()), 16);
        else if (t.type == 1) v = t.string;
        else v = t.value;
        tuples.push_back({{"token", t.token}, {"type", t.type}, {"value", v}});
    }
    return {{"offset", p.offset}, {"bytes", p.bytes.size()}, {"tuples", tuples}};
}

json kcontrol_json(const Kcontrol& k) {
    json j{{"offset", k.offset}, {"kind", kind_name(k.kind)}, {"name", k.name}, {"ops", {k.info_op, k.get_op, k.put_op}},
           {"access", k.access}};
    switch (k.kind) {
        case Kcontrol::Kind::Mixer:
            j.update({{"min", k.min}, {"max", k.max}, {"platform_max", k.platform_max}, {"channels", k.channels},
                      {"invert", k.invert}});
            break;
        case Kcontrol::Kind::Enum: j["items"] = k.texts; break;
        case Kcontrol::Kind::Bytes: j["max_bytes"] = k.bytes_max; break;
    }
    if (k.db) j["db"] = {{"min", k.db->min_cdb / 100.0}, {"step", k.db->step_cdb / 100.0}, {"mute", k.db->mute}};
    else if (k.tlv_type) j["tlv_type"] = k.tlv_type;
    if (!k.priv.empty()) j["private"] = private_json(k.priv);
    return j;
}

json widget_json(const Widget& w, bool full) {
    json j{{"name", w.name}, {"type", widget_id_name(w.id)}, {"stream", w.sname}, {"offset", w.offset}};
    if (!full) return j;
    j.update({{"index", w.index}, {"reg", w.reg}, {"shift", w.shift}, {"subseq", w.subseq}});
    json k = json::array();
    for (const auto& c : w.kcontrols) k.push_back(kcontrol_json(c));
    j["controls"] = k;
    if (!w.priv.empty()) j["private"] = private_json(w.priv);
    return j;
}

json caps_json(const StreamCaps& c) {
    return {{"stream", c.name},        {"formats", formats_of(c.formats)}, {"rates", rates_of(c.rates)},
            {"rate_min", c.rate_min},  {"rate_max", c.rate_max},           {"channels_min", c.channels_min},
            {"channels_max", c.channels_max}};
}

json stream_configs_json(const std::vector<StreamConfig>& streams) {
    json a = json::array();
    for (const auto& s : streams)
        a.push_back({{"name", s.name}, {"formats", formats_of(s.format)}, {"rates", rates_of(s.rate)}, {"channels", s.channels}});
    return a;
}

json link_json(const LinkConfig& l, bool full) {
    json j{{"id", l.id}, {"name", l.name}, {"stream_name", l.stream_name}, {"offset", l.offset},
           {"block", block_type_name(l.block_type)}};
    if (!full) return j;
    j["streams"] = stream_configs_json(l.streams);
    json hw = json::array();
    for (const auto& h : l.hw_configs)
        hw.push_back({{"id", h.id}, {"default", h.id == l.default_hw_config_id}, {"format", dai_format_name(h.fmt)},
                      {"codec_bclk_provider", h.bclk_provider == 0}, {"codec_fsync_provider", h.fsync_provider == 0},
                      {"mclk_rate", h.mclk_rate}, {"bclk_rate", h.bclk_rate}, {"fsync_rate", h.fsync_rate},
                      {"tdm_slots", h.tdm_slots}, {"tdm_slot_width", h.tdm_slot_width}, {"tx_slots", h.tx_slots},
                      {"rx_slots", h.rx_slots}});
    j["hw_configs"] = hw;
    if (!l.priv.empty()) j["private"] = private_json(l.priv);
    return j;
}

json pcm_json(const Pcm& p, bool full) {
    json j{{"name", p.pcm_name}, {"id", p.pcm_id}, {"dai", p.dai_name}, {"dai_id", p.dai_id}, {"offset", p.offset}};
    if (p.playback) j["playback"] = caps_json(p.caps[0]);
    if (p.capture) j["capture"] = caps_json(p.caps[1]);
    if (!full) return j;
    j["compress"] = p.compress;
    j["streams"] = stream_configs_json(p.streams);
    if (!p.priv.empty()) j["private"] = private_json(p.priv);
    return j;
}

json dai_json(const tplg::Dai& d) {
    json j{{"name", d.dai_name}, {"id", d.dai_id}, {"offset", d.offset}};
    if (d.playback) j["playback"] = caps_json(d.caps[0]);
    if (d.capture) j["capture"] = caps_json(d.caps[1]);
    if (!d.priv.empty()) j["private"] = private_json(d.priv);
    return j;
}

int dump_json(const Topology& t) {
    auto all = [](const auto& items, auto&& to_json) {
        json a = json::array();
        for (const auto& x : items) a.push_back(to_json(x));
        return a;
    };
    json blocks = json::array();
    for (const auto& b : t.blocks)
        blocks.push_back({{"offset", b.offset}, {"type", block_type_name(b.type)}, {"abi", b.abi}, {"index", b.index},
                          {"count", b.count}, {"payload_size", b.payload_size}, {"vendor_type", b.vendor_type}});
    json routes = json::array();
    for (const auto& r : t.routes)
        routes.push_back({{"offset", r.offset}, {"sink", r.sink}, {"control", r.control}, {"source", r.source}});
    json j{{"file", t.file},
           {"abi", t.abi},
           {"size", t.size},
           {"blocks", blocks},
           {"controls", all(t.controls, kcontrol_json)},
           {"widgets", all(t.widgets, [](const Widget& w) { return widget_json(w, true); })},
           {"routes", routes},
           {"pcms", all(t.pcms, [](const Pcm& p) { return pcm_json(p, true); })},
           {"links", all(t.links, [](const LinkConfig& l) { return link_json(l, true); })},
           {"dais", all(t.dais, dai_json)},
           {"warnings", t.warnings}};
    fmt::print("{}\n", j.dump(2));
    return kExitOk;
}

int info(const std::string& file, bool as_json) {
    auto t = load_topology_file(file);
    if (!t) {
        fmt::print(stderr, "{}\n", t.error().message());
        return kExitBadInput;
    }
    std::vector<std::string> pcms, links, dais, controls, widgets;
    for (const auto& p : t->pcms) pcms.push_back(p.pcm_name);
    for (const auto& l : t->links) links.push_back(link_name(l));
    for (const auto& d : t->dais) dais.push_back(d.dai_name);
    for (const auto& k : t->controls) controls.push_back(k.name);
    for (const auto& w : t->widgets) widgets.push_back(w.name);
    const auto priv = t->private_summary();
    if (as_json) {
        json blocks = json::array();
        for (const auto& b : t->blocks)
            blocks.push_back({{"offset", b.offset}, {"type", b.type}, {"type_name", block_type_name(b.type)},
                              {"abi", b.abi}, {"count", b.count}, {"payload_size", b.payload_size}, {"index", b.index}});
        json j{{"file", file},
               {"abi", t->abi},
               {"size", t->size},
               {"blocks", blocks},
               {"controls", kcontrol_count(*t)},
               {"card_controls", controls},
               {"widgets", t->widgets.size()},
               {"widget_names", widgets},
               {"widget_list", [&] {
                    json a = json::array();
                    for (const auto& w : t->widgets) a.push_back(widget_json(w, false));
                    return a;
                }()},
               {"routes", t->routes.size()},
               {"pcms", pcms},
               {"be_links", links},
               {"links", [&] {
                    json a = json::array();
                    for (const auto& l : t->links) a.push_back(link_json(l, false));
                    return a;
                }()},
               {"pcm_list", [&] {
                    json a = json::array();
                    for (const auto& p : t->pcms) a.push_back(pcm_json(p, false));
                    return a;
                }()},
               {"dais", dais},
               {"private_data", {{"objects", priv.objects}, {"bytes", priv.bytes}, {"tuples", priv.tuples}}},
               {"opaque_blocks", t->opaque.size()},
               {"warnings", t->warnings}};
        fmt::print("{}\n", j.dump(2));
        return kExitOk;
    }
    fmt::print("{}: ALSA topology, ABI {}, {} bytes, {} blocks\n", file, t->abi, t->size, t->blocks.size());
    fmt::print("  controls   {} ({} card-level{}{})\n", kcontrol_count(*t), controls.size(), controls.empty() ? "" : ": ",
               fmt::join(controls, ", "));
    fmt::print("  widgets    {}{}{}\n", widgets.size(), widgets.empty() ? "" : ": ", fmt::join(widgets, ", "));
    fmt::print("  routes     {}\n", t->routes.size());
    fmt::print("  PCMs       {}{}{}\n", pcms.size(), pcms.empty() ? "" : ": ", fmt::join(pcms, ", "));
    fmt::print("  BE links   {}{}{}\n", links.size(), links.empty() ? "" : ": ", fmt::join(links, ", "));
    fmt::print("  DAIs       {}{}{}\n", dais.size(), dais.empty() ? "" : ": ", fmt::join(dais, ", "));
    if (priv.objects)
        fmt::print("  private    {} objects, {} bytes, {} vendor tuples (kept, not interpreted)\n", priv.objects, priv.bytes,
                   priv.tuples);
    if (!t->opaque.empty()) fmt::print("  opaque     {} blocks kept, not interpreted\n", t->opaque.size());
    for (const auto& w : t->warnings) fmt::print(stderr, "warning: {}\n", w);
    return kExitOk;
}

int dump(const std::string& file, bool as_json) {
    auto t = load_topology_file(file);
    if (!t) {
        fmt::print(stderr, "{}\n", t.error().message());
        return kExitBadInput;
    }
    if (as_json) return dump_json(*t);
    fmt::print("{}: ALSA topology, ABI {}, {} bytes\n", file, t->abi, t->size);
    fmt::print("\nblocks\n");
    for (const auto& b : t->blocks)
        fmt::print("  {:#06x} {:<13} abi {} index {} count {} payload {} bytes{}\n", b.offset, block_type_name(b.type),
                   b.abi, b.index, b.count, b.payload_size,
                   b.vendor_type ? fmt::format(" vendor type {}", b.vendor_type) : "");
    if (const auto& m = t->manifest) {
        fmt::print("\nmanifest (ABI {} layout) at {:#x}\n", m->abi, m->offset);
        fmt::print("  {} controls, {} widgets, {} routes, {} PCMs, {} link configs, {} DAIs\n", m->control_elems,
                   m->widget_elems, m->graph_elems, m->pcm_elems, m->dai_link_elems, m->dai_elems);
        print_private(m->priv, "  ");
    }
    if (!t->controls.empty()) {
        fmt::print("\ncontrols\n");
        for (const auto& k : t->controls) print_kcontrol(k, "  ");
    }
    if (!t->widgets.empty()) {
        fmt::print("\nwidgets\n");
        for (const auto& w : t->widgets) {
            fmt::print("  {:#06x} {:<9} '{}'{}{}{}\n", w.offset, widget_id_name(w.id), w.name,
                       w.sname.empty() ? "" : fmt::format(" stream '{}'", w.sname),
                       w.reg >= 0 ? fmt::format(" reg {} shift {}", w.reg, w.shift) : "",
                       w.subseq ? fmt::format(" subseq {}", w.subseq) : "");
            print_private(w.priv, "    ");
            for (const auto& k : w.kcontrols) print_kcontrol(k, "    ");
        }
    }
    if (!t->routes.empty()) {
        fmt::print("\nroutes (sink, control, source)\n");
        for (const auto& r : t->routes)
            fmt::print("  {:#06x} {}, {}, {}\n", r.offset, r.sink, r.control.empty() ? "-" : r.control, r.source);
    }
    if (!t->pcms.empty()) {
        fmt::print("\nPCMs (FE links)\n");
        for (const auto& p : t->pcms) {
            fmt::print("  {:#06x} '{}' id {} DAI '{}' id {}{}{}\n", p.offset, p.pcm_name, p.pcm_id, p.dai_name, p.dai_id,
                       p.compress ? " compressed" : "", p.abi == 4 ? " (ABI 4 layout)" : "");
            if (p.playback) fmt::print("    playback {}\n", caps_text(p.caps[0]));
            if (p.capture) fmt::print("    capture  {}\n", caps_text(p.caps[1]));
            print_stream_configs(p.streams);
            print_flags(p.flag_mask, p.flags);
            print_private(p.priv, "    ");
        }
    }
    if (!t->links.empty()) {
        fmt::print("\nlink configs (BE links)\n");
        for (const auto& l : t->links) {
            fmt::print("  {:#06x} {} id {}{}{}{}\n", l.offset, block_type_name(l.block_type), l.id,
                       l.name.empty() ? "" : fmt::format(" '{}'", l.name),
                       l.stream_name.empty() ? "" : fmt::format(" stream '{}'", l.stream_name),
                       l.abi == 4 ? " (ABI 4 layout)" : "");
            print_stream_configs(l.streams);
            for (const auto& h : l.hw_configs)
                fmt::print("    hw config {}{}: {} bclk {} fsync {} mclk {} Hz bclk {} Hz fsync {} Hz tdm {}x{} tx {:#x} rx {:#x}\n",
                           h.id, h.id == l.default_hw_config_id ? " (default)" : "", dai_format_name(h.fmt),
                           h.bclk_provider ? "codec consumer" : "codec provider",
                           h.fsync_provider ? "codec consumer" : "codec provider", h.mclk_rate, h.bclk_rate, h.fsync_rate,
                           h.tdm_slots, h.tdm_slot_width, h.tx_slots, h.rx_slots);
            print_flags(l.flag_mask, l.flags);
            print_private(l.priv, "    ");
        }
    }
    if (!t->dais.empty()) {
        fmt::print("\nDAI configs (physical DAIs)\n");
        for (const auto& d : t->dais) {
            fmt::print("  {:#06x} '{}' id {}\n", d.offset, d.dai_name, d.dai_id);
            if (d.playback) fmt::print("    playback {}\n", caps_text(d.caps[0]));
            if (d.capture) fmt::print("    capture  {}\n", caps_text(d.caps[1]));
            print_flags(d.flag_mask, d.flags);
            print_private(d.priv, "    ");
        }
    }
    if (!t->opaque.empty()) {
        fmt::print("\nblocks kept, not interpreted\n");
        for (const auto& o : t->opaque)
            fmt::print("  {:#06x} {} (type {}, vendor type {}): {}\n", o.offset, block_type_name(o.type), o.type,
                       o.vendor_type, hex(o.payload, 32));
    }
    for (const auto& w : t->warnings) fmt::print(stderr, "warning: {}\n", w);
    return kExitOk;
}

}  // namespace

void add_tplg(CLI::App& app) {
    CLI::App* tplg = app.add_subcommand("tplg", "Inspect an ALSA topology binary (.tplg, or .conf compiled with alsatplg)");
    tplg->require_subcommand(1);
    {
        auto file = std::make_shared<std::string>();
        auto as_json = std::make_shared<bool>(false);
        CLI::App* sub = tplg->add_subcommand("info", "Blocks, counts and names");
        sub->add_option("FILE", *file, "FILE.tplg or FILE.conf")->required();
        sub->add_flag("--json", *as_json, "Print JSON (keys: abi, widgets, widget_list (name, type, stream), routes, pcms, "
                                           "pcm_list, links (id, name, stream_name), controls, ...)");
        sub->callback([file, as_json] { throw Exit{info(*file, *as_json)}; });
    }
    {
        auto file = std::make_shared<std::string>();
        auto as_json = std::make_shared<bool>(false);
        CLI::App* sub = tplg->add_subcommand("dump", "Every block and object with its file offset, private data and tuples");
        sub->add_option("FILE", *file, "FILE.tplg or FILE.conf")->required();
        sub->add_flag("--json", *as_json, "Print JSON (blocks, controls, widgets, routes, pcms, links, dais, warnings)");
        sub->callback([file, as_json] { throw Exit{dump(*file, *as_json)}; });
    }
}

}  // namespace dynpcm::cli

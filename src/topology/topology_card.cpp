// Building a card from a topology plus a machine overlay. The mapping follows what
// soc-topology.c does with each object (docs/TOPOLOGY.md has the table); the overlay is read by
// the card file loader, which calls back here at fixed points (src/card/card_overlay.h).

#include "dynpcm/topology/topology_card.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <utility>
#include <sound/asoc.h>

#include "card/card_overlay.h"
#include "core/yaml_reader.h"

namespace dynpcm {

namespace {

using tplg::Topology;

constexpr uint32_t kRateContinuous = 1u << 30;  // SNDRV_PCM_RATE_CONTINUOUS
constexpr uint32_t kRateKnot = 1u << 31;        // SNDRV_PCM_RATE_KNOT
constexpr uint32_t kAlsaBytesMax = 512;         // snd_ctl_elem_value.bytes.data

class Builder {
public:
    explicit Builder(const Topology& t) : t_(t), used_links_(t.links.size()), used_dais_(t.dais.size()) {}

    CardLoad build(std::string_view overlay_text, std::string_view overlay_name) {
        OverlayHooks hooks;
        hooks.default_name = std::filesystem::path(t_.file).stem().string();
        hooks.add_first = [this](Card& c) { add_objects(c); };
        hooks.configure_be = [this](BeLink& be) { configure(be); };
        hooks.add_missing_bes = [this](Card& c) { add_missing_bes(c); };
        hooks.add_routes = [this](Card& c, bool quiet) { add_routes(c, quiet); };
        hooks.locate = [this](const std::string& w) { return locate(w); };
        CardLoad out = load_card_overlay(overlay_text, overlay_name.empty() ? "(no overlay)" : overlay_name, hooks);
        unmatched_configs();
        out.errors.insert(out.errors.begin(), errors_.begin(), errors_.end());
        if (!out.errors.empty()) out.card.reset();
        // alsatplg warns of routes to widgets it cannot see, such as the FE DAI stream widgets
        // the kernel creates at load time; once every route has resolved here, those are moot.
        for (const auto& w : t_.warnings)
            if (!out.errors.empty() || w.find("(tplg_build_routes) undefined") == std::string::npos) out.warnings.push_back(w);
        if (const auto p = t_.private_summary(); p.objects > 0)
            out.notes.push_back(fmt::format("{}: {} vendor-private data ({} bytes, {} vendor tuples): kept, "
                                               "not interpreted (dynpcm tplg dump lists it)",
                                               t_.file, p.objects == 1 ? "1 object carries" : fmt::format("{} objects carry", p.objects),
                                               p.bytes, p.tuples));
        out.warnings.insert(out.warnings.end(), warnings_.begin(), warnings_.end());
        return out;
    }

private:
    template <typename... Args>
    void error(uint32_t offset, fmt::format_string<Args...> f, Args&&... args) {
        errors_.push_back(fmt::format("{}: offset {:#x}: {}", t_.file, offset, fmt::format(f, std::forward<Args>(args)...)));
    }
    template <typename... Args>
    void warn(uint32_t offset, fmt::format_string<Args...> f, Args&&... args) {
        warnings_.push_back(fmt::format("{}: offset {:#x}: {}", t_.file, offset, fmt::format(f, std::forward<Args>(args)...)));
    }

    std::string locate(const std::string& widget) const {
        for (const auto& w : t_.widgets)
            if (w.name == widget) return fmt::format("{}: offset {:#x}", t_.file, w.offset);
        return t_.file;
    }

    // ---- objects: controls, widgets, PCMs (FE links)
    void add_objects(Card& card) {
        // The topology belongs to the platform component, which also owns the CPU DAIs: its
        // widgets, its FE DAIs and the overlay's BE streams share one DAPM context.
        if (auto c = card.add_component("platform")) platform_ = *c;
        card.set_default_dai_context(platform_);
        for (const auto& k : t_.controls)
            if (auto spec = kcontrol(k))
                if (auto r = card.add_control(*spec); !r) error(k.offset, "{}", r.error().message());
        for (const auto& w : t_.widgets) widget(card, w);
        for (const auto& p : t_.pcms) pcm(card, p);
    }

    // What snd_soc_info_volsw / _enum_double / bytes_info report for a kcontrol.
    std::optional<KcontrolSpec> kcontrol(const tplg::Kcontrol& k) {
        KcontrolSpec s;
        s.name = k.name;
        auto& i = s.info;
        switch (k.kind) {
            case tplg::Kcontrol::Kind::Mixer: {
                // The register's inversion is hidden from the user, as in the kernel.
                const int32_t pmax = k.platform_max > 0 ? k.platform_max : k.max;
                if (pmax < k.min) {
                    error(k.offset, "mixer control '{}': max {} is below min {}", k.name, pmax, k.min);
                    return std::nullopt;
                }
                const int64_t range = int64_t{pmax} - k.min;  // min may be negative: no int32 overflow
                const bool is_bool = range == 1 && k.name.find(" Volume") == std::string::npos;
                i.type = is_bool ? CtlType::Boolean : CtlType::Integer;
                i.min = 0;
                i.max = range;
                i.count = std::max(1u, k.channels);
                if (k.db && !is_bool) i.db = k.db;
                break;
            }
            case tplg::Kcontrol::Kind::Enum:
                i.type = CtlType::Enumerated;
                i.items = k.texts;
                i.max = static_cast<int64_t>(k.texts.size()) - 1;
                if (k.texts.empty()) {
                    error(k.offset, "enum control '{}' has no texts", k.name);
                    return std::nullopt;
                }
                break;
            case tplg::Kcontrol::Kind::Bytes:
                i.type = CtlType::Bytes;
                i.min = 0;
                i.max = 255;
                if (k.bytes_max == 0) {
                    error(k.offset, "bytes control '{}': max 0 bytes", k.name);
                    return std::nullopt;
                }
                if (k.bytes_max > kAlsaBytesMax)
                    warn(k.offset, "bytes control '{}' holds {} bytes, more than ALSA's {}-byte BYTES element (a TLV "
                         "bytes control in the kernel): its first {} bytes are modelled",
                         k.name, k.bytes_max, kAlsaBytesMax, kAlsaBytesMax);
                i.count = std::min(k.bytes_max, kAlsaBytesMax);
                break;
        }
        // snd_ctl_new1 takes an access of 0 as read-write; otherwise no WRITE bit, no writes.
        i.read_only = k.access != 0 && !(k.access & SNDRV_CTL_ELEM_ACCESS_WRITE);
        if (k.tlv_type != 0 && !k.db)
            warn(k.offset, "control '{}': TLV type {} kept, not interpreted (dynpcm reads dB scales)", k.name, k.tlv_type);
        return s;
    }

    void widget(Card& card, const tplg::Widget& w) {
        const auto type = parse_widget_type(tplg::widget_id_name(w.id));
        WidgetSpec spec;
        spec.name = w.name;
        spec.type = type.value_or(WidgetType::Virtual);  // ids were checked by the parser
        spec.stream = w.sname;
        spec.subseq = static_cast<int>(w.subseq);
        spec.context = platform_;
        for (const auto& k : w.kcontrols) {
            auto s = kcontrol(k);
            if (!s) return;
            spec.kcontrols.push_back(std::move(*s));
        }
        auto r = card.add_widget(spec);
        if (!r) return error(w.offset, "{}", r.error().message());
        // A dai_in / dai_out widget is a CPU DAI's stream widget; its sname names its BE link.
        if ((spec.type == WidgetType::DaiIn || spec.type == WidgetType::DaiOut) && !w.sname.empty()) {
            (void)card.adopt_dai(platform_, w.name, *r);
            dai_widgets_.push_back(&w);
        }
    }

    // SOF: a topology's DAI widgets belong to BE links the machine driver declares, named by
    // their snames (sof_connect_dai_widget matches dai_link->stream_name). A link no overlay
    // declares is made here: one per sname, its DAI widgets as its CPU DAIs, a null backend,
    // and the fixup its BACKEND_LINK config gives.
    void add_missing_bes(Card& card) {
        std::vector<std::string> made;
        std::vector<std::string> snames;
        for (const tplg::Widget* w : dai_widgets_)
            if (std::find(snames.begin(), snames.end(), w->sname) == snames.end()) snames.push_back(w->sname);
        for (const auto& sname : snames) {
            if (card.find_be(sname)) continue;
            BeLink be;
            be.name = sname;
            bool taken = false;
            for (const tplg::Widget* w : dai_widgets_) {
                if (w->sname != sname) continue;
                const Dai* dai = card.find_dai(fmt::format("platform:{}", w->name));
                if (!dai) continue;
                for (const auto& wid : dai->widget)
                    if (wid && card.be_of_widget(*wid)) taken = true;
                be.cpus.push_back(fmt::format("platform:{}", w->name));
            }
            if (taken || be.cpus.empty()) continue;
            be.backend.type = "null";
            const tplg::LinkConfig* config = nullptr;
            for (const auto& l : t_.links)
                if (l.name == sname) config = &l;
            if (config) be.id = config->id;
            else be.id = static_cast<uint32_t>(card.be_links().size());
            configure(be);
            if (config) sof_fixup(be, *config);
            if (auto r = card.add_be_link(std::move(be)); !r)
                error(dai_widgets_.front()->offset, "BE link '{}' from the topology's DAI widgets: {}", sname,
                      r.error().message());
            else
                made.push_back(sname);
        }
        if (!made.empty())
            warnings_.push_back(fmt::format("{}: {} BE link{} made from the topology's DAI widgets (null backend, the link "
                                            "config's hw params as fixup; an overlay BE link of the name replaces it): {}",
                                            t_.file, made.size(), made.size() == 1 ? "" : "s", fmt::join(made, ", ")));
    }

    // SOF's IPC3 fixup: the rate is the default hw config's frame clock, the channels its TDM
    // slots, the format its slot width (S16_LE at 48 kHz, 2 channels where it says nothing).
    static void sof_fixup(BeLink& be, const tplg::LinkConfig& l) {
        const tplg::HwConfig* h = l.default_hw_config();
        if (!be.fixup.rate) be.fixup.rate = h && h->fsync_rate ? h->fsync_rate : 48000;
        if (!be.fixup.channels) be.fixup.channels = h && h->tdm_slots ? h->tdm_slots : 2;
        if (!be.fixup.format) {
            const uint32_t width = h ? h->tdm_slot_width : 0;
            be.fixup.format = width == 32 ? Format::S32_LE : width == 24 ? Format::S24_LE : Format::S16_LE;
        }
    }

    // A SNDRV_PCM_FMTBIT_* mask as the formats dynpcm knows; the others are reported.
    FormatMask formats(uint64_t bits, uint32_t offset, const std::string& where) {
        FormatMask m;
        int n = 0;
        const Format* all = all_formats(&n);
        for (int k = 0; k < n; ++k)
            if (bits & (uint64_t{1} << static_cast<unsigned>(all[k]))) m.add(all[k]);
        if (const uint64_t rest = bits & ~m.bits(); rest != 0) {
            std::vector<unsigned> unknown;
            for (unsigned b = 0; b < 64; ++b)
                if (rest & (uint64_t{1} << b)) unknown.push_back(b);
            warn(offset, "{}: ALSA format{} {} not supported by dynpcm, left out", where, unknown.size() == 1 ? "" : "s",
                 fmt::join(unknown, ", "));
        }
        return m;
    }

    // snd_soc_tplg_stream_caps as the formats, rates and channels of a link stream.
    bool apply_caps(LinkStream& s, const tplg::StreamCaps& c, uint32_t offset, const std::string& where) {
        s.formats = formats(c.formats, offset, where);
        if (s.formats.empty()) {
            error(offset, "{}: no format dynpcm supports (formats {:#x})", where, c.formats);
            return false;
        }
        const uint32_t lo = c.rate_min ? c.rate_min : 1, hi = c.rate_max ? c.rate_max : Interval::kMax;
        s.rate_list.clear();
        const auto listed = (c.rates & kRateContinuous) ? std::vector<uint32_t>{} : tplg::rates_of(c.rates);
        for (uint32_t r : listed)
            if (r >= lo && r <= hi) s.rate_list.push_back(r);
        if (!s.rate_list.empty()) {
            s.rates = {s.rate_list.front(), s.rate_list.back()};
        } else if (!listed.empty()) {
            error(offset, "{}: none of the rates {} lies within rate_min {}..rate_max {}", where, fmt::join(listed, ", "),
                  c.rate_min, c.rate_max);
            return false;
        } else if (c.rate_min && c.rate_max) {
            s.rates = {c.rate_min, c.rate_max};
        } else {
            error(offset, "{}: no rates (rates {:#x}, rate_min {}, rate_max {})", where, c.rates & ~kRateKnot, c.rate_min,
                  c.rate_max);
            return false;
        }
        if (s.rates.empty()) {
            error(offset, "{}: rate_min {} is above rate_max {}", where, c.rate_min, c.rate_max);
            return false;
        }
        if (c.channels_min == 0 || c.channels_max < c.channels_min) {
            error(offset, "{}: channels {}..{} is no range of channels", where, c.channels_min, c.channels_max);
            return false;
        }
        s.channels = {c.channels_min, c.channels_max};
        return true;
    }

    // soc_tplg_pcm_create: an FE DAI whose streams are named by the caps, and its FE DAI link.
    void pcm(Card& card, const tplg::Pcm& p) {
        FeLink fe;
        fe.name = !p.pcm_name.empty() ? p.pcm_name : p.dai_name;
        if (fe.name.empty()) return error(p.offset, "PCM {} has neither a PCM name nor a DAI name", p.pcm_id);
        if (!p.playback && !p.capture) return error(p.offset, "PCM '{}' has neither playback nor capture", fe.name);
        if (p.compress) warn(p.offset, "PCM '{}' is a compressed stream; dynpcm loads it as a PCM FE", fe.name);
        // soc_tplg_fe_link_create leaves dai_link.trigger zeroed: SND_SOC_DPCM_TRIGGER_PRE.
        fe.trigger[0] = fe.trigger[1] = TriggerOrder::Pre;
        fe.topology = true;  // its runtime comes after the machine's links
        // SOF's platform sets use_dai_pcm_id: the PCM's id is its device number.
        if (!dai_widgets_.empty()) fe.device = p.pcm_id;
        for (int d = 0; d < 2; ++d) {
            if (!(d == 0 ? p.playback : p.capture)) continue;
            const char* dir = d == 0 ? "playback" : "capture";
            LinkStream s;
            s.stream_name = p.caps[d].name;
            if (s.stream_name.empty()) {
                s.stream_name = fmt::format("{} {}", fe.name, d == 0 ? "Playback" : "Capture");
                warn(p.offset, "PCM '{}' {}: the caps have no stream name; its DAI widget is '{}'", fe.name, dir, s.stream_name);
            }
            if (!apply_caps(s, p.caps[d], p.offset, fmt::format("PCM '{}' {}", fe.name, dir))) return;
            (d == 0 ? fe.playback : fe.capture) = std::move(s);
        }
        if (auto r = card.add_fe_link(std::move(fe)); !r) error(p.offset, "{}", r.error().message());
    }

    // ---- BE links: link configs (matched like snd_soc_find_dai_link) and DAI configs
    static bool names_stream(const BeLink& be, const std::string& stream) {
        return (be.playback && be.playback->stream_name == stream) || (be.capture && be.capture->stream_name == stream);
    }

    void configure(BeLink& be) {
        for (size_t i = 0; i < t_.links.size(); ++i) {
            const auto& l = t_.links[i];
            if (l.id != be.id || (!l.name.empty() && l.name != be.name) ||
                (!l.stream_name.empty() && !names_stream(be, l.stream_name)))
                continue;
            used_links_[i] = true;
            apply_link(be, l);
        }
        if (be.cpu_dai.empty()) return;
        for (size_t i = 0; i < t_.dais.size(); ++i) {
            const auto& d = t_.dais[i];
            if (d.dai_name != be.cpu_dai) continue;
            used_dais_[i] = true;
            for (int k = 0; k < 2; ++k) {
                auto& s = k == 0 ? be.playback : be.capture;
                const bool has = k == 0 ? d.playback : d.capture;
                const char* dir = k == 0 ? "playback" : "capture";
                if (!s) continue;
                if (!has) {
                    warn(d.offset, "DAI '{}' has no {} stream, but BE link '{}' declares one", d.dai_name, dir, be.name);
                    continue;
                }
                narrow(*s, d.caps[k], d.offset, fmt::format("DAI '{}' {} (BE link '{}')", d.dai_name, dir, be.name));
            }
        }
    }

    // A BE stream takes what both its overlay declaration and its CPU DAI take.
    void narrow(LinkStream& s, const tplg::StreamCaps& c, uint32_t offset, const std::string& where) {
        LinkStream dai;
        if (!apply_caps(dai, c, offset, where)) return;
        s.formats = s.formats & dai.formats;
        s.rates = {std::max(s.rates.min, dai.rates.min), std::min(s.rates.max, dai.rates.max)};
        s.channels = {std::max(s.channels.min, dai.channels.min), std::min(s.channels.max, dai.channels.max)};
        std::vector<uint32_t> rates;
        if (!s.rate_list.empty() || !dai.rate_list.empty()) {
            for (uint32_t r : s.rate_list.empty() ? dai.rate_list : s.rate_list)
                if (s.rates.contains(r) &&
                    (dai.rate_list.empty() || std::find(dai.rate_list.begin(), dai.rate_list.end(), r) != dai.rate_list.end()))
                    rates.push_back(r);
            if (rates.empty()) s.rates = Interval::empty_set();
            else s.rates = {rates.front(), rates.back()};
        }
        s.rate_list = std::move(rates);
        if (s.formats.empty() || s.rates.empty() || s.channels.empty())
            error(offset, "{}: nothing is left of stream '{}' once narrowed by the DAI (formats {}, rates {}, channels {})",
                  where, s.stream_name, s.formats.to_string(), s.rates.to_string(), s.channels.to_string());
    }

    void apply_link(BeLink& be, const tplg::LinkConfig& l) {
        if (!l.streams.empty()) {
            // The first config is the one the link starts at; the overlay's fixup wins.
            const auto& c = l.streams.front();
            const std::string where = fmt::format("link config {} '{}' stream config '{}'", l.id, be.name, c.name);
            if (!be.fixup.format && c.format) {
                const FormatMask m = formats(c.format, l.offset, where);
                if (!m.empty()) be.fixup.format = m.first();
            }
            const auto rates = tplg::rates_of(c.rate);
            if (!be.fixup.rate && !rates.empty()) be.fixup.rate = rates.front();
            if (!be.fixup.channels && c.channels) be.fixup.channels = c.channels;
            if (l.streams.size() > 1)
                warn(l.offset, "link config {} '{}': {} stream configs; the BE starts at the first ('{}')", l.id, be.name,
                     l.streams.size(), c.name);
        }
        if (const auto* h = l.default_hw_config()) {
            DaiFormat f;
            f.format = tplg::dai_format_name(h->fmt);
            f.codec_bclk_provider = h->bclk_provider == SND_SOC_TPLG_BCLK_CP;
            f.codec_fsync_provider = h->fsync_provider == SND_SOC_TPLG_FSYNC_CP;
            f.invert_bclk = h->invert_bclk != 0;
            f.invert_fsync = h->invert_fsync != 0;
            f.mclk_rate = h->mclk_rate, f.bclk_rate = h->bclk_rate, f.fsync_rate = h->fsync_rate;
            f.tdm_slots = h->tdm_slots, f.tdm_slot_width = h->tdm_slot_width;
            f.tx_slots = h->tx_slots, f.rx_slots = h->rx_slots;
            be.dai_format = f;
        }
    }

    void unmatched_configs() {
        for (size_t i = 0; i < t_.links.size(); ++i)
            if (!used_links_[i]) {
                const auto& l = t_.links[i];
                warn(l.offset, "link config id {}{} matches no BE link (an overlay BE link with id: {}{} takes it)", l.id,
                     l.name.empty() ? "" : fmt::format(" '{}'", l.name), l.id,
                     l.name.empty() ? "" : fmt::format(" and name: {}", l.name));
            }
        for (size_t i = 0; i < t_.dais.size(); ++i)
            if (!used_dais_[i])
                warn(t_.dais[i].offset, "DAI config '{}' matches no BE link (an overlay BE link with cpu_dai: {} takes it)",
                     t_.dais[i].dai_name, t_.dais[i].dai_name);
    }

    // ---- the graph
    void add_routes(Card& card, bool overlay_had_key_error) {
        size_t missing = 0;
        for (size_t i = 0; i < t_.routes.size(); ++i) {
            const auto& r = t_.routes[i];
            auto p = card.add_route(r.sink, r.control, r.source, platform_);
            if (!p && overlay_had_key_error && p.error().code() == -ENOENT) {
                ++missing;
                continue;
            }
            if (!p)
                error(r.offset, "route {} ({}, {}, {}): {}{}", i, r.sink, r.control, r.source, p.error().message(),
                      p.error().code() == -ENOENT && !std::exchange(hinted_, true)
                          ? " (a DAI stream of a link the platform or machine driver declares? give that link in the "
                            "overlay's fe_links or be_links)"
                          : "");
        }
        if (missing > 0)
            errors_.push_back(fmt::format("{}: {} topology route{} name widgets that are missing, probably because of the "
                                          "overlay's error; fix it first",
                                          t_.file, missing, missing == 1 ? "" : "s"));
    }

    const Topology& t_;
    std::vector<std::string> errors_, warnings_;
    std::vector<bool> used_links_, used_dais_;  // which configs some BE link took
    bool hinted_ = false;  // the hint about driver-declared DAI streams is given once
    uint32_t platform_ = 0;  // the platform component's DAPM context
    std::vector<const tplg::Widget*> dai_widgets_;  // dai_in / dai_out widgets with an sname
};

}  // namespace

CardLoad build_topology_card(const tplg::Topology& topology, std::string_view overlay_text, std::string_view overlay_name) {
    return Builder(topology).build(overlay_text, overlay_name);
}

CardLoad load_topology_card(const std::string& tplg_path, const std::string& overlay_path) {
    CardLoad out;
    auto t = tplg::load_topology_file(tplg_path);
    if (!t) {
        out.errors.push_back(t.error().message());
        return out;
    }
    if (overlay_path.empty()) return build_topology_card(*t, {}, {});
    const auto text = YamlReader::read_file(overlay_path, "overlay file", out.errors);
    if (!text) return out;
    if (text->find_first_not_of(" \t\r\n") == std::string::npos) {
        out.errors.push_back(fmt::format("{}: the overlay is empty (leave --overlay out for none)", overlay_path));
        return out;
    }
    return build_topology_card(*t, *text, overlay_path);
}

}  // namespace dynpcm

/// The topology loader: parse_topology (ABI 4 and 5 binaries, every class of malformed input,
/// with the byte offset and the bad value in each message; truncated and mutated files),
/// vendor and private data, build_topology_card (controls, widgets, PCMs as FE links, link and
/// DAI configs on overlay BE links, the graph), and the two example topologies compiled with
/// alsatplg: examples/topology/dsp.conf and Debian's broadwell.conf.
///
/// Topology binaries are written by tplg_writer.h from the uapi structs of <sound/asoc.h>.

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <sound/asoc.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "dynpcm/card/card.h"
#include "dynpcm/topology/topology.h"
#include "dynpcm/topology/topology_card.h"
#include "unit/result_assert.h"
#include "unit/tplg_writer.h"

namespace dynpcm {
namespace {

namespace fs = std::filesystem;
using testutil::is_error;
using testutil::is_ok;
using namespace tplg_test;  // the writer's vocabulary: mixer(), widget(), route(), pcm(), ...

// ---------------------------------------------------------------------------------------------
// Sizes: the writer's wire sizes are the C sizes of the uapi structs (as alsatplg writes them).

static_assert(sizeof(snd_soc_tplg_hdr) == 36);
static_assert(wire_size<snd_soc_tplg_manifest>() == 112);
static_assert(wire_size<snd_soc_tplg_manifest_v4>() == 28);
static_assert(sizeof(snd_soc_tplg_ctl_hdr) == 204);
static_assert(wire_size<snd_soc_tplg_mixer_control>() == 360);
static_assert(wire_size<snd_soc_tplg_enum_control>() == 1764);
static_assert(wire_size<snd_soc_tplg_bytes_control>() == 240);
static_assert(wire_size<snd_soc_tplg_dapm_widget>() == 132);
static_assert(sizeof(snd_soc_tplg_dapm_graph_elem) == 132);
static_assert(wire_size<snd_soc_tplg_pcm>() == 912);
static_assert(wire_size<snd_soc_tplg_pcm_v4>() == 892);
static_assert(wire_size<snd_soc_tplg_link_config>() == 1656);
static_assert(wire_size<snd_soc_tplg_link_config_v4>() == 588);
static_assert(wire_size<snd_soc_tplg_dai>() == 280);

constexpr size_t kHdr = sizeof(snd_soc_tplg_hdr);
constexpr size_t kWidget = wire_size<snd_soc_tplg_dapm_widget>();
constexpr size_t kRoute = sizeof(snd_soc_tplg_dapm_graph_elem);

// ---------------------------------------------------------------------------------------------
// Helpers

::testing::AssertionResult Contains(const std::string& text, std::string_view part) {
    if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& e : v) s += "\n  " + e;
    return s.empty() ? std::string(" (none)") : s;
}

/// The number of messages in `v` that contain every one of `parts`.
size_t count_containing(const std::vector<std::string>& v,
                        std::initializer_list<std::string_view> parts) {
    return static_cast<size_t>(std::count_if(v.begin(), v.end(), [&](const std::string& m) {
        return std::all_of(parts.begin(), parts.end(),
                           [&](std::string_view p) { return m.find(p) != std::string::npos; });
    }));
}

std::string at(size_t offset) {
    return fmt::format("offset {:#x}", offset);
}

/// The offset a parse error names ("t.tplg: offset 0x1a4 ..."), if it names one.
std::optional<size_t> offset_in(const std::string& message) {
    const size_t p = message.find(": offset 0x");
    if (p == std::string::npos) return std::nullopt;
    return std::stoul(message.substr(p + 11), nullptr, 16);
}

/// Parsing `file` fails with -EINVAL, the message starts with "t.tplg: offset <offset>" (and
/// that exact offset, not a longer hex number), and contains every one of `words`.
::testing::AssertionResult parse_fails_at(const Bytes& file, size_t offset,
                                          std::initializer_list<std::string_view> words) {
    const auto r = tplg::parse_topology(file, "t.tplg");
    if (r.ok())
        return ::testing::AssertionFailure() << "parsed; expected an error at " << at(offset);
    auto res = is_error(r, -EINVAL, words);
    if (!res) return res;
    const std::string& m = r.error().message();
    const std::string want = "t.tplg: " + at(offset);
    if (m.rfind(want, 0) != 0 ||
        (m.size() > want.size() && std::isxdigit(static_cast<unsigned char>(m[want.size()]))))
        return ::testing::AssertionFailure()
               << "message \"" << m << "\" does not start with \"" << want << "\"";
    return ::testing::AssertionSuccess() << m;
}

tplg::Topology must_parse(const Bytes& file, std::string_view name = "t.tplg") {
    auto r = tplg::parse_topology(file, name);
    EXPECT_TRUE(is_ok(r));
    if (!r.ok()) return {};
    return std::move(r).value();
}

/// Builds a card from a topology binary and an overlay (empty: none), named ov.yaml in messages.
CardLoad build(const Bytes& file, std::string_view overlay = {}) {
    auto t = tplg::parse_topology(file, "t.tplg");
    if (!t.ok()) {
        CardLoad out;
        out.errors.push_back("parse: " + t.error().message());
        return out;
    }
    return build_topology_card(*t, overlay, overlay.empty() ? "" : "ov.yaml");
}

/// The names of the BE links an FE reaches in direction `dir`.
std::vector<std::string> reach(const Card& card, std::string_view fe, Stream dir) {
    const auto i = card.find_fe(fe);
    if (!i) {
        ADD_FAILURE() << "no FE link '" << fe << "'";
        return {};
    }
    std::vector<std::string> out;
    for (size_t b : card.fe_routes(*i, dir)) out.push_back(card.be_links()[b].name);
    return out;
}

using Names = std::vector<std::string>;

FormatMask fmts(std::initializer_list<Format> list) {
    FormatMask m;
    for (Format f : list) m.add(f);
    return m;
}

const BeLink* be_named(const Card& card, std::string_view name) {
    const auto i = card.find_be(name);
    return i ? &card.be_links()[*i] : nullptr;
}

const FeLink* fe_named(const Card& card, std::string_view name) {
    const auto i = card.find_fe(name);
    return i ? &card.fe_links()[*i] : nullptr;
}

/// `n` routes "Sink i" <- "Source i", as a graph block's payload.
// An INTEGER volume from 0 to `max`, `count` values, with a TLV dB scale.
void expect_volume(const Control* c, int64_t max, uint32_t count, int32_t min_cdb, int32_t step_cdb, bool mute) {
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->info.type, CtlType::Integer) << c->id.name;
    EXPECT_EQ(c->info.min, 0) << c->id.name;
    EXPECT_EQ(c->info.max, max) << c->id.name;
    EXPECT_EQ(c->info.count, count) << c->id.name;
    ASSERT_TRUE(c->info.db.has_value()) << c->id.name;
    EXPECT_EQ(c->info.db->min_cdb, min_cdb) << c->id.name;
    EXPECT_EQ(c->info.db->step_cdb, step_cdb) << c->id.name;
    EXPECT_EQ(c->info.db->mute, mute) << c->id.name;
}

Bytes routes(int n) {
    Bytes out;
    for (int i = 0; i < n; ++i)
        append(out, object(route(fmt::format("Sink {}", i), "", fmt::format("Source {}", i))));
    return out;
}

// ---------------------------------------------------------------------------------------------
// A valid ABI 5 file with one of everything, and a machine overlay for it.
//
//   Media Playback --Media--> Mixer -> PGA -> SSP0.OUT ==> BE Speaker (Amp Playback)
//   Voice Playback --Voice--/
//   Capture <- Capture Mux <-Line- SSP0.IN <== BE Line (Line Capture)
//                          <-Mic-- DMIC.IN <== BE DMIC (DMIC Capture)

struct Sample {
    Bytes bytes;
    std::vector<size_t> blocks;  // header offsets
};

Bytes pga_tuples() {
    return VendorArrays().words({{100, 1}, {101, 2}}).strings({{102, "pga-proc"}}).bytes();
}

Sample sample_file() {
    TplgWriter w;
    Sample s;
    s.blocks.push_back(w.block(SND_SOC_TPLG_TYPE_MANIFEST, 1,
                               object(manifest(7, 6, 7, 2, 1, 1), Bytes{'D', 'S', 'P', '1'})));

    auto vol = mixer("Master Playback Volume", 0, 31, 2);
    db_scale(vol.hdr, -9000, 300, true);
    s.blocks.push_back(w.block(SND_SOC_TPLG_TYPE_MIXER, 2,
                               cat({object(vol), object(mixer("Loud Switch", 0, 1))}), 2));
    s.blocks.push_back(
        w.block(SND_SOC_TPLG_TYPE_ENUM, 1, object(enum_control("Mode", {"Normal", "Night"})), 2));
    s.blocks.push_back(w.block(SND_SOC_TPLG_TYPE_BYTES, 1,
                               object(bytes_control("Coefficients", 16), Bytes(16, 0x5a)), 2));

    const Bytes widgets = cat({
        widget_with(widget("Mixer", SND_SOC_TPLG_DAPM_MIXER),
                    {object(mixer("Media", 0, 1, 1, SND_SOC_TPLG_DAPM_CTL_VOLSW)),
                     object(mixer("Voice", 0, 1, 1, SND_SOC_TPLG_DAPM_CTL_VOLSW))}),
        widget_with(widget("Capture Mux", SND_SOC_TPLG_DAPM_MUX),
                    {object(enum_control("Capture Source", {"Line", "Mic"},
                                         SND_SOC_TPLG_DAPM_CTL_ENUM_DOUBLE))}),
        widget_with(widget("PGA", SND_SOC_TPLG_DAPM_PGA), {}, pga_tuples()),
        object(widget("SSP0.OUT", SND_SOC_TPLG_DAPM_AIF_OUT)),
        object(widget("SSP0.IN", SND_SOC_TPLG_DAPM_AIF_IN)),
        object(widget("DMIC.IN", SND_SOC_TPLG_DAPM_AIF_IN)),
    });
    s.blocks.push_back(w.block(SND_SOC_TPLG_TYPE_DAPM_WIDGET, 6, widgets, 1));

    const Bytes graph = cat({
        object(route("Mixer", "Media", "Media Playback")),
        object(route("Mixer", "Voice", "Voice Playback")),
        object(route("PGA", "", "Mixer")),
        object(route("SSP0.OUT", "", "PGA")),
        object(route("Capture Mux", "Line", "SSP0.IN")),
        object(route("Capture Mux", "Mic", "DMIC.IN")),
        object(route("Capture", "", "Capture Mux")),
    });
    s.blocks.push_back(w.block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 7, graph, 1));

    const Caps media{.name = "Media Playback",
                     .formats = kFmtS16LE | kFmtS24LE,
                     .rates = kRate44100 | kRate48000,
                     .rate_min = 44100,
                     .rate_max = 48000,
                     .channels_min = 1,
                     .channels_max = 2,
                     .sig_bits = 24};
    const Caps voice{.name = "Voice Playback",
                     .rates = kRate8000 | kRate16000,
                     .rate_min = 8000,
                     .rate_max = 16000,
                     .channels_min = 1,
                     .channels_max = 1};
    const Caps capture{
        .name = "Capture", .rates = kRate48000, .channels_min = 1, .channels_max = 4};
    s.blocks.push_back(w.block(SND_SOC_TPLG_TYPE_PCM, 2,
                               cat({object(pcm("Media", "Media Pin", 0, media)),
                                    object(pcm("Voice", "Voice Pin", 1, voice, capture))}),
                               1));

    s.blocks.push_back(
        w.block(SND_SOC_TPLG_TYPE_BACKEND_LINK, 1,
                object(link_config(0, "Speaker", {stream("Speaker 48k", kFmtS24LE, kRate48000, 2)},
                                   {hw_config(1, SND_SOC_DAI_FORMAT_I2S, SND_SOC_TPLG_BCLK_CC,
                                              SND_SOC_TPLG_FSYNC_CC, 2, 32)},
                                   1))));
    s.blocks.push_back(
        w.block(SND_SOC_TPLG_TYPE_DAI, 1,
                object(dai("SSP0 Pin", 5,
                           Caps{.name = "SSP0 Playback", .formats = kFmtS16LE | kFmtS24LE}))));
    s.bytes = w.bytes();
    return s;
}

constexpr std::string_view kSampleOverlay = R"(card: sample
be_links:
  - name: Speaker
    id: 0
    cpu_dai: SSP0 Pin
    playback: {stream: Amp Playback}
    backend: {type: sim}
  - name: Line
    id: 1
    capture: {stream: Line Capture}
    backend: {type: sim}
  - name: DMIC
    id: 2
    capture: {stream: DMIC Capture}
    backend: {type: sim}
routes:
  - [Amp Playback, ~, SSP0.OUT]
  - [SSP0.IN, ~, Line Capture]
  - [DMIC.IN, ~, DMIC Capture]
)";

// =============================================================================================
// Parsing valid files

TEST(TopologyParse, Abi5FileReadsEveryObject) {
    const Sample s = sample_file();
    const auto t = must_parse(s.bytes);
    EXPECT_EQ(t.file, "t.tplg");
    EXPECT_EQ(t.abi, 5u);
    EXPECT_EQ(t.size, s.bytes.size());
    EXPECT_TRUE(t.warnings.empty()) << joined(t.warnings);
    EXPECT_TRUE(t.opaque.empty());

    // Blocks: where they are and what their headers say.
    ASSERT_EQ(t.blocks.size(), 9u);
    const uint32_t types[] = {
        SND_SOC_TPLG_TYPE_MANIFEST, SND_SOC_TPLG_TYPE_MIXER,        SND_SOC_TPLG_TYPE_ENUM,
        SND_SOC_TPLG_TYPE_BYTES,    SND_SOC_TPLG_TYPE_DAPM_WIDGET,  SND_SOC_TPLG_TYPE_DAPM_GRAPH,
        SND_SOC_TPLG_TYPE_PCM,      SND_SOC_TPLG_TYPE_BACKEND_LINK, SND_SOC_TPLG_TYPE_DAI};
    const uint32_t counts[] = {1, 2, 1, 1, 6, 7, 2, 1, 1};
    for (size_t i = 0; i < 9; ++i) {
        EXPECT_EQ(t.blocks[i].offset, s.blocks[i]) << "block " << i;
        EXPECT_EQ(t.blocks[i].type, types[i]) << "block " << i;
        EXPECT_EQ(t.blocks[i].count, counts[i]) << "block " << i;
        EXPECT_EQ(t.blocks[i].abi, 5u);
    }
    EXPECT_EQ(t.blocks[1].index, 2u);
    EXPECT_EQ(t.blocks[4].index, 1u);
    EXPECT_EQ(t.blocks[4].payload_size, s.blocks[5] - s.blocks[4] - kHdr);

    // Manifest, with private data that is not vendor arrays.
    ASSERT_TRUE(t.manifest.has_value());
    EXPECT_EQ(t.manifest->abi, 5);
    EXPECT_EQ(t.manifest->offset, payload_at(s.blocks[0]));
    EXPECT_EQ(t.manifest->control_elems, 7u);
    EXPECT_EQ(t.manifest->widget_elems, 6u);
    EXPECT_EQ(t.manifest->graph_elems, 7u);
    EXPECT_EQ(t.manifest->pcm_elems, 2u);
    EXPECT_EQ(t.manifest->dai_link_elems, 1u);
    EXPECT_EQ(t.manifest->dai_elems, 1u);
    EXPECT_EQ(t.manifest->priv.bytes, (Bytes{'D', 'S', 'P', '1'}));
    EXPECT_EQ(t.manifest->priv.offset, payload_at(s.blocks[0]) + 112);
    EXPECT_TRUE(t.manifest->priv.tuples.empty());

    // Card-level controls.
    ASSERT_EQ(t.controls.size(), 4u);
    const auto& vol = t.controls[0];
    EXPECT_EQ(vol.kind, tplg::Kcontrol::Kind::Mixer);
    EXPECT_EQ(vol.name, "Master Playback Volume");
    EXPECT_EQ(vol.offset, payload_at(s.blocks[1]));
    EXPECT_EQ(vol.index, 2u);
    EXPECT_EQ(vol.info_op, uint32_t{SND_SOC_TPLG_CTL_VOLSW});
    EXPECT_EQ(vol.min, 0);
    EXPECT_EQ(vol.max, 31);
    EXPECT_EQ(vol.channels, 2u);
    EXPECT_EQ(vol.tlv_type, uint32_t{SNDRV_CTL_TLVT_DB_SCALE});
    ASSERT_TRUE(vol.db.has_value());
    EXPECT_EQ(vol.db->min_cdb, -9000);
    EXPECT_EQ(vol.db->step_cdb, 300);
    EXPECT_TRUE(vol.db->mute);
    EXPECT_EQ(t.controls[1].name, "Loud Switch");
    EXPECT_EQ(t.controls[1].offset, payload_at(s.blocks[1]) + 360);
    EXPECT_EQ(t.controls[1].max, 1);
    EXPECT_FALSE(t.controls[1].db.has_value());
    EXPECT_EQ(t.controls[2].kind, tplg::Kcontrol::Kind::Enum);
    EXPECT_EQ(t.controls[2].texts, (Names{"Normal", "Night"}));
    EXPECT_TRUE(t.controls[2].values.empty());
    EXPECT_EQ(t.controls[3].kind, tplg::Kcontrol::Kind::Bytes);
    EXPECT_EQ(t.controls[3].bytes_max, 16u);
    EXPECT_EQ(t.controls[3].priv.bytes, Bytes(16, 0x5a));

    // Widgets with their kcontrols and private data.
    ASSERT_EQ(t.widgets.size(), 6u);
    const auto& mix = t.widgets[0];
    EXPECT_EQ(mix.name, "Mixer");
    EXPECT_EQ(mix.id, uint32_t{SND_SOC_TPLG_DAPM_MIXER});
    EXPECT_EQ(mix.offset, payload_at(s.blocks[4]));
    EXPECT_EQ(mix.reg, -1);
    ASSERT_EQ(mix.kcontrols.size(), 2u);
    EXPECT_EQ(mix.kcontrols[0].name, "Media");
    EXPECT_EQ(mix.kcontrols[0].offset, payload_at(s.blocks[4]) + kWidget);
    EXPECT_EQ(mix.kcontrols[1].name, "Voice");
    EXPECT_EQ(mix.kcontrols[1].info_op, uint32_t{SND_SOC_TPLG_DAPM_CTL_VOLSW});
    const auto& mux = t.widgets[1];
    EXPECT_EQ(mux.offset, payload_at(s.blocks[4]) + kWidget + 2 * 360);
    EXPECT_EQ(mux.id, uint32_t{SND_SOC_TPLG_DAPM_MUX});
    ASSERT_EQ(mux.kcontrols.size(), 1u);
    EXPECT_EQ(mux.kcontrols[0].kind, tplg::Kcontrol::Kind::Enum);
    EXPECT_EQ(mux.kcontrols[0].texts, (Names{"Line", "Mic"}));
    const auto& pga = t.widgets[2];
    EXPECT_EQ(pga.name, "PGA");
    EXPECT_EQ(pga.offset, mux.offset + kWidget + 1764);
    EXPECT_EQ(pga.priv.bytes.size(), pga_tuples().size());
    EXPECT_EQ(pga.priv.tuples.size(), 3u);
    EXPECT_EQ(t.widgets[3].name, "SSP0.OUT");
    EXPECT_EQ(t.widgets[3].id, uint32_t{SND_SOC_TPLG_DAPM_AIF_OUT});
    EXPECT_EQ(t.widgets[3].offset, pga.offset + kWidget + pga_tuples().size());
    EXPECT_EQ(t.widgets[5].name, "DMIC.IN");

    // Routes.
    ASSERT_EQ(t.routes.size(), 7u);
    EXPECT_EQ(t.routes[0].sink, "Mixer");
    EXPECT_EQ(t.routes[0].control, "Media");
    EXPECT_EQ(t.routes[0].source, "Media Playback");
    EXPECT_EQ(t.routes[0].offset, payload_at(s.blocks[5]));
    EXPECT_EQ(t.routes[6].sink, "Capture");
    EXPECT_EQ(t.routes[6].control, "");
    EXPECT_EQ(t.routes[6].offset, payload_at(s.blocks[5]) + 6 * kRoute);

    // PCMs.
    ASSERT_EQ(t.pcms.size(), 2u);
    const auto& media = t.pcms[0];
    EXPECT_EQ(media.abi, 5);
    EXPECT_EQ(media.pcm_name, "Media");
    EXPECT_EQ(media.dai_name, "Media Pin");
    EXPECT_TRUE(media.playback);
    EXPECT_FALSE(media.capture);
    EXPECT_EQ(media.caps[0].name, "Media Playback");
    EXPECT_EQ(media.caps[0].formats, kFmtS16LE | kFmtS24LE);
    EXPECT_EQ(media.caps[0].rates, kRate44100 | kRate48000);
    EXPECT_EQ(media.caps[0].rate_min, 44100u);
    EXPECT_EQ(media.caps[0].rate_max, 48000u);
    EXPECT_EQ(media.caps[0].channels_min, 1u);
    EXPECT_EQ(media.caps[0].channels_max, 2u);
    EXPECT_EQ(media.caps[0].periods_max, 16u);
    EXPECT_EQ(media.caps[0].buffer_size_max, 262144u);
    EXPECT_EQ(media.caps[0].sig_bits, 24u);
    const auto& voice = t.pcms[1];
    EXPECT_EQ(voice.offset, payload_at(s.blocks[6]) + 912);
    EXPECT_EQ(voice.pcm_id, 1u);
    EXPECT_TRUE(voice.capture);
    EXPECT_EQ(voice.caps[1].name, "Capture");
    EXPECT_EQ(voice.caps[1].channels_max, 4u);

    // Link config, with its stream config and hw config.
    ASSERT_EQ(t.links.size(), 1u);
    const auto& l = t.links[0];
    EXPECT_EQ(l.abi, 5);
    EXPECT_EQ(l.block_type, uint32_t{SND_SOC_TPLG_TYPE_BACKEND_LINK});
    EXPECT_EQ(l.name, "Speaker");
    ASSERT_EQ(l.streams.size(), 1u);
    EXPECT_EQ(l.streams[0].name, "Speaker 48k");
    EXPECT_EQ(l.streams[0].format, kFmtS24LE);
    EXPECT_EQ(l.streams[0].rate, kRate48000);
    EXPECT_EQ(l.streams[0].channels, 2u);
    EXPECT_EQ(l.streams[0].period_bytes, 4096u);
    ASSERT_EQ(l.hw_configs.size(), 1u);
    EXPECT_EQ(l.hw_configs[0].fmt, uint32_t{SND_SOC_DAI_FORMAT_I2S});
    EXPECT_EQ(l.hw_configs[0].bclk_provider, SND_SOC_TPLG_BCLK_CC);
    EXPECT_EQ(l.hw_configs[0].tdm_slots, 2u);
    EXPECT_EQ(l.hw_configs[0].tdm_slot_width, 32u);
    EXPECT_EQ(l.default_hw_config_id, 1u);
    ASSERT_NE(l.default_hw_config(), nullptr);
    EXPECT_EQ(l.default_hw_config()->id, 1u);

    // DAI.
    ASSERT_EQ(t.dais.size(), 1u);
    EXPECT_EQ(t.dais[0].dai_name, "SSP0 Pin");
    EXPECT_EQ(t.dais[0].dai_id, 5u);
    EXPECT_TRUE(t.dais[0].playback);
    EXPECT_FALSE(t.dais[0].capture);
    EXPECT_EQ(t.dais[0].caps[0].formats, kFmtS16LE | kFmtS24LE);

    // Private data: manifest, bytes control, PGA widget.
    const auto p = t.private_summary();
    EXPECT_EQ(p.objects, 3u);
    EXPECT_EQ(p.bytes, 4 + 16 + pga_tuples().size());
    EXPECT_EQ(p.tuples, 3u);
}

TEST(TopologyParse, Abi4FileReads) {
    TplgWriter w;
    const auto v4 = [](uint32_t type, uint32_t count) {
        return BlockHeader{.type = type, .count = count, .abi = 4};
    };
    const size_t m = w.block(v4(SND_SOC_TPLG_TYPE_MANIFEST, 1), object(manifest_v4(0, 1, 1, 1, 1)));
    w.block(v4(SND_SOC_TPLG_TYPE_DAPM_WIDGET, 1),
            object(widget("SSP0.OUT", SND_SOC_TPLG_DAPM_AIF_OUT)));
    w.block(v4(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 1), object(route("SSP0.OUT", "", "Media Playback")));
    const Caps play{
        .name = "Media Playback", .formats = kFmtS16LE | kFmtS24LE, .rates = kRate48000};
    const Caps cap{.name = "Media Capture",
                   .rates = kRate16000,
                   .rate_min = 16000,
                   .rate_max = 16000,
                   .channels_min = 1,
                   .channels_max = 4};
    const size_t p =
        w.block(v4(SND_SOC_TPLG_TYPE_PCM, 1), object(pcm_v4("Media", "Media Pin", 7, play, cap)));
    const size_t l = w.block(v4(SND_SOC_TPLG_TYPE_DAI_LINK, 1),
                             object(link_config_v4(3, {stream("48k", kFmtS16LE, kRate48000, 2),
                                                       stream("44k", kFmtS24LE, kRate44100, 1)})));
    const auto t = must_parse(w.bytes());

    EXPECT_EQ(t.abi, 4u);
    // The v4 manifest has no DAI total; no DAIs is no mismatch.
    EXPECT_TRUE(t.warnings.empty()) << joined(t.warnings);
    ASSERT_TRUE(t.manifest.has_value());
    EXPECT_EQ(t.manifest->abi, 4);
    EXPECT_EQ(t.manifest->offset, payload_at(m));
    EXPECT_EQ(t.manifest->pcm_elems, 1u);
    EXPECT_EQ(t.manifest->dai_link_elems, 1u);
    EXPECT_EQ(t.manifest->dai_elems, 0u);

    ASSERT_EQ(t.pcms.size(), 1u);
    const auto& pc = t.pcms[0];
    EXPECT_EQ(pc.abi, 4);
    EXPECT_EQ(pc.offset, payload_at(p));
    EXPECT_EQ(pc.pcm_name, "Media");
    EXPECT_EQ(pc.pcm_id, 7u);
    EXPECT_TRUE(pc.playback);
    EXPECT_TRUE(pc.capture);
    EXPECT_EQ(pc.caps[0].name, "Media Playback");
    EXPECT_EQ(pc.caps[0].formats, kFmtS16LE | kFmtS24LE);
    EXPECT_EQ(pc.caps[0].sig_bits, 0u);
    // The capture caps sit 100 bytes after the playback caps in ABI 4 (no sig_bits).
    EXPECT_EQ(pc.caps[1].name, "Media Capture");
    EXPECT_EQ(pc.caps[1].rates, kRate16000);
    EXPECT_EQ(pc.caps[1].rate_min, 16000u);
    EXPECT_EQ(pc.caps[1].channels_min, 1u);
    EXPECT_EQ(pc.caps[1].channels_max, 4u);
    EXPECT_EQ(pc.caps[1].buffer_size_max, 262144u);
    EXPECT_EQ(pc.flags, 0u);
    EXPECT_TRUE(pc.priv.empty());

    ASSERT_EQ(t.links.size(), 1u);
    const auto& lk = t.links[0];
    EXPECT_EQ(lk.abi, 4);
    EXPECT_EQ(lk.offset, payload_at(l));
    EXPECT_EQ(lk.block_type, uint32_t{SND_SOC_TPLG_TYPE_DAI_LINK});
    EXPECT_EQ(lk.id, 3u);
    EXPECT_EQ(lk.name, "");
    EXPECT_EQ(lk.stream_name, "");
    EXPECT_TRUE(lk.hw_configs.empty());
    EXPECT_EQ(lk.default_hw_config(), nullptr);
    ASSERT_EQ(lk.streams.size(), 2u);
    EXPECT_EQ(lk.streams[0].name, "48k");
    EXPECT_EQ(lk.streams[0].format, kFmtS16LE);
    EXPECT_EQ(lk.streams[0].rate, kRate48000);
    EXPECT_EQ(lk.streams[0].channels, 2u);
    EXPECT_EQ(lk.streams[1].name, "44k");
    EXPECT_EQ(lk.streams[1].format, kFmtS24LE);
    EXPECT_EQ(lk.streams[1].rate, kRate44100);
    EXPECT_EQ(lk.streams[1].channels, 1u);
    EXPECT_EQ(lk.streams[1].buffer_bytes, 16384u);

    ASSERT_EQ(t.widgets.size(), 1u);
    ASSERT_EQ(t.routes.size(), 1u);
    for (const auto& b : t.blocks) EXPECT_EQ(b.abi, 4u);
}

TEST(TopologyParse, Abi4FileBuildsACard) {
    // The v4 PCM becomes an FE; the v4 link config (id and stream configs only) gives BE id 3
    // its fixup.
    TplgWriter w;
    const auto v4 = [](uint32_t type) { return BlockHeader{.type = type, .count = 1, .abi = 4}; };
    w.block(v4(SND_SOC_TPLG_TYPE_DAPM_WIDGET),
            object(widget("SSP0.OUT", SND_SOC_TPLG_DAPM_AIF_OUT)));
    w.block(v4(SND_SOC_TPLG_TYPE_DAPM_GRAPH), object(route("SSP0.OUT", "", "Media Playback")));
    w.block(v4(SND_SOC_TPLG_TYPE_PCM),
            object(pcm_v4("Media", "Media Pin", 0,
                          Caps{.name = "Media Playback", .formats = kFmtS16LE})));
    w.block(v4(SND_SOC_TPLG_TYPE_DAI_LINK),
            object(link_config_v4(3, {stream("48k", kFmtS16LE, kRate32000, 2)})));
    const auto r = build(w.bytes(), R"(be_links:
  - name: Codec
    id: 3
    playback: {stream: Codec Playback}
routes:
  - [Codec Playback, ~, SSP0.OUT]
)");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const BeLink* be = be_named(*r.card, "Codec");
    ASSERT_NE(be, nullptr);
    EXPECT_EQ(be->fixup.format, Format::S16_LE);
    EXPECT_EQ(be->fixup.rate, 32000u);
    EXPECT_EQ(be->fixup.channels, 2u);
    EXPECT_FALSE(be->dai_format.has_value());
    EXPECT_EQ(reach(*r.card, "Media", Stream::Playback), (Names{"Codec"}));
}

TEST(TopologyParse, BlockIndexVendorTypeAndVersionAreKept) {
    TplgWriter w;
    w.block(BlockHeader{.type = SND_SOC_TPLG_TYPE_DAPM_GRAPH,
                        .count = 2,
                        .index = 9,
                        .version = 4,
                        .vendor_type = 77},
            routes(2));
    const auto t = must_parse(w.bytes());
    ASSERT_EQ(t.blocks.size(), 1u);
    EXPECT_EQ(t.blocks[0].index, 9u);
    EXPECT_EQ(t.blocks[0].version, 4u);
    EXPECT_EQ(t.blocks[0].vendor_type, 77u);
    EXPECT_EQ(t.blocks[0].payload_size, 2 * kRoute);
    ASSERT_EQ(t.routes.size(), 2u);
    EXPECT_EQ(t.routes[1].index, 9u);
    EXPECT_EQ(t.routes[1].sink, "Sink 1");
    EXPECT_EQ(t.routes[1].source, "Source 1");
}

TEST(TopologyParse, ManifestTotalsThatDisagreeAreWarnings) {
    TplgWriter w;
    const size_t m = w.block(SND_SOC_TPLG_TYPE_MANIFEST, 1, object(manifest(0, 3, 2, 0, 0, 0)));
    w.block(SND_SOC_TPLG_TYPE_DAPM_WIDGET, 1, object(widget("W", SND_SOC_TPLG_DAPM_PGA)));
    w.block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 2, routes(2));
    const auto t = must_parse(w.bytes());
    ASSERT_EQ(t.warnings.size(), 1u) << joined(t.warnings);
    EXPECT_TRUE(Contains(t.warnings[0], "t.tplg: " + at(payload_at(m)) + ":"));
    EXPECT_TRUE(Contains(t.warnings[0], "the manifest counts 3 widgets, the file holds 1"));
}

TEST(TopologyParse, EnumValueControlsKeepTheirValues) {
    auto e = enum_control("Gain Mode", {"Low", "Mid", "High"}, SND_SOC_TPLG_CTL_ENUM_VALUE);
    e.values[0] = 0, e.values[1] = 4, e.values[2] = 9;
    TplgWriter w;
    w.block(SND_SOC_TPLG_TYPE_ENUM, 1, object(e));
    const auto t = must_parse(w.bytes());
    ASSERT_EQ(t.controls.size(), 1u);
    EXPECT_EQ(t.controls[0].texts, (Names{"Low", "Mid", "High"}));
    EXPECT_EQ(t.controls[0].values, (std::vector<uint32_t>{0, 4, 9}));
}

TEST(TopologyParse, MixedAbiBlocksAndHwConfigChannelMaps) {
    // The file's ABI is the highest of its blocks'; a v4 manifest may head a v5 file.
    auto hw =
        hw_config(3, SND_SOC_DAI_FORMAT_DSP_B, SND_SOC_TPLG_BCLK_CP, SND_SOC_TPLG_FSYNC_CC, 8, 32);
    hw.clock_gated = SND_SOC_TPLG_DAI_CLK_GATE_GATED;
    hw.mclk_direction = SND_SOC_TPLG_MCLK_CI;
    hw.invert_fsync = 1;
    hw.tx_channels = 2, hw.tx_chanmap[0] = 3, hw.tx_chanmap[1] = 1;
    hw.rx_channels = 1, hw.rx_chanmap[0] = 7;
    TplgWriter w;
    w.block(BlockHeader{.type = SND_SOC_TPLG_TYPE_MANIFEST, .count = 1, .abi = 4},
            object(manifest_v4(0, 0, 0, 0, 1)));
    w.block(SND_SOC_TPLG_TYPE_CODEC_LINK, 1, object(link_config(9, "Codec2Codec", {}, {hw}, 3)));
    const auto t = must_parse(w.bytes());
    EXPECT_EQ(t.abi, 5u);
    EXPECT_EQ(t.blocks[0].abi, 4u);
    EXPECT_EQ(t.manifest->abi, 4);
    EXPECT_TRUE(t.warnings.empty()) << joined(t.warnings);
    ASSERT_EQ(t.links.size(), 1u);
    EXPECT_EQ(t.links[0].block_type, uint32_t{SND_SOC_TPLG_TYPE_CODEC_LINK});
    ASSERT_EQ(t.links[0].hw_configs.size(), 1u);
    const auto& h = t.links[0].hw_configs[0];
    EXPECT_EQ(h.id, 3u);
    EXPECT_EQ(h.fmt, uint32_t{SND_SOC_DAI_FORMAT_DSP_B});
    EXPECT_EQ(h.clock_gated, SND_SOC_TPLG_DAI_CLK_GATE_GATED);
    EXPECT_EQ(h.mclk_direction, SND_SOC_TPLG_MCLK_CI);
    EXPECT_EQ(h.invert_fsync, 1);
    EXPECT_EQ(h.bclk_provider, SND_SOC_TPLG_BCLK_CP);
    EXPECT_EQ(h.fsync_provider, SND_SOC_TPLG_FSYNC_CC);
    EXPECT_EQ(h.tdm_slots, 8u);
    EXPECT_EQ(h.tx_chanmap, (std::vector<uint32_t>{3, 1}));
    EXPECT_EQ(h.rx_chanmap, (std::vector<uint32_t>{7}));
}

// =============================================================================================
// Malformed files: one test per class of error, each checking the offset and the bad value

TEST(TopologyErrors, Abi3And6AreRefusedNamingTheVersion) {
    for (uint32_t abi : {3u, 6u}) {
        TplgWriter w;
        w.block(BlockHeader{.type = SND_SOC_TPLG_TYPE_DAPM_GRAPH, .abi = abi}, routes(1));
        EXPECT_TRUE(parse_fails_at(w.bytes(), 0x4,
                                   {fmt::format("unsupported ABI version {}", abi), "4 and 5"}));
    }
    // In a later block, the offset is that block's abi field.
    TplgWriter w;
    w.block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 1, routes(1));
    const size_t second =
        w.block(BlockHeader{.type = SND_SOC_TPLG_TYPE_DAPM_GRAPH, .abi = 6}, routes(1));
    EXPECT_TRUE(parse_fails_at(w.bytes(), second + 4, {"unsupported ABI version 6", "block 1"}));
}

TEST(TopologyErrors, BadMagic) {
    TplgWriter w;
    w.block(BlockHeader{.type = SND_SOC_TPLG_TYPE_DAPM_GRAPH, .magic = 0x12345678}, routes(1));
    EXPECT_TRUE(parse_fails_at(w.bytes(), 0, {"bad magic 0x12345678", "0x41536f43"}));

    TplgWriter w2;
    w2.block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 1, routes(1));
    const size_t second =
        w2.block(BlockHeader{.type = SND_SOC_TPLG_TYPE_DAPM_GRAPH, .magic = 0}, routes(1));
    EXPECT_TRUE(parse_fails_at(w2.bytes(), second, {"bad magic 0x00000000"}));
}

TEST(TopologyErrors, BigEndianMagic) {
    TplgWriter w;
    w.block(BlockHeader{.type = SND_SOC_TPLG_TYPE_DAPM_GRAPH,
                        .magic = __builtin_bswap32(SND_SOC_TPLG_MAGIC)},
            routes(1));
    EXPECT_TRUE(parse_fails_at(w.bytes(), 0, {"big-endian", "little-endian"}));
}

TEST(TopologyErrors, EmptyAndShorterThanAHeader) {
    EXPECT_TRUE(parse_fails_at({}, 0, {"truncated: 0 bytes", "36-byte block header"}));
    TplgWriter w;
    w.block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 1, routes(1));
    const Bytes part(w.bytes().begin(), w.bytes().begin() + 20);
    EXPECT_TRUE(parse_fails_at(part, 0, {"truncated: 20 bytes"}));
}

TEST(TopologyErrors, PartialHeaderAfterTheLastBlock) {
    TplgWriter w;
    w.block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 1, routes(1));
    const size_t end = w.bytes().size();
    w.raw(Bytes{0x43, 0x6f, 0x53, 0x41, 5, 0, 0, 0, 0, 0});
    EXPECT_TRUE(parse_fails_at(
        w.bytes(), end, {"block header (36 bytes) overruns the file", "only 10 bytes are left"}));
}

TEST(TopologyErrors, PayloadSizeOverrunsTheFile) {
    TplgWriter w;
    w.block(BlockHeader{.type = SND_SOC_TPLG_TYPE_DAPM_GRAPH, .payload_size = 5000}, routes(1));
    EXPECT_TRUE(parse_fails_at(w.bytes(), 0x18,
                               {"payload size 5000 overruns the file", "132 bytes are left"}));
}

TEST(TopologyErrors, HeaderSizeMustBe36) {
    TplgWriter w;
    w.block(BlockHeader{.type = SND_SOC_TPLG_TYPE_DAPM_GRAPH, .size = 40}, routes(1));
    EXPECT_TRUE(parse_fails_at(w.bytes(), 0x10, {"block header size 40 (expected 36)"}));
}

TEST(TopologyErrors, PayloadSizeZero) {
    TplgWriter w;
    w.block(BlockHeader{.type = SND_SOC_TPLG_TYPE_DAPM_GRAPH, .count = 0}, {});
    EXPECT_TRUE(parse_fails_at(w.bytes(), 0x18, {"payload size 0"}));
}

TEST(TopologyErrors, CountZero) {
    TplgWriter w;
    w.block(BlockHeader{.type = SND_SOC_TPLG_TYPE_DAPM_GRAPH, .count = 0}, routes(1));
    EXPECT_TRUE(parse_fails_at(w.bytes(), 0x20, {"count is 0 in a route block"}));
}

TEST(TopologyErrors, CountLargerThanTheElementsPresent) {
    TplgWriter w;
    const size_t b = w.block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 3, routes(2));
    EXPECT_TRUE(parse_fails_at(w.bytes(), payload_at(b) + 2 * kRoute,
                               {"count 3 but the payload (264 bytes) ends after 2 routes"}));
}

TEST(TopologyErrors, TrailingBytesAfterTheCountedElements) {
    TplgWriter w;
    w.block(SND_SOC_TPLG_TYPE_MANIFEST, 1, object(manifest(0, 0, 0, 0, 0, 0)));
    const size_t b = w.block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 1, routes(2));
    EXPECT_TRUE(parse_fails_at(w.bytes(), payload_at(b) + kRoute,
                               {"132 trailing bytes after the block's 1 element (payload size 264)",
                                "block 1, dapm graph"}));

    // A manifest with 3 bytes too many in its payload.
    EXPECT_TRUE(
        parse_fails_at(single_block(SND_SOC_TPLG_TYPE_MANIFEST,
                                    cat({object(manifest(0, 0, 0, 0, 0, 0)), Bytes{1, 2, 3}})),
                       payload_at(0) + 112, {"3 trailing bytes"}));
}

TEST(TopologyErrors, ManifestCountMustBeOne) {
    EXPECT_TRUE(parse_fails_at(
        single_block(SND_SOC_TPLG_TYPE_MANIFEST, object(manifest(0, 0, 0, 0, 0, 0)), 2), 0x20,
        {"manifest count 2 (expected 1)"}));
}

TEST(TopologyErrors, WidgetSizeWrong) {
    auto bad = widget("Second", SND_SOC_TPLG_DAPM_PGA);
    bad.size = 99;
    TplgWriter w;
    const size_t b = w.block(SND_SOC_TPLG_TYPE_DAPM_WIDGET, 2,
                             cat({object(widget("First", SND_SOC_TPLG_DAPM_PGA)), object(bad)}));
    EXPECT_TRUE(
        parse_fails_at(w.bytes(), payload_at(b) + kWidget,
                       {"widget size 99 (expected 132)", "(block 0, dapm widget, widget 1)"}));
}

TEST(TopologyErrors, PcmSizeNeitherV4NorV5) {
    auto p = pcm("Media", "Media Pin", 0, Caps{.name = "Media Playback"});
    p.size = 100;
    TplgWriter w;
    const size_t b = w.block(SND_SOC_TPLG_TYPE_PCM, 1, object(p));
    EXPECT_TRUE(parse_fails_at(w.bytes(), payload_at(b),
                               {"PCM size 100 is neither ABI 5's 912 nor ABI 4's 892"}));
}

TEST(TopologyErrors, LinkConfigAndManifestSizesNeitherV4NorV5) {
    auto l = link_config(0, "Codec");
    l.size = 7;
    TplgWriter w;
    const size_t b = w.block(SND_SOC_TPLG_TYPE_BACKEND_LINK, 1, object(l));
    EXPECT_TRUE(parse_fails_at(w.bytes(), payload_at(b),
                               {"link config size 7 is neither ABI 5's 1656 nor ABI 4's 588"}));

    auto m = manifest(0, 0, 0, 0, 0, 0);
    m.size = 50;
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_MANIFEST, object(m)), payload_at(0),
                               {"manifest size 50 is neither ABI 5's 112 nor ABI 4's 28"}));
}

TEST(TopologyErrors, DaiAndControlSizesWrong) {
    auto d = dai("SSP0 Pin", 0, Caps{.name = "SSP0 Playback"});
    d.size = 12;
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_DAI, object(d)), payload_at(0),
                               {"DAI size 12 (expected 280)"}));

    auto m = mixer("Gain", 0, 10);
    m.size = 12;
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_MIXER, object(m)),
                               payload_at(0) + offsetof(snd_soc_tplg_mixer_control, size),
                               {"mixer control 'Gain': size 12 (expected 360)"}));

    auto h = mixer("Gain", 0, 10);
    h.hdr.size = 0;
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_MIXER, object(h)), payload_at(0),
                               {"control header size 0 (expected 204)"}));

    auto e = enum_control("Mode", {"A"});
    e.size = 1;
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_ENUM, object(e)),
                               payload_at(0) + offsetof(snd_soc_tplg_enum_control, size),
                               {"enum control 'Mode': size 1 (expected 1764)"}));

    auto hw = hw_config(1, SND_SOC_DAI_FORMAT_I2S, 0, 0);
    hw.size = 8;
    TplgWriter w5;
    w5.block(SND_SOC_TPLG_TYPE_BACKEND_LINK, 1,
             object(link_config(0, "Codec", {}, {hw_config(0, 1, 0, 0), hw}, 0)));
    EXPECT_TRUE(parse_fails_at(w5.bytes(),
                               payload_at(0) + offsetof(snd_soc_tplg_link_config, hw_config) +
                                   sizeof(snd_soc_tplg_hw_config),
                               {"hw config 1: size 8 (expected 120)"}));
}

TEST(TopologyErrors, ElementOverrunsItsBlock) {
    // A widget block whose payload holds only half a widget (the file goes on after it).
    const Bytes full = object(widget("W", SND_SOC_TPLG_DAPM_PGA));
    TplgWriter w;
    w.block(SND_SOC_TPLG_TYPE_DAPM_WIDGET, 1, Bytes(full.begin(), full.begin() + 66));
    w.block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 1, routes(1));
    EXPECT_TRUE(
        parse_fails_at(w.bytes(), payload_at(0),
                       {"widget (132 bytes) overruns its block", "only 66 bytes are left"}));
}

TEST(TopologyErrors, PrivateDataSizeOverrunsItsBlock) {
    auto wd = widget("EQ", SND_SOC_TPLG_DAPM_EFFECT);
    Bytes el = object(wd, Bytes(8, 0));
    put_u32(el, offsetof(snd_soc_tplg_dapm_widget, priv), 1000);
    TplgWriter w;
    w.block(SND_SOC_TPLG_TYPE_DAPM_WIDGET, 1, el);
    w.block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 1,
            routes(1));  // the file goes on: the limit is the block
    EXPECT_TRUE(
        parse_fails_at(w.bytes(), payload_at(0) + offsetof(snd_soc_tplg_dapm_widget, priv),
                       {"widget's private data size 1000 overruns its block", "8 bytes left"}));

    // The same on a PCM.
    Bytes pe = object(pcm("Media", "Media Pin", 0, Caps{.name = "Media Playback"}));
    put_u32(pe, offsetof(snd_soc_tplg_pcm, priv), 0xffffffff);
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_PCM, pe),
                               payload_at(0) + offsetof(snd_soc_tplg_pcm, priv),
                               {"PCM's private data size 4294967295 overruns its block"}));
}

TEST(TopologyErrors, UnterminatedWidgetName) {
    auto wd = widget("", SND_SOC_TPLG_DAPM_PGA);
    std::memset(wd.name, 'A', sizeof wd.name);
    EXPECT_TRUE(parse_fails_at(
        single_block(SND_SOC_TPLG_TYPE_DAPM_WIDGET, object(wd)), payload_at(0) + 8,
        {"widget name is not terminated within its 44 bytes", "\"AAAAAAAAAAAAAAAA...\""}));
}

TEST(TopologyErrors, UnterminatedRouteStrings) {
    auto sink = route("", "", "Src");
    std::memset(sink.sink, 'S', sizeof sink.sink);
    TplgWriter w;
    const size_t b = w.block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 2, cat({routes(1), object(sink)}));
    EXPECT_TRUE(parse_fails_at(w.bytes(), payload_at(b) + kRoute,
                               {"route sink is not terminated", "SSSS", "route 1"}));

    auto source = route("Sink", "", "");
    std::memset(source.source, 'x', sizeof source.source);
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, object(source)),
                               payload_at(0) + 88, {"route source is not terminated"}));
}

TEST(TopologyErrors, UnterminatedEnumText) {
    auto e = enum_control("Mode", {"Normal", "", "Loud"});
    std::memset(e.texts[1], 'T', sizeof e.texts[1]);
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_ENUM, object(e)),
                               payload_at(0) + offsetof(snd_soc_tplg_enum_control, texts) + 44,
                               {"enum text is not terminated", "TTTT"}));
}

TEST(TopologyErrors, UnterminatedPcmName) {
    auto p = pcm("", "Media Pin", 0, Caps{.name = "Media Playback"});
    std::memset(p.pcm_name, 'P', sizeof p.pcm_name);
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_PCM, object(p)), payload_at(0) + 4,
                               {"PCM name is not terminated", "PPPP"}));

    // And an unterminated stream caps name: the capture caps of a PCM.
    auto c =
        pcm("Media", "Media Pin", 0, Caps{.name = "Media Playback"}, Caps{.name = "Media Capture"});
    std::memset(c.caps[1].name, 'C', sizeof c.caps[1].name);
    EXPECT_TRUE(parse_fails_at(
        single_block(SND_SOC_TPLG_TYPE_PCM, object(c)),
        payload_at(0) + offsetof(snd_soc_tplg_pcm, caps) + sizeof(snd_soc_tplg_stream_caps) + 4,
        {"stream caps name is not terminated"}));
}

TEST(TopologyErrors, TooManyChannels) {
    EXPECT_TRUE(
        parse_fails_at(single_block(SND_SOC_TPLG_TYPE_MIXER, object(mixer("Big", 0, 10, 9))),
                       payload_at(0) + offsetof(snd_soc_tplg_mixer_control, num_channels),
                       {"mixer control 'Big': 9 channels (at most 8)"}));

    auto e = enum_control("Wide", {"A", "B"});
    e.num_channels = 12;
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_ENUM, object(e)),
                               payload_at(0) + offsetof(snd_soc_tplg_enum_control, num_channels),
                               {"enum control 'Wide': 12 channels (at most 8)"}));

    auto hw = hw_config(1, SND_SOC_DAI_FORMAT_I2S, 0, 0);
    hw.tx_channels = 9;
    EXPECT_TRUE(parse_fails_at(
        single_block(SND_SOC_TPLG_TYPE_BACKEND_LINK, object(link_config(0, "Codec", {}, {hw}, 1))),
        payload_at(0) + offsetof(snd_soc_tplg_link_config, hw_config),
        {"hw config 0: 9 tx / 0 rx channels (at most 8)"}));
}

TEST(TopologyErrors, TooManyEnumItemsStreamsAndHwConfigs) {
    auto e = enum_control("Many", {"A", "B"});
    e.items = 17;
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_ENUM, object(e)),
                               payload_at(0) + offsetof(snd_soc_tplg_enum_control, items),
                               {"enum control 'Many': 17 items (at most 16)"}));

    auto p = pcm("Media", "Media Pin", 0, Caps{.name = "Media Playback"});
    p.num_streams = 9;
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_PCM, object(p)),
                               payload_at(0) + offsetof(snd_soc_tplg_pcm, num_streams),
                               {"PCM: 9 stream configs (at most 8)"}));

    auto l = link_config(4, "Codec");
    l.num_hw_configs = 9;
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_BACKEND_LINK, object(l)),
                               payload_at(0) + offsetof(snd_soc_tplg_link_config, num_hw_configs),
                               {"link config 4: 9 hw configs (at most 8)"}));
}

TEST(TopologyErrors, WidgetKcontrolCountTooLarge) {
    auto wd = widget("Mixer", SND_SOC_TPLG_DAPM_MIXER);
    wd.num_kcontrols = 0xffffffff;
    EXPECT_TRUE(parse_fails_at(
        single_block(SND_SOC_TPLG_TYPE_DAPM_WIDGET, object(wd)),
        payload_at(0) + offsetof(snd_soc_tplg_dapm_widget, num_kcontrols),
        {"widget 'Mixer': 4294967295 kcontrols cannot fit in the 0 bytes left in the block"}));

    // Two kcontrols announced, one present.
    Bytes one = widget_with(widget("Mixer", SND_SOC_TPLG_DAPM_MIXER), {object(mixer("In", 0, 1))});
    put_u32(one, offsetof(snd_soc_tplg_dapm_widget, num_kcontrols), 2);
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_DAPM_WIDGET, one),
                               payload_at(0) + offsetof(snd_soc_tplg_dapm_widget, num_kcontrols),
                               {"widget 'Mixer': 2 kcontrols cannot fit in the 360 bytes left"}));
}

TEST(TopologyErrors, UnknownControlInfoOp) {
    auto m = mixer("Odd", 0, 1);
    m.hdr.ops.info = 99;
    EXPECT_TRUE(parse_fails_at(single_block(SND_SOC_TPLG_TYPE_MIXER, object(m)),
                               payload_at(0) + 0x40,
                               {"control 'Odd': unknown control type (ops.info) 99"}));

    // The same inside a widget: the offset is the kcontrol's.
    auto k = mixer("Weird", 0, 1);
    k.hdr.ops.info = 0;
    EXPECT_TRUE(parse_fails_at(
        single_block(SND_SOC_TPLG_TYPE_DAPM_WIDGET,
                     widget_with(widget("Mixer", SND_SOC_TPLG_DAPM_MIXER), {object(k)})),
        payload_at(0) + kWidget + 0x40, {"control 'Weird': unknown control type (ops.info) 0"}));
}

TEST(TopologyErrors, UnknownWidgetType) {
    EXPECT_TRUE(
        parse_fails_at(single_block(SND_SOC_TPLG_TYPE_DAPM_WIDGET, object(widget("Gizmo", 24))),
                       payload_at(0) + 4, {"widget 'Gizmo': unknown widget type 24 (0..23)"}));
    // 23 (decoder) is the last known type.
    TplgWriter ok;
    ok.block(SND_SOC_TPLG_TYPE_DAPM_WIDGET, 1, object(widget("Dec", SND_SOC_TPLG_DAPM_DECODER)));
    const auto t = must_parse(ok.bytes());
    ASSERT_EQ(t.widgets.size(), 1u);
    EXPECT_EQ(t.widgets[0].id, 23u);
}

// =============================================================================================
// Robustness: truncated and mutated files

TEST(TopologyRobustness, EveryPrefixIsAnErrorUnlessItEndsAtABlock) {
    const Sample s = sample_file();
    const Bytes& full = s.bytes;
    size_t errors = 0;
    for (size_t n = 0; n < full.size(); ++n) {
        const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        const auto r = tplg::parse_topology(prefix, "t.tplg");
        const auto boundary = std::find(s.blocks.begin(), s.blocks.end(), n);
        if (n > 0 && boundary != s.blocks.end()) {
            // A file cut between blocks is a shorter valid file; the manifest says what is missing.
            ASSERT_TRUE(r.ok()) << "prefix of " << n << " bytes: " << r.error().message();
            EXPECT_EQ(r->blocks.size(), static_cast<size_t>(boundary - s.blocks.begin()));
            EXPECT_GE(count_containing(r->warnings, {"the manifest counts"}), 1u)
                << "prefix of " << n << " bytes";
            continue;
        }
        ASSERT_FALSE(r.ok()) << "a prefix of " << n << " of " << full.size() << " bytes parsed";
        ++errors;
        const std::string& m = r.error().message();
        ASSERT_EQ(m.rfind("t.tplg: offset 0x", 0), 0u) << m;
        const auto off = offset_in(m);
        ASSERT_TRUE(off.has_value()) << m;
        EXPECT_LE(*off, n) << "the error points past the end of the file: " << m;
        EXPECT_TRUE(Contains(m, n < kHdr ? fmt::format("truncated: {} bytes", n)
                                         : std::string("overruns the file")));
    }
    EXPECT_EQ(errors, full.size() - (s.blocks.size() - 1));
}

TEST(TopologyRobustness, MutatedFilesNeverCrashTheParser) {
    const Bytes base = sample_file().bytes;
    std::mt19937 rng(0x7e57);
    size_t failed = 0, parsed = 0;
    std::vector<std::string> outside;  // errors whose offset is not in the file
    for (int i = 0; i < 4000; ++i) {
        Bytes m = base;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
            const size_t pos = rng() % m.size();
            const uint32_t how = rng() % 4;
            if (how == 0)
                m[pos] = 0x00;
            else if (how == 1)
                m[pos] = 0xff;
            else if (how == 2)
                m[pos] = static_cast<uint8_t>(m[pos] ^ (1u << (rng() % 8)));
            else
                m[pos] = static_cast<uint8_t>(rng());
        }
        const auto r = tplg::parse_topology(m, "t.tplg");
        if (r.ok()) {
            ++parsed;
            EXPECT_EQ(r->size, m.size());
            continue;
        }
        ++failed;
        const std::string& msg = r.error().message();
        ASSERT_EQ(r.code(), -EINVAL) << msg;
        ASSERT_EQ(msg.rfind("t.tplg: offset 0x", 0), 0u) << "mutation " << i << ": " << msg;
        const auto off = offset_in(msg);
        ASSERT_TRUE(off.has_value()) << msg;
        if (*off > m.size()) outside.push_back(fmt::format("mutation {}: {}", i, msg));
    }
    EXPECT_TRUE(outside.empty())
        << outside.size() << " errors name an offset outside the " << base.size()
        << "-byte file, e.g.:"
        << joined(std::vector<std::string>(
               outside.begin(), outside.begin() + std::min<ptrdiff_t>(5, std::ssize(outside))));
    // Both outcomes happen (names and reserved words take many mutations silently).
    EXPECT_GT(failed, 100u);
    EXPECT_GT(parsed, 100u);
}

TEST(TopologyRobustness, MutatedFilesNeverCrashTheCardBuilder) {
    // What parses is built into a card, with the sample's overlay: every outcome is a card or
    // errors, never a crash (run under the sanitizers, also no undefined behaviour).
    const Bytes base = sample_file().bytes;
    std::mt19937 rng(0xca4d);
    size_t built = 0, refused = 0;
    for (int i = 0; i < 1500; ++i) {
        Bytes m = base;
        const int flips = 1 + static_cast<int>(rng() % 3);
        for (int f = 0; f < flips; ++f) m[rng() % m.size()] = static_cast<uint8_t>(rng());
        const auto t = tplg::parse_topology(m, "t.tplg");
        if (!t.ok()) continue;
        const auto r = build_topology_card(*t, kSampleOverlay, "ov.yaml");
        if (r.card) {
            ++built;
            EXPECT_TRUE(r.errors.empty());
        } else {
            ++refused;
            ASSERT_FALSE(r.errors.empty()) << "mutation " << i << ": no card and no error";
        }
    }
    EXPECT_GT(built, 100u);
    EXPECT_GT(refused, 10u);
}

// =============================================================================================
// Vendor blocks and private data

TEST(TopologyVendor, VendorAndUnknownBlocksAreKeptAndWarned) {
    TplgWriter w;
    w.block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 1, routes(1));
    const size_t fw = w.block(BlockHeader{.type = SND_SOC_TPLG_TYPE_VENDOR_FW,
                                          .count = 1,
                                          .index = 3,
                                          .version = 2,
                                          .vendor_type = 7},
                              Bytes{1, 2, 3});
    const size_t odd = w.block(BlockHeader{.type = 99, .count = 0}, Bytes(8, 0xee));
    w.block(SND_SOC_TPLG_TYPE_DAPM_GRAPH, 1, routes(1));
    const auto t = must_parse(w.bytes());

    ASSERT_EQ(t.opaque.size(), 2u);
    EXPECT_EQ(t.opaque[0].offset, fw);
    EXPECT_EQ(t.opaque[0].type, 1000u);
    EXPECT_EQ(t.opaque[0].vendor_type, 7u);
    EXPECT_EQ(t.opaque[0].version, 2u);
    EXPECT_EQ(t.opaque[0].index, 3u);
    EXPECT_EQ(t.opaque[0].payload, (Bytes{1, 2, 3}));
    EXPECT_EQ(t.opaque[1].offset, odd);
    EXPECT_EQ(t.opaque[1].type, 99u);
    EXPECT_EQ(t.opaque[1].payload, Bytes(8, 0xee));
    // The blocks around them are read.
    EXPECT_EQ(t.routes.size(), 2u);
    EXPECT_EQ(t.blocks.size(), 4u);

    ASSERT_EQ(t.warnings.size(), 2u) << joined(t.warnings);
    EXPECT_TRUE(Contains(t.warnings[0], "t.tplg: " + at(fw) + ":"));
    EXPECT_TRUE(Contains(
        t.warnings[0],
        "vendor firmware block (type 1000, vendor type 7) of 3 bytes kept, not interpreted"));
    EXPECT_TRUE(Contains(t.warnings[1], "t.tplg: " + at(odd) + ":"));
    EXPECT_TRUE(Contains(t.warnings[1], "unknown block (type 99, vendor type 0) of 8 bytes"));

    // The card built from it carries the same warnings.
    const auto c = build_topology_card(t, {}, {});
    EXPECT_EQ(count_containing(c.warnings, {"vendor firmware block", at(fw)}), 1u)
        << joined(c.warnings);
}

TEST(TopologyVendor, VendorArraysYieldTuples) {
    const std::array<uint8_t, 16> uuid{0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
                                       0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    const Bytes priv = VendorArrays()
                           .words({{100, 1}, {101, 0xdeadbeef}})
                           .strings({{102, "eq-iir"}})
                           .uuids({{103, uuid}})
                           .values(SND_SOC_TPLG_TUPLE_TYPE_SHORT, {{104, 7}})
                           .values(SND_SOC_TPLG_TUPLE_TYPE_BOOL, {{105, 1}})
                           .bytes();
    ASSERT_EQ(priv.size(), (12 + 16) + (12 + 48) + (12 + 20) + (12 + 8) + (12 + 8));
    TplgWriter w;
    const size_t b = w.block(SND_SOC_TPLG_TYPE_DAPM_WIDGET, 1,
                             widget_with(widget("EQ", SND_SOC_TPLG_DAPM_EFFECT), {}, priv));
    const auto t = must_parse(w.bytes());
    ASSERT_EQ(t.widgets.size(), 1u);
    const auto& p = t.widgets[0].priv;
    EXPECT_EQ(p.offset, payload_at(b) + kWidget);
    EXPECT_EQ(p.bytes, priv);
    ASSERT_EQ(p.tuples.size(), 6u);
    EXPECT_EQ(p.tuples[0].type, uint32_t{SND_SOC_TPLG_TUPLE_TYPE_WORD});
    EXPECT_EQ(p.tuples[0].token, 100u);
    EXPECT_EQ(p.tuples[0].value, 1u);
    EXPECT_EQ(p.tuples[1].token, 101u);
    EXPECT_EQ(p.tuples[1].value, 0xdeadbeefu);
    EXPECT_EQ(p.tuples[2].type, uint32_t{SND_SOC_TPLG_TUPLE_TYPE_STRING});
    EXPECT_EQ(p.tuples[2].token, 102u);
    EXPECT_EQ(p.tuples[2].string, "eq-iir");
    EXPECT_EQ(p.tuples[3].type, uint32_t{SND_SOC_TPLG_TUPLE_TYPE_UUID});
    EXPECT_EQ(p.tuples[3].token, 103u);
    EXPECT_EQ(p.tuples[3].uuid, uuid);
    EXPECT_EQ(p.tuples[4].type, uint32_t{SND_SOC_TPLG_TUPLE_TYPE_SHORT});
    EXPECT_EQ(p.tuples[4].value, 7u);
    EXPECT_EQ(p.tuples[5].type, uint32_t{SND_SOC_TPLG_TUPLE_TYPE_BOOL});
    EXPECT_EQ(p.tuples[5].token, 105u);

    // The card notes that private data is there, and how much: information, not a warning.
    const auto c = build_topology_card(t, {}, {});
    EXPECT_EQ(
        count_containing(c.notes, {"1 object carries vendor-private data",
                                   fmt::format("({} bytes, 6 vendor tuples)", priv.size())}),
        1u)
        << joined(c.notes);
    EXPECT_EQ(count_containing(c.warnings, {"vendor-private data"}), 0u) << joined(c.warnings);
}

TEST(TopologyVendor, PrivateDataThatIsNotVendorArraysIsKeptAsBytes) {
    // Free-form bytes, a vendor array whose size disagrees with its elements, and good arrays
    // followed by stray bytes: all kept as bytes, none read as tuples.
    const Bytes good = VendorArrays().words({{1, 2}}).bytes();
    Bytes bad_size = good;
    put_u32(bad_size, 0, 24);
    Bytes stray = good;
    append(stray, Bytes{0, 0, 0});
    Bytes bad_type = good;
    put_u32(bad_type, 4, 6);
    for (const Bytes& priv : {Bytes{'D', 'S', 'P', '1'}, bad_size, stray, bad_type}) {
        TplgWriter w;
        w.block(SND_SOC_TPLG_TYPE_MIXER, 1, object(mixer("Gain", 0, 10), priv));
        const auto t = must_parse(w.bytes());
        ASSERT_EQ(t.controls.size(), 1u);
        EXPECT_EQ(t.controls[0].priv.bytes, priv);
        EXPECT_TRUE(t.controls[0].priv.tuples.empty());
    }
    // The good array alone does give its tuple.
    TplgWriter w;
    w.block(SND_SOC_TPLG_TYPE_MIXER, 1, object(mixer("Gain", 0, 10), good));
    const auto t = must_parse(w.bytes());
    ASSERT_EQ(t.controls.size(), 1u);
    ASSERT_EQ(t.controls[0].priv.tuples.size(), 1u);
    EXPECT_EQ(t.controls[0].priv.tuples[0].token, 1u);
    EXPECT_EQ(t.controls[0].priv.tuples[0].value, 2u);
}

TEST(TopologyVendor, PrivateDataOnEveryKindOfObject) {
    const Bytes pd{9, 8, 7};
    TplgWriter w;
    w.block(SND_SOC_TPLG_TYPE_MANIFEST, 1, object(manifest(3, 1, 0, 1, 1, 1), pd));
    w.block(SND_SOC_TPLG_TYPE_ENUM, 1, object(enum_control("Mode", {"A", "B"}), pd));
    w.block(SND_SOC_TPLG_TYPE_BYTES, 1, object(bytes_control("Blob", 4), pd));
    w.block(
        SND_SOC_TPLG_TYPE_DAPM_WIDGET, 1,
        widget_with(widget("Mix", SND_SOC_TPLG_DAPM_MIXER), {object(mixer("In", 0, 1), pd)}, pd));
    w.block(SND_SOC_TPLG_TYPE_PCM, 1,
            object(pcm("Media", "Media Pin", 0, Caps{.name = "Media Playback"}), pd));
    w.block(SND_SOC_TPLG_TYPE_BACKEND_LINK, 1, object(link_config(0, "Codec"), pd));
    w.block(SND_SOC_TPLG_TYPE_DAI, 1,
            object(dai("SSP0 Pin", 0, Caps{.name = "SSP0 Playback"}), pd));
    const auto t = must_parse(w.bytes());
    EXPECT_TRUE(t.warnings.empty()) << joined(t.warnings);
    ASSERT_TRUE(t.manifest);
    EXPECT_EQ(t.manifest->priv.bytes, pd);
    ASSERT_EQ(t.controls.size(), 2u);
    EXPECT_EQ(t.controls[0].priv.bytes, pd);
    EXPECT_EQ(t.controls[1].priv.bytes, pd);
    ASSERT_EQ(t.widgets.size(), 1u);
    EXPECT_EQ(t.widgets[0].priv.bytes, pd);
    ASSERT_EQ(t.widgets[0].kcontrols.size(), 1u);
    EXPECT_EQ(t.widgets[0].kcontrols[0].priv.bytes, pd);
    EXPECT_EQ(t.widgets[0].kcontrols[0].offset, t.widgets[0].offset + kWidget + 3);
    ASSERT_EQ(t.pcms.size(), 1u);
    EXPECT_EQ(t.pcms[0].priv.bytes, pd);
    ASSERT_EQ(t.links.size(), 1u);
    EXPECT_EQ(t.links[0].priv.bytes, pd);
    ASSERT_EQ(t.dais.size(), 1u);
    EXPECT_EQ(t.dais[0].priv.bytes, pd);
    const auto s = t.private_summary();
    EXPECT_EQ(s.objects, 8u);
    EXPECT_EQ(s.bytes, 24u);
    EXPECT_EQ(s.tuples, 0u);
}

// =============================================================================================
// Names

TEST(TopologyNames, BlockWidgetAndFormatNamesAndRates) {
    EXPECT_STREQ(tplg::block_type_name(SND_SOC_TPLG_TYPE_DAPM_WIDGET), "dapm widget");
    EXPECT_STREQ(tplg::block_type_name(SND_SOC_TPLG_TYPE_BACKEND_LINK), "backend link");
    EXPECT_STREQ(tplg::block_type_name(SND_SOC_TPLG_TYPE_VENDOR_FW), "vendor firmware");
    EXPECT_STREQ(tplg::block_type_name(99), "unknown");
    EXPECT_STREQ(tplg::widget_id_name(SND_SOC_TPLG_DAPM_MUX), "mux");
    EXPECT_STREQ(tplg::widget_id_name(SND_SOC_TPLG_DAPM_AIF_IN), "aif_in");
    EXPECT_STREQ(tplg::widget_id_name(SND_SOC_TPLG_DAPM_DECODER), "decoder");
    EXPECT_STREQ(tplg::widget_id_name(24), "unknown");
    EXPECT_STREQ(tplg::dai_format_name(SND_SOC_DAI_FORMAT_I2S), "I2S");
    EXPECT_STREQ(tplg::dai_format_name(SND_SOC_DAI_FORMAT_DSP_A), "DSP_A");
    EXPECT_STREQ(tplg::dai_format_name(SND_SOC_DAI_FORMAT_PDM), "PDM");
    EXPECT_STREQ(tplg::dai_format_name(0), "unknown");
    EXPECT_EQ(tplg::rates_of(kRate8000 | kRate44100 | kRate48000 | kRate192000),
              (std::vector<uint32_t>{8000, 44100, 48000, 192000}));
    EXPECT_EQ(tplg::rates_of(1u << 0 | 1u << 14), (std::vector<uint32_t>{5512, 384000}));
    EXPECT_TRUE(tplg::rates_of(1u << 30).empty());  // SNDRV_PCM_RATE_CONTINUOUS
}

// =============================================================================================
// Building a card: controls, widgets, PCMs, link and DAI configs, the graph

struct Blk {
    uint32_t type;
    uint32_t count;
    Bytes payload;
};

/// A file of ABI 5 blocks.
Bytes file_of(std::initializer_list<Blk> blocks) {
    TplgWriter w;
    for (const auto& b : blocks) w.block(b.type, b.count, b.payload);
    return w.bytes();
}

/// Offset of the first element of block `i` in a file made by file_of.
size_t element_at(const Bytes& file, size_t i) {
    size_t pos = 0;
    for (size_t k = 0; k < i; ++k)
        pos += kHdr + get_u32(file, pos + offsetof(snd_soc_tplg_hdr, payload_size));
    return payload_at(pos);
}

const Control* control(const CardLoad& r, std::string_view name) {
    if (!r.card) return nullptr;
    const Control* c = r.card->find_control(name);
    if (!c) ADD_FAILURE() << "no control '" << name << "'";
    return c;
}

/// A playback PCM whose caps are `caps` (the FE "Media"), for the caps tests.
Bytes media_pcm(const Caps& caps) {
    return object(pcm("Media", "Media Pin", 0, caps));
}

TEST(TopologyCard, SampleBuildsWithItsOverlay) {
    const auto r = build(sample_file().bytes, kSampleOverlay);
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const Card& card = *r.card;
    EXPECT_EQ(card.name(), "sample");
    EXPECT_EQ(card.fe_links().size(), 2u);
    EXPECT_EQ(card.be_links().size(), 3u);
    // The FE DAI widgets are named by the PCM caps, and the topology's routes reach them.
    EXPECT_TRUE(card.graph().find("Media Playback").has_value());
    EXPECT_TRUE(card.graph().find("Voice Playback").has_value());
    EXPECT_TRUE(card.graph().find("Capture").has_value());
    EXPECT_FALSE(card.graph().find("Media").has_value());

    // Playback: the mixer input decides.
    EXPECT_EQ(reach(card, "Media", Stream::Playback), Names{});
    EXPECT_EQ(reach(card, "Voice", Stream::Playback), Names{});
    ASSERT_TRUE(is_ok(r.card->put("Mixer Media", "on")));
    EXPECT_EQ(reach(card, "Media", Stream::Playback), (Names{"Speaker"}));
    EXPECT_EQ(reach(card, "Voice", Stream::Playback), Names{});

    // Capture: the mux. Its enum kcontrol takes the widget's name, as the kernel names a mux's
    // control (dapm_create_or_share_kcontrol), not the kcontrol's own name.
    EXPECT_EQ(card.find_control("Capture Source"), nullptr);
    const Control* src = card.find_control("Capture Mux");
    ASSERT_NE(src, nullptr);
    EXPECT_EQ(src->info.type, CtlType::Enumerated);
    EXPECT_EQ(src->info.items, (Names{"Line", "Mic"}));
    EXPECT_EQ(src->role, CtlRole::Mux);
    EXPECT_EQ(reach(card, "Voice", Stream::Capture), (Names{"Line"}));
    ASSERT_TRUE(is_ok(r.card->put("Capture Mux", "Mic")));
    EXPECT_EQ(reach(card, "Voice", Stream::Capture), (Names{"DMIC"}));

    // The BE Speaker: DAI format from the link config's hw config, fixup from its stream
    // config, playback caps from the SSP0 Pin DAI config.
    const BeLink* spk = be_named(card, "Speaker");
    ASSERT_NE(spk, nullptr);
    ASSERT_TRUE(spk->dai_format.has_value());
    EXPECT_EQ(spk->dai_format->format, "I2S");
    EXPECT_FALSE(spk->dai_format->codec_bclk_provider);
    EXPECT_FALSE(spk->dai_format->codec_fsync_provider);
    EXPECT_EQ(spk->dai_format->tdm_slots, 2u);
    EXPECT_EQ(spk->dai_format->tdm_slot_width, 32u);
    EXPECT_EQ(spk->fixup.format, Format::S24_LE);
    EXPECT_EQ(spk->fixup.rate, 48000u);
    EXPECT_EQ(spk->fixup.channels, 2u);
    ASSERT_TRUE(spk->playback.has_value());
    EXPECT_EQ(spk->playback->formats, fmts({Format::S16_LE, Format::S24_LE}));
    EXPECT_EQ(spk->playback->rate_list, (std::vector<uint32_t>{48000}));
    EXPECT_EQ(spk->playback->channels, (Interval{2, 2}));
    const BeLink* line = be_named(card, "Line");
    ASSERT_NE(line, nullptr);
    EXPECT_FALSE(line->dai_format.has_value());
    EXPECT_FALSE(line->fixup.rate.has_value());

    // Every config matched; the private data is reported.
    EXPECT_EQ(count_containing(r.warnings, {"matches no BE link"}), 0u) << joined(r.warnings);
    EXPECT_EQ(count_containing(r.notes, {"3 objects carry vendor-private data (108 bytes, 3 vendor tuples)"}), 1u)
        << joined(r.notes);
}

TEST(TopologyCard, ControlsWithoutWriteAccessAreReadOnly) {
    auto meter = mixer("DSP Load", 0, 100);
    meter.hdr.access = SNDRV_CTL_ELEM_ACCESS_READ | SNDRV_CTL_ELEM_ACCESS_VOLATILE;
    auto zero = mixer("Legacy Gain", 0, 100);
    zero.hdr.access = 0;  // snd_ctl_new1 reads 0 as read-write
    const auto r = build(file_of({{SND_SOC_TPLG_TYPE_MIXER, 3,
                                   cat({object(meter), object(zero), object(mixer("Gain", 0, 100))})}}));
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    EXPECT_TRUE(control(r, "DSP Load")->info.read_only);
    EXPECT_FALSE(control(r, "Legacy Gain")->info.read_only);
    EXPECT_FALSE(control(r, "Gain")->info.read_only);
    auto put = r.card->put("DSP Load", "50");
    ASSERT_FALSE(put);
    EXPECT_EQ(put.error().code(), -EPERM);
    EXPECT_EQ(put.error().message(), "control 'DSP Load' is read-only");
    EXPECT_EQ(r.card->find_control("DSP Load")->value, std::vector<int64_t>{0});
    EXPECT_TRUE(r.card->put("Legacy Gain", "50").ok());
}

TEST(TopologyCard, MixerControlTypes) {
    auto vol = mixer("Master Playback Volume", 0, 31, 2);
    db_scale(vol.hdr, -9000, 300, true);
    auto sw_db = mixer("Loud Switch", 0, 1);
    db_scale(sw_db.hdr, -600, 600, false);
    auto limited = mixer("Limited Gain", 0, 100);
    limited.platform_max = 50;
    const Bytes f = file_of({{SND_SOC_TPLG_TYPE_MIXER, 5,
                              cat({object(vol), object(sw_db), object(mixer("Boost Volume", 0, 1)),
                                   object(mixer("Trim", 10, 40)), object(limited)})}});
    const auto r = build(f);
    ASSERT_TRUE(r.ok()) << joined(r.errors);

    const Control* v = control(r, "Master Playback Volume");
    expect_volume(v, 31, 2u, -9000, 300, true);
    EXPECT_DOUBLE_EQ(*v->db_at(31), 3.0);
    EXPECT_DOUBLE_EQ(*v->db_at(1), -87.0);

    // max 1: a switch, without a dB scale even when the file gives one.
    const Control* s = control(r, "Loud Switch");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->info.type, CtlType::Boolean);
    EXPECT_EQ(s->info.max, 1);
    EXPECT_FALSE(s->info.db.has_value());

    // ... unless its name says Volume (snd_soc_info_volsw).
    const Control* b = control(r, "Boost Volume");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->info.type, CtlType::Integer);
    EXPECT_EQ(b->info.max, 1);

    // min..max is reported as 0..max-min; platform_max caps max.
    const Control* t = control(r, "Trim");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->info.type, CtlType::Integer);
    EXPECT_EQ(t->info.min, 0);
    EXPECT_EQ(t->info.max, 30);
    const Control* l = control(r, "Limited Gain");
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->info.max, 50);
}

TEST(TopologyCard, MixerMaxBelowMinIsAnError) {
    const Bytes f =
        file_of({{SND_SOC_TPLG_TYPE_MIXER, 2,
                  cat({object(mixer("Fine", 0, 3)), object(mixer("Backwards", 5, 2))})}});
    const auto r = build(f);
    EXPECT_EQ(r.card, nullptr);
    ASSERT_EQ(r.errors.size(), 1u) << joined(r.errors);
    EXPECT_TRUE(Contains(r.errors[0], "t.tplg: " + at(element_at(f, 0) + 360) + ":"));
    EXPECT_TRUE(Contains(r.errors[0], "mixer control 'Backwards': max 2 is below min 5"));
}

TEST(TopologyCard, MixerRangeWiderThanInt32) {
    // min INT32_MIN, max INT32_MAX: the range 0..4294967295 does not fit an int32_t. The card
    // must either give the control that range or refuse it naming the bad value; it must not
    // compute max - min in 32-bit signed arithmetic (undefined behaviour; wraps to -1 in
    // practice, and UBSan aborts).
    const Bytes f =
        file_of({{SND_SOC_TPLG_TYPE_MIXER, 1, object(mixer("Wide Volume", INT32_MIN, INT32_MAX))}});
    const auto r = build(f);
    if (r.card) {
        const Control* c = control(r, "Wide Volume");
        ASSERT_NE(c, nullptr);
        EXPECT_EQ(c->info.min, 0);
        EXPECT_EQ(c->info.max, int64_t{4294967295});
    } else {
        ASSERT_EQ(r.errors.size(), 1u) << joined(r.errors);
        EXPECT_TRUE(Contains(r.errors[0], "t.tplg: " + at(element_at(f, 0)) + ":"));
        EXPECT_TRUE(Contains(r.errors[0], "Wide Volume"));
        EXPECT_TRUE(Contains(r.errors[0], "-2147483648"));
    }
}

TEST(TopologyCard, EnumTextsBecomeItems) {
    const Bytes f = file_of(
        {{SND_SOC_TPLG_TYPE_ENUM, 1, object(enum_control("Mode", {"Normal", "Night", "Loud"}))}});
    const auto r = build(f);
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const Control* m = control(r, "Mode");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->info.type, CtlType::Enumerated);
    EXPECT_EQ(m->info.items, (Names{"Normal", "Night", "Loud"}));
    EXPECT_EQ(m->info.max, 2);
    EXPECT_EQ(m->value, (std::vector<int64_t>{0}));
    ASSERT_TRUE(is_ok(r.card->put("Mode", "Loud")));
    EXPECT_EQ(r.card->find_control("Mode")->value, (std::vector<int64_t>{2}));

    // An enum without texts is refused, at its offset.
    const Bytes empty = file_of({{SND_SOC_TPLG_TYPE_ENUM, 1, object(enum_control("Empty", {}))}});
    const auto e = build(empty);
    EXPECT_EQ(e.card, nullptr);
    ASSERT_EQ(e.errors.size(), 1u) << joined(e.errors);
    EXPECT_TRUE(Contains(e.errors[0], "t.tplg: " + at(element_at(empty, 0)) +
                                          ": enum control 'Empty' has no texts"));
}

TEST(TopologyCard, BytesControls) {
    const Bytes f = file_of({{SND_SOC_TPLG_TYPE_BYTES, 2,
                              cat({object(bytes_control("Coefficients", 64)),
                                   object(bytes_control("Firmware Blob", 4096))})}});
    const auto r = build(f);
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const Control* c = control(r, "Coefficients");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->info.type, CtlType::Bytes);
    EXPECT_EQ(c->info.count, 64u);
    const Control* big = control(r, "Firmware Blob");
    ASSERT_NE(big, nullptr);
    EXPECT_EQ(big->info.count, 512u);
    EXPECT_EQ(count_containing(r.warnings,
                               {at(element_at(f, 0) + 240), "'Firmware Blob' holds 4096 bytes"}),
              1u)
        << joined(r.warnings);

    const Bytes zero = file_of({{SND_SOC_TPLG_TYPE_BYTES, 1, object(bytes_control("Nothing", 0))}});
    const auto z = build(zero);
    EXPECT_EQ(z.card, nullptr);
    ASSERT_EQ(z.errors.size(), 1u) << joined(z.errors);
    EXPECT_TRUE(
        Contains(z.errors[0], at(element_at(zero, 0)) + ": bytes control 'Nothing': max 0 bytes"));
}

TEST(TopologyCard, PcmCapsBecomeFeStreams) {
    const Caps play{.name = "Media Playback",
                    .formats = kFmtS16LE | kFmtS24LE | kFmtS32LE,
                    .rates = kRate16000 | kRate44100 | kRate48000 | kRate96000,
                    .rate_min = 44100,
                    .rate_max = 48000,
                    .channels_min = 1,
                    .channels_max = 2};
    // Continuous rates: the range, no list.
    const Caps cap{.name = "Media Capture",
                   .rates = 1u << 30,
                   .rate_min = 8000,
                   .rate_max = 96000,
                   .channels_min = 1,
                   .channels_max = 6};
    // No rate bits: the range alone.
    const Caps voice{.name = "Voice Playback",
                     .rates = 0,
                     .rate_min = 8000,
                     .rate_max = 16000,
                     .channels_min = 1,
                     .channels_max = 1};
    // No PCM name: the FE is named by its DAI.
    const Bytes f = file_of({{SND_SOC_TPLG_TYPE_PCM, 2,
                              cat({object(pcm("Media", "Media Pin", 0, play, cap)),
                                   object(pcm("", "Voice Pin", 1, voice))})}});
    const auto r = build(f);
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const FeLink* fe = fe_named(*r.card, "Media");
    ASSERT_NE(fe, nullptr);
    // soc_tplg_fe_link_create leaves the trigger order zeroed: SND_SOC_DPCM_TRIGGER_PRE.
    EXPECT_EQ(fe->trigger[0], TriggerOrder::Pre);
    EXPECT_EQ(fe->trigger[1], TriggerOrder::Pre);
    ASSERT_TRUE(fe->playback.has_value());
    EXPECT_EQ(fe->playback->stream_name, "Media Playback");
    EXPECT_EQ(fe->playback->formats, fmts({Format::S16_LE, Format::S24_LE, Format::S32_LE}));
    EXPECT_EQ(fe->playback->rate_list, (std::vector<uint32_t>{44100, 48000}));
    EXPECT_EQ(fe->playback->rates, (Interval{44100, 48000}));
    EXPECT_EQ(fe->playback->channels, (Interval{1, 2}));
    ASSERT_TRUE(fe->capture.has_value());
    EXPECT_EQ(fe->capture->stream_name, "Media Capture");
    EXPECT_EQ(fe->capture->formats, fmts({Format::S16_LE}));
    EXPECT_TRUE(fe->capture->rate_list.empty());
    EXPECT_EQ(fe->capture->rates, (Interval{8000, 96000}));
    EXPECT_EQ(fe->capture->channels, (Interval{1, 6}));

    const FeLink* v = fe_named(*r.card, "Voice Pin");
    ASSERT_NE(v, nullptr);
    ASSERT_TRUE(v->playback.has_value());
    EXPECT_FALSE(v->capture.has_value());
    EXPECT_TRUE(v->playback->rate_list.empty());
    EXPECT_EQ(v->playback->rates, (Interval{8000, 16000}));
    EXPECT_EQ(v->playback->channels, (Interval{1, 1}));
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(TopologyCard, UnknownFormatBitsAreWarnedAndLeftOut) {
    const Bytes f =
        file_of({{SND_SOC_TPLG_TYPE_PCM, 1,
                  media_pcm(Caps{.name = "Media Playback", .formats = kFmtS16LE | kFmtMuLaw})}});
    const auto r = build(f);
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const FeLink* fe = fe_named(*r.card, "Media");
    ASSERT_NE(fe, nullptr);
    EXPECT_EQ(fe->playback->formats, fmts({Format::S16_LE}));
    EXPECT_EQ(count_containing(r.warnings,
                               {"t.tplg: " + at(element_at(f, 0)) + ":",
                                "PCM 'Media' playback: ALSA format 20 not supported by dynpcm"}),
              1u)
        << joined(r.warnings);
}

TEST(TopologyCard, PcmCapsWithoutChannelsOrFormatsAreErrors) {
    const Bytes f = file_of(
        {{SND_SOC_TPLG_TYPE_PCM, 4,
          cat({object(pcm("NoChannels", "A", 0,
                          Caps{.name = "A Playback", .channels_min = 0, .channels_max = 0})),
               object(pcm("NoFormats", "B", 1, Caps{.name = "B Playback", .formats = 0})),
               object(pcm("OnlyMuLaw", "C", 2, std::nullopt,
                          Caps{.name = "C Capture", .formats = kFmtMuLaw})),
               object(pcm("Idle", "D", 3, std::nullopt))})}});
    const size_t p0 = element_at(f, 0);
    const size_t n = wire_size<snd_soc_tplg_pcm>();
    const auto r = build(f);
    EXPECT_EQ(r.card, nullptr);
    ASSERT_EQ(r.errors.size(), 4u) << joined(r.errors);
    EXPECT_TRUE(
        Contains(r.errors[0],
                 "t.tplg: " + at(p0) + ": PCM 'NoChannels' playback: channels 0..0 is no range"));
    EXPECT_TRUE(Contains(
        r.errors[1], "t.tplg: " + at(p0 + n) +
                         ": PCM 'NoFormats' playback: no format dynpcm supports (formats 0x0)"));
    EXPECT_TRUE(
        Contains(r.errors[2],
                 "t.tplg: " + at(p0 + 2 * n) +
                     ": PCM 'OnlyMuLaw' capture: no format dynpcm supports (formats 0x100000)"));
    EXPECT_TRUE(Contains(r.errors[3], "t.tplg: " + at(p0 + 3 * n) +
                                          ": PCM 'Idle' has neither playback nor capture"));
}

TEST(TopologyCard, RateBitsOutsideTheRangeLeaveNoRate) {
    // The caps allow only 8 kHz (rates) and only 44.1..48 kHz (rate_min..rate_max): nothing
    // satisfies both, so the PCM has no rate. Treating the empty intersection like "no rate
    // bits" turns it into a continuous 44.1..48 kHz range the rate bits exclude.
    const Bytes f = file_of({{SND_SOC_TPLG_TYPE_PCM, 1,
                              media_pcm(Caps{.name = "Media Playback",
                                             .rates = kRate8000,
                                             .rate_min = 44100,
                                             .rate_max = 48000})}});
    const auto r = build(f);
    if (r.card) {
        const FeLink* fe = fe_named(*r.card, "Media");
        ASSERT_NE(fe, nullptr);
        ADD_FAILURE() << "PCM 'Media' playback accepts rates " << fe->playback->rates.to_string()
                      << " (list of " << fe->playback->rate_list.size()
                      << "), but its rate bits allow only 8000 Hz";
        return;
    }
    ASSERT_EQ(r.errors.size(), 1u) << joined(r.errors);
    EXPECT_TRUE(
        Contains(r.errors[0], "t.tplg: " + at(element_at(f, 0)) + ": PCM 'Media' playback"));
    EXPECT_TRUE(Contains(r.errors[0], "rate"));
}

TEST(TopologyCard, LinkConfigStreamConfigSetsTheFixupTheOverlayLeavesOpen) {
    const Bytes f =
        file_of({{SND_SOC_TPLG_TYPE_BACKEND_LINK, 3,
                  cat({object(link_config(0, "Open", {stream("cfg0", kFmtS24LE, kRate48000, 2)})),
                       object(link_config(1, "Set", {stream("cfg1", kFmtS24LE, kRate48000, 2)})),
                       object(link_config(
                           2, "Partial",
                           {stream("first", kFmtS32LE | kFmtS16LE, kRate96000 | kRate192000, 4),
                            stream("second", kFmtS16LE, kRate8000, 1)}))})}});
    const auto r = build(f, R"(be_links:
  - name: Open
    playback: {stream: Open Playback}
  - name: Set
    playback: {stream: Set Playback}
    fixup: {rate: 44100, channels: 1, format: S16_LE}
  - name: Partial
    playback: {stream: Partial Playback}
    fixup: {channels: 6}
)");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const BeLink* open = be_named(*r.card, "Open");
    ASSERT_NE(open, nullptr);
    EXPECT_EQ(open->id, 0u);  // by position
    EXPECT_EQ(open->fixup.format, Format::S24_LE);
    EXPECT_EQ(open->fixup.rate, 48000u);
    EXPECT_EQ(open->fixup.channels, 2u);
    const BeLink* set = be_named(*r.card, "Set");
    ASSERT_NE(set, nullptr);
    EXPECT_EQ(set->fixup.format, Format::S16_LE);
    EXPECT_EQ(set->fixup.rate, 44100u);
    EXPECT_EQ(set->fixup.channels, 1u);
    // The first stream config; its lowest format and rate; the overlay's channels.
    const BeLink* part = be_named(*r.card, "Partial");
    ASSERT_NE(part, nullptr);
    EXPECT_EQ(part->fixup.format, Format::S16_LE);
    EXPECT_EQ(part->fixup.rate, 96000u);
    EXPECT_EQ(part->fixup.channels, 6u);
    EXPECT_EQ(
        count_containing(
            r.warnings,
            {at(element_at(f, 0) + 2 * wire_size<snd_soc_tplg_link_config>()),
             "link config 2 'Partial': 2 stream configs; the BE starts at the first ('first')"}),
        1u)
        << joined(r.warnings);
    // No hw config: no DAI format.
    EXPECT_FALSE(open->dai_format.has_value());
}

TEST(TopologyCard, DefaultHwConfigBecomesTheDaiFormat) {
    auto dsp =
        hw_config(2, SND_SOC_DAI_FORMAT_DSP_A, SND_SOC_TPLG_BCLK_CC, SND_SOC_TPLG_FSYNC_CP, 4, 16);
    dsp.mclk_rate = 12288000, dsp.bclk_rate = 3072000, dsp.fsync_rate = 48000;
    dsp.invert_bclk = 1;
    dsp.tx_slots = 0x3, dsp.rx_slots = 0xc;
    const Bytes f =
        file_of({{SND_SOC_TPLG_TYPE_BACKEND_LINK, 2,
                  cat({object(link_config(0, "Codec", {},
                                          {hw_config(1, SND_SOC_DAI_FORMAT_I2S, 0, 0), dsp}, 2)),
                       object(link_config(1, "Modem", {},
                                          {hw_config(5, SND_SOC_DAI_FORMAT_LEFT_J, 0, 0, 2, 24),
                                           hw_config(6, SND_SOC_DAI_FORMAT_PDM, 1, 1)},
                                          9))})}});
    const auto r = build(f, R"(be_links:
  - name: Codec
    playback: {stream: Codec Playback}
  - name: Modem
    capture: {stream: Modem Capture}
  - name: Other
    id: 7
    capture: {stream: Other Capture}
)");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const BeLink* codec = be_named(*r.card, "Codec");
    ASSERT_NE(codec, nullptr);
    ASSERT_TRUE(codec->dai_format.has_value());
    const DaiFormat& d = *codec->dai_format;
    EXPECT_EQ(d.format, "DSP_A");
    EXPECT_FALSE(d.codec_bclk_provider);
    EXPECT_TRUE(d.codec_fsync_provider);
    EXPECT_TRUE(d.invert_bclk);
    EXPECT_FALSE(d.invert_fsync);
    EXPECT_EQ(d.mclk_rate, 12288000u);
    EXPECT_EQ(d.bclk_rate, 3072000u);
    EXPECT_EQ(d.fsync_rate, 48000u);
    EXPECT_EQ(d.tdm_slots, 4u);
    EXPECT_EQ(d.tdm_slot_width, 16u);
    EXPECT_EQ(d.tx_slots, 0x3u);
    EXPECT_EQ(d.rx_slots, 0xcu);
    // default_hw_config_id 9 names none: the first.
    const BeLink* modem = be_named(*r.card, "Modem");
    ASSERT_NE(modem, nullptr);
    ASSERT_TRUE(modem->dai_format.has_value());
    EXPECT_EQ(modem->dai_format->format, "LEFT_J");
    EXPECT_TRUE(modem->dai_format->codec_bclk_provider);
    EXPECT_EQ(modem->dai_format->tdm_slot_width, 24u);
    const BeLink* other = be_named(*r.card, "Other");
    ASSERT_NE(other, nullptr);
    EXPECT_FALSE(other->dai_format.has_value());
}

TEST(TopologyCard, LinkConfigsMatchByIdNameAndStreamName) {
    const auto hw = [](uint32_t fmt) { return hw_config(1, fmt, 0, 0); };
    auto by_stream = link_config(1, "", {}, {hw(SND_SOC_DAI_FORMAT_RIGHT_J)});
    set_name(by_stream.stream_name, "Wrong Playback");
    auto by_stream_ok = link_config(2, "", {}, {hw(SND_SOC_DAI_FORMAT_DSP_B)});
    set_name(by_stream_ok.stream_name, "Bt Playback");
    const Bytes f =
        file_of({{SND_SOC_TPLG_TYPE_BACKEND_LINK, 4,
                  cat({object(link_config(0, "Nope", {}, {hw(SND_SOC_DAI_FORMAT_I2S)})),
                       object(by_stream), object(by_stream_ok),
                       object(link_config(7, "", {}, {hw(SND_SOC_DAI_FORMAT_AC97)}))})}});
    const auto r = build(f, R"(be_links:
  - name: Codec
    playback: {stream: Codec Playback}
  - name: Modem
    playback: {stream: Modem Playback}
  - name: Bt
    playback: {stream: Bt Playback}
)");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    // id 0 but another name; id 1 but another stream name; id 2 by stream name; id 7: no BE.
    EXPECT_FALSE(be_named(*r.card, "Codec")->dai_format.has_value());
    EXPECT_FALSE(be_named(*r.card, "Modem")->dai_format.has_value());
    ASSERT_TRUE(be_named(*r.card, "Bt")->dai_format.has_value());
    EXPECT_EQ(be_named(*r.card, "Bt")->dai_format->format, "DSP_B");
    const size_t p0 = element_at(f, 0), n = wire_size<snd_soc_tplg_link_config>();
    EXPECT_EQ(count_containing(r.warnings, {"t.tplg: " + at(p0) + ":",
                                            "link config id 0 'Nope' matches no BE link"}),
              1u)
        << joined(r.warnings);
    EXPECT_EQ(count_containing(r.warnings, {"t.tplg: " + at(p0 + n) + ":",
                                            "link config id 1 matches no BE link"}),
              1u);
    EXPECT_EQ(count_containing(r.warnings, {"t.tplg: " + at(p0 + 3 * n) + ":",
                                            "link config id 7 matches no BE link", "id: 7"}),
              1u);
    EXPECT_EQ(count_containing(r.warnings, {"matches no BE link"}), 3u);
}

TEST(TopologyCard, DaiConfigSetsTheBeStreamCapsWhenCpuDaiMatches) {
    const Caps ssp{.name = "SSP0 Playback",
                   .formats = kFmtS16LE | kFmtS24LE,
                   .rates = kRate44100 | kRate48000,
                   .rate_min = 44100,
                   .rate_max = 48000,
                   .channels_min = 2,
                   .channels_max = 2};
    const Caps ssp_cap{.name = "SSP0 Capture", .channels_min = 1, .channels_max = 2};
    const Bytes f = file_of(
        {{SND_SOC_TPLG_TYPE_DAI, 2,
          cat({object(dai("SSP0 Pin", 0, ssp, ssp_cap)), object(dai("SSP1 Pin", 1, ssp))})}});
    const auto r = build(f, R"(be_links:
  - name: Speaker
    cpu_dai: SSP0 Pin
    playback: {stream: Amp Playback}
  - name: Other
    cpu_dai: SSP9 Pin
    playback: {stream: Other Playback}
)");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const BeLink* spk = be_named(*r.card, "Speaker");
    ASSERT_NE(spk, nullptr);
    ASSERT_TRUE(spk->playback.has_value());
    EXPECT_EQ(spk->playback->formats, fmts({Format::S16_LE, Format::S24_LE}));
    EXPECT_EQ(spk->playback->rate_list, (std::vector<uint32_t>{44100, 48000}));
    EXPECT_EQ(spk->playback->rates, (Interval{44100, 48000}));
    EXPECT_EQ(spk->playback->channels, (Interval{2, 2}));
    EXPECT_FALSE(spk->capture.has_value());
    // A BE whose cpu_dai no DAI config names keeps the overlay's (any format, 1..32 channels).
    const BeLink* other = be_named(*r.card, "Other");
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(other->playback->formats, FormatMask::all());
    EXPECT_EQ(other->playback->channels, (Interval{1, 32}));
    // SSP1 Pin matched nothing.
    const size_t p1 = element_at(f, 0) + wire_size<snd_soc_tplg_dai>();
    EXPECT_EQ(count_containing(r.warnings, {"t.tplg: " + at(p1) + ":",
                                            "DAI config 'SSP1 Pin' matches no BE link"}),
              1u)
        << joined(r.warnings);
    EXPECT_EQ(count_containing(r.warnings, {"matches no BE link"}), 1u) << joined(r.warnings);
}

TEST(TopologyCard, DaiConfigNarrowsWhatTheOverlayDeclares) {
    // The overlay's BE stream says what the codec takes (S16_LE, 48 kHz, stereo); the DAI config
    // says what the CPU DAI takes (S16/S24, 8..96 kHz, 1..8 channels). topology_card.h: "DAI
    // configs narrow what a BE's streams accept": the BE takes what both take.
    const Caps wide{.name = "SSP0 Playback",
                    .formats = kFmtS16LE | kFmtS24LE,
                    .rates = kRate8000 | kRate16000 | kRate48000 | kRate96000,
                    .rate_min = 8000,
                    .rate_max = 96000,
                    .channels_min = 1,
                    .channels_max = 8};
    const Bytes f = file_of({{SND_SOC_TPLG_TYPE_DAI, 1, object(dai("SSP0 Pin", 0, wide))}});
    const auto r = build(f, R"(be_links:
  - name: Speaker
    cpu_dai: SSP0 Pin
    playback: {stream: Amp Playback, formats: [S16_LE], rates: [48000], channels: 2}
)");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const BeLink* spk = be_named(*r.card, "Speaker");
    ASSERT_NE(spk, nullptr);
    ASSERT_TRUE(spk->playback.has_value());
    EXPECT_EQ(spk->playback->formats, fmts({Format::S16_LE})) << spk->playback->formats.to_string();
    EXPECT_EQ(spk->playback->rate_list, (std::vector<uint32_t>{48000}));
    EXPECT_EQ(spk->playback->rates, (Interval{48000, 48000})) << spk->playback->rates.to_string();
    EXPECT_EQ(spk->playback->channels, (Interval{2, 2})) << spk->playback->channels.to_string();
}

TEST(TopologyCard, DaiConfigWithoutTheBeDirectionIsAWarning) {
    const Bytes f = file_of(
        {{SND_SOC_TPLG_TYPE_DAI, 1, object(dai("SSP0 Pin", 0, Caps{.name = "SSP0 Playback"}))}});
    const auto r = build(f, R"(be_links:
  - name: Headset
    cpu_dai: SSP0 Pin
    playback: {stream: Headset Playback}
    capture: {stream: Headset Capture}
)");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    EXPECT_EQ(count_containing(
                  r.warnings,
                  {"t.tplg: " + at(element_at(f, 0)) + ":",
                   "DAI 'SSP0 Pin' has no capture stream, but BE link 'Headset' declares one"}),
              1u)
        << joined(r.warnings);
    // Its capture stream keeps the overlay's defaults.
    EXPECT_EQ(be_named(*r.card, "Headset")->capture->formats, FormatMask::all());
}

TEST(TopologyCard, RouteToAnUnknownWidgetIsAnErrorAtTheRoute) {
    const Bytes f = file_of(
        {{SND_SOC_TPLG_TYPE_DAPM_WIDGET, 1, object(widget("PGA", SND_SOC_TPLG_DAPM_PGA))},
         {SND_SOC_TPLG_TYPE_PCM, 1, media_pcm(Caps{.name = "Media Playback"})},
         {SND_SOC_TPLG_TYPE_DAPM_GRAPH, 3,
          cat({object(route("PGA", "", "Media Playback")), object(route("Nowhere", "", "PGA")),
               object(route("PGA", "", "Media Playbak"))})}});
    const size_t g = element_at(f, 2);
    const auto r = build(f);
    EXPECT_EQ(r.card, nullptr);
    ASSERT_EQ(r.errors.size(), 2u) << joined(r.errors);
    EXPECT_TRUE(Contains(
        r.errors[0],
        "t.tplg: " + at(g + kRoute) + ": route 1 (Nowhere, , PGA): unknown sink widget 'Nowhere'"));
    EXPECT_TRUE(
        Contains(r.errors[1],
                 "t.tplg: " + at(g + 2 * kRoute) +
                     ": route 2 (PGA, , Media Playbak): unknown source widget 'Media Playbak'"));
    EXPECT_TRUE(Contains(r.errors[1], "Media Playback"));  // the suggestion
}

TEST(TopologyCard, RouteControlThatTheSinkDoesNotHaveIsAnError) {
    const Bytes f = file_of(
        {{SND_SOC_TPLG_TYPE_DAPM_WIDGET, 1,
          widget_with(widget("Mixer", SND_SOC_TPLG_DAPM_MIXER),
                      {object(mixer("Media", 0, 1, 1, SND_SOC_TPLG_DAPM_CTL_VOLSW))})},
         {SND_SOC_TPLG_TYPE_PCM, 1, media_pcm(Caps{.name = "Media Playback"})},
         {SND_SOC_TPLG_TYPE_DAPM_GRAPH, 1, object(route("Mixer", "Voice", "Media Playback"))}});
    const auto r = build(f);
    EXPECT_EQ(r.card, nullptr);
    ASSERT_EQ(r.errors.size(), 1u) << joined(r.errors);
    EXPECT_TRUE(Contains(r.errors[0], "t.tplg: " + at(element_at(f, 2)) +
                                          ": route 0 (Mixer, Voice, Media Playback)"));
    EXPECT_TRUE(Contains(r.errors[0], "no control 'Voice'"));
}

TEST(TopologyCard, OverlayErrorsNameTheOverlayFileAndLine) {
    constexpr std::string_view overlay = R"(card: test
be_links:
  - name: Codec
    playback: {stream: Codec Playback}
    fixup: {rate: 48000, format: S25_LE}
routes:
  - [Codec Playback, ~, Nowhere]
)";
    const Bytes f =
        file_of({{SND_SOC_TPLG_TYPE_PCM, 1, media_pcm(Caps{.name = "Media Playback"})}});
    const auto r = build(f, overlay);
    EXPECT_EQ(r.card, nullptr);
    ASSERT_EQ(r.errors.size(), 2u) << joined(r.errors);
    EXPECT_EQ(r.errors[0].rfind("ov.yaml:5:", 0), 0u) << r.errors[0];
    EXPECT_TRUE(Contains(r.errors[0], "S25_LE"));
    EXPECT_EQ(r.errors[1].rfind("ov.yaml:7:", 0), 0u) << r.errors[1];
    EXPECT_TRUE(Contains(r.errors[1], "unknown source widget 'Nowhere'"));
}

TEST(TopologyCard, TopologyErrorsComeBeforeOverlayErrors) {
    const Bytes f = file_of({{SND_SOC_TPLG_TYPE_ENUM, 1, object(enum_control("Empty", {}))}});
    const auto r = build(f, "card: x\nbogus: 1\n");
    EXPECT_EQ(r.card, nullptr);
    ASSERT_EQ(r.errors.size(), 2u) << joined(r.errors);
    EXPECT_TRUE(
        Contains(r.errors[0], "t.tplg: " + at(element_at(f, 0)) + ": enum control 'Empty'"));
    EXPECT_EQ(r.errors[1].rfind("ov.yaml:2:", 0), 0u) << r.errors[1];
    EXPECT_TRUE(Contains(r.errors[1], "bogus"));
}

TEST(TopologyCard, MoreMixerDetails) {
    // A register inversion is hidden from the user; a TLV other than a dB scale is kept and
    // reported, not interpreted.
    auto inv = mixer("Mute Switch", 0, 1);
    inv.invert = 1;
    auto range = mixer("Odd Volume", 0, 10);
    range.hdr.access |= SNDRV_CTL_ELEM_ACCESS_TLV_READ;
    range.hdr.tlv.size = sizeof(snd_soc_tplg_ctl_tlv);
    range.hdr.tlv.type = SNDRV_CTL_TLVT_DB_LINEAR;
    const Bytes f = file_of({{SND_SOC_TPLG_TYPE_MIXER, 2, cat({object(inv), object(range)})}});
    const auto t = must_parse(f);
    ASSERT_EQ(t.controls.size(), 2u);
    EXPECT_TRUE(t.controls[0].invert);
    EXPECT_EQ(t.controls[1].tlv_type, uint32_t{SNDRV_CTL_TLVT_DB_LINEAR});
    EXPECT_FALSE(t.controls[1].db.has_value());
    const auto r = build(f);
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const Control* m = control(r, "Mute Switch");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->info.type, CtlType::Boolean);
    EXPECT_FALSE(m->info.invert);
    const Control* o = control(r, "Odd Volume");
    ASSERT_NE(o, nullptr);
    EXPECT_FALSE(o->info.db.has_value());
    EXPECT_EQ(
        count_containing(r.warnings,
                         {at(element_at(f, 0) + 360),
                          fmt::format("control 'Odd Volume': TLV type {} kept, not interpreted",
                                      SNDRV_CTL_TLVT_DB_LINEAR)}),
        1u)
        << joined(r.warnings);
}

TEST(TopologyCard, PcmNamesAndCompressedStreams) {
    // No caps name: the DAI widget is named after the FE and direction, with a warning. A
    // compressed PCM is loaded as a PCM, with a warning. No name at all: an error.
    auto comp = pcm("Offload", "Offload Pin", 1, Caps{.name = "Offload Playback"});
    comp.compress = 1;
    const Bytes f =
        file_of({{SND_SOC_TPLG_TYPE_PCM, 2,
                  cat({object(pcm("Plain", "Plain Pin", 0, Caps{.name = ""})), object(comp)})}});
    const size_t p0 = element_at(f, 0);
    const auto r = build(f);
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const FeLink* plain = fe_named(*r.card, "Plain");
    ASSERT_NE(plain, nullptr);
    EXPECT_EQ(plain->playback->stream_name, "Plain Playback");
    EXPECT_TRUE(r.card->graph().find("Plain Playback").has_value());
    EXPECT_EQ(count_containing(r.warnings, {"t.tplg: " + at(p0) + ":",
                                            "PCM 'Plain' playback: the caps have no stream name"}),
              1u)
        << joined(r.warnings);
    EXPECT_NE(fe_named(*r.card, "Offload"), nullptr);
    EXPECT_EQ(
        count_containing(r.warnings, {"t.tplg: " + at(p0 + wire_size<snd_soc_tplg_pcm>()) + ":",
                                      "PCM 'Offload' is a compressed stream"}),
        1u)
        << joined(r.warnings);

    const Bytes nameless =
        file_of({{SND_SOC_TPLG_TYPE_PCM, 1, object(pcm("", "", 4, Caps{.name = "X Playback"}))}});
    const auto e = build(nameless);
    EXPECT_EQ(e.card, nullptr);
    ASSERT_EQ(e.errors.size(), 1u) << joined(e.errors);
    EXPECT_TRUE(Contains(e.errors[0], "t.tplg: " + at(element_at(nameless, 0)) +
                                          ": PCM 4 has neither a PCM name nor a DAI name"));
}

TEST(TopologyCard, HostWidgetWhoseStreamNoDaiHasIsSkippedWithAWarningAtTheWidget) {
    // An AIF widget bound (sname) to a DAI stream nobody declares is left unbound, as
    // snd_soc_dapm_link_dai_widgets leaves it (sof-apl-nocodec.tplg has such hosts); the
    // warning points at the widget in the topology, since the overlay did not declare it.
    const Bytes f =
        file_of({{SND_SOC_TPLG_TYPE_DAPM_WIDGET, 2,
                  cat({object(widget("SSP0.IN", SND_SOC_TPLG_DAPM_AIF_IN, "Amp Playback")),
                       object(widget("SSP1.IN", SND_SOC_TPLG_DAPM_AIF_IN, "Nowhere Playback"))})}});
    const auto r = build(f, R"(be_links:
  - name: Speaker
    playback: {stream: Amp Playback}
)");
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    EXPECT_EQ(count_containing(r.warnings, {"t.tplg: " + at(element_at(f, 0) + kWidget),
                                            "widget 'SSP1.IN' (component 'platform'): stream 'Nowhere Playback'",
                                            "left unbound"}),
              1u)
        << joined(r.warnings);
    EXPECT_EQ(count_containing(r.warnings, {"'SSP0.IN'"}), 0u) << joined(r.warnings);
}

// =============================================================================================
// Files on disk: .tplg read as is, .conf compiled with alsatplg

/// A scratch directory for the test, removed afterwards.
class TopologyFiles : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "dynpcm-topology-test-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        if (!dir_.empty()) fs::remove_all(dir_, ec);
    }
    std::string write(const std::string& name, std::string_view text) const {
        const fs::path p = fs::path(dir_) / name;
        std::ofstream out(p, std::ios::binary);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        return p.string();
    }
    std::string write(const std::string& name, const Bytes& b) const {
        return write(name, std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    }
    std::string dir_;
};

/// Sets an environment variable for a scope and puts back what was there.
class EnvVar {
  public:
    EnvVar(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value)
            setenv(name, value, 1);
        else
            unsetenv(name);
    }
    ~EnvVar() {
        if (old_)
            setenv(name_.c_str(), old_->c_str(), 1);
        else
            unsetenv(name_.c_str());
    }
    EnvVar(const EnvVar&) = delete;
    EnvVar& operator=(const EnvVar&) = delete;

  private:
    std::string name_;
    std::optional<std::string> old_;
};

/// Whether the program load_topology_file would run for a .conf can be found.
bool have_alsatplg() {
    const char* env = std::getenv("DYNPCM_ALSATPLG");
    const std::string prog = env && *env ? env : "alsatplg";
    if (prog.find('/') != std::string::npos) return access(prog.c_str(), X_OK) == 0;
    const char* path = std::getenv("PATH");
    std::string_view rest = path ? path : "";
    while (!rest.empty()) {
        const size_t colon = rest.find(':');
        const std::string_view d = rest.substr(0, colon);
        if (!d.empty() && access((std::string(d) + "/" + prog).c_str(), X_OK) == 0) return true;
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
    return false;
}

#define REQUIRE_ALSATPLG()                                                              \
    do {                                                                                \
        if (!have_alsatplg()) GTEST_SKIP() << "alsatplg (alsa-utils) is not installed"; \
    } while (0)

const std::string kDspConf = std::string(DYNPCM_SOURCE_DIR) + "/examples/topology/dsp.conf";
const std::string kDspOverlay =
    std::string(DYNPCM_SOURCE_DIR) + "/examples/topology/dsp-overlay.yaml";
const std::string kBroadwellConf = "/usr/share/alsa/topology/broadwell/broadwell.conf";
const std::string kBroadwellOverlay =
    std::string(DYNPCM_SOURCE_DIR) + "/examples/topology/broadwell-overlay.yaml";

TEST_F(TopologyFiles, TplgFileIsReadAsIs) {
    const std::string path = write("sample.tplg", sample_file().bytes);
    const auto t = tplg::load_topology_file(path);
    ASSERT_TRUE(is_ok(t));
    EXPECT_EQ(t->file, path);
    EXPECT_EQ(t->widgets.size(), 6u);

    // Errors name the file as given.
    Bytes cut = sample_file().bytes;
    cut.resize(cut.size() - 1);
    const std::string bad = write("cut.tplg", cut);
    const auto e = tplg::load_topology_file(bad);
    ASSERT_TRUE(is_error(e, -EINVAL, {"overruns the file"}));
    EXPECT_EQ(e.error().message().rfind(bad + ": offset 0x", 0), 0u) << e.error().message();
}

TEST_F(TopologyFiles, MissingFileAndDirectory) {
    const std::string missing = dir_ + "/nothing.tplg";
    EXPECT_TRUE(is_error(tplg::load_topology_file(missing), -ENOENT, {missing}));
    EXPECT_TRUE(is_error(tplg::load_topology_file(dir_), -EISDIR, {dir_, "directory"}));
    const auto c = load_topology_card(missing);
    EXPECT_EQ(c.card, nullptr);
    ASSERT_EQ(c.errors.size(), 1u);
    EXPECT_TRUE(Contains(c.errors[0], missing));
}

TEST_F(TopologyFiles, OverlayFileProblems) {
    const std::string t = write("sample.tplg", sample_file().bytes);
    const auto empty = load_topology_card(t, write("empty.yaml", std::string_view("\n  \n")));
    EXPECT_EQ(empty.card, nullptr);
    ASSERT_EQ(empty.errors.size(), 1u) << joined(empty.errors);
    EXPECT_TRUE(Contains(empty.errors[0], "the overlay is empty"));

    const std::string missing = dir_ + "/none.yaml";
    const auto none = load_topology_card(t, missing);
    EXPECT_EQ(none.card, nullptr);
    ASSERT_FALSE(none.errors.empty());
    EXPECT_TRUE(Contains(none.errors[0], missing));

    const auto good = load_topology_card(t, write("ov.yaml", kSampleOverlay));
    ASSERT_TRUE(good.ok()) << joined(good.errors);
    EXPECT_EQ(good.card->be_links().size(), 3u);
}

TEST_F(TopologyFiles, ConfThatAlsatplgRejectsGivesItsOutput) {
    REQUIRE_ALSATPLG();
    const std::string conf = write(
        "bad.conf", std::string_view(
                        "SectionWidget.\"Broken\" {\n\tindex \"1\"\n\ttype \"no_such_type\"\n}\n"));
    const auto t = tplg::load_topology_file(conf);
    ASSERT_TRUE(
        is_error(t, -EINVAL, {conf, "failed (exit 1)", "Unsupported widget type no_such_type"}));
    const auto c = load_topology_card(conf);
    EXPECT_EQ(c.card, nullptr);
    ASSERT_EQ(c.errors.size(), 1u);
    EXPECT_TRUE(Contains(c.errors[0], "no_such_type"));
}

TEST_F(TopologyFiles, AlsatplgProgramFromTheEnvironment) {
    const char* before = std::getenv("DYNPCM_ALSATPLG");
    const std::optional<std::string> saved =
        before ? std::optional<std::string>(before) : std::nullopt;
    const std::string conf = write(
        "x.conf", std::string_view("SectionWidget.\"W\" {\n\tindex \"1\"\n\ttype \"pga\"\n}\n"));
    {
        const std::string prog = dir_ + "/no-such-alsatplg";
        EnvVar env("DYNPCM_ALSATPLG", prog.c_str());
        EXPECT_TRUE(
            is_error(tplg::load_topology_file(conf), -ENOENT, {conf, "cannot run '" + prog + "'"}));
    }
    {
        EnvVar env("DYNPCM_ALSATPLG", "dynpcm-no-such-alsatplg");
        EXPECT_TRUE(is_error(tplg::load_topology_file(conf), -ENOENT,
                             {"cannot run 'dynpcm-no-such-alsatplg'"}));
    }
    {
        // A program that succeeds without writing the output.
        EnvVar env("DYNPCM_ALSATPLG", "true");
        EXPECT_TRUE(
            is_error(tplg::load_topology_file(conf), -EIO, {conf, "true wrote no topology"}));
    }
    const char* after = std::getenv("DYNPCM_ALSATPLG");
    EXPECT_EQ(after ? std::optional<std::string>(after) : std::nullopt, saved);
}

// ---- examples/topology/dsp.conf

TEST(DspExample, WithoutOverlay) {
    REQUIRE_ALSATPLG();
    const auto t = tplg::load_topology_file(kDspConf);
    ASSERT_TRUE(is_ok(t));
    EXPECT_EQ(t->file, kDspConf);
    EXPECT_EQ(t->widgets.size(), 8u);
    EXPECT_EQ(t->controls.size(), 1u);
    EXPECT_EQ(t->routes.size(), 10u);
    EXPECT_EQ(t->pcms.size(), 3u);
    EXPECT_EQ(t->links.size(), 2u);
    EXPECT_EQ(t->dais.size(), 1u);
    // The EQ widget's vendor tuples.
    const auto eq = std::find_if(t->widgets.begin(), t->widgets.end(),
                                 [](const auto& w) { return w.name == "EQ"; });
    ASSERT_NE(eq, t->widgets.end());
    EXPECT_EQ(eq->id, uint32_t{SND_SOC_TPLG_DAPM_EFFECT});
    ASSERT_EQ(eq->priv.tuples.size(), 3u);
    EXPECT_EQ(eq->priv.tuples[0].token, 100u);
    EXPECT_EQ(eq->priv.tuples[0].value, 1u);
    EXPECT_EQ(eq->priv.tuples[1].token, 101u);
    EXPECT_EQ(eq->priv.tuples[1].value, 2u);
    EXPECT_EQ(eq->priv.tuples[2].token, 102u);
    EXPECT_EQ(eq->priv.tuples[2].string, "eq-iir");

    const auto r = load_topology_card(kDspConf);
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const Card& card = *r.card;
    // 8 topology widgets and 4 FE DAI widgets.
    EXPECT_EQ(card.graph().widget_count(), 12u);
    EXPECT_EQ(card.controls().size(), 6u);
    EXPECT_EQ(card.fe_links().size(), 3u);
    EXPECT_EQ(card.be_links().size(), 0u);

    const Control* vol = card.find_control("Master Volume");
    expect_volume(vol, 127, 2u, -6400, 50, true);
    EXPECT_DOUBLE_EQ(*vol->db_at(127), -0.5);
    const Control* media = card.find_control("Media Mixer Media");
    ASSERT_NE(media, nullptr);
    EXPECT_EQ(media->info.type, CtlType::Boolean);
    const Control* mux = card.find_control("Capture Mux");
    ASSERT_NE(mux, nullptr);
    EXPECT_EQ(mux->info.type, CtlType::Enumerated);
    EXPECT_EQ(mux->info.items, (Names{"Headset Mic", "DMIC"}));
    const Control* eqc = card.find_control("EQ EQ Coefficients");
    ASSERT_NE(eqc, nullptr);
    EXPECT_EQ(eqc->info.type, CtlType::Bytes);
    EXPECT_EQ(eqc->info.count, 64u);
    const Control* spk_vol = card.find_control("Speaker PGA Volume");
    ASSERT_NE(spk_vol, nullptr);
    EXPECT_EQ(spk_vol->info.max, 127);

    // The FE streams from the PCM caps.
    const FeLink* mp = fe_named(card, "Media PCM");
    ASSERT_NE(mp, nullptr);
    ASSERT_TRUE(mp->playback.has_value());
    EXPECT_EQ(mp->playback->stream_name, "Media Playback");
    EXPECT_EQ(mp->playback->formats, fmts({Format::S16_LE, Format::S24_LE, Format::S32_LE}));
    EXPECT_EQ(mp->playback->rate_list, (std::vector<uint32_t>{44100, 48000}));
    EXPECT_FALSE(mp->capture.has_value());

    // alsatplg complains of routes to the FE DAI stream widgets, which it cannot see: the
    // topology keeps what it said; a card on which every route resolved drops it.
    EXPECT_EQ(count_containing(t->warnings, {kDspConf + ": alsatplg:",
                                             "(tplg_build_routes) undefined", "'Media Playback'"}),
              1u)
        << joined(t->warnings);
    EXPECT_EQ(count_containing(t->warnings, {"(tplg_build_routes) undefined"}), 6u)
        << joined(t->warnings);
    EXPECT_EQ(count_containing(r.warnings, {"(tplg_build_routes) undefined"}), 0u)
        << joined(r.warnings);
    // ... and a card that fails keeps it, since those routes may be the problem.
    const auto failed = build_topology_card(*t, "bogus: 1\n", "bad.yaml");
    EXPECT_EQ(failed.card, nullptr);
    EXPECT_FALSE(failed.errors.empty());
    EXPECT_EQ(count_containing(failed.warnings, {"(tplg_build_routes) undefined"}), 6u)
        << joined(failed.warnings);
    // Link and DAI configs find no BE without an overlay.
    EXPECT_EQ(count_containing(r.warnings, {"link config id 0 'Speaker' matches no BE link"}), 1u);
    EXPECT_EQ(count_containing(r.warnings, {"link config id 1 'Headset' matches no BE link"}), 1u);
    EXPECT_EQ(count_containing(r.warnings, {"DAI config 'SSP0 Pin' matches no BE link"}), 1u);
    EXPECT_EQ(count_containing(r.notes, {"3 objects carry vendor-private data (100 bytes, 3 vendor tuples)"}), 1u);
}

TEST(DspExample, WithOverlay) {
    REQUIRE_ALSATPLG();
    const auto r = load_topology_card(kDspConf, kDspOverlay);
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    Card& card = *r.card;
    EXPECT_EQ(card.name(), "dsp-demo");
    EXPECT_EQ(card.graph().widget_count(), 23u);
    EXPECT_EQ(card.controls().size(), 9u);
    EXPECT_EQ(card.fe_links().size(), 3u);
    EXPECT_EQ(card.be_links().size(), 3u);
    EXPECT_EQ(count_containing(r.warnings, {"matches no BE link"}), 0u) << joined(r.warnings);

    // Media PCM reaches nothing until its mixer input is switched on, then both playback BEs.
    EXPECT_EQ(reach(card, "Media PCM", Stream::Playback), Names{});
    ASSERT_TRUE(is_ok(card.put("Media Mixer Media", "on")));
    EXPECT_EQ(reach(card, "Media PCM", Stream::Playback), (Names{"Speaker", "Headset"}));
    ASSERT_TRUE(is_ok(card.put("Media Mixer Media", "off")));
    EXPECT_EQ(reach(card, "Media PCM", Stream::Playback), Names{});

    // Capture PCM follows the mux.
    EXPECT_EQ(reach(card, "Capture PCM", Stream::Capture), (Names{"Headset"}));
    ASSERT_TRUE(is_ok(card.put("Capture Mux", "DMIC")));
    EXPECT_EQ(reach(card, "Capture PCM", Stream::Capture), (Names{"DMIC"}));
    // Voice capture is wired straight to SSP1.IN.
    EXPECT_EQ(reach(card, "Voice PCM", Stream::Capture), (Names{"Headset"}));

    // BE Speaker: SSP0 I2S hw config, codec consumer of both clocks, TDM 2 x 32.
    const BeLink* spk = be_named(card, "Speaker");
    ASSERT_NE(spk, nullptr);
    EXPECT_EQ(spk->id, 0u);
    ASSERT_TRUE(spk->dai_format.has_value());
    EXPECT_EQ(spk->dai_format->format, "I2S");
    EXPECT_FALSE(spk->dai_format->codec_bclk_provider);
    EXPECT_FALSE(spk->dai_format->codec_fsync_provider);
    EXPECT_EQ(spk->dai_format->tdm_slots, 2u);
    EXPECT_EQ(spk->dai_format->tdm_slot_width, 32u);
    EXPECT_EQ(spk->dai_format->mclk_rate, 24576000u);
    EXPECT_EQ(spk->dai_format->bclk_rate, 3072000u);
    EXPECT_EQ(spk->dai_format->fsync_rate, 48000u);
    // Its playback narrowed from "anything" by the SSP0 Pin DAI config.
    ASSERT_TRUE(spk->playback.has_value());
    EXPECT_EQ(spk->playback->formats, fmts({Format::S16_LE, Format::S24_LE}));
    EXPECT_EQ(spk->playback->rates, (Interval{48000, 48000}));
    EXPECT_EQ(spk->playback->channels, (Interval{2, 2}));
    // The overlay's fixup stands.
    EXPECT_EQ(spk->fixup.format, Format::S24_LE);
    EXPECT_EQ(spk->fixup.rate, 48000u);

    const BeLink* hs = be_named(card, "Headset");
    ASSERT_NE(hs, nullptr);
    ASSERT_TRUE(hs->dai_format.has_value());
    EXPECT_EQ(hs->dai_format->format, "DSP_A");
    EXPECT_TRUE(hs->dai_format->codec_bclk_provider);
    EXPECT_TRUE(hs->dai_format->codec_fsync_provider);
    EXPECT_EQ(hs->dai_format->tdm_slots, 4u);
    EXPECT_EQ(hs->dai_format->tdm_slot_width, 16u);
    // No DAI config for SSP1: the overlay's default caps.
    EXPECT_EQ(hs->playback->formats, FormatMask::all());
    const BeLink* dmic = be_named(card, "DMIC");
    ASSERT_NE(dmic, nullptr);
    EXPECT_FALSE(dmic->dai_format.has_value());
}

// ---- Debian's broadwell.conf

#define REQUIRE_BROADWELL()                                                                     \
    do {                                                                                        \
        if (!fs::exists(kBroadwellConf)) GTEST_SKIP() << kBroadwellConf << " is not installed"; \
        REQUIRE_ALSATPLG();                                                                     \
    } while (0)

TEST(BroadwellExample, Topology) {
    REQUIRE_BROADWELL();
    const auto t = tplg::load_topology_file(kBroadwellConf);
    ASSERT_TRUE(is_ok(t));
    EXPECT_EQ(t->pcms.size(), 4u);
    EXPECT_EQ(t->widgets.size(), 5u);
    EXPECT_EQ(t->routes.size(), 6u);
    ASSERT_EQ(t->controls.size(), 4u);
    for (const auto& k : t->controls) {
        EXPECT_EQ(k.kind, tplg::Kcontrol::Kind::Mixer) << k.name;
        EXPECT_EQ(k.max, 31) << k.name;
        ASSERT_TRUE(k.db.has_value()) << k.name;
        EXPECT_EQ(k.db->min_cdb, -9000) << k.name;
        EXPECT_EQ(k.db->step_cdb, 300) << k.name;
        EXPECT_TRUE(k.db->mute) << k.name;
    }
    EXPECT_EQ(t->controls[0].name, "Master Playback Volume");
    ASSERT_EQ(t->links.size(), 1u);
    EXPECT_EQ(t->links[0].id, 0u);
    EXPECT_EQ(t->links[0].name, "Codec");
    const auto* hw = t->links[0].default_hw_config();
    ASSERT_NE(hw, nullptr);
    EXPECT_EQ(hw->id, 1u);
    EXPECT_EQ(hw->fmt, uint32_t{SND_SOC_DAI_FORMAT_I2S});
    EXPECT_EQ(hw->bclk_provider, SND_SOC_TPLG_BCLK_CC);
    EXPECT_EQ(hw->fsync_provider, SND_SOC_TPLG_FSYNC_CC);
    std::vector<std::string> pcm_names;
    for (const auto& p : t->pcms) pcm_names.push_back(p.pcm_name);
    EXPECT_EQ(pcm_names, (Names{"System Playback/Capture", "Offload0 Playback", "Offload1 Playback",
                                "Loopback PCM"}));

    // As a card without an overlay: 4 controls, each with its dB scale.
    const auto r = load_topology_card(kBroadwellConf);
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    EXPECT_EQ(r.card->controls().size(), 4u);
    for (const auto& c : r.card->controls()) {
        EXPECT_EQ(c.info.type, CtlType::Integer) << c.id.name;
        EXPECT_EQ(c.info.max, 31) << c.id.name;
        ASSERT_TRUE(c.info.db.has_value()) << c.id.name;
        EXPECT_DOUBLE_EQ(*c.db_at(1), -87.0) << c.id.name;
    }
    EXPECT_EQ(count_containing(r.warnings, {"link config id 0 'Codec' matches no BE link"}), 1u)
        << joined(r.warnings);
    // alsatplg's other warnings are passed on; its complaints about routes to FE streams are not.
    EXPECT_EQ(count_containing(r.warnings, {kBroadwellConf + ": alsatplg:",
                                            "deprecated bclk value 'codec_slave'"}),
              1u)
        << joined(r.warnings);
    EXPECT_EQ(count_containing(r.warnings, {"(tplg_build_routes) undefined"}), 0u)
        << joined(r.warnings);
}

TEST(BroadwellExample, WithOverlay) {
    REQUIRE_BROADWELL();
    const auto r = load_topology_card(kBroadwellConf, kBroadwellOverlay);
    ASSERT_TRUE(r.ok()) << joined(r.errors);
    const Card& card = *r.card;
    EXPECT_EQ(card.fe_links().size(), 4u);
    EXPECT_EQ(card.be_links().size(), 1u);
    EXPECT_EQ(reach(card, "System Playback/Capture", Stream::Playback), (Names{"Codec"}));
    EXPECT_EQ(reach(card, "System Playback/Capture", Stream::Capture), (Names{"Codec"}));
    EXPECT_EQ(reach(card, "Offload0 Playback", Stream::Playback), (Names{"Codec"}));
    EXPECT_EQ(reach(card, "Offload1 Playback", Stream::Playback), (Names{"Codec"}));
    EXPECT_EQ(reach(card, "Loopback PCM", Stream::Capture), Names{});
    const BeLink* codec = be_named(card, "Codec");
    ASSERT_NE(codec, nullptr);
    ASSERT_TRUE(codec->dai_format.has_value());
    EXPECT_EQ(codec->dai_format->format, "I2S");
    EXPECT_FALSE(codec->dai_format->codec_bclk_provider);
    EXPECT_FALSE(codec->dai_format->codec_fsync_provider);
    EXPECT_EQ(codec->fixup.format, Format::S24_LE);
    EXPECT_EQ(count_containing(r.warnings, {"matches no BE link"}), 0u) << joined(r.warnings);
}

}  // namespace
}  // namespace dynpcm

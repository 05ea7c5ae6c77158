#pragma once
/// An ALSA topology binary (.tplg), read the way the kernel's sound/soc/soc-topology.c reads it:
/// the block headers and objects of the uapi header <sound/asoc.h>, ABI versions 4 and 5.
///
/// `Topology` is what the file says, field by field, with the file offset of each object so a
/// report can point at it. Nothing here builds a card: topology_card.h does that. Vendor and
/// private data the kernel hands to component drivers (private data, vendor tuples, vendor and
/// unknown blocks) is kept as read and reported, never fatal.
///
/// Errors name the file and the byte offset: "bdw.tplg: offset 0x1a4 (block 2, PCM): ...".
/// Thread: control. Nothing here is shared with the realtime thread.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dynpcm/card/control.h"
#include "dynpcm/core/result.h"

namespace dynpcm::tplg {

/// One vendor tuple (snd_soc_tplg_vendor_*_elem): a token and its value.
struct VendorTuple {
    uint32_t type = 0;             ///< SND_SOC_TPLG_TUPLE_TYPE_*: 0 uuid, 1 string, 2 bool, 3 byte, 4 word, 5 short
    uint32_t token = 0;
    uint32_t value = 0;            ///< bool, byte, word, short
    std::string string;            ///< string tuples
    std::array<uint8_t, 16> uuid{};
};

/// snd_soc_tplg_private: opaque to the core, kept as read. When the bytes parse as vendor
/// arrays (the layout SOF and others use), their tuples are listed too.
struct PrivateData {
    uint32_t offset = 0;  ///< of the first byte in the file
    std::vector<uint8_t> bytes;
    std::vector<VendorTuple> tuples;
    bool empty() const noexcept { return bytes.empty(); }
};

/// A kcontrol (snd_soc_tplg_mixer/enum/bytes_control), card-level or a widget's.
struct Kcontrol {
    enum class Kind : uint8_t { Mixer, Enum, Bytes };
    Kind kind = Kind::Mixer;
    uint32_t offset = 0;
    uint32_t index = 0;            ///< the block's index (group)
    std::string name;
    uint32_t info_op = 0, get_op = 0, put_op = 0;  ///< io ops: SND_SOC_TPLG_CTL_* / driver ids
    uint32_t access = 0;           ///< SNDRV_CTL_ELEM_ACCESS_*
    uint32_t tlv_type = 0;         ///< SNDRV_CTL_TLVT_* when access carries a TLV
    std::optional<DbScale> db;     ///< a TLV_DB_SCALE
    // mixer
    int32_t min = 0, max = 0, platform_max = 0;
    bool invert = false;
    uint32_t channels = 1;
    // enum
    std::vector<std::string> texts;
    std::vector<uint32_t> values;  ///< ENUM_VALUE controls: the register value of each item
    uint32_t mask = 0;
    // bytes
    uint32_t bytes_max = 0;
    PrivateData priv;
};

/// snd_soc_tplg_dapm_widget with its kcontrols.
struct Widget {
    uint32_t offset = 0;
    uint32_t index = 0;
    uint32_t id = 0;               ///< SND_SOC_TPLG_DAPM_*
    std::string name, sname;
    int32_t reg = -1;
    uint32_t shift = 0, mask = 0, subseq = 0;
    bool invert = false, ignore_suspend = false;
    uint16_t event_flags = 0, event_type = 0;
    std::vector<Kcontrol> kcontrols;
    PrivateData priv;
};

/// snd_soc_tplg_dapm_graph_elem: a (sink, control, source) route.
struct Route {
    uint32_t offset = 0;
    uint32_t index = 0;
    std::string sink, control, source;
};

/// snd_soc_tplg_stream_caps: what one direction of a DAI supports.
struct StreamCaps {
    std::string name;              ///< the DAI's stream name ("System Playback")
    uint64_t formats = 0;          ///< SNDRV_PCM_FMTBIT_*
    uint32_t rates = 0;            ///< SNDRV_PCM_RATE_*
    uint32_t rate_min = 0, rate_max = 0, channels_min = 0, channels_max = 0;
    uint32_t periods_min = 0, periods_max = 0, period_size_min = 0, period_size_max = 0;
    uint32_t buffer_size_min = 0, buffer_size_max = 0, sig_bits = 0;
};

/// snd_soc_tplg_stream: one configuration a link runs at.
struct StreamConfig {
    std::string name;
    uint64_t format = 0;           ///< SNDRV_PCM_FMTBIT_*
    uint32_t rate = 0;             ///< SNDRV_PCM_RATE_*
    uint32_t period_bytes = 0, buffer_bytes = 0, channels = 0;
};

/// snd_soc_tplg_pcm: an FE DAI and its FE DAI link.
struct Pcm {
    uint32_t offset = 0;
    uint32_t index = 0;
    int abi = 5;                   ///< the struct's version, told by its size
    std::string pcm_name, dai_name;
    uint32_t pcm_id = 0, dai_id = 0;
    bool playback = false, capture = false, compress = false;
    std::vector<StreamConfig> streams;
    StreamCaps caps[2];            ///< [playback, capture]
    uint32_t flag_mask = 0, flags = 0;  ///< SND_SOC_TPLG_LNK_FLGBIT_*
    PrivateData priv;
};

/// snd_soc_tplg_hw_config: a physical link's hardware format.
struct HwConfig {
    uint32_t id = 0;
    uint32_t fmt = 0;              ///< SND_SOC_DAI_FORMAT_*
    uint8_t clock_gated = 0, invert_bclk = 0, invert_fsync = 0;
    uint8_t bclk_provider = 0, fsync_provider = 0, mclk_direction = 0;  ///< SND_SOC_TPLG_BCLK_/FSYNC_/MCLK_*
    uint32_t mclk_rate = 0, bclk_rate = 0, fsync_rate = 0;
    uint32_t tdm_slots = 0, tdm_slot_width = 0, tx_slots = 0, rx_slots = 0;
    std::vector<uint32_t> tx_chanmap, rx_chanmap;
};

/// snd_soc_tplg_link_config: settings for a DAI link the machine driver declares (a BE).
struct LinkConfig {
    uint32_t offset = 0;
    uint32_t index = 0;
    uint32_t block_type = 0;       ///< DAI_LINK, CODEC_LINK or BACKEND_LINK
    int abi = 5;
    uint32_t id = 0;
    std::string name, stream_name; ///< empty = not used to match (and always in ABI 4)
    std::vector<StreamConfig> streams;
    std::vector<HwConfig> hw_configs;
    uint32_t default_hw_config_id = 0;
    uint32_t flag_mask = 0, flags = 0;
    PrivateData priv;
    /// The hw config the link starts with: the one whose id is default_hw_config_id, else the
    /// first; null without hw configs. Thread: any. Blocking: wait-free. Allocates: no.
    const HwConfig* default_hw_config() const noexcept;
};

/// snd_soc_tplg_dai: settings for a physical (BE) DAI, matched by name.
struct Dai {
    uint32_t offset = 0;
    uint32_t index = 0;
    std::string dai_name;
    uint32_t dai_id = 0;
    bool playback = false, capture = false;
    StreamCaps caps[2];
    uint32_t flag_mask = 0, flags = 0;  ///< SND_SOC_TPLG_DAI_FLGBIT_*
    PrivateData priv;
};

/// snd_soc_tplg_manifest: element totals the file declares.
struct Manifest {
    uint32_t offset = 0;
    int abi = 5;
    uint32_t control_elems = 0, widget_elems = 0, graph_elems = 0, pcm_elems = 0, dai_link_elems = 0, dai_elems = 0;
    PrivateData priv;
};

/// snd_soc_tplg_hdr: one block as the file has it.
struct Block {
    uint32_t offset = 0;           ///< of its header
    uint32_t type = 0, abi = 0, version = 0, vendor_type = 0, payload_size = 0, index = 0, count = 0;
};

/// A block the core does not interpret (vendor types >= 1000, PDATA, unknown): kept as read.
struct OpaqueBlock {
    uint32_t offset = 0;           ///< of its header
    uint32_t type = 0, vendor_type = 0, version = 0, index = 0;
    std::vector<uint8_t> payload;
};

struct Topology {
    std::string file;              ///< the name used in messages
    uint32_t abi = 0;              ///< the highest block ABI in the file (4 or 5)
    size_t size = 0;               ///< bytes
    std::vector<Block> blocks;
    std::optional<Manifest> manifest;
    std::vector<Kcontrol> controls;    ///< card-level kcontrols (mixer, enum, bytes blocks)
    std::vector<Widget> widgets;
    std::vector<Route> routes;
    std::vector<Pcm> pcms;
    std::vector<LinkConfig> links;
    std::vector<Dai> dais;
    std::vector<OpaqueBlock> opaque;
    /// Things kept but not understood, and manifest totals that disagree with the file:
    /// "file: offset 0x..: ...". Never fatal.
    std::vector<std::string> warnings;

    /// How many objects carry private data, and its total size and tuple count.
    /// Thread: any. Blocking: wait-free. Allocates: no.
    struct PrivateSummary {
        size_t objects = 0, bytes = 0, tuples = 0;
    };
    PrivateSummary private_summary() const;
};

/// Parses a topology binary. `filename` is used in messages. Thread: control.
/// Blocking: no. Allocates: yes. Never crashes or throws on malformed input: the error names
/// the byte offset and what is wrong there.
Result<Topology> parse_topology(std::span<const uint8_t> bytes, std::string_view filename);

/// Reads FILE.tplg, or compiles FILE.conf with alsatplg (alsa-utils; $DYNPCM_ALSATPLG overrides
/// the program) into a temporary file first; alsatplg's own warnings become the topology's.
/// Thread: control. Blocking: file I/O, and waits for alsatplg. Allocates: yes.
Result<Topology> load_topology_file(const std::string& path);

// ---- names for reports. Thread: any. Blocking: wait-free. Allocates: no.
/// "mixer", "pcm", "dapm graph", ... or "unknown".
const char* block_type_name(uint32_t type) noexcept;
/// The dynpcm name of a SND_SOC_TPLG_DAPM_* widget type ("aif_in"), or "unknown".
const char* widget_id_name(uint32_t id) noexcept;
/// "I2S", "DSP_A", ... for SND_SOC_DAI_FORMAT_*, or "unknown".
const char* dai_format_name(uint32_t fmt) noexcept;
/// Rates listed in a SNDRV_PCM_RATE_* mask, ascending. Allocates: yes.
std::vector<uint32_t> rates_of(uint32_t mask);

}  // namespace dynpcm::tplg

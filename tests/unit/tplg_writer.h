#pragma once
// A test-side builder of ALSA topology binaries (.tplg): blocks of objects laid out as the
// kernel uapi header <sound/asoc.h> has them, for the topology loader's tests.
//
// Every object is one of the uapi structs, zero-filled and then set field by field; the tests
// may change any field (or break it) before it is written. An object is written as its "wire"
// size: for the structs that end in `struct snd_soc_tplg_private priv`, sizeof() in C++ is one
// byte more than in C (the flexible-array union is an empty struct of size 1 here), so the
// file holds `offsetof(T, priv) + 4` bytes of them, followed by the private data itself.
//
// Multi-byte fields are assigned directly: the file format is little-endian and so is every
// host these tests run on (checked below).

#include <sound/asoc.h>
#include <sound/tlv.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace dynpcm::tplg_test {

static_assert(std::endian::native == std::endian::little, "the writer stores fields in host order");

using Bytes = std::vector<uint8_t>;

// ---- sizes

/// The bytes a uapi struct occupies in a topology file (see the file comment).
template <typename T>
constexpr size_t wire_size() {
    if constexpr (requires(T t) { t.priv; })
        return offsetof(T, priv) + sizeof(uint32_t);
    else
        return sizeof(T);
}

// ---- SNDRV_PCM_FMTBIT_* and SNDRV_PCM_RATE_* (kernel <sound/pcm.h>, not part of the uapi)

inline constexpr uint64_t kFmtS16LE = uint64_t{1} << 2;   // SNDRV_PCM_FORMAT_S16_LE = 2
inline constexpr uint64_t kFmtS24LE = uint64_t{1} << 6;   // SNDRV_PCM_FORMAT_S24_LE = 6
inline constexpr uint64_t kFmtS32LE = uint64_t{1} << 10;  // SNDRV_PCM_FORMAT_S32_LE = 10
inline constexpr uint64_t kFmtMuLaw =
    uint64_t{1} << 20;  // SNDRV_PCM_FORMAT_MU_LAW = 20 (dynpcm has no such format)

inline constexpr uint32_t kRate8000 = 1u << 1;
inline constexpr uint32_t kRate16000 = 1u << 3;
inline constexpr uint32_t kRate32000 = 1u << 5;
inline constexpr uint32_t kRate44100 = 1u << 6;
inline constexpr uint32_t kRate48000 = 1u << 7;
inline constexpr uint32_t kRate96000 = 1u << 10;
inline constexpr uint32_t kRate192000 = 1u << 12;

// ---- small helpers

/// Copies `s` into a fixed name field. A string of the field's full length is left without a
/// terminating NUL (which is how the tests make unterminated strings).
template <size_t N>
void set_name(char (&field)[N], std::string_view s) {
    std::memset(field, 0, N);
    if (!s.empty()) std::memcpy(field, s.data(), std::min(N, s.size()));
}

/// Appends the wire bytes of a struct.
template <typename T>
void append(Bytes& out, const T& v, size_t n = wire_size<T>()) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + n);
}

inline void append(Bytes& out, const Bytes& more) {
    out.insert(out.end(), more.begin(), more.end());
}

inline Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) append(out, p);
    return out;
}

inline void put_u32(Bytes& out, size_t at, uint32_t v) {
    std::memcpy(out.data() + at, &v, 4);
}
inline uint32_t get_u32(const Bytes& in, size_t at) {
    uint32_t v;
    std::memcpy(&v, in.data() + at, 4);
    return v;
}

/// A struct zero-filled, as the tests start every object.
template <typename T>
T zeroed() {
    T v;
    std::memset(&v, 0, sizeof v);
    return v;
}

/// An object's bytes: the struct (its private data size set when it has `priv`), then the
/// private data.
template <typename T>
Bytes object(T s, const Bytes& priv = {}) {
    if constexpr (requires(T t) { t.priv; }) s.priv.size = static_cast<uint32_t>(priv.size());
    Bytes out;
    append(out, s);
    append(out, priv);
    return out;
}

// ---- vendor arrays (the layout of private data that SOF and others use)

/// Builds a sequence of snd_soc_tplg_vendor_array: each call appends one array.
class VendorArrays {
  public:
    /// An array of value tuples (type WORD, SHORT, BYTE or BOOL).
    VendorArrays& values(uint32_t type,
                         std::initializer_list<std::pair<uint32_t, uint32_t>> tuples) {
        head(type, static_cast<uint32_t>(tuples.size()), sizeof(snd_soc_tplg_vendor_value_elem));
        for (const auto& [token, value] : tuples) {
            auto e = zeroed<snd_soc_tplg_vendor_value_elem>();
            e.token = token;
            e.value = value;
            append(bytes_, e);
        }
        return *this;
    }
    VendorArrays& words(std::initializer_list<std::pair<uint32_t, uint32_t>> tuples) {
        return values(SND_SOC_TPLG_TUPLE_TYPE_WORD, tuples);
    }
    VendorArrays& strings(std::initializer_list<std::pair<uint32_t, std::string_view>> tuples) {
        head(SND_SOC_TPLG_TUPLE_TYPE_STRING, static_cast<uint32_t>(tuples.size()),
             sizeof(snd_soc_tplg_vendor_string_elem));
        for (const auto& [token, s] : tuples) {
            auto e = zeroed<snd_soc_tplg_vendor_string_elem>();
            e.token = token;
            set_name(e.string, s);
            append(bytes_, e);
        }
        return *this;
    }
    VendorArrays& uuids(
        std::initializer_list<std::pair<uint32_t, std::array<uint8_t, 16>>> tuples) {
        head(SND_SOC_TPLG_TUPLE_TYPE_UUID, static_cast<uint32_t>(tuples.size()),
             sizeof(snd_soc_tplg_vendor_uuid_elem));
        for (const auto& [token, uuid] : tuples) {
            auto e = zeroed<snd_soc_tplg_vendor_uuid_elem>();
            e.token = token;
            std::memcpy(e.uuid, uuid.data(), 16);
            append(bytes_, e);
        }
        return *this;
    }
    const Bytes& bytes() const { return bytes_; }

  private:
    void head(uint32_t type, uint32_t n, size_t elem) {
        // size, type, num_elems: the fixed part of snd_soc_tplg_vendor_array.
        const uint32_t words[3] = {static_cast<uint32_t>(12 + n * elem), type, n};
        append(bytes_, words);
    }
    Bytes bytes_;
};

// ---- objects

/// snd_soc_tplg_manifest (ABI 5) with element totals.
inline snd_soc_tplg_manifest manifest(uint32_t controls, uint32_t widgets, uint32_t routes,
                                      uint32_t pcms, uint32_t links, uint32_t dais) {
    auto m = zeroed<snd_soc_tplg_manifest>();
    m.size = wire_size<snd_soc_tplg_manifest>();
    m.control_elems = controls, m.widget_elems = widgets, m.graph_elems = routes;
    m.pcm_elems = pcms, m.dai_link_elems = links, m.dai_elems = dais;
    return m;
}

/// snd_soc_tplg_manifest_v4 (no DAI total, no reserved words).
inline snd_soc_tplg_manifest_v4 manifest_v4(uint32_t controls, uint32_t widgets, uint32_t routes,
                                            uint32_t pcms, uint32_t links) {
    auto m = zeroed<snd_soc_tplg_manifest_v4>();
    m.size = wire_size<snd_soc_tplg_manifest_v4>();
    m.control_elems = controls, m.widget_elems = widgets, m.graph_elems = routes;
    m.pcm_elems = pcms, m.dai_link_elems = links;
    return m;
}

/// A control header: name, io ops (info = get = put = `info`), READWRITE access.
inline void control_header(snd_soc_tplg_ctl_hdr& h, std::string_view name, uint32_t info,
                           uint32_t type) {
    h.size = sizeof(snd_soc_tplg_ctl_hdr);
    h.type = type;
    set_name(h.name, name);
    h.access = SNDRV_CTL_ELEM_ACCESS_READWRITE;
    h.ops.info = info, h.ops.get = info, h.ops.put = info;
}

/// Gives a control header a TLV_DB_SCALE (min and step in 0.01 dB) and TLV read access.
inline void db_scale(snd_soc_tplg_ctl_hdr& h, int32_t min_cdb, int32_t step_cdb, bool mute) {
    h.access |= SNDRV_CTL_ELEM_ACCESS_TLV_READ;
    h.tlv.size = sizeof(snd_soc_tplg_ctl_tlv);
    h.tlv.type = SNDRV_CTL_TLVT_DB_SCALE;
    h.tlv.scale.min = static_cast<uint32_t>(min_cdb);
    h.tlv.scale.step = static_cast<uint32_t>(step_cdb);
    h.tlv.scale.mute = mute ? 1 : 0;
}

/// snd_soc_tplg_mixer_control: `channels` channels (reg 0, shift 8 * i), min..max.
inline snd_soc_tplg_mixer_control mixer(std::string_view name, int32_t min, int32_t max,
                                        uint32_t channels = 1,
                                        uint32_t info = SND_SOC_TPLG_CTL_VOLSW) {
    auto m = zeroed<snd_soc_tplg_mixer_control>();
    control_header(m.hdr, name, info, SND_SOC_TPLG_TYPE_MIXER);
    m.size = wire_size<snd_soc_tplg_mixer_control>();
    m.min = static_cast<uint32_t>(min);
    m.max = static_cast<uint32_t>(max);
    m.num_channels = channels;
    for (uint32_t i = 0; i < std::min<uint32_t>(channels, SND_SOC_TPLG_MAX_CHAN); ++i) {
        m.channel[i].size = sizeof(snd_soc_tplg_channel);
        m.channel[i].shift = 8 * i;
        m.channel[i].id = i;
    }
    return m;
}

/// snd_soc_tplg_enum_control with these texts (items = number of texts).
inline snd_soc_tplg_enum_control enum_control(std::string_view name,
                                              std::initializer_list<std::string_view> texts,
                                              uint32_t info = SND_SOC_TPLG_CTL_ENUM) {
    auto e = zeroed<snd_soc_tplg_enum_control>();
    control_header(e.hdr, name, info, SND_SOC_TPLG_TYPE_ENUM);
    e.size = wire_size<snd_soc_tplg_enum_control>();
    e.num_channels = 1;
    e.channel[0].size = sizeof(snd_soc_tplg_channel);
    e.items = static_cast<uint32_t>(texts.size());
    e.mask = 1;
    size_t i = 0;
    for (std::string_view t : texts) {
        if (i < SND_SOC_TPLG_NUM_TEXTS) set_name(e.texts[i], t);
        ++i;
    }
    return e;
}

/// snd_soc_tplg_bytes_control of `max` bytes.
inline snd_soc_tplg_bytes_control bytes_control(std::string_view name, uint32_t max) {
    auto b = zeroed<snd_soc_tplg_bytes_control>();
    control_header(b.hdr, name, SND_SOC_TPLG_CTL_BYTES, SND_SOC_TPLG_TYPE_BYTES);
    b.size = wire_size<snd_soc_tplg_bytes_control>();
    b.max = max;
    b.mask = 0xff;
    return b;
}

/// snd_soc_tplg_dapm_widget of type `id` (SND_SOC_TPLG_DAPM_*), with no kcontrols yet.
inline snd_soc_tplg_dapm_widget widget(std::string_view name, uint32_t id,
                                       std::string_view sname = {}) {
    auto w = zeroed<snd_soc_tplg_dapm_widget>();
    w.size = wire_size<snd_soc_tplg_dapm_widget>();
    w.id = id;
    set_name(w.name, name);
    set_name(w.sname, sname);
    w.reg = static_cast<uint32_t>(-1);
    return w;
}

/// A widget with its private data and kcontrols (each already written as bytes), as a widget
/// block holds it; num_kcontrols is set from `kcontrols`.
inline Bytes widget_with(snd_soc_tplg_dapm_widget w, std::initializer_list<Bytes> kcontrols,
                         const Bytes& priv = {}) {
    w.num_kcontrols = static_cast<uint32_t>(kcontrols.size());
    Bytes out = object(w, priv);
    for (const auto& k : kcontrols) append(out, k);
    return out;
}

/// snd_soc_tplg_dapm_graph_elem: a (sink, control, source) route.
inline snd_soc_tplg_dapm_graph_elem route(std::string_view sink, std::string_view control,
                                          std::string_view source) {
    auto g = zeroed<snd_soc_tplg_dapm_graph_elem>();
    set_name(g.sink, sink);
    set_name(g.control, control);
    set_name(g.source, source);
    return g;
}

/// The caps of one direction of a DAI: stream name, SNDRV_PCM_FMTBIT_* formats, SNDRV_PCM_RATE_*
/// rates, rate and channel ranges.
struct Caps {
    std::string_view name{};
    uint64_t formats = kFmtS16LE;
    uint32_t rates = kRate48000;
    uint32_t rate_min = 48000, rate_max = 48000;
    uint32_t channels_min = 2, channels_max = 2;
    uint32_t sig_bits = 0;
};

template <typename C>
void fill_caps(C& c, const Caps& in) {
    c.size = sizeof(C);
    set_name(c.name, in.name);
    c.formats = in.formats;
    c.rates = in.rates;
    c.rate_min = in.rate_min, c.rate_max = in.rate_max;
    c.channels_min = in.channels_min, c.channels_max = in.channels_max;
    c.periods_min = 2, c.periods_max = 16;
    c.period_size_min = 128, c.period_size_max = 65536;
    c.buffer_size_min = 256, c.buffer_size_max = 262144;
    if constexpr (std::is_same_v<C, snd_soc_tplg_stream_caps>) c.sig_bits = in.sig_bits;
}

/// snd_soc_tplg_stream: one stream config of a PCM or link config.
inline snd_soc_tplg_stream stream(std::string_view name, uint64_t format, uint32_t rate,
                                  uint32_t channels) {
    auto s = zeroed<snd_soc_tplg_stream>();
    s.size = sizeof(snd_soc_tplg_stream);
    set_name(s.name, name);
    s.format = format;
    s.rate = rate;
    s.channels = channels;
    s.period_bytes = 4096;
    s.buffer_bytes = 16384;
    return s;
}

template <typename P>
void fill_pcm(P& p, std::string_view pcm_name, std::string_view dai_name, uint32_t id,
              const std::optional<Caps>& playback, const std::optional<Caps>& capture) {
    p.size = wire_size<P>();
    set_name(p.pcm_name, pcm_name);
    set_name(p.dai_name, dai_name);
    p.pcm_id = id, p.dai_id = id;
    if (playback) {
        p.playback = 1;
        fill_caps(p.caps[SND_SOC_TPLG_STREAM_PLAYBACK], *playback);
    }
    if (capture) {
        p.capture = 1;
        fill_caps(p.caps[SND_SOC_TPLG_STREAM_CAPTURE], *capture);
    }
}

/// snd_soc_tplg_pcm (ABI 5): an FE DAI and link.
inline snd_soc_tplg_pcm pcm(std::string_view pcm_name, std::string_view dai_name, uint32_t id,
                            const std::optional<Caps>& playback,
                            const std::optional<Caps>& capture = std::nullopt) {
    auto p = zeroed<snd_soc_tplg_pcm>();
    fill_pcm(p, pcm_name, dai_name, id, playback, capture);
    return p;
}

/// snd_soc_tplg_pcm_v4: caps without sig_bits, no flags, no private data.
inline snd_soc_tplg_pcm_v4 pcm_v4(std::string_view pcm_name, std::string_view dai_name, uint32_t id,
                                  const std::optional<Caps>& playback,
                                  const std::optional<Caps>& capture = std::nullopt) {
    auto p = zeroed<snd_soc_tplg_pcm_v4>();
    fill_pcm(p, pcm_name, dai_name, id, playback, capture);
    return p;
}

/// snd_soc_tplg_hw_config: a DAI format (SND_SOC_DAI_FORMAT_*), who drives the clocks
/// (SND_SOC_TPLG_BCLK_* / _FSYNC_*) and a TDM layout.
inline snd_soc_tplg_hw_config hw_config(uint32_t id, uint32_t fmt, uint8_t bclk, uint8_t fsync,
                                        uint32_t tdm_slots = 0, uint32_t tdm_slot_width = 0) {
    auto h = zeroed<snd_soc_tplg_hw_config>();
    h.size = sizeof(snd_soc_tplg_hw_config);
    h.id = id;
    h.fmt = fmt;
    h.bclk_provider = bclk;
    h.fsync_provider = fsync;
    h.tdm_slots = tdm_slots;
    h.tdm_slot_width = tdm_slot_width;
    return h;
}

/// snd_soc_tplg_link_config (ABI 5).
inline snd_soc_tplg_link_config link_config(
    uint32_t id, std::string_view name, std::initializer_list<snd_soc_tplg_stream> streams = {},
    std::initializer_list<snd_soc_tplg_hw_config> hw_configs = {},
    uint32_t default_hw_config_id = 0) {
    auto l = zeroed<snd_soc_tplg_link_config>();
    l.size = wire_size<snd_soc_tplg_link_config>();
    l.id = id;
    set_name(l.name, name);
    uint32_t n = 0;
    for (const auto& s : streams)
        if (n < SND_SOC_TPLG_STREAM_CONFIG_MAX) l.stream[n++] = s;
    l.num_streams = static_cast<uint32_t>(streams.size());
    n = 0;
    for (const auto& h : hw_configs)
        if (n < SND_SOC_TPLG_HW_CONFIG_MAX) l.hw_config[n++] = h;
    l.num_hw_configs = static_cast<uint32_t>(hw_configs.size());
    l.default_hw_config_id = default_hw_config_id;
    return l;
}

/// snd_soc_tplg_link_config_v4: an id and stream configs only.
inline snd_soc_tplg_link_config_v4 link_config_v4(
    uint32_t id, std::initializer_list<snd_soc_tplg_stream> streams) {
    auto l = zeroed<snd_soc_tplg_link_config_v4>();
    l.size = wire_size<snd_soc_tplg_link_config_v4>();
    l.id = id;
    uint32_t n = 0;
    for (const auto& s : streams)
        if (n < SND_SOC_TPLG_STREAM_CONFIG_MAX) l.stream[n++] = s;
    l.num_streams = static_cast<uint32_t>(streams.size());
    return l;
}

/// snd_soc_tplg_dai: a physical DAI's configuration, matched by name.
inline snd_soc_tplg_dai dai(std::string_view name, uint32_t id, const std::optional<Caps>& playback,
                            const std::optional<Caps>& capture = std::nullopt) {
    auto d = zeroed<snd_soc_tplg_dai>();
    d.size = wire_size<snd_soc_tplg_dai>();
    set_name(d.dai_name, name);
    d.dai_id = id;
    if (playback) {
        d.playback = 1;
        fill_caps(d.caps[SND_SOC_TPLG_STREAM_PLAYBACK], *playback);
    }
    if (capture) {
        d.capture = 1;
        fill_caps(d.caps[SND_SOC_TPLG_STREAM_CAPTURE], *capture);
    }
    return d;
}

// ---- the file

/// snd_soc_tplg_hdr fields. payload_size, when negative, is the payload's length.
struct BlockHeader {
    uint32_t type = 0;
    uint32_t count = 1;
    uint32_t index = 0;
    uint32_t magic = SND_SOC_TPLG_MAGIC;
    uint32_t abi = SND_SOC_TPLG_ABI_VERSION;
    uint32_t version = 0;
    uint32_t size = sizeof(snd_soc_tplg_hdr);
    uint32_t vendor_type = 0;
    int64_t payload_size = -1;
};

/// A topology file: blocks appended in order.
class TplgWriter {
  public:
    /// Appends a block; returns the offset of its header.
    size_t block(const BlockHeader& h, const Bytes& payload) {
        const size_t at = bytes_.size();
        auto hdr = zeroed<snd_soc_tplg_hdr>();
        hdr.magic = h.magic;
        hdr.abi = h.abi;
        hdr.version = h.version;
        hdr.type = h.type;
        hdr.size = h.size;
        hdr.vendor_type = h.vendor_type;
        hdr.payload_size = static_cast<uint32_t>(
            h.payload_size < 0 ? static_cast<int64_t>(payload.size()) : h.payload_size);
        hdr.index = h.index;
        hdr.count = h.count;
        append(bytes_, hdr);
        append(bytes_, payload);
        return at;
    }
    /// The common case: a block of `count` elements of `type`, ABI 5.
    size_t block(uint32_t type, uint32_t count, const Bytes& payload, uint32_t index = 0) {
        return block(BlockHeader{.type = type, .count = count, .index = index}, payload);
    }
    /// Raw bytes (for trailing garbage and the like).
    void raw(const Bytes& b) { append(bytes_, b); }

    const Bytes& bytes() const { return bytes_; }
    Bytes& bytes() { return bytes_; }

  private:
    Bytes bytes_;
};

/// A file of one ABI 5 block (its payload starts at payload_at(0)).
inline Bytes single_block(uint32_t type, const Bytes& payload, uint32_t count = 1) {
    TplgWriter w;
    w.block(type, count, payload);
    return w.bytes();
}

/// Where a block's payload starts, given the offset of its header.
inline constexpr size_t payload_at(size_t header) {
    return header + sizeof(snd_soc_tplg_hdr);
}

}  // namespace dynpcm::tplg_test

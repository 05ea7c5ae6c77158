// Reading a topology binary. The layout is the kernel uapi's <sound/asoc.h>; the checks follow
// sound/soc/soc-topology.c (header size, magic, ABI range, sizes of versioned structs, element
// counts against the payload) and are stricter where the kernel trusts the file: every string
// must be terminated inside its field, and a block's elements must fill its payload exactly.
//
// Each object is copied out of the file with memcpy into the packed uapi struct after a bounds
// check, so nothing is read through a misaligned or out-of-range pointer.

#include "dynpcm/topology/topology.h"

#include <endian.h>
#include <sound/asoc.h>
#include <sound/tlv.h>

#include <fmt/format.h>

#include <cstring>
#include <type_traits>

namespace dynpcm::tplg {

namespace {

constexpr size_t kNameMax = SNDRV_CTL_ELEM_ID_NAME_MAXLEN;

// A little-endian field of the file in host order.
template <typename T>
T le(T v) {
    static_assert(std::is_unsigned_v<T>);
    if constexpr (sizeof(T) == 2) return le16toh(v);
    else if constexpr (sizeof(T) == 4) return le32toh(v);
    else if constexpr (sizeof(T) == 8) return le64toh(v);
    else return v;
}

// The size of a struct in the file. The uapi structs end in a flexible `priv` whose union of
// __DECLARE_FLEX_ARRAY members is one byte larger in C++ (an empty struct has size 1) than in
// C, so sizeof() is wrong by one for them: the file's size is up to `priv` plus its 4-byte size.
template <typename T>
constexpr size_t wire() {
    if constexpr (requires(T t) { t.priv; }) return offsetof(T, priv) + sizeof(uint32_t);
    else return sizeof(T);
}
constexpr size_t kPrivHeader = sizeof(uint32_t);  // snd_soc_tplg_private::size

// The file offset of `member` of the struct `obj` read at the local `at`, for messages. offsetof,
// not pointer arithmetic: a reference to a packed scalar member binds to a temporary copy.
#define FIELD(obj, member) (at + offsetof(std::remove_cvref_t<decltype(obj)>, member))

// The one error a parse ends with, thrown inside the parser and turned into a Result at the top.
struct ParseError {
    size_t offset;
    std::string message;
};

class Parser {
public:
    Parser(std::span<const uint8_t> bytes, std::string_view file) : data_(bytes) {
        t_.file = std::string(file);
        t_.size = bytes.size();
    }

    Result<Topology> run() {
        try {
            parse();
        } catch (const ParseError& e) {
            std::string where = block_;
            if (!element_.empty()) where += ", " + element_;
            return Error(-EINVAL, fmt::format("{}: offset {:#x}{}: {}", t_.file, e.offset,
                                              where.empty() ? "" : " (" + where + ")", e.message));
        }
        return std::move(t_);
    }

private:
    // ---- bounds-checked reads within [pos, end_) of the block being parsed
    [[noreturn]] void fail(size_t at, std::string message) { throw ParseError{at, std::move(message)}; }

    template <typename T>
    T read(size_t at, const char* what) {
        static_assert(std::is_trivially_copyable_v<T>);
        constexpr size_t n = wire<T>();
        if (at > end_ || end_ - at < n)
            fail(at, fmt::format("{} ({} bytes) overruns {}: only {} bytes are left (block ends at {:#x})", what,
                                 n, block_.empty() ? "the file" : "its block", at > end_ ? 0 : end_ - at, end_));
        T v{};
        std::memcpy(&v, data_.data() + at, n);
        return v;
    }

    std::string str(const char (&field)[kNameMax], size_t at, const char* what) {
        const size_t n = strnlen(field, kNameMax);
        if (n == kNameMax)
            fail(at, fmt::format("{} is not terminated within its {} bytes (\"{}...\")", what, kNameMax,
                                 printable(std::string_view(field, 16))));
        return std::string(field, n);
    }

    static std::string printable(std::string_view s) {
        std::string out;
        for (char c : s) out += (c >= 0x20 && c < 0x7f) ? c : '?';
        return out;
    }

    PrivateData private_data(size_t at, const char* owner) {
        const uint32_t size = le(read<uint32_t>(at, "private data size"));
        const size_t start = at + kPrivHeader;
        if (start > end_ || size > end_ - start)
            fail(at, fmt::format("{}'s private data size {} overruns its block (ends at {:#x}, {} bytes left)", owner,
                                 size, end_, start > end_ ? 0 : end_ - start));
        PrivateData d;
        d.offset = static_cast<uint32_t>(start);
        d.bytes.assign(data_.begin() + static_cast<ptrdiff_t>(start), data_.begin() + static_cast<ptrdiff_t>(start + size));
        d.tuples = vendor_tuples(d.bytes);
        return d;
    }

    // Vendor arrays when the bytes are exactly a sequence of well-formed ones; otherwise none:
    // private data is free-form, so a layout that does not fit is not an error.
    static std::vector<VendorTuple> vendor_tuples(const std::vector<uint8_t>& b) {
        std::vector<VendorTuple> out;
        size_t pos = 0;
        while (pos < b.size()) {
            constexpr size_t head = 12;  // size, type, num_elems
            if (b.size() - pos < head) return {};
            uint32_t size, type, n;
            std::memcpy(&size, &b[pos], 4);
            std::memcpy(&type, &b[pos + 4], 4);
            std::memcpy(&n, &b[pos + 8], 4);
            size = le(size), type = le(type), n = le(n);
            size_t elem;
            switch (type) {
                case SND_SOC_TPLG_TUPLE_TYPE_UUID: elem = sizeof(snd_soc_tplg_vendor_uuid_elem); break;
                case SND_SOC_TPLG_TUPLE_TYPE_STRING: elem = sizeof(snd_soc_tplg_vendor_string_elem); break;
                case SND_SOC_TPLG_TUPLE_TYPE_BOOL:
                case SND_SOC_TPLG_TUPLE_TYPE_BYTE:
                case SND_SOC_TPLG_TUPLE_TYPE_WORD:
                case SND_SOC_TPLG_TUPLE_TYPE_SHORT: elem = sizeof(snd_soc_tplg_vendor_value_elem); break;
                default: return {};
            }
            if (size > b.size() - pos || n > (b.size() - pos - head) / elem || size != head + n * elem) return {};
            for (uint32_t i = 0; i < n; ++i) {
                const uint8_t* e = &b[pos + head + i * elem];
                VendorTuple t;
                t.type = type;
                uint32_t token;
                std::memcpy(&token, e, 4);
                t.token = le(token);
                if (type == SND_SOC_TPLG_TUPLE_TYPE_UUID) {
                    std::memcpy(t.uuid.data(), e + 4, 16);
                } else if (type == SND_SOC_TPLG_TUPLE_TYPE_STRING) {
                    const char* s = reinterpret_cast<const char*>(e + 4);
                    t.string.assign(s, strnlen(s, kNameMax));
                } else {
                    uint32_t v;
                    std::memcpy(&v, e + 4, 4);
                    t.value = le(v);
                }
                out.push_back(std::move(t));
            }
            pos += size;
        }
        return out;
    }

    // ---- the file: a sequence of blocks
    void parse() {
        if (data_.size() < sizeof(snd_soc_tplg_hdr))
            fail(0, fmt::format("truncated: {} bytes, but a topology starts with a {}-byte block header", data_.size(),
                                sizeof(snd_soc_tplg_hdr)));
        size_t pos = 0;
        int n = 0;
        while (pos < data_.size()) {
            block_.clear();
            element_.clear();
            end_ = data_.size();
            const auto h = read<snd_soc_tplg_hdr>(pos, "block header");
            Block b{static_cast<uint32_t>(pos), le(h.type),         le(h.abi),   le(h.version), le(h.vendor_type),
                    le(h.payload_size),         le(h.index),        le(h.count)};
            if (le(h.magic) != SND_SOC_TPLG_MAGIC) {
                if (be32toh(h.magic) == SND_SOC_TPLG_MAGIC)
                    fail(pos, "big-endian topology: only little-endian files are supported");
                fail(pos, fmt::format("bad magic {:#010x} (a block starts with {:#010x}, 'CoSA')", le(h.magic),
                                      SND_SOC_TPLG_MAGIC));
            }
            block_ = fmt::format("block {}, {}", n, block_type_name(b.type));
            if (b.abi < SND_SOC_TPLG_ABI_VERSION_MIN || b.abi > SND_SOC_TPLG_ABI_VERSION)
                fail(pos + offsetof(snd_soc_tplg_hdr, abi),
                     fmt::format("unsupported ABI version {} (supported: {} and {})", b.abi, SND_SOC_TPLG_ABI_VERSION_MIN,
                                 SND_SOC_TPLG_ABI_VERSION));
            if (le(h.size) != sizeof(snd_soc_tplg_hdr))
                fail(pos + offsetof(snd_soc_tplg_hdr, size),
                     fmt::format("block header size {} (expected {})", le(h.size), sizeof(snd_soc_tplg_hdr)));
            const size_t payload = pos + sizeof(snd_soc_tplg_hdr);
            if (b.payload_size > data_.size() - payload)
                fail(pos + offsetof(snd_soc_tplg_hdr, payload_size),
                     fmt::format("payload size {} overruns the file: {} bytes are left after the header (truncated?)",
                                 b.payload_size, data_.size() - payload));
            if (b.payload_size == 0) fail(pos + offsetof(snd_soc_tplg_hdr, payload_size), "payload size 0");
            t_.blocks.push_back(b);
            t_.abi = std::max(t_.abi, b.abi);
            end_ = payload + b.payload_size;
            block(b, payload);
            pos = end_;
            ++n;
        }
        check_manifest();
    }

    void block(const Block& b, size_t pos) {
        switch (b.type) {
            case SND_SOC_TPLG_TYPE_MANIFEST: return finish(b, manifest(b, pos));
            case SND_SOC_TPLG_TYPE_MIXER:
            case SND_SOC_TPLG_TYPE_ENUM:
            case SND_SOC_TPLG_TYPE_BYTES: return elements(b, pos, "control", [&](size_t at) {
                auto k = kcontrol(at, b.index);
                const size_t next = k.second;
                t_.controls.push_back(std::move(k.first));
                return next;
            });
            case SND_SOC_TPLG_TYPE_DAPM_WIDGET: return elements(b, pos, "widget", [&](size_t at) { return widget(at, b.index); });
            case SND_SOC_TPLG_TYPE_DAPM_GRAPH: return elements(b, pos, "route", [&](size_t at) { return route(at, b.index); });
            case SND_SOC_TPLG_TYPE_PCM: return elements(b, pos, "PCM", [&](size_t at) { return pcm(at, b.index); });
            case SND_SOC_TPLG_TYPE_DAI_LINK:
            case SND_SOC_TPLG_TYPE_CODEC_LINK:
            case SND_SOC_TPLG_TYPE_BACKEND_LINK:
                return elements(b, pos, "link config", [&](size_t at) { return link(at, b); });
            case SND_SOC_TPLG_TYPE_DAI: return elements(b, pos, "DAI", [&](size_t at) { return dai(at, b.index); });
            default: break;
        }
        // The kernel hands these to the component driver (vendor_load); the core never reads them.
        OpaqueBlock o{b.offset, b.type, b.vendor_type, b.version, b.index,
                      std::vector<uint8_t>(data_.begin() + static_cast<ptrdiff_t>(pos), data_.begin() + static_cast<ptrdiff_t>(end_))};
        t_.warnings.push_back(fmt::format("{}: offset {:#x}: {} block (type {}, vendor type {}) of {} bytes kept, not interpreted",
                                          t_.file, b.offset, block_type_name(b.type), b.type, b.vendor_type, b.payload_size));
        t_.opaque.push_back(std::move(o));
    }

    // `count` elements, each parsed by `one` (which returns where the next starts), must fill
    // the payload exactly: a count that disagrees with the sizes is an error either way.
    template <typename F>
    void elements(const Block& b, size_t pos, const char* what, F&& one) {
        if (b.count == 0) fail(b.offset + offsetof(snd_soc_tplg_hdr, count), fmt::format("count is 0 in a {} block", what));
        for (uint32_t i = 0; i < b.count; ++i) {
            element_.clear();
            if (pos >= end_)
                fail(pos, fmt::format("count {} but the payload ({} bytes) ends after {} {}{}", b.count, b.payload_size, i,
                                      what, i == 1 ? "" : "s"));
            element_ = fmt::format("{} {}", what, i);
            pos = one(pos);
        }
        element_.clear();
        finish(b, pos);
    }

    void finish(const Block& b, size_t pos) {
        if (pos != end_)
            fail(pos, fmt::format("{} trailing bytes after the block's {} element{} (payload size {}): count and sizes disagree",
                                  end_ - pos, b.count, b.count == 1 ? "" : "s", b.payload_size));
    }

    // ---- objects
    size_t manifest(const Block& b, size_t pos) {
        if (b.count != 1) fail(b.offset + offsetof(snd_soc_tplg_hdr, count), fmt::format("manifest count {} (expected 1)", b.count));
        const uint32_t size = le(read<uint32_t>(pos, "manifest size"));
        Manifest m;
        m.offset = static_cast<uint32_t>(pos);
        size_t priv_at;
        if (size == wire<snd_soc_tplg_manifest>()) {
            const auto s = read<snd_soc_tplg_manifest>(pos, "manifest");
            m.control_elems = le(s.control_elems), m.widget_elems = le(s.widget_elems), m.graph_elems = le(s.graph_elems);
            m.pcm_elems = le(s.pcm_elems), m.dai_link_elems = le(s.dai_link_elems), m.dai_elems = le(s.dai_elems);
            priv_at = pos + offsetof(snd_soc_tplg_manifest, priv);
        } else if (size == wire<snd_soc_tplg_manifest_v4>()) {
            const auto s = read<snd_soc_tplg_manifest_v4>(pos, "manifest (ABI 4)");
            m.abi = 4;
            m.control_elems = le(s.control_elems), m.widget_elems = le(s.widget_elems), m.graph_elems = le(s.graph_elems);
            m.pcm_elems = le(s.pcm_elems), m.dai_link_elems = le(s.dai_link_elems);
            priv_at = pos + offsetof(snd_soc_tplg_manifest_v4, priv);
        } else {
            fail(pos, fmt::format("manifest size {} is neither ABI 5's {} nor ABI 4's {}", size, wire<snd_soc_tplg_manifest>(),
                                  wire<snd_soc_tplg_manifest_v4>()));
        }
        m.priv = private_data(priv_at, "manifest");
        t_.manifest = std::move(m);
        return priv_at + kPrivHeader + t_.manifest->priv.bytes.size();
    }

    void ctl_hdr(const snd_soc_tplg_ctl_hdr& h, size_t at, Kcontrol& k) {
        if (le(h.size) != sizeof(snd_soc_tplg_ctl_hdr))
            fail(at, fmt::format("control header size {} (expected {})", le(h.size), sizeof(snd_soc_tplg_ctl_hdr)));
        k.offset = static_cast<uint32_t>(at);
        k.name = str(h.name, FIELD(h, name), "control name");
        k.access = le(h.access);
        k.info_op = le(h.ops.info), k.get_op = le(h.ops.get), k.put_op = le(h.ops.put);
        constexpr uint32_t tlv_access = SNDRV_CTL_ELEM_ACCESS_TLV_READ | SNDRV_CTL_ELEM_ACCESS_TLV_WRITE |
                                        SNDRV_CTL_ELEM_ACCESS_TLV_CALLBACK;
        if (k.access & tlv_access) {
            k.tlv_type = le(h.tlv.type);
            if (k.tlv_type == SNDRV_CTL_TLVT_DB_SCALE) {
                DbScale s;
                s.min_cdb = static_cast<int32_t>(le(h.tlv.scale.min));
                s.step_cdb = static_cast<int32_t>(le(h.tlv.scale.step));
                s.mute = le(h.tlv.scale.mute) != 0;
                k.db = s;
            }
        }
    }

    // What the three kcontrol structs share: the control header, their own size field and,
    // after the struct, their private data (control_end: where the next object starts).
    template <typename T>
    T control_struct(size_t at, Kcontrol& k, const char* what) {
        const auto c = read<T>(at, what);
        ctl_hdr(c.hdr, at, k);
        if (le(c.size) != wire<T>())
            fail(FIELD(c, size), fmt::format("{} '{}': size {} (expected {})", what, k.name, le(c.size), wire<T>()));
        return c;
    }
    template <typename T>
    size_t control_end(const T& c, size_t at, Kcontrol& k, const char* what) {
        k.priv = private_data(FIELD(c, priv), what);
        return at + wire<T>() + k.priv.bytes.size();
    }
    uint32_t channels(uint32_t n, size_t at, const Kcontrol& k, const char* what) {
        if (n > SND_SOC_TPLG_MAX_CHAN)
            fail(at, fmt::format("{} '{}': {} channels (at most {})", what, k.name, n, SND_SOC_TPLG_MAX_CHAN));
        return n;
    }

    // A kcontrol of any kind, told by its io ops' info type as the kernel tells it.
    std::pair<Kcontrol, size_t> kcontrol(size_t at, uint32_t index) {
        const auto h = read<snd_soc_tplg_ctl_hdr>(at, "control header");
        Kcontrol k;
        k.index = index;
        switch (le(h.ops.info)) {
            case SND_SOC_TPLG_CTL_VOLSW:
            case SND_SOC_TPLG_CTL_VOLSW_SX:
            case SND_SOC_TPLG_CTL_VOLSW_XR_SX:
            case SND_SOC_TPLG_CTL_RANGE:
            case SND_SOC_TPLG_CTL_STROBE:
            case SND_SOC_TPLG_DAPM_CTL_VOLSW:
            case SND_SOC_TPLG_DAPM_CTL_PIN: {
                const auto m = control_struct<snd_soc_tplg_mixer_control>(at, k, "mixer control");
                k.kind = Kcontrol::Kind::Mixer;
                k.min = static_cast<int32_t>(le(m.min)), k.max = static_cast<int32_t>(le(m.max));
                k.platform_max = static_cast<int32_t>(le(m.platform_max));
                k.invert = le(m.invert) != 0;
                k.channels = channels(le(m.num_channels), FIELD(m, num_channels), k, "mixer control");
                const size_t next = control_end(m, at, k, "mixer control");
                return {std::move(k), next};
            }
            case SND_SOC_TPLG_CTL_ENUM:
            case SND_SOC_TPLG_CTL_ENUM_VALUE:
            case SND_SOC_TPLG_DAPM_CTL_ENUM_DOUBLE:
            case SND_SOC_TPLG_DAPM_CTL_ENUM_VIRT:
            case SND_SOC_TPLG_DAPM_CTL_ENUM_VALUE: {
                const auto e = control_struct<snd_soc_tplg_enum_control>(at, k, "enum control");
                k.kind = Kcontrol::Kind::Enum;
                k.channels = channels(le(e.num_channels), FIELD(e, num_channels), k, "enum control");
                k.mask = le(e.mask);
                const uint32_t items = le(e.items);
                if (items > SND_SOC_TPLG_NUM_TEXTS)
                    fail(FIELD(e, items), fmt::format("enum control '{}': {} items (at most {})", k.name, items,
                                                      SND_SOC_TPLG_NUM_TEXTS));
                for (uint32_t i = 0; i < items; ++i)
                    k.texts.push_back(str(e.texts[i], FIELD(e, texts) + i * kNameMax, "enum text"));
                const uint32_t op = le(e.hdr.ops.info);
                if (op == SND_SOC_TPLG_CTL_ENUM_VALUE || op == SND_SOC_TPLG_DAPM_CTL_ENUM_VALUE)
                    for (uint32_t i = 0; i < items; ++i) k.values.push_back(le(e.values[i]));
                const size_t next = control_end(e, at, k, "enum control");
                return {std::move(k), next};
            }
            case SND_SOC_TPLG_CTL_BYTES: {
                const auto b = control_struct<snd_soc_tplg_bytes_control>(at, k, "bytes control");
                k.kind = Kcontrol::Kind::Bytes;
                k.bytes_max = le(b.max);
                k.mask = le(b.mask);
                const size_t next = control_end(b, at, k, "bytes control");
                return {std::move(k), next};
            }
            default:
                fail(at + offsetof(snd_soc_tplg_ctl_hdr, ops.info),
                     fmt::format("control '{}': unknown control type (ops.info) {}",
                                 printable(std::string_view(h.name, strnlen(h.name, kNameMax))), le(h.ops.info)));
        }
    }

    size_t widget(size_t at, uint32_t index) {
        const auto w = read<snd_soc_tplg_dapm_widget>(at, "widget");
        if (le(w.size) != wire<decltype(w)>()) fail(at, fmt::format("widget size {} (expected {})", le(w.size), wire<decltype(w)>()));
        Widget x;
        x.offset = static_cast<uint32_t>(at);
        x.index = index;
        x.name = str(w.name, FIELD(w, name), "widget name");
        x.sname = str(w.sname, FIELD(w, sname), "widget stream name");
        x.id = le(w.id);
        if (x.id > SND_SOC_TPLG_DAPM_LAST)
            fail(FIELD(w, id), fmt::format("widget '{}': unknown widget type {} (0..{})", x.name, x.id, SND_SOC_TPLG_DAPM_LAST));
        x.reg = static_cast<int32_t>(le(w.reg));
        x.shift = le(w.shift), x.mask = le(w.mask), x.subseq = le(w.subseq);
        x.invert = le(w.invert) != 0, x.ignore_suspend = le(w.ignore_suspend) != 0;
        x.event_flags = le(w.event_flags), x.event_type = le(w.event_type);
        x.priv = private_data(FIELD(w, priv), "widget");
        size_t pos = at + wire<decltype(w)>() + x.priv.bytes.size();
        const uint32_t n = le(w.num_kcontrols);
        // Each kcontrol is at least a control header: a count the payload cannot hold is wrong.
        if (n > (end_ - std::min(pos, end_)) / sizeof(snd_soc_tplg_ctl_hdr))
            fail(FIELD(w, num_kcontrols), fmt::format("widget '{}': {} kcontrols cannot fit in the {} bytes left in the block",
                                                               x.name, n, end_ - std::min(pos, end_)));
        for (uint32_t i = 0; i < n; ++i) {
            auto k = kcontrol(pos, index);
            x.kcontrols.push_back(std::move(k.first));
            pos = k.second;
        }
        t_.widgets.push_back(std::move(x));
        return pos;
    }

    size_t route(size_t at, uint32_t index) {
        const auto g = read<snd_soc_tplg_dapm_graph_elem>(at, "route");
        Route r;
        r.offset = static_cast<uint32_t>(at);
        r.index = index;
        r.sink = str(g.sink, FIELD(g, sink), "route sink");
        r.control = str(g.control, FIELD(g, control), "route control");
        r.source = str(g.source, FIELD(g, source), "route source");
        t_.routes.push_back(std::move(r));
        return at + sizeof(g);
    }

    template <typename Caps>
    StreamCaps caps(const Caps& c, size_t at) {
        StreamCaps s;
        s.name = str(c.name, FIELD(c, name), "stream caps name");
        s.formats = le(c.formats), s.rates = le(c.rates), s.rate_min = le(c.rate_min), s.rate_max = le(c.rate_max);
        s.channels_min = le(c.channels_min), s.channels_max = le(c.channels_max);
        s.periods_min = le(c.periods_min), s.periods_max = le(c.periods_max);
        s.period_size_min = le(c.period_size_min), s.period_size_max = le(c.period_size_max);
        s.buffer_size_min = le(c.buffer_size_min), s.buffer_size_max = le(c.buffer_size_max);
        if constexpr (std::is_same_v<Caps, snd_soc_tplg_stream_caps>) s.sig_bits = le(c.sig_bits);
        return s;
    }

    std::vector<StreamConfig> streams(const snd_soc_tplg_stream (&st)[SND_SOC_TPLG_STREAM_CONFIG_MAX], uint32_t n,
                                      size_t at_n, size_t at_first, const char* owner) {
        if (n > SND_SOC_TPLG_STREAM_CONFIG_MAX)
            fail(at_n, fmt::format("{}: {} stream configs (at most {})", owner, n, SND_SOC_TPLG_STREAM_CONFIG_MAX));
        std::vector<StreamConfig> out;
        for (uint32_t i = 0; i < n; ++i) {
            const size_t at = at_first + i * sizeof(snd_soc_tplg_stream);
            StreamConfig c;
            c.name = str(st[i].name, at + offsetof(snd_soc_tplg_stream, name), "stream config name");
            c.format = le(st[i].format), c.rate = le(st[i].rate), c.period_bytes = le(st[i].period_bytes);
            c.buffer_bytes = le(st[i].buffer_bytes), c.channels = le(st[i].channels);
            out.push_back(std::move(c));
        }
        return out;
    }

    size_t pcm(size_t at, uint32_t index) {
        const uint32_t size = le(read<uint32_t>(at, "PCM size"));
        Pcm p;
        p.offset = static_cast<uint32_t>(at);
        p.index = index;
        auto common = [&](const auto& s) {
            p.pcm_name = str(s.pcm_name, FIELD(s, pcm_name), "PCM name");
            p.dai_name = str(s.dai_name, FIELD(s, dai_name), "PCM DAI name");
            p.pcm_id = le(s.pcm_id), p.dai_id = le(s.dai_id);
            p.playback = le(s.playback) != 0, p.capture = le(s.capture) != 0, p.compress = le(s.compress) != 0;
            p.streams = streams(s.stream, le(s.num_streams), FIELD(s, num_streams), FIELD(s, stream), "PCM");
            for (int d = 0; d < 2; ++d) p.caps[d] = caps(s.caps[d], FIELD(s, caps) + static_cast<size_t>(d) * sizeof(s.caps[0]));
        };
        if (size == wire<snd_soc_tplg_pcm>()) {
            const auto s = read<snd_soc_tplg_pcm>(at, "PCM");
            common(s);
            p.flag_mask = le(s.flag_mask), p.flags = le(s.flags);
            p.priv = private_data(FIELD(s, priv), "PCM");
            t_.pcms.push_back(std::move(p));
            return at + wire<decltype(s)>() + t_.pcms.back().priv.bytes.size();
        }
        if (size == wire<snd_soc_tplg_pcm_v4>()) {
            const auto s = read<snd_soc_tplg_pcm_v4>(at, "PCM (ABI 4)");
            common(s);
            p.abi = 4;
            t_.pcms.push_back(std::move(p));
            return at + wire<decltype(s)>();
        }
        fail(at, fmt::format("PCM size {} is neither ABI 5's {} nor ABI 4's {}", size, wire<snd_soc_tplg_pcm>(),
                             wire<snd_soc_tplg_pcm_v4>()));
    }

    size_t link(size_t at, const Block& b) {
        const uint32_t size = le(read<uint32_t>(at, "link config size"));
        LinkConfig l;
        l.offset = static_cast<uint32_t>(at);
        l.index = b.index;
        l.block_type = b.type;
        if (size == wire<snd_soc_tplg_link_config_v4>()) {
            const auto s = read<snd_soc_tplg_link_config_v4>(at, "link config (ABI 4)");
            l.abi = 4;
            l.id = le(s.id);
            l.streams = streams(s.stream, le(s.num_streams), FIELD(s, num_streams), FIELD(s, stream), "link config");
            t_.links.push_back(std::move(l));
            return at + wire<decltype(s)>();
        }
        if (size != wire<snd_soc_tplg_link_config>())
            fail(at, fmt::format("link config size {} is neither ABI 5's {} nor ABI 4's {}", size,
                                 wire<snd_soc_tplg_link_config>(), wire<snd_soc_tplg_link_config_v4>()));
        const auto s = read<snd_soc_tplg_link_config>(at, "link config");
        l.id = le(s.id);
        l.name = str(s.name, FIELD(s, name), "link config name");
        l.stream_name = str(s.stream_name, FIELD(s, stream_name), "link config stream name");
        l.streams = streams(s.stream, le(s.num_streams), FIELD(s, num_streams), FIELD(s, stream), "link config");
        const uint32_t nhw = le(s.num_hw_configs);
        if (nhw > SND_SOC_TPLG_HW_CONFIG_MAX)
            fail(FIELD(s, num_hw_configs), fmt::format("link config {}: {} hw configs (at most {})", l.id, nhw,
                                                                SND_SOC_TPLG_HW_CONFIG_MAX));
        for (uint32_t i = 0; i < nhw; ++i) {
            const auto& c = s.hw_config[i];
            const size_t hat = FIELD(s, hw_config) + i * sizeof(c);
            if (le(c.size) != sizeof(c)) fail(hat, fmt::format("hw config {}: size {} (expected {})", i, le(c.size), sizeof(c)));
            HwConfig h;
            h.id = le(c.id), h.fmt = le(c.fmt);
            h.clock_gated = c.clock_gated, h.invert_bclk = c.invert_bclk, h.invert_fsync = c.invert_fsync;
            h.bclk_provider = c.bclk_provider, h.fsync_provider = c.fsync_provider, h.mclk_direction = c.mclk_direction;
            h.mclk_rate = le(c.mclk_rate), h.bclk_rate = le(c.bclk_rate), h.fsync_rate = le(c.fsync_rate);
            h.tdm_slots = le(c.tdm_slots), h.tdm_slot_width = le(c.tdm_slot_width);
            h.tx_slots = le(c.tx_slots), h.rx_slots = le(c.rx_slots);
            const uint32_t tx = le(c.tx_channels), rx = le(c.rx_channels);
            if (tx > SND_SOC_TPLG_MAX_CHAN || rx > SND_SOC_TPLG_MAX_CHAN)
                fail(hat, fmt::format("hw config {}: {} tx / {} rx channels (at most {})", i, tx, rx, SND_SOC_TPLG_MAX_CHAN));
            for (uint32_t ch = 0; ch < tx; ++ch) h.tx_chanmap.push_back(le(c.tx_chanmap[ch]));
            for (uint32_t ch = 0; ch < rx; ++ch) h.rx_chanmap.push_back(le(c.rx_chanmap[ch]));
            l.hw_configs.push_back(std::move(h));
        }
        l.default_hw_config_id = le(s.default_hw_config_id);
        l.flag_mask = le(s.flag_mask), l.flags = le(s.flags);
        l.priv = private_data(FIELD(s, priv), "link config");
        t_.links.push_back(std::move(l));
        return at + wire<decltype(s)>() + t_.links.back().priv.bytes.size();
    }

    size_t dai(size_t at, uint32_t index) {
        const auto s = read<snd_soc_tplg_dai>(at, "DAI");
        if (le(s.size) != wire<decltype(s)>()) fail(at, fmt::format("DAI size {} (expected {})", le(s.size), wire<decltype(s)>()));
        Dai d;
        d.offset = static_cast<uint32_t>(at);
        d.index = index;
        d.dai_name = str(s.dai_name, FIELD(s, dai_name), "DAI name");
        d.dai_id = le(s.dai_id);
        d.playback = le(s.playback) != 0, d.capture = le(s.capture) != 0;
        for (int i = 0; i < 2; ++i) d.caps[i] = caps(s.caps[i], FIELD(s, caps) + static_cast<size_t>(i) * sizeof(s.caps[0]));
        d.flag_mask = le(s.flag_mask), d.flags = le(s.flags);
        d.priv = private_data(FIELD(s, priv), "DAI");
        t_.dais.push_back(std::move(d));
        return at + wire<decltype(s)>() + t_.dais.back().priv.bytes.size();
    }

    // The manifest's totals are advisory (the kernel passes them to the driver and never
    // checks them); a mismatch usually means a hand-edited or truncated build, so say so.
    // Controls are left out: alsatplg counts each distinct kcontrol once, though widgets that
    // share one each carry a copy.
    void check_manifest() {
        if (!t_.manifest) return;
        const Manifest& m = *t_.manifest;
        const std::pair<const char*, std::pair<size_t, size_t>> totals[] = {
            {"widgets", {m.widget_elems, t_.widgets.size()}},
            {"routes", {m.graph_elems, t_.routes.size()}}, {"PCMs", {m.pcm_elems, t_.pcms.size()}},
            {"link configs", {m.dai_link_elems, t_.links.size()}}, {"DAIs", {m.dai_elems, t_.dais.size()}}};
        for (const auto& [what, n] : totals)
            if (n.first != n.second && !(m.abi == 4 && std::string_view(what) == "DAIs"))
                t_.warnings.push_back(fmt::format("{}: offset {:#x}: the manifest counts {} {}, the file holds {}", t_.file,
                                                  m.offset, n.first, what, n.second));
    }

    std::span<const uint8_t> data_;
    Topology t_;
    size_t end_ = 0;                 // where the current block's payload ends
    // "block 2, pcm" and "PCM 1", for messages; block_ is empty while a header is read, when the
    // limit end_ is the file's end rather than a block's.
    std::string block_, element_;
};

#undef FIELD

}  // namespace

const HwConfig* LinkConfig::default_hw_config() const noexcept {
    for (const auto& h : hw_configs)
        if (h.id == default_hw_config_id) return &h;
    return hw_configs.empty() ? nullptr : &hw_configs.front();
}

Topology::PrivateSummary Topology::private_summary() const {
    PrivateSummary s;
    auto add = [&](const PrivateData& p) {
        if (p.empty()) return;
        ++s.objects;
        s.bytes += p.bytes.size();
        s.tuples += p.tuples.size();
    };
    if (manifest) add(manifest->priv);
    for (const auto& k : controls) add(k.priv);
    for (const auto& w : widgets) {
        add(w.priv);
        for (const auto& k : w.kcontrols) add(k.priv);
    }
    for (const auto& p : pcms) add(p.priv);
    for (const auto& l : links) add(l.priv);
    for (const auto& d : dais) add(d.priv);
    return s;
}

Result<Topology> parse_topology(std::span<const uint8_t> bytes, std::string_view filename) {
    return Parser(bytes, filename).run();
}

const char* block_type_name(uint32_t type) noexcept {
    switch (type) {
        case SND_SOC_TPLG_TYPE_MIXER: return "mixer";
        case SND_SOC_TPLG_TYPE_BYTES: return "bytes";
        case SND_SOC_TPLG_TYPE_ENUM: return "enum";
        case SND_SOC_TPLG_TYPE_DAPM_GRAPH: return "dapm graph";
        case SND_SOC_TPLG_TYPE_DAPM_WIDGET: return "dapm widget";
        case SND_SOC_TPLG_TYPE_DAI_LINK: return "dai link";
        case SND_SOC_TPLG_TYPE_PCM: return "pcm";
        case SND_SOC_TPLG_TYPE_MANIFEST: return "manifest";
        case SND_SOC_TPLG_TYPE_CODEC_LINK: return "codec link";
        case SND_SOC_TPLG_TYPE_BACKEND_LINK: return "backend link";
        case SND_SOC_TPLG_TYPE_PDATA: return "private data";
        case SND_SOC_TPLG_TYPE_DAI: return "dai";
        case SND_SOC_TPLG_TYPE_VENDOR_FW: return "vendor firmware";
        case SND_SOC_TPLG_TYPE_VENDOR_CONFIG: return "vendor config";
        case SND_SOC_TPLG_TYPE_VENDOR_COEFF: return "vendor coefficients";
        case SND_SOC_TPLG_TYPEVENDOR_CODEC: return "vendor codec";
        default: return "unknown";
    }
}

const char* widget_id_name(uint32_t id) noexcept {
    static constexpr const char* names[] = {"input",  "output",  "mux",     "mixer",     "pga",    "out_drv",
                                            "adc",    "dac",     "switch",  "pre",       "post",   "aif_in",
                                            "aif_out", "dai_in", "dai_out", "dai_link",  "buffer", "scheduler",
                                            "effect", "siggen",  "src",     "asrc",      "encoder", "decoder"};
    static_assert(std::size(names) == SND_SOC_TPLG_DAPM_LAST + 1);
    return id <= SND_SOC_TPLG_DAPM_LAST ? names[id] : "unknown";
}

const char* dai_format_name(uint32_t fmt) noexcept {
    switch (fmt) {
        case SND_SOC_DAI_FORMAT_I2S: return "I2S";
        case SND_SOC_DAI_FORMAT_RIGHT_J: return "RIGHT_J";
        case SND_SOC_DAI_FORMAT_LEFT_J: return "LEFT_J";
        case SND_SOC_DAI_FORMAT_DSP_A: return "DSP_A";
        case SND_SOC_DAI_FORMAT_DSP_B: return "DSP_B";
        case SND_SOC_DAI_FORMAT_AC97: return "AC97";
        case SND_SOC_DAI_FORMAT_PDM: return "PDM";
        default: return "unknown";
    }
}

std::vector<uint32_t> rates_of(uint32_t mask) {
    // SNDRV_PCM_RATE_5512 .. SNDRV_PCM_RATE_384000, bit by bit.
    static constexpr uint32_t rates[] = {5512,  8000,  11025, 16000,  22050,  32000,  44100, 48000,
                                         64000, 88200, 96000, 176400, 192000, 352800, 384000};
    std::vector<uint32_t> out;
    for (size_t i = 0; i < std::size(rates); ++i)
        if (mask & (1u << i)) out.push_back(rates[i]);
    return out;
}

}  // namespace dynpcm::tplg

// The dynpcmd wire protocol: framing, field readers and writers, and each message's codec.

#include "dynpcm/daemon/protocol.h"

#include <fmt/format.h>

#include <cstring>

#include "dynpcm/pcm/format.h"

namespace dynpcm::ipc {

const char* type_name(uint16_t type) noexcept {
    switch (static_cast<Type>(type)) {
        case Type::Hello: return "Hello";
        case Type::CtlList: return "CtlList";
        case Type::CtlRead: return "CtlRead";
        case Type::CtlWrite: return "CtlWrite";
        case Type::Subscribe: return "Subscribe";
        case Type::Dump: return "Dump";
        case Type::Routes: return "Routes";
        case Type::Status: return "Status";
        case Type::Jack: return "Jack";
        case Type::FeOpen: return "FeOpen";
        case Type::FeConfigure: return "FeConfigure";
        case Type::FeTrigger: return "FeTrigger";
        case Type::FeClose: return "FeClose";
        case Type::FeSwParams: return "FeSwParams";
        case Type::HelloReply: return "HelloReply";
        case Type::CtlListReply: return "CtlListReply";
        case Type::CtlValues: return "CtlValues";
        case Type::WriteReply: return "WriteReply";
        case Type::Ok: return "Ok";
        case Type::Text: return "Text";
        case Type::FeReply: return "FeReply";
        case Type::Error: return "Error";
        case Type::CtlEvent: return "CtlEvent";
        case Type::Bye: return "Bye";
    }
    return nullptr;
}

// ---- Writer ----------------------------------------------------------------------------------

Writer::Writer(Type type, uint32_t seq) {
    buf_.reserve(64);
    u32(0);  // the length, patched by finish()
    u16(static_cast<uint16_t>(type));
    u16(0);
    u32(seq);
}

void Writer::u8(uint8_t v) { buf_.push_back(static_cast<std::byte>(v)); }
void Writer::u16(uint16_t v) {
    u8(static_cast<uint8_t>(v));
    u8(static_cast<uint8_t>(v >> 8));
}
void Writer::u32(uint32_t v) {
    u16(static_cast<uint16_t>(v));
    u16(static_cast<uint16_t>(v >> 16));
}
void Writer::i64(int64_t v) {
    const auto u = static_cast<uint64_t>(v);
    u32(static_cast<uint32_t>(u));
    u32(static_cast<uint32_t>(u >> 32));
}
void Writer::str(std::string_view s) {
    const size_t n = std::min<size_t>(s.size(), 0xffff);
    u16(static_cast<uint16_t>(n));
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    buf_.insert(buf_.end(), p, p + n);
}

std::vector<std::byte> Writer::finish() && {
    const auto len = static_cast<uint32_t>(buf_.size() - 4);
    for (int i = 0; i < 4; ++i) buf_[static_cast<size_t>(i)] = static_cast<std::byte>(len >> (8 * i));
    return std::move(buf_);
}

uint32_t frame_length(const std::byte* p) noexcept {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
           static_cast<uint32_t>(p[3]) << 24;
}

// ---- Reader ----------------------------------------------------------------------------------

bool is_wire_format(uint8_t f) noexcept {
    // The Format enum's values (dynpcm/pcm/format.h): the plugin links no engine code to ask it.
    using F = Format;
    for (F known : {F::S8, F::U8, F::S16_LE, F::S16_BE, F::S24_LE, F::S24_BE, F::S32_LE, F::S32_BE, F::FLOAT_LE,
                    F::FLOAT64_LE, F::S24_3LE, F::S24_3BE})
        if (static_cast<uint8_t>(known) == f) return true;
    return false;
}

bool valid_utf8(std::string_view s) noexcept {
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        uint32_t cp = n == 1 ? c : c & (0x7fU >> n);
        for (size_t k = 1; k < n; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d >> 6) != 0x2) return false;
            cp = cp << 6 | (d & 0x3fU);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n;
    }
    return true;
}

bool Reader::take(size_t n, const char* field) {
    if (!error_.empty()) return false;
    if (b_.size() - off_ < n) {
        error_ = fmt::format("{}: truncated at byte {}: field '{}' needs {} bytes, {} left", msg_, off_ + kHeaderSize,
                             field, n, b_.size() - off_);
        return false;
    }
    return true;
}

uint8_t Reader::u8(const char* field) {
    if (!take(1, field)) return 0;
    return static_cast<uint8_t>(b_[off_++]);
}
uint16_t Reader::u16(const char* field) {
    if (!take(2, field)) return 0;
    const auto v = static_cast<uint16_t>(static_cast<uint16_t>(b_[off_]) | static_cast<uint16_t>(b_[off_ + 1]) << 8);
    off_ += 2;
    return v;
}
uint32_t Reader::u32(const char* field) {
    if (!take(4, field)) return 0;
    const uint32_t v = frame_length(b_.data() + off_);
    off_ += 4;
    return v;
}
int64_t Reader::i64(const char* field) {
    if (!take(8, field)) return 0;
    const uint64_t lo = frame_length(b_.data() + off_), hi = frame_length(b_.data() + off_ + 4);
    off_ += 8;
    return static_cast<int64_t>(lo | hi << 32);
}
bool Reader::flag(const char* field) {
    const size_t at = off_;
    const uint8_t v = u8(field);
    if (v > 1 && error_.empty())
        error_ = fmt::format("{}: byte {}: field '{}' is {}, not 0 or 1", msg_, at + kHeaderSize, field, v);
    return v == 1;
}
std::string Reader::str(const char* field, size_t max) {
    const size_t at = off_;
    const uint16_t n = u16(field);
    if (!error_.empty()) return {};
    if (n > max) {
        error_ = fmt::format("{}: byte {}: field '{}' is {} bytes long, the limit is {}", msg_, at + kHeaderSize, field,
                             n, max);
        return {};
    }
    if (!take(n, field)) return {};
    std::string s(reinterpret_cast<const char*>(b_.data() + off_), n);
    off_ += n;
    if (s.find('\0') != std::string::npos) {
        error_ = fmt::format("{}: byte {}: field '{}' holds a NUL byte", msg_, at + kHeaderSize, field);
        return {};
    }
    if (!valid_utf8(s)) {
        error_ = fmt::format("{}: byte {}: field '{}' is not UTF-8", msg_, at + kHeaderSize, field);
        return {};
    }
    return s;
}
uint32_t Reader::count(const char* field, size_t max, size_t min_item) {
    const size_t at = off_;
    const uint32_t n = u32(field);
    if (!error_.empty()) return 0;
    if (n > max) {
        error_ = fmt::format("{}: byte {}: field '{}' has {} entries, the limit is {}", msg_, at + kHeaderSize, field, n,
                             max);
        return 0;
    }
    // A count that the rest of the body cannot hold is refused before anything is reserved.
    if (static_cast<uint64_t>(n) * min_item > b_.size() - off_) {
        error_ = fmt::format("{}: byte {}: field '{}' claims {} entries but only {} bytes follow", msg_,
                             at + kHeaderSize, field, n, b_.size() - off_);
        return 0;
    }
    return n;
}
void Reader::fail(const char* field, std::string what) {
    if (error_.empty()) error_ = fmt::format("{}: byte {}: field '{}' {}", msg_, off_ + kHeaderSize, field, what);
}
Result<void> Reader::finish() {
    if (error_.empty() && off_ != b_.size())
        error_ = fmt::format("{}: {} unexpected bytes after the last field (at byte {})", msg_, b_.size() - off_,
                             off_ + kHeaderSize);
    if (!error_.empty()) return Error(-EPROTO, error_);
    return {};
}

Result<Header> parse_header(std::span<const std::byte> body) {
    if (body.size() < kHeaderSize)
        return Error(-EPROTO, fmt::format("message of {} bytes is shorter than its {}-byte header", body.size(), kHeaderSize));
    Reader r(body, "header");
    Header h;
    h.type = r.u16("type");
    const uint16_t flags = r.u16("flags");
    h.seq = r.u32("seq");
    if (!type_name(h.type)) return Error(-EBADMSG, fmt::format("unknown message type {}", h.type));
    if (flags != 0) return Error(-EPROTO, fmt::format("{}: flags are 0x{:x}; this version defines none", type_name(h.type), flags));
    return h;
}

// ---- message codecs --------------------------------------------------------------------------

namespace {

template <typename T, typename F>
Result<T> decode_with(std::span<const std::byte> p, const char* name, F&& fields) {
    Reader r(p, name);
    T m{};
    fields(r, m);
    if (auto f = r.finish(); !f) return std::move(f).error();
    return m;
}

void put_ref(Writer& w, const CtlRef& id) {
    w.u32(id.numid);
    w.u8(static_cast<uint8_t>(id.iface));
    w.str(id.name);
    w.u32(id.index);
}
CtlIfaceW get_iface(Reader& r) {
    const uint8_t v = r.u8("iface");
    if (v != 0 && v != 2 && v != 3) r.fail("iface", fmt::format("is {}; CARD (0), MIXER (2) or PCM (3)", v));
    return static_cast<CtlIfaceW>(v);
}
CtlRef get_ref(Reader& r) {
    CtlRef id;
    id.numid = r.u32("numid");
    id.iface = get_iface(r);
    id.name = r.str("name", kMaxName);
    id.index = r.u32("index");
    if (id.numid == 0 && id.name.empty() && r.ok()) r.fail("name", "is empty and numid is 0: no control named");
    return id;
}
void put_values(Writer& w, const std::vector<int64_t>& v) {
    w.u32(static_cast<uint32_t>(v.size()));
    for (int64_t x : v) w.i64(x);
}
std::vector<int64_t> get_values(Reader& r) {
    const uint32_t n = r.count("values", kMaxValues, 8);
    std::vector<int64_t> v;
    v.reserve(n);
    for (uint32_t i = 0; i < n && r.ok(); ++i) v.push_back(r.i64("value"));
    return v;
}
void put_elem(Writer& w, const CtlElem& e) {
    w.u32(e.numid);
    w.u8(static_cast<uint8_t>(e.iface));
    w.str(e.name);
    w.u32(e.index);
    w.u8(static_cast<uint8_t>(e.type));
    w.u32(e.count);
    w.i64(e.min);
    w.i64(e.max);
    w.i64(e.step);
    w.u8(e.writable ? 1 : 0);
    w.u8(e.db_min_cdb ? 1 : 0);
    w.i32(e.db_min_cdb.value_or(0));
    w.i32(e.db_step_cdb);
    w.u8(e.db_mute ? 1 : 0);
    w.u32(static_cast<uint32_t>(e.items.size()));
    for (const auto& s : e.items) w.str(s);
}
CtlElem get_elem(Reader& r) {
    CtlElem e;
    e.numid = r.u32("numid");
    e.iface = get_iface(r);
    e.name = r.str("name", kMaxName);
    e.index = r.u32("index");
    const uint8_t t = r.u8("type");
    if (t < 1 || t > 4) r.fail("type", fmt::format("is {}; BOOLEAN (1) .. BYTES (4)", t));
    e.type = static_cast<CtlTypeW>(t);
    e.count = r.u32("count");
    const size_t max_count = e.type == CtlTypeW::Bytes ? kMaxValues : kMaxScalarValues;
    if (r.ok() && (e.count == 0 || e.count > max_count))
        r.fail("count", fmt::format("is {}; 1..{} for this type", e.count, max_count));
    e.min = r.i64("min");
    e.max = r.i64("max");
    e.step = r.i64("step");
    if (r.ok() && (e.max < e.min || e.step < 0)) r.fail("max", fmt::format("range {}..{} step {} is empty", e.min, e.max, e.step));
    e.writable = r.flag("writable");
    const bool has_db = r.flag("has_db");
    const int32_t dbmin = r.i32("db_min");
    if (has_db) e.db_min_cdb = dbmin;
    e.db_step_cdb = r.i32("db_step");
    e.db_mute = r.flag("db_mute");
    // One encoding per element: without a dB scale its fields are zero.
    if (r.ok() && !has_db && (dbmin != 0 || e.db_step_cdb != 0 || e.db_mute))
        r.fail("has_db", "is 0 but the dB scale's fields are set");
    const uint32_t n = r.count("items", kMaxItems, 2);
    for (uint32_t i = 0; i < n && r.ok(); ++i) e.items.push_back(r.str("item", kMaxName));
    if (r.ok() && e.type == CtlTypeW::Enumerated && e.items.empty()) r.fail("items", "is empty for an ENUMERATED control");
    return e;
}
uint8_t get_stream(Reader& r) {
    const uint8_t s = r.u8("stream");
    if (s > 1) r.fail("stream", fmt::format("is {}; playback (0) or capture (1)", s));
    return s;
}

}  // namespace

size_t encoded_size(const CtlElem& e) noexcept {
    size_t n = 4 + 1 + 2 + e.name.size() + 4 + 1 + 4 + 24 + 1 + 1 + 8 + 1 + 4;
    for (const auto& s : e.items) n += 2 + s.size();
    return n;
}

std::vector<std::byte> encode(const Hello& m, uint32_t seq) {
    Writer w(Type::Hello, seq);
    w.u16(m.major);
    w.u16(m.minor);
    w.str(m.client);
    return std::move(w).finish();
}
Result<Hello> decode_Hello(std::span<const std::byte> p) {
    return decode_with<Hello>(p, "Hello", [](Reader& r, Hello& m) {
        m.major = r.u16("major");
        m.minor = r.u16("minor");
        m.client = r.str("client", kMaxName);
    });
}

std::vector<std::byte> encode(const HelloReply& m, uint32_t seq) {
    Writer w(Type::HelloReply, seq);
    w.u16(m.major);
    w.u16(m.minor);
    w.u32(m.pid);
    w.u32(m.controls);
    w.u32(m.card_number);
    for (const auto* s : {&m.card.id, &m.card.driver, &m.card.name, &m.card.long_name, &m.card.mixer_name, &m.card.components})
        w.str(*s);
    return std::move(w).finish();
}
Result<HelloReply> decode_HelloReply(std::span<const std::byte> p) {
    return decode_with<HelloReply>(p, "HelloReply", [](Reader& r, HelloReply& m) {
        m.major = r.u16("major");
        m.minor = r.u16("minor");
        m.pid = r.u32("pid");
        m.controls = r.u32("controls");
        m.card_number = r.u32("card number");
        // snd_ctl_card_info's sizes: id 16, driver 16, name 32, longname 80, mixername 80, components 128.
        m.card.id = r.str("id", 15);
        m.card.driver = r.str("driver", 15);
        m.card.name = r.str("name", 31);
        m.card.long_name = r.str("long name", 79);
        m.card.mixer_name = r.str("mixer name", 79);
        m.card.components = r.str("components", 127);
    });
}

std::vector<std::byte> encode(const CtlList& m, uint32_t seq) {
    Writer w(Type::CtlList, seq);
    w.u32(m.first);
    return std::move(w).finish();
}
Result<CtlList> decode_CtlList(std::span<const std::byte> p) {
    return decode_with<CtlList>(p, "CtlList", [](Reader& r, CtlList& m) { m.first = r.u32("first"); });
}

std::vector<std::byte> encode(const CtlListReply& m, uint32_t seq) {
    Writer w(Type::CtlListReply, seq);
    w.u32(m.total);
    w.u32(static_cast<uint32_t>(m.elems.size()));
    for (const auto& e : m.elems) put_elem(w, e);
    return std::move(w).finish();
}
Result<CtlListReply> decode_CtlListReply(std::span<const std::byte> p) {
    return decode_with<CtlListReply>(p, "CtlListReply", [](Reader& r, CtlListReply& m) {
        m.total = r.u32("total");
        const uint32_t n = r.count("elems", kMaxFrame / 40, 40);
        for (uint32_t i = 0; i < n && r.ok(); ++i) m.elems.push_back(get_elem(r));
    });
}

std::vector<std::byte> encode(const CtlRead& m, uint32_t seq) {
    Writer w(Type::CtlRead, seq);
    put_ref(w, m.id);
    return std::move(w).finish();
}
Result<CtlRead> decode_CtlRead(std::span<const std::byte> p) {
    return decode_with<CtlRead>(p, "CtlRead", [](Reader& r, CtlRead& m) { m.id = get_ref(r); });
}

std::vector<std::byte> encode(const CtlValues& m, uint32_t seq) {
    Writer w(Type::CtlValues, seq);
    w.u32(m.numid);
    put_values(w, m.values);
    return std::move(w).finish();
}
Result<CtlValues> decode_CtlValues(std::span<const std::byte> p) {
    return decode_with<CtlValues>(p, "CtlValues", [](Reader& r, CtlValues& m) {
        m.numid = r.u32("numid");
        m.values = get_values(r);
    });
}

std::vector<std::byte> encode(const CtlWrite& m, uint32_t seq) {
    Writer w(Type::CtlWrite, seq);
    put_ref(w, m.id);
    put_values(w, m.values);
    return std::move(w).finish();
}
Result<CtlWrite> decode_CtlWrite(std::span<const std::byte> p) {
    return decode_with<CtlWrite>(p, "CtlWrite", [](Reader& r, CtlWrite& m) {
        m.id = get_ref(r);
        m.values = get_values(r);
        if (r.ok() && m.values.empty()) r.fail("values", "is empty");
    });
}

std::vector<std::byte> encode(const WriteReply& m, uint32_t seq) {
    Writer w(Type::WriteReply, seq);
    w.u8(m.changed ? 1 : 0);
    return std::move(w).finish();
}
Result<WriteReply> decode_WriteReply(std::span<const std::byte> p) {
    return decode_with<WriteReply>(p, "WriteReply", [](Reader& r, WriteReply& m) { m.changed = r.flag("changed"); });
}

std::vector<std::byte> encode(const Subscribe& m, uint32_t seq) {
    Writer w(Type::Subscribe, seq);
    w.u8(m.on ? 1 : 0);
    return std::move(w).finish();
}
Result<Subscribe> decode_Subscribe(std::span<const std::byte> p) {
    return decode_with<Subscribe>(p, "Subscribe", [](Reader& r, Subscribe& m) { m.on = r.flag("on"); });
}

std::vector<std::byte> encode(const Dump& m, uint32_t seq) {
    Writer w(Type::Dump, seq);
    w.u8(m.json ? 1 : 0);
    return std::move(w).finish();
}
Result<Dump> decode_Dump(std::span<const std::byte> p) {
    return decode_with<Dump>(p, "Dump", [](Reader& r, Dump& m) { m.json = r.flag("json"); });
}

// Text can exceed a u16 string: it has a u32 length of its own.
std::vector<std::byte> encode(const Text& m, uint32_t seq) {
    Writer w(Type::Text, seq);
    const size_t n = std::min(m.text.size(), kMaxText);
    w.u32(static_cast<uint32_t>(n));
    for (size_t i = 0; i < n; ++i) w.u8(static_cast<uint8_t>(m.text[i]));
    return std::move(w).finish();
}
Result<Text> decode_Text(std::span<const std::byte> p) {
    return decode_with<Text>(p, "Text", [](Reader& r, Text& m) {
        const uint32_t n = r.count("text", kMaxText, 1);
        m.text.reserve(n);
        for (uint32_t i = 0; i < n && r.ok(); ++i) m.text.push_back(static_cast<char>(r.u8("text")));
    });
}

std::vector<std::byte> encode(const Jack& m, uint32_t seq) {
    Writer w(Type::Jack, seq);
    w.u8(m.plugged ? 1 : 0);
    w.u32(static_cast<uint32_t>(m.pins.size()));
    for (const auto& s : m.pins) w.str(s);
    w.str(m.be);
    return std::move(w).finish();
}
Result<Jack> decode_Jack(std::span<const std::byte> p) {
    return decode_with<Jack>(p, "Jack", [](Reader& r, Jack& m) {
        m.plugged = r.flag("plugged");
        const uint32_t n = r.count("pins", 64, 2);
        for (uint32_t i = 0; i < n && r.ok(); ++i) m.pins.push_back(r.str("pin", kMaxName));
        m.be = r.str("be", kMaxName);
        if (r.ok() && m.pins.empty() == m.be.empty()) r.fail("pins", "names no pin and no BE, or both");
    });
}

std::vector<std::byte> encode(const FeOpen& m, uint32_t seq) {
    Writer w(Type::FeOpen, seq);
    w.str(m.fe);
    w.u8(m.stream);
    return std::move(w).finish();
}
Result<FeOpen> decode_FeOpen(std::span<const std::byte> p) {
    return decode_with<FeOpen>(p, "FeOpen", [](Reader& r, FeOpen& m) {
        m.fe = r.str("fe", kMaxName);
        if (r.ok() && m.fe.empty()) r.fail("fe", "is empty");
        m.stream = get_stream(r);
    });
}

std::vector<std::byte> encode(const FeConfigure& m, uint32_t seq) {
    Writer w(Type::FeConfigure, seq);
    w.u32(m.handle);
    w.u8(m.format);
    w.u32(m.rate);
    w.u32(m.channels);
    w.u32(m.period);
    w.u32(m.periods);
    w.u8(m.exact ? 1 : 0);
    w.u32(m.buffer);
    return std::move(w).finish();
}
Result<FeConfigure> decode_FeConfigure(std::span<const std::byte> p) {
    return decode_with<FeConfigure>(p, "FeConfigure", [](Reader& r, FeConfigure& m) {
        m.handle = r.u32("handle");
        m.format = r.u8("format");
        if (r.ok() && !is_wire_format(m.format)) r.fail("format", fmt::format("is {}; not a format dynpcm knows", m.format));
        m.rate = r.u32("rate");
        m.channels = r.u32("channels");
        m.period = r.u32("period");
        m.periods = r.u32("periods");
        m.exact = r.flag("exact");
        m.buffer = r.u32("buffer");
    });
}

std::vector<std::byte> encode(const FeTrigger& m, uint32_t seq) {
    Writer w(Type::FeTrigger, seq);
    w.u32(m.handle);
    w.u8(m.op);
    return std::move(w).finish();
}
Result<FeTrigger> decode_FeTrigger(std::span<const std::byte> p) {
    return decode_with<FeTrigger>(p, "FeTrigger", [](Reader& r, FeTrigger& m) {
        m.handle = r.u32("handle");
        m.op = r.u8("op");
        if (m.op > kLastFeOp)
            r.fail("op", fmt::format("is {}; start (0), stop (1), pause (2), release (3), prepare (4) or drain (5)", m.op));
    });
}

std::vector<std::byte> encode(const FeClose& m, uint32_t seq) {
    Writer w(Type::FeClose, seq);
    w.u32(m.handle);
    return std::move(w).finish();
}
Result<FeClose> decode_FeClose(std::span<const std::byte> p) {
    return decode_with<FeClose>(p, "FeClose", [](Reader& r, FeClose& m) { m.handle = r.u32("handle"); });
}

std::vector<std::byte> encode(const FeSwParams& m, uint32_t seq) {
    Writer w(Type::FeSwParams, seq);
    w.u32(m.handle);
    w.u64(m.avail_min);
    w.u64(m.start_threshold);
    w.u64(m.stop_threshold);
    w.u64(m.silence_threshold);
    w.u64(m.silence_size);
    return std::move(w).finish();
}
Result<FeSwParams> decode_FeSwParams(std::span<const std::byte> p) {
    // Ranges are the stream's (validate_sw_params on the daemon): only the encoding here.
    return decode_with<FeSwParams>(p, "FeSwParams", [](Reader& r, FeSwParams& m) {
        m.handle = r.u32("handle");
        m.avail_min = r.u64("avail_min");
        m.start_threshold = r.u64("start_threshold");
        m.stop_threshold = r.u64("stop_threshold");
        m.silence_threshold = r.u64("silence_threshold");
        m.silence_size = r.u64("silence_size");
    });
}

std::vector<std::byte> encode(const FeReply& m, uint32_t seq) {
    Writer w(Type::FeReply, seq);
    w.u32(m.handle);
    w.u32(m.device);
    w.str(m.state);
    w.u32(m.period);
    w.u32(m.buffer);
    w.str(m.name);
    const FeCaps& c = m.caps;
    w.u64(c.formats);
    for (uint32_t v : {c.channels_min, c.channels_max, c.rate_min, c.rate_max}) w.u32(v);
    w.u32(static_cast<uint32_t>(c.rates.size()));
    for (uint32_t v : c.rates) w.u32(v);
    for (uint32_t v : {c.period_bytes_min, c.period_bytes_max, c.periods_min, c.periods_max, c.buffer_bytes_min,
                       c.buffer_bytes_max})
        w.u32(v);
    w.u8(c.can_pause ? 1 : 0);
    w.u64(m.boundary);
    w.u64(m.shm_bytes);
    w.u8(m.fds);
    return std::move(w).finish();
}
Result<FeReply> decode_FeReply(std::span<const std::byte> p) {
    return decode_with<FeReply>(p, "FeReply", [](Reader& r, FeReply& m) {
        m.handle = r.u32("handle");
        m.device = r.u32("device");
        m.state = r.str("state", kMaxName);
        m.period = r.u32("period");
        m.buffer = r.u32("buffer");
        m.name = r.str("name", kMaxName);
        FeCaps& c = m.caps;
        c.formats = r.u64("formats");
        auto range = [&](const char* lo, const char* hi, uint32_t& a, uint32_t& b) {
            a = r.u32(lo);
            b = r.u32(hi);
            if (r.ok() && a > b) r.fail(hi, fmt::format("is {}, below the minimum {}", b, a));
        };
        range("channels_min", "channels_max", c.channels_min, c.channels_max);
        range("rate_min", "rate_max", c.rate_min, c.rate_max);
        const uint32_t n = r.count("rates", kMaxRates, 4);
        for (uint32_t i = 0; i < n && r.ok(); ++i) c.rates.push_back(r.u32("rate"));
        range("period_bytes_min", "period_bytes_max", c.period_bytes_min, c.period_bytes_max);
        range("periods_min", "periods_max", c.periods_min, c.periods_max);
        range("buffer_bytes_min", "buffer_bytes_max", c.buffer_bytes_min, c.buffer_bytes_max);
        c.can_pause = r.flag("can_pause");
        m.boundary = r.u64("boundary");
        m.shm_bytes = r.u64("shm_bytes");
        m.fds = r.u8("fds");
        if (r.ok() && m.fds != 0 && m.fds != 2) r.fail("fds", fmt::format("is {}; 0 or 2", m.fds));
    });
}

std::vector<std::byte> encode(const ErrorReply& m, uint32_t seq) {
    Writer w(Type::Error, seq);
    w.i32(m.code);
    w.str(m.message);
    return std::move(w).finish();
}
Result<ErrorReply> decode_ErrorReply(std::span<const std::byte> p) {
    return decode_with<ErrorReply>(p, "Error", [](Reader& r, ErrorReply& m) {
        m.code = r.i32("code");
        if (r.ok() && m.code >= 0) r.fail("code", fmt::format("is {}; an error code is negative", m.code));
        m.message = r.str("message", 4096);
    });
}

std::vector<std::byte> encode(const CtlEvent& m, uint32_t seq) {
    Writer w(Type::CtlEvent, seq);
    w.u32(m.numid);
    w.u32(m.mask);
    return std::move(w).finish();
}
Result<CtlEvent> decode_CtlEvent(std::span<const std::byte> p) {
    return decode_with<CtlEvent>(p, "CtlEvent", [](Reader& r, CtlEvent& m) {
        m.numid = r.u32("numid");
        m.mask = r.u32("mask");
    });
}

std::vector<std::byte> encode(const Bye& m, uint32_t seq) {
    Writer w(Type::Bye, seq);
    w.str(m.reason);
    return std::move(w).finish();
}
Result<Bye> decode_Bye(std::span<const std::byte> p) {
    return decode_with<Bye>(p, "Bye", [](Reader& r, Bye& m) { m.reason = r.str("reason", 4096); });
}

std::vector<std::byte> encode_empty(Type type, uint32_t seq) { return Writer(type, seq).finish(); }

Result<Header> decode_any(std::span<const std::byte> body) {
    auto h = parse_header(body);
    if (!h) return h;
    const auto p = payload(body);
    Result<void> r;
    auto check = [&](auto res) {
        if (!res) r = std::move(res).error();
    };
    switch (static_cast<Type>(h->type)) {
        case Type::Hello: check(decode_Hello(p)); break;
        case Type::CtlList: check(decode_CtlList(p)); break;
        case Type::CtlRead: check(decode_CtlRead(p)); break;
        case Type::CtlWrite: check(decode_CtlWrite(p)); break;
        case Type::Subscribe: check(decode_Subscribe(p)); break;
        case Type::Dump: check(decode_Dump(p)); break;
        case Type::Routes:
        case Type::Status:
        case Type::Ok:
            if (!p.empty()) r = Error(-EPROTO, fmt::format("{}: {} bytes of payload; it has none", type_name(h->type), p.size()));
            break;
        case Type::Jack: check(decode_Jack(p)); break;
        case Type::FeOpen: check(decode_FeOpen(p)); break;
        case Type::FeConfigure: check(decode_FeConfigure(p)); break;
        case Type::FeTrigger: check(decode_FeTrigger(p)); break;
        case Type::FeClose: check(decode_FeClose(p)); break;
        case Type::FeSwParams: check(decode_FeSwParams(p)); break;
        case Type::HelloReply: check(decode_HelloReply(p)); break;
        case Type::CtlListReply: check(decode_CtlListReply(p)); break;
        case Type::CtlValues: check(decode_CtlValues(p)); break;
        case Type::WriteReply: check(decode_WriteReply(p)); break;
        case Type::Text: check(decode_Text(p)); break;
        case Type::FeReply: check(decode_FeReply(p)); break;
        case Type::Error: check(decode_ErrorReply(p)); break;
        case Type::CtlEvent: check(decode_CtlEvent(p)); break;
        case Type::Bye: check(decode_Bye(p)); break;
    }
    if (!r) return std::move(r).error();
    return h;
}

}  // namespace dynpcm::ipc

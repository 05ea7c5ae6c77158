#pragma once
/// The dynpcmd wire protocol: versioned, length-prefixed binary messages on a Unix stream socket
/// (docs/DAEMON.md has the message table and why this encoding).
///
///   frame   := u32 length | body          length = size of body, at most kMaxFrame
///   body    := u16 type | u16 flags (0) | u32 seq | payload
///
/// Integers are little-endian; a string is u16 length + bytes (no NUL, bounded per field); a
/// list is u32 count + items (bounded per field). A request carries a client-chosen seq that
/// its reply repeats; events carry seq 0. Every decoder checks every bound and rejects trailing
/// bytes; its error names the message, the field and the byte offset.
///
/// Thread: any (plain functions over plain data). Blocking: no. Allocates: yes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dynpcm/card/card_identity.h"
#include "dynpcm/core/result.h"

namespace dynpcm::ipc {

inline constexpr uint16_t kVersionMajor = 2;  ///< incompatible changes (2: the PCM data plane)
inline constexpr uint16_t kVersionMinor = 0;  ///< additions a 1.0 peer may ignore
inline constexpr size_t kHeaderSize = 8;      ///< type, flags, seq
inline constexpr size_t kMaxFrame = 256 * 1024;    ///< any body, either way
inline constexpr size_t kMaxRequest = 16 * 1024;   ///< a body a client may send
inline constexpr size_t kMaxName = 64;        ///< control, FE, client names and enum items
inline constexpr size_t kMaxValues = 512;     ///< values of one BYTES control (SNDRV_CTL_ELEM_BYTES)
inline constexpr size_t kMaxScalarValues = 128;  ///< values of a BOOLEAN, INTEGER or ENUMERATED one
inline constexpr size_t kMaxItems = 1024;     ///< items of one enum
inline constexpr size_t kMaxText = kMaxFrame - 64;  ///< JSON text in a reply

enum class Type : uint16_t {
    // requests (client -> daemon); the reply to each is Ok-type or Error
    Hello = 1,       ///< must be first: version and client name
    CtlList = 2,     ///< a page of the control list
    CtlRead = 3,     ///< a control's values
    CtlWrite = 4,    ///< writes a control (re-routes as Dpcm::put)
    Subscribe = 5,   ///< control change events on or off
    Dump = 6,        ///< the DPCM state of every FE and BE, JSON
    Routes = 7,      ///< FE -> BE routes, JSON
    Status = 8,      ///< FEs, BEs, clients, xruns: what `dynpcm top` shows, JSON
    Jack = 9,        ///< plug or unplug jack pins (as a codec's jack detection would)
    FeOpen = 10,     ///< opens an FE stream for this client
    FeConfigure = 11,  ///< hw params (and prepare) of this client's FE
    FeTrigger = 12,  ///< start, stop, pause, release
    FeClose = 13,    ///< closes this client's FE
    FeSwParams = 14, ///< sw params of this client's FE (thresholds, avail_min)
    // replies (daemon -> client)
    HelloReply = 0x8001,
    CtlListReply = 0x8002,
    CtlValues = 0x8003,   ///< reply to CtlRead
    WriteReply = 0x8004,  ///< reply to CtlWrite: changed or not
    Ok = 0x8005,          ///< reply to a request with nothing to return
    Text = 0x8006,        ///< reply to Dump, Routes and Status: JSON
    FeReply = 0x8007,     ///< reply to FeOpen, FeConfigure, FeTrigger, FeSwParams: what the FE is now;
                          ///< after FeConfigure its shared ring and wake socket come with it (SCM_RIGHTS)
    Error = 0x80ff,
    // events (daemon -> client), seq 0
    CtlEvent = 0x4001,  ///< a control changed (SNDRV_CTL_EVENT_MASK_VALUE)
    Bye = 0x4002,       ///< the daemon is going away or cutting this client off; then EOF
};
/// Whether `s` is well-formed UTF-8 (every string on the wire must be). Thread: any. Allocates: no.
bool valid_utf8(std::string_view s) noexcept;
/// Whether a FeConfigure format byte is a dynpcm::Format. Thread: any. Allocates: no.
bool is_wire_format(uint8_t f) noexcept;

/// "Hello", "CtlWrite", ..., or null for an unknown type. Thread: any. Allocates: no.
const char* type_name(uint16_t type) noexcept;
inline bool is_request(uint16_t t) noexcept { return t >= 1 && t <= 14; }

enum class CtlIfaceW : uint8_t { Card = 0, Mixer = 2, Pcm = 3 };  ///< SNDRV_CTL_ELEM_IFACE_*
enum class CtlTypeW : uint8_t { Boolean = 1, Integer = 2, Enumerated = 3, Bytes = 4 };  ///< SNDRV_CTL_ELEM_TYPE_*

/// One control element, as snd_ctl_elem_info plus its TLV dB scale shows it.
struct CtlElem {
    uint32_t numid = 0;
    CtlIfaceW iface = CtlIfaceW::Mixer;
    std::string name;
    uint32_t index = 0;
    CtlTypeW type = CtlTypeW::Boolean;
    uint32_t count = 1;
    int64_t min = 0, max = 1, step = 1;
    bool writable = true;
    std::optional<int32_t> db_min_cdb;  ///< a TLV_DB_SCALE: min, step in 0.01 dB, mute flag
    int32_t db_step_cdb = 0;
    bool db_mute = false;
    std::vector<std::string> items;
};

/// A control by numid (non-zero) or by iface, name and index (numid 0), as snd_ctl_elem_id.
struct CtlRef {
    uint32_t numid = 0;
    CtlIfaceW iface = CtlIfaceW::Mixer;
    std::string name;
    uint32_t index = 0;
};

// ---- payloads. Each has encode(Writer&) and decode(Reader&).
struct Hello { uint16_t major = kVersionMajor, minor = kVersionMinor; std::string client; };
struct HelloReply { uint16_t major = kVersionMajor, minor = kVersionMinor; uint32_t pid = 0; uint32_t controls = 0; uint32_t card_number = 0; CardIdentity card; };
struct CtlList { uint32_t first = 0; };
struct CtlListReply { uint32_t total = 0; std::vector<CtlElem> elems; };  ///< elems from `first`, as many as fit
struct CtlRead { CtlRef id; };
struct CtlValues { uint32_t numid = 0; std::vector<int64_t> values; };
struct CtlWrite { CtlRef id; std::vector<int64_t> values; };
struct WriteReply { bool changed = false; };
struct Subscribe { bool on = true; };
struct Dump { bool json = true; };
struct Text { std::string text; };
/// Jack pins (as a codec's jack detection sets them), or a BE's device appearing or vanishing
/// (`be`, a sim backend's device: its FEs see XRUN or DISCONNECTED, as in scenarios).
struct Jack { bool plugged = true; std::vector<std::string> pins; std::string be; };
struct FeOpen { std::string fe; uint8_t stream = 0; };  ///< stream 0 playback, 1 capture; fe: name or "#N" for device N
/// format: a dynpcm::Format. exact: these values or an error (a plugin that has refined its
/// own hw_params); otherwise the nearest the FE allows. buffer (frames), when not 0, is set
/// instead of periods: alsa-lib may choose a buffer that is not a whole number of periods.
struct FeConfigure { uint32_t handle = 0; uint8_t format = 0; uint32_t rate = 0, channels = 0, period = 0, periods = 0; bool exact = false; uint32_t buffer = 0; };
/// What an FE's hardware allows, for a client to refine hw_params against before it asks
/// (the daemon's engine still decides: FeConfigure is checked exactly).
struct FeCaps {
    uint64_t formats = 0;                  ///< bit n: dynpcm::Format n (ALSA's SND_PCM_FORMAT_ numbers)
    uint32_t channels_min = 0, channels_max = 0;
    uint32_t rate_min = 0, rate_max = 0;
    std::vector<uint32_t> rates;           ///< when not every rate in [min, max] is allowed
    uint32_t period_bytes_min = 0, period_bytes_max = 0;
    uint32_t periods_min = 0, periods_max = 0;
    uint32_t buffer_bytes_min = 0, buffer_bytes_max = 0;
    bool can_pause = false;
};
inline constexpr size_t kMaxRates = 64;
/// op of FeTrigger. Drain does not wait: the client waits on its ring (it ends in SETUP).
enum class FeOp : uint8_t { Start = 0, Stop = 1, Pause = 2, Release = 3, Prepare = 4, Drain = 5 };
inline constexpr uint8_t kLastFeOp = 5;
struct FeTrigger { uint32_t handle = 0; uint8_t op = 0; };  ///< op: a FeOp
struct FeClose { uint32_t handle = 0; };
/// Thresholds in the daemon's boundary (FeReply::boundary); stop/silence at the boundary
/// mean "never" (free-running), as in sw_params.
struct FeSwParams {
    uint32_t handle = 0;
    uint64_t avail_min = 1, start_threshold = 1, stop_threshold = 0, silence_threshold = 0, silence_size = 0;
};
struct FeReply {
    uint32_t handle = 0;
    uint32_t device = 0;
    std::string state;
    uint32_t period = 0, buffer = 0;
    std::string name;            ///< the FE link's name
    FeCaps caps;
    uint64_t boundary = 0;       ///< of the configured stream (0 before FeConfigure)
    uint64_t shm_bytes = 0;      ///< the shared memory's size, when fds is 2
    uint8_t fds = 0;             ///< descriptors passed with this frame: 0, or 2 (memfd, wake socket)
};
struct ErrorReply { int32_t code = 0; std::string message; };  ///< code: negative errno
struct CtlEvent { uint32_t numid = 0; uint32_t mask = 1; };
struct Bye { std::string reason; };

/// Appends a frame to a byte buffer. Thread: any. Allocates: grows the buffer.
class Writer {
public:
    explicit Writer(Type type, uint32_t seq);
    void u8(uint8_t v);
    void u16(uint16_t v);
    void u32(uint32_t v);
    void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
    void i64(int64_t v);
    void u64(uint64_t v) { i64(static_cast<int64_t>(v)); }
    void str(std::string_view s);  ///< truncated to 65535 bytes
    /// The whole frame, length prefix included.
    std::vector<std::byte> finish() &&;

private:
    std::vector<std::byte> buf_;
};

/// Reads a body field by field. The first failure sticks: later reads return zeros, and
/// error() names the first field that failed and its offset. Thread: any. Allocates: no
/// (strings it returns do).
class Reader {
public:
    Reader(std::span<const std::byte> body, const char* message) : b_(body), msg_(message) {}
    uint8_t u8(const char* field);
    uint16_t u16(const char* field);
    uint32_t u32(const char* field);
    int32_t i32(const char* field) { return static_cast<int32_t>(u32(field)); }
    int64_t i64(const char* field);
    uint64_t u64(const char* field) { return static_cast<uint64_t>(i64(field)); }
    bool flag(const char* field);  ///< a u8 that must be 0 or 1
    /// A string of at most `max` bytes with no NUL.
    std::string str(const char* field, size_t max);
    /// A list count of at most `max`, each item taking at least `min_item` bytes.
    uint32_t count(const char* field, size_t max, size_t min_item);
    /// Fails with `what` at the current offset (a value out of range, say).
    void fail(const char* field, std::string what);
    bool ok() const noexcept { return error_.empty(); }
    /// Requires that every byte was read.
    Result<void> finish();

private:
    bool take(size_t n, const char* field);
    std::span<const std::byte> b_;
    size_t off_ = 0;
    const char* msg_;
    std::string error_;
};

/// A frame's header, checked: a known type, flags 0, the body within `max_body`.
struct Header {
    uint16_t type = 0;
    uint32_t seq = 0;
};
/// Parses the header of a body (the bytes after the length prefix). Thread: any. Allocates: on error.
Result<Header> parse_header(std::span<const std::byte> body);
/// The payload of a body (after its header).
inline std::span<const std::byte> payload(std::span<const std::byte> body) { return body.subspan(kHeaderSize); }

/// Reads the u32 length prefix at `p` (4 bytes). Thread: any. Allocates: no.
uint32_t frame_length(const std::byte* p) noexcept;

// Encoders: each returns a whole frame. Decoders: each reads a payload and requires its end.
#define DYNPCM_IPC_MESSAGE(T)                                                   \
    std::vector<std::byte> encode(const T& m, uint32_t seq);                    \
    Result<T> decode_##T(std::span<const std::byte> payload);
DYNPCM_IPC_MESSAGE(Hello)
DYNPCM_IPC_MESSAGE(HelloReply)
DYNPCM_IPC_MESSAGE(CtlList)
DYNPCM_IPC_MESSAGE(CtlListReply)
DYNPCM_IPC_MESSAGE(CtlRead)
DYNPCM_IPC_MESSAGE(CtlValues)
DYNPCM_IPC_MESSAGE(CtlWrite)
DYNPCM_IPC_MESSAGE(WriteReply)
DYNPCM_IPC_MESSAGE(Subscribe)
DYNPCM_IPC_MESSAGE(Dump)
DYNPCM_IPC_MESSAGE(Text)
DYNPCM_IPC_MESSAGE(Jack)
DYNPCM_IPC_MESSAGE(FeOpen)
DYNPCM_IPC_MESSAGE(FeConfigure)
DYNPCM_IPC_MESSAGE(FeTrigger)
DYNPCM_IPC_MESSAGE(FeClose)
DYNPCM_IPC_MESSAGE(FeSwParams)
DYNPCM_IPC_MESSAGE(FeReply)
DYNPCM_IPC_MESSAGE(ErrorReply)
DYNPCM_IPC_MESSAGE(CtlEvent)
DYNPCM_IPC_MESSAGE(Bye)
#undef DYNPCM_IPC_MESSAGE

/// Request types without a payload: Routes and Status.
std::vector<std::byte> encode_empty(Type type, uint32_t seq);
/// Decodes a body of any known type and checks it (the fuzz target's entry). Thread: any.
/// Allocates: yes.
Result<Header> decode_any(std::span<const std::byte> body);

/// An encoded CtlElem's size, to page a list under kMaxFrame. Thread: any. Allocates: no.
size_t encoded_size(const CtlElem& e) noexcept;

}  // namespace dynpcm::ipc

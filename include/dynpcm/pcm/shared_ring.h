#pragma once
/// SharedRing: the memory an FE shares with an application in another process (the PCM
/// plugin). The daemon creates it as a sealed memfd of header + ring and passes it with
/// SCM_RIGHTS; both sides map it. docs/DAEMON.md ("The data plane") has the rules.
///
/// One cache line per writer, so no line is written by both sides:
/// - `layout`: written once by the daemon before the memory is passed; read-only after.
/// - `engine`: written by the engine (the realtime thread while the stream runs, the control
///   thread while it does not), read by the client. The daemon never reads it back.
/// - `client`: written by the client, read by the engine as untrusted input: `appl_ptr` is
///   validated before use (PcmRuntime), `avail_min` clamped to [1, buffer].
/// - `wake`: `armed` is the one word both write (an exchange by the engine, a store by the
///   client): it saves a wakeup the client does not need, never loses one it does.
/// Every field is a lock-free 64- or 32-bit atomic: address-free, so valid across processes.
///
/// Thread: any (plain layout). Blocking: no. Allocates: no.

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace dynpcm {

struct SharedRingHeader {
    static constexpr uint32_t kMagic = 0x4d435044;  // "DPCM"
    static constexpr uint32_t kVersion = 1;

    struct alignas(64) Layout {
        uint32_t magic = kMagic;
        uint32_t version = kVersion;
        uint32_t frame_bytes = 0;      ///< one interleaved frame of the FE's format
        uint32_t channels = 0;
        uint64_t buffer_frames = 0;    ///< the ring, in frames
        uint64_t boundary = 0;         ///< where hw_ptr and appl_ptr wrap (the engine's)
        uint64_t ring_offset = 0;      ///< from the start of the memory, page aligned
        uint64_t ring_bytes = 0;
    } layout;

    struct alignas(64) Engine {
        std::atomic<uint64_t> hw_ptr{0};      ///< boundary-wrapped, as the engine's
        std::atomic<uint32_t> state{0};       ///< a PcmState
        std::atomic<uint32_t> reserved{0};
        std::atomic<uint64_t> xruns{0};
        std::atomic<int64_t> delay_extra{0};  ///< frames past the ring: port FIFOs and BE devices
        std::atomic<int64_t> update_ns{0};    ///< CLOCK_MONOTONIC of the last hw_ptr update
        std::atomic<uint64_t> bad_appl{0};    ///< appl_ptr values refused (each one an xrun)
    } engine;

    struct alignas(64) Client {
        std::atomic<uint64_t> appl_ptr{0};    ///< in the engine's boundary
        std::atomic<uint64_t> avail_min{1};   ///< wake the client at this avail
    } client;

    struct alignas(64) Wake {
        std::atomic<uint32_t> armed{0};       ///< 1: a wakeup is on its way or the client is awake
    } wake;
};

static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<uint32_t>::is_always_lock_free &&
                  std::atomic<int64_t>::is_always_lock_free,
              "shared-memory atomics must be lock-free to be valid across processes");
static_assert(sizeof(SharedRingHeader) == 4 * 64);

/// Bytes before the ring: the header rounded up to a page.
inline constexpr size_t kSharedRingOffset = 4096;
static_assert(sizeof(SharedRingHeader) <= kSharedRingOffset);

}  // namespace dynpcm

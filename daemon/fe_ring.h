#pragma once
// FeRing: the daemon's side of one FE's data plane: the sealed memfd holding the
// SharedRingHeader and the ring, its mapping, and the wake socket pair (docs/DAEMON.md, "The
// data plane"). Made by the control thread at FeConfigure; destroyed only after the engine has
// let go of the stream (Dpcm::close, or hw_params again), so the realtime thread never touches
// a mapping that is gone.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dynpcm/core/result.h"
#include "dynpcm/pcm/shared_ring.h"

namespace dynpcm::daemon {

class FeRing {
public:
    /// A memfd of kSharedRingOffset + ring bytes, sealed against shrinking and growing (so no
    /// client can make the daemon's mapping fault), mapped, its layout written; and a datagram
    /// socket pair for wakeups. Thread: control. Blocking: no. Allocates: yes.
    static Result<std::unique_ptr<FeRing>> create(const std::string& name, uint32_t frame_bytes, uint32_t channels,
                                                  uint64_t buffer_frames, uint64_t boundary);
    ~FeRing();
    FeRing(const FeRing&) = delete;
    FeRing& operator=(const FeRing&) = delete;

    SharedRingHeader* header() const noexcept { return header_; }
    std::byte* ring() const noexcept { return base_ + kSharedRingOffset; }
    size_t bytes() const noexcept { return bytes_; }
    int memfd() const noexcept { return memfd_; }
    int wake_fd() const noexcept { return wake_[0]; }         ///< the engine sends here
    int client_wake_fd() const noexcept { return wake_[1]; }  ///< passed to the client

private:
    FeRing() = default;
    int memfd_ = -1;
    int wake_[2] = {-1, -1};
    std::byte* base_ = nullptr;
    SharedRingHeader* header_ = nullptr;
    size_t bytes_ = 0;
};

}  // namespace dynpcm::daemon

#include "fe_ring.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace dynpcm::daemon {

Result<std::unique_ptr<FeRing>> FeRing::create(const std::string& name, uint32_t frame_bytes, uint32_t channels,
                                               uint64_t buffer_frames, uint64_t boundary) {
    std::unique_ptr<FeRing> r(new FeRing);
    const uint64_t ring_bytes = buffer_frames * frame_bytes;
    if (frame_bytes == 0 || buffer_frames == 0 || ring_bytes > (uint64_t{1} << 31))
        return Error(-EINVAL, fmt::format("FE '{}': no ring of {} frames of {} bytes", name, buffer_frames, frame_bytes));
    r->bytes_ = kSharedRingOffset + ((ring_bytes + 4095) & ~uint64_t{4095});
    r->memfd_ = ::memfd_create(("dynpcm " + name).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (r->memfd_ < 0) return Error(-errno, fmt::format("FE '{}': memfd_create: {}", name, std::strerror(errno)));
    if (::ftruncate(r->memfd_, static_cast<off_t>(r->bytes_)) < 0)
        return Error(-errno, fmt::format("FE '{}': sizing the ring to {} bytes: {}", name, r->bytes_, std::strerror(errno)));
    // Sealed before anyone else holds it: neither side can change its size from now on. A
    // shrink would make the realtime thread's next access SIGBUS; a grow is refused so the size
    // the client maps is the size the daemon checked. F_SEAL_SEAL: the set cannot change.
    if (::fcntl(r->memfd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
        return Error(-errno, fmt::format("FE '{}': sealing the ring: {}", name, std::strerror(errno)));
    void* p = ::mmap(nullptr, r->bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->memfd_, 0);
    if (p == MAP_FAILED) return Error(-errno, fmt::format("FE '{}': mapping the ring: {}", name, std::strerror(errno)));
    r->base_ = static_cast<std::byte*>(p);
    r->header_ = new (p) SharedRingHeader{};
    SharedRingHeader::Layout& l = r->header_->layout;
    l.frame_bytes = frame_bytes;
    l.channels = channels;
    l.buffer_frames = buffer_frames;
    l.boundary = boundary;
    l.ring_offset = kSharedRingOffset;
    l.ring_bytes = ring_bytes;
    // Wakeups: a SEQPACKET pair. The engine's end sends with MSG_DONTWAIT on every call, which
    // the client cannot turn off (O_NONBLOCK on a shared eventfd it could, and then fill the
    // counter to block the realtime thread). SEQPACKET rather than DGRAM: the client's end
    // hangs up when the daemon's closes, so a client in poll() notices a daemon that died.
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, r->wake_) < 0)
        return Error(-errno, fmt::format("FE '{}': wake socket: {}", name, std::strerror(errno)));
    // The daemon only sends; the client only receives.
    ::shutdown(r->wake_[0], SHUT_RD);
    ::shutdown(r->wake_[1], SHUT_WR);
    return r;
}

FeRing::~FeRing() {
    if (base_) ::munmap(base_, bytes_);
    for (int fd : {memfd_, wake_[0], wake_[1]})
        if (fd >= 0) ::close(fd);
}

}  // namespace dynpcm::daemon

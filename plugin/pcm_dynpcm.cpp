// libasound_module_pcm_dynpcm.so: alsa-lib's ioplug over one FE of a dynpcmd, so aplay,
// arecord, speaker-test and every snd_pcm client play and record through the daemon's engine.
//
//   pcm.x { type dynpcm [socket PATH] [card 0|ID] [device N | fe "FE name"] }
//
// The data plane (docs/DAEMON.md): the FE's ring is a sealed memfd the daemon maps too. This
// plugin copies the application's frames into it in place (the transfer callback: the one copy
// a kernel PCM's write makes as well) and publishes its application pointer there; the daemon's
// realtime thread validates that pointer and moves the stream, publishes hw_ptr and state, and
// wakes this side through a packet socket. Start, stop, pause, prepare and drain are requests
// on the daemon's socket. No audio and no wait crosses the socket.
//
// Positions: the daemon counts in its own boundary (FeReply::boundary), alsa-lib in the PCM's;
// both are the buffer size times a power of two, so the daemon's position is alsa-lib's modulo
// the daemon's boundary, and hw_ptr is carried over by its delta (BOUNDARY_WA: a whole buffer
// played between two updates is seen, not lost).
//
// Thread: whichever thread the application calls alsa-lib from; alsa-lib serialises the calls
// on one handle (the drain and poll callbacks run outside its lock, but on the caller's thread).
// Blocking: each control operation is one request, waited for up to 5 s; the drain callback
// waits for the daemon's drain; nothing else blocks.

#include <alsa/asoundlib.h>
#include <alsa/pcm_external.h>
#include <climits>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "connect.h"
#include "dynpcm/daemon/client.h"
#include "dynpcm/pcm/shared_ring.h"

namespace {

using namespace dynpcm::ipc;
using dynpcm::SharedRingHeader;

// The PcmState values the daemon publishes (dynpcm/pcm/state.h), as ALSA numbers them.
constexpr uint32_t kStateSetup = SND_PCM_STATE_SETUP, kStateXrun = SND_PCM_STATE_XRUN,
                   kStateDraining = SND_PCM_STATE_DRAINING, kStateSuspended = SND_PCM_STATE_SUSPENDED,
                   kStateDisconnected = SND_PCM_STATE_DISCONNECTED;

struct Pcm {
    snd_pcm_ioplug_t io{};
    std::unique_ptr<Client> client;
    FeReply fe;                  // as FeOpen / the last FeConfigure answered
    std::string label;           // "FE 'Media Playback' (device 0)", for messages
    int self_fd = -1;            // our eventfd: keeps poll readable while ready (level-triggered)
    int wake_fd = -1;            // the daemon's realtime thread wakes us here
    std::byte* map = nullptr;
    size_t map_bytes = 0;
    SharedRingHeader* h = nullptr;
    std::byte* ring = nullptr;
    snd_pcm_uframes_t d_boundary = 0;   // the daemon's
    snd_pcm_uframes_t io_boundary = 0;  // alsa-lib's
    snd_pcm_uframes_t frame_bytes = 0;
    snd_pcm_uframes_t avail_min = 1;
    // hw_ptr carried from the daemon's positions to alsa-lib's by delta.
    snd_pcm_uframes_t last_d_hw = 0, io_hw = 0;
    bool drain_sent = false;
    bool self_signalled = false;
    bool gone = false;           // the daemon went away: DISCONNECTED from now on

    Pcm() = default;
    Pcm(const Pcm&) = delete;
    Pcm& operator=(const Pcm&) = delete;
    ~Pcm() {
        unmap();
        if (self_fd >= 0) ::close(self_fd);
    }
    void unmap() {
        if (map) ::munmap(map, map_bytes);
        if (wake_fd >= 0) ::close(wake_fd);
        map = nullptr;
        h = nullptr;
        ring = nullptr;
        wake_fd = -1;
    }
};

Pcm* self(snd_pcm_ioplug_t* io) { return static_cast<Pcm*>(io->private_data); }
bool playback(const snd_pcm_ioplug_t* io) { return io->stream == SND_PCM_STREAM_PLAYBACK; }

// alsa-lib's boundary for a buffer (pcm_params.c): the buffer doubled while it fits a long.
snd_pcm_uframes_t alsa_boundary(snd_pcm_uframes_t buffer) {
    if (buffer == 0) return 0;
    snd_pcm_uframes_t b = buffer;
    while (b * 2 <= static_cast<snd_pcm_uframes_t>(LONG_MAX) - buffer) b *= 2;
    return b;
}

// The daemon went: every call from now on fails with -ENODEV, and the stream says so.
int disconnected(Pcm* p) {
    if (!p->gone) SNDERR("dynpcm: %s: the daemon went away", p->label.c_str());
    p->gone = true;
    snd_pcm_ioplug_set_state(&p->io, SND_PCM_STATE_DISCONNECTED);
    return -ENODEV;
}

int fail(Pcm* p, const dynpcm::Error& e) {
    if (e.code() == -ENODEV || !p->client->connected()) return disconnected(p);
    SNDERR("dynpcm: %s", e.message().c_str());
    return e.code();
}

// One request and its FeReply.
int request(Pcm* p, std::vector<std::byte> frame, uint32_t seq, FeReply* out = nullptr) {
    if (p->gone) return -ENODEV;
    auto r = p->client->call(std::move(frame), seq);
    if (!r) return fail(p, r.error());
    auto h = parse_header(*r);
    if (h && h->type == static_cast<uint16_t>(Type::Ok)) return 0;
    auto m = decode_FeReply(payload(*r));
    if (!m) return fail(p, m.error());
    if (out) *out = std::move(*m);
    return 0;
}

int trigger(Pcm* p, FeOp op) {
    const uint32_t seq = p->client->next_seq();
    return request(p, encode(FeTrigger{p->fe.handle, static_cast<uint8_t>(op)}, seq), seq);
}

// The application pointer, published for the daemon (release: the frames before it are in the
// ring). Called after every transfer and pointer update, so rewinds and forwards reach it too.
void publish_appl(Pcm* p, snd_pcm_uframes_t io_appl) {
    if (p->h) p->h->client.appl_ptr.store(io_appl % p->d_boundary, std::memory_order_release);
}

uint32_t engine_state(const Pcm* p) { return p->h ? p->h->engine.state.load(std::memory_order_seq_cst) : kStateSetup; }

// The daemon's position `d` in alsa-lib's positions: the last one translated plus the delta.
snd_pcm_uframes_t translate(const Pcm* p, snd_pcm_uframes_t d) {
    const snd_pcm_uframes_t delta = d >= p->last_d_hw ? d - p->last_d_hw : d + p->d_boundary - p->last_d_hw;
    return (p->io_hw + delta) % p->io_boundary;
}

// The daemon's hw_ptr now, without moving the translation on: what the poll callbacks use,
// since they run outside alsa-lib's lock, beside another thread's pointer update.
snd_pcm_uframes_t peek_hw(const Pcm* p) { return translate(p, p->h->engine.hw_ptr.load(std::memory_order_seq_cst)); }

// The same, moving the translation on. Only under alsa-lib's lock (pointer, delay).
snd_pcm_uframes_t current_hw(Pcm* p) {
    const snd_pcm_uframes_t d = p->h->engine.hw_ptr.load(std::memory_order_seq_cst);
    p->io_hw = translate(p, d);
    p->last_d_hw = d;
    return p->io_hw;
}

// Frames the application may transfer with its pointer at `appl`, from the daemon's hw_ptr now.
snd_pcm_uframes_t avail_at(const Pcm* p, snd_pcm_uframes_t appl) {
    const snd_pcm_uframes_t hw = peek_hw(p);
    return playback(&p->io) ? (hw + p->io.buffer_size + p->io_boundary - appl) % p->io_boundary
                            : (hw + p->io_boundary - appl) % p->io_boundary;
}
bool ready(Pcm* p, snd_pcm_sframes_t avail);
bool ready_at(Pcm* p, snd_pcm_uframes_t appl) { return ready(p, static_cast<snd_pcm_sframes_t>(avail_at(p, appl))); }

void drain_fd(int fd, bool socket);

// Consumes the wakeups (the realtime thread's and our own), re-arms the realtime thread's,
// then looks again: a period that elapsed in between is seen now (and our own descriptor made
// readable), or it wakes the next poll. Returns whether the stream is ready.
bool rearm(Pcm* p, snd_pcm_uframes_t appl) {
    if (p->wake_fd >= 0) drain_fd(p->wake_fd, true);
    if (p->self_signalled) drain_fd(p->self_fd, false);
    p->self_signalled = false;
    if (p->h) p->h->wake.armed.store(0, std::memory_order_seq_cst);
    if (!p->h || !ready_at(p, appl)) return false;
    const uint64_t one = 1;
    if (::write(p->self_fd, &one, sizeof one) == sizeof one) p->self_signalled = true;
    return true;
}

// ---- the data plane ------------------------------------------------------------------------

snd_pcm_sframes_t cb_pointer(snd_pcm_ioplug_t* io) {
    Pcm* p = self(io);
    if (p->gone) return disconnected(p), 0;
    if (!p->h) return 0;
    publish_appl(p, io->appl_ptr);
    const uint32_t st = engine_state(p);
    if (st == kStateXrun) return -EPIPE;
    if (st == kStateDisconnected) {
        // Not an error here: ioplug turns a pointer error into XRUN, and the application must
        // see -ENODEV (bluez-alsa's lesson). The state says it.
        snd_pcm_ioplug_set_state(io, SND_PCM_STATE_DISCONNECTED);
        return static_cast<snd_pcm_sframes_t>(p->io_hw);
    }
    snd_pcm_uframes_t hw = current_hw(p);
    if (playback(io) && io->state == SND_PCM_STATE_DRAINING) {
        // ioplug ends a drain when the ring is empty, but the daemon's drain also plays what
        // its FIFOs and devices hold. Until the daemon says SETUP, the pointer stops one frame
        // short of the application's.
        const snd_pcm_uframes_t appl = io->appl_ptr;
        const snd_pcm_uframes_t queued = (appl + p->io_boundary - hw) % p->io_boundary;
        // SETUP is the daemon's drain end; anything else (the drain request not there yet, or
        // refused) is not, and the pointer stays short of the application's.
        if (st == kStateSetup) hw = appl;
        else if (queued == 0 || queued > io->buffer_size) hw = (appl + p->io_boundary - 1) % p->io_boundary;
    }
    return static_cast<snd_pcm_sframes_t>(hw);
}

// The ring as channel areas: interleaved frames of the FE's format.
void ring_areas(Pcm* p, snd_pcm_channel_area_t* areas, snd_pcm_uframes_t at) {
    const unsigned bits = static_cast<unsigned>(snd_pcm_format_physical_width(p->io.format));
    for (unsigned c = 0; c < p->io.channels; ++c) {
        areas[c].addr = p->ring + at * p->frame_bytes;
        areas[c].first = c * bits;
        areas[c].step = static_cast<unsigned>(p->frame_bytes * 8);
    }
}

snd_pcm_sframes_t cb_transfer(snd_pcm_ioplug_t* io, const snd_pcm_channel_area_t* areas, snd_pcm_uframes_t offset,
                              snd_pcm_uframes_t size) {
    Pcm* p = self(io);
    if (p->gone) return -ENODEV;
    if (!p->ring) return -EBADFD;
    const bool mmap = io->access == SND_PCM_ACCESS_MMAP_INTERLEAVED || io->access == SND_PCM_ACCESS_MMAP_NONINTERLEAVED ||
                      io->access == SND_PCM_ACCESS_MMAP_COMPLEX;
    snd_pcm_channel_area_t ring[64];
    if (io->channels > 64) return -EINVAL;
    snd_pcm_uframes_t done = 0;
    while (done < size) {
        // In place, at the application pointer's slot: for writei the areas are the
        // application's buffer, for mmap alsa-lib's (which this copies out of, once).
        const snd_pcm_uframes_t at = (io->appl_ptr + done) % io->buffer_size;
        const snd_pcm_uframes_t n = std::min(size - done, io->buffer_size - at);
        ring_areas(p, ring, 0);
        if (playback(io))
            snd_pcm_areas_copy(ring, at, areas, offset + done, io->channels, n, io->format);
        else
            snd_pcm_areas_copy(areas, offset + done, ring, at, io->channels, n, io->format);
        done += n;
    }
    // Capture through mmap copies out before the application reads and moves its pointer
    // later (at commit; the next pointer update publishes it). Everything else moves it now.
    if (!(mmap && !playback(io))) {
        const snd_pcm_uframes_t appl = (io->appl_ptr + size) % p->io_boundary;
        publish_appl(p, appl);
        // No longer ready: consume the wakeup now, so that the application's next poll sleeps
        // instead of returning at once to find nothing to do.
        if (!ready_at(p, appl)) rearm(p, appl);
    }
    return static_cast<snd_pcm_sframes_t>(size);
}

// ---- poll ------------------------------------------------------------------------------------

int cb_poll_count(snd_pcm_ioplug_t*) { return 3; }

int cb_poll_descriptors(snd_pcm_ioplug_t* io, struct pollfd* pfd, unsigned int space) {
    Pcm* p = self(io);
    if (space < 3) return -EINVAL;
    // The wake socket (the realtime thread; it hangs up if the daemon dies), our own eventfd
    // (readiness found here, kept readable), and the daemon's socket (goodbye and EOF).
    pfd[0] = {p->wake_fd >= 0 ? p->wake_fd : p->self_fd, POLLIN, 0};
    pfd[1] = {p->self_fd, POLLIN, 0};
    pfd[2] = {p->client->fd(), POLLIN, 0};
    return 3;
}

void drain_fd(int fd, bool socket) {
    char buf[64];
    if (socket) {
        while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {}
    } else {
        uint64_t v;
        if (::read(fd, &v, sizeof v) < 0) {}
    }
}

// Whether the application may transfer now, as the kernel's poll decides it.
bool ready(Pcm* p, snd_pcm_sframes_t avail) {
    switch (p->io.state) {
        case SND_PCM_STATE_RUNNING:
        case SND_PCM_STATE_PREPARED:
        case SND_PCM_STATE_PAUSED: return avail >= static_cast<snd_pcm_sframes_t>(p->avail_min);
        case SND_PCM_STATE_DRAINING: return !playback(&p->io) && avail > 0;
        default: return true;  // XRUN, SETUP, SUSPENDED...: the call that follows says what
    }
}

int cb_poll_revents(snd_pcm_ioplug_t* io, struct pollfd* pfd, unsigned int nfds, unsigned short* revents) {
    Pcm* p = self(io);
    *revents = 0;
    if (nfds >= 3 && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))) {
        auto r = p->client->pump();
        if (!r || !p->client->connected()) disconnected(p);
    }
    if (nfds >= 1 && p->wake_fd >= 0 && (pfd[0].revents & (POLLHUP | POLLERR))) disconnected(p);
    if (p->gone || engine_state(p) == kStateDisconnected) {
        snd_pcm_ioplug_set_state(io, SND_PCM_STATE_DISCONNECTED);
        *revents = POLLERR | POLLHUP;
        return 0;
    }
    const unsigned short ok = playback(io) ? POLLOUT : POLLIN;
    // Outside alsa-lib's lock (ioplug releases it for this callback): the pointers may be synced.
    snd_pcm_sframes_t avail = snd_pcm_avail_update(io->pcm);
    if (avail < 0 || ready(p, avail)) {
        *revents = avail < 0 ? static_cast<unsigned short>(ok | POLLERR) : ok;
        return 0;
    }
    // Not ready: re-arm (which looks again), so a period that elapsed in between is either
    // seen now or wakes the next poll.
    rearm(p, io->appl_ptr);
    avail = snd_pcm_avail_update(io->pcm);
    if (avail < 0 || ready(p, avail)) *revents = avail < 0 ? static_cast<unsigned short>(ok | POLLERR) : ok;
    return 0;
}

// ---- control ---------------------------------------------------------------------------------

int cb_start(snd_pcm_ioplug_t* io) {
    Pcm* p = self(io);
    publish_appl(p, io->appl_ptr);
    return trigger(p, FeOp::Start);
}

int cb_stop(snd_pcm_ioplug_t* io) { return trigger(self(io), FeOp::Stop); }

int cb_pause(snd_pcm_ioplug_t* io, int enable) { return trigger(self(io), enable ? FeOp::Pause : FeOp::Release); }

int cb_prepare(snd_pcm_ioplug_t* io) {
    Pcm* p = self(io);
    // ioplug has reset its pointers; ours and the ring's restart with them once the daemon has
    // prepared (it refuses a running stream with -EBUSY, as the kernel does).
    if (int err = trigger(p, FeOp::Prepare); err < 0) return err;
    p->last_d_hw = 0;
    p->io_hw = 0;
    p->drain_sent = false;
    publish_appl(p, 0);
    return 0;
}

int cb_drain(snd_pcm_ioplug_t* io) {
    Pcm* p = self(io);
    if (!playback(io)) return trigger(p, FeOp::Stop);  // ioplug ends any drain in SETUP anyway
    if (!p->h) return 0;
    if (!p->drain_sent) {
        publish_appl(p, io->appl_ptr);
        if (int err = trigger(p, FeOp::Drain); err < 0) return err;
        p->drain_sent = true;
    }
    auto last_move = std::chrono::steady_clock::now();
    uint64_t last_hw = p->h->engine.hw_ptr.load(std::memory_order_relaxed);
    for (;;) {
        if (p->gone) return -ENODEV;
        const uint32_t st = engine_state(p);
        if (st == kStateDisconnected) return disconnected(p);
        if (st != kStateDraining) return 0;  // SETUP: played to the end (or XRUN, SUSPENDED: ended)
        if (io->nonblock) return -EAGAIN;
        // Sleep until the realtime thread says the state changed, the daemon goes, or a
        // tenth of a second passes (a progress check, as alsa-lib's own drain wait has).
        drain_fd(p->wake_fd, true);
        p->h->wake.armed.store(0, std::memory_order_seq_cst);
        if (engine_state(p) != kStateDraining) continue;
        pollfd fds[2] = {{p->wake_fd, POLLIN, 0}, {p->client->fd(), POLLIN, 0}};
        ::poll(fds, 2, 100);
        if ((fds[0].revents & (POLLHUP | POLLERR)) || (fds[1].revents & (POLLIN | POLLHUP))) {
            if (!p->client->pump() || !p->client->connected() || (fds[0].revents & POLLHUP)) return disconnected(p);
        }
        const uint64_t hw = p->h->engine.hw_ptr.load(std::memory_order_relaxed);
        if (hw != last_hw) {
            last_hw = hw;
            last_move = std::chrono::steady_clock::now();
        } else if (std::chrono::steady_clock::now() - last_move > std::chrono::seconds(10)) {
            SNDERR("dynpcm: %s: the drain made no progress for 10 s", p->label.c_str());
            return -EIO;
        }
    }
}

int cb_delay(snd_pcm_ioplug_t* io, snd_pcm_sframes_t* delayp) {
    Pcm* p = self(io);
    if (p->gone) return -ENODEV;
    if (!p->h) {
        *delayp = 0;
        return 0;
    }
    const uint32_t st = engine_state(p);
    if (st == kStateXrun) return -EPIPE;
    if (st == kStateSuspended) return -ESTRPIPE;
    if (st == kStateDisconnected) return disconnected(p);
    // The ring's share from the daemon's current position, plus what its port FIFOs and the
    // BE devices hold (the engine's own delay(), published each period).
    const snd_pcm_uframes_t hw = current_hw(p);
    const snd_pcm_uframes_t appl = io->appl_ptr;
    const snd_pcm_uframes_t ring = playback(io) ? (appl + p->io_boundary - hw) % p->io_boundary
                                                : (hw + p->io_boundary - appl) % p->io_boundary;
    *delayp = static_cast<snd_pcm_sframes_t>(ring) + p->h->engine.delay_extra.load(std::memory_order_relaxed);
    return 0;
}

int cb_hw_params(snd_pcm_ioplug_t* io, snd_pcm_hw_params_t*) {
    Pcm* p = self(io);
    p->unmap();
    FeConfigure m;
    m.handle = p->fe.handle;
    m.format = static_cast<uint8_t>(io->format);
    m.rate = io->rate;
    m.channels = io->channels;
    m.period = static_cast<uint32_t>(io->period_size);
    m.periods = static_cast<uint32_t>(io->buffer_size / io->period_size);
    m.exact = true;
    m.buffer = static_cast<uint32_t>(io->buffer_size);
    const uint32_t seq = p->client->next_seq();
    FeReply r;
    if (int err = request(p, encode(m, seq), seq, &r); err < 0) return err;
    auto fds = p->client->take_fds(r.fds);
    if (!fds) return fail(p, fds.error());
    if (r.fds != 2) {
        SNDERR("dynpcm: %s: the daemon passed no ring", p->label.c_str());
        for (int fd : *fds) ::close(fd);
        return -EPROTO;
    }
    const int memfd = (*fds)[0];
    p->wake_fd = (*fds)[1];
    struct stat sb{};
    void* map = MAP_FAILED;
    if (::fstat(memfd, &sb) == 0 && static_cast<uint64_t>(sb.st_size) >= r.shm_bytes && r.shm_bytes >= dynpcm::kSharedRingOffset)
        map = ::mmap(nullptr, r.shm_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    ::close(memfd);
    if (map == MAP_FAILED) {
        SNDERR("dynpcm: %s: cannot map the ring: %s", p->label.c_str(), std::strerror(errno));
        p->unmap();
        return -ENOMEM;
    }
    p->map = static_cast<std::byte*>(map);
    p->map_bytes = r.shm_bytes;
    p->h = reinterpret_cast<SharedRingHeader*>(p->map);
    const SharedRingHeader::Layout& l = p->h->layout;
    p->frame_bytes = static_cast<snd_pcm_uframes_t>(snd_pcm_format_physical_width(io->format) / 8) * io->channels;
    if (l.magic != SharedRingHeader::kMagic || l.version != SharedRingHeader::kVersion ||
        l.buffer_frames != io->buffer_size || l.frame_bytes != p->frame_bytes ||
        l.ring_offset + l.ring_bytes > r.shm_bytes || l.ring_bytes < io->buffer_size * p->frame_bytes ||
        l.boundary == 0 || alsa_boundary(io->buffer_size) % l.boundary != 0) {
        SNDERR("dynpcm: %s: the daemon's ring (layout version %u, %lu frames of %u bytes) does not match this "
               "configuration (%lu frames of %lu bytes)",
               p->label.c_str(), l.magic == SharedRingHeader::kMagic ? l.version : 0U,
               static_cast<unsigned long>(l.buffer_frames), l.frame_bytes, static_cast<unsigned long>(io->buffer_size),
               static_cast<unsigned long>(p->frame_bytes));
        p->unmap();
        return -EPROTO;
    }
    p->ring = p->map + l.ring_offset;
    p->d_boundary = l.boundary;
    p->io_boundary = alsa_boundary(io->buffer_size);
    p->fe = std::move(r);
    p->avail_min = io->period_size;
    return 0;
}

int cb_hw_free(snd_pcm_ioplug_t* io) {
    self(io)->unmap();
    return 0;
}

int cb_sw_params(snd_pcm_ioplug_t* io, snd_pcm_sw_params_t* params) {
    Pcm* p = self(io);
    if (!p->h) return 0;
    snd_pcm_uframes_t avail_min = 1, start = 1, stop = 0, sil_thr = 0, sil_size = 0, boundary = 0;
    snd_pcm_sw_params_get_avail_min(params, &avail_min);
    snd_pcm_sw_params_get_start_threshold(params, &start);
    snd_pcm_sw_params_get_stop_threshold(params, &stop);
    snd_pcm_sw_params_get_silence_threshold(params, &sil_thr);
    snd_pcm_sw_params_get_silence_size(params, &sil_size);
    snd_pcm_sw_params_get_boundary(params, &boundary);
    if (boundary) p->io_boundary = boundary;
    // Thresholds at or past alsa-lib's boundary mean "never": the daemon's boundary says so there.
    auto in_daemon = [&](snd_pcm_uframes_t v) { return v >= p->d_boundary ? p->d_boundary : v; };
    FeSwParams m;
    m.handle = p->fe.handle;
    m.avail_min = std::max<snd_pcm_uframes_t>(1, avail_min);
    m.start_threshold = in_daemon(start);
    m.stop_threshold = in_daemon(stop);
    m.silence_threshold = in_daemon(sil_thr);
    m.silence_size = in_daemon(sil_size);
    const uint32_t seq = p->client->next_seq();
    if (int err = request(p, encode(m, seq), seq); err < 0) return err;
    p->avail_min = m.avail_min;
    return 0;
}

int cb_close(snd_pcm_ioplug_t* io) {
    Pcm* p = self(io);
    if (!p->gone && p->client->connected()) {
        const uint32_t seq = p->client->next_seq();
        (void)p->client->call(encode(FeClose{p->fe.handle}, seq), seq);
    }
    delete p;
    return 0;
}

void cb_dump(snd_pcm_ioplug_t* io, snd_output_t* out) {
    Pcm* p = self(io);
    snd_output_printf(out, "dynpcm %s\n", p->label.c_str());
    if (p->h) {
        snd_output_printf(out, "Its setup is:\n");
        snd_pcm_dump_setup(io->pcm, out);
    }
}

const snd_pcm_ioplug_callback_t kCallbacks = [] {
    snd_pcm_ioplug_callback_t c{};
    c.start = cb_start;
    c.stop = cb_stop;
    c.pointer = cb_pointer;
    c.transfer = cb_transfer;
    c.close = cb_close;
    c.hw_params = cb_hw_params;
    c.hw_free = cb_hw_free;
    c.sw_params = cb_sw_params;
    c.prepare = cb_prepare;
    c.drain = cb_drain;
    c.pause = cb_pause;
    c.poll_descriptors_count = cb_poll_count;
    c.poll_descriptors = cb_poll_descriptors;
    c.poll_revents = cb_poll_revents;
    c.dump = cb_dump;
    c.delay = cb_delay;
    return c;
}();

// The FE's constraints, from the daemon: alsa-lib refines against them as the engine would, and
// the daemon checks the result exactly.
int set_constraints(Pcm* p) {
    snd_pcm_ioplug_t* io = &p->io;
    const FeCaps& c = p->fe.caps;
    static const unsigned int access[] = {SND_PCM_ACCESS_RW_INTERLEAVED, SND_PCM_ACCESS_RW_NONINTERLEAVED,
                                          SND_PCM_ACCESS_MMAP_INTERLEAVED, SND_PCM_ACCESS_MMAP_NONINTERLEAVED};
    std::vector<unsigned int> formats;
    for (unsigned f = 0; f < 64; ++f)
        if ((c.formats >> f) & 1U) formats.push_back(f);
    if (formats.empty()) return -EINVAL;
    int err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_ACCESS, 4, access);
    if (err >= 0)
        err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_FORMAT, static_cast<unsigned>(formats.size()), formats.data());
    if (err >= 0) err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_CHANNELS, c.channels_min, c.channels_max);
    if (err >= 0) {
        if (!c.rates.empty())
            err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_RATE, static_cast<unsigned>(c.rates.size()), c.rates.data());
        else
            err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_RATE, c.rate_min, c.rate_max);
    }
    if (err >= 0) err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIOD_BYTES, c.period_bytes_min, c.period_bytes_max);
    if (err >= 0) err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_BUFFER_BYTES, c.buffer_bytes_min, c.buffer_bytes_max);
    if (err >= 0) err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIODS, c.periods_min, c.periods_max);
    return err;
}

}  // namespace

extern "C" SND_PCM_PLUGIN_DEFINE_FUNC(dynpcm) {
    (void)root;
    std::string socket, card, fe;
    long device = -1;
    snd_config_iterator_t i, next;
    snd_config_for_each(i, next, conf) {
        snd_config_t* n = snd_config_iterator_entry(i);
        const char* key = nullptr;
        if (snd_config_get_id(n, &key) < 0) continue;
        const std::string k = key;
        if (k == "comment" || k == "type" || k == "hint") continue;
        const char* s = nullptr;
        long num = 0;
        if (k == "socket" || k == "fe") {
            if (snd_config_get_string(n, &s) < 0) {
                SNDERR("dynpcm: '%s' must be a string", key);
                return -EINVAL;
            }
            (k == "socket" ? socket : fe) = s;
        } else if (k == "card") {
            if (snd_config_get_string(n, &s) == 0) card = s;
            else if (snd_config_get_integer(n, &num) == 0) card = std::to_string(num);
            else {
                SNDERR("dynpcm: 'card' must be a number or a card id");
                return -EINVAL;
            }
        } else if (k == "device") {
            if (snd_config_get_integer(n, &num) == 0) device = num;
            else if (snd_config_get_string(n, &s) == 0 && *s && std::strspn(s, "0123456789") == std::strlen(s))
                device = std::strtol(s, nullptr, 10);
            else {
                SNDERR("dynpcm: 'device' must be a PCM device number");
                return -EINVAL;
            }
        } else {
            SNDERR("dynpcm: unknown field '%s' (the fields are socket, card, device and fe)", key);
            return -EINVAL;
        }
    }
    if (!fe.empty() && device >= 0) {
        SNDERR("dynpcm: give 'device' or 'fe', not both");
        return -EINVAL;
    }
    auto p = std::make_unique<Pcm>();
    if (int err = dynpcm::plugin::connect_to_card(socket, card, "pcm plugin", p->client); err < 0) return err;
    const std::string which = fe.empty() ? "#" + std::to_string(device < 0 ? 0 : device) : fe;
    const uint32_t seq = p->client->next_seq();
    const bool capture = stream == SND_PCM_STREAM_CAPTURE;
    if (int err = request(p.get(), encode(FeOpen{which, static_cast<uint8_t>(capture ? 1 : 0)}, seq), seq, &p->fe); err < 0)
        return err;
    p->label = "FE '" + p->fe.name + "' (device " + std::to_string(p->fe.device) + ", " +
               (capture ? "capture" : "playback") + ")";
    p->self_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->self_fd < 0) return -errno;

    snd_pcm_ioplug_t& io = p->io;
    io.version = SND_PCM_IOPLUG_VERSION;
    io.name = "dynpcm FE";
    io.callback = &kCallbacks;
    io.private_data = p.get();
    io.poll_fd = p->self_fd;
    io.poll_events = POLLIN;
    io.mmap_rw = 0;
    io.flags = SND_PCM_IOPLUG_FLAG_BOUNDARY_WA | SND_PCM_IOPLUG_FLAG_MONOTONIC;
    // ioplug learns of snd_pcm_nonblock() later, but not of a non-blocking open.
    io.nonblock = (mode & SND_PCM_NONBLOCK) ? 1 : 0;
    if (int err = snd_pcm_ioplug_create(&io, name, stream, mode); err < 0) return err;
    if (int err = set_constraints(p.get()); err < 0) {
        snd_pcm_ioplug_delete(&io);  // calls cb_close, which frees p
        p.release();
        return err;
    }
    *pcmp = io.pcm;
    p.release();  // owned by the PCM now: cb_close frees it
    return 0;
}
SND_PCM_PLUGIN_SYMBOL(dynpcm);

// dynpcmd's server: the epoll loop, the socket and its lock, clients, requests, events, shutdown.

#include "server.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "dynpcm/backend/sim_backend.h"
#include "dynpcm/card/routes.h"
#include "dynpcm/daemon/client.h"
#include "log.h"

namespace dynpcm::daemon {

using namespace ipc;

namespace {

int64_t mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string errstr(int e) { return std::strerror(e); }

// epoll keys: a client's id (never reused, unlike its fd, so an event queued for a client that
// is gone cannot reach a new one on the same fd), or one of the daemon's own descriptors.
constexpr uint64_t kKeyListen = ~uint64_t{0}, kKeySignal = kKeyListen - 1, kKeyTimer = kKeyListen - 2;
// A client's reads per wake-up: epoll reports it again, and the others get their turn.
constexpr int kReadsPerWakeup = 4;
// What a queued frame costs beyond its bytes (the deque entry, the vector), in the queue limit.
constexpr size_t kQueueOverhead = 64;

CtlElem elem_of(const Control& c) {
    CtlElem e;
    e.numid = c.id.numid;
    e.iface = c.id.iface == CtlIface::Card ? CtlIfaceW::Card : c.id.iface == CtlIface::Pcm ? CtlIfaceW::Pcm : CtlIfaceW::Mixer;
    e.name = c.id.name;
    e.index = c.id.index;
    e.count = c.info.count;
    e.writable = !c.info.read_only;
    switch (c.info.type) {
        case CtlType::Boolean: e.type = CtlTypeW::Boolean; e.min = 0; e.max = 1; e.step = 0; break;
        case CtlType::Integer: e.type = CtlTypeW::Integer; e.min = c.info.min; e.max = c.info.max; e.step = c.info.step; break;
        case CtlType::Enumerated:
            e.type = CtlTypeW::Enumerated;
            e.items = c.info.items;
            e.min = 0;
            e.max = static_cast<int64_t>(c.info.items.size()) - 1;
            e.step = 0;
            break;
        case CtlType::Bytes: e.type = CtlTypeW::Bytes; e.min = 0; e.max = 255; e.step = 0; break;
    }
    if (c.info.db) {
        e.db_min_cdb = c.info.db->min_cdb;
        e.db_step_cdb = c.info.db->step_cdb;
        e.db_mute = c.info.db->mute;
    }
    return e;
}

std::string key_of(std::string_view link, Stream dir) { return fmt::format("{}/{}", link, stream_name(dir)); }

constexpr uint32_t kMaxClientPeriodBytes = 128 * 1024, kMaxClientBufferBytes = 512 * 1024;
constexpr size_t kMaxQueuedFds = 8;  // four rings' descriptors waiting in one client's queue

// What the FE's hardware allows, from its configuration space, for the client's own refinement.
FeCaps caps_of(const PcmRuntime& pcm) {
    const HwParams any = pcm.hw_params_any();
    FeCaps c;
    c.formats = any.formats().bits();
    auto range = [&](HwParam p, uint32_t& lo, uint32_t& hi) {
        lo = any.interval(p).min;
        hi = any.interval(p).max;
    };
    range(HwParam::Channels, c.channels_min, c.channels_max);
    range(HwParam::Rate, c.rate_min, c.rate_max);
    range(HwParam::PeriodBytes, c.period_bytes_min, c.period_bytes_max);
    range(HwParam::Periods, c.periods_min, c.periods_max);
    range(HwParam::BufferBytes, c.buffer_bytes_min, c.buffer_bytes_max);
    // What an ASoC platform driver's snd_pcm_hardware would offer an application: the engine
    // takes any size, but a client asking for the largest (speaker-test does) should get a
    // buffer of seconds, not of minutes.
    c.period_bytes_max = std::max(c.period_bytes_min, std::min(c.period_bytes_max, kMaxClientPeriodBytes));
    c.buffer_bytes_max = std::max(c.buffer_bytes_min, std::min(c.buffer_bytes_max, kMaxClientBufferBytes));
    // A rate list unless the range is continuous (a rate just above the minimum is allowed).
    auto allowed = [&](uint32_t rate) {
        HwParams t = any;
        return static_cast<bool>(t.set(HwParam::Rate, rate));
    };
    if (c.rate_min < c.rate_max && !allowed(c.rate_min + 1)) {
        for (uint32_t r : {5512U, 8000U, 11025U, 16000U, 22050U, 24000U, 32000U, 44100U, 48000U, 64000U, 88200U,
                           96000U, 176400U, 192000U, 352800U, 384000U})
            if (r >= c.rate_min && r <= c.rate_max && allowed(r)) c.rates.push_back(r);
    }
    c.can_pause = pcm.info().can_pause;
    return c;
}

// Whether the peer of `fd` is in group `gid`: its primary group, or one of the supplementary
// groups SO_PEERGROUPS reports as they were when it connected (no pid to race with).
bool in_group(int fd, gid_t primary, gid_t gid) {
    if (primary == gid) return true;
    std::vector<gid_t> groups(64);
    for (int attempt = 0; attempt < 2; ++attempt) {
        socklen_t len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
            groups.resize(len / sizeof(gid_t));
            return std::find(groups.begin(), groups.end(), gid) != groups.end();
        }
        if (errno != ERANGE) return false;
        groups.resize(len / sizeof(gid_t) + 1);  // len now says how much is needed
    }
    return false;
}

}  // namespace

Server::Server(std::unique_ptr<Card> card, ServerOptions options)
    : opt_(std::move(options)), pending_card_(std::move(card)), clock_(SimClock::Options{.mode = SimClock::Mode::Realtime}) {}

Server::~Server() {
    shutdown();
}

Result<void> Server::start() {
    started_ns_ = mono_ns();
    card_ = pending_card_.get();
    for (const auto& c : card_->controls()) elems_.push_back(elem_of(c));
    // Every change, whoever makes it (a client, a jack, the engine), reaches the subscribers.
    card_->subscribe([this](const Control& c) {
        if (pending_.insert(c.id.numid).second) changed_.push_back(c.id.numid);
    });
    if (opt_.socket_path.empty()) {
        const std::string dir = default_socket_dir();
        if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST)
            return Error(-errno, fmt::format("cannot make the socket directory '{}': {}", dir, errstr(errno)));
        struct stat st{};
        if (::stat(dir.c_str(), &st) < 0) return Error(-errno, fmt::format("'{}': {}", dir, errstr(errno)));
        if (st.st_uid != geteuid())
            return Error(-EPERM, fmt::format("the socket directory '{}' belongs to uid {}, not to this user ({})", dir,
                                             st.st_uid, geteuid()));
        if ((st.st_mode & 077) != 0 && !opt_.group)
            ::chmod(dir.c_str(), 0700);  // ours: make it private again
        else if (opt_.group) {
            if (::chown(dir.c_str(), static_cast<uid_t>(-1), *opt_.group) == 0) ::chmod(dir.c_str(), 0750);
        }
        opt_.socket_path = fmt::format("{}/{}.sock", dir, card_->identity().id);
    }
    if (auto b = bind_socket(); !b) return b;
    // Blocked before any thread starts, so every thread inherits the mask and the signals
    // arrive only through the signalfd, on this thread.
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
    pthread_sigmask(SIG_BLOCK, &mask, nullptr);

    if (clock_.mode() == SimClock::Mode::Realtime) {
        if (auto r = clock_.start(); !r) return r;
        if (!clock_.sched_fifo()) log_warning("{}", clock_.fifo_warning());
    }
    auto d = Dpcm::create(std::move(pending_card_), {.clock = &clock_});
    if (!d) return std::move(d).error();
    dpcm_ = std::move(*d);

    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    signal_fd_ = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);  // the mask blocked above
    timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    const long ns = static_cast<long>(opt_.service_ms) * 1000000L;
    itimerspec its{{ns / 1000000000L, ns % 1000000000L}, {ns / 1000000000L, ns % 1000000000L}};
    ::timerfd_settime(timer_fd_, 0, &its, nullptr);
    watch(listen_fd_, kKeyListen, EPOLLIN, EPOLL_CTL_ADD);
    watch(signal_fd_, kKeySignal, EPOLLIN, EPOLL_CTL_ADD);
    watch(timer_fd_, kKeyTimer, EPOLLIN, EPOLL_CTL_ADD);
    ::signal(SIGPIPE, SIG_IGN);
    const CardIdentity& id = card_->identity();
    log_info("card '{}' (id {}, driver {}) from {}: {} controls, {} FE links, {} BE links", card_->name(), id.id, id.driver,
             opt_.card_source, card_->controls().size(), card_->fe_links().size(), card_->be_links().size());
    return {};
}

Result<void> Server::bind_socket() {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (opt_.socket_path.size() >= sizeof sa.sun_path)
        return Error(-ENAMETOOLONG, fmt::format("socket path '{}' is longer than {} bytes", opt_.socket_path,
                                                sizeof sa.sun_path - 1));
    // One daemon per socket: the lock beside it is held for the daemon's life. A socket with no
    // lock holder is a crashed daemon's, and is taken over.
    lock_path_ = opt_.socket_path + ".lock";
    lock_fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) return Error(-errno, fmt::format("cannot open the lock '{}': {}", lock_path_, errstr(errno)));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) < 0) {
        char buf[32] = {};
        const ssize_t n = ::pread(lock_fd_, buf, sizeof buf - 1, 0);
        ::close(lock_fd_);
        lock_fd_ = -1;
        lock_path_.clear();
        return Error(-EADDRINUSE, fmt::format("another dynpcmd{} is serving '{}'; stop it first, or give another --socket",
                                              n > 0 ? fmt::format(" (pid {})", std::atoi(buf)) : "", opt_.socket_path));
    }
    const std::string pid = fmt::format("{}\n", getpid());
    if (::ftruncate(lock_fd_, 0) == 0 && ::pwrite(lock_fd_, pid.data(), pid.size(), 0) < 0) {}
    struct stat st{};
    if (::lstat(opt_.socket_path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return Error(-EEXIST, fmt::format("'{}' exists and is not a socket; not replacing it", opt_.socket_path));
        ::unlink(opt_.socket_path.c_str());
        log_info("took over the stale socket '{}' (its daemon is gone)", opt_.socket_path);
    }
    std::memcpy(sa.sun_path, opt_.socket_path.c_str(), opt_.socket_path.size() + 1);
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    // The socket is created with the owner's permissions only, so nobody else can connect in
    // between bind and chmod.
    const mode_t old = ::umask(0177);
    const int b = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    const int be = errno;
    ::umask(old);
    if (b < 0) return Error(-be, fmt::format("cannot bind '{}': {}", opt_.socket_path, errstr(be)));
    bound_ = true;
    if (opt_.group) {
        if (::chown(opt_.socket_path.c_str(), static_cast<uid_t>(-1), *opt_.group) < 0)
            return Error(-errno, fmt::format("cannot give '{}' to group {}: {}", opt_.socket_path, *opt_.group, errstr(errno)));
        ::chmod(opt_.socket_path.c_str(), 0660);
    }
    if (::listen(listen_fd_, 64) < 0) return Error(-errno, fmt::format("listen: {}", errstr(errno)));
    return {};
}

void Server::watch(int fd, uint64_t key, uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = key;
    ::epoll_ctl(epoll_fd_, op, fd, &ev);
}

int Server::run(const std::function<void()>& on_stop) {
    std::vector<epoll_event> evs(64);
    bool stop = false;
    while (!stop) {
        const int n = ::epoll_wait(epoll_fd_, evs.data(), static_cast<int>(evs.size()), -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            log_error("epoll_wait: {}", errstr(errno));
            break;
        }
        for (int i = 0; i < n; ++i) {
            const uint64_t key = evs[static_cast<size_t>(i)].data.u64;
            const uint32_t what = evs[static_cast<size_t>(i)].events;
            if (key == kKeyListen) {
                accept_clients();
            } else if (key == kKeySignal) {
                signalfd_siginfo si{};
                while (::read(signal_fd_, &si, sizeof si) == sizeof si) {
                    log_info("{}: shutting down", strsignal(static_cast<int>(si.ssi_signo)));
                    stop = true;
                }
            } else if (key == kKeyTimer) {
                uint64_t ticks = 0;
                if (::read(timer_fd_, &ticks, sizeof ticks) < 0) {}
                service();
            } else if (auto it = clients_.find(key); it != clients_.end()) {
                Client& c = *it->second;
                if (what & EPOLLIN) on_readable(c);
                if (clients_.count(key) && (what & EPOLLOUT)) on_writable(c);
                if (clients_.count(key) && (what & (EPOLLHUP | EPOLLERR)) && !(what & EPOLLIN))
                    drop_client(key, "hung up");
            }
        }
        broadcast_changes();
    }
    if (on_stop) on_stop();
    shutdown();
    return 0;
}

void Server::accept_clients() {
    for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            if (errno == EMFILE || errno == ENFILE) {
                // The connection stays in the backlog and the socket readable: stop watching it
                // until a client leaves, rather than spin on it.
                log_warning("cannot accept a client: {}; accepting again when a client leaves", errstr(errno));
                watch(listen_fd_, kKeyListen, 0, EPOLL_CTL_DEL);
                accepting_ = false;
            }
            return;
        }
        ucred cred{};
        socklen_t len = sizeof cred;
        const bool have = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
        auto refuse = [&](const std::string& why) {
            auto f = encode(ErrorReply{-EACCES, why}, 0);
            if (::send(fd, f.data(), f.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {}
            ::close(fd);
            ++refused_;
        };
        if (!have) {
            refuse("dynpcmd cannot read this connection's credentials");
            log_warning("refused a connection: no peer credentials");
            continue;
        }
        const bool same_user = cred.uid == geteuid();
        if (!same_user && !(opt_.group && in_group(fd, cred.gid, *opt_.group))) {
            refuse(fmt::format("dynpcmd serves uid {} only; this connection is uid {}", geteuid(), cred.uid));
            log_warning("refused pid {} (uid {}): another user", cred.pid, cred.uid);
            continue;
        }
        if (clients_.size() >= opt_.max_clients) {
            refuse(fmt::format("dynpcmd has {} clients, its limit (--max-clients)", clients_.size()));
            log_warning("refused pid {}: {} clients already", cred.pid, clients_.size());
            continue;
        }
        auto c = std::make_unique<Client>();
        c->fd = fd;
        c->id = next_client_++;
        c->pid = cred.pid;
        c->uid = cred.uid;
        c->connected_ns = mono_ns();
        watch(fd, c->id, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
        clients_[c->id] = std::move(c);
    }
}

std::string Server::client_label(const Client& c) const {
    return fmt::format("client {} '{}' (pid {})", c.id, c.name.empty() ? "?" : c.name, c.pid);
}

void Server::on_readable(Client& c) {
    const uint64_t id = c.id;
    std::byte buf[16384];
    for (int reads = 0; reads < kReadsPerWakeup && !c.closing; ++reads) {
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n == 0) {
            drop_client(id, "left");
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            drop_client(id, fmt::format("connection error: {}", errstr(errno)));
            return;
        }
        c.in.insert(c.in.end(), buf, buf + n);
        // Whole frames are handled as they complete, so a client never buffers more than one
        // request of at most kMaxRequest bytes here.
        size_t off = 0;
        while (c.in.size() - off >= 4) {
            const uint32_t len = frame_length(c.in.data() + off);
            if (len > kMaxRequest || len < kHeaderSize) {
                // The stream cannot be resynchronised after a bad length: answer and close.
                reply_error(c, 0, -EMSGSIZE,
                            len < kHeaderSize ? fmt::format("a message of {} bytes is shorter than its {}-byte header", len, kHeaderSize)
                                              : fmt::format("a message of {} bytes is over the limit of {} bytes", len, kMaxRequest));
                if (!clients_.count(id)) return;  // the reply overflowed its queue: already gone
                log_warning("{}: {}-byte message; closing", client_label(c), len);
                c.closing = true;
                c.closing_ns = mono_ns();
                c.in.clear();
                off = 0;
                break;
            }
            if (c.in.size() - off - 4 < len) break;
            handle_frame(c, std::span<const std::byte>(c.in.data() + off + 4, len));
            off += 4 + len;
            // What the request changed goes out before the next request is read.
            broadcast_changes();
            if (!clients_.count(id)) return;
            if (c.closing) break;
        }
        if (!c.closing) c.in.erase(c.in.begin(), c.in.begin() + static_cast<ptrdiff_t>(off));
        if (c.closing) {
            on_writable(c);
            return;
        }
    }
}

Server::Client::Queued::~Queued() {
    for (int fd : fds) ::close(fd);
}

void Server::send(Client& c, std::vector<std::byte> frame, uint32_t event_numid, std::vector<int> fds) {
    if (event_numid != 0 && !c.queued_events.insert(event_numid).second) return;  // one is still queued
    c.out_bytes += frame.size() + kQueueOverhead;
    // Descriptors are the scarce thing a client could pile up by asking and never reading (each
    // ring's memfd also keeps its pages alive): a few rings' worth, then it is cut off too.
    size_t queued_fds = fds.size();
    for (const auto& q : c.out) queued_fds += q.fds.size();
    c.out.emplace_back(std::move(frame), event_numid, std::move(fds));
    if (c.out_bytes > opt_.queue_limit || queued_fds > kMaxQueuedFds) {
        // It does not read what it asked for: cut it off rather than grow without bound.
        ++cut_off_;
        c.out.clear();
        c.out_bytes = 0;
        drop_client(c.id, queued_fds > kMaxQueuedFds
                              ? fmt::format("cut off: more than {} descriptors of rings unread", kMaxQueuedFds)
                              : fmt::format("cut off: more than {} bytes of replies and events unread", opt_.queue_limit));
        return;
    }
    on_writable(c);
}

void Server::on_writable(Client& c) {
    while (!c.out.empty()) {
        auto& q = c.out.front();
        auto& f = q.frame;
        ssize_t n;
        if (c.out_off == 0 && !q.fds.empty()) {
            // The descriptors ride on the frame's first byte, so they have arrived by the
            // time the client has the whole frame.
            iovec iov{f.data(), f.size()};
            alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
            msghdr msg{};
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = CMSG_SPACE(sizeof(int) * q.fds.size());
            cmsghdr* cm = CMSG_FIRSTHDR(&msg);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int) * q.fds.size());
            std::memcpy(CMSG_DATA(cm), q.fds.data(), sizeof(int) * q.fds.size());
            n = ::sendmsg(c.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                for (int fd : q.fds) ::close(fd);
                q.fds.clear();
            }
        } else {
            n = ::send(c.fd, f.data() + c.out_off, f.size() - c.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            drop_client(c.id, fmt::format("connection error: {}", errstr(errno)));
            return;
        }
        c.out_off += static_cast<size_t>(n);
        if (c.out_off == f.size()) {
            c.out_bytes -= f.size() + kQueueOverhead;
            if (c.out.front().event_numid) c.queued_events.erase(c.out.front().event_numid);
            c.out.pop_front();
            c.out_off = 0;
        }
    }
    const bool want = !c.out.empty();
    // A closing client is only written to: what it sends now is not read.
    const uint32_t events = (c.closing ? 0U : EPOLLIN | EPOLLRDHUP) | (want ? EPOLLOUT : 0U);
    if (events != c.watched) {
        watch(c.fd, c.id, events, EPOLL_CTL_MOD);
        c.watched = events;
    }
    if (!want && c.closing) drop_client(c.id, "closed after a protocol error");
}

void Server::reply_error(Client& c, uint32_t seq, int code, const std::string& message) {
    send(c, encode(ErrorReply{code < 0 ? code : -EINVAL, message}, seq));
}

void Server::handle_frame(Client& c, std::span<const std::byte> body) {
    auto h = parse_header(body);
    const uint32_t seq = body.size() >= kHeaderSize ? frame_length(body.data() + 4) : 0;
    if (!h) return reply_error(c, seq, h.code(), h.error().message());
    ++c.requests;
    if (!is_request(h->type))
        return reply_error(c, seq, -EBADMSG, fmt::format("{} is a message dynpcmd sends, not one it takes", type_name(h->type)));
    const auto p = payload(body);
    const auto type = static_cast<Type>(h->type);
    if (!c.hello && type != Type::Hello)
        return reply_error(c, seq, -EPROTO, fmt::format("{} before Hello: say Hello first", type_name(h->type)));
    switch (type) {
        case Type::Hello: return on_hello(c, seq, p);
        case Type::CtlList: return on_ctl_list(c, seq, p);
        case Type::CtlRead: return on_ctl_read(c, seq, p);
        case Type::CtlWrite: return on_ctl_write(c, seq, p);
        case Type::Subscribe: {
            auto m = decode_Subscribe(p);
            if (!m) return reply_error(c, seq, m.code(), m.error().message());
            c.subscribed = m->on;
            return send(c, encode_empty(Type::Ok, seq));
        }
        case Type::Dump: {
            auto m = decode_Dump(p);
            if (!m) return reply_error(c, seq, m.code(), m.error().message());
            const DpcmDump d = dpcm_->dump();
            return send_text(c, seq, m->json ? d.to_json() : d.to_text());
        }
        case Type::Routes:
        case Type::Status:
            if (!p.empty())
                return reply_error(c, seq, -EPROTO, fmt::format("{} takes no payload; it has {} bytes", type_name(h->type), p.size()));
            return send_text(c, seq, type == Type::Routes ? routes_json() : status_json());
        case Type::Jack: return on_jack(c, seq, p);
        case Type::FeOpen: return on_fe_open(c, seq, p);
        case Type::FeConfigure: return on_fe_configure(c, seq, p);
        case Type::FeTrigger: return on_fe_trigger(c, seq, p);
        case Type::FeClose: return on_fe_close(c, seq, p);
        case Type::FeSwParams: return on_fe_sw_params(c, seq, p);
        default: return reply_error(c, seq, -EBADMSG, fmt::format("{} is not a request", type_name(h->type)));
    }
}

void Server::send_text(Client& c, uint32_t seq, std::string text) {
    // Cut JSON is no JSON: a reply too large for a frame is an error instead.
    if (text.size() > kMaxText)
        return reply_error(c, seq, -E2BIG, fmt::format("the reply is {} bytes, over the protocol's {} for one message",
                                                       text.size(), kMaxText));
    send(c, encode(Text{std::move(text)}, seq));
}

void Server::on_hello(Client& c, uint32_t seq, std::span<const std::byte> p) {
    auto m = decode_Hello(p);
    if (!m) return reply_error(c, seq, m.code(), m.error().message());
    if (c.hello) return reply_error(c, seq, -EPROTO, "Hello again: this connection said Hello already");
    if (m->major != kVersionMajor)
        return reply_error(c, seq, -EPROTO, fmt::format("protocol {}.{} is not spoken here: dynpcmd speaks {}.{}", m->major,
                                                        m->minor, kVersionMajor, kVersionMinor));
    c.hello = true;
    c.name = m->client.empty() ? "client" : m->client;
    log_info("{} connected (uid {})", client_label(c), c.uid);
    HelloReply r;
    r.pid = static_cast<uint32_t>(getpid());
    r.controls = static_cast<uint32_t>(elems_.size());
    r.card = card_->identity();
    send(c, encode(r, seq));
}

void Server::on_ctl_list(Client& c, uint32_t seq, std::span<const std::byte> p) {
    auto m = decode_CtlList(p);
    if (!m) return reply_error(c, seq, m.code(), m.error().message());
    CtlListReply r;
    r.total = static_cast<uint32_t>(elems_.size());
    size_t size = 64;
    for (size_t i = m->first; i < elems_.size(); ++i) {
        size += encoded_size(elems_[i]);
        if (size > kMaxFrame) break;
        r.elems.push_back(elems_[i]);
    }
    send(c, encode(r, seq));
}

Result<const Control*> Server::find(const CtlRef& id) const {
    const Card& card = dpcm_->card();
    if (id.numid != 0) {
        const Control* ctl = card.control(id.numid);
        if (!ctl) return Error(-ENOENT, fmt::format("no control with numid {} (the card has {})", id.numid, card.controls().size()));
        return ctl;
    }
    const Control* ctl = card.find_control(id.name, id.index);
    if (!ctl || elems_[ctl->id.numid - 1].iface != id.iface)
        return Error(-ENOENT, fmt::format("no control '{}'{} on card '{}'", id.name,
                                          id.index ? fmt::format(" index {}", id.index) : "", card.name()));
    return ctl;
}

void Server::on_ctl_read(Client& c, uint32_t seq, std::span<const std::byte> p) {
    auto m = decode_CtlRead(p);
    if (!m) return reply_error(c, seq, m.code(), m.error().message());
    auto ctl = find(m->id);
    if (!ctl) return reply_error(c, seq, ctl.code(), ctl.error().message());
    send(c, encode(CtlValues{(*ctl)->id.numid, (*ctl)->value}, seq));
}

void Server::on_ctl_write(Client& c, uint32_t seq, std::span<const std::byte> p) {
    auto m = decode_CtlWrite(p);
    if (!m) return reply_error(c, seq, m.code(), m.error().message());
    auto ctl = find(m->id);
    if (!ctl) return reply_error(c, seq, ctl.code(), ctl.error().message());
    const Control& k = **ctl;
    if (k.info.read_only) return reply_error(c, seq, -EPERM, fmt::format("control '{}' is read-only", k.id.name));
    // ALSA writes carry every value of the element; a shorter write is the caller's bug.
    if (m->values.size() != k.info.count)
        return reply_error(c, seq, -EINVAL, fmt::format("control '{}' has {} values; the write carries {}", k.id.name,
                                                        k.info.count, m->values.size()));
    const std::string before = format_ctl_value(k);
    auto r = dpcm_->put(k.id.numid, m->values);
    if (!r) return reply_error(c, seq, r.code(), r.error().message());
    if (*r) log_info("{} set '{}' = {} (was {})", client_label(c), k.id.name, format_ctl_value(k), before);
    send(c, encode(WriteReply{*r}, seq));
}

void Server::on_jack(Client& c, uint32_t seq, std::span<const std::byte> p) {
    auto m = decode_Jack(p);
    if (!m) return reply_error(c, seq, m.code(), m.error().message());
    const Card& card = dpcm_->card();
    if (!m->be.empty()) {
        // The device behind a BE appears or vanishes, as a USB or Bluetooth device would.
        SimBackend* sim = nullptr;
        for (Stream dir : {Stream::Playback, Stream::Capture})
            if (!sim) sim = dynamic_cast<SimBackend*>(dpcm_->backend(m->be, dir));
        if (!sim)
            return reply_error(c, seq, -ENOTSUP, fmt::format("BE '{}' has no sim device to plug or unplug", m->be));
        if (m->plugged) sim->reconnect();
        else sim->unplug();
        log_info("{}: the device of BE {} {}", client_label(c), m->be, m->plugged ? "came back" : "vanished");
        return send(c, encode_empty(Type::Ok, seq));
    }
    for (const auto& pin : m->pins) {
        const Control* sw = card.find_control(pin + " Switch");
        if (!sw) return reply_error(c, seq, -ENOENT, fmt::format("no jack pin '{}': the card has no control '{} Switch'", pin, pin));
        if (sw->info.read_only) return reply_error(c, seq, -EPERM, fmt::format("jack pin '{}': '{} Switch' is read-only", pin, pin));
    }
    log_info("{}: jack {}: {}", client_label(c), m->plugged ? "plugged" : "unplugged", fmt::format("{}", fmt::join(m->pins, ", ")));
    for (const auto& pin : m->pins) {
        // A codec's jack detection sets the pin and, where the card has one, its "<pin> Jack" control.
        for (const std::string& name : {pin + " Switch", pin + " Jack"}) {
            const Control* k = card.find_control(name);
            if (!k || k->info.read_only) continue;  // a read-only jack control is not the client's to set
            if (auto r = dpcm_->put(name, m->plugged ? "on" : "off"); !r)
                return reply_error(c, seq, r.code(), r.error().message());
        }
    }
    send(c, encode_empty(Type::Ok, seq));
}

void Server::on_fe_open(Client& c, uint32_t seq, std::span<const std::byte> p) {
    auto m = decode_FeOpen(p);
    if (!m) return reply_error(c, seq, m.code(), m.error().message());
    const Card& card = dpcm_->card();
    std::optional<size_t> fe;
    if (m->fe[0] == '#') {
        char* end = nullptr;
        errno = 0;
        const unsigned long dev = std::strtoul(m->fe.c_str() + 1, &end, 10);
        if (*end == '\0' && m->fe.size() > 1 && std::isdigit(static_cast<unsigned char>(m->fe[1])) && errno == 0 &&
            dev <= UINT32_MAX)
            fe = card.find_fe_device(static_cast<uint32_t>(dev));
    } else {
        fe = card.find_fe(m->fe);
    }
    if (!fe) return reply_error(c, seq, -ENOENT, fmt::format("card '{}' has no FE '{}'", card.name(), m->fe));
    const FeLink& link = card.fe_links()[*fe];
    const Stream dir = m->stream == 0 ? Stream::Playback : Stream::Capture;
    const std::string key = key_of(link.name, dir);
    if (auto o = fe_owner_.find(key); o != fe_owner_.end()) {
        const Client& owner = *clients_.at(o->second.first);
        return reply_error(c, seq, -EBUSY, fmt::format("FE '{}' is open by {}", key, client_label(owner)));
    }
    // Non-blocking: nothing a client asks may make this thread wait (a drain returns at once
    // and ends on the realtime thread). The ring is the client's, in shared memory.
    auto pcm = dpcm_->open(link.name, dir, {.name = key, .nonblock = true, .pointer_bits = opt_.pointer_bits, .shared_ring = true});
    if (!pcm) return reply_error(c, seq, pcm.code(), pcm.error().message());
    const uint32_t handle = next_handle_++;
    c.fes[handle] = Fe{link.name, dir, link.device_number, nullptr};
    fe_owner_[key] = {c.id, handle};
    log_info("{} opened FE '{}' (PCM device {})", client_label(c), key, link.device_number);
    send_fe_reply(c, seq, handle, c.fes[handle]);
}

Server::Fe* Server::held_fe(Client& c, uint32_t seq, uint32_t handle) {
    auto it = c.fes.find(handle);
    if (it != c.fes.end()) return &it->second;
    reply_error(c, seq, -EBADF, fmt::format("this client holds no FE with handle {}", handle));
    return nullptr;
}

void Server::send_fe_reply(Client& c, uint32_t seq, uint32_t handle, const Fe& fe, bool with_ring) {
    const PcmRuntime* pcm = dpcm_->pcm(fe.link, fe.dir);
    FeReply r;
    r.handle = handle;
    r.device = fe.device;
    r.state = pcm_state_name(pcm->state());
    r.period = static_cast<uint32_t>(pcm->period_size());
    r.buffer = static_cast<uint32_t>(pcm->buffer_size());
    r.name = fe.link;
    r.caps = caps_of(*pcm);
    r.boundary = pcm->boundary();
    std::vector<int> fds;
    if (with_ring && fe.ring) {
        // Duplicates, so a frame still queued when the FE goes never names a closed descriptor.
        for (int fd : {fe.ring->memfd(), fe.ring->client_wake_fd()}) {
            const int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
            if (d < 0) {
                for (int x : fds) ::close(x);
                return reply_error(c, seq, -errno, fmt::format("passing FE '{}' its ring: {}", fe.link, errstr(errno)));
            }
            fds.push_back(d);
        }
        r.fds = 2;
        r.shm_bytes = fe.ring->bytes();
    }
    send(c, encode(r, seq), 0, std::move(fds));
}

void Server::on_fe_configure(Client& c, uint32_t seq, std::span<const std::byte> p) {
    auto m = decode_FeConfigure(p);
    if (!m) return reply_error(c, seq, m.code(), m.error().message());
    Fe* fe = held_fe(c, seq, m->handle);
    if (!fe) return;
    PcmRuntime* pcm = dpcm_->pcm(fe->link, fe->dir);
    // hw_params refuses a running (or xrun, paused...) stream without letting go of its ring:
    // refuse here, before anything could drop the mapping the realtime thread still uses.
    if (const PcmState s = pcm->state(); s != PcmState::Open && s != PcmState::Setup && s != PcmState::Prepared)
        return reply_error(c, seq, s == PcmState::Disconnected ? -ENODEV : -EBADFD,
                           fmt::format("FE '{}': hw_params is not allowed in state {}; stop it first",
                                       key_of(fe->link, fe->dir), pcm_state_name(s)));
    HwParams hp = pcm->hw_params_any();
    Result<void> r;
    auto step = [&](Result<void> s) {
        if (r && !s) r = std::move(s);
    };
    auto step_u = [&](Result<uint32_t> s) {
        if (r && !s) r = std::move(s).error();
    };
    step(hp.set_format(static_cast<Format>(m->format)));
    step(hp.set(HwParam::Channels, m->channels));
    if (m->exact) {
        // A plugin refined its own space from the FE's caps: these values, or an error.
        step(hp.set(HwParam::Rate, m->rate));
        if (m->period) step(hp.set(HwParam::PeriodSize, m->period));
        if (m->buffer) step(hp.set(HwParam::BufferSize, m->buffer));
        else if (m->periods) step(hp.set(HwParam::Periods, m->periods));
    } else {
        step_u(hp.set_near(HwParam::Rate, m->rate));
        if (m->period) step_u(hp.set_near(HwParam::PeriodSize, m->period));
        if (m->periods) step_u(hp.set_near(HwParam::Periods, m->periods));
    }
    if (r) step(pcm->hw_params(hp));  // detaches the old ring, if any
    std::unique_ptr<FeRing> ring;
    // A boundary of less than two buffers cannot tell a full ring from an empty one
    // (--pointer-bits too small for this buffer).
    if (r && pcm->boundary() < 2 * pcm->buffer_size())
        r = Error(-EINVAL, fmt::format("FE '{}': a buffer of {} frames needs a boundary of at least {}, and "
                                       "--pointer-bits {} gives {}",
                                       key_of(fe->link, fe->dir), pcm->buffer_size(), 2 * pcm->buffer_size(),
                                       opt_.pointer_bits, pcm->boundary()));
    if (r) {
        const HwParams& chosen = pcm->params();
        auto made = FeRing::create(key_of(fe->link, fe->dir), frame_bytes(chosen.format(), chosen.channels()),
                                   chosen.channels(), pcm->buffer_size(), pcm->boundary());
        if (!made) r = std::move(made).error();
        else ring = std::move(*made);
    }
    if (r) step(pcm->attach_shared(ring->header(), ring->ring(), ring->wake_fd()));
    if (r) {
        // Until the client says otherwise (FeSwParams; the plugin always does), the FE
        // free-runs on silence, so a client that never writes its ring does not xrun.
        SwParams sw = pcm->sw_params_current();
        sw.stop_threshold = pcm->boundary();
        sw.silence_size = pcm->boundary();
        step(pcm->sw_params(sw));
    }
    if (!r) {
        (void)pcm->hw_free();  // the old ring is detached; the FE is back to OPEN
        fe->ring.reset();
        return reply_error(c, seq, r.code(), r.error().message());
    }
    fe->ring = std::move(ring);  // the old one goes now: the engine let go of it in hw_params
    send_fe_reply(c, seq, m->handle, *fe, true);
}

void Server::on_fe_sw_params(Client& c, uint32_t seq, std::span<const std::byte> p) {
    auto m = decode_FeSwParams(p);
    if (!m) return reply_error(c, seq, m.code(), m.error().message());
    Fe* fe = held_fe(c, seq, m->handle);
    if (!fe) return;
    PcmRuntime* pcm = dpcm_->pcm(fe->link, fe->dir);
    SwParams sw = pcm->sw_params_current();
    sw.avail_min = m->avail_min;
    sw.start_threshold = m->start_threshold;
    sw.stop_threshold = m->stop_threshold;
    sw.silence_threshold = m->silence_threshold;
    sw.silence_size = m->silence_size;
    if (auto r = pcm->sw_params(sw); !r) return reply_error(c, seq, r.code(), r.error().message());
    if (fe->ring) fe->ring->header()->client.avail_min.store(m->avail_min, std::memory_order_relaxed);
    send_fe_reply(c, seq, m->handle, *fe);
}

void Server::on_fe_trigger(Client& c, uint32_t seq, std::span<const std::byte> p) {
    auto m = decode_FeTrigger(p);
    if (!m) return reply_error(c, seq, m.code(), m.error().message());
    Fe* fe = held_fe(c, seq, m->handle);
    if (!fe) return;
    PcmRuntime* pcm = dpcm_->pcm(fe->link, fe->dir);
    Result<void> r;
    switch (static_cast<FeOp>(m->op)) {
        case FeOp::Start: r = pcm->start(); break;
        case FeOp::Stop: r = pcm->drop(); break;
        case FeOp::Pause: r = pcm->pause(true); break;
        case FeOp::Release: r = pcm->pause(false); break;
        case FeOp::Prepare: r = pcm->prepare(); break;
        case FeOp::Drain:
            // Non-blocking: -EAGAIN means draining, which ends on the realtime thread (the
            // client waits on its ring for SETUP).
            r = pcm->drain();
            if (!r && r.code() == -EAGAIN) r = Result<void>{};
            break;
    }
    if (!r) return reply_error(c, seq, r.code(), r.error().message());
    send_fe_reply(c, seq, m->handle, *fe);
}

void Server::on_fe_close(Client& c, uint32_t seq, std::span<const std::byte> p) {
    auto m = decode_FeClose(p);
    if (!m) return reply_error(c, seq, m.code(), m.error().message());
    Fe* held = held_fe(c, seq, m->handle);
    if (!held) return;
    Fe fe = std::move(*held);
    c.fes.erase(m->handle);
    fe_owner_.erase(key_of(fe.link, fe.dir));
    auto r = dpcm_->close(fe.link, fe.dir);  // the engine lets go of the ring; `fe` unmaps it after
    log_info("{} closed FE '{}'", client_label(c), key_of(fe.link, fe.dir));
    if (!r) return reply_error(c, seq, r.code(), r.error().message());
    send(c, encode_empty(Type::Ok, seq));
}

void Server::release_fes(Client& c) {
    for (const auto& [handle, fe] : c.fes) {
        fe_owner_.erase(key_of(fe.link, fe.dir));
        if (auto r = dpcm_->close(fe.link, fe.dir); !r) log_warning("closing FE '{}': {}", key_of(fe.link, fe.dir), r.error().message());
        else log_info("released FE '{}' of {}", key_of(fe.link, fe.dir), client_label(c));
    }
    c.fes.clear();
}

void Server::drop_client(uint64_t id, const std::string& why) {
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    Client& c = *it->second;
    if (c.hello || !c.fes.empty()) log_info("{} {}", client_label(c), why);
    release_fes(c);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    clients_.erase(it);
    if (!accepting_ && listen_fd_ >= 0) {  // a descriptor is free again
        accepting_ = true;
        watch(listen_fd_, kKeyListen, EPOLLIN, EPOLL_CTL_ADD);
    }
}

void Server::service() {
    if (!dpcm_) return;
    for (const auto& e : dpcm_->take_events()) {
        using K = DpcmEvent::Kind;
        switch (e.kind) {
            case K::Connect: log_info("route {} -> {} (connected)", e.fe, e.be); break;
            case K::Disconnect: log_info("route {} -x {} (disconnected)", e.fe, e.be); break;
            case K::BeXrun:
                ++xruns_[e.be];
                log_warning("xrun on BE {}: {}", e.be, e.message);
                break;
            case K::BeFailed: log_error("device fault on BE {}: {}", e.be, e.message); break;
            case K::BeTriggerFailed: log_warning("BE {} refused a trigger: {}", e.be, e.message); break;
            case K::ParamsMismatch: log_warning("BE {} keeps another FE's params: {}", e.be, e.message); break;
            case K::Lost: log_warning("{}{}: {}", e.fe, e.be.empty() ? "" : " -> " + e.be, e.message); break;
            case K::Warning: log_warning("{}", e.message); break;
        }
    }
    // A connection that never says Hello holds a slot only until its deadline.
    const int64_t now = mono_ns();
    std::vector<uint64_t> late;
    const int64_t deadline = int64_t{opt_.hello_timeout_ms} * 1000000;
    for (const auto& [id, c] : clients_)
        if ((!c->hello && now - c->connected_ns > deadline) || (c->closing && now - c->closing_ns > deadline))
            late.push_back(id);
    for (uint64_t id : late) drop_client(id, clients_.at(id)->closing ? "did not read its error" : "said nothing");
    end_stranded_drains();
    broadcast_changes();
}

void Server::end_stranded_drains() {
    // An FE moves only with a BE's clock (docs/DATA_PATH.md, Pacing). If its last BE left while
    // it drained, what is still queued will never play and the client would wait forever:
    // the drain ends now and the frames lost are reported (the seed report's case).
    std::vector<std::pair<Client*, Fe*>> draining;
    for (auto& [id, c] : clients_)
        for (auto& [h, fe] : c->fes)
            if (const PcmRuntime* pcm = dpcm_->pcm(fe.link, fe.dir); pcm && pcm->state() == PcmState::Draining)
                draining.emplace_back(c.get(), &fe);
    if (draining.empty()) return;
    const DpcmDump dump = dpcm_->dump();
    for (auto [c, fe] : draining) {
        const auto it = std::find_if(dump.frontends.begin(), dump.frontends.end(), [&](const FeDump& f) {
            return f.name == fe->link && f.stream == fe->dir;
        });
        if (it == dump.frontends.end() || !it->backends.empty()) continue;
        PcmRuntime* pcm = dpcm_->pcm(fe->link, fe->dir);
        const PcmStatus st = pcm->status();
        const Frames queued = pcm->buffer_size() > st.avail ? pcm->buffer_size() - st.avail : 0;
        // Reported before the drop: the client sees the drain end in its ring at once, and by
        // the time it has returned, the loss is on record.
        const std::string key = key_of(fe->link, fe->dir);
        lost_[key] += queued;
        const uint32_t rate = pcm->params().rate();
        log_warning("FE '{}' of {} lost its tail: {} frames ({:.1f} ms) written but never played; its last BE left "
                    "while it drained",
                    key, client_label(*c), queued, rate ? 1000.0 * static_cast<double>(queued) / rate : 0.0);
        if (auto r = pcm->drop(); !r) log_warning("ending the drain of FE '{}': {}", key, r.error().message());
    }
}

void Server::broadcast_changes() {
    if (changed_.empty()) return;
    std::vector<uint64_t> ids;
    for (const auto& [id, c] : clients_)
        if (c->subscribed) ids.push_back(id);
    for (uint32_t numid : changed_)
        for (uint64_t id : ids)
            if (auto it = clients_.find(id); it != clients_.end()) send(*it->second, encode(CtlEvent{numid, 1}, 0), numid);
    changed_.clear();
    pending_.clear();
}

std::string Server::routes_json() const { return routes_to_json(live_routes(dpcm_->card())); }

std::string Server::status_json() const {
    nlohmann::ordered_json j;
    const CardIdentity& id = card_->identity();
    j["card"] = {{"name", card_->name()}, {"id", id.id}, {"driver", id.driver}, {"long_name", id.long_name}};
    j["pid"] = getpid();
    j["uptime_s"] = static_cast<double>(mono_ns() - started_ns_) / 1e9;
    const SimClock::Timing t = clock_.timing();
    j["clock"] = {{"sched_fifo", clock_.sched_fifo()}, {"wakeups", t.wakeups}, {"late", t.late},
                  {"max_late_us", static_cast<double>(t.max_late_ns) / 1e3}};
    nlohmann::ordered_json cl = nlohmann::ordered_json::array();
    for (const auto& [cid, c] : clients_) {
        std::vector<std::string> fes;
        for (const auto& [h, fe] : c->fes) fes.push_back(key_of(fe.link, fe.dir));
        cl.push_back({{"id", cid}, {"name", c->name}, {"pid", c->pid}, {"subscribed", c->subscribed},
                      {"requests", c->requests}, {"queued_bytes", c->out_bytes}, {"fes", fes}});
    }
    j["clients"] = cl;
    j["refused"] = refused_;
    j["cut_off"] = cut_off_;
    auto dump = nlohmann::ordered_json::parse(dpcm_->dump().to_json());
    for (auto& fe : dump["frontends"]) {
        const std::string key = fmt::format("{}/{}", fe["name"].get<std::string>(), fe["stream"].get<std::string>());
        if (auto o = fe_owner_.find(key); o != fe_owner_.end()) fe["client"] = clients_.at(o->second.first)->name;
        if (auto* pcm = dpcm_->pcm(fe["name"].get<std::string>(),
                                   fe["stream"].get<std::string>() == "capture" ? Stream::Capture : Stream::Playback)) {
            const PcmStatus st = pcm->status();
            fe["hw_ptr"] = st.hw_ptr;
            fe["avail"] = st.avail;
            fe["xruns"] = st.xruns;
        }
    }
    j["frontends"] = dump["frontends"];
    j["idle_backends"] = dump["idle_backends"];
    j["be_xruns"] = xruns_;
    j["lost_frames"] = lost_;
    return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void Server::shutdown() {
    if (epoll_fd_ < 0 && !dpcm_ && listen_fd_ < 0) return;
    // Tell every client first, then close what they hold: streams stop, BEs close.
    std::vector<uint64_t> ids;
    for (const auto& [id, c] : clients_) ids.push_back(id);
    for (uint64_t id : ids) {
        Client& c = *clients_.at(id);
        // Its streams say DISCONNECTED in their rings and wake the client, as a removed
        // device's would; then the socket says goodbye and closes.
        for (auto& [h, fe] : c.fes)
            if (PcmRuntime* pcm = dpcm_->pcm(fe.link, fe.dir)) pcm->disconnect();
        auto f = encode(Bye{"dynpcmd is shutting down"}, 0);
        if (::send(c.fd, f.data(), f.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {}
        drop_client(id, "disconnected: shutting down");
    }
    dpcm_.reset();  // closes every BE; WAV backends finalise their files
    clock_.stop();
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        listen_fd_ = -1;
        if (bound_) ::unlink(opt_.socket_path.c_str());  // ours only: never a path we did not bind
    }
    if (lock_fd_ >= 0) {
        // The lock file stays: unlinking it would let two daemons hold locks on different files.
        ::close(lock_fd_);
        lock_fd_ = -1;
    }
    for (int* fd : {&epoll_fd_, &signal_fd_, &timer_fd_})
        if (*fd >= 0) {
            ::close(*fd);
            *fd = -1;
        }
    if (started_ns_) log_info("stopped");
    started_ns_ = 0;
}

}  // namespace dynpcm::daemon

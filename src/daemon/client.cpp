// A dynpcmd client connection: request/reply with a deadline, events queued in between.

#include "dynpcm/daemon/client.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

namespace dynpcm::ipc {

std::string default_socket_dir() {
    if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return std::string(x) + "/dynpcm";
    return fmt::format("/tmp/dynpcm-{}", getuid());
}

Result<std::string> resolve_socket(std::string_view given) {
    if (!given.empty()) return std::string(given);
    if (const char* e = std::getenv("DYNPCM_SOCKET"); e && *e) return std::string(e);
    const std::string dir = default_socket_dir();
    std::vector<std::string> found;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* de = readdir(d)) {
            const std::string n = de->d_name;
            if (n.size() > 5 && n.ends_with(".sock")) found.push_back(dir + "/" + n);
        }
        closedir(d);
    }
    if (found.size() == 1) return found[0];
    if (found.empty())
        return Error(-ENOENT, fmt::format("no dynpcmd is running: no socket in {} (start one with 'dynpcmd CARD', or "
                                          "give --socket PATH)", dir));
    std::string list;
    for (const auto& f : found) list += "\n  " + f;
    return Error(-EINVAL, fmt::format("{} daemons are running; say which with --socket:{}", found.size(), list));
}

Result<std::unique_ptr<Client>> Client::connect(const std::string& path, std::string_view name, int timeout_ms) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path)
        return Error(-ENAMETOOLONG, fmt::format("socket path '{}' is longer than {} bytes", path, sizeof sa.sun_path - 1));
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    // Non-blocking from the start: every wait is a poll with a deadline. A Unix socket's
    // connect says EAGAIN while the daemon's backlog is full; it is retried until the deadline.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return Error(-errno, fmt::format("socket: {}", std::strerror(errno)));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
        const int e = errno;
        if ((e == EAGAIN || e == EINTR) && std::chrono::steady_clock::now() < deadline) {
            ::poll(nullptr, 0, 10);
            continue;
        }
        ::close(fd);
        return Error(e == EAGAIN ? -ETIMEDOUT : -e,
                     fmt::format("cannot reach dynpcmd at '{}': {}", path,
                                 e == EAGAIN ? "it accepts no more connections (busy)" : std::strerror(e)));
    }
    std::unique_ptr<Client> c(new Client(fd, timeout_ms));
    const uint32_t seq = c->next_seq();
    auto r = c->call(encode(Hello{.client = std::string(name.substr(0, kMaxName))}, seq), seq);
    if (!r) return std::move(r).error();
    auto h = decode_HelloReply(payload(*r));
    if (!h) return std::move(h).error();
    if (h->major != kVersionMajor)
        return Error(-EPROTO, fmt::format("dynpcmd at '{}' speaks protocol {}.{}; this client speaks {}.{}", path,
                                          h->major, h->minor, kVersionMajor, kVersionMinor));
    c->hello_ = std::move(*h);
    return c;
}

Client::~Client() {
    if (fd_ >= 0) ::close(fd_);
    for (int fd : fds_) ::close(fd);
}

Result<std::vector<int>> Client::take_fds(size_t n) {
    if (fds_.size() < n)
        return Error(-EPROTO, fmt::format("dynpcmd's reply names {} descriptors; {} came with it", n, fds_.size()));
    std::vector<int> out(fds_.begin(), fds_.begin() + static_cast<ptrdiff_t>(n));
    fds_.erase(fds_.begin(), fds_.begin() + static_cast<ptrdiff_t>(n));
    return out;
}

Result<bool> Client::read_some(int wait_ms) {
    if (wait_ms >= 0) {
        pollfd p{fd_, POLLIN, 0};
        const int n = ::poll(&p, 1, wait_ms);
        if (n < 0 && errno != EINTR) return Error(-errno, fmt::format("poll: {}", std::strerror(errno)));
        if (n <= 0) return true;
    }
    std::byte buf[16384];
    for (;;) {
        // recvmsg, for the descriptors an FeReply brings: a plain recv would drop them.
        iovec iov{buf, sizeof buf};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        const ssize_t n = ::recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < count; ++i) {
                    int fd;
                    std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                    fds_.push_back(fd);
                }
            }
        if (n > 0) {
            in_.insert(in_.end(), buf, buf + n);
            if (static_cast<size_t>(n) < sizeof buf) return true;
            continue;
        }
        if (n == 0) return false;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
        return false;  // ECONNRESET and the like: gone
    }
}

Result<void> Client::take_frames(uint32_t want_seq, std::optional<std::vector<std::byte>>& reply) {
    size_t off = 0;
    while (in_.size() - off >= 4) {
        const uint32_t len = frame_length(in_.data() + off);
        if (len > kMaxFrame || len < kHeaderSize) {
            gone_ = true;
            return Error(-EPROTO, fmt::format("dynpcmd sent a frame of {} bytes", len));
        }
        if (in_.size() - off - 4 < len) break;
        std::span<const std::byte> body(in_.data() + off + 4, len);
        off += 4 + len;
        auto h = parse_header(body);
        if (!h) {
            gone_ = true;
            return std::move(h).error();
        }
        if (h->type == static_cast<uint16_t>(Type::CtlEvent)) {
            if (auto ev = decode_CtlEvent(payload(body))) events_.push_back(*ev);
        } else if (h->type == static_cast<uint16_t>(Type::Bye)) {
            auto b = decode_Bye(payload(body));
            gone_reason_ = b ? b->reason : "the daemon said goodbye";
            gone_ = true;
        } else if (want_seq != 0 && !reply &&
                   (h->seq == want_seq || (h->seq == 0 && h->type == static_cast<uint16_t>(Type::Error)))) {
            // An error with seq 0 is the daemon refusing the connection or a frame it could not
            // read (its seq unknown): it answers whatever is pending.
            reply.emplace(body.begin(), body.end());
        }
    }
    in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(off));
    return {};
}

Result<std::vector<std::byte>> Client::call(std::vector<std::byte> frame, uint32_t seq) {
    if (!connected())
        return Error(-ENODEV, gone_reason_.empty() ? "dynpcmd closed the connection" : "dynpcmd: " + gone_reason_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
    auto left_ms = [&] {
        const auto l = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        return static_cast<int>(std::max<int64_t>(0, l.count()));
    };
    size_t sent = 0;
    while (sent < frame.size()) {
        const ssize_t n = ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            // The daemon reads as fast as it can; while it does not, take what it sends us.
            if (left_ms() == 0) return Error(-ETIMEDOUT, "dynpcmd does not take the request");
            pollfd p{fd_, POLLOUT | POLLIN, 0};
            ::poll(&p, 1, left_ms());
            if (p.revents & POLLIN) {
                auto r = read_some(-1);
                if (!r || !*r) gone_ = true;
            }
            if (gone_) break;
            continue;
        }
        // The daemon closed the connection; what it said before that is still to be read.
        gone_ = true;
        if (auto r = read_some(-1); !r) return std::move(r).error();
        break;
    }
    std::optional<std::vector<std::byte>> reply;
    while (!gone_ || !in_.empty()) {
        if (auto t = take_frames(seq, reply); !t) return std::move(t).error();
        if (reply) break;
        if (gone_) break;
        const int wait = left_ms();
        if (wait == 0) return Error(-ETIMEDOUT, fmt::format("dynpcmd did not answer within {} ms", timeout_ms_));
        auto r = read_some(wait);
        if (!r) return std::move(r).error();
        if (!*r) gone_ = true;
    }
    if (!reply)
        return Error(-ENODEV, gone_reason_.empty() ? "dynpcmd closed the connection" : "dynpcmd: " + gone_reason_);
    auto h = parse_header(*reply);
    if (h && h->type == static_cast<uint16_t>(Type::Error)) {
        auto e = decode_ErrorReply(payload(*reply));
        if (!e) return std::move(e).error();
        return Error(e->code, e->message);
    }
    return std::move(*reply);
}

Result<void> Client::pump() {
    if (fd_ < 0) return Error(-ENODEV, "not connected");
    if (!gone_) {
        auto r = read_some(-1);
        if (!r) return std::move(r).error();
        if (!*r) gone_ = true;
    }
    std::optional<std::vector<std::byte>> none;
    if (auto t = take_frames(0, none); !t) return t;
    if (gone_ && events_.empty())
        return Error(-ENODEV, gone_reason_.empty() ? "dynpcmd closed the connection" : "dynpcmd: " + gone_reason_);
    return {};
}

std::optional<CtlEvent> Client::pop_event() {
    if (events_.empty()) return std::nullopt;
    CtlEvent e = events_.front();
    events_.pop_front();
    return e;
}

namespace {
// Checks a reply's type and decodes it.
template <typename T, typename D>
Result<T> expect(Result<std::vector<std::byte>> r, Type type, D&& decode) {
    if (!r) return std::move(r).error();
    auto h = parse_header(*r);
    if (!h) return std::move(h).error();
    if (h->type != static_cast<uint16_t>(type))
        return Error(-EPROTO, fmt::format("dynpcmd answered {} with {}", type_name(static_cast<uint16_t>(type)),
                                          type_name(h->type)));
    return decode(payload(*r));
}
}  // namespace

Result<std::vector<CtlElem>> Client::list_controls() {
    std::vector<CtlElem> all;
    for (;;) {
        const uint32_t seq = next_seq();
        auto page = expect<CtlListReply>(call(encode(CtlList{static_cast<uint32_t>(all.size())}, seq), seq),
                                         Type::CtlListReply, decode_CtlListReply);
        if (!page) return std::move(page).error();
        for (auto& e : page->elems) all.push_back(std::move(e));
        if (all.size() >= page->total || page->elems.empty()) break;
    }
    return all;
}

Result<CtlValues> Client::read(const CtlRef& id) {
    const uint32_t seq = next_seq();
    return expect<CtlValues>(call(encode(CtlRead{id}, seq), seq), Type::CtlValues, decode_CtlValues);
}

Result<bool> Client::write(const CtlRef& id, const std::vector<int64_t>& values) {
    const uint32_t seq = next_seq();
    auto r = expect<WriteReply>(call(encode(CtlWrite{id, values}, seq), seq), Type::WriteReply, decode_WriteReply);
    if (!r) return std::move(r).error();
    return r->changed;
}

Result<void> Client::subscribe(bool on) {
    const uint32_t seq = next_seq();
    auto r = call(encode(Subscribe{on}, seq), seq);
    if (!r) return std::move(r).error();
    return {};
}

Result<std::string> Client::text(Type request, bool json) {
    const uint32_t seq = next_seq();
    auto frame = request == Type::Dump ? encode(Dump{json}, seq) : encode_empty(request, seq);
    auto t = expect<Text>(call(std::move(frame), seq), Type::Text, decode_Text);
    if (!t) return std::move(t).error();
    return std::move(t->text);
}

}  // namespace dynpcm::ipc

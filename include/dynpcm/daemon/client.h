#pragma once
/// A client of dynpcmd: one connection, request/reply with a deadline, and the events that
/// arrive in between kept in order. The CLI and the ALSA plugins use it.
///
/// Thread: one at a time per Client (the plugins call it under alsa-lib's own lock). Blocking:
/// call() waits for its reply up to the timeout; pump() never blocks. Allocates: yes.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dynpcm/core/result.h"
#include "dynpcm/daemon/protocol.h"

namespace dynpcm::ipc {

/// $XDG_RUNTIME_DIR/dynpcm (or /tmp/dynpcm-UID without XDG_RUNTIME_DIR): where a daemon puts
/// its socket when not given --socket. Thread: any. Allocates: yes.
std::string default_socket_dir();
/// The socket to use: `given` if not empty, else $DYNPCM_SOCKET, else the only socket in
/// default_socket_dir(). The error says which daemons there are when there is not one.
/// Thread: any. Blocking: reads a directory. Allocates: yes.
Result<std::string> resolve_socket(std::string_view given);

class Client {
public:
    /// Connects and says Hello. -ENOENT/-ECONNREFUSED when no daemon listens; -EPROTO on a
    /// version mismatch. Blocking: up to `timeout_ms`.
    static Result<std::unique_ptr<Client>> connect(const std::string& socket_path, std::string_view client_name,
                                                   int timeout_ms = 5000);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    const HelloReply& hello() const noexcept { return hello_; }
    /// The socket, for poll(): readable when a reply or an event has arrived.
    int fd() const noexcept { return fd_; }
    /// False once the daemon closed the connection or cut it off (then every call is -ENODEV).
    bool connected() const noexcept { return fd_ >= 0 && !gone_; }

    /// A sequence number for the next request's frame.
    uint32_t next_seq() noexcept { return ++seq_; }
    /// Sends a request frame and waits for the reply with its seq; events that arrive first are
    /// queued. An Error reply comes back as that error (its code and message).
    /// Returns the reply's body (header included).
    Result<std::vector<std::byte>> call(std::vector<std::byte> frame, uint32_t seq);
    /// The descriptors that came with the replies so far (SCM_RIGHTS), oldest first: the
    /// caller owns them. A reply says how many it brought (FeReply::fds); they have arrived
    /// by the time call() returns it. -EPROTO if fewer than `n` came.
    Result<std::vector<int>> take_fds(size_t n);

    /// Reads what has arrived without blocking and queues its events. -ENODEV if the daemon went.
    Result<void> pump();
    std::optional<CtlEvent> pop_event();
    bool has_events() const noexcept { return !events_.empty(); }

    // Helpers over call().
    Result<std::vector<CtlElem>> list_controls();
    Result<CtlValues> read(const CtlRef& id);
    Result<bool> write(const CtlRef& id, const std::vector<int64_t>& values);
    Result<void> subscribe(bool on);
    /// Dump (json or text), Routes or Status: the daemon's text.
    Result<std::string> text(Type request, bool json = true);

private:
    Client(int fd, int timeout_ms) : fd_(fd), timeout_ms_(timeout_ms) {}
    // Reads available bytes; with `wait_ms` >= 0 waits that long for the first. Returns false on EOF.
    Result<bool> read_some(int wait_ms);
    // Takes whole frames out of in_: replies into `reply` (when seq matches), events into events_.
    Result<void> take_frames(uint32_t want_seq, std::optional<std::vector<std::byte>>& reply);
    int fd_;
    int timeout_ms_;
    bool gone_ = false;
    std::string gone_reason_;
    uint32_t seq_ = 0;
    std::vector<std::byte> in_;
    std::deque<CtlEvent> events_;
    std::deque<int> fds_;  // received, not yet taken
    HelloReply hello_;
};

}  // namespace dynpcm::ipc

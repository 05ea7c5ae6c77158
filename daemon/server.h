#pragma once
// dynpcmd's server: one card on the real-time clock, its clients on a Unix socket.
//
// Threads (docs/DAEMON.md, docs/CONCURRENCY.md):
// - the control thread runs run(): one epoll loop over the listening socket, every client,
//   a signalfd and a service timer. It is the only thread that calls into the Dpcm (the
//   control path) and the only one that logs. No client can make it block: sockets are
//   non-blocking, replies and events queue per client up to a bound, and a client over it is
//   cut off.
// - the clock thread (SimClock, real-time) runs the engine's interrupt path, as in the library;
//   nothing here runs on it.

#include <sys/epoll.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dynpcm/card/card.h"
#include "dynpcm/core/result.h"
#include "dynpcm/daemon/protocol.h"
#include "dynpcm/dpcm/dpcm.h"
#include "dynpcm/sim/sim_clock.h"
#include "fe_ring.h"

namespace dynpcm::daemon {

struct ServerOptions {
    std::string socket_path;         ///< empty: <default dir>/<card id>.sock
    std::optional<uint32_t> group;   ///< --group: its members may connect too (socket 0660)
    int ready_fd = -1;               ///< --ready-fd: "READY=1\n" is written and the fd closed
    size_t max_clients = 256;        ///< more are refused with an error
    size_t queue_limit = 1 << 20;    ///< bytes of replies and events a client may leave unread
    int hello_timeout_ms = 5000;     ///< a connection that has not said Hello by then is closed
    int service_ms = 10;             ///< how often the engine's deferred work and events are serviced
    unsigned pointer_bits = 63;      ///< FE boundaries below 2^N (PcmRuntime::Options::pointer_bits)
    bool verbose = false;            ///< log every control write
    std::string card_source;         ///< for the log: what the card came from
};

class Server {
public:
    /// Thread: control. Allocates: yes.
    Server(std::unique_ptr<Card> card, ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Starts the engine and listens. Fails (with a message for the user) when the socket is
    /// taken by a running daemon or cannot be made. Thread: control. Allocates: yes.
    Result<void> start();
    /// Serves until SIGTERM or SIGINT, then calls `on_stop` and shuts down cleanly: clients
    /// told, streams stopped, BEs closed, the socket removed. Returns the exit code.
    /// Thread: control (blocking).
    int run(const std::function<void()>& on_stop = {});
    const std::string& socket_path() const noexcept { return opt_.socket_path; }

private:
    struct Fe {
        std::string link;
        Stream dir = Stream::Playback;
        uint32_t device = 0;  // its PCM device number
        // Its data plane, after FeConfigure. Destroyed only after the engine let go of the
        // stream (close, or hw_params with the next one attached).
        std::unique_ptr<FeRing> ring;
    };
    struct Client {
        int fd = -1;
        uint64_t id = 0;
        pid_t pid = 0;
        uid_t uid = 0;
        std::string name;            // from Hello
        bool hello = false;
        bool subscribed = false;
        bool closing = false;        // flush what is queued, then close
        int64_t connected_ns = 0;
        std::vector<std::byte> in;
        struct Queued {
            std::vector<std::byte> frame;
            uint32_t event_numid = 0;  // a CtlEvent's control, or 0
            std::vector<int> fds;      // our duplicates, sent with the frame's first byte
            Queued(std::vector<std::byte> f, uint32_t ev, std::vector<int> d)
                : frame(std::move(f)), event_numid(ev), fds(std::move(d)) {}
            Queued(Queued&& o) noexcept : frame(std::move(o.frame)), event_numid(o.event_numid), fds(std::move(o.fds)) {}
            Queued& operator=(Queued&&) = delete;
            ~Queued();
        };
        std::deque<Queued> out;       // frames not yet written; out_off into out.front()
        size_t out_off = 0, out_bytes = 0;
        std::set<uint32_t> queued_events;  // numids with a CtlEvent in `out`: a new change coalesces
        uint32_t watched = EPOLLIN | EPOLLRDHUP;  // the epoll events registered for it
        int64_t closing_ns = 0;      // when it became closing
        std::map<uint32_t, Fe> fes;  // handle -> FE it holds
        uint64_t requests = 0;
    };

    Result<void> bind_socket();
    void accept_clients();
    void on_readable(Client& c);
    void on_writable(Client& c);
    void handle_frame(Client& c, std::span<const std::byte> body);
    void send(Client& c, std::vector<std::byte> frame, uint32_t event_numid = 0, std::vector<int> fds = {});
    void watch(int fd, uint64_t key, uint32_t events, int op);
    void reply_error(Client& c, uint32_t seq, int code, const std::string& message);
    void send_text(Client& c, uint32_t seq, std::string text);
    void drop_client(uint64_t id, const std::string& why);
    void release_fes(Client& c);
    void service();
    void broadcast_changes();
    void shutdown();
    std::string client_label(const Client& c) const;

    // Requests.
    void on_hello(Client& c, uint32_t seq, std::span<const std::byte> p);
    void on_ctl_list(Client& c, uint32_t seq, std::span<const std::byte> p);
    void on_ctl_read(Client& c, uint32_t seq, std::span<const std::byte> p);
    void on_ctl_write(Client& c, uint32_t seq, std::span<const std::byte> p);
    void on_jack(Client& c, uint32_t seq, std::span<const std::byte> p);
    void on_fe_open(Client& c, uint32_t seq, std::span<const std::byte> p);
    void on_fe_configure(Client& c, uint32_t seq, std::span<const std::byte> p);
    void on_fe_trigger(Client& c, uint32_t seq, std::span<const std::byte> p);
    void on_fe_close(Client& c, uint32_t seq, std::span<const std::byte> p);
    void on_fe_sw_params(Client& c, uint32_t seq, std::span<const std::byte> p);
    // A drain that cannot end (its FE's BEs all left): ended, and the frames it loses logged.
    void end_stranded_drains();
    Result<const Control*> find(const ipc::CtlRef& id) const;
    // The FE a client holds under `handle`, or null after answering -EBADF.
    Fe* held_fe(Client& c, uint32_t seq, uint32_t handle);
    void send_fe_reply(Client& c, uint32_t seq, uint32_t handle, const Fe& fe, bool with_ring = false);
    std::string status_json() const;
    std::string routes_json() const;

    ServerOptions opt_;
    Card* card_ = nullptr;  // owned by dpcm_
    std::unique_ptr<Card> pending_card_;
    SimClock clock_;
    std::unique_ptr<Dpcm> dpcm_;
    std::vector<ipc::CtlElem> elems_;  // the control list, by numid - 1 (it never changes)
    // Numids changed since the last broadcast, in the order they first changed; a control that
    // changes again before then is one event, as the kernel coalesces a pending event.
    std::vector<uint32_t> changed_;
    std::set<uint32_t> pending_;
    int listen_fd_ = -1, lock_fd_ = -1, epoll_fd_ = -1, signal_fd_ = -1, timer_fd_ = -1;
    std::string lock_path_;
    bool bound_ = false;
    std::map<uint64_t, std::unique_ptr<Client>> clients_;
    bool accepting_ = true;  // false while the process is out of descriptors
    uint64_t next_client_ = 1;
    uint32_t next_handle_ = 1;
    std::map<std::string, std::pair<uint64_t, uint32_t>> fe_owner_;  // "link/dir" -> client, handle
    std::map<std::string, uint64_t> xruns_;  // "FE|BE name" -> count, from the engine's events
    std::map<std::string, uint64_t> lost_;   // "FE/dir" -> frames written but never played
    int64_t started_ns_ = 0;
    uint64_t refused_ = 0, cut_off_ = 0;
};

}  // namespace dynpcm::daemon

// dynpcmd: hosts one card on the real-time clock and serves it on a Unix socket to the ALSA
// plugins (amixer, alsaucm, ... through `dynpcm exec`) and to the dynpcm CLI. docs/DAEMON.md.

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "../cli/card_source.h"
#include "dynpcm/version.h"
#include "log.h"
#include "server.h"

namespace {

// The sd_notify protocol (sd_notify(3)): one datagram to $NOTIFY_SOCKET. Written here rather
// than linking libsystemd for one sendto(); the protocol is documented as stable for that use.
void sd_notify(const std::string& state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || !*path) return;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    const size_t n = std::strlen(path);
    if (n >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@')) return;
    std::memcpy(sa.sun_path, path, n);
    if (path[0] == '@') sa.sun_path[0] = '\0';  // abstract namespace
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    if (::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sa),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n)) < 0)
        dynpcm::daemon::log_warning("sd_notify: {}", std::strerror(errno));
    ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace dynpcm;
    CLI::App app{"dynpcmd - hosts a dynpcm card as a service: its mixer for amixer and alsaucm (through 'dynpcm exec'), "
                 "its state for 'dynpcm top'"};
    app.set_version_flag("-V,--version", fmt::format("dynpcmd {}", DYNPCM_VERSION_STRING));
    cli::CardSource src;
    src.add_to(app, true);
    daemon::ServerOptions opt;
    std::string group;
    app.add_option("--socket", opt.socket_path, "Listen here (default: $XDG_RUNTIME_DIR/dynpcm/<card id>.sock)");
    app.add_option("--group", group, "Let members of this group connect too (socket mode 0660)");
    app.add_option("--ready-fd", opt.ready_fd, "Write READY=1 to this file descriptor when serving, then close it");
    app.add_option("--max-clients", opt.max_clients, "Refuse connections beyond this many")->check(CLI::Range(1, 65536));
    app.add_option("--queue-limit", opt.queue_limit, "Cut off a client that leaves more than this many bytes unread")
        ->check(CLI::Range(4096, 1 << 30));
    app.add_option("--pointer-bits", opt.pointer_bits,
                   "FE positions wrap at the largest buffer multiple below 2^N (default 63, as the kernel on 64-bit; "
                   "a small N makes clients meet the boundary within seconds)")
        ->check(CLI::Range(16, 63));
    app.add_option("--hello-timeout", opt.hello_timeout_ms, "Close a connection that says nothing for this many ms")
        ->check(CLI::Range(10, 600000));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    if (!group.empty()) {
        const struct group* g = ::getgrnam(group.c_str());
        if (!g) {
            fmt::print(stderr, "dynpcmd: --group: no group '{}'\n", group);
            return 2;
        }
        opt.group = g->gr_gid;
    }
    auto card = src.load();
    if (!card) return 2;
    opt.card_source = src.describe();
    daemon::Server server(std::move(card), opt);
    if (auto r = server.start(); !r) {
        fmt::print(stderr, "dynpcmd: {}\n", r.error().message());
        return 1;
    }
    fmt::print("dynpcmd: ready: serving card '{}' on {}\n", src.describe(), server.socket_path());
    std::fflush(stdout);
    if (opt.ready_fd >= 0) {
        const char msg[] = "READY=1\n";
        if (::write(opt.ready_fd, msg, sizeof msg - 1) < 0) daemon::log_warning("--ready-fd {}: {}", opt.ready_fd, std::strerror(errno));
        ::close(opt.ready_fd);
    }
    sd_notify(fmt::format("READY=1\nMAINPID={}\nSTATUS=serving {}", getpid(), server.socket_path()));
    return server.run([] { sd_notify("STOPPING=1"); });
}

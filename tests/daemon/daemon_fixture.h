#pragma once
// Starts the real dynpcmd (this build's: normal, ASan or TSan) on a socket in a temporary
// directory and stops it by its PID. Its exit code is checked at the end: under ASan a leak
// at shutdown makes it non-zero.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dynpcm/daemon/client.h"

namespace dynpcm::test {

class Daemon {
public:
    /// Starts dynpcmd with `args` (a card and options) and --socket DIR/s.sock --ready-fd.
    explicit Daemon(std::vector<std::string> args, std::string dir = {}) {
        if (dir.empty()) {
            char tmpl[] = "/tmp/dynpcmd-test-XXXXXX";
            dir_ = ::mkdtemp(tmpl);
            own_dir_ = true;
        } else {
            dir_ = dir;
        }
        socket_ = dir_ + "/s.sock";
        start(std::move(args));
    }
    ~Daemon() {
        if (pid_ > 0) {
            const int rc = stop();
            EXPECT_EQ(rc, 0) << "dynpcmd exited with " << rc << "; its log:\n" << log();
        }
        std::error_code ec;
        if (own_dir_) std::filesystem::remove_all(dir_, ec);
    }

    /// SIGTERM, then waits; returns the exit code (128 + signal if killed).
    int stop(int sig = SIGTERM) {
        if (pid_ <= 0) return exit_code_;
        ::kill(pid_, sig);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
    }
    pid_t pid() const { return pid_; }
    bool ready() const { return ready_; }
    const std::string& socket() const { return socket_; }
    const std::string& dir() const { return dir_; }
    std::string log() const {
        std::ifstream f(dir_ + "/log." + std::to_string(serial_));
        std::stringstream s;
        s << f.rdbuf();
        return s.str();
    }
    /// Waits until the log holds `text` (up to `ms`).
    bool wait_log(const std::string& text, int ms = 10000) const {
        for (int i = 0; i < ms / 10; ++i) {
            if (log().find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    std::unique_ptr<ipc::Client> client(const char* name = "test") const {
        auto c = ipc::Client::connect(socket_, name, 20000);
        EXPECT_TRUE(c) << (c ? "" : c.error().message());
        return c ? std::move(*c) : nullptr;
    }

private:
    void start(std::vector<std::string> args) {
        static int serial = 0;
        serial_ = ++serial;
        int ready[2];
        EXPECT_EQ(::pipe2(ready, O_CLOEXEC), 0);
        args.insert(args.begin(), DYNPCMD_PATH);
        for (const std::string& a : {std::string("--socket"), socket_, std::string("--ready-fd"), std::string("3")})
            args.push_back(a);
        const std::string log = dir_ + "/log." + std::to_string(serial_);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(ready[1], 3);  // dup2 clears O_CLOEXEC on fd 3
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(ready[1]);
        pollfd p{ready[0], POLLIN, 0};
        char buf[16] = {};
        // Sanitized daemons load the larger cards slowly.
        if (::poll(&p, 1, 60000) == 1 && ::read(ready[0], buf, sizeof buf - 1) > 0) ready_ = std::string(buf) == "READY=1\n";
        ::close(ready[0]);
        if (!ready_) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                pid_ = -1;
            }
        }
    }

    std::string dir_, socket_;
    bool own_dir_ = false;
    pid_t pid_ = -1;
    int exit_code_ = -1;
    int serial_ = 0;
    bool ready_ = false;
};

/// A raw connection, for saying what a well-behaved client never would.
class Raw {
public:
    explicit Raw(const std::string& path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    }
    ~Raw() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool connected() const { return connected_; }
    int fd() const { return fd_; }
    bool send(const std::vector<std::byte>& b) { return ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size()); }
    /// The next frame's body, or empty on EOF or timeout (`eof` tells which).
    std::vector<std::byte> next(int ms = 20000, bool* eof = nullptr) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        for (;;) {
            if (in_.size() >= 4) {
                const uint32_t len = ipc::frame_length(in_.data());
                if (in_.size() >= 4 + len) {
                    std::vector<std::byte> body(in_.begin() + 4, in_.begin() + 4 + len);
                    in_.erase(in_.begin(), in_.begin() + 4 + len);
                    return body;
                }
            }
            const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  deadline - std::chrono::steady_clock::now()).count());
            pollfd p{fd_, POLLIN, 0};
            if (left <= 0 || ::poll(&p, 1, left) <= 0) {
                if (eof) *eof = false;
                return {};
            }
            std::byte buf[65536];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                if (eof) *eof = true;
                return {};
            }
            in_.insert(in_.end(), buf, buf + n);
        }
    }
    /// Reads until EOF (true) or the timeout (false), discarding.
    bool wait_eof(int ms = 20000) {
        bool eof = false;
        for (;;) {
            auto b = next(ms, &eof);
            if (b.empty()) return eof;
        }
    }

private:
    int fd_ = -1;
    bool connected_ = false;
    std::vector<std::byte> in_;
};

/// The error a body carries, or a failure.
inline ipc::ErrorReply error_of(const std::vector<std::byte>& body) {
    auto h = ipc::parse_header(body);
    EXPECT_TRUE(h);
    if (!h || h->type != static_cast<uint16_t>(ipc::Type::Error)) {
        ADD_FAILURE() << "not an error reply: type " << (h ? h->type : 0);
        return {};
    }
    auto e = ipc::decode_ErrorReply(ipc::payload(body));
    EXPECT_TRUE(e);
    return e ? *e : ipc::ErrorReply{};
}

}  // namespace dynpcm::test

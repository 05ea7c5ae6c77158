// dynpcmd as a process: readiness, single instance, stale sockets, shutdown; the protocol under
// abuse (garbage, truncated, oversized, out of order, floods, a client that never reads, one
// that dies mid-request); clients' streams released when they die; controls shared, with
// the kernel's errors; peer credentials.

#include <fmt/format.h>
#include <grp.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "daemon_fixture.h"
#include "dynpcm/pcm/shared_ring.h"
#include "dynpcm/pcm/state.h"

namespace dynpcm::test {
namespace {

using namespace ipc;
using nlohmann::json;

const std::string kPhone = std::string(DYNPCM_SOURCE_DIR) + "/examples/cards/phone.yaml";

json status(Client& c) {
    auto t = c.text(Type::Status);
    EXPECT_TRUE(t) << (t ? "" : t.error().message());
    return t ? json::parse(*t) : json::object();
}

TEST(Daemon, SaysReadyListensPrivatelyAndShutsDownCleanly) {
    Daemon d({kPhone});
    ASSERT_TRUE(d.ready()) << d.log();
    struct stat st{};
    ASSERT_EQ(::stat(d.socket().c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u) << "only the owner may connect";
    auto c = d.client();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->hello().card.id, "Phone");
    EXPECT_EQ(c->hello().card.driver, "dynpcm");
    EXPECT_EQ(d.stop(), 0) << d.log();
    EXPECT_NE(::stat(d.socket().c_str(), &st), 0) << "the socket is removed at shutdown";
    EXPECT_NE(d.log().find("Terminated: shutting down"), std::string::npos) << d.log();
    // The client is told, then sees the end of the connection.
    auto r = c->text(Type::Status);
    EXPECT_EQ(r.code(), -ENODEV);
}

TEST(Daemon, TellsSystemdWhenReadyAndStopping) {
    char tmpl[] = "/tmp/dynpcmd-notify-XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    const std::string path = dir + "/notify";
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    auto d = std::make_unique<Daemon>(std::vector<std::string>{kPhone});
    ::unsetenv("NOTIFY_SOCKET");
    ASSERT_TRUE(d->ready());
    auto datagram = [&] {
        pollfd p{fd, POLLIN, 0};
        char buf[512] = {};
        if (::poll(&p, 1, 20000) != 1 || ::recv(fd, buf, sizeof buf - 1, 0) <= 0) return std::string();
        return std::string(buf);
    };
    const std::string ready = datagram();
    EXPECT_EQ(ready.rfind("READY=1\nMAINPID=" + std::to_string(d->pid()) + "\nSTATUS=serving ", 0), 0u) << ready;
    d.reset();  // SIGTERM; exit code checked
    EXPECT_EQ(datagram(), "STOPPING=1");
    ::close(fd);
    std::filesystem::remove_all(dir);
}

TEST(Daemon, ASecondDaemonOnTheSameSocketIsRefused) {
    Daemon first({kPhone});
    ASSERT_TRUE(first.ready());
    Daemon second({kPhone}, first.dir());
    EXPECT_FALSE(second.ready());
    EXPECT_EQ(second.stop(), 1);
    EXPECT_NE(second.log().find("another dynpcmd (pid " + std::to_string(first.pid()) + ") is serving"), std::string::npos)
        << second.log();
    EXPECT_TRUE(first.client()) << "the first one still serves";
}

TEST(Daemon, AStaleSocketFromACrashIsTakenOver) {
    Daemon crashed({kPhone});
    ASSERT_TRUE(crashed.ready());
    EXPECT_EQ(crashed.stop(SIGKILL), 128 + SIGKILL);
    struct stat st{};
    ASSERT_EQ(::stat(crashed.socket().c_str(), &st), 0) << "a killed daemon leaves its socket";
    Daemon next({kPhone}, crashed.dir());
    ASSERT_TRUE(next.ready()) << next.log();
    EXPECT_NE(next.log().find("took over the stale socket"), std::string::npos) << next.log();
    EXPECT_TRUE(next.client());
}

TEST(Daemon, GarbageGetsAnErrorAndTheConnectionGoesOn) {
    Daemon d({kPhone});
    ASSERT_TRUE(d.ready());
    Raw r(d.socket());
    ASSERT_TRUE(r.connected());
    // A request before Hello.
    ASSERT_TRUE(r.send(encode_empty(Type::Status, 5)));
    auto e = error_of(r.next());
    EXPECT_EQ(e.code, -EPROTO);
    EXPECT_EQ(e.message, "Status before Hello: say Hello first");
    ASSERT_TRUE(r.send(encode(Hello{1, 0, "raw\xff"}, 6)));
    EXPECT_EQ(error_of(r.next()).message, "Hello: byte 12: field 'client' is not UTF-8") << "nothing reaches the JSON";
    ASSERT_TRUE(r.send(encode(Hello{.client = "raw"}, 6)));
    auto h = parse_header(r.next());
    ASSERT_TRUE(h);
    EXPECT_EQ(h->type, static_cast<uint16_t>(Type::HelloReply));
    // An unknown type, a reply type, a truncated payload, trailing bytes: each answered, in order.
    std::vector<std::byte> unknown = encode_empty(Type::Status, 7);
    unknown[4] = std::byte{0x77};
    ASSERT_TRUE(r.send(unknown));
    EXPECT_EQ(error_of(r.next()).message, "unknown message type 119");
    ASSERT_TRUE(r.send(encode(CtlEvent{1, 1}, 8)));
    EXPECT_EQ(error_of(r.next()).message, "CtlEvent is a message dynpcmd sends, not one it takes");
    auto cut = encode(CtlWrite{{0, CtlIfaceW::Mixer, "EAR PA Volume", 0}, {3}}, 9);
    cut.resize(cut.size() - 3);
    cut[0] = std::byte(static_cast<uint8_t>(cut.size() - 4));
    ASSERT_TRUE(r.send(cut));
    auto te = error_of(r.next());
    EXPECT_EQ(te.code, -EPROTO);
    EXPECT_NE(te.message.find("CtlWrite: byte 32: field 'values' claims 1 entries but only 5 bytes follow"), std::string::npos)
        << te.message;
    auto extra = encode(Subscribe{true}, 10);
    extra.push_back(std::byte{1});
    extra[0] = std::byte(static_cast<uint8_t>(extra.size() - 4));
    ASSERT_TRUE(r.send(extra));
    EXPECT_NE(error_of(r.next()).message.find("unexpected bytes after the last field"), std::string::npos);
    // Still usable.
    ASSERT_TRUE(r.send(encode_empty(Type::Routes, 11)));
    auto ok = parse_header(r.next());
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->type, static_cast<uint16_t>(Type::Text));
    EXPECT_EQ(ok->seq, 11u);
}

TEST(Daemon, AnOversizedMessageIsRefusedByItsLengthAndTheConnectionClosed) {
    Daemon d({kPhone});
    ASSERT_TRUE(d.ready());
    Raw r(d.socket());
    std::vector<std::byte> huge{std::byte{0}, std::byte{0}, std::byte{0x10}, std::byte{0}};  // 1 MiB announced
    ASSERT_TRUE(r.send(huge));
    auto e = error_of(r.next());
    EXPECT_EQ(e.code, -EMSGSIZE);
    EXPECT_EQ(e.message, "a message of 1048576 bytes is over the limit of 16384 bytes");
    EXPECT_TRUE(r.wait_eof());
    auto c = d.client();
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->text(Type::Status)) << "the daemon serves on";
}

TEST(Daemon, FloodsOfSilentConnectionsHoldNothing) {
    Daemon d({kPhone, "--max-clients", "16", "--hello-timeout", "300"});
    ASSERT_TRUE(d.ready());
    std::vector<std::unique_ptr<Raw>> silent;
    for (int i = 0; i < 16; ++i) silent.push_back(std::make_unique<Raw>(d.socket()));
    // Over the limit: refused with a reason, which a client reports as the daemon's.
    auto refused = Client::connect(d.socket(), "one too many", 20000);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.code(), -EACCES);
    EXPECT_NE(refused.error().message().find("its limit (--max-clients)"), std::string::npos) << refused.error().message();
    Raw over(d.socket());
    ASSERT_TRUE(over.connected());
    auto e = error_of(over.next());
    EXPECT_EQ(e.code, -EACCES);
    EXPECT_NE(e.message.find("its limit (--max-clients)"), std::string::npos) << e.message;
    // The silent ones are closed at their deadline; then there is room again.
    for (auto& s : silent) EXPECT_TRUE(s->wait_eof()) << "a connection that says nothing is closed";
    auto c = d.client();
    ASSERT_TRUE(c);
    EXPECT_EQ(status(*c)["clients"].size(), 1u);
    EXPECT_GE(status(*c)["refused"].get<int>(), 1);
}

TEST(Daemon, AClientThatNeverReadsIsCutOffAndNobodyElseNotices) {
    Daemon d({kPhone, "--queue-limit", "65536"});
    ASSERT_TRUE(d.ready());
    auto good = d.client("good");
    ASSERT_TRUE(good);
    Raw greedy(d.socket());
    ASSERT_TRUE(greedy.send(encode(Hello{.client = "greedy"}, 1)));
    // Ask for status replies (several KB each) and never read them.
    ::fcntl(greedy.fd(), F_SETFL, O_NONBLOCK);
    const auto req = encode_empty(Type::Status, 2);
    int sent = 0;
    for (int i = 0; i < 20000; ++i) {
        if (::send(greedy.fd(), req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) break;
        ++sent;
        if (i % 200 == 0) {
            ASSERT_TRUE(good->text(Type::Routes)) << "the other client is served meanwhile";
        }
    }
    EXPECT_TRUE(d.wait_log("'greedy'")) << d.log();
    EXPECT_TRUE(d.wait_log("cut off: more than 65536 bytes of replies and events unread")) << "sent " << sent << "\n" << d.log();
    auto s = status(*good);
    EXPECT_EQ(s["clients"].size(), 1u);
    EXPECT_GE(s["cut_off"].get<int>(), 1);
}

TEST(Daemon, AClientKilledMidRequestReleasesItsStreamsAndTheOthersPlayOn) {
    Daemon d({kPhone});
    ASSERT_TRUE(d.ready());
    // The survivor holds an FE on another BE for the whole test.
    auto other = d.client("survivor");
    ASSERT_TRUE(other);
    auto open = [](Client& c, const char* fe) -> uint32_t {
        uint32_t seq = c.next_seq();
        auto r = c.call(encode(FeOpen{fe, 0}, seq), seq);
        EXPECT_TRUE(r) << (r ? "" : r.error().message());
        if (!r) return 0;
        const uint32_t h = decode_FeReply(payload(*r))->handle;
        seq = c.next_seq();
        auto cfg = c.call(encode(FeConfigure{h, 2 /* S16_LE */, 48000, 2, 256, 4, false, 0}, seq), seq);
        EXPECT_TRUE(cfg) << (cfg ? "" : cfg.error().message());
        seq = c.next_seq();
        auto st = c.call(encode(FeTrigger{h, 0}, seq), seq);
        EXPECT_TRUE(st) << (st ? "" : st.error().message());
        return h;
    };
    ASSERT_TRUE(other->write(CtlRef{0, CtlIfaceW::Mixer, "HDMI Audio Mixer MultiMedia2", 0}, {1}));
    ASSERT_NE(open(*other, "Deep Buffer"), 0u);

    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    if (child == 0) {
        auto c = Client::connect(d.socket(), "doomed", 20000);
        if (!c) ::_exit(1);
        if (open(**c, "Media Playback") == 0) ::_exit(2);
        // Half a request, then death.
        auto half = encode(CtlWrite{{0, CtlIfaceW::Mixer, "EAR PA Volume", 0}, {3}}, 99);
        if (::send((*c)->fd(), half.data(), half.size() / 2, MSG_NOSIGNAL) < 0) ::_exit(3);
        if (::write(ready[1], "x", 1) != 1) ::_exit(4);
        ::pause();
        ::_exit(0);
    }
    ::close(ready[1]);
    char x = 0;
    ASSERT_EQ(::read(ready[0], &x, 1), 1);
    ::close(ready[0]);
    auto running = status(*other);
    ASSERT_EQ(running["frontends"].size(), 2u) << running.dump(2);
    const auto killed = std::chrono::steady_clock::now();
    ::kill(child, SIGKILL);
    int st = 0;
    ::waitpid(child, &st, 0);
    json after;
    for (int i = 0; i < 10000; ++i) {  // a figure for the record, not a timed assertion
        after = status(*other);
        if (after["frontends"].size() == 1) break;
    }
    const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - killed).count();
    std::printf("released %.2f ms after SIGKILL (a period of 256 frames at 48 kHz is 5.33 ms)\n", ms);
    ASSERT_TRUE(d.wait_log("released FE 'Media Playback/playback' of client")) << d.log();
    ASSERT_EQ(after["frontends"].size(), 1u) << after.dump(2);
    after = status(*other);
    EXPECT_EQ(after["frontends"][0]["name"], "Deep Buffer");
    EXPECT_EQ(after["frontends"][0]["pcm_state"], "RUNNING");
    EXPECT_EQ(after["frontends"][0]["xruns"], 0) << "the survivor noticed nothing";
    EXPECT_EQ(after["clients"].size(), 1u);
    // The doomed client's half request changed nothing.
    auto v = other->read(CtlRef{0, CtlIfaceW::Mixer, "EAR PA Volume", 0});
    ASSERT_TRUE(v);
    EXPECT_EQ(v->values, std::vector<int64_t>{5});
}

TEST(Daemon, ControlsAreSharedWithTheKernelsErrorsAndEveryChangeIsAnEvent) {
    Daemon d({kPhone});
    ASSERT_TRUE(d.ready());
    auto writer = d.client("writer");
    auto watcher = d.client("watcher");
    ASSERT_TRUE(writer && watcher);
    ASSERT_TRUE(watcher->subscribe(true));
    const CtlRef vol{0, CtlIfaceW::Mixer, "EAR PA Volume", 0};
    auto out_of_range = writer->write(vol, {9});
    ASSERT_FALSE(out_of_range);
    EXPECT_EQ(out_of_range.code(), -EINVAL);
    EXPECT_NE(out_of_range.error().message().find("9 is out of range 0..7"), std::string::npos) << out_of_range.error().message();
    auto wrong_count = writer->write(vol, {1, 2});
    ASSERT_FALSE(wrong_count);
    EXPECT_EQ(wrong_count.code(), -EINVAL);
    auto missing = writer->write(CtlRef{0, CtlIfaceW::Mixer, "Headfone Switch", 0}, {1});
    EXPECT_EQ(missing.code(), -ENOENT);
    auto bad_numid = writer->read(CtlRef{999, CtlIfaceW::Mixer, "", 0});
    EXPECT_EQ(bad_numid.code(), -ENOENT);

    auto changed = writer->write(vol, {3});
    ASSERT_TRUE(changed);
    EXPECT_TRUE(*changed);
    auto same = writer->write(vol, {3});
    ASSERT_TRUE(same);
    EXPECT_FALSE(*same) << "an unchanged value reports 0, as snd_ctl_elem_write does";
    // A route change made by a jack is an event too.
    const uint32_t seq = writer->next_seq();
    ASSERT_TRUE(writer->call(encode(Jack{false, {"Headphone"}, ""}, seq), seq));
    std::vector<uint32_t> seen;
    for (int i = 0; i < 200 && seen.size() < 2; ++i) {
        ASSERT_TRUE(watcher->pump());
        while (auto e = watcher->pop_event()) seen.push_back(e->numid);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto elems = watcher->list_controls();
    ASSERT_TRUE(elems);
    std::vector<std::string> names;
    for (uint32_t n : seen) names.push_back((*elems)[n - 1].name);
    EXPECT_EQ(names, (std::vector<std::string>{"EAR PA Volume", "Headphone Switch"}));
    auto v = watcher->read(vol);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->values, std::vector<int64_t>{3});
}

TEST(Daemon, AnFeBelongsToTheClientThatOpenedIt) {
    Daemon d({kPhone});
    ASSERT_TRUE(d.ready());
    auto a = d.client("a");
    auto b = d.client("b");
    uint32_t seq = a->next_seq();
    auto ra = a->call(encode(FeOpen{"#0", 0}, seq), seq);
    ASSERT_TRUE(ra) << ra.error().message();
    const auto fa = *decode_FeReply(payload(*ra));
    EXPECT_EQ(fa.device, 0u);
    seq = b->next_seq();
    auto rb = b->call(encode(FeOpen{"Media Playback", 0}, seq), seq);
    ASSERT_FALSE(rb);
    EXPECT_EQ(rb.code(), -EBUSY);
    EXPECT_NE(rb.error().message().find("is open by client"), std::string::npos) << rb.error().message();
    EXPECT_NE(rb.error().message().find("'a'"), std::string::npos) << rb.error().message();
    seq = b->next_seq();
    auto steal = b->call(encode(FeClose{fa.handle}, seq), seq);
    EXPECT_EQ(steal.code(), -EBADF) << "a handle is only good on the connection that got it";
    seq = b->next_seq();
    EXPECT_EQ(b->call(encode(FeOpen{"No Such FE", 0}, seq), seq).code(), -ENOENT);
    seq = a->next_seq();
    auto trig = a->call(encode(FeTrigger{fa.handle, 0}, seq), seq);
    EXPECT_EQ(trig.code(), -EBADFD) << "start before hw_params is the wrong state";
}

TEST(Daemon, AnotherUserIsRefused) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to connect as another user";
    Daemon d({kPhone});
    ASSERT_TRUE(d.ready());
    // Open the socket to everyone, as a careless --socket path might be: the credentials
    // check still refuses.
    ASSERT_EQ(::chmod(d.socket().c_str(), 0666), 0);
    ASSERT_EQ(::chmod(d.dir().c_str(), 0755), 0);
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    const pid_t child = ::fork();
    if (child == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(1);
        Raw r(d.socket());
        if (!r.connected()) ::_exit(2);
        auto body = r.next();
        auto e = decode_ErrorReply(payload(body));
        const std::string m = e ? e->message : "";
        if (::write(out[1], m.data(), m.size()) < 0) ::_exit(3);
        ::_exit(0);
    }
    ::close(out[1]);
    char buf[256] = {};
    ASSERT_GT(::read(out[0], buf, sizeof buf - 1), 0);
    ::close(out[0]);
    int st = 0;
    ::waitpid(child, &st, 0);
    EXPECT_EQ(std::string(buf), "dynpcmd serves uid 0 only; this connection is uid 65534");
    EXPECT_TRUE(d.wait_log("refused pid")) << d.log();
}

// Connects as uid 65534 with the given groups; returns what the daemon answered Hello with:
// "ok", or its error's message.
std::string hello_as_nobody(const std::string& socket, gid_t gid, std::vector<gid_t> extra) {
    int out[2];
    if (::pipe(out) != 0) return "pipe";
    const pid_t child = ::fork();
    if (child == 0) {
        if (::setgroups(extra.size(), extra.data()) != 0 || ::setgid(gid) != 0 || ::setuid(65534) != 0) ::_exit(1);
        auto c = Client::connect(socket, "nobody", 20000);
        const std::string m = c ? "ok" : c.error().message();
        if (::write(out[1], m.data(), m.size()) < 0) ::_exit(3);
        ::_exit(0);
    }
    ::close(out[1]);
    char buf[256] = {};
    const ssize_t n = ::read(out[0], buf, sizeof buf - 1);
    ::close(out[0]);
    int st = 0;
    ::waitpid(child, &st, 0);
    return n > 0 ? std::string(buf) : fmt::format("child exited {}", WEXITSTATUS(st));
}

TEST(Daemon, GroupMembersMayConnectWithGroupOthersMayNot) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to connect as other users";
    const group* g = ::getgrnam("nogroup");
    if (!g) GTEST_SKIP() << "no group 'nogroup'";
    Daemon d({kPhone, "--group", "nogroup"});
    ASSERT_TRUE(d.ready()) << d.log();
    struct stat st{};
    ASSERT_EQ(::stat(d.socket().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    EXPECT_EQ(st.st_gid, g->gr_gid);
    ASSERT_EQ(::chmod(d.dir().c_str(), 0755), 0);
    EXPECT_EQ(hello_as_nobody(d.socket(), g->gr_gid, {}), "ok") << "primary group";
    EXPECT_EQ(hello_as_nobody(d.socket(), 1, {g->gr_gid}), "ok") << "supplementary group (SO_PEERGROUPS)";
    // Not in the group: the file mode already keeps it out, and the credentials check would.
    ASSERT_EQ(::chmod(d.socket().c_str(), 0666), 0);
    EXPECT_EQ(hello_as_nobody(d.socket(), 1, {}), "dynpcmd serves uid 0 only; this connection is uid 65534");
}

// A client's ring is shared memory it can write at will. The daemon must stay whole: the memory
// cannot be resized under the realtime thread, and an application pointer no stream could reach
// is an xrun of that stream only, never an access outside the ring.
TEST(Daemon, AClientsRingIsSealedAndItsPointerUntrusted) {
    Daemon d({kPhone});
    ASSERT_TRUE(d.ready());
    auto bad = d.client("liar");
    auto good = d.client("honest");
    ASSERT_TRUE(bad && good);
    ASSERT_TRUE(good->write(CtlRef{0, CtlIfaceW::Mixer, "HDMI Audio Mixer MultiMedia2", 0}, {1}));
    struct Opened {
        uint32_t handle = 0;
        SharedRingHeader* h = nullptr;
        size_t bytes = 0;
        int memfd = -1;
    };
    auto open = [](Client& c, const char* fe) {
        Opened o;
        uint32_t seq = c.next_seq();
        auto r = c.call(encode(FeOpen{fe, 0}, seq), seq);
        EXPECT_TRUE(r) << (r ? "" : r.error().message());
        if (!r) return o;
        o.handle = decode_FeReply(payload(*r))->handle;
        seq = c.next_seq();
        auto cfg = c.call(encode(FeConfigure{o.handle, 2 /* S16_LE */, 48000, 2, 256, 4, true, 0}, seq), seq);
        EXPECT_TRUE(cfg) << (cfg ? "" : cfg.error().message());
        if (!cfg) return o;
        auto reply = decode_FeReply(payload(*cfg));
        EXPECT_EQ(reply->fds, 2);
        auto fds = c.take_fds(reply->fds);
        EXPECT_TRUE(fds);
        if (!fds) return o;
        o.memfd = (*fds)[0];
        ::close((*fds)[1]);
        o.bytes = reply->shm_bytes;
        void* p = ::mmap(nullptr, o.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, o.memfd, 0);
        EXPECT_NE(p, MAP_FAILED);
        o.h = static_cast<SharedRingHeader*>(p);
        return o;
    };
    auto trigger = [](Client& c, uint32_t h, FeOp op) {
        const uint32_t seq = c.next_seq();
        return static_cast<bool>(c.call(encode(FeTrigger{h, static_cast<uint8_t>(op)}, seq), seq));
    };
    Opened liar = open(*bad, "Media Playback");
    Opened honest = open(*good, "Deep Buffer");
    ASSERT_TRUE(liar.h && honest.h);
    const int seals = ::fcntl(liar.memfd, F_GET_SEALS);
    EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    EXPECT_EQ(::ftruncate(liar.memfd, 0), -1) << "a client shrank the ring the realtime thread reads";
    EXPECT_EQ(errno, EPERM);
    EXPECT_EQ(liar.h->layout.magic, SharedRingHeader::kMagic);
    EXPECT_EQ(liar.h->layout.buffer_frames, 1024u);

    // Both start with a full ring, as a client that wrote its buffer would (the honest one
    // free-runs afterwards: FeConfigure's default until FeSwParams).
    for (Opened* o : {&liar, &honest}) {
        o->h->client.appl_ptr.store(1024, std::memory_order_release);
        ASSERT_TRUE(trigger(o == &liar ? *bad : *good, o->handle, FeOp::Start));
    }
    // Both free-run (no stop threshold), so only the refusal can stop the liar: a pointer three
    // buffers ahead of anything played.
    const uint64_t lie = liar.h->engine.hw_ptr.load() + 3 * 1024;
    liar.h->client.appl_ptr.store(lie, std::memory_order_release);
    bool xrun = false;
    for (int i = 0; i < 500 && !xrun; ++i) {
        xrun = liar.h->engine.state.load() == static_cast<uint32_t>(PcmState::Xrun);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_TRUE(xrun) << "an appl_ptr three buffers ahead was taken";
    EXPECT_GE(liar.h->engine.bad_appl.load(), 1u);
    EXPECT_LT(liar.h->engine.hw_ptr.load(), liar.h->layout.boundary);
    // The other stream did not notice.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(honest.h->engine.state.load(), static_cast<uint32_t>(PcmState::Running));
    EXPECT_EQ(honest.h->engine.xruns.load(), 0u);
    // Reconfiguring a running stream is refused before its ring could go away under the
    // realtime thread, which goes on using it.
    {
        const uint32_t seq = good->next_seq();
        auto again = good->call(encode(FeConfigure{honest.handle, 2, 48000, 2, 512, 4, true, 0}, seq), seq);
        ASSERT_FALSE(again);
        EXPECT_EQ(again.code(), -EBADFD) << again.error().message();
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        EXPECT_EQ(honest.h->engine.state.load(), static_cast<uint32_t>(PcmState::Running));
        EXPECT_GT(honest.h->engine.hw_ptr.load(), 0u);
    }
    // After prepare the liar streams again: the refusal was an xrun, not a broken stream.
    ASSERT_TRUE(trigger(*bad, liar.handle, FeOp::Prepare));
    liar.h->client.appl_ptr.store(1024, std::memory_order_release);
    ASSERT_TRUE(trigger(*bad, liar.handle, FeOp::Start));
    EXPECT_EQ(liar.h->engine.state.load(), static_cast<uint32_t>(PcmState::Running));
    for (Opened* o : {&liar, &honest}) {
        ::munmap(o->h, o->bytes);
        ::close(o->memfd);
    }
}

}  // namespace
}  // namespace dynpcm::test

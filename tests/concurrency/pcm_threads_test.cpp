// PcmRuntime with real threads: a real-time SimClock thread raising interrupts while
// application and control threads transfer, close, and change state. Run under TSan in CI.
// Every wait is bounded; a thread that does not finish in time fails the test and ends the
// process (a hung thread can be neither joined nor safely abandoned).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dynpcm/core/thread_role.h"
#include "dynpcm/pcm/pcm_runtime.h"
#include "dynpcm/sim/sim_clock.h"
#include "dynpcm/sim/sim_dma.h"
#include "unit/pointer_fixture.h"

namespace dynpcm {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using ptrtest::Config;

// Runs `fn` on its own thread. join_within() waits a bounded time; if the thread is still
// running then, the test fails and the process exits.
class BoundedThread {
public:
    explicit BoundedThread(std::function<void()> fn)
        : thread_([this, fn = std::move(fn)] {
              fn();
              done_.store(true, std::memory_order_release);
          }) {}
    ~BoundedThread() {
        if (thread_.joinable()) thread_.join();
    }
    BoundedThread(const BoundedThread&) = delete;
    BoundedThread& operator=(const BoundedThread&) = delete;

    bool done() const { return done_.load(std::memory_order_acquire); }

    void join_within(std::chrono::milliseconds limit, const char* what) {
        const auto deadline = SteadyClock::now() + limit;
        while (!done() && SteadyClock::now() < deadline) std::this_thread::sleep_for(1ms);
        if (!done()) {
            ADD_FAILURE() << what << " did not finish within " << limit.count() << " ms";
            std::fflush(stdout);
            std::fflush(stderr);
            std::_Exit(1);
        }
        thread_.join();
    }

private:
    std::atomic<bool> done_{false};
    std::thread thread_;
};

// Polls `pred` until it holds or `limit` passes.
template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit) {
    const auto deadline = SteadyClock::now() + limit;
    while (!pred()) {
        if (SteadyClock::now() >= deadline) return false;
        std::this_thread::sleep_for(200us);
    }
    return true;
}

constexpr SimClock::Options kRealtime{.mode = SimClock::Mode::Realtime};

// 48 kHz stereo S32_LE. Frame n of the counting pattern is (n, -n), n from 1, so silence
// (0, 0) can never be mistaken for data.
constexpr Config kStereo32{.rate = 48000, .channels = 2, .format = Format::S32_LE, .period = 240, .periods = 16};

// Verifies, on the thread that calls it, that a stream of frames is: silence, then the
// counting pattern 1, 2, 3... without a gap, then silence only.
struct SequenceChecker {
    std::atomic<uint64_t> next{1};
    std::atomic<int> phase{0};  // 0 leading silence, 1 data, 2 trailing silence
    std::atomic<uint64_t> frames{0};
    std::atomic<uint64_t> errors{0};
    std::atomic<int64_t> bad_index{-1}, bad_left{0}, bad_right{0}, bad_want{0};

    void check(const std::byte* data, Frames n) {
        for (Frames i = 0; i < n; ++i) {
            int32_t l = 0;
            int32_t r = 0;
            std::memcpy(&l, data + i * 8, 4);
            std::memcpy(&r, data + i * 8 + 4, 4);
            const uint64_t index = frames.fetch_add(1, std::memory_order_relaxed);
            if (l == 0 && r == 0) {
                if (phase.load(std::memory_order_relaxed) == 1) phase.store(2, std::memory_order_relaxed);
                continue;
            }
            const uint64_t want = next.load(std::memory_order_relaxed);
            const bool ok = phase.load(std::memory_order_relaxed) != 2 && l == static_cast<int32_t>(want) &&
                            r == -static_cast<int32_t>(want);
            if (!ok && errors.fetch_add(1, std::memory_order_relaxed) == 0) {
                bad_index.store(static_cast<int64_t>(index), std::memory_order_relaxed);
                bad_left.store(l, std::memory_order_relaxed);
                bad_right.store(r, std::memory_order_relaxed);
                bad_want.store(static_cast<int64_t>(want), std::memory_order_relaxed);
            }
            phase.store(1, std::memory_order_relaxed);
            next.store(static_cast<uint64_t>(l > 0 ? l : 0) + 1, std::memory_order_relaxed);  // resync
        }
    }
    std::string describe() const {
        return "first bad frame #" + std::to_string(bad_index.load()) + ": (" + std::to_string(bad_left.load()) +
               ", " + std::to_string(bad_right.load()) + "), wanted " + std::to_string(bad_want.load());
    }
};

void fill_counting(std::vector<int32_t>& buf, Frames n, uint64_t* counter) {
    for (Frames i = 0; i < n; ++i) {
        const auto v = static_cast<int32_t>((*counter)++);
        buf[2 * i] = v;
        buf[2 * i + 1] = -v;
    }
}

// ------------------------------------------------------------------------------------------
// (1) and (2): data integrity across the application and interrupt threads

TEST(PcmThreads, BlockingPlaybackWritesArePlayedExactlyInOrder) {
    SimClock clock(kRealtime);
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Playback, ptrtest::wide_constraints(), dma,
                   PcmRuntime::Options{.name = "play", .nonblock = false, .timeout = 2000ms});
    SequenceChecker ck;
    dma.set_sink([&ck](const std::byte* data, Frames n) { ck.check(data, n); });
    // Configure before the clock thread exists; start when the buffer is full.
    PTR_ASSERT_OK(ptrtest::configure(pcm, kStereo32));
    const Frames buffer = pcm.buffer_size();
    PTR_ASSERT_OK(ptrtest::set_thresholds(pcm, buffer, buffer));
    PTR_ASSERT_OK(clock.start());

    constexpr uint64_t kTotal = 14400 + 77;  // ~300 ms, not a whole number of periods
    constexpr Frames kChunk = 333;
    std::vector<int32_t> buf(2 * kChunk);
    uint64_t counter = 1;
    uint64_t written = 0;
    const auto t0 = SteadyClock::now();
    while (written < kTotal) {
        const Frames n = std::min<Frames>(kChunk, kTotal - written);
        fill_counting(buf, n, &counter);
        auto w = pcm.writei(buf.data(), n);
        ASSERT_TRUE(w.ok()) << w.error().to_string() << " after " << written << " frames (xruns "
                            << pcm.status().xruns << ")";
        ASSERT_EQ(*w, n) << "a blocking write returns everything";
        written += n;
    }
    PTR_ASSERT_OK(pcm.drain());
    const auto elapsed = SteadyClock::now() - t0;
    EXPECT_EQ(pcm.state(), PcmState::Setup);
    clock.stop();  // joins the clock thread: everything the sink stored is visible now

    EXPECT_EQ(pcm.status().xruns, 0U);
    EXPECT_EQ(ck.errors.load(), 0U) << ck.describe();
    EXPECT_EQ(ck.next.load() - 1, kTotal) << "frames played in sequence";
    EXPECT_GE(ck.frames.load(), kTotal);
    EXPECT_LT(elapsed, 2s);
}

TEST(PcmThreads, BlockingCaptureReadsReturnExactlyTheCapturedSequence) {
    SimClock clock(kRealtime);
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Capture, ptrtest::wide_constraints(), dma,
                   PcmRuntime::Options{.name = "cap", .nonblock = false, .timeout = 2000ms});
    uint64_t produced = 1;  // touched by the clock thread only
    dma.set_source([&produced](std::byte* data, Frames n) {
        for (Frames i = 0; i < n; ++i) {
            const auto v = static_cast<int32_t>(produced++);
            const int32_t lr[2] = {v, -v};
            std::memcpy(data + i * 8, lr, 8);
        }
    });
    PTR_ASSERT_OK(ptrtest::configure(pcm, kStereo32));
    PTR_ASSERT_OK(clock.start());

    constexpr uint64_t kTotal = 14400;
    constexpr Frames kChunk = 333;
    std::vector<int32_t> buf(2 * kChunk);
    uint64_t expect = 1;
    uint64_t read = 0;
    uint64_t errors = 0;
    std::string first_error;
    const auto t0 = SteadyClock::now();
    while (read < kTotal) {
        const Frames n = std::min<Frames>(kChunk, kTotal - read);
        auto r = pcm.readi(buf.data(), n);  // the first read starts the stream
        ASSERT_TRUE(r.ok()) << r.error().to_string() << " after " << read << " frames (xruns "
                            << pcm.status().xruns << ")";
        ASSERT_EQ(*r, n) << "a blocking read returns everything";
        for (Frames i = 0; i < n; ++i, ++expect) {
            const int32_t l = buf[2 * i];
            const int32_t rr = buf[2 * i + 1];
            if (l != static_cast<int32_t>(expect) || rr != -static_cast<int32_t>(expect)) {
                if (errors++ == 0)
                    first_error = "frame " + std::to_string(expect) + " read as (" + std::to_string(l) + ", " +
                                  std::to_string(rr) + ")";
                expect = static_cast<uint64_t>(l > 0 ? l : 0);  // resync
            }
        }
        read += n;
    }
    const auto elapsed = SteadyClock::now() - t0;
    PTR_EXPECT_OK(pcm.drop());
    clock.stop();
    EXPECT_EQ(errors, 0U) << first_error;
    EXPECT_EQ(pcm.status().xruns, 0U);
    EXPECT_GE(produced - 1, kTotal);
    EXPECT_LT(elapsed, 2s);
}

// ------------------------------------------------------------------------------------------
// (3) close() wakes blocked callers

// Starts `call` on a thread, makes sure it is blocked, closes the PCM from another thread and
// checks that the call returns -EBADFD promptly.
void expect_close_wakes(PcmRuntime& pcm, std::function<int()> call, const char* what) {
    std::atomic<bool> entering{false};
    std::atomic<int> code{1};
    std::atomic<int64_t> returned_ns{0};
    BoundedThread caller([&] {
        entering.store(true);
        code.store(call());
        returned_ns.store(SteadyClock::now().time_since_epoch().count());
    });
    // No ASSERT before close(): returning early would leave the caller blocked forever.
    EXPECT_TRUE(wait_until([&] { return entering.load(); }, 2000ms));
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(caller.done()) << what << " did not block (returned " << code.load() << ")";

    const int64_t close_ns = SteadyClock::now().time_since_epoch().count();
    BoundedThread closer([&] { pcm.close(); });
    closer.join_within(2000ms, "close()");
    caller.join_within(2000ms, what);
    EXPECT_EQ(code.load(), -EBADFD) << what;
    EXPECT_LT(returned_ns.load() - close_ns, int64_t{2'000'000'000}) << what;
    EXPECT_EQ(pcm.avail().code(), -EBADFD);
}

TEST(PcmThreads, CloseWakesAWriterBlockedOnAFullPreparedBuffer) {
    SimClock clock;
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Playback, ptrtest::wide_constraints(), dma, PcmRuntime::Options{.name = "w"});
    PTR_ASSERT_OK(ptrtest::configure(pcm, kStereo32));
    const Frames buffer = pcm.buffer_size();
    PTR_ASSERT_OK(ptrtest::set_thresholds(pcm, pcm.boundary(), buffer));  // start explicitly
    std::vector<int32_t> data(2 * buffer, 7);
    auto w = pcm.writei(data.data(), buffer);
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(*w, buffer);
    ASSERT_EQ(pcm.state(), PcmState::Prepared);
    expect_close_wakes(pcm, [&] { return pcm.writei(data.data(), 240).code(); }, "writei");
    EXPECT_EQ(pcm.writei(data.data(), 1).code(), -EBADFD);
}

TEST(PcmThreads, CloseWakesAWriterBlockedOnAPausedStream) {
    SimClock clock(kRealtime);
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Playback, ptrtest::wide_constraints(), dma, PcmRuntime::Options{.name = "wp"});
    PTR_ASSERT_OK(ptrtest::configure(pcm, kStereo32));
    const Frames buffer = pcm.buffer_size();
    PTR_ASSERT_OK(clock.start());
    std::vector<int32_t> data(2 * buffer, 7);
    pcm.set_nonblock(true);
    ASSERT_TRUE(pcm.writei(data.data(), buffer).ok());  // starts the stream
    PTR_ASSERT_OK(pcm.pause(true));
    auto a = pcm.avail();
    ASSERT_TRUE(a.ok());
    if (*a > 0) {
        ASSERT_TRUE(pcm.writei(data.data(), *a).ok());  // fill what was played so far
    }
    ASSERT_EQ(pcm.avail_update(), 0U);
    pcm.set_nonblock(false);
    expect_close_wakes(pcm, [&] { return pcm.writei(data.data(), 240).code(); }, "writei (paused)");
    EXPECT_FALSE(dma.running());
}

TEST(PcmThreads, CloseWakesABlockedReader) {
    SimClock clock(kRealtime);
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Capture, ptrtest::wide_constraints(), dma, PcmRuntime::Options{.name = "r"});
    PTR_ASSERT_OK(ptrtest::configure(pcm, kStereo32));
    PTR_ASSERT_OK(ptrtest::set_thresholds(pcm, pcm.boundary(), pcm.buffer_size()));  // no auto-start
    PTR_ASSERT_OK(clock.start());
    std::vector<int32_t> data(2 * 240);
    expect_close_wakes(pcm, [&] { return pcm.readi(data.data(), 240).code(); }, "readi");
}

// A writer blocked on a full buffer when another thread starts a drain gets -EPIPE, as in the
// kernel (wait_for_avail: DRAINING is -EPIPE for playback), not -EBADFD (defect 11 of the
// hardening issue).
TEST(PcmThreads, AWriterBlockedWhenADrainStartsGetsEpipe) {
    ptrtest::FakeHw hw;
    PcmRuntime pcm(Stream::Playback, ptrtest::wide_constraints(), hw,
                   PcmRuntime::Options{.name = "blocked", .nonblock = false, .timeout = 3000ms});
    PTR_ASSERT_OK(ptrtest::configure(pcm, Config{}));
    PTR_ASSERT_OK(ptrtest::set_thresholds(pcm, pcm.boundary(), pcm.buffer_size()));  // never auto-starts
    std::vector<int16_t> frames(2 * pcm.buffer_size(), 1);
    ASSERT_EQ(*pcm.writei(frames.data(), pcm.buffer_size()), pcm.buffer_size());  // full
    Result<Frames> blocked = Frames{0};
    BoundedThread writer([&] { blocked = pcm.writei(frames.data(), 32); });
    std::this_thread::sleep_for(100ms);
    ASSERT_FALSE(writer.done()) << "the writer should be blocked on the full buffer";
    pcm.set_nonblock(true);  // the drain below returns at once (-EAGAIN), the writer stays blocking
    EXPECT_EQ(pcm.drain().code(), -EAGAIN);
    writer.join_within(2000ms, "the blocked writer");
    ASSERT_FALSE(blocked.ok());
    EXPECT_EQ(blocked.code(), -EPIPE) << blocked.error().message();
}

TEST(PcmThreads, CloseEndsABlockedDrain) {
    SimClock clock;  // virtual and never advanced: the drain cannot finish by itself
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Playback, ptrtest::wide_constraints(), dma, PcmRuntime::Options{.name = "d"});
    PTR_ASSERT_OK(ptrtest::configure(pcm, kStereo32));
    std::vector<int32_t> data(2 * 480, 7);
    pcm.set_nonblock(true);
    ASSERT_TRUE(pcm.writei(data.data(), 480).ok());
    ASSERT_EQ(pcm.state(), PcmState::Running);
    pcm.set_nonblock(false);
    expect_close_wakes(pcm, [&] { return pcm.drain().code(); }, "drain");
    EXPECT_FALSE(dma.running());
}

// ------------------------------------------------------------------------------------------
// (4) control operations racing the interrupt thread

bool legal_state(PcmState s) {
    switch (s) {
        case PcmState::Setup:
        case PcmState::Prepared:
        case PcmState::Running:
        case PcmState::Xrun:
        case PcmState::Paused: return true;
        default: return false;  // never OPEN/DRAINING/SUSPENDED/DISCONNECTED here
    }
}

TEST(PcmThreads, ControlOperationsRacingInterruptsAndXrunsKeepTheStateLegal) {
    SimClock clock(kRealtime);
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Playback, ptrtest::wide_constraints(), dma,
                   PcmRuntime::Options{.name = "race", .nonblock = true, .timeout = 1000ms});
    // A 64-frame buffer at 48 kHz (1.3 ms): the stream underruns almost at once.
    PTR_ASSERT_OK(ptrtest::configure(pcm, Config{.rate = 48000, .period = 32, .periods = 2}));
    const Frames buffer = pcm.buffer_size();
    ASSERT_EQ(buffer, 64U);
    PTR_ASSERT_OK(clock.start());

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> illegal_seen{0};
    BoundedThread observer([&] {  // status readers are "any thread"
        while (!stop.load()) {
            const PcmStatus st = pcm.status();
            if (!legal_state(st.state)) illegal_seen.fetch_add(1);
            (void)pcm.avail_update();
            std::this_thread::yield();
        }
    });
    struct StopOnExit {  // also on an early return, before ~BoundedThread joins
        std::atomic<bool>& flag;
        ~StopOnExit() { flag.store(true); }
    } stop_on_exit{stop};

    std::mt19937 rng(20240611);
    std::vector<int16_t> data(buffer, 5);
    std::vector<std::string> unexpected;
    int prepare_busy_outside_running = 0;
    auto allow = [&](const char* op, int code, std::initializer_list<int> ok_codes) {
        for (int c : ok_codes)
            if (c == code) return;
        if (unexpected.size() < 10) unexpected.push_back(std::string(op) + " -> " + errno_name(code));
    };
    const auto deadline = SteadyClock::now() + 800ms;
    int iterations = 0;
    for (; iterations < 5000 && SteadyClock::now() < deadline; ++iterations) {
        const PcmState before = pcm.state();
        switch (rng() % 7) {
            case 0: {
                const int c = pcm.prepare().code();
                allow("prepare", c, {0, -EBUSY});
                // Only the control thread leaves SETUP/PREPARED/XRUN, so from those prepare
                // must not find the hardware busy.
                if (c == -EBUSY && (before == PcmState::Setup || before == PcmState::Prepared ||
                                    before == PcmState::Xrun))
                    ++prepare_busy_outside_running;
                break;
            }
            case 1:
                allow("writei", pcm.writei(data.data(), 1 + rng() % buffer).code(), {0, -EAGAIN, -EPIPE, -EBADFD});
                break;
            case 2: allow("start", pcm.start().code(), {0, -EBADFD, -EPIPE}); break;
            case 3: allow("pause(true)", pcm.pause(true).code(), {0, -EBADFD, -EPIPE}); break;
            case 4: allow("pause(false)", pcm.pause(false).code(), {0, -EBADFD, -EPIPE}); break;
            case 5: allow("drop", pcm.drop().code(), {0}); break;
            default: std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(rng() % 400))); break;
        }
        const PcmState after = pcm.state();
        if (!legal_state(after)) {
            ADD_FAILURE() << "state " << pcm_state_name(after) << " at iteration " << iterations;
            break;
        }
        (void)pcm.pop_event();  // keep the event queue moving; one consumer (this thread)
    }
    stop.store(true);
    observer.join_within(2000ms, "status observer");
    EXPECT_GT(iterations, 100);
    EXPECT_EQ(illegal_seen.load(), 0U);
    EXPECT_TRUE(unexpected.empty()) << unexpected.front();
    EXPECT_EQ(prepare_busy_outside_running, 0)
        << "prepare() from SETUP/PREPARED/XRUN found the hardware still running";
    EXPECT_GT(pcm.status().xruns, 0U) << "the tiny buffer should have underrun";

    // Afterwards the stream recovers: prepare, fill, start explicitly, and the clock thread
    // moves it until it underruns again.
    PTR_ASSERT_OK(pcm.drop());
    PTR_ASSERT_OK(ptrtest::set_thresholds(pcm, pcm.boundary(), buffer));
    PTR_ASSERT_OK(pcm.prepare());
    auto w = pcm.writei(data.data(), buffer);
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(*w, buffer);
    ASSERT_EQ(pcm.state(), PcmState::Prepared);
    PTR_ASSERT_OK(pcm.start());
    EXPECT_TRUE(wait_until([&] { return pcm.state() == PcmState::Xrun; }, 1000ms))
        << "state " << pcm_state_name(pcm.state());
    EXPECT_GE(pcm.hw_ptr(), buffer);
    PTR_EXPECT_OK(pcm.drop());
    clock.stop();
}

// The CLI demo starts its real-time clock first and configures afterwards; the clock thread
// already visits the attached DMA then. Under TSan this must not race.
TEST(PcmThreads, ConfiguringWhileTheRealtimeClockRunsIsSafe) {
    SimClock clock(kRealtime);
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Playback, ptrtest::wide_constraints(), dma,
                   PcmRuntime::Options{.name = "late", .nonblock = true});
    PTR_ASSERT_OK(clock.start());
    std::this_thread::sleep_for(30ms);  // let the clock thread make a few idle passes
    PTR_ASSERT_OK(ptrtest::configure(pcm, Config{.rate = 48000, .period = 48, .periods = 4}));
    PTR_ASSERT_OK(ptrtest::set_thresholds(pcm, 1, pcm.boundary()));
    PTR_ASSERT_OK(pcm.start());
    EXPECT_TRUE(wait_until([&] { return pcm.hw_ptr() >= 4 * 48; }, 1000ms)) << "hw_ptr " << pcm.hw_ptr();
    EXPECT_GE(dma.interrupts(), 4U);
    PTR_EXPECT_OK(pcm.drop());
    EXPECT_EQ(pcm.state(), PcmState::Setup);
    EXPECT_FALSE(dma.running());
    clock.stop();
}

// status() is documented for any thread, suspend()/resume() for control.
TEST(PcmThreads, StatusFromAnotherThreadDuringSuspendAndResume) {
    SimClock clock(kRealtime);
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Playback, ptrtest::wide_constraints(), dma,
                   PcmRuntime::Options{.name = "susp", .nonblock = true});
    PTR_ASSERT_OK(ptrtest::configure(pcm, Config{.rate = 48000, .period = 48, .periods = 4}));
    PTR_ASSERT_OK(ptrtest::set_thresholds(pcm, 1, pcm.boundary()));
    PTR_ASSERT_OK(clock.start());
    PTR_ASSERT_OK(pcm.start());

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> bad{0};
    std::atomic<uint64_t> samples{0};
    BoundedThread observer([&] {
        while (!stop.load()) {
            const PcmStatus st = pcm.status();
            const bool ok = st.state == PcmState::Running || st.state == PcmState::Suspended;
            if (!ok) bad.fetch_add(1);
            samples.fetch_add(1);
            std::this_thread::yield();
        }
    });
    struct StopOnExit {
        std::atomic<bool>& flag;
        ~StopOnExit() { flag.store(true); }
    } stop_on_exit{stop};
    for (int i = 0; i < 20; ++i) {
        PTR_EXPECT_OK(pcm.suspend());
        EXPECT_EQ(pcm.status().suspended_state, PcmState::Running);
        std::this_thread::sleep_for(1ms);
        PTR_EXPECT_OK(pcm.resume());
        std::this_thread::sleep_for(1ms);
    }
    stop.store(true);
    observer.join_within(2000ms, "status observer");
    EXPECT_EQ(bad.load(), 0U);
    EXPECT_GT(samples.load(), 0U);
    EXPECT_EQ(pcm.state(), PcmState::Running);
    EXPECT_EQ(dma.triggers(TriggerCmd::Suspend), 20U);
    EXPECT_EQ(dma.triggers(TriggerCmd::Resume), 20U);
    PTR_EXPECT_OK(pcm.drop());
    clock.stop();
}

// A hardware whose STOP, when issued by the interrupt path after an xrun, is held at a gate
// until the test opens it, and which (like SimDma) refuses to be prepared while running.
class GatedHw final : public PcmHardware {
public:
    int trigger(TriggerCmd cmd) noexcept override {
        if (cmd == TriggerCmd::Start) running.store(true);
        if (cmd == TriggerCmd::Stop) {
            if (gate_stop.exchange(false)) {
                in_stop.store(true);
                const auto deadline = SteadyClock::now() + 3s;
                while (!open.load() && SteadyClock::now() < deadline) std::this_thread::sleep_for(100us);
            }
            running.store(false);
        }
        return 0;
    }
    int trigger_rt(TriggerCmd cmd) noexcept override { return trigger(cmd); }
    Result<void> prepare() override {
        if (running.load()) {
            prepared_while_running.fetch_add(1);
            return Error(-EBUSY, "gated hw: prepare while running");
        }
        return ok();
    }
    Frames pointer() noexcept override { return pos.load(); }
    int64_t now_ns() noexcept override { return 0; }

    std::atomic<Frames> pos{0};
    std::atomic<bool> running{false};
    std::atomic<bool> gate_stop{false};
    std::atomic<bool> in_stop{false};
    std::atomic<bool> open{false};
    std::atomic<int> prepared_while_running{0};
};

// The kernel stops the hardware before the state reads XRUN, and snd_pcm_prepare syncs with
// the interrupt (snd_pcm_sync_stop) before calling the driver's prepare. Here the interrupt
// path publishes XRUN first and triggers STOP afterwards, so prepare() must wait for it.
TEST(PcmThreads, PrepareAfterAnXrunWaitsForTheInterruptPathsStop) {
    GatedHw hw;
    PcmRuntime pcm(Stream::Playback, ptrtest::wide_constraints(), hw,
                   PcmRuntime::Options{.name = "gated", .nonblock = true});
    PTR_ASSERT_OK(ptrtest::configure(pcm, Config{}));
    std::vector<int16_t> data(pcm.buffer_size(), 1);
    ASSERT_TRUE(pcm.writei(data.data(), pcm.buffer_size()).ok());
    ASSERT_EQ(pcm.state(), PcmState::Running);
    ASSERT_TRUE(hw.running.load());

    hw.gate_stop.store(true);
    hw.pos.store(kPosXrun);
    BoundedThread irq([&] {
        set_thread_role(ThreadRole::Rt);
        pcm.period_elapsed_rt();
    });
    ASSERT_TRUE(wait_until([&] { return hw.in_stop.load(); }, 2000ms));
    ASSERT_EQ(pcm.state(), PcmState::Xrun);  // published; the hardware is not stopped yet

    std::atomic<int> prepare_code{1};
    BoundedThread control([&] { prepare_code.store(pcm.prepare().code()); });
    // A correct prepare() blocks until the interrupt has finished; give a wrong one time to
    // reach the hardware.
    (void)wait_until([&] { return control.done(); }, 200ms);
    hw.open.store(true);
    irq.join_within(3000ms, "the interrupt");
    control.join_within(3000ms, "prepare()");
    EXPECT_EQ(hw.prepared_while_running.load(), 0) << "the hardware was prepared while still running";
    EXPECT_EQ(prepare_code.load(), 0);
    EXPECT_EQ(pcm.state(), PcmState::Prepared);
    EXPECT_FALSE(hw.running.load());
}

// ------------------------------------------------------------------------------------------
// (5) thread roles

TEST(PcmThreads, ThreadRoleIsPerThread) {
    EXPECT_EQ(thread_role(), ThreadRole::Unknown);
    std::atomic<int> seen_initial{-1}, seen_after{-1};
    BoundedThread t([&] {
        seen_initial.store(static_cast<int>(thread_role()));
        set_thread_role(ThreadRole::Rt);
        seen_after.store(static_cast<int>(thread_role()));
    });
    t.join_within(2000ms, "role thread");
    EXPECT_EQ(seen_initial.load(), static_cast<int>(ThreadRole::Unknown));
    EXPECT_EQ(seen_after.load(), static_cast<int>(ThreadRole::Rt));
    EXPECT_EQ(thread_role(), ThreadRole::Unknown) << "another thread's tag must not leak here";
}

TEST(PcmThreads, TaggedThreadsMayCallTheirOwnApis) {
    SimClock clock;
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Playback, ptrtest::wide_constraints(), dma, PcmRuntime::Options{.name = "roles"});
    std::atomic<int> prepare_code{1};
    BoundedThread control([&] {
        set_thread_role(ThreadRole::Control);
        (void)ptrtest::configure(pcm, Config{});
        prepare_code.store(pcm.prepare().code());
    });
    control.join_within(2000ms, "control thread");
    EXPECT_EQ(prepare_code.load(), 0);
    BoundedThread rt([&] {
        set_thread_role(ThreadRole::Rt);
        pcm.period_elapsed_rt();  // PREPARED: ignored, but allowed from rt
    });
    rt.join_within(2000ms, "rt thread");
    EXPECT_EQ(pcm.state(), PcmState::Prepared);
}

#ifdef DYNPCM_THREAD_ASSERTS
TEST(PcmThreadsDeathTest, RtThreadCallingAControlApiAborts) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            SimClock clock;
            SimDma dma(clock);
            PcmRuntime pcm(Stream::Playback, ptrtest::wide_constraints(), dma);
            (void)ptrtest::configure(pcm, Config{});
            std::thread t([&] {
                set_thread_role(ThreadRole::Rt);
                (void)pcm.prepare();
            });
            t.join();
        },
        "prepare\\(\\) must be called from a 'control' thread");
}

TEST(PcmThreadsDeathTest, ControlThreadCallingTheInterruptPathAborts) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            SimClock clock;
            SimDma dma(clock);
            PcmRuntime pcm(Stream::Playback, ptrtest::wide_constraints(), dma);
            std::thread t([&] {
                set_thread_role(ThreadRole::Control);
                pcm.period_elapsed_rt();
            });
            t.join();
        },
        "period_elapsed_rt\\(\\) must be called from a 'rt' thread");
}
#endif

}  // namespace
}  // namespace dynpcm

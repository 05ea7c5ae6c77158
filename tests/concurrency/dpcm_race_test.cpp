// The 2014 "dpcm_be_disconnect race condition", forced deterministically, against the real
// protocol and against a deliberately unprotected one; plus a randomized stress run.
//
// CPU1 (the interrupt path): period elapsed -> hw pointer update -> xrun -> stop -> FE trigger
//   -> walk the FE's BE set. A test hook parks it right after it has read a link and before it
//   uses it.
// CPU0 (the control path): a mixer write disconnects exactly that BE (runtime update).

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <semaphore>
#include <thread>
#include <vector>

#include "dpcm_race_fixture.h"
#include "dynpcm/core/test_hooks.h"

namespace dynpcm::racetest {
namespace {

using namespace std::chrono_literals;

struct Parking {
    uint32_t fe = 0;
    std::atomic<bool> armed{true};
    std::binary_semaphore parked{0};
    std::binary_semaphore release{0};
    std::atomic<bool> release_timed_out{false};

    static void hook(test::Point p, uint32_t fe, void* ctx) {
        auto* self = static_cast<Parking*>(ctx);
        if (p != test::Point::RtAfterLinkRead || fe != self->fe) return;
        bool expected = true;
        if (!self->armed.compare_exchange_strong(expected, false)) return;  // park once
        self->parked.release();
        if (!self->release.try_acquire_for(5s)) self->release_timed_out = true;
    }
};

struct Outcome {
    bool parked = false;
    bool disconnect_done_while_parked = false;
    bool disconnect_done_after_release = false;
    bool release_timed_out = false;
    PcmState fe_state = PcmState::Open;
    DpcmDump dump;
    std::string invariants;  // empty when they hold
    uint64_t retired_reads = 0;
};

// One forced interleaving of the seed report. Bounded everywhere: nothing here can hang.
Outcome run_seed(bool unprotected) {
    Outcome out;
    const uint64_t retired_before = test::retired_link_reads();
    Parking parking;  // declared first: it must outlive the clock thread, joined by ~Rig
    Rig rig(unprotected);
    PcmRuntime* pcm = rig.open("Media", 480);  // 10 ms periods, 20 ms buffer
    if (!pcm) return out;
    // Deep keeps both BEs running throughout (it never xruns), so the disconnect below only
    // moves BE-A's counts: nothing in it has to wait for the clock thread's hardware stop,
    // only the grace period (or, unprotected, nothing at all).
    PcmRuntime* deep = rig.open("Deep", 480);
    if (!deep) return out;
    SwParams never = deep->sw_params_current();
    never.stop_threshold = deep->boundary();
    EXPECT_TRUE(deep->sw_params(never).ok());
    EXPECT_TRUE(deep->start().ok());
    parking.fe = *rig.dpcm->fe_id("Media", Stream::Playback);
    test::set_hook(&Parking::hook, &parking);

    // Queue one buffer and starve the stream: the interrupt path detects the xrun and stops it.
    std::vector<int16_t> frames(960 * 2, 1000);
    EXPECT_TRUE(pcm->writei(frames.data(), 960).ok());
    out.parked = parking.parked.try_acquire_for(5s);

    std::atomic<bool> done{false};
    std::thread control([&] {
        set_thread_role(ThreadRole::Control);
        auto r = rig.dpcm->put("A Mixer Media", "off");  // disconnects BE-A: the link being walked
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
        done = true;
    });
    std::this_thread::sleep_for(100ms);
    out.disconnect_done_while_parked = done.load();
    parking.release.release();
    for (int i = 0; i < 500 && !done.load(); ++i) std::this_thread::sleep_for(10ms);
    out.disconnect_done_after_release = done.load();
    if (!done.load()) {
        // Leave no thread behind; the assertions report the hang.
        control.detach();
        test::set_hook(nullptr, nullptr);
        return out;
    }
    control.join();
    test::set_hook(nullptr, nullptr);
    // With the protocol, the disconnect returning means the interrupt path has left the set.
    // Without it, nothing waits for the interrupt path: give it (bounded) time to run on.
    if (unprotected)
        for (int i = 0; i < 200 && test::retired_link_reads() == retired_before; ++i) std::this_thread::sleep_for(5ms);
    out.release_timed_out = parking.release_timed_out.load();
    out.fe_state = pcm->state();
    out.dump = rig.dpcm->dump();
    if (auto inv = rig.dpcm->check_invariants(); !inv) out.invariants = inv.error().message();
    out.retired_reads = test::retired_link_reads() - retired_before;
    // The unprotected design also retires sets at teardown without a grace period, while the
    // clock thread's ticks still read them: stop the clock first, so the only use of a retired
    // set the test provokes is the one above (TSan would report the teardown one too).
    if (unprotected) rig.clock->stop();
    return out;
}

TEST(DpcmSeedRace, DisconnectWaitsForTheInterruptPathAndNothingIsUsedAfterFree) {
    const Outcome o = run_seed(false);
    ASSERT_TRUE(o.parked) << "the interrupt path never reached the link walk (no xrun?)";
    EXPECT_FALSE(o.disconnect_done_while_parked) << "the disconnect finished while a link was still in use";
    ASSERT_TRUE(o.disconnect_done_after_release) << "the disconnect did not finish after the interrupt path left";
    EXPECT_FALSE(o.release_timed_out);
    EXPECT_EQ(o.retired_reads, 0U);
    // The trigger completed: the FE stopped, and its BEs count only Deep as running.
    EXPECT_EQ(o.fe_state, PcmState::Xrun);
    const BeDump* a = find_be(o.dump, "BE-A");
    const BeDump* b = find_be(o.dump, "BE-B");
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(a->users, 1U);
    EXPECT_EQ(a->state, DpcmState::Start);
    EXPECT_EQ(a->be_start, 1U);
    EXPECT_EQ(b->users, 2U);
    EXPECT_EQ(b->state, DpcmState::Start);
    EXPECT_EQ(b->be_start, 1U);
    EXPECT_TRUE(o.invariants.empty()) << o.invariants;
}

// The same interleaving against the design the kernel had in 2014: the set is retired at once,
// while the interrupt path still holds a link from it. The test above must fail here, and the
// use must be caught: by AddressSanitizer (the retired set is poisoned) or, in other builds, by
// the poison the interrupt path reads.
TEST(DpcmSeedRace, UnprotectedDesignIsCaughtUsingARetiredLink) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(run_seed(true), "use-after-poison");
#else
    const Outcome o = run_seed(true);
    ASSERT_TRUE(o.parked);
    EXPECT_TRUE(o.disconnect_done_while_parked)
        << "without a grace period the disconnect must not wait: the protected test's check fails here";
    EXPECT_GT(o.retired_reads, 0U) << "the interrupt path's use of the retired link went unnoticed";
#endif
}

// ---- the interrupt path never waits for a BE the control path is working on ---------------

struct NoWait {
    uint32_t deep = 0, media = 0;
    std::atomic<bool> armed{true};
    std::binary_semaphore control_parked{0};
    std::binary_semaphore control_release{0};
    std::binary_semaphore fan_out_done{0};

    static void hook(test::Point p, uint32_t fe, void* ctx) {
        auto* self = static_cast<NoWait*>(ctx);
        if (p == test::Point::ControlOwnsBe && fe == self->deep) {
            bool expected = true;
            if (!self->armed.compare_exchange_strong(expected, false)) return;
            self->control_parked.release();
            (void)self->control_release.try_acquire_for(5s);
        } else if (p == test::Point::RtAfterFanOut && fe == self->media) {
            self->fan_out_done.release();
        }
    }
};

struct NoWaitOutcome {
    bool control_parked = false;
    bool fan_out_while_control_owned_be = false;
    DpcmDump dump;
    PcmState media_state = PcmState::Open;
    std::string invariants;
};

// The control thread configures FE Deep and, in the middle of BE-A's hw_params, stops while it
// owns BE-A's executor (a slow codec, say). Meanwhile FE Media, running on BE-A and BE-B,
// underruns: the interrupt path must finish its stop fan-out without waiting for BE-A, leaving
// BE-A's STOP to the control thread, which runs it before it lets go.
NoWaitOutcome run_no_wait(bool rt_waits_for_be) {
    NoWaitOutcome out;
    NoWait nw;  // declared first: it must outlive the clock thread, joined by ~Rig
    Rig rig(false, rt_waits_for_be);
    PcmRuntime* media = rig.open("Media", 480);
    auto deep = rig.dpcm->open("Deep", Stream::Playback, {.nonblock = true});
    if (!media || !deep) return out;
    nw.deep = *rig.dpcm->fe_id("Deep", Stream::Playback);
    nw.media = *rig.dpcm->fe_id("Media", Stream::Playback);
    test::set_hook(&NoWait::hook, &nw);
    std::vector<int16_t> frames(960 * 2, 1000);
    EXPECT_TRUE(media->writei(frames.data(), 960).ok());  // running; underruns in ~20 ms
    std::thread control([&] {
        set_thread_role(ThreadRole::Control);
        HwParams hp = (*deep)->hw_params_any();
        (void)hp.set(HwParam::PeriodSize, 480);
        (void)hp.set(HwParam::Periods, 2);
        (void)(*deep)->hw_params(hp);
    });
    out.control_parked = nw.control_parked.try_acquire_for(5s);
    out.fan_out_while_control_owned_be = nw.fan_out_done.try_acquire_for(500ms);
    nw.control_release.release();
    control.join();
    if (!out.fan_out_while_control_owned_be) (void)nw.fan_out_done.try_acquire_for(5s);
    test::set_hook(nullptr, nullptr);
    out.media_state = media->state();
    out.dump = rig.dpcm->dump();
    if (auto inv = rig.dpcm->check_invariants(); !inv) out.invariants = inv.error().message();
    return out;
}

TEST(DpcmNoWait, InterruptPathFinishesItsFanOutWhileControlOwnsABackend) {
    const NoWaitOutcome o = run_no_wait(false);
    ASSERT_TRUE(o.control_parked) << "the control thread never reached BE-A's hw_params";
    EXPECT_TRUE(o.fan_out_while_control_owned_be) << "the interrupt path waited for the control path";
    EXPECT_EQ(o.media_state, PcmState::Xrun);
    // The STOP the interrupt path left with BE-A's owner ran before the owner let go.
    for (const char* be : {"BE-A", "BE-B"}) {
        const BeDump* b = find_be(o.dump, be);
        ASSERT_NE(b, nullptr) << be;
        EXPECT_EQ(b->be_start, 0U) << be;
    }
    EXPECT_TRUE(o.invariants.empty()) << o.invariants;
}

// Against an interrupt path that takes BE-A's executor the way the control path does, the test
// above fails: the fan-out cannot finish while the control thread owns BE-A.
TEST(DpcmNoWait, BlockingDesignIsCaughtWaitingForTheControlPath) {
    const NoWaitOutcome o = run_no_wait(true);
    ASSERT_TRUE(o.control_parked);
    EXPECT_FALSE(o.fan_out_while_control_owned_be) << "a blocking interrupt path was not caught waiting";
}

// ---- randomized stress ------------------------------------------------------------------

uint64_t stress_ops() {
    if (const char* e = std::getenv("DYNPCM_STRESS_OPS")) return std::strtoull(e, nullptr, 10);
    return 100000;
}

TEST(DpcmStress, RoutingAndLifecycleChurnAgainstInterruptsKeepsTheBookkeepingConsistent) {
    Rig rig;
    const uint64_t target = stress_ops();
    std::atomic<uint64_t> ops{0};
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> xruns{0}, puts{0}, cycles{0};
    std::string failure;
    std::mutex failure_mutex;
    auto fail = [&](const std::string& what) {
        std::lock_guard lk(failure_mutex);
        if (failure.empty()) failure = what;
        stop = true;
    };
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    auto done = [&] { return stop.load() || ops.load() >= target || std::chrono::steady_clock::now() > deadline; };

    // One application per FE: open, configure, write with random stalls (xruns on the
    // interrupt path), pause, drop, close, again.
    auto app = [&](const std::string& fe, uint32_t seed) {
        set_thread_role(ThreadRole::Control);
        std::mt19937 rng(seed);
        std::vector<int16_t> frames(96 * 2, 500);
        while (!done()) {
            auto opened = rig.dpcm->open(fe, Stream::Playback, {.nonblock = true});
            if (!opened) return fail("open: " + opened.error().to_string());
            PcmRuntime* pcm = *opened;
            HwParams hp = pcm->hw_params_any();
            (void)hp.set(HwParam::Channels, 2);
            (void)hp.set(HwParam::PeriodSize, 48);  // 1 ms periods, 2 ms buffer
            (void)hp.set(HwParam::Periods, 2);
            // With every route off, hw_params (which prepares) fails: that is the rule, and the
            // application retries after the next routing change.
            if (auto r = pcm->hw_params(hp); !r && r.code() != -EINVAL) return fail("hw_params: " + r.error().to_string());
            for (int i = 0; i < 200 && !done(); ++i, ++ops) {
                const int dice = static_cast<int>(rng() % 100);
                if (dice < 3) {
                    std::this_thread::sleep_for(3ms);  // starve it: xrun
                } else if (dice < 5 && pcm->state() == PcmState::Running) {
                    (void)pcm->pause(true);
                    std::this_thread::sleep_for(1ms);
                    (void)pcm->pause(false);
                } else if (dice < 6) {
                    (void)pcm->drop();
                    (void)pcm->prepare();
                }
                auto a = pcm->avail();
                if (!a) {
                    if (a.code() == -EPIPE) ++xruns;
                    (void)recover(*pcm, a.code());
                    continue;
                }
                const Frames n = std::min<Frames>(*a, 96);
                if (n > 0) {
                    auto w = pcm->writei(frames.data(), n);
                    if (!w && w.code() != -EAGAIN) (void)recover(*pcm, w.code());
                }
                std::this_thread::sleep_for(std::chrono::microseconds(rng() % 800));
            }
            if (auto r = rig.dpcm->close(fe, Stream::Playback); !r) return fail("close: " + r.error().to_string());
            ++cycles;
        }
    };
    // The control path: random routing writes, invariants after each.
    auto control = [&] {
        set_thread_role(ThreadRole::Control);
        std::mt19937 rng(7);
        const char* ctls[] = {"A Mixer Media", "A Mixer Deep", "B Mixer Media", "B Mixer Deep"};
        while (!done()) {
            auto r = rig.dpcm->put(ctls[rng() % 4], rng() % 2 ? "on" : "off");
            if (!r) return fail("put: " + r.error().to_string());
            ++puts;
            ++ops;
            if (auto inv = rig.dpcm->check_invariants(); !inv) return fail("invariant: " + inv.error().message());
            if (rng() % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
        }
    };
    std::thread t1(app, "Media", 1), t2(app, "Deep", 2), t3(control);
    t1.join();
    t2.join();
    t3.join();
    EXPECT_TRUE(failure.empty()) << failure;
    EXPECT_TRUE(rig.dpcm->check_invariants().ok());
    // Everything closed: every BE is closed with no users.
    const DpcmDump d = rig.dpcm->dump();
    EXPECT_TRUE(d.frontends.empty());
    for (const auto& b : d.idle_backends) {
        EXPECT_EQ(b.users, 0U) << b.name;
        EXPECT_TRUE(b.state == DpcmState::Close || b.state == DpcmState::New) << b.name << " " << dpcm_state_name(b.state);
    }
    std::printf("stress: %llu ops (%llu routing writes, %llu open/close cycles, %llu xruns seen)\n",
                static_cast<unsigned long long>(ops.load()), static_cast<unsigned long long>(puts.load()),
                static_cast<unsigned long long>(cycles.load()), static_cast<unsigned long long>(xruns.load()));
    EXPECT_GT(xruns.load(), 0U) << "no xrun reached the interrupt path; the stress did not stress it";
}

}  // namespace
}  // namespace dynpcm::racetest

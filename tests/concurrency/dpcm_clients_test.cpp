// Several clients on one card at once: an FE closed by one client and opened again by another
// while the first close is still finishing, and a control-side trigger racing the interrupt
// path on the same FE. The interleavings are forced with the library's test hooks; every wait
// is bounded.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <semaphore>
#include <thread>

#include "dynpcm/backend/sim_backend.h"
#include "dynpcm/core/test_hooks.h"
#include "realtime_engine.h"

namespace dynpcm::dpcmtest {
namespace {

using namespace std::chrono_literals;

// Parks the thread that reaches `point` for FE `id`, once.
struct Park {
    test::Point point;
    uint32_t id = 0;
    std::atomic<bool> armed{true};
    std::binary_semaphore parked{0};
    std::binary_semaphore release{0};

    static void hook(test::Point p, uint32_t id, void* ctx) {
        auto* self = static_cast<Park*>(ctx);
        if (p != self->point || id != self->id) return;
        bool expected = true;
        if (!self->armed.compare_exchange_strong(expected, false)) return;
        self->parked.release();
        (void)self->release.try_acquire_for(5s);
    }
};

struct HookGuard {
    explicit HookGuard(Park& p) : installed(test::set_hook(&Park::hook, &p)) {}
    ~HookGuard() { (void)test::set_hook(nullptr, nullptr); }
    bool installed;
};

// Defect 2 of the hardening issue: Dpcm::close destroys the old runtime after it released the
// card lock, and the FE's DMA used to forget whichever runtime was attached when the old one
// went, so an FE opened again in that window never moved (its writes and drain ended in -EIO).
TEST(DpcmClients, AnFeOpenedAgainWhileItsLastCloseFinishesKeepsMoving) {
    Park park{test::Point::ControlCloseBeforeDestroy};
    DpcmRig rig;
    PcmRuntime* first = rig.open("FE A");
    ASSERT_NE(first, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*first));
    DPCM_ASSERT_OK(DpcmRig::run(*first));
    DPCM_ASSERT_OK(rig.advance_periods(2));
    park.id = *rig.dpcm->fe_id("FE A", Stream::Playback);
    HookGuard guard(park);
    if (!guard.installed) GTEST_SKIP() << "library built without DYNPCM_TEST_HOOKS";

    std::thread closer([&] { EXPECT_TRUE(is_ok(rig.dpcm->close("FE A", Stream::Playback))); });
    ASSERT_TRUE(park.parked.try_acquire_for(5s)) << "close() never reached the destruction of the old runtime";
    // Another client opens the same FE while the first close has not finished.
    PcmRuntime* second = rig.open("FE A");
    ASSERT_NE(second, nullptr);
    ASSERT_NE(second, first);
    DPCM_ASSERT_OK(DpcmRig::configure(*second));
    DPCM_ASSERT_OK(DpcmRig::run(*second));
    park.release.release();
    closer.join();

    // The old runtime is gone now; the new one must still move with its BE's clock.
    const Frames before = second->hw_ptr();
    DPCM_ASSERT_OK(rig.advance_periods(2));
    EXPECT_EQ(second->hw_ptr() - before, 2 * kPeriod) << "the reopened FE stopped moving when the old runtime went";
    // And its drain ends (non-blocking: -EAGAIN means it has begun).
    EXPECT_EQ(second->drain().code(), -EAGAIN);
    DPCM_ASSERT_OK(rig.advance_periods(2 * kPeriods));
    EXPECT_EQ(second->state(), PcmState::Setup);
    DPCM_EXPECT_INVARIANTS(rig);
}

// Two FEs on one BE, on the real-time clock (the interrupt path on its own thread).
constexpr std::string_view kSharedCard = R"(card: Shared
fe_links:
  - {name: One, playback: {stream: One Playback, formats: [S16_LE], rates: [48000], channels: 2}}
  - {name: Two, playback: {stream: Two Playback, formats: [S16_LE], rates: [48000], channels: 2}}
be_links:
  - {name: X, playback: {stream: X Playback}, backend: {type: sim}, fixup: {rate: 48000, channels: 2, format: S16_LE}}
widgets:
  - {name: X Mixer, type: mixer, controls: [{name: One, value: on}, {name: Two, value: on}]}
  - {name: Out, type: spk}
routes:
  - [X Mixer, One, One Playback]
  - [X Mixer, Two, Two Playback]
  - [X Playback, ~, X Mixer]
  - [Out, ~, X Playback]
)";

// Defect 10: the interrupt path used to move the FE's DPCM state with a plain load and store.
// FE One is paused on X while FE Two keeps X running; One's application releases the pause
// while X's device disappears. The interrupt path disconnects One and stops its role on X; the
// pause release, which had read One's state before that, must not bring One's role back: a
// DISCONNECTED FE must not keep a BE running.
TEST(DpcmClients, APauseReleaseRacingTheInterruptPathsStopLeavesNoRoleRunningForADisconnectedFe) {
    Park park{test::Point::ControlFeTrigger};
    RealtimeEngine e(kSharedCard);
    ASSERT_NE(e.dpcm, nullptr);
    std::unique_ptr<Dpcm>& dpcm = e.dpcm;
    auto open = [&](std::string_view fe) {
        PcmRuntime* pcm = e.open(fe, true);
        if (pcm) {
            EXPECT_TRUE(is_ok(DpcmRig::run(*pcm)));
        }
        return pcm;
    };
    PcmRuntime* one = open("One");
    PcmRuntime* two = open("Two");
    ASSERT_TRUE(one && two);
    DPCM_ASSERT_OK(one->pause(true));
    park.id = *dpcm->fe_id("One", Stream::Playback);
    HookGuard guard(park);
    if (!guard.installed) GTEST_SKIP() << "library built without DYNPCM_TEST_HOOKS";

    Result<void> released = ok();
    std::thread app([&] { released = one->pause(false); });
    ASSERT_TRUE(park.parked.try_acquire_for(5s)) << "the pause release never reached the FE trigger";
    dynamic_cast<SimBackend*>(dpcm->backend("X", Stream::Playback))->unplug();
    for (int i = 0; i < 200 && one->state() != PcmState::Disconnected; ++i) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(one->state(), PcmState::Disconnected) << "the device failure never reached FE One";
    std::this_thread::sleep_for(50ms);  // the interrupt path finishes One's stop fan-out
    park.release.release();
    app.join();
    EXPECT_FALSE(released.ok());
    EXPECT_EQ(released.code(), -ENODEV) << (released.ok() ? "" : released.error().message());

    const DpcmDump d = dpcm->dump();
    for (const auto& f : d.frontends) {
        EXPECT_NE(f.state, DpcmState::Start) << f.name << " is DISCONNECTED but its DPCM state is START";
        for (const auto& b : f.backends) EXPECT_EQ(b.be_start, 0U) << "BE X still counts a running FE";
    }
    DPCM_EXPECT_OK(dpcm->check_invariants());
}

// A control write on a real-time clock returns once the links it took away have faded out; it
// waits for that without the card lock, so another client's start() on the same card goes
// ahead meanwhile instead of waiting a fade and a BE period or two.
TEST(DpcmClients, AControlWriteWaitingForItsFadesDoesNotHoldOtherClientsBack) {
    Park park{test::Point::ControlSettling, 0};
    RealtimeEngine e(kSharedCard);
    ASSERT_NE(e.dpcm, nullptr);
    std::unique_ptr<Dpcm>& dpcm = e.dpcm;
    auto open = [&](std::string_view fe) { return e.open(fe, true); };
    PcmRuntime* one = open("One");
    PcmRuntime* two = open("Two");
    ASSERT_TRUE(one && two);
    DPCM_ASSERT_OK(DpcmRig::run(*one));
    HookGuard guard(park);
    if (!guard.installed) GTEST_SKIP() << "library built without DYNPCM_TEST_HOOKS";

    std::atomic<bool> put_done{false};
    std::thread writer([&] {
        EXPECT_TRUE(is_ok(dpcm->put("X Mixer One", "off")));  // One's link to X fades out
        put_done = true;
    });
    ASSERT_TRUE(park.parked.try_acquire_for(5s)) << "put() never waited for its fade";
    std::atomic<bool> started{false};
    std::thread app([&] {
        EXPECT_TRUE(is_ok(DpcmRig::run(*two)));
        started = true;
    });
    for (int i = 0; i < 100 && !started.load(); ++i) std::this_thread::sleep_for(5ms);
    const bool started_while_put_waits = started.load() && !put_done.load();
    park.release.release();
    writer.join();
    app.join();
    EXPECT_TRUE(started_while_put_waits) << "start() waited for another client's put() to finish its fades";
    DPCM_EXPECT_OK(dpcm->check_invariants());
}

}  // namespace
}  // namespace dynpcm::dpcmtest

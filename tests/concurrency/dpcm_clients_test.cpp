// Several clients on one card at once: an FE closed by one client and opened again by another
// while the first close is still finishing, and a control-side trigger racing the interrupt
// path on the same FE. The interleavings are forced with the library's test hooks; every wait
// is bounded.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <semaphore>
#include <thread>

#include "dynpcm/core/test_hooks.h"
#include "unit/dpcm_fixture.h"

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

}  // namespace
}  // namespace dynpcm::dpcmtest

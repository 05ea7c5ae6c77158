// The realtime thread never allocates or frees: this binary replaces the global operator
// new/delete and counts every call made on a thread tagged ThreadRole::Rt, while the interrupt
// path runs periods, xruns and BE trigger fan-outs against routing churn on other threads.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <thread>

#include "dpcm_race_fixture.h"
#include "unit/alloc_count.h"
#include "dynpcm/core/test_hooks.h"

namespace {
bool on_rt_thread() noexcept { return dynpcm::thread_role() == dynpcm::ThreadRole::Rt; }
}  // namespace

namespace dynpcm::racetest {
namespace {

using namespace std::chrono_literals;

// Two FEs on the real-time clock, starved now and then so the interrupt path stops them
// (xrun -> FE trigger -> BE fan-out), while a control thread re-routes (ports join with a fade
// in and leave with a fade out). Deep runs at 44.1 kHz into the 48 kHz BEs, so the data path
// resamples. Counts the realtime thread's allocations over `window`.
struct Workload {
    uint64_t allocs = 0;
    uint64_t frees = 0;
    uint64_t xruns = 0;
};

Workload run(std::chrono::milliseconds window) {
    Workload out;
    Rig rig;
    PcmRuntime* media = rig.open("Media", 48);
    PcmRuntime* deep = rig.open("Deep", 44, true, 44100);
    if (!media || !deep) return out;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> xruns{0};
    auto app = [&](PcmRuntime* pcm, uint32_t seed) {
        set_thread_role(ThreadRole::Control);
        std::mt19937 rng(seed);
        std::vector<int16_t> frames(96 * 2, 300);
        while (!stop.load()) {
            if (rng() % 20 == 0) std::this_thread::sleep_for(3ms);  // starve: xrun
            auto a = pcm->avail();
            if (!a) {
                if (a.code() == -EPIPE) ++xruns;
                (void)recover(*pcm, a.code());
                continue;
            }
            if (*a > 0) (void)pcm->writei(frames.data(), std::min<Frames>(*a, 96));
            std::this_thread::sleep_for(300us);
        }
    };
    auto control = [&] {
        set_thread_role(ThreadRole::Control);
        std::mt19937 rng(3);
        const char* ctls[] = {"A Mixer Media", "A Mixer Deep", "B Mixer Media", "B Mixer Deep"};
        while (!stop.load()) {
            (void)rig.dpcm->put(ctls[rng() % 4], rng() % 4 ? "on" : "off");
            std::this_thread::sleep_for(200us);
        }
    };
    std::thread t1(app, media, 1), t2(app, deep, 2), t3(control);
    std::this_thread::sleep_for(200ms);  // warm up: slots claimed, queues touched
    const uint64_t xruns_before = xruns.load();
    testutil::reset_allocation_counts();
    testutil::count_threads_where(on_rt_thread);
    std::this_thread::sleep_for(window);
    testutil::count_threads_where(nullptr);
    out.allocs = testutil::allocations();
    out.frees = testutil::frees();
    out.xruns = xruns.load() - xruns_before;
    stop = true;
    t1.join();
    t2.join();
    t3.join();
    return out;
}

TEST(RtAllocation, InterruptPathNeverAllocatesOrFreesUnderRoutingChurnAndXruns) {
    const Workload w = run(500ms);
    EXPECT_GT(w.xruns, 0U) << "no xrun in the window: the interrupt path's stop fan-out was not exercised";
    EXPECT_EQ(w.allocs, 0U) << "operator new called on the realtime thread";
    EXPECT_EQ(w.frees, 0U) << "operator delete called on the realtime thread";
}

// The counter itself must work: a test hook on the interrupt path that allocates is caught.
TEST(RtAllocation, CounterCatchesAnAllocationOnTheInterruptPath) {
    test::set_hook(
        [](test::Point p, uint32_t, void*) {
            if (p != test::Point::RtAfterLinkRead) return;
            std::string* s = new std::string(64, 'x');  // what a careless RT path might do
            delete s;
        },
        nullptr);
    const Workload w = run(300ms);
    test::set_hook(nullptr, nullptr);
    ASSERT_GT(w.xruns, 0U);
    EXPECT_GT(w.allocs, 0U) << "an allocation on the realtime thread went uncounted";
}

}  // namespace
}  // namespace dynpcm::racetest

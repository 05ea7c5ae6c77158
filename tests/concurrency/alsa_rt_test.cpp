// The alsa backend on a real-time clock: nothing that may block runs on the realtime thread.
// Recovery after a device xrun and the stops the interrupt path makes (an FE's xrun or drain
// end) go to the backend's own thread; devices whose transfers block (file:, dmix, pulse...)
// are written by that thread too. Every wait is bounded.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "dynpcm/backend/alsa_backend.h"
#include "dynpcm/core/test_hooks.h"
#include "dynpcm/core/thread_role.h"
#include "realtime_engine.h"

namespace dynpcm::dpcmtest {
namespace {

using namespace std::chrono_literals;

struct DeviceCalls {
    std::atomic<int> total{0};
    std::atomic<int> on_rt{0};
    static void hook(test::Point p, uint32_t, void* ctx) {
        if (p != test::Point::BackendDeviceCall) return;
        auto* self = static_cast<DeviceCalls*>(ctx);
        self->total.fetch_add(1);
        if (thread_role() == ThreadRole::Rt) self->on_rt.fetch_add(1);
    }
};

// Defect 5 of the hardening issue: the recovery after a device xrun (drop, prepare, prefill,
// start) and the STOP the interrupt path sends at an FE's xrun ran on the realtime thread.
TEST(AlsaRealtime, RecoveryAndStopsFromTheInterruptPathRunOffTheRealtimeThread) {
    RealtimeEngine e(R"(card: AlsaRt
fe_links:
  - {name: Media, playback: {stream: Media Playback, formats: [S16_LE], rates: [48000], channels: 2}}
be_links:
  - {name: Dev, playback: {stream: Dev Playback}, backend: {type: alsa, device: "null"}, fixup: {rate: 48000, channels: 2, format: S16_LE}}
widgets:
  - {name: Out, type: spk}
routes:
  - [Dev Playback, ~, Media Playback]
  - [Out, ~, Dev Playback]
)");
    ASSERT_NE(e.dpcm, nullptr);
    DeviceCalls calls;
    if (!test::set_hook(&DeviceCalls::hook, &calls)) GTEST_SKIP() << "library built without DYNPCM_TEST_HOOKS";
    PcmRuntime* pcm = e.open("Media", false);
    ASSERT_NE(pcm, nullptr);
    auto* dev = dynamic_cast<AlsaBackend*>(e.dpcm->backend("Dev", Stream::Playback));
    ASSERT_NE(dev, nullptr);
    std::vector<int16_t> data(2 * 1920, 100);
    DPCM_ASSERT_OK(pcm->writei(data.data(), 1920));  // 40 ms (the whole ring), then it runs dry: an xrun
    DPCM_ASSERT_OK(pcm->start());
    dev->inject_error(-EPIPE);  // the next transfer meets a device xrun
    for (int i = 0; i < 200 && pcm->state() == PcmState::Running; ++i) std::this_thread::sleep_for(5ms);
    EXPECT_EQ(pcm->state(), PcmState::Xrun);
    std::this_thread::sleep_for(100ms);  // the stop the interrupt path sent reaches the device
    (void)test::set_hook(nullptr, nullptr);
    EXPECT_GE(dev->xruns(), 1u);
    EXPECT_GE(dev->lost_frames(), 480u) << "the period the device xrun lost is not counted";
    bool xrun_reported = false;
    for (const auto& ev : e.dpcm->take_events()) xrun_reported = xrun_reported || ev.kind == DpcmEvent::Kind::BeXrun;
    EXPECT_TRUE(xrun_reported);
    EXPECT_GT(calls.total.load(), 0);
    EXPECT_EQ(calls.on_rt.load(), 0) << calls.on_rt.load() << " device calls that may block ran on the realtime thread";
    DPCM_EXPECT_OK(e.dpcm->check_invariants());
}

// The file plugin writes to a FIFO nobody reads: once the FIFO is full its writes block. That
// must stall only that BE; another BE on the same clock keeps its FE moving in real time.
TEST(AlsaRealtime, ADeviceWhoseWritesBlockStallsOnlyItsOwnBackend) {
    const std::filesystem::path fifo = std::filesystem::temp_directory_path() /
                                       ("dynpcm_alsa_fifo_" + std::to_string(::getpid()));
    std::filesystem::remove(fifo);
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);  // so the plugin's open does not block
    ASSERT_GE(reader, 0);
    {
        RealtimeEngine e(R"(card: Stall
fe_links:
  - {name: Stalled, playback: {stream: Stalled Playback, formats: [S16_LE], rates: [48000], channels: 2}}
  - {name: Live, playback: {stream: Live Playback, formats: [S16_LE], rates: [48000], channels: 2}}
be_links:
  - {name: Fifo, playback: {stream: Fifo Playback}, backend: {type: alsa, device: "file:')" + fifo.string() + R"(',raw"}, fixup: {rate: 48000, channels: 2, format: S16_LE}}
  - {name: Codec, playback: {stream: Codec Playback}, backend: {type: sim}, fixup: {rate: 48000, channels: 2, format: S16_LE}}
widgets:
  - {name: Out1, type: spk}
  - {name: Out2, type: spk}
routes:
  - [Fifo Playback, ~, Stalled Playback]
  - [Codec Playback, ~, Live Playback]
  - [Out1, ~, Fifo Playback]
  - [Out2, ~, Codec Playback]
)");
        ASSERT_NE(e.dpcm, nullptr);
        PcmRuntime* stalled = e.open("Stalled", true);
        PcmRuntime* live = e.open("Live", true);
        ASSERT_TRUE(stalled && live);
        DPCM_ASSERT_OK(stalled->start());
        DPCM_ASSERT_OK(live->start());
        const auto t0 = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(1500ms);  // the 64 KiB FIFO is full after about 0.34 s
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const Frames moved = live->hw_ptr();
        // Let the blocked writer go, so the engine can close.
        std::atomic<bool> done{false};
        std::thread drain([&] {
            char buf[65536];
            while (!done.load())
                if (::read(reader, buf, sizeof buf) <= 0) std::this_thread::sleep_for(1ms);
        });
        EXPECT_GE(static_cast<double>(moved), 0.75 * seconds * 48000)
            << "the Live FE moved " << moved << " frames in " << seconds << " s: the realtime thread was blocked";
        (void)e.dpcm->close("Stalled", Stream::Playback);
        (void)e.dpcm->close("Live", Stream::Playback);
        done = true;
        drain.join();
    }
    ::close(reader);
    std::filesystem::remove(fifo);
}

}  // namespace
}  // namespace dynpcm::dpcmtest

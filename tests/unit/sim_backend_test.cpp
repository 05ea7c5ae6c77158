// The sim and null backends on their own: options, the capture generator, the playback
// monitor, and the faults they inject.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <vector>

#include "dynpcm/backend/sim_backend.h"
#include "dynpcm/dsp/convert.h"
#include "backend_params.h"
#include "result_assert.h"

namespace dynpcm {
namespace {

using testutil::is_error;
using testutil::is_ok;

HwParams params(Format f, unsigned ch, uint32_t rate, Frames period) {
    return testutil::chosen_params(f, ch, rate, static_cast<uint32_t>(period));
}

std::unique_ptr<Backend> make(Stream dir, std::map<std::string, std::string> options, const char* type = "sim") {
    auto b = make_backend(BackendBinding{type, std::move(options)}, BackendContext{"Codec", dir});
    EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().message());
    return b.ok() ? std::move(*b) : nullptr;
}

TEST(SimBackend, CaptureGeneratesTheConfiguredSineAtItsLevel) {
    auto b = make(Stream::Capture, {{"frequency", "1000"}, {"level", "-6"}});
    ASSERT_TRUE(b);
    ASSERT_TRUE(is_ok(b->hw_params(params(Format::S16_LE, 2, 48000, 480))));
    ASSERT_TRUE(is_ok(b->prepare()));
    ASSERT_EQ(b->trigger(TriggerCmd::Start), 0);
    std::vector<int16_t> raw(2 * 4800);
    for (int k = 0; k < 10; ++k) ASSERT_EQ(b->read_rt(raw.data() + k * 960, 480), 480);
    EXPECT_EQ(b->position(), 4800u);
    // 48 frames per cycle: sample i is 0.5 sin(2 pi i / 48), both channels alike.
    for (size_t i = 0; i < 4800; ++i) {
        const double want = 0.5011872336 * std::sin(2 * M_PI * static_cast<double>(i) / 48.0) * 32768.0;
        ASSERT_NEAR(raw[2 * i], want, 1.0) << i;
        ASSERT_EQ(raw[2 * i], raw[2 * i + 1]);
    }
}

TEST(SimBackend, PlaybackKeepsWhatItReceivedAndItsPeak) {
    auto b = make(Stream::Playback, {{"monitor", "1"}});
    ASSERT_TRUE(b);
    auto& sim = dynamic_cast<SimBackend&>(*b);
    ASSERT_TRUE(is_ok(b->hw_params(params(Format::S16_LE, 2, 48000, 480))));
    ASSERT_TRUE(is_ok(b->prepare()));
    std::vector<int16_t> in(2 * 480);
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int16_t>(i * 15);
    in[7] = -16384;
    ASSERT_EQ(b->write_rt(in.data(), 480), 480);
    std::vector<std::byte> out;
    EXPECT_EQ(sim.take_monitor(out), in.size() * 2);
    EXPECT_EQ(std::memcmp(out.data(), in.data(), out.size()), 0);
    EXPECT_FLOAT_EQ(sim.take_peak(), 0.5f);
    EXPECT_EQ(sim.take_peak(), 0.0f) << "taking the peak resets it";
    // A monitor of one second drops what does not fit, and counts it.
    for (int k = 0; k < 101; ++k) ASSERT_EQ(b->write_rt(in.data(), 480), 480);
    EXPECT_EQ(sim.monitor_dropped(), 480u);
}

TEST(SimBackend, InjectedFaultsLookLikeADeviceXrunAndAnUnpluggedDevice) {
    auto b = make(Stream::Playback, {});
    ASSERT_TRUE(b);
    auto& sim = dynamic_cast<SimBackend&>(*b);
    ASSERT_TRUE(is_ok(b->hw_params(params(Format::S16_LE, 2, 48000, 480))));
    ASSERT_TRUE(is_ok(b->prepare()));
    std::vector<int16_t> in(2 * 480, 1);
    sim.inject_xrun();
    EXPECT_EQ(b->write_rt(in.data(), 480), -EPIPE);
    EXPECT_EQ(b->xruns(), 1u);
    EXPECT_EQ(b->write_rt(in.data(), 480), 480) << "recovered";
    sim.fail_next_trigger(-EIO);
    EXPECT_EQ(b->trigger(TriggerCmd::Start), -EIO);
    EXPECT_EQ(b->trigger(TriggerCmd::Start), 0);
    sim.unplug();
    EXPECT_EQ(b->write_rt(in.data(), 480), -ENODEV);
    EXPECT_TRUE(is_error(b->prepare(), -ENODEV, {"unplugged"}));
    sim.reconnect();
    EXPECT_TRUE(is_ok(b->prepare()));
    EXPECT_EQ(b->write_rt(in.data(), 480), 480);
}

TEST(NullBackend, DiscardsPlaybackAndCapturesSilenceAtItsPosition) {
    auto b = make(Stream::Capture, {}, "null");
    ASSERT_TRUE(b);
    ASSERT_TRUE(is_ok(b->hw_params(params(Format::U8, 1, 8000, 80))));
    ASSERT_TRUE(is_ok(b->prepare()));
    std::vector<uint8_t> raw(80, 0x11);
    EXPECT_EQ(b->read_rt(raw.data(), 80), 80);
    for (uint8_t v : raw) EXPECT_EQ(v, 0x80) << "U8 silence is 0x80";
    EXPECT_EQ(b->position(), 80u);
}

TEST(BackendOptions, BadBindingsNameTheOptionAndTheValue) {
    EXPECT_TRUE(is_error(check_backend_binding({"sim", {{"frequncy", "1"}}}), -EINVAL, {"did you mean 'frequency'"}));
    EXPECT_TRUE(is_error(check_backend_binding({"sim", {{"frequency", "0"}}}), -EINVAL, {"frequency"}));
    EXPECT_TRUE(is_error(check_backend_binding({"sim", {{"level", "+3"}}}), -EINVAL, {"level"}));
    EXPECT_TRUE(is_error(check_backend_binding({"sim", {{"signal", "pink"}}}), -EINVAL, {"'pink'"}));
    EXPECT_TRUE(is_error(check_backend_binding({"pulse", {}}), -EINVAL, {"unknown backend 'pulse'"}));
    EXPECT_TRUE(is_error(check_backend_binding({"null", {{"x", "1"}}}), -EINVAL, {"takes no options"}));
    auto b = make_backend({"sim", {{"monitor", "-1"}}}, {"Codec", Stream::Playback});
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().message().find("BE 'Codec'"), std::string::npos) << b.error().message();
}

}  // namespace
}  // namespace dynpcm

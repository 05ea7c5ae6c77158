// The alsa backend against alsa-lib's own PCMs, so that it runs without a sound card:
// "null" (discards playback; capture reports frames without writing them), the "file" plugin
// (writes the raw stream to a file, over a null slave) and a plug chain that only offers 48 kHz.
// The device-gone and xrun paths run through the fault-injection hook, which feeds the same
// handling as a real error.
// The realtime methods are checked for allocations: this binary replaces the global operator
// new/delete (and, on glibc without sanitizers, malloc/calloc/realloc, which alsa-lib uses).

#include "dynpcm/backend/alsa_backend.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dynpcm/pcm/hw_params.h"
#include "unit/alloc_count.h"
#include "unit/backend_params.h"
#include "unit/result_assert.h"


namespace dynpcm {
namespace {

using testutil::is_error;
using testutil::is_ok;

// The device the plug chain offers only 48 kHz from: the inner plug's slave is null at 48 kHz,
// and neither plug may resample (the backend turns resampling off).
constexpr const char* kOnly48k = "plug:{SLAVE={type plug slave{pcm null rate 48000}}}";

constexpr uint32_t kPeriod = 64;
constexpr int64_t kMoved = kPeriod;  // what a transfer of one period returns

// A chosen BE configuration, as the engine hands it to hw_params.
HwParams chosen(Format f, uint32_t channels, uint32_t rate, uint32_t period = kPeriod) {
    return testutil::chosen_params(f, channels, rate, period);
}

BackendContext ctx(Stream dir, std::string name = "Speaker") { return BackendContext{std::move(name), dir}; }

std::unique_ptr<AlsaBackend> make(Stream dir, std::string device, uint32_t periods = 4) {
    AlsaBackend::Options o;
    o.device = std::move(device);
    o.periods = periods;
    return std::make_unique<AlsaBackend>(ctx(dir), o);
}

// The same on a real-time engine: recovery and realtime-side stops go to the backend's thread,
// and so do the transfers of a PCM that is not plain hw (io: auto), or of any with io: thread.
std::unique_ptr<AlsaBackend> make_realtime(Stream dir, std::string device, AlsaBackend::Io io = AlsaBackend::Io::Auto) {
    AlsaBackend::Options o;
    o.device = std::move(device);
    o.io = io;
    BackendContext c = ctx(dir);
    c.realtime = true;
    return std::make_unique<AlsaBackend>(c, o);
}

// Polls `done` for up to a second (the backend's thread works on its own time).
template <class Done>
bool eventually(Done done) {
    for (int i = 0; i < 1000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return done();
}

// open + hw_params + prepare.
::testing::AssertionResult bring_up(Backend& be, const HwParams& p) {
    if (auto r = be.open(); !r) return ::testing::AssertionFailure() << "open: " << r.error().message();
    if (auto r = be.hw_params(p); !r) return ::testing::AssertionFailure() << "hw_params: " << r.error().message();
    if (auto r = be.prepare(); !r) return ::testing::AssertionFailure() << "prepare: " << r.error().message();
    return ::testing::AssertionSuccess();
}

// A deterministic, nowhere-silent byte pattern of `frames` frames.
std::vector<std::byte> pattern(Frames frames, unsigned frame_size, unsigned seed = 1) {
    std::vector<std::byte> v(static_cast<size_t>(frames) * frame_size);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::byte>(((i * 37 + seed * 11) % 251) + 1);
    return v;
}

std::vector<std::byte> silence_bytes(Frames frames, Format f, unsigned channels) {
    return std::vector<std::byte>(static_cast<size_t>(frames) * frame_bytes(f, channels),
                                  static_cast<std::byte>(format_info(f).silence_byte));
}

void append(std::vector<std::byte>& to, const std::vector<std::byte>& what) {
    to.insert(to.end(), what.begin(), what.end());
}

// A file the "file" plugin writes to; removed afterwards.
class TempFile {
public:
    TempFile() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        path_ = std::filesystem::temp_directory_path() /
                (std::string("dynpcm_alsa_") + info->test_suite_name() + "_" + info->name() + "_" +
                 std::to_string(::getpid()) + ".raw");
        std::filesystem::remove(path_);
    }
    ~TempFile() {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    /// The file plugin with raw output and its default slave (null).
    std::string device() const { return "file:'" + path_.string() + "',raw"; }
    std::vector<std::byte> contents() const {
        std::ifstream in(path_, std::ios::binary);
        const std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::vector<std::byte> out(chars.size());
        if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
        return out;
    }
    bool exists() const { return std::filesystem::exists(path_); }

private:
    std::filesystem::path path_;
};

// Where two byte strings first differ, for a readable failure.
::testing::AssertionResult same_bytes(const std::vector<std::byte>& got, const std::vector<std::byte>& want) {
    if (got == want) return ::testing::AssertionSuccess();
    size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
    auto r = ::testing::AssertionFailure();
    r << "file has " << got.size() << " bytes, expected " << want.size() << "; first difference at byte " << i;
    if (i < got.size() && i < want.size())
        r << " (got " << static_cast<int>(got[i]) << ", want " << static_cast<int>(want[i]) << ")";
    return r;
}

// ---- options ----------------------------------------------------------------------------------

TEST(AlsaOptions, DefaultsAreDefaultDeviceAndFourPeriods) {
    BackendBinding b{"alsa", {}};
    auto o = AlsaBackend::parse(b);
    ASSERT_TRUE(is_ok(o));
    EXPECT_EQ(o->device, "default");
    EXPECT_EQ(o->periods, 4u);
    b.options = {{"device", "hw:1,0"}, {"periods", "8"}};
    o = AlsaBackend::parse(b);
    ASSERT_TRUE(is_ok(o));
    EXPECT_EQ(o->device, "hw:1,0");
    EXPECT_EQ(o->periods, 8u);
    EXPECT_TRUE(is_ok(check_backend_binding(b)));
}

TEST(AlsaOptions, BadValuesNameTheOptionAndTheValue) {
    auto check = [](std::string key, std::string value) {
        return check_backend_binding(BackendBinding{"alsa", {{key, value}}});
    };
    EXPECT_TRUE(is_error(check("periods", "1"), -EINVAL, {"periods", "1", "2", "64"}));
    EXPECT_TRUE(is_error(check("periods", "65"), -EINVAL, {"periods", "65"}));
    EXPECT_TRUE(is_error(check("periods", "abc"), -EINVAL, {"periods", "'abc'"}));
    EXPECT_TRUE(is_error(check("periods", "2.5"), -EINVAL, {"periods", "'2.5'", "whole"}));
    EXPECT_TRUE(is_error(check("periods", ""), -EINVAL, {"periods", "''"}));
    EXPECT_TRUE(is_error(check("device", ""), -EINVAL, {"device", "''"}));
    EXPECT_TRUE(is_ok(check("periods", "2")));
    EXPECT_TRUE(is_ok(check("periods", "64")));
    // A misspelt option name is the factory's business, with a suggestion.
    EXPECT_TRUE(is_error(check("period", "4"), -EINVAL, {"period", "periods"}));
}

TEST(AlsaOptions, FactoryMakesAnAlsaBackendAndPrefixesErrorsWithTheBe) {
    auto be = make_backend(BackendBinding{"alsa", {{"device", "null"}, {"periods", "3"}}}, ctx(Stream::Playback));
    ASSERT_TRUE(is_ok(be));
    EXPECT_STREQ((*be)->type(), "alsa");
    auto* alsa = dynamic_cast<AlsaBackend*>(be->get());
    ASSERT_NE(alsa, nullptr);
    EXPECT_EQ(alsa->options().device, "null");
    EXPECT_EQ(alsa->options().periods, 3u);
    EXPECT_NE(alsa->describe().find("null"), std::string::npos);

    auto bad = make_backend(BackendBinding{"alsa", {{"periods", "abc"}}}, ctx(Stream::Playback, "Headset"));
    EXPECT_TRUE(is_error(bad, -EINVAL, {"BE 'Headset'", "periods", "abc"}));
}

// ---- null: playback and capture -------------------------------------------------------------

TEST(AlsaNull, PlaybackPositionAdvancesByWhatWasWritten) {
    auto be = make(Stream::Playback, "null");
    ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
    EXPECT_EQ(be->device_period(), kPeriod);
    EXPECT_EQ(be->device_buffer(), 4u * kPeriod);
    EXPECT_NE(be->describe().find("period 64, buffer 256"), std::string::npos) << be->describe();
    EXPECT_EQ(be->position(), 0u);

    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    const auto data = pattern(kPeriod, 4);
    for (int i = 0; i < 6; ++i) {
        ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
        EXPECT_EQ(be->position(), static_cast<Frames>(i + 1) * kPeriod);
    }
    ASSERT_EQ(be->write_rt(data.data(), 10), 10);  // a short transfer counts what it moved
    EXPECT_EQ(be->position(), 6 * Frames{kPeriod} + 10);
    EXPECT_EQ(be->xruns(), 0u);
    EXPECT_FALSE(be->failed());

    EXPECT_EQ(be->trigger(TriggerCmd::Stop), 0);
    EXPECT_EQ(be->position(), 6 * Frames{kPeriod} + 10);  // stop keeps the pointer; prepare resets it
    ASSERT_TRUE(is_ok(be->prepare()));
    EXPECT_EQ(be->position(), 0u);
    EXPECT_TRUE(is_ok(be->hw_free()));
    EXPECT_EQ(be->device_period(), 0u);
    be->close();
}

TEST(AlsaNull, CaptureDeliversTheRequestedFrames) {
    // alsa-lib's null capture (1.2.8) reports the frames without writing the buffer, so only
    // the counts are checked here; the silence the backend writes itself is checked with the
    // injected errors below.
    auto be = make(Stream::Capture, "null");
    ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    std::vector<std::byte> buf(kPeriod * 4);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(be->read_rt(buf.data(), kPeriod), kMoved);
    ASSERT_EQ(be->read_rt(buf.data(), 5), 5);
    EXPECT_EQ(be->position(), 3 * Frames{kPeriod} + 5);
    EXPECT_EQ(be->xruns(), 0u);
    EXPECT_EQ(be->trigger(TriggerCmd::Stop), 0);
    ASSERT_TRUE(is_ok(be->prepare()));
    EXPECT_EQ(be->position(), 0u);
    EXPECT_TRUE(is_ok(be->hw_free()));
    be->close();
}

TEST(AlsaNull, StopStartPauseSuspendResumeKeepTheStreamUsable) {
    auto be = make(Stream::Playback, "null");
    ASSERT_TRUE(bring_up(*be, chosen(Format::S32_LE, 2, 44100)));
    const auto data = pattern(kPeriod, 8);
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    // START straight from STOP (the DPCM core allows it) re-prepares the device itself.
    ASSERT_EQ(be->trigger(TriggerCmd::Stop), 0);
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    EXPECT_TRUE(be->can_pause());  // null can
    ASSERT_EQ(be->trigger(TriggerCmd::PausePush), 0);
    ASSERT_EQ(be->trigger(TriggerCmd::PauseRelease), 0);
    ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    ASSERT_EQ(be->trigger(TriggerCmd::Suspend), 0);
    ASSERT_EQ(be->trigger(TriggerCmd::Resume), 0);
    ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    EXPECT_EQ(be->trigger(TriggerCmd::Drain), 0);
    EXPECT_EQ(be->position(), 4 * Frames{kPeriod});
    EXPECT_EQ(be->xruns(), 0u);
    ASSERT_EQ(be->trigger(TriggerCmd::Stop), 0);
    be->close();
}

TEST(AlsaNull, ReopenAfterCloseWorks) {
    auto be = make(Stream::Playback, "null");
    const HwParams p = chosen(Format::S16_LE, 2, 48000);
    for (int round = 0; round < 3; ++round) {
        ASSERT_TRUE(bring_up(*be, p));
        ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
        const auto data = pattern(kPeriod, 4);
        ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
        ASSERT_EQ(be->trigger(TriggerCmd::Stop), 0);
        ASSERT_TRUE(is_ok(be->hw_free()));
        be->close();
    }
}

// ---- file: the exact bytes reach the device ----------------------------------------------------

// Writes `periods` periods of a pattern in format `f`, closes, and checks the file holds the
// start's prefill of silence followed by exactly what was written.
void check_file_stream(Format f, unsigned channels, uint32_t periods_option, int periods_written) {
    SCOPED_TRACE(std::string(format_info(f).name));
    TempFile file;
    auto be = make(Stream::Playback, file.device(), periods_option);
    ASSERT_TRUE(bring_up(*be, chosen(f, channels, 48000)));
    ASSERT_EQ(be->device_period(), kPeriod);
    ASSERT_EQ(be->device_buffer(), Frames{periods_option} * kPeriod);
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    const unsigned fb = frame_bytes(f, channels);
    std::vector<std::byte> expected = silence_bytes(Frames{periods_option - 1} * kPeriod, f, channels);
    for (int i = 0; i < periods_written; ++i) {
        const auto data = pattern(kPeriod, fb, static_cast<unsigned>(i + 1));
        ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
        append(expected, data);
    }
    EXPECT_EQ(be->position(), Frames{kPeriod} * static_cast<Frames>(periods_written));
    ASSERT_EQ(be->trigger(TriggerCmd::Stop), 0);
    be->close();
    ASSERT_TRUE(file.exists());
    EXPECT_TRUE(same_bytes(file.contents(), expected));
}

TEST(AlsaFile, S16LeStereoReachesTheFileAfterThePrefill) { check_file_stream(Format::S16_LE, 2, 4, 6); }
TEST(AlsaFile, TwoPeriodBufferPrefillsOnePeriod) { check_file_stream(Format::S16_LE, 2, 2, 5); }
TEST(AlsaFile, S32LeStereo) { check_file_stream(Format::S32_LE, 2, 4, 5); }
TEST(AlsaFile, S24LeStereo) { check_file_stream(Format::S24_LE, 2, 4, 5); }
TEST(AlsaFile, S24_3LeSixChannels) { check_file_stream(Format::S24_3LE, 6, 3, 4); }
TEST(AlsaFile, U8MonoPrefillIsU8Silence) { check_file_stream(Format::U8, 1, 4, 4); }
TEST(AlsaFile, FloatStereo) { check_file_stream(Format::FLOAT_LE, 2, 8, 9); }

// ---- bad input ---------------------------------------------------------------------------------

TEST(AlsaBadInput, UnknownDeviceNamesTheBeAndTheDevice) {
    auto be = make(Stream::Playback, "dynpcm_no_such_pcm");
    const auto r = be->open();
    EXPECT_TRUE(is_error(r, -ENOENT, {"BE 'Speaker'", "cannot open ALSA device 'dynpcm_no_such_pcm'"}));
    // Nothing open: the later operations refuse instead of crashing.
    EXPECT_TRUE(is_error(be->hw_params(chosen(Format::S16_LE, 2, 48000)), -EBADFD, {"not open"}));
    EXPECT_TRUE(is_error(be->prepare(), -EBADFD, {"not open"}));
    EXPECT_EQ(be->trigger(TriggerCmd::Start), -EBADFD);
    const auto data = pattern(kPeriod, 4);
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), -EBADFD);
    be->close();
}

TEST(AlsaBadInput, MalformedDeviceStringIsAnOpenError) {
    auto be = make(Stream::Capture, "file:");  // the file plugin without its FILE argument
    const auto r = be->open();
    ASSERT_FALSE(r.ok());
    EXPECT_LT(r.code(), 0);
    EXPECT_NE(r.error().message().find("'file:'"), std::string::npos) << r.error().message();
}

TEST(AlsaBadInput, PrepareBeforeHwParamsIsRefused) {
    auto be = make(Stream::Playback, "null");
    ASSERT_TRUE(is_ok(be->open()));
    EXPECT_TRUE(is_error(be->prepare(), -EBADFD, {"before hw_params"}));
    const auto data = pattern(kPeriod, 4);
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), -EBADFD);
    EXPECT_EQ(be->trigger(TriggerCmd::Start), -EBADFD);
}

TEST(AlsaBadInput, ARateTheDeviceCannotRunIsRefusedWithoutResampling) {
    auto be = make(Stream::Playback, kOnly48k);
    ASSERT_TRUE(is_ok(be->open()));
    const auto r = be->hw_params(chosen(Format::S16_LE, 2, 44100));
    EXPECT_TRUE(is_error(r, -EINVAL, {"BE 'Speaker'", "44100 Hz", "48000", "without resampling", kOnly48k}));
    EXPECT_EQ(be->device_period(), 0u);
    EXPECT_TRUE(is_error(be->prepare(), -EBADFD, {"before hw_params"}));
    // The rate it has works on the same device.
    ASSERT_TRUE(is_ok(be->hw_params(chosen(Format::S16_LE, 2, 48000))));
    ASSERT_TRUE(is_ok(be->prepare()));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    const auto data = pattern(kPeriod, 4);
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    be->close();
}

// ---- device gone ------------------------------------------------------------------------------

TEST(AlsaGone, PlaybackFailsUntilPrepareReopensTheDevice) {
    auto be = make(Stream::Playback, "null");
    ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    const auto data = pattern(kPeriod, 4);
    ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);

    be->inject_error(-ENODEV);
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), -ENODEV);
    EXPECT_TRUE(be->failed());
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), -ENODEV);
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), -ENODEV);
    EXPECT_EQ(be->position(), Frames{kPeriod});  // nothing more moved
    EXPECT_EQ(be->xruns(), 0u);
    // The BE fails: stopping a gone device succeeds, starting it does not.
    EXPECT_EQ(be->trigger(TriggerCmd::Stop), 0);
    EXPECT_EQ(be->trigger(TriggerCmd::Start), -ENODEV);

    // null is still there: prepare reopens it with the same configuration.
    ASSERT_TRUE(is_ok(be->prepare()));
    EXPECT_FALSE(be->failed());
    EXPECT_EQ(be->position(), 0u);
    EXPECT_EQ(be->device_period(), kPeriod);
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    EXPECT_EQ(be->position(), 3 * Frames{kPeriod});
    be->close();
}

TEST(AlsaGone, EbadfdAndEioAlsoFailTheBackend) {
    for (const int err : {-EBADFD, -EIO}) {
        SCOPED_TRACE(errno_name(err));
        auto be = make(Stream::Playback, "null");
        ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
        ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
        const auto data = pattern(kPeriod, 4);
        be->inject_error(err);
        EXPECT_EQ(be->write_rt(data.data(), kPeriod), err);  // what the device said, once
        EXPECT_TRUE(be->failed());
        EXPECT_EQ(be->write_rt(data.data(), kPeriod), -ENODEV);  // then: gone
        ASSERT_TRUE(is_ok(be->prepare()));
        ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
        EXPECT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    }
}

TEST(AlsaGone, NoDeviceIoAfterTheFailure) {
    // The file shows what reached the device: the transfers after the failure never do.
    TempFile file;
    auto be = make(Stream::Playback, file.device());
    ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    std::vector<std::byte> expected = silence_bytes(3 * kPeriod, Format::S16_LE, 2);
    for (unsigned i = 1; i <= 2; ++i) {
        const auto data = pattern(kPeriod, 4, i);
        ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
        append(expected, data);
    }
    be->inject_error(-ENODEV);
    for (unsigned i = 3; i <= 6; ++i) {
        const auto data = pattern(kPeriod, 4, i);
        EXPECT_EQ(be->write_rt(data.data(), kPeriod), -ENODEV);
    }
    EXPECT_EQ(be->trigger(TriggerCmd::Stop), 0);
    be->close();
    EXPECT_TRUE(same_bytes(file.contents(), expected));
}

TEST(AlsaGone, CaptureGivesSilenceAndRecoversOnPrepare) {
    auto be = make(Stream::Capture, "null");
    ASSERT_TRUE(bring_up(*be, chosen(Format::U8, 2, 48000)));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    std::vector<std::byte> buf(kPeriod * 2, std::byte{0x11});
    be->inject_error(-ENODEV);
    EXPECT_EQ(be->read_rt(buf.data(), kPeriod), -ENODEV);
    EXPECT_EQ(buf, silence_bytes(kPeriod, Format::U8, 2));
    std::fill(buf.begin(), buf.end(), std::byte{0x11});
    EXPECT_EQ(be->read_rt(buf.data(), kPeriod), -ENODEV);
    EXPECT_EQ(buf, silence_bytes(kPeriod, Format::U8, 2));
    EXPECT_EQ(be->position(), 0u);
    ASSERT_TRUE(is_ok(be->prepare()));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    EXPECT_EQ(be->read_rt(buf.data(), kPeriod), kMoved);
    EXPECT_EQ(be->position(), Frames{kPeriod});
}

TEST(AlsaGone, PrepareFailsWithEnodevUntilTheDeviceIsBack) {
    // A device that can be unplugged: a plug over the PCM an environment variable names,
    // resolved by alsa-lib at each open. "null" is plugged in, an unknown name is unplugged.
    const char* var = "DYNPCM_ALSA_TEST_SLAVE";
    const std::string device = std::string("plug:{SLAVE={@func getenv vars [") + var + "] default null}}";
    ASSERT_EQ(::setenv(var, "null", 1), 0);
    auto be = make(Stream::Playback, device);
    ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    const auto data = pattern(kPeriod, 4);
    ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);

    be->inject_error(-ENODEV);  // the device goes away...
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), -ENODEV);
    ASSERT_EQ(::setenv(var, "dynpcm_unplugged_pcm", 1), 0);  // ...and stays away
    EXPECT_TRUE(is_error(be->prepare(), -ENODEV, {"BE 'Speaker'", device, "gone"}));
    EXPECT_TRUE(be->failed());
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), -ENODEV);
    EXPECT_EQ(be->trigger(TriggerCmd::Start), -ENODEV);
    EXPECT_EQ(be->trigger(TriggerCmd::Stop), 0);
    EXPECT_TRUE(is_error(be->prepare(), -ENODEV, {"gone"}));  // still away: still failing

    ASSERT_EQ(::setenv(var, "null", 1), 0);  // plugged in again
    ASSERT_TRUE(is_ok(be->prepare()));
    EXPECT_FALSE(be->failed());
    EXPECT_EQ(be->device_period(), kPeriod);  // the last hw_params, applied again
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    EXPECT_EQ(be->position(), Frames{kPeriod});
    be->close();
    ::unsetenv(var);
}

// ---- xruns ------------------------------------------------------------------------------------

TEST(AlsaXrun, DeviceXrunIsRecoveredAndCounted) {
    auto be = make(Stream::Playback, "null");
    ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    const auto data = pattern(kPeriod, 4);
    ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    be->inject_error(-EPIPE);
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), -EPIPE);
    EXPECT_EQ(be->xruns(), 1u);
    EXPECT_FALSE(be->failed());
    EXPECT_EQ(be->position(), Frames{kPeriod});  // the lost period did not move the pointer
    for (int i = 0; i < 3; ++i) ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    EXPECT_EQ(be->position(), 4 * Frames{kPeriod});
    EXPECT_EQ(be->xruns(), 1u);
}

TEST(AlsaXrun, RecoveryRestartsWithAFreshPrefill) {
    // What reaches the file: prefill, period 1, (xrun: period 2 is lost) prefill, period 3.
    TempFile file;
    auto be = make(Stream::Playback, file.device());
    ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    const auto p1 = pattern(kPeriod, 4, 1), p2 = pattern(kPeriod, 4, 2), p3 = pattern(kPeriod, 4, 3);
    ASSERT_EQ(be->write_rt(p1.data(), kPeriod), kMoved);
    be->inject_error(-EPIPE);
    EXPECT_EQ(be->write_rt(p2.data(), kPeriod), -EPIPE);
    ASSERT_EQ(be->write_rt(p3.data(), kPeriod), kMoved);
    EXPECT_EQ(be->xruns(), 1u);
    ASSERT_EQ(be->trigger(TriggerCmd::Stop), 0);
    be->close();
    std::vector<std::byte> expected = silence_bytes(3 * kPeriod, Format::S16_LE, 2);
    append(expected, p1);
    append(expected, silence_bytes(3 * kPeriod, Format::S16_LE, 2));
    append(expected, p3);
    EXPECT_TRUE(same_bytes(file.contents(), expected));
}

TEST(AlsaXrun, SuspendedDeviceIsResumedAndCounted) {
    auto be = make(Stream::Playback, "null");
    ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    const auto data = pattern(kPeriod, 4);
    be->inject_error(-ESTRPIPE);
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), -EPIPE);
    EXPECT_EQ(be->xruns(), 1u);
    EXPECT_FALSE(be->failed());
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
}

TEST(AlsaXrun, ClockSlipLosesThePeriodAndCountsAnXrun) {
    auto be = make(Stream::Playback, "null");
    ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    const auto data = pattern(kPeriod, 4);
    be->inject_error(-EAGAIN);
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), -EPIPE);
    EXPECT_EQ(be->xruns(), 1u);
    EXPECT_EQ(be->position(), 0u);
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    EXPECT_EQ(be->position(), Frames{kPeriod});
}

TEST(AlsaXrun, CaptureXrunAndClockSlipGiveSilence) {
    auto be = make(Stream::Capture, "null");
    ASSERT_TRUE(bring_up(*be, chosen(Format::U8, 2, 48000)));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    std::vector<std::byte> buf(kPeriod * 2);
    for (const int err : {-EAGAIN, -EPIPE, -ESTRPIPE}) {
        SCOPED_TRACE(errno_name(err));
        std::fill(buf.begin(), buf.end(), std::byte{0x11});
        be->inject_error(err);
        EXPECT_EQ(be->read_rt(buf.data(), kPeriod), -EPIPE);
        EXPECT_EQ(buf, silence_bytes(kPeriod, Format::U8, 2));
        EXPECT_EQ(be->read_rt(buf.data(), kPeriod), kMoved);
    }
    EXPECT_EQ(be->xruns(), 3u);
    EXPECT_EQ(be->position(), 3 * Frames{kPeriod});
}

TEST(AlsaXrun, InjectionCanBeCancelled) {
    auto be = make(Stream::Playback, "null");
    ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    const auto data = pattern(kPeriod, 4);
    be->inject_error(-EPIPE);
    be->inject_error(0);
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    EXPECT_EQ(be->xruns(), 0u);
}

// ---- the realtime methods do not allocate ------------------------------------------------------

TEST(AlsaRt, TransfersTriggersAndRecoveriesDoNotAllocate) {
#if !defined(DYNPCM_TEST_COUNTS_MALLOC)
    std::cout << "[   NOTE   ] counting operator new only (malloc belongs to the sanitizer)\n";
#endif
    auto play = make(Stream::Playback, "null");
    auto cap = make(Stream::Capture, "null");
    ASSERT_TRUE(bring_up(*play, chosen(Format::S16_LE, 2, 48000)));
    ASSERT_TRUE(bring_up(*cap, chosen(Format::S16_LE, 2, 48000)));
    const auto out = pattern(kPeriod, 4);
    std::vector<std::byte> in(out.size());
    std::vector<int64_t> results;
    results.reserve(1024);

    std::optional<testutil::CountHere> counting;  // on for this thread while engaged
    testutil::reset_allocation_counts();
    counting.emplace();
    results.push_back(play->trigger(TriggerCmd::Start));
    results.push_back(cap->trigger(TriggerCmd::Start));
    for (int i = 0; i < 100; ++i) {
        results.push_back(play->write_rt(out.data(), kPeriod));
        results.push_back(cap->read_rt(in.data(), kPeriod));
        (void)play->position();
        (void)play->delay();
    }
    for (const int err : {-EAGAIN, -EPIPE, -ESTRPIPE}) {
        play->inject_error(err);
        cap->inject_error(err);
        results.push_back(play->write_rt(out.data(), kPeriod));
        results.push_back(cap->read_rt(in.data(), kPeriod));
        results.push_back(play->write_rt(out.data(), kPeriod));
        results.push_back(cap->read_rt(in.data(), kPeriod));
    }
    results.push_back(play->trigger(TriggerCmd::PausePush));
    results.push_back(play->trigger(TriggerCmd::PauseRelease));
    results.push_back(play->trigger(TriggerCmd::Suspend));
    results.push_back(play->trigger(TriggerCmd::Resume));
    play->inject_error(-ENODEV);
    results.push_back(play->write_rt(out.data(), kPeriod));
    results.push_back(play->write_rt(out.data(), kPeriod));
    results.push_back(play->trigger(TriggerCmd::Stop));
    results.push_back(cap->trigger(TriggerCmd::Stop));
    counting.reset();
    const uint64_t allocs = testutil::allocations();

    EXPECT_EQ(allocs, 0u);
    // And everything did what it should while being counted.
    size_t i = 0;
    EXPECT_EQ(results[i++], 0);
    EXPECT_EQ(results[i++], 0);
    for (int k = 0; k < 200; ++k) EXPECT_EQ(results[i++], kMoved) << k;
    for (int k = 0; k < 3; ++k) {
        EXPECT_EQ(results[i++], -EPIPE);
        EXPECT_EQ(results[i++], -EPIPE);
        EXPECT_EQ(results[i++], kMoved);
        EXPECT_EQ(results[i++], kMoved);
    }
    for (int k = 0; k < 4; ++k) EXPECT_EQ(results[i++], 0);
    EXPECT_EQ(results[i++], -ENODEV);
    EXPECT_EQ(results[i++], -ENODEV);
    EXPECT_EQ(results[i++], 0);
    EXPECT_EQ(results[i++], 0);
    EXPECT_EQ(play->xruns(), 3u);
    EXPECT_EQ(cap->xruns(), 3u);
}

// ---- real time: the backend's own thread -------------------------------------------------------

TEST(AlsaRealtimeBackend, APcmThatIsNotPlainHwIsWrittenByTheBackendsThread) {
    TempFile file;
    auto be = make_realtime(Stream::Playback, file.device());
    ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
    EXPECT_TRUE(be->threaded()) << "a file PCM may block in write(2)";
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    std::vector<std::byte> expected = silence_bytes(3 * kPeriod, Format::S16_LE, 2);
    for (int i = 0; i < 6; ++i) {
        const auto data = pattern(kPeriod, 4, static_cast<unsigned>(i + 1));
        ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
        append(expected, data);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a period's pace, roughly
    }
    ASSERT_EQ(be->trigger(TriggerCmd::Stop), 0);  // hands the device what the ring still holds
    be->close();
    EXPECT_TRUE(same_bytes(file.contents(), expected));
    EXPECT_EQ(be->lost_frames(), 0u);
}

TEST(AlsaRealtimeBackend, ADeviceXrunIsRecoveredByTheBackendsThreadAndThePeriodsMeanwhileAreCounted) {
    for (const auto io : {AlsaBackend::Io::Direct, AlsaBackend::Io::Thread}) {
        SCOPED_TRACE(io == AlsaBackend::Io::Direct ? "direct" : "thread");
        auto be = make_realtime(Stream::Playback, "null", io);
        ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
        EXPECT_EQ(be->threaded(), io == AlsaBackend::Io::Thread);
        ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
        const auto data = pattern(kPeriod, 4);
        ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
        be->inject_error(-EPIPE);
        EXPECT_EQ(be->write_rt(data.data(), kPeriod), -EPIPE);  // returns at once: no recovery here
        EXPECT_EQ(be->xruns(), 1u);
        EXPECT_GE(be->lost_frames(), Frames{kPeriod});
        // The backend's thread restarts the device; periods until then are lost, not played.
        const uint64_t lost_before = be->lost_frames();
        EXPECT_TRUE(eventually([&] {
            const uint64_t lost = be->lost_frames();
            return be->write_rt(data.data(), kPeriod) == kMoved && be->lost_frames() == lost;
        }));
        EXPECT_GE(be->lost_frames(), lost_before);
        EXPECT_FALSE(be->failed());
        ASSERT_EQ(be->trigger(TriggerCmd::Stop), 0);
        be->close();
    }
}

TEST(AlsaRealtimeBackend, AStopFromTheRealtimeThreadReturnsAtOnceAndIsDoneBeforeTheNextStart) {
    auto be = make_realtime(Stream::Playback, "null", AlsaBackend::Io::Direct);
    ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    const auto data = pattern(kPeriod, 4);
    ASSERT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    EXPECT_EQ(be->trigger_rt(TriggerCmd::Stop), 0);
    // No more transfers reach the device after the stop (they count as lost, not played).
    const Frames at = be->position();
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    EXPECT_EQ(be->position(), at);
    // A control START after it: the pending stop is done first, then the start.
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    EXPECT_EQ(be->write_rt(data.data(), kPeriod), kMoved);
    EXPECT_EQ(be->position(), at + kPeriod);
    ASSERT_EQ(be->trigger(TriggerCmd::Stop), 0);
    be->close();
}

TEST(AlsaRealtimeBackend, ThreadedCaptureDeliversPeriodsAfterOneOfSilence) {
    auto be = make_realtime(Stream::Capture, "null", AlsaBackend::Io::Thread);
    ASSERT_TRUE(bring_up(*be, chosen(Format::S16_LE, 2, 48000)));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    std::vector<std::byte> in(static_cast<size_t>(kPeriod) * 4);
    EXPECT_EQ(be->read_rt(in.data(), kPeriod), kMoved);  // the period of silence it starts with
    EXPECT_TRUE(eventually([&] { return be->read_rt(in.data(), kPeriod) == kMoved; }));
    ASSERT_EQ(be->trigger(TriggerCmd::Stop), 0);
    be->close();
}

TEST(AlsaOptions, IoIsAutoDirectOrThread) {
    auto ok_io = AlsaBackend::parse(BackendBinding{"alsa", {{"io", "thread"}}});
    ASSERT_TRUE(ok_io.ok());
    EXPECT_EQ(ok_io->io, AlsaBackend::Io::Thread);
    auto bad = AlsaBackend::parse(BackendBinding{"alsa", {{"io", "threads"}}});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message().find("option io: 'threads'"), std::string::npos) << bad.error().message();
}

TEST(AlsaRt, TheCounterSeesAllocations) {
    // The counting itself works: the test above would otherwise prove nothing.
    // (The pointers escape through an empty asm, so the compiler cannot drop the pairs.)
    std::optional<testutil::CountHere> counting;  // on for this thread while engaged
    testutil::reset_allocation_counts();
    counting.emplace();
    void* p = ::operator new(40);
    asm volatile("" : : "g"(p) : "memory");
    counting.reset();
    ::operator delete(p);
    EXPECT_GE(testutil::allocations(), 1u);
#if defined(DYNPCM_TEST_COUNTS_MALLOC)
    testutil::reset_allocation_counts();
    counting.emplace();
    void* m = std::malloc(32);
    asm volatile("" : : "g"(m) : "memory");
    counting.reset();
    std::free(m);
    EXPECT_EQ(testutil::allocations(), 1u);
    // ...including those inside alsa-lib: opening a PCM allocates there.
    auto be = make(Stream::Playback, "null");
    testutil::reset_allocation_counts();
    counting.emplace();
    const auto r = be->open();
    counting.reset();
    ASSERT_TRUE(is_ok(r));
    EXPECT_GT(testutil::allocations(), 0u);
    be->close();
#endif
}

}  // namespace
}  // namespace dynpcm

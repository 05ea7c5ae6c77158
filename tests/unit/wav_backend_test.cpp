// Tests for the wav backend: playback records bit-exact WAV files through the disk thread,
// capture plays WAV files (converted, looping or ending in silence), bad options and bad
// files fail with messages that name them, the realtime side never allocates or blocks, and
// a starved disk thread costs counted frames, never a wait.
//
// The test thread plays the realtime thread: it calls write_rt/read_rt one period at a time.
// It may wait for the disk thread between periods; the backend never does.
//
// This binary replaces the global operator new/delete to count the allocations a thread makes
// while it has counting switched on (thread-local, so the disk thread is not counted).

#include <gtest/gtest.h>
#include <sndfile.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dynpcm/backend/wav_backend.h"
#include "alloc_count.h"
#include "backend_params.h"
#include "result_assert.h"

namespace dynpcm {
namespace {

using namespace std::chrono_literals;
using testutil::is_error;
using testutil::is_ok;

constexpr uint32_t kRate = 48000;
constexpr uint32_t kChannels = 2;
constexpr uint32_t kPeriod = 480;

// ---- helpers ---------------------------------------------------------------------------------

HwParams params(Format f, uint32_t channels = kChannels, uint32_t rate = kRate, uint32_t period = kPeriod) {
    return testutil::chosen_params(f, channels, rate, period, std::nullopt);
}

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

// A deterministic pseudo-random sequence (xorshift32).
struct Rng {
    uint32_t s = 0x9e3779b9u;
    uint32_t next() {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        return s;
    }
};

struct WavFile {
    SF_INFO info{};
    std::vector<int32_t> ints;   // left-aligned, as sf_readf_int gives them
    std::vector<float> floats;   // for float files
};

// Reads a whole file with libsndfile.
WavFile read_wav(const std::string& path, bool as_float) {
    WavFile w;
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &w.info);
    EXPECT_NE(f, nullptr) << path << ": " << sf_strerror(nullptr);
    if (!f) return w;
    const auto samples = static_cast<size_t>(w.info.frames) * static_cast<size_t>(w.info.channels);
    sf_count_t got = 0;
    if (as_float) {
        w.floats.resize(samples);
        got = sf_readf_float(f, w.floats.data(), w.info.frames);
    } else {
        w.ints.resize(samples);
        got = sf_readf_int(f, w.ints.data(), w.info.frames);
    }
    EXPECT_EQ(got, w.info.frames);
    sf_close(f);
    return w;
}

// Writes a file with libsndfile: `ints` left-aligned (sf_writef_int) or `floats`.
void write_wav(const std::string& path, int format, int channels, int rate, const std::vector<int32_t>& ints,
               const std::vector<float>& floats = {}) {
    SF_INFO info{};
    info.channels = channels;
    info.samplerate = rate;
    info.format = format;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    ASSERT_NE(f, nullptr) << path << ": " << sf_strerror(nullptr);
    if (!floats.empty()) {
        const auto frames = static_cast<sf_count_t>(floats.size() / static_cast<size_t>(channels));
        ASSERT_EQ(sf_writef_float(f, floats.data(), frames), frames);
    } else {
        const auto frames = static_cast<sf_count_t>(ints.size() / static_cast<size_t>(channels));
        ASSERT_EQ(sf_writef_int(f, ints.data(), frames), frames);
    }
    ASSERT_EQ(sf_close(f), 0);
}

// A 16-bit ramp, left-aligned: frame i, channel c holds (3i + 1000c) mod 2^16, as signed.
int32_t ramp16(size_t frame, size_t channel) {
    const auto v = static_cast<uint16_t>(frame * 3 + channel * 1000);
    return static_cast<int32_t>(static_cast<uint32_t>(v) << 16);
}
std::vector<int32_t> ramp16_file(size_t frames, size_t channels) {
    std::vector<int32_t> v(frames * channels);
    for (size_t i = 0; i < frames; ++i)
        for (size_t c = 0; c < channels; ++c) v[i * channels + c] = ramp16(i, c);
    return v;
}
int16_t ramp16_sample(size_t frame, size_t channel) { return static_cast<int16_t>(ramp16(frame, channel) >> 16); }

BackendContext ctx(Stream dir, std::string name = "Headset codec") { return BackendContext{std::move(name), dir}; }

class WavBackendTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (std::filesystem::temp_directory_path() / "dynpcm-wav-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::string path(const char* name) const { return (dir_ / name).string(); }

    std::filesystem::path dir_;
};

// ---- 1. playback ------------------------------------------------------------------------------

// One sample of a BE format: the bytes the realtime side writes, and what libsndfile gives
// back (a left-aligned int, or the float's bits).
struct PlaybackCase {
    Format format;
    int subtype;
    bool is_float;
};

class WavPlayback : public WavBackendTest, public ::testing::WithParamInterface<PlaybackCase> {};

// Makes sample `i` in the BE format at `out`; returns what reading it back must give.
uint32_t make_sample(Format f, Rng& rng, std::byte* out) {
    const uint32_t r = rng.next();
    switch (f) {
        case Format::S16_LE: {
            const auto v = static_cast<uint16_t>(r);
            out[0] = static_cast<std::byte>(v);
            out[1] = static_cast<std::byte>(v >> 8);
            return static_cast<uint32_t>(v) << 16;
        }
        case Format::S24_LE: {
            // 24 bits low in the word; the top byte is junk the backend must ignore.
            const uint32_t v = r & 0xffffffu;
            for (unsigned k = 0; k < 3; ++k) out[k] = static_cast<std::byte>(v >> (8 * k));
            out[3] = static_cast<std::byte>(0xa5);
            return v << 8;
        }
        case Format::S24_3LE: {
            const uint32_t v = r & 0xffffffu;
            for (unsigned k = 0; k < 3; ++k) out[k] = static_cast<std::byte>(v >> (8 * k));
            return v << 8;
        }
        case Format::S32_LE:
            for (unsigned k = 0; k < 4; ++k) out[k] = static_cast<std::byte>(r >> (8 * k));
            return r;
        case Format::FLOAT_LE: {
            // Spread over [-1, 1), with small values too.
            const float x = (static_cast<float>(r >> 8) / 8388608.0f - 1.0f) / static_cast<float>(1u << (r & 7u));
            const auto bits = std::bit_cast<uint32_t>(x);
            for (unsigned k = 0; k < 4; ++k) out[k] = static_cast<std::byte>(bits >> (8 * k));
            return bits;
        }
        default: ADD_FAILURE() << "no pattern for " << format_info(f).name; return 0;
    }
}

TEST_P(WavPlayback, RecordsEverySampleExactly) {
    const PlaybackCase c = GetParam();
    const std::string file = path("out.wav");
    WavBackend be(ctx(Stream::Playback), {file, false});
    EXPECT_STREQ(be.type(), "wav");
    EXPECT_EQ(be.describe(), "WAV file '" + file + "' (record)");
    ASSERT_TRUE(is_ok(be.hw_params(params(c.format))));
    ASSERT_GE(be.ring_frames(), Frames{2} * kRate);
    ASSERT_TRUE(is_ok(be.prepare()));
    ASSERT_EQ(be.trigger(TriggerCmd::Start), 0);

    // 3 s: more than the ring holds, so the disk thread must keep up during the run.
    const size_t periods = 3 * kRate / kPeriod;
    const size_t bps = format_info(c.format).physical / 8;
    const size_t frame = bps * kChannels;
    std::vector<uint32_t> expect;
    expect.reserve(periods * kPeriod * kChannels);
    std::vector<std::byte> buf(kPeriod * frame);
    Rng rng;
    for (size_t p = 0; p < periods; ++p) {
        for (size_t s = 0; s < kPeriod * kChannels; ++s) expect.push_back(make_sample(c.format, rng, &buf[s * bps]));
        ASSERT_TRUE(wait_until([&] { return be.ring_frames() - be.buffered() >= kPeriod; })) << "disk thread stuck";
        ASSERT_EQ(be.write_rt(buf.data(), kPeriod), kPeriod);
    }
    EXPECT_EQ(be.position(), periods * kPeriod);
    ASSERT_EQ(be.trigger(TriggerCmd::Stop), 0);
    ASSERT_TRUE(is_ok(be.hw_free()));
    be.close();
    EXPECT_EQ(be.overruns(), 0u);
    EXPECT_EQ(be.overrun_frames(), 0u);
    EXPECT_EQ(be.xruns(), 0u);

    const WavFile w = read_wav(file, c.is_float);
    EXPECT_EQ(w.info.format & SF_FORMAT_TYPEMASK, SF_FORMAT_WAV);
    EXPECT_EQ(w.info.format & SF_FORMAT_SUBMASK, c.subtype);
    EXPECT_EQ(w.info.channels, static_cast<int>(kChannels));
    EXPECT_EQ(w.info.samplerate, static_cast<int>(kRate));
    ASSERT_EQ(w.info.frames, static_cast<sf_count_t>(periods * kPeriod));
    size_t bad = 0;
    for (size_t i = 0; i < expect.size(); ++i) {
        const uint32_t got =
            c.is_float ? std::bit_cast<uint32_t>(w.floats[i]) : static_cast<uint32_t>(w.ints[i]);
        if (got != expect[i] && ++bad <= 5)
            ADD_FAILURE() << "sample " << i << ": got 0x" << std::hex << got << ", want 0x" << expect[i];
    }
    EXPECT_EQ(bad, 0u);
}

INSTANTIATE_TEST_SUITE_P(Formats, WavPlayback,
                         ::testing::Values(PlaybackCase{Format::S16_LE, SF_FORMAT_PCM_16, false},
                                           PlaybackCase{Format::S24_LE, SF_FORMAT_PCM_24, false},
                                           PlaybackCase{Format::S24_3LE, SF_FORMAT_PCM_24, false},
                                           PlaybackCase{Format::S32_LE, SF_FORMAT_PCM_32, false},
                                           PlaybackCase{Format::FLOAT_LE, SF_FORMAT_FLOAT, true}),
                         [](const auto& tp) { return std::string(format_info(tp.param.format).name); });

TEST_F(WavBackendTest, PlaybackPrepareAgainTruncatesTheFile) {
    const std::string file = path("again.wav");
    WavBackend be(ctx(Stream::Playback), {file, false});
    ASSERT_TRUE(is_ok(be.hw_params(params(Format::S16_LE))));
    std::vector<int16_t> buf(kPeriod * kChannels, 1234);
    ASSERT_TRUE(is_ok(be.prepare()));
    ASSERT_EQ(be.trigger(TriggerCmd::Start), 0);
    for (int i = 0; i < 50; ++i) ASSERT_EQ(be.write_rt(buf.data(), kPeriod), kPeriod);
    ASSERT_EQ(be.trigger(TriggerCmd::Stop), 0);
    std::fill(buf.begin(), buf.end(), int16_t{-7});
    ASSERT_TRUE(is_ok(be.prepare()));  // finishes the first file, starts a new one
    EXPECT_EQ(be.position(), 0u);
    ASSERT_EQ(be.trigger(TriggerCmd::Start), 0);
    for (int i = 0; i < 10; ++i) ASSERT_EQ(be.write_rt(buf.data(), kPeriod), kPeriod);
    ASSERT_EQ(be.trigger(TriggerCmd::Stop), 0);
    ASSERT_TRUE(is_ok(be.hw_free()));
    const WavFile w = read_wav(file, false);
    ASSERT_EQ(w.info.frames, sf_count_t{10} * kPeriod);
    for (int32_t v : w.ints) ASSERT_EQ(v, -7 * 65536);
}

TEST_F(WavBackendTest, PlaybackThroughTheFactoryAndTheDestructor) {
    const std::string file = path("factory.wav");
    BackendBinding b{"wav", {{"file", file}}};
    auto made = make_backend(b, ctx(Stream::Playback));
    ASSERT_TRUE(is_ok(made));
    std::unique_ptr<Backend> be = std::move(*made);
    EXPECT_STREQ(be->type(), "wav");
    ASSERT_TRUE(is_ok(be->hw_params(params(Format::S16_LE, 1, 16000))));
    ASSERT_TRUE(is_ok(be->prepare()));
    ASSERT_EQ(be->trigger(TriggerCmd::Start), 0);
    std::vector<int16_t> buf(kPeriod, 99);
    for (int i = 0; i < 7; ++i) ASSERT_EQ(be->write_rt(buf.data(), kPeriod), kPeriod);
    be.reset();  // no hw_free: the destructor still drains and finishes the file
    const WavFile w = read_wav(file, false);
    EXPECT_EQ(w.info.channels, 1);
    EXPECT_EQ(w.info.samplerate, 16000);
    ASSERT_EQ(w.info.frames, sf_count_t{7} * kPeriod);
    for (int32_t v : w.ints) ASSERT_EQ(v, 99 * 65536);
}

// ---- 2. capture --------------------------------------------------------------------------------

// Reads `frames` frames in periods (waiting for the disk thread when it has fewer than a
// period buffered, unless the file is over) and returns them.
std::vector<int16_t> capture_s16(WavBackend& be, size_t frames, size_t file_frames_left = SIZE_MAX) {
    std::vector<int16_t> out(frames * kChannels);
    for (size_t done = 0; done < frames; done += kPeriod) {
        const size_t need = std::min<size_t>(kPeriod, file_frames_left > done ? file_frames_left - done : 0);
        EXPECT_TRUE(wait_until([&] { return be.buffered() >= need; })) << "disk thread late at frame " << done;
        const auto n = static_cast<Frames>(std::min<size_t>(kPeriod, frames - done));
        EXPECT_EQ(be.read_rt(&out[done * kChannels], n), static_cast<int64_t>(n));
    }
    return out;
}

TEST_F(WavBackendTest, CapturePlaysTheFileThenSilence) {
    const std::string file = path("ramp.wav");
    const size_t n = 30000;  // not a whole number of periods
    write_wav(file, SF_FORMAT_WAV | SF_FORMAT_PCM_16, kChannels, kRate, ramp16_file(n, kChannels));
    WavBackend be(ctx(Stream::Capture, "Mic"), {file, false});
    EXPECT_EQ(be.describe(), "WAV file '" + file + "' (play)");
    ASSERT_TRUE(is_ok(be.hw_params(params(Format::S16_LE))));
    ASSERT_TRUE(is_ok(be.prepare()));
    ASSERT_EQ(be.trigger(TriggerCmd::Start), 0);

    const size_t body = n / kPeriod * kPeriod;  // the whole periods
    std::vector<int16_t> got = capture_s16(be, body, n);
    EXPECT_FALSE(be.at_end());
    const std::vector<int16_t> tail = capture_s16(be, 3 * kPeriod, n - body);
    got.insert(got.end(), tail.begin(), tail.end());
    EXPECT_TRUE(be.at_end());
    EXPECT_EQ(be.underruns(), 0u);
    EXPECT_EQ(be.position(), body + 3 * kPeriod);
    size_t bad = 0;
    for (size_t i = 0; i < body + 3 * kPeriod; ++i)
        for (size_t c = 0; c < kChannels; ++c) {
            const int16_t want = i < n ? ramp16_sample(i, c) : int16_t{0};
            if (got[i * kChannels + c] != want && ++bad <= 5)
                ADD_FAILURE() << "frame " << i << " channel " << c << ": " << got[i * kChannels + c] << " != " << want;
        }
    EXPECT_EQ(bad, 0u);
    ASSERT_TRUE(is_ok(be.hw_free()));
}

TEST_F(WavBackendTest, CaptureEndsExactlyOnAPeriod) {
    const std::string file = path("exact.wav");
    write_wav(file, SF_FORMAT_WAV | SF_FORMAT_PCM_16, kChannels, kRate, ramp16_file(4 * kPeriod, kChannels));
    WavBackend be(ctx(Stream::Capture), {file, false});
    ASSERT_TRUE(is_ok(be.hw_params(params(Format::S16_LE))));
    ASSERT_TRUE(is_ok(be.prepare()));
    ASSERT_EQ(be.trigger(TriggerCmd::Start), 0);
    (void)capture_s16(be, 3 * kPeriod);
    EXPECT_FALSE(be.at_end());
    (void)capture_s16(be, kPeriod);
    EXPECT_TRUE(be.at_end());  // everything consumed, no silence read yet
    EXPECT_EQ(be.underruns(), 0u);
}

TEST_F(WavBackendTest, CaptureLoopWrapsSeamlessly) {
    const std::string file = path("loop.wav");
    const size_t n = 30011;  // odd on purpose: the wraps fall inside periods
    write_wav(file, SF_FORMAT_WAV | SF_FORMAT_PCM_16, kChannels, kRate, ramp16_file(n, kChannels));
    WavBackend be(ctx(Stream::Capture), {file, true});
    EXPECT_EQ(be.describe(), "WAV file '" + file + "' (play, loop)");
    ASSERT_TRUE(is_ok(be.hw_params(params(Format::S16_LE))));
    ASSERT_TRUE(is_ok(be.prepare()));
    ASSERT_EQ(be.trigger(TriggerCmd::Start), 0);
    // Six times around: beyond what prepare read ahead, so the disk thread loops too.
    const size_t total = (6 * n / kPeriod + 1) * kPeriod;
    const std::vector<int16_t> got = capture_s16(be, total);
    size_t bad = 0;
    for (size_t i = 0; i < total; ++i)
        for (size_t c = 0; c < kChannels; ++c)
            if (got[i * kChannels + c] != ramp16_sample(i % n, c) && ++bad <= 5)
                ADD_FAILURE() << "frame " << i << " (" << i % n << " in the file) channel " << c;
    EXPECT_EQ(bad, 0u);
    EXPECT_FALSE(be.at_end());
    EXPECT_EQ(be.underruns(), 0u);

    // prepare again starts from the top of the file.
    ASSERT_EQ(be.trigger(TriggerCmd::Stop), 0);
    ASSERT_TRUE(is_ok(be.prepare()));
    ASSERT_EQ(be.trigger(TriggerCmd::Start), 0);
    const std::vector<int16_t> again = capture_s16(be, kPeriod);
    for (size_t i = 0; i < kPeriod; ++i) ASSERT_EQ(again[i * kChannels], ramp16_sample(i, 0));
    ASSERT_TRUE(is_ok(be.hw_free()));
}

// The file's sample format may differ from the BE's: it is read converted.
TEST_F(WavBackendTest, CaptureConvertsTheFileFormat) {
    const size_t n = 2000;
    Rng rng;
    std::vector<int32_t> s24(n * kChannels);
    for (auto& v : s24) v = static_cast<int32_t>(rng.next() & 0xffffff00u);
    const std::vector<int32_t> s16 = ramp16_file(n, kChannels);
    std::vector<float> fl(n * kChannels);
    for (auto& v : fl) v = static_cast<float>(rng.next() >> 8) / 8388608.0f - 1.0f;
    write_wav(path("s24.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_24, kChannels, kRate, s24);
    write_wav(path("s16.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, kChannels, kRate, s16);
    write_wav(path("float.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, kChannels, kRate, {}, fl);

    // Captures the whole file in `f`.
    auto capture = [&](const char* name, Format f) {
        WavBackend be(ctx(Stream::Capture), {path(name), false});
        EXPECT_TRUE(is_ok(be.hw_params(params(f))));
        EXPECT_TRUE(is_ok(be.prepare()));
        EXPECT_EQ(be.trigger(TriggerCmd::Start), 0);
        std::vector<std::byte> out(n * frame_bytes(f, kChannels));
        EXPECT_EQ(be.read_rt(out.data(), n), static_cast<int64_t>(n));  // all read ahead by prepare
        EXPECT_EQ(be.underruns(), 0u);
        EXPECT_TRUE(be.at_end());
        return out;
    };
    auto le32 = [](const std::vector<std::byte>& b, size_t i) {
        uint32_t v = 0;
        for (unsigned k = 0; k < 4; ++k) v |= std::to_integer<uint32_t>(b[4 * i + k]) << (8 * k);
        return v;
    };

    const auto a = capture("s24.wav", Format::S32_LE);  // PCM_24 -> S32_LE: left-aligned
    for (size_t i = 0; i < n * kChannels; ++i) ASSERT_EQ(le32(a, i), static_cast<uint32_t>(s24[i])) << i;
    const auto b = capture("s24.wav", Format::S24_LE);  // -> 24 bits low, sign in the top byte
    for (size_t i = 0; i < n * kChannels; ++i) ASSERT_EQ(le32(b, i), static_cast<uint32_t>(s24[i] >> 8)) << i;
    const auto c = capture("s24.wav", Format::S24_3LE);  // -> packed, 3 bytes
    for (size_t i = 0; i < n * kChannels; ++i) {
        const uint32_t want = static_cast<uint32_t>(s24[i]) >> 8;
        uint32_t v = 0;
        for (unsigned k = 0; k < 3; ++k) v |= std::to_integer<uint32_t>(c[3 * i + k]) << (8 * k);
        ASSERT_EQ(v, want) << i;
    }
    const auto d = capture("s16.wav", Format::FLOAT_LE);  // PCM_16 -> float: x / 32768 exactly
    for (size_t i = 0; i < n * kChannels; ++i)
        ASSERT_EQ(std::bit_cast<float>(le32(d, i)), static_cast<float>(s16[i] >> 16) / 32768.0f) << i;
    const auto e = capture("float.wav", Format::FLOAT_LE);  // float -> float: bit-exact
    for (size_t i = 0; i < n * kChannels; ++i) ASSERT_EQ(le32(e, i), std::bit_cast<uint32_t>(fl[i])) << i;
    const auto u = capture("s16.wav", Format::U8);  // PCM_16 -> U8: the top byte, offset binary
    for (size_t i = 0; i < n * kChannels; ++i)
        ASSERT_EQ(std::to_integer<int>(u[i]), ((s16[i] >> 24) + 128)) << i;
    const auto g = capture("s16.wav", Format::S16_BE);  // -> big-endian
    for (size_t i = 0; i < n * kChannels; ++i) {
        const auto v = static_cast<uint16_t>(static_cast<uint32_t>(s16[i]) >> 16);
        ASSERT_EQ(std::to_integer<unsigned>(g[2 * i]), static_cast<unsigned>(v >> 8u)) << i;
        ASSERT_EQ(std::to_integer<unsigned>(g[2 * i + 1]), static_cast<unsigned>(v & 0xffu)) << i;
    }
}

// A disk thread that falls behind: silence, counted; the file resumes where it stopped.
TEST_F(WavBackendTest, CaptureUnderrunPlaysSilenceAndCountsIt) {
    const std::string file = path("long.wav");
    const size_t n = 3 * kRate;  // more than the ring
    write_wav(file, SF_FORMAT_WAV | SF_FORMAT_PCM_16, kChannels, kRate, ramp16_file(n, kChannels));
    WavBackend be(ctx(Stream::Capture), {file, false});
    ASSERT_TRUE(is_ok(be.hw_params(params(Format::S16_LE))));
    be.pause_disk_thread(true);  // before prepare: only prepare's read-ahead is in the ring
    ASSERT_TRUE(is_ok(be.prepare()));
    ASSERT_EQ(be.trigger(TriggerCmd::Start), 0);
    const Frames ahead = be.buffered();
    ASSERT_EQ(ahead, be.ring_frames());
    ASSERT_EQ(ahead % kPeriod, 0u);
    std::vector<int16_t> got = capture_s16(be, ahead);
    for (size_t i = 0; i < ahead; i += 997) ASSERT_EQ(got[i * kChannels + 1], ramp16_sample(i, 1)) << i;

    std::vector<int16_t> buf(kPeriod * kChannels, 555);
    ASSERT_EQ(be.read_rt(buf.data(), kPeriod), kPeriod);  // nothing there
    for (int16_t v : buf) ASSERT_EQ(v, 0);
    EXPECT_EQ(be.underruns(), 1u);
    EXPECT_EQ(be.underrun_frames(), kPeriod);
    EXPECT_EQ(be.xruns(), 1u);
    EXPECT_FALSE(be.at_end());

    be.pause_disk_thread(false);
    got = capture_s16(be, kPeriod);
    for (size_t i = 0; i < kPeriod; ++i) ASSERT_EQ(got[i * kChannels], ramp16_sample(ahead + i, 0)) << i;
    EXPECT_EQ(be.underruns(), 1u);
    EXPECT_EQ(be.position(), ahead + 2 * kPeriod);
    ASSERT_TRUE(is_ok(be.hw_free()));
}

// ---- 3. bad input ------------------------------------------------------------------------------

TEST_F(WavBackendTest, BadOptions) {
    EXPECT_TRUE(is_error(check_backend_binding({"wav", {}}), -EINVAL, {"wav", "file", "required"}));
    EXPECT_TRUE(is_error(check_backend_binding({"wav", {{"file", ""}}}), -EINVAL, {"file", "''", "empty"}));
    EXPECT_TRUE(is_error(check_backend_binding({"wav", {{"file", "x.wav"}, {"loop", "maybe"}}}), -EINVAL,
                         {"loop", "'maybe'"}));
    EXPECT_TRUE(is_error(check_backend_binding({"wav", {{"file", "x.wav"}, {"looop", "true"}}}), -EINVAL,
                         {"looop", "loop"}));
    EXPECT_TRUE(is_ok(check_backend_binding({"wav", {{"file", "x.wav"}, {"loop", "on"}}})));
    EXPECT_TRUE(is_error(make_backend({"wav", {{"loop", "yes"}}}, ctx(Stream::Capture, "Mic")), -EINVAL,
                         {"BE 'Mic'", "file"}));
    EXPECT_TRUE(is_error(WavBackend::parse({"wav", {{"file", "a.wav"}, {"loop", "2"}}}), -EINVAL, {"loop", "'2'"}));
    auto o = WavBackend::parse({"wav", {{"file", "a.wav"}, {"loop", "true"}}});
    ASSERT_TRUE(is_ok(o));
    EXPECT_EQ(o->file, "a.wav");
    EXPECT_TRUE(o->loop);
}

TEST_F(WavBackendTest, CaptureFileMissing) {
    const std::string file = path("nowhere.wav");
    WavBackend be(ctx(Stream::Capture, "Mic"), {file, false});
    ASSERT_TRUE(is_ok(be.hw_params(params(Format::S16_LE))));
    EXPECT_TRUE(is_error(be.prepare(), -ENOENT, {"BE 'Mic'", file, "No such file"}));
    std::vector<int16_t> buf(kPeriod * kChannels, 1);
    EXPECT_EQ(be.trigger(TriggerCmd::Start), 0);
    EXPECT_EQ(be.read_rt(buf.data(), kPeriod), -EBADFD);  // not prepared: silence
    for (int16_t v : buf) ASSERT_EQ(v, 0);
    EXPECT_TRUE(is_ok(be.hw_free()));
}

TEST_F(WavBackendTest, CaptureFileWithTheWrongChannelsOrRate) {
    const std::string mono = path("mono.wav");
    const std::string slow = path("44k.wav");
    write_wav(mono, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, kRate, ramp16_file(100, 1));
    write_wav(slow, SF_FORMAT_WAV | SF_FORMAT_PCM_16, kChannels, 44100, ramp16_file(100, kChannels));
    WavBackend a(ctx(Stream::Capture, "Mic"), {mono, false});
    ASSERT_TRUE(is_ok(a.hw_params(params(Format::S16_LE))));
    EXPECT_TRUE(is_error(a.prepare(), -EINVAL, {"BE 'Mic'", mono, "1 channel at 48000 Hz", "2 channels at 48000 Hz"}));
    WavBackend b(ctx(Stream::Capture, "Mic"), {slow, false});
    ASSERT_TRUE(is_ok(b.hw_params(params(Format::S16_LE))));
    EXPECT_TRUE(is_error(b.prepare(), -EINVAL, {slow, "2 channels at 44100 Hz", "2 channels at 48000 Hz"}));
    // A BE whose params match the file prepares fine afterwards.
    ASSERT_TRUE(is_ok(b.hw_params(params(Format::S16_LE, kChannels, 44100))));
    EXPECT_TRUE(is_ok(b.prepare()));
}

TEST_F(WavBackendTest, CaptureFileThatIsNotAWav) {
    const std::string junk = path("junk.wav");
    {
        std::ofstream f(junk, std::ios::binary);
        for (int i = 0; i < 200; ++i) f << "this is not a wav file ";
    }
    WavBackend a(ctx(Stream::Capture, "Mic"), {junk, false});
    ASSERT_TRUE(is_ok(a.hw_params(params(Format::S16_LE))));
    EXPECT_TRUE(is_error(a.prepare(), -EINVAL, {"BE 'Mic'", junk}));

    const std::string empty = path("empty.wav");
    { std::ofstream f(empty, std::ios::binary); }
    WavBackend b(ctx(Stream::Capture, "Mic"), {empty, false});
    ASSERT_TRUE(is_ok(b.hw_params(params(Format::S16_LE))));
    EXPECT_TRUE(is_error(b.prepare(), -EINVAL, {empty}));

    // A sound file libsndfile reads, but not a WAV.
    const std::string aiff = path("sound.aiff");
    write_wav(aiff, SF_FORMAT_AIFF | SF_FORMAT_PCM_16, kChannels, kRate, ramp16_file(100, kChannels));
    WavBackend c(ctx(Stream::Capture, "Mic"), {aiff, false});
    ASSERT_TRUE(is_ok(c.hw_params(params(Format::S16_LE))));
    EXPECT_TRUE(is_error(c.prepare(), -EINVAL, {aiff, "AIFF", "not a WAV"}));

    // A directory.
    WavBackend d(ctx(Stream::Capture, "Mic"), {dir_.string(), false});
    ASSERT_TRUE(is_ok(d.hw_params(params(Format::S16_LE))));
    const auto r = d.prepare();
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
        EXPECT_NE(r.error().message().find(dir_.string()), std::string::npos) << r.error().message();
    }
}

TEST_F(WavBackendTest, PlaybackPathUnwritable) {
    const std::string file = path("no/such/dir/out.wav");
    WavBackend be(ctx(Stream::Playback), {file, false});
    ASSERT_TRUE(is_ok(be.hw_params(params(Format::S16_LE))));
    EXPECT_TRUE(is_error(be.prepare(), -ENOENT, {"BE 'Headset codec'", "cannot create WAV file", file}));
    std::vector<int16_t> buf(kPeriod * kChannels, 1);
    EXPECT_EQ(be.trigger(TriggerCmd::Start), 0);
    EXPECT_EQ(be.write_rt(buf.data(), kPeriod), -EBADFD);
    EXPECT_TRUE(is_ok(be.hw_free()));
}

TEST_F(WavBackendTest, PlaybackFormatAWavCannotHold) {
    WavBackend be(ctx(Stream::Playback), {path("u8.wav"), false});
    EXPECT_TRUE(is_error(be.hw_params(params(Format::U8)), -EINVAL, {"BE 'Headset codec'", "U8", "u8.wav"}));
    EXPECT_TRUE(is_error(be.hw_params(params(Format::S16_BE)), -EINVAL, {"S16_BE"}));
    EXPECT_TRUE(is_error(be.prepare(), -EBADFD, {"hw_params"}));
}

// A disk that is full when the file is created: prepare fails naming the file.
TEST_F(WavBackendTest, PlaybackDiskFullAtCreation) {
    if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
    WavBackend be(ctx(Stream::Playback), {"/dev/full", false});
    ASSERT_TRUE(is_ok(be.hw_params(params(Format::S16_LE))));
    EXPECT_TRUE(is_error(be.prepare(), -EIO, {"BE 'Headset codec'", "cannot create WAV file", "/dev/full"}));
    EXPECT_TRUE(is_ok(be.hw_free()));
}

// A write that fails on the disk thread (the file grows past RLIMIT_FSIZE: EFBIG): the
// realtime side sees -ENODEV, hw_free reports the failure naming the file, nothing hangs, and
// the next prepare starts over.
TEST_F(WavBackendTest, PlaybackWriteFailsOnTheDiskThread) {
    const std::string file = path("big.wav");
    WavBackend be(ctx(Stream::Playback), {file, false});
    ASSERT_TRUE(is_ok(be.hw_params(params(Format::S16_LE))));
    ASSERT_TRUE(is_ok(be.prepare()));
    ASSERT_EQ(be.trigger(TriggerCmd::Start), 0);

    rlimit old{};
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old;
    small.rlim_cur = 64 * 1024;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
    std::vector<int16_t> buf(kPeriod * kChannels, 3);
    int64_t rc = 0;
    const bool showed = wait_until([&] {
        rc = be.write_rt(buf.data(), kPeriod);
        return rc < 0;
    });
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    std::signal(SIGXFSZ, old_handler);
    ASSERT_TRUE(showed) << "the failed write never showed";
    EXPECT_EQ(rc, -ENODEV);
    EXPECT_TRUE(is_error(be.hw_free(), -EIO, {"BE 'Headset codec'", "cannot write WAV file", file}));

    ASSERT_TRUE(is_ok(be.hw_params(params(Format::S16_LE))));
    ASSERT_TRUE(is_ok(be.prepare()));
    ASSERT_EQ(be.trigger(TriggerCmd::Start), 0);
    EXPECT_EQ(be.write_rt(buf.data(), kPeriod), kPeriod);
    ASSERT_TRUE(is_ok(be.hw_free()));
    EXPECT_EQ(read_wav(file, false).info.frames, sf_count_t{kPeriod});
}

// ---- 4. the realtime methods do not allocate --------------------------------------------------

TEST_F(WavBackendTest, RealtimeMethodsDoNotAllocate) {
    write_wav(path("in.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_24, kChannels, kRate, ramp16_file(kRate / 2, kChannels));
    WavBackend play(ctx(Stream::Playback), {path("out.wav"), false});
    WavBackend cap(ctx(Stream::Capture), {path("in.wav"), false});
    ASSERT_TRUE(is_ok(play.hw_params(params(Format::S24_LE))));
    ASSERT_TRUE(is_ok(cap.hw_params(params(Format::S24_LE))));
    ASSERT_TRUE(is_ok(play.prepare()));
    ASSERT_TRUE(is_ok(cap.prepare()));
    ASSERT_EQ(play.trigger(TriggerCmd::Start), 0);
    ASSERT_EQ(cap.trigger(TriggerCmd::Start), 0);
    std::vector<int32_t> buf(kPeriod * kChannels, 0);
    std::optional<testutil::CountHere> counting;  // on for this thread while engaged
    testutil::reset_allocation_counts();
    int64_t sum = 0;
    counting.emplace();
    for (int i = 0; i < 100; ++i) {  // 1 s: past the end of the capture file too
        sum += cap.read_rt(buf.data(), kPeriod);
        sum += play.write_rt(buf.data(), kPeriod);
        (void)play.position();
        (void)cap.at_end();
        (void)play.trigger(TriggerCmd::PausePush);
        (void)play.trigger(TriggerCmd::PauseRelease);
    }
    counting.reset();
    EXPECT_EQ(testutil::allocations() + testutil::frees(), 0u);  // a free counts too
    EXPECT_EQ(sum, int64_t{200} * kPeriod);
    EXPECT_TRUE(cap.at_end());
    ASSERT_TRUE(is_ok(play.hw_free()));
    ASSERT_TRUE(is_ok(cap.hw_free()));
    EXPECT_EQ(read_wav(path("out.wav"), false).info.frames, sf_count_t{100} * kPeriod);
}

// ---- 5. overrun ----------------------------------------------------------------------------------

TEST_F(WavBackendTest, StarvedDiskThreadDropsAndCountsNeverBlocks) {
    const std::string file = path("overrun.wav");
    WavBackend be(ctx(Stream::Playback), {file, false});
    ASSERT_TRUE(is_ok(be.hw_params(params(Format::S16_LE))));
    be.pause_disk_thread(true);
    ASSERT_TRUE(is_ok(be.prepare()));
    ASSERT_EQ(be.trigger(TriggerCmd::Start), 0);
    const Frames ring = be.ring_frames();
    ASSERT_EQ(ring % kPeriod, 0u);
    const size_t periods = ring / kPeriod + 10;
    std::vector<int16_t> buf(kPeriod * kChannels);
    auto slowest = std::chrono::nanoseconds::zero();
    for (size_t p = 0; p < periods; ++p) {
        for (size_t s = 0; s < buf.size(); ++s) buf[s] = static_cast<int16_t>(p * 7 + s);
        const auto t0 = std::chrono::steady_clock::now();
        ASSERT_EQ(be.write_rt(buf.data(), kPeriod), kPeriod);
        slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
    }
    // The disk thread is paused, so a write_rt that waited for room would never return; the
    // bound only catches one that sleeps and gives up (generous: the machine may be loaded).
    EXPECT_LT(slowest, 500ms) << "write_rt waited";
    EXPECT_EQ(be.overruns(), 10u);
    EXPECT_EQ(be.overrun_frames(), 10u * kPeriod);
    EXPECT_EQ(be.xruns(), 10u);
    EXPECT_EQ(be.position(), periods * kPeriod);
    ASSERT_EQ(be.trigger(TriggerCmd::Stop), 0);
    // Still paused: hw_free drains what the ring holds anyway.
    ASSERT_TRUE(is_ok(be.hw_free()));
    const WavFile w = read_wav(file, false);
    ASSERT_EQ(w.info.frames, static_cast<sf_count_t>(ring));
    for (size_t p = 0; p < ring / kPeriod; p += 13)
        for (size_t s = 0; s < kPeriod * kChannels; ++s)
            ASSERT_EQ(w.ints[p * kPeriod * kChannels + s] >> 16, static_cast<int16_t>(p * 7 + s)) << p << " " << s;
}

}  // namespace
}  // namespace dynpcm

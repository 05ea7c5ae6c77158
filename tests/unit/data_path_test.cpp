// The data path end to end: FE rings -> ports -> BE mix -> backend, and back for capture, on a
// virtual clock. Sample-exact where the path is exact, measured (FFT, steps) where it is not.

#include <gtest/gtest.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <numbers>
#include <vector>

#include "dpcm_fixture.h"
#include "dynpcm/backend/sim_backend.h"
#include "dynpcm/dsp/convert.h"

namespace dynpcm::dpcmtest {
namespace {

// Two playback FEs and two capture FEs. Spk and Hp are sim codecs that keep what they get;
// Mic plays a 1 kHz sine at -6 dBFS. Music's way to the speaker has a volume (0..100 = -100..0
// dB); Alert's is a plain switch.
constexpr const char* kCard = R"(card: DataPath
fe_links:
  - {name: Music, playback: {stream: Music Playback, formats: [S16_LE, S24_LE, FLOAT_LE], rates: [44100, 48000], channels: {min: 1, max: 2}}}
  - {name: Alert, playback: {stream: Alert Playback, formats: [S16_LE], rates: [48000], channels: 2}}
  - {name: Rec A, capture: {stream: RecA Capture, formats: [S16_LE], rates: [16000, 48000], channels: {min: 1, max: 2}}}
  - {name: Rec B, capture: {stream: RecB Capture, formats: [S16_LE], rates: [48000], channels: 2}}
be_links:
  - {name: Spk, playback: {stream: Spk Playback}, backend: {type: sim, monitor: 30}, fixup: {rate: 48000, channels: 2, format: S16_LE}}
  - {name: Hp, playback: {stream: Hp Playback}, backend: {type: sim, monitor: 30}, fixup: {rate: 48000, channels: 2, format: S16_LE}}
  - {name: Mono, playback: {stream: Mono Playback}, backend: {type: sim, monitor: 30}, fixup: {rate: 48000, channels: 1, format: S16_LE}}
  - {name: Mic, capture: {stream: Mic Capture}, backend: {type: sim, signal: sine, frequency: 1000, level: -6}, fixup: {rate: 48000, channels: 2, format: S16_LE}}
widgets:
  - name: Spk Mixer
    type: mixer
    controls:
      - {name: Music, type: int, min: 0, max: 100, value: 100, db: {min: -100, step: 1, mute: true}}
      - {name: Alert}
  - {name: Hp Mixer, type: mixer, controls: [{name: Music}, {name: Alert}]}
  - {name: Mono Mixer, type: mixer, controls: [{name: Music}]}
  - {name: RecA Mixer, type: mixer, controls: [{name: Mic, value: on}]}
  - {name: RecB Mixer, type: mixer, controls: [{name: Mic, value: on}]}
  - {name: Speaker, type: spk}
  - {name: Headphone, type: hp}
  - {name: Earpiece, type: spk}
  - {name: Mic In, type: mic}
routes:
  - [Spk Mixer, Music, Music Playback]
  - [Spk Mixer, Alert, Alert Playback]
  - [Hp Mixer, Music, Music Playback]
  - [Hp Mixer, Alert, Alert Playback]
  - [Mono Mixer, Music, Music Playback]
  - [Spk Playback, ~, Spk Mixer]
  - [Hp Playback, ~, Hp Mixer]
  - [Mono Playback, ~, Mono Mixer]
  - [Speaker, ~, Spk Playback]
  - [Headphone, ~, Hp Playback]
  - [Earpiece, ~, Mono Playback]
  - [Mic Capture, ~, Mic In]
  - [RecA Mixer, Mic, Mic Capture]
  - [RecB Mixer, Mic, Mic Capture]
  - [RecA Capture, ~, RecA Mixer]
  - [RecB Capture, ~, RecB Mixer]
)";

constexpr auto kStep = std::chrono::milliseconds(5);

class DataPath : public ::testing::Test {
protected:
    explicit DataPath(std::optional<std::chrono::microseconds> fade = {}) : rig(kCard, fade) {}

    SimBackend& sim(std::string_view be, Stream dir = Stream::Playback) {
        auto* b = dynamic_cast<SimBackend*>(rig.dpcm->backend(be, dir));
        EXPECT_NE(b, nullptr) << be;
        return *b;
    }

    /// The samples a sim BE received (S16, interleaved), as floats.
    std::vector<float> received(std::string_view be) {
        std::vector<std::byte> raw;
        sim(be).take_monitor(raw);
        std::vector<float> out(raw.size() / 2);
        dsp::to_float(Format::S16_LE, raw.data(), out.data(), out.size());
        return out;
    }

    /// Opens and configures an FE that starts explicitly.
    PcmRuntime* open(std::string_view fe, dpcmtest::Setup s, Stream dir = Stream::Playback) {
        PcmRuntime* p = rig.open(fe, dir);
        if (p) {
            EXPECT_TRUE(is_ok(DpcmRig::configure(*p, s)));
        }
        return p;
    }

    /// Plays `frames` frames that `gen(frame, channel)` gives (full scale 1.0), keeping the
    /// ring topped up while virtual time advances. Returns false if the stream stopped.
    template <class Gen>
    bool play(PcmRuntime& pcm, Frames frames, Gen gen, Frames offset = 0) {
        const unsigned ch = pcm.params().channels();
        const Format f = pcm.params().format();
        std::vector<float> block;
        std::vector<std::byte> raw;
        Frames done = 0;
        while (done < frames) {
            const Frames n = std::min(pcm.avail_update(), frames - done);
            if (n > 0) {
                block.resize(static_cast<size_t>(n) * ch);
                for (Frames i = 0; i < n; ++i)
                    for (unsigned c = 0; c < ch; ++c) block[static_cast<size_t>(i) * ch + c] = gen(offset + done + i, c);
                raw.resize(static_cast<size_t>(n) * frame_bytes(f, ch));
                dsp::from_float(f, block.data(), raw.data(), block.size());
                auto w = pcm.writei(raw.data(), n);
                if (!w) return false;
                done += *w;
            }
            if (pcm.state() == PcmState::Prepared) {
                EXPECT_TRUE(is_ok(pcm.start()));
            }
            if (!rig.advance(kStep)) return false;
            if (pcm.state() != PcmState::Running) return false;
        }
        return true;
    }

public:
    // For the free helpers below.
    template <class Gen>
    bool play_for_test(PcmRuntime& pcm, Frames frames, Gen gen, Frames offset) {
        return play(pcm, frames, gen, offset);
    }
    std::vector<float> received_for_test(std::string_view be) { return received(be); }

protected:
    DpcmRig rig;
};

/// Peak frequency (Hz, interpolated) and peak amplitude (full scale 1.0) of one channel of an
/// interleaved signal, over a power-of-two window starting at `from` (Hann window).
struct Peak {
    double hz = 0;
    double amplitude = 0;
};
Peak spectrum_peak(const std::vector<float>& x, unsigned channels, size_t from, size_t n, double rate) {
    std::vector<std::complex<double>> a(n);
    for (size_t i = 0; i < n; ++i) {
        const double w = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(n));
        a[i] = static_cast<double>(x[(from + i) * channels]) * w;
    }
    // Iterative radix-2 FFT.
    for (size_t i = 1, j = 0; i < n; ++i) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(a[i], a[j]);
    }
    for (size_t len = 2; len <= n; len <<= 1) {
        const auto w = std::polar(1.0, -2 * std::numbers::pi / static_cast<double>(len));
        for (size_t i = 0; i < n; i += len) {
            std::complex<double> wk = 1;
            for (size_t k = 0; k < len / 2; ++k, wk *= w) {
                const auto u = a[i + k], v = a[i + k + len / 2] * wk;
                a[i + k] = u + v;
                a[i + k + len / 2] = u - v;
            }
        }
    }
    size_t best = 1;
    for (size_t k = 1; k < n / 2; ++k)
        if (std::abs(a[k]) > std::abs(a[best])) best = k;
    // Parabolic interpolation on log magnitudes, then the Hann window's coherent gain (0.5).
    const double l = std::log(std::abs(a[best - 1])), c = std::log(std::abs(a[best])), r = std::log(std::abs(a[best + 1]));
    const double d = 0.5 * (l - r) / (l - 2 * c + r);
    Peak p;
    p.hz = (static_cast<double>(best) + d) * rate / static_cast<double>(n);
    p.amplitude = std::exp(c - 0.25 * (l - r) * d) * 2.0 / (0.5 * static_cast<double>(n));
    return p;
}

/// The largest |x[i] - x[i-1]| on the first channel, from frame `from` on.
float max_step(const std::vector<float>& x, unsigned channels, size_t from = 1) {
    float m = 0;
    for (size_t i = std::max<size_t>(from, 1) * channels; i < x.size(); i += channels)
        m = std::max(m, std::fabs(x[i] - x[i - channels]));
    return m;
}

/// Index (in frames) of the first frame whose first sample is not 0.
size_t first_sound(const std::vector<float>& x, unsigned channels) {
    for (size_t i = 0; i < x.size(); i += channels)
        if (x[i] != 0.0f) return i / channels;
    return x.size() / channels;
}

// ---- bit-exact paths ----------------------------------------------------------------------------

TEST_F(DataPath, AUnityRouteDeliversEverySampleExactlyOnceInOrder) {
    DPCM_ASSERT_OK(rig.put("Hp Mixer Music", "on"));
    DPCM_ASSERT_OK(rig.put("Spk Mixer Music", "0"));  // 0 is "off" for a mixer input volume
    PcmRuntime* m = open("Music", {});
    ASSERT_NE(m, nullptr);
    constexpr Frames kFrames = 48000;
    // Never 0, distinct per channel: a dropped, repeated or swapped sample cannot hide.
    auto gen = [](Frames i, unsigned c) { return static_cast<float>(static_cast<int>(i % 30000) + 1 + 500 * static_cast<int>(c)) / 32768.0f; };
    // Then three more periods: the last frames leave the ring and the port FIFO before the
    // stream runs dry.
    ASSERT_TRUE(play(*m, kFrames + 4096, gen));
    DPCM_ASSERT_OK(rig.advance_periods(3));
    const std::vector<float> hp = received("Hp");
    const size_t start = first_sound(hp, 2);
    ASSERT_GE(hp.size() / 2, start + kFrames);
    for (Frames i = 0; i < kFrames; ++i)
        for (unsigned c = 0; c < 2; ++c)
            ASSERT_EQ(hp[(start + i) * 2 + c], gen(i, c)) << "frame " << i << " channel " << c;
    // The speaker, not routed, got nothing.
    EXPECT_TRUE(received("Spk").empty());
}

TEST_F(DataPath, TwoFrontendsOnOneBackendSumExactlyAndSaturateInsteadOfWrapping) {
    DPCM_ASSERT_OK(rig.put("Spk Mixer Alert", "on"));
    PcmRuntime* m = open("Music", {});
    PcmRuntime* a = open("Alert", {});
    ASSERT_TRUE(m && a);
    for (PcmRuntime* p : {m, a}) {  // play out and then silence, never an xrun
        SwParams sw = p->sw_params_current();
        sw.stop_threshold = p->boundary();
        DPCM_ASSERT_OK(p->sw_params(sw));
    }
    // 2048 frames of 10000 + 20000, then 1024 of 10000 + 30000, which clips at 32767.
    std::vector<int16_t> mv(2 * 3072, 10000), av(2 * 3072, 20000);
    std::fill(av.begin() + 2 * 2048, av.end(), int16_t{30000});
    DPCM_ASSERT_OK(m->writei(mv.data(), 3072));
    DPCM_ASSERT_OK(a->writei(av.data(), 3072));
    DPCM_ASSERT_OK(m->start());  // both start before the next BE tick: their frames line up
    DPCM_ASSERT_OK(a->start());
    DPCM_ASSERT_OK(rig.advance_periods(8));
    std::vector<std::byte> raw;
    sim("Spk").take_monitor(raw);
    std::vector<int16_t> got(raw.size() / 2);
    std::memcpy(got.data(), raw.data(), raw.size());
    size_t sum30k = 0, clipped = 0, other = 0;
    for (int16_t v : got) {
        if (v == 30000) ++sum30k;
        else if (v == 32767) ++clipped;
        else if (v != 0) ++other;
    }
    EXPECT_EQ(sum30k, 2u * 2048);
    EXPECT_EQ(clipped, 2u * 1024);
    EXPECT_EQ(other, 0u) << "every mixed sample is an exact sum, clipped only at full scale";
}

// ---- gain -----------------------------------------------------------------------------------------

TEST_F(DataPath, TheRoutingMixersVolumeSetsTheLinksGainAndRampsToIt) {
    PcmRuntime* m = open("Music", {});
    ASSERT_NE(m, nullptr);
    ASSERT_TRUE(play(*m, 9600, [](Frames, unsigned) { return 0.5f; }));
    DPCM_ASSERT_OK(rig.put("Spk Mixer Music", "94"));  // -6 dB
    ASSERT_TRUE(play(*m, 9600, [](Frames, unsigned) { return 0.5f; }));
    const std::vector<float> spk = received("Spk");
    // Before: 0.5 exactly. After the 5 ms ramp: 0.5 * 10^(-6/20) = 0.2506, within one LSB.
    const size_t start = first_sound(spk, 2);
    EXPECT_EQ(spk[(start + 100) * 2], 0.5f);
    const float after = spk[spk.size() - 2 * 1500];
    EXPECT_NEAR(after, 0.5f * std::pow(10.0f, -6.0f / 20.0f), 1.0f / 32768);
    // The change was a ramp, not a jump.
    EXPECT_LT(max_step(spk, 2, start + 1), 0.01f);
}

// ---- rate conversion ---------------------------------------------------------------------------

TEST_F(DataPath, ASineThroughA44100FrontendIntoA48000BackendKeepsItsFrequencyAndLevel) {
    PcmRuntime* m = open("Music", {.rate = 44100, .period_size = 940});
    ASSERT_NE(m, nullptr);
    const double amp = 0.5;  // -6 dBFS
    for (double hz : {1000.0, 9000.0}) {
        (void)received("Spk");
        auto sine = [&](Frames i, unsigned) { return static_cast<float>(amp * std::sin(2 * std::numbers::pi * hz * static_cast<double>(i) / 44100.0)); };
        ASSERT_TRUE(play(*m, 44100 * 2, sine));
        const std::vector<float> spk = received("Spk");
        ASSERT_GE(spk.size() / 2, 65536u + 9600u);
        const Peak p = spectrum_peak(spk, 2, 9600, 65536, 48000.0);
        EXPECT_NEAR(p.hz, hz, 1.0) << "FFT peak at " << p.hz << " Hz";
        EXPECT_NEAR(20 * std::log10(p.amplitude), 20 * std::log10(amp), 0.2) << "level";
    }
    EXPECT_EQ(m->state(), PcmState::Running);
    // The FE was paced by the 48 kHz BE: 44100 frames a second, no more, no less.
    EXPECT_EQ(m->status().xruns, 0u);
}

TEST_F(DataPath, CaptureFansOneBackendOutToTwoFrontendsAtTheirOwnRates) {
    PcmRuntime* a = open("Rec A", {.rate = 16000, .period_size = 320}, Stream::Capture);
    PcmRuntime* b = open("Rec B", {}, Stream::Capture);
    ASSERT_TRUE(a && b);
    DPCM_ASSERT_OK(a->start());
    DPCM_ASSERT_OK(b->start());
    std::vector<int16_t> ra, rb;
    for (int step = 0; step < 400; ++step) {  // 2 s
        DPCM_ASSERT_OK(rig.advance(kStep));
        for (auto [pcm, out] : {std::pair{a, &ra}, std::pair{b, &rb}}) {
            const Frames n = pcm->avail_update();
            const size_t at = out->size();
            out->resize(at + n * 2);
            auto r = pcm->readi(out->data() + at, n);
            ASSERT_TRUE(r.ok() || n == 0);
        }
    }
    EXPECT_EQ(a->state(), PcmState::Running);
    EXPECT_EQ(b->state(), PcmState::Running);
    EXPECT_NEAR(static_cast<double>(ra.size()) / 2, 32000, 1024) << "Rec A runs at 16 kHz";
    EXPECT_NEAR(static_cast<double>(rb.size()) / 2, 96000, 2048) << "Rec B runs at 48 kHz";
    for (auto [rate, v] : {std::pair{16000.0, &ra}, std::pair{48000.0, &rb}}) {
        std::vector<float> f(v->size());
        dsp::to_float(Format::S16_LE, v->data(), f.data(), f.size());
        const Peak p = spectrum_peak(f, 2, f.size() / 2 - 16384, 16384, rate);
        EXPECT_NEAR(p.hz, 1000.0, 1.0) << "at " << rate;
        EXPECT_NEAR(20 * std::log10(p.amplitude), -6.0, 0.3) << "at " << rate;
    }
}

// ---- channel maps -------------------------------------------------------------------------------

TEST_F(DataPath, MonoFrontendsFillBothChannelsAndStereoIsAveragedIntoAMonoBackend) {
    DPCM_ASSERT_OK(rig.put("Mono Mixer Music", "on"));
    PcmRuntime* m = open("Music", {.channels = 1});
    ASSERT_NE(m, nullptr);
    ASSERT_TRUE(play(*m, 9600, [](Frames, unsigned) { return 0.25f; }));
    const auto spk = received("Spk");
    const size_t s = first_sound(spk, 2);
    ASSERT_LT(s + 10, spk.size() / 2);
    EXPECT_EQ(spk[(s + 10) * 2], 0.25f);
    EXPECT_EQ(spk[(s + 10) * 2 + 1], 0.25f);
    DPCM_ASSERT_OK(rig.dpcm->close("Music", Stream::Playback));

    m = open("Music", {.channels = 2});
    ASSERT_NE(m, nullptr);
    (void)received("Mono");
    ASSERT_TRUE(play(*m, 9600, [](Frames, unsigned c) { return c == 0 ? 0.5f : 0.25f; }));
    std::vector<std::byte> raw;
    sim("Mono").take_monitor(raw);
    std::vector<float> mono(raw.size() / 2);
    dsp::to_float(Format::S16_LE, raw.data(), mono.data(), mono.size());
    const size_t ms = first_sound(mono, 1);
    ASSERT_LT(ms + 10, mono.size());
    EXPECT_EQ(mono[ms + 10], 0.375f);
}

// ---- clocking -----------------------------------------------------------------------------------

TEST_F(DataPath, AHostlessFrontendAdvancesWithItsBackendsClock) {
    PcmRuntime* m = open("Music", {.rate = 44100, .period_size = 441});
    ASSERT_NE(m, nullptr);
    SwParams sw = m->sw_params_current();
    sw.stop_threshold = m->boundary();  // never writes, never xruns: a hostless FE
    DPCM_ASSERT_OK(m->sw_params(sw));
    DPCM_ASSERT_OK(m->start());
    DPCM_ASSERT_OK(rig.advance(std::chrono::seconds(1)));
    // The BE (48 kHz, a period of 441 frames as the FE asked) ticked 108 times in the second;
    // the FE moved 441/480 of that, and its pointer stands at the last whole FE period.
    const Frames be_ticked = sim("Spk").position();
    EXPECT_EQ(be_ticked, 48000u / 441 * 441);
    EXPECT_EQ(m->hw_ptr(), be_ticked * 44100 / 48000 / 441 * 441);
    EXPECT_EQ(m->state(), PcmState::Running);
}

TEST_F(DataPath, ABackendNoFrontendUsesIsStoppedAndClosed) {
    PcmRuntime* m = open("Music", {});
    ASSERT_NE(m, nullptr);
    ASSERT_TRUE(play(*m, 4800, [](Frames, unsigned) { return 0.1f; }));
    EXPECT_GT(sim("Spk").position(), 0u);
    DPCM_ASSERT_OK(rig.put("Hp Mixer Music", "on"));
    DPCM_ASSERT_OK(rig.put("Spk Mixer Music", "0"));  // routed away: it fades out, then leaves
    DPCM_ASSERT_OK(rig.advance(std::chrono::milliseconds(30)));
    EXPECT_EQ(rig.idle_status("Spk"), "CLOSE users 0 be_start 0 be_pause 0");
    DPCM_EXPECT_INVARIANTS(rig);
    const Frames before = sim("Spk").position();
    DPCM_ASSERT_OK(rig.advance(std::chrono::milliseconds(100)));
    EXPECT_EQ(sim("Spk").position(), before) << "its clock stopped with it";
    EXPECT_GT(sim("Hp").position(), 0u) << "the FE moved on to the headphone";
}

// ---- route changes ------------------------------------------------------------------------------

// A cosine's steepest step between samples: 0.5 x 2 pi x 1000 / 48000 = 0.0654. A reroute may
// add no more than 5% to it (the fade's own slope adds 0.5 / 240 = 0.002).
constexpr float kCosineStep = 0.5f * 2.0f * std::numbers::pi_v<float> * 1000.0f / 48000.0f;
constexpr float kMaxStep = kCosineStep * 1.05f;

struct Reroute {
    std::vector<float> spk, hp;
};

/// Plays a 1 kHz cosine at -6 dBFS on the speaker, moves it to the headphone half a second in,
/// plays on, and returns what each BE received. The move lands on an FE period boundary, where
/// the cosine is at least half its amplitude (1024 frames = 21 1/3 cycles), so a cut is loud.
Reroute reroute_cosine(DataPath& t, DpcmRig& rig, PcmRuntime& m) {
    auto cosine = [](Frames i, unsigned) {
        return static_cast<float>(0.5 * std::cos(2 * std::numbers::pi * 1000.0 * static_cast<double>(i) / 48000.0));
    };
    EXPECT_TRUE(t.play_for_test(m, 24576, cosine, 0));
    EXPECT_TRUE(is_ok(rig.put("Hp Mixer Music", "on")));
    EXPECT_TRUE(is_ok(rig.put("Spk Mixer Music", "0")));
    EXPECT_TRUE(t.play_for_test(m, 24576, cosine, 24576));
    EXPECT_TRUE(is_ok(rig.dpcm->check_invariants()));
    return {t.received_for_test("Spk"), t.received_for_test("Hp")};
}

TEST_F(DataPath, ARerouteMidStreamFadesOutAndInWithNoStepAboveTheSignalsOwn) {
    PcmRuntime* m = open("Music", {});
    ASSERT_NE(m, nullptr);
    const Reroute r = reroute_cosine(*this, rig, *m);
    // The speaker played the first half but what was still queued (ring and FIFO) when it left.
    ASSERT_GT(r.spk.size(), 2u * 18000);
    ASSERT_GT(r.hp.size(), 2u * 20000);
    EXPECT_LT(max_step(r.spk, 2, first_sound(r.spk, 2) + 1), kMaxStep);  // the stream's own start aside
    EXPECT_LT(max_step(r.hp, 2), kMaxStep);
    // The speaker stopped only after its fade-out had reached silence...
    for (size_t i = r.spk.size() - 2 * 16; i < r.spk.size(); ++i) EXPECT_EQ(r.spk[i], 0.0f);
    // ... and the headphone came in from silence.
    const size_t s = first_sound(r.hp, 2);
    EXPECT_LT(std::fabs(r.hp[s * 2]), 0.01f);
    EXPECT_EQ(rig.backends("Music"), (std::vector<std::string>{"Hp"}));
    EXPECT_EQ(m->state(), PcmState::Running);
}

class DataPathNoFade : public DataPath {
protected:
    DataPathNoFade() : DataPath(std::chrono::microseconds(0)) {}
};

TEST_F(DataPathNoFade, WithoutFadesTheSameRerouteClicks) {
    // The check above is able to fail: with fades off (the kernel's behaviour) it sees the cut.
    PcmRuntime* m = open("Music", {});
    ASSERT_NE(m, nullptr);
    const Reroute r = reroute_cosine(*this, rig, *m);
    EXPECT_GT(max_step(r.hp, 2), 0.2f) << "the headphone starts mid-wave";
}

// ---- failures -----------------------------------------------------------------------------------

TEST_F(DataPath, ABackendWhoseDeviceDisappearsStopsOnlyItsOwnFrontends) {
    DPCM_ASSERT_OK(rig.put("Spk Mixer Alert", "off"));
    DPCM_ASSERT_OK(rig.put("Hp Mixer Alert", "on"));
    PcmRuntime* m = open("Music", {});   // -> Spk
    PcmRuntime* a = open("Alert", {});   // -> Hp
    ASSERT_TRUE(m && a);
    SwParams sw = a->sw_params_current();
    sw.stop_threshold = a->boundary();
    DPCM_ASSERT_OK(a->sw_params(sw));
    DPCM_ASSERT_OK(a->start());
    ASSERT_TRUE(play(*m, 4096, [](Frames, unsigned) { return 0.1f; }));
    (void)rig.dpcm->take_events();

    sim("Spk").unplug();
    DPCM_ASSERT_OK(rig.advance_periods(2));
    EXPECT_EQ(m->state(), PcmState::Disconnected) << "its only BE is gone";
    EXPECT_TRUE(is_error(m->avail(), -ENODEV));
    EXPECT_EQ(a->state(), PcmState::Running);
    const Frames hp_before = sim("Hp").position();
    DPCM_ASSERT_OK(rig.advance_periods(4));
    EXPECT_EQ(sim("Hp").position(), hp_before + 4 * 1024) << "the other BE keeps running";
    const auto events = rig.dpcm->take_events();
    EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const DpcmEvent& e) {
        return e.kind == DpcmEvent::Kind::BeFailed && e.be == "Spk/playback" && e.message.find("ENODEV") != std::string::npos;
    }));
    DPCM_EXPECT_INVARIANTS(rig);
    DPCM_ASSERT_OK(rig.dpcm->close("Music", Stream::Playback));
    DPCM_EXPECT_INVARIANTS(rig);
}

TEST_F(DataPath, AFrontendThatLosesOneOfTwoBackendsSeesAnXrunAndGoesOnWithTheOther) {
    DPCM_ASSERT_OK(rig.put("Hp Mixer Music", "on"));
    PcmRuntime* m = open("Music", {});  // -> Spk and Hp
    ASSERT_NE(m, nullptr);
    ASSERT_TRUE(play(*m, 4096, [](Frames, unsigned) { return 0.1f; }));
    sim("Spk").unplug();
    DPCM_ASSERT_OK(rig.advance_periods(2));
    EXPECT_EQ(m->state(), PcmState::Xrun);
    // The application recovers as from any xrun; the failed BE is left out, with a warning.
    DPCM_ASSERT_OK(m->prepare());
    ASSERT_TRUE(play(*m, 9600, [](Frames, unsigned) { return 0.1f; }));
    EXPECT_EQ(m->state(), PcmState::Running);
    const auto events = rig.dpcm->take_events();
    EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const DpcmEvent& e) {
        return e.kind == DpcmEvent::Kind::Warning && e.be == "Spk/playback";
    }));
    // Plugged back in, the next prepare brings it back.
    sim("Spk").reconnect();
    DPCM_ASSERT_OK(m->drop());
    DPCM_ASSERT_OK(m->prepare());
    const Frames spk_before = sim("Spk").position();
    ASSERT_TRUE(play(*m, 4800, [](Frames, unsigned) { return 0.1f; }));
    EXPECT_GT(sim("Spk").position(), spk_before);
}

TEST_F(DataPath, ADeviceXrunIsRecoveredByTheBackendAndReported) {
    PcmRuntime* m = open("Music", {});
    ASSERT_NE(m, nullptr);
    ASSERT_TRUE(play(*m, 4096, [](Frames, unsigned) { return 0.1f; }));
    sim("Spk").inject_xrun();
    ASSERT_TRUE(play(*m, 4096, [](Frames, unsigned) { return 0.1f; }));
    EXPECT_EQ(m->state(), PcmState::Running);
    EXPECT_EQ(sim("Spk").xruns(), 1u);
    const auto events = rig.dpcm->take_events();
    EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const DpcmEvent& e) { return e.kind == DpcmEvent::Kind::BeXrun; }));
    // The gap is reported once the device moves audio again, with what it lost: one period.
    EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const DpcmEvent& e) {
        return e.kind == DpcmEvent::Kind::BeXrun && e.message.find("gap of 1024 frames (21.3 ms)") != std::string::npos;
    })) << "no gap report";
}

}  // namespace
}  // namespace dynpcm::dpcmtest

// ---- real backends through the engine ----------------------------------------------------------

namespace dynpcm::dpcmtest {
namespace {

/// A one-FE, one-BE card whose BE is `backend`.
std::string one_link_card(const std::string& backend) {
    return "card: Real\nfe_links:\n  - {name: Out, playback: {stream: Out Playback, formats: [S16_LE], rates: [48000], "
           "channels: 2}}\nbe_links:\n  - {name: Dev, playback: {stream: Dev Playback}, backend: " +
           backend + ", fixup: {rate: 48000, channels: 2, format: S16_LE}}\nwidgets:\n  - {name: Jack, type: spk}\n"
           "routes:\n  - [Dev Playback, ~, Out Playback]\n  - [Jack, ~, Dev Playback]\n";
}

/// Plays `frames` frames of a never-zero stereo pattern through the card's one FE, then closes
/// it (which closes the BE and its device or file). Returns the pattern.
std::vector<int16_t> play_pattern_and_close(DpcmRig& rig, Frames frames) {
    std::vector<int16_t> pattern(static_cast<size_t>(frames) * 2);
    for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<int16_t>(1 + (i * 7919) % 30000);
    PcmRuntime* p = rig.open("Out");
    if (!p || !is_ok(DpcmRig::configure(*p))) return {};
    Frames done = 0;
    while (done < frames) {
        const Frames n = std::min(p->avail_update(), frames - done);
        if (n > 0) {
            EXPECT_TRUE(is_ok(p->writei(pattern.data() + done * 2, n)));
            done += n;
        }
        if (p->state() == PcmState::Prepared) {
            EXPECT_TRUE(is_ok(p->start()));
        }
        EXPECT_TRUE(is_ok(rig.advance(kStep)));
    }
    // Silence after it, while the tail leaves the ring and the port's FIFO.
    const std::vector<int16_t> zeros(2 * 4096, 0);
    for (int i = 0; i < 40; ++i) {
        EXPECT_TRUE(is_ok(p->writei(zeros.data(), p->avail_update())));
        EXPECT_TRUE(is_ok(rig.advance(kStep)));
    }
    EXPECT_EQ(p->state(), PcmState::Running);
    EXPECT_TRUE(is_ok(rig.dpcm->close("Out", Stream::Playback)));
    return pattern;
}

/// The samples after the leading silence (the device's and the port's prefill).
std::vector<int16_t> after_silence(const std::vector<int16_t>& v) {
    auto it = std::find_if(v.begin(), v.end(), [](int16_t x) { return x != 0; });
    return {it, v.end()};
}

TEST(RealBackends, TheAlsaBackendWritesExactlyWhatTheFrontendPlayedThroughAlsaLibsFilePcm) {
    const std::string raw = ::testing::TempDir() + "dynpcm_alsa_file.raw";
    std::remove(raw.c_str());
    DpcmRig rig(one_link_card("{type: alsa, device: \"file:'" + raw + "',raw\"}"));
    ASSERT_NE(rig.dpcm, nullptr);
    const auto pattern = play_pattern_and_close(rig, 9600);
    std::ifstream in(raw, std::ios::binary);
    ASSERT_TRUE(in) << raw;
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<int16_t> got(bytes.size() / 2);
    std::memcpy(got.data(), bytes.data(), got.size() * 2);
    const auto played = after_silence(got);
    ASSERT_GE(played.size(), pattern.size());
    EXPECT_TRUE(std::equal(pattern.begin(), pattern.end(), played.begin())) << "every byte, in order";
    std::remove(raw.c_str());
}

TEST(RealBackends, TheAlsaBackendAgainstTheNullPcmMovesEveryPeriod) {
    DpcmRig rig(one_link_card("{type: alsa, device: \"null\"}"));
    ASSERT_NE(rig.dpcm, nullptr);
    PcmRuntime* p = rig.open("Out");
    ASSERT_NE(p, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*p));
    DPCM_ASSERT_OK(DpcmRig::run(*p));
    DPCM_ASSERT_OK(rig.advance_periods(3));
    EXPECT_EQ(rig.dpcm->backend("Dev", Stream::Playback)->position(), 3u * kPeriod);
    EXPECT_EQ(p->state(), PcmState::Running);
}

TEST(RealBackends, TheWavBackendRecordsWhatTheFrontendPlayed) {
    const std::string wav = ::testing::TempDir() + "dynpcm_engine_rec.wav";
    DpcmRig rig(one_link_card("{type: wav, file: \"" + wav + "\"}"));
    ASSERT_NE(rig.dpcm, nullptr);
    const auto pattern = play_pattern_and_close(rig, 9600);
    SF_INFO info{};
    SNDFILE* f = sf_open(wav.c_str(), SFM_READ, &info);
    ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
    EXPECT_EQ(info.samplerate, 48000);
    EXPECT_EQ(info.channels, 2);
    std::vector<int16_t> got(static_cast<size_t>(info.frames) * 2);
    EXPECT_EQ(sf_readf_short(f, got.data(), info.frames), info.frames);
    sf_close(f);
    const auto played = after_silence(got);
    ASSERT_GE(played.size(), pattern.size());
    EXPECT_TRUE(std::equal(pattern.begin(), pattern.end(), played.begin()));
    std::remove(wav.c_str());
}

TEST(RealBackends, AnAlsaDeviceThatDoesNotExistFailsTheOpenNamingIt) {
    DpcmRig rig(one_link_card("{type: alsa, device: \"hw:42,0\"}"));
    ASSERT_NE(rig.dpcm, nullptr);
    auto r = rig.dpcm->open("Out", Stream::Playback);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("hw:42,0"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("Dev"), std::string::npos) << r.error().message();
    DPCM_EXPECT_INVARIANTS(rig);
}

}  // namespace
}  // namespace dynpcm::dpcmtest

namespace dynpcm::dpcmtest {
namespace {

TEST(ChannelMaps, AFixupsChannelMapPairsFrontendAndBackendChannelsBothWays) {
    const std::string card = R"(card: Maps
fe_links:
  - {name: Out, playback: {stream: Out Playback, formats: [S16_LE], rates: [48000], channels: 2}}
  - {name: In, capture: {stream: In Capture, formats: [S16_LE], rates: [48000], channels: 2}}
be_links:
  - {name: Amp, playback: {stream: Amp Playback}, backend: {type: sim, monitor: 5},
     fixup: {rate: 48000, channels: 4, format: S16_LE, channel_map: [1, 0, -1, 0]}}
  - {name: Array, capture: {stream: Array Capture}, backend: {type: sim, signal: sine, frequency: 1000, level: -6},
     fixup: {rate: 48000, channels: 2, format: S16_LE, channel_map: [-1, 1]}}
widgets:
  - {name: Spk, type: spk}
  - {name: Mics, type: mic}
routes:
  - [Amp Playback, ~, Out Playback]
  - [Spk, ~, Amp Playback]
  - [Array Capture, ~, Mics]
  - [In Capture, ~, Array Capture]
)";
    DpcmRig rig(card);
    ASSERT_NE(rig.dpcm, nullptr);
    // Playback: BE channels (FE1, FE0, silence, FE0).
    PcmRuntime* out = rig.open("Out");
    ASSERT_NE(out, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*out));
    std::vector<int16_t> lr(2 * 4096);
    for (size_t i = 0; i < lr.size(); i += 2) {
        lr[i] = 1000;
        lr[i + 1] = 2000;
    }
    DPCM_ASSERT_OK(out->writei(lr.data(), 4096));
    DPCM_ASSERT_OK(out->start());
    DPCM_ASSERT_OK(rig.advance_periods(3));
    std::vector<std::byte> raw;
    dynamic_cast<SimBackend*>(rig.dpcm->backend("Amp", Stream::Playback))->take_monitor(raw);
    std::vector<int16_t> amp(raw.size() / 2);
    std::memcpy(amp.data(), raw.data(), raw.size());
    size_t frames = 0;
    for (size_t i = 0; i + 3 < amp.size(); i += 4) {
        if (amp[i] == 0 && amp[i + 1] == 0) continue;  // the port's prefill
        ASSERT_EQ(amp[i], 2000);
        ASSERT_EQ(amp[i + 1], 1000);
        ASSERT_EQ(amp[i + 2], 0);
        ASSERT_EQ(amp[i + 3], 1000);
        ++frames;
    }
    EXPECT_GT(frames, 1000u);
    // Capture: FE channel 1 takes BE channel 1; FE channel 0 has no BE channel: silent.
    PcmRuntime* in = rig.open("In", Stream::Capture);
    ASSERT_NE(in, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*in));
    DPCM_ASSERT_OK(in->start());
    DPCM_ASSERT_OK(rig.advance_periods(3));
    std::vector<int16_t> got(2 * 2048);
    auto n = in->readi(got.data(), 2048);
    DPCM_ASSERT_OK(n);
    int16_t peak0 = 0, peak1 = 0;
    for (size_t i = 0; i < 2 * *n; i += 2) {
        peak0 = std::max<int16_t>(peak0, static_cast<int16_t>(std::abs(got[i])));
        peak1 = std::max<int16_t>(peak1, static_cast<int16_t>(std::abs(got[i + 1])));
    }
    EXPECT_EQ(peak0, 0);
    EXPECT_GT(peak1, 16000);
}

TEST(ChannelMaps, ABadChannelMapIsReportedWhereItIsWritten) {
    const std::string card = "card: X\nbe_links:\n  - name: Amp\n    playback: {stream: Amp Playback}\n"
                             "    fixup: {channels: 2, channel_map: [0, 1, 2]}\n  - name: B\n"
                             "    playback: {stream: B Playback}\n    fixup: {channel_map: [0, 64]}\n";
    CardLoad l = load_card_string(card, "maps.yaml");
    ASSERT_EQ(l.errors.size(), 2u);
    EXPECT_NE(l.errors[0].find("maps.yaml:5"), std::string::npos) << l.errors[0];
    EXPECT_NE(l.errors[0].find("3 entries but the BE runs 2 channels"), std::string::npos) << l.errors[0];
    EXPECT_NE(l.errors[1].find("maps.yaml:8"), std::string::npos) << l.errors[1];
    EXPECT_NE(l.errors[1].find("64 is not an FE channel"), std::string::npos) << l.errors[1];
}

TEST(Formats, AFloatFrontendReachesAnS16BackendRoundedAndSaturated) {
    DpcmRig rig(kCard);
    PcmRuntime* m = rig.open("Music");
    ASSERT_NE(m, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*m, {.format = Format::FLOAT_LE}));
    // Exact S16 values, a value between two steps, and beyond full scale.
    std::vector<float> f(2 * 4096);
    for (size_t i = 0; i < f.size(); i += 2) {
        f[i] = 1234.0f / 32768.0f;
        f[i + 1] = i % 4 ? 1.5f : (100.4f / 32768.0f);
    }
    DPCM_ASSERT_OK(m->writei(f.data(), 4096));
    DPCM_ASSERT_OK(m->start());
    DPCM_ASSERT_OK(rig.advance_periods(3));
    std::vector<std::byte> raw;
    dynamic_cast<SimBackend*>(rig.dpcm->backend("Spk", Stream::Playback))->take_monitor(raw);
    std::vector<int16_t> s(raw.size() / 2);
    std::memcpy(s.data(), raw.data(), raw.size());
    size_t checked = 0;
    for (size_t i = 0; i + 1 < s.size(); i += 2) {
        if (s[i] == 0) continue;  // prefill
        ASSERT_EQ(s[i], 1234);
        ASSERT_TRUE(s[i + 1] == 100 || s[i + 1] == 32767) << s[i + 1];
        ++checked;
    }
    EXPECT_GT(checked, 1000u);
}

// ---- latency: what waits between the ring and the device ---------------------------------------

// Capture FEs on a BE whose samples number its frames, and one playback FE that runs at 96 kHz
// into 48 kHz codecs with FIFOs of their own (sim `delay`).
constexpr const char* kLatencyCard = R"(card: Latency
fe_links:
  - {name: Rec1, capture: {stream: Rec1 Capture, formats: [S16_LE], rates: [48000], channels: 2}}
  - {name: Rec2, capture: {stream: Rec2 Capture, formats: [S16_LE], rates: [48000], channels: 2}}
  - {name: Play, playback: {stream: Play Playback, formats: [S16_LE], rates: [48000, 96000], channels: 2}}
be_links:
  - {name: Ctr, capture: {stream: Ctr Capture}, backend: {type: sim, signal: counter}, fixup: {rate: 48000, channels: 2, format: S16_LE}}
  - {name: Slow, playback: {stream: Slow Playback}, backend: {type: sim, monitor: 10, delay: 1440}, fixup: {rate: 48000, channels: 2, format: S16_LE}}
  - {name: Deep, playback: {stream: Deep Playback}, backend: {type: sim, monitor: 10, delay: 4800}, fixup: {rate: 48000, channels: 2, format: S16_LE}}
widgets:
  - {name: Rec1 Mixer, type: mixer, controls: [{name: Ctr, value: on}]}
  - {name: Rec2 Mixer, type: mixer, controls: [{name: Ctr, value: on}]}
  - {name: Slow Mixer, type: mixer, controls: [{name: Play, value: on}]}
  - {name: Deep Mixer, type: mixer, controls: [{name: Play}]}
  - {name: Mic, type: mic}
  - {name: Out1, type: spk}
  - {name: Out2, type: spk}
routes:
  - [Ctr Capture, ~, Mic]
  - [Rec1 Mixer, Ctr, Ctr Capture]
  - [Rec2 Mixer, Ctr, Ctr Capture]
  - [Rec1 Capture, ~, Rec1 Mixer]
  - [Rec2 Capture, ~, Rec2 Mixer]
  - [Slow Mixer, Play, Play Playback]
  - [Deep Mixer, Play, Play Playback]
  - [Slow Playback, ~, Slow Mixer]
  - [Deep Playback, ~, Deep Mixer]
  - [Out1, ~, Slow Playback]
  - [Out2, ~, Deep Playback]
)";

/// Reads what is there; appends the frame numbers the counter signal carries.
void read_numbers(PcmRuntime& pcm, std::vector<uint32_t>* out) {
    std::vector<int16_t> raw(static_cast<size_t>(pcm.avail_update()) * 2);
    auto r = pcm.readi(raw.data(), raw.size() / 2);
    if (!r || !out) return;
    for (size_t i = 0; i < *r; ++i)
        out->push_back(static_cast<uint32_t>(raw[2 * i] & 0x7FFF) | static_cast<uint32_t>(raw[2 * i + 1] & 0x7FFF) << 15);
}

// Defect 3 of the hardening issue: every BE period used to be pushed into every port, so a
// capture FE prepared (or paused) on a BE another FE keeps running filled its FIFO to capacity,
// then started with stale audio and a dropped period, and kept ~4 blocks of extra latency.
TEST(CaptureLatency, AFrontendStartedLateOnASharedBackendCapturesFromNowWithoutAGap) {
    DpcmRig rig(kLatencyCard);
    PcmRuntime* one = rig.open("Rec1", Stream::Capture);
    PcmRuntime* two = rig.open("Rec2", Stream::Capture);
    ASSERT_TRUE(one && two);
    DPCM_ASSERT_OK(DpcmRig::configure(*one));
    DPCM_ASSERT_OK(DpcmRig::configure(*two));
    DPCM_ASSERT_OK(one->start());
    for (int i = 0; i < 200; ++i) {  // 1 s: Rec2 is prepared and waits
        DPCM_ASSERT_OK(rig.advance(kStep));
        read_numbers(*one, nullptr);
    }
    const Frames now = rig.dpcm->backend("Ctr", Stream::Capture)->position();
    DPCM_ASSERT_OK(two->start());
    std::vector<uint32_t> got;
    for (int i = 0; i < 60; ++i) {
        DPCM_ASSERT_OK(rig.advance(kStep));
        read_numbers(*one, nullptr);
        read_numbers(*two, &got);
    }
    const auto first = std::find_if(got.begin(), got.end(), [](uint32_t n) { return n != 0; });  // after the prefill
    ASSERT_NE(first, got.end()) << "Rec2 captured nothing";
    // Fresh: what the BE captured around the start (its prefill and a period or two of
    // transfer), not what it captured a second earlier.
    EXPECT_GE(*first + 3 * kPeriod, now) << "Rec2 started with audio from " << (now - *first) << " frames before its start";
    size_t gaps = 0;
    for (auto it = first + 1; it != got.end(); ++it) gaps += *it != *(it - 1) + 1 ? 1U : 0U;
    EXPECT_EQ(gaps, 0U) << "Rec2's audio jumps";
    EXPECT_LE(got.size() - static_cast<size_t>(first - got.begin()), 60 * 240 + 1) << "more frames than time passed";
}

/// Frames from the first to the last sample of the first channel above `floor`.
size_t sounding(const std::vector<float>& x, float floor) {
    size_t a = x.size(), b = 0;
    for (size_t i = 0; i < x.size(); i += 2) {
        if (std::fabs(x[i]) <= floor) continue;
        a = std::min(a, i / 2);
        b = i / 2;
    }
    return a <= b ? b - a + 1 : 0;
}

// Defect 4: the FE's delay() added the BE's device delay in BE frames to FE frames and counted
// only the first healthy link, so a 96 kHz FE on 48 kHz codecs ended its drain early and the
// STOP that follows discarded the tail still in the codecs' FIFOs.
TEST(PlaybackLatency, DrainPlaysToTheLastFrameThroughEveryCodecsFifo) {
    DpcmRig rig(kLatencyCard);
    DPCM_ASSERT_OK(rig.put("Deep Mixer Play", "on"));
    PcmRuntime* p = rig.open("Play");
    ASSERT_NE(p, nullptr);
    DPCM_ASSERT_OK(DpcmRig::configure(*p, {.rate = 96000, .period_size = 2048}));
    const Frames tone = 96000;  // 1 s
    std::vector<int16_t> pcm(2 * 4096);
    Frames written = 0;
    while (written < tone) {
        const Frames n = std::min<Frames>({p->avail_update(), tone - written, 4096});
        for (Frames i = 0; i < n; ++i)
            pcm[2 * i] = pcm[2 * i + 1] = static_cast<int16_t>(
                16000 * std::sin(2 * std::numbers::pi * 1000.0 * static_cast<double>(written + i) / 96000.0));
        if (n > 0) {
            auto w = p->writei(pcm.data(), n);
            ASSERT_TRUE(w.ok());
            written += *w;
        }
        if (p->state() == PcmState::Prepared) {
            DPCM_ASSERT_OK(p->start());
        }
        DPCM_ASSERT_OK(rig.advance(kStep));
    }
    EXPECT_EQ(p->drain().code(), -EAGAIN);
    for (int i = 0; i < 400 && p->state() == PcmState::Draining; ++i) DPCM_ASSERT_OK(rig.advance(kStep));
    ASSERT_EQ(p->state(), PcmState::Setup);
    for (const char* be : {"Slow", "Deep"}) {
        auto* sim = dynamic_cast<SimBackend*>(rig.dpcm->backend(be, Stream::Playback));
        std::vector<std::byte> raw;
        sim->take_monitor(raw);
        std::vector<float> x(raw.size() / 2);
        dsp::to_float(Format::S16_LE, raw.data(), x.data(), x.size());
        EXPECT_NEAR(static_cast<double>(sounding(x, 0.01f)), 48000.0, 48.0)
            << be << " did not play the whole second (its codec FIFO was cut)";
    }
}

}  // namespace
}  // namespace dynpcm::dpcmtest

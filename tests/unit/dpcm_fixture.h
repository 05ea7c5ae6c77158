#pragma once
/// Fixtures for the DPCM core unit tests (dpcm_test.cpp): a small card in YAML, a rig that
/// loads it onto a virtual SimClock, and helpers that read the BE bookkeeping from the dump as
/// one-line strings ("START users 1 be_start 1 be_pause 0"), so that a failed expectation
/// prints the whole state of the BE at once.
///
/// Everything runs on the test thread: SimClock::advance() fires the FE period interrupts (and
/// so the interrupt-path xrun and drain stops) on the calling thread. FEs are opened
/// non-blocking with a short timeout, so a mistaken blocking call fails instead of hanging.

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dynpcm/card/card.h"
#include "result_assert.h"
#include "dynpcm/card/card_file.h"
#include "dynpcm/dpcm/dpcm.h"
#include "dynpcm/dpcm/state_dump.h"
#include "dynpcm/pcm/format.h"
#include "dynpcm/pcm/hw_params.h"
#include "dynpcm/pcm/pcm_runtime.h"
#include "dynpcm/pcm/state.h"
#include "dynpcm/pcm/sw_params.h"
#include "dynpcm/sim/sim_clock.h"

namespace dynpcm::dpcmtest {

/// The test card.
///
/// FEs (playback unless noted):
///   FE A      S16/S24, 8-192 kHz, 1-2 ch, trigger post; routed to Speaker by default.
///   FE B      the same, trigger pre; routed nowhere by default.
///   FE Wide   S16/S24/S32, 8-384 kHz, 1-8 ch; routed to Codec by default.
///   FE Float  FLOAT_LE only; routed to Codec by default (which takes only S16_LE).
///   FE Rec    capture, S16, 48 kHz, 2 ch; records Mic by default.
/// BEs:
///   Speaker, Headset  be_hw_params_fixup 48 kHz / 2 ch / S16_LE (the DSP converts).
///   Codec             no fixup: runs at the FE's configuration; its link declares what the
///                     codec takes (S16_LE, 8-192 kHz, 1-2 ch), which the FEs connected at
///                     open are narrowed to.
///   Mic               capture, fixup 48 kHz / 2 ch / S16_LE.
/// Routing: a mixer per playback BE with one input per FE ("<BE mixer> <FE>", e.g.
/// "HS Mixer FEA"), and "REC Mixer MIC" for the capture FE.
inline constexpr std::string_view kCardYaml = R"(card: DPCM Test
fe_links:
  - name: FE A
    playback: {stream: FEA Playback, formats: [S16_LE, S24_LE], rates: {min: 8000, max: 192000}, channels: {min: 1, max: 2}}
    trigger: post
  - name: FE B
    playback: {stream: FEB Playback, formats: [S16_LE, S24_LE], rates: {min: 8000, max: 192000}, channels: {min: 1, max: 2}}
    trigger: pre
  - name: FE Wide
    playback: {stream: FEW Playback, formats: [S16_LE, S24_LE, S32_LE], rates: {min: 8000, max: 384000}, channels: {min: 1, max: 8}}
  - name: FE Float
    playback: {stream: FEF Playback, formats: [FLOAT_LE], rates: {min: 8000, max: 192000}, channels: {min: 1, max: 2}}
  - name: FE Rec
    capture: {stream: FER Capture, formats: [S16_LE], rates: [48000], channels: 2}

be_links:
  - name: Speaker
    playback: {stream: SPK Playback}
    backend: {type: sim}
    fixup: {rate: 48000, channels: 2, format: S16_LE}
  - name: Headset
    playback: {stream: HS Playback}
    backend: {type: sim}
    fixup: {rate: 48000, channels: 2, format: S16_LE}
  - name: Codec
    playback: {stream: CODEC Playback, formats: [S16_LE], rates: {min: 8000, max: 192000}, channels: {min: 1, max: 2}}
    backend: {type: sim}
  - name: Mic
    capture: {stream: MIC Capture}
    backend: {type: sim}
    fixup: {rate: 48000, channels: 2, format: S16_LE}

widgets:
  - name: SPK Mixer
    type: mixer
    controls: [{name: FEA, value: on}, {name: FEB}, {name: FEW}, {name: FEF}]
  - name: HS Mixer
    type: mixer
    controls: [{name: FEA}, {name: FEB}, {name: FEW}, {name: FEF}]
  - name: CODEC Mixer
    type: mixer
    controls: [{name: FEA}, {name: FEB}, {name: FEW, value: on}, {name: FEF, value: on}]
  - name: REC Mixer
    type: mixer
    controls: [{name: MIC, value: on}]
  - {name: Speaker Out, type: spk}
  - {name: Headphone, type: hp}
  - {name: Line Out, type: line}
  - {name: Mic In, type: mic}

routes:
  - [SPK Mixer, FEA, FEA Playback]
  - [SPK Mixer, FEB, FEB Playback]
  - [SPK Mixer, FEW, FEW Playback]
  - [SPK Mixer, FEF, FEF Playback]
  - [HS Mixer, FEA, FEA Playback]
  - [HS Mixer, FEB, FEB Playback]
  - [HS Mixer, FEW, FEW Playback]
  - [HS Mixer, FEF, FEF Playback]
  - [CODEC Mixer, FEA, FEA Playback]
  - [CODEC Mixer, FEB, FEB Playback]
  - [CODEC Mixer, FEW, FEW Playback]
  - [CODEC Mixer, FEF, FEF Playback]
  - [SPK Playback, ~, SPK Mixer]
  - [HS Playback, ~, HS Mixer]
  - [CODEC Playback, ~, CODEC Mixer]
  - [Speaker Out, ~, SPK Playback]
  - [Headphone, ~, HS Playback]
  - [Line Out, ~, CODEC Playback]
  - [MIC Capture, ~, Mic In]
  - [REC Mixer, MIC, MIC Capture]
  - [FER Capture, ~, REC Mixer]
)";

// ---- Result assertions

using testutil::is_error;
using testutil::is_ok;

// ---- configurations

inline constexpr uint32_t kRate = 48000;
inline constexpr uint32_t kPeriod = 1024;
inline constexpr uint32_t kPeriods = 4;
/// One period at 48 kHz / 1024 frames, rounded up as SimDma schedules its interrupts.
inline constexpr int64_t kPeriodNs = (int64_t{kPeriod} * 1'000'000'000 + kRate - 1) / kRate;

struct Setup {
    Format format = Format::S16_LE;
    uint32_t channels = 2;
    uint32_t rate = kRate;
    uint32_t period_size = kPeriod;
    uint32_t periods = kPeriods;
};

/// A BE as one line: "START users 1 be_start 1 be_pause 0".
inline std::string be_line(const BeDump& b) {
    return std::string(dpcm_state_name(b.state)) + " users " + std::to_string(b.users) + " be_start " +
           std::to_string(b.be_start) + " be_pause " + std::to_string(b.be_pause);
}

/// The card loaded into a Dpcm on a virtual clock.
class DpcmRig {
public:
    explicit DpcmRig(std::string_view yaml = kCardYaml, std::optional<std::chrono::microseconds> fade = {})
        : fade_(fade) {
        CardLoad load = load_card_string(yaml, "dpcm_test.yaml");
        if (!load.ok()) {
            std::string all;
            for (const auto& e : load.errors) all += e + "\n";
            ADD_FAILURE() << "fixture: the test card does not load:\n" << all;
            return;
        }
        create(std::move(load.card));
    }
    /// A card built in code (for what a card file cannot say, e.g. a BE link's own rates).
    explicit DpcmRig(std::unique_ptr<Card> card) { create(std::move(card)); }
    ~DpcmRig() { dpcm.reset(); }  // before the clock: the Dpcm owns the DMAs on it
    DpcmRig(const DpcmRig&) = delete;
    DpcmRig& operator=(const DpcmRig&) = delete;

    /// Opens an FE non-blocking; null (and a failure) if it does not open.
    PcmRuntime* open(std::string_view fe, Stream dir = Stream::Playback, PcmInfo info = {}) {
        PcmRuntime::Options o;
        o.nonblock = true;
        o.timeout = std::chrono::milliseconds(200);
        o.info = info;
        auto r = dpcm->open(fe, dir, std::move(o));
        EXPECT_TRUE(is_ok(r)) << "open " << fe;
        return r.ok() ? *r : nullptr;
    }

    /// hw_params (which, as in alsa-lib, also prepares), then sw_params that never auto-start,
    /// so that every START in a test is an explicit start().
    static Result<void> configure(PcmRuntime& pcm, const Setup& s = {}) {
        HwParams hp = pcm.hw_params_any();
        if (auto r = hp.set_access(Access::RwInterleaved); !r) return r;
        if (auto r = hp.set_format(s.format); !r) return r;
        if (auto r = hp.set(HwParam::Channels, s.channels); !r) return r;
        if (auto r = hp.set(HwParam::Rate, s.rate); !r) return r;
        if (auto r = hp.set(HwParam::PeriodSize, s.period_size); !r) return r;
        if (auto r = hp.set(HwParam::Periods, s.periods); !r) return r;
        if (auto r = pcm.hw_params(hp); !r) return r;
        SwParams sw = pcm.sw_params_current();
        sw.start_threshold = pcm.boundary();
        return pcm.sw_params(sw);
    }

    /// Playback: fills the ring with `frames` of silence (all of it by default).
    static Result<Frames> fill(PcmRuntime& pcm, Frames frames = 0) {
        if (frames == 0) frames = pcm.avail_update();
        const size_t bytes = static_cast<size_t>(frames) * frame_bytes(pcm.params().format(), pcm.params().channels());
        std::vector<std::byte> zeros(bytes, std::byte{0});
        return pcm.writei(zeros.data(), frames);
    }

    /// Playback: fill, then start (unless the write already started it: a stream whose
    /// sw_params were not installed auto-starts). Capture: start.
    static Result<void> run(PcmRuntime& pcm) {
        if (pcm.stream() == Stream::Playback)
            if (auto r = fill(pcm); !r) return std::move(r).error();
        if (pcm.state() == PcmState::Running) return ok();
        return pcm.start();
    }

    /// Moves virtual time on, then does what a virtual-time driver does after each step:
    /// Dpcm::service() (links that have faded out leave).
    Result<void> advance(std::chrono::nanoseconds by) {
        if (auto r = clock.advance(by); !r) return r;
        dpcm->service();
        return ok();
    }
    Result<void> advance_periods(int64_t n) { return advance(std::chrono::nanoseconds(n * kPeriodNs)); }

    Result<bool> put(std::string_view control, std::string_view value) { return dpcm->put(control, value); }

    /// The FE as "<DPCM state> / <PCM state>", or "(not open)".
    std::string fe_status(std::string_view fe, Stream dir = Stream::Playback) const {
        for (const auto& f : dpcm->dump().frontends)
            if (f.name == fe && f.stream == dir)
                return std::string(dpcm_state_name(f.state)) + " / " + pcm_state_name(f.pcm_state);
        return "(not open)";
    }
    std::optional<FeDump> fe_dump(std::string_view fe, Stream dir = Stream::Playback) const {
        for (auto& f : dpcm->dump().frontends)
            if (f.name == fe && f.stream == dir) return f;
        return std::nullopt;
    }
    /// A BE under an open FE, or nothing if the FE does not list it.
    std::optional<BeDump> be_dump(std::string_view fe, std::string_view be, Stream dir = Stream::Playback) const {
        for (const auto& f : dpcm->dump().frontends)
            if (f.name == fe && f.stream == dir)
                for (const auto& b : f.backends)
                    if (b.name == be) return b;
        return std::nullopt;
    }
    /// The BE as be_line() under the FE, or "(not connected)".
    std::string be_status(std::string_view fe, std::string_view be, Stream dir = Stream::Playback) const {
        auto b = be_dump(fe, be, dir);
        return b ? be_line(*b) : std::string("(not connected)");
    }
    /// A BE no FE uses, as be_line(), or "(in use)".
    std::string idle_status(std::string_view be, Stream dir = Stream::Playback) const {
        for (const auto& b : dpcm->dump().idle_backends)
            if (b.name == be && b.stream == dir) return be_line(b);
        return "(in use)";
    }
    /// The names of the BEs an FE lists, in dump order.
    std::vector<std::string> backends(std::string_view fe, Stream dir = Stream::Playback) const {
        std::vector<std::string> out;
        for (const auto& f : dpcm->dump().frontends)
            if (f.name == fe && f.stream == dir)
                for (const auto& b : f.backends) out.push_back(b.name);
        return out;
    }

    SimClock clock;
    std::unique_ptr<Dpcm> dpcm;

private:
    std::optional<std::chrono::microseconds> fade_;
    void create(std::unique_ptr<Card> card) {
        Dpcm::Options opt;
        opt.clock = &clock;
        opt.pcm_timeout = std::chrono::milliseconds(200);
        if (fade_) opt.fade = *fade_;
        auto d = Dpcm::create(std::move(card), opt);
        if (!d.ok()) {
            ADD_FAILURE() << "fixture: Dpcm::create: " << d.error().message();
            return;
        }
        dpcm = std::move(d).value();
    }
};

}  // namespace dynpcm::dpcmtest

/// The BE bookkeeping is consistent (Dpcm::check_invariants), with its message otherwise.
#define DPCM_EXPECT_INVARIANTS(rig) EXPECT_TRUE(::dynpcm::dpcmtest::is_ok((rig).dpcm->check_invariants()))
#define DPCM_ASSERT_OK(expr) ASSERT_TRUE(::dynpcm::dpcmtest::is_ok(expr)) << #expr
#define DPCM_EXPECT_OK(expr) EXPECT_TRUE(::dynpcm::dpcmtest::is_ok(expr)) << #expr

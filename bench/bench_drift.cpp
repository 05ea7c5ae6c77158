// bench_drift: clock domains, measured (docs/DATA_PATH.md, "Clocks"; docs/PERFORMANCE.md).
//
//   bench_drift [--seconds N] [--cost-only]
//
// 1. The soak: examples/cards/drift.yaml (one FE on three BEs whose crystals run at -300, 0 and
//    +500 ppm, each wandering 50 ppm/min with 200 us of interrupt jitter) plays a 1 kHz tone at
//    -6 dBFS for N seconds of virtual time (default 7200: two hours), then the same without
//    compensation for 120 s. It reports, per follower: when it locked, its fill's error since
//    (min/max, in frames and in periods), xruns since; per BE: THD+N over every 10 s after the
//    first 3 (worst and median), and the largest sample step against the tone's own steepest.
// 2. The cost: one stereo stream of 48 kHz in 1024-frame periods through the adaptive resampler
//    (libsamplerate, its ratio moved every period as the loop moves it) against the fixed-ratio
//    one (speexdsp q5) on the same stream, at 48 -> 48 and 44.1 -> 48 kHz: ns per frame, median
//    of 7 runs, and their ratio; and the whole engine's speed on the drift card with and
//    without compensation.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

#include "dynpcm/card/card_file.h"
#include "dynpcm/dpcm/dpcm.h"
#include "dynpcm/dsp/analysis.h"
#include "dynpcm/dsp/convert.h"
#include "dynpcm/dsp/resampler.h"

using namespace dynpcm;

namespace {

constexpr uint32_t kRate = 48000;
constexpr Frames kPeriod = 1024;
const char* const kBes[] = {"Codec", "HDMI", "USB"};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

struct Engine {
    SimClock clock;
    std::unique_ptr<Dpcm> dpcm;
    PcmRuntime* pcm = nullptr;
    uint64_t written = 0;
    std::vector<int16_t> block;

    explicit Engine(bool compensate, double tap_seconds) {
        CardLoad l = load_card_file(std::string(DYNPCM_SOURCE_DIR) + "/examples/cards/drift.yaml");
        if (!l.ok()) {
            std::fprintf(stderr, "bench_drift: %s\n", l.errors.empty() ? "card" : l.errors[0].c_str());
            std::exit(2);
        }
        Dpcm::Options o;
        o.clock = &clock;
        o.drift_compensation = compensate;
        o.tap_seconds = tap_seconds;
        dpcm = std::move(Dpcm::create(std::move(l.card), o).value());
        PcmRuntime::Options po;
        po.nonblock = true;
        pcm = dpcm->open("Media", Stream::Playback, po).value();
        HwParams hp = pcm->hw_params_any();
        (void)hp.set_access(Access::RwInterleaved);
        (void)hp.set_format(Format::S16_LE);
        (void)hp.set(HwParam::Channels, 2);
        (void)hp.set(HwParam::Rate, kRate);
        (void)hp.set(HwParam::PeriodSize, kPeriod);
        (void)hp.set(HwParam::Periods, 4);
        if (!pcm->hw_params(hp)) std::exit(2);
    }
    ~Engine() { dpcm.reset(); }
    // 10 ms of virtual time, the ring topped up with the tone first.
    bool step() {
        const Frames n = pcm->avail_update();
        block.resize(static_cast<size_t>(n) * 2);
        const double w = 2 * std::numbers::pi * 1000.0 / kRate;
        for (Frames i = 0; i < n; ++i)
            block[i * 2] = block[i * 2 + 1] = static_cast<int16_t>(std::lround(16384.0 * std::cos(w * static_cast<double>(written + i))));
        if (n)
            if (auto got = pcm->writei(block.data(), n)) written += *got;
        if (!clock.advance(std::chrono::milliseconds(10))) return false;
        return pcm->state() == PcmState::Running;
    }
    const BeDump* be(const DpcmDump& d, const char* name) const {
        for (const auto& b : d.frontends.at(0).backends)
            if (b.name == name) return &b;
        return nullptr;
    }
};

struct BeAudio {
    std::vector<float> chunk;
    std::vector<double> thdn;
    float max_step = 0;
    float last = 0;
    bool have_last = false;
};

void soak(double seconds) {
    std::printf("== soak: %.0f s (%.2f h) of audio, one FE on -300 / 0 / +500 ppm, 50 ppm/min wander, 200 us jitter\n",
                seconds, seconds / 3600);
    Engine e(true, 2.0);
    BeAudio audio[3];
    const auto wall0 = std::chrono::steady_clock::now();
    const int steps = static_cast<int>(seconds * 100);
    std::vector<std::byte> raw;
    for (int s = 1; s <= steps; ++s) {
        if (!e.step()) {
            std::printf("the FE stopped at %.2f s\n", s / 100.0);
            break;
        }
        if (s % 100 != 0) continue;
        for (int i = 0; i < 3; ++i) {
            raw.clear();
            const size_t n = e.dpcm->take_tap(kBes[i], Stream::Playback, raw);
            BeAudio& a = audio[i];
            const size_t at = a.chunk.size();
            a.chunk.resize(at + n * 2);
            dsp::to_float(Format::S16_LE, raw.data(), a.chunk.data() + at, n * 2);
            if (s <= 300) {  // the first 3 s: locking
                a.chunk.clear();
                continue;
            }
            for (size_t k = at; k < a.chunk.size(); k += 2) {
                if (a.have_last) a.max_step = std::max(a.max_step, std::fabs(a.chunk[k] - a.last));
                a.last = a.chunk[k];
                a.have_last = true;
            }
            if (a.chunk.size() >= 10 * kRate * 2) {
                if (auto t = dsp::thd_n(a.chunk.data(), a.chunk.size() / 2, 2, 0, kRate)) a.thdn.push_back(*t);
                a.chunk.clear();
            }
        }
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    const DpcmDump d = e.dpcm->dump();
    std::printf("virtual %.0f s in %.1f s of wall time: %.0fx real time\n", seconds, wall, seconds / wall);
    std::printf("%-6s %9s %9s %9s %8s %17s %9s %8s %13s %11s %9s\n", "BE", "crystal", "measured", "role", "lock s",
                "error frames", "periods", "xruns", "THD+N worst", "median", "max step");
    for (int i = 0; i < 3; ++i) {
        const BeDump* b = e.be(d, kBes[i]);
        if (!b) continue;
        const LinkDump& l = b->link;
        const double worst = audio[i].thdn.empty() ? 0 : *std::max_element(audio[i].thdn.begin(), audio[i].thdn.end());
        std::printf("%-6s %+8.1f  %+8.1f  %9s %8.2f %+8.1f..%+7.1f %+4.2f..%+4.2f %8lu %10.1f dB %8.1f dB %9.4f\n", kBes[i],
                    b->clock.ppm, b->clock.measured_ppm, l.driver ? "driver" : "follower", l.lock_seconds, l.min_error,
                    l.max_error, l.min_error / kPeriod, l.max_error / kPeriod,
                    static_cast<unsigned long>(l.underruns + l.overruns), worst, median(audio[i].thdn),
                    static_cast<double>(audio[i].max_step));
    }
    std::printf("(the tone's own steepest step: %.4f; THD+N over %zu windows of 10 s per BE)\n",
                0.5 * std::sin(2 * std::numbers::pi * 1000.0 / kRate), audio[0].thdn.size());
}

void uncompensated(double seconds) {
    std::printf("\n== without compensation, %.0f s\n", seconds);
    Engine e(false, 0);
    for (int s = 0; s < static_cast<int>(seconds * 100); ++s)
        if (!e.step()) break;
    const DpcmDump d = e.dpcm->dump();
    for (const char* name : kBes)
        if (const BeDump* b = e.be(d, name))
            std::printf("%-6s %s: FIFO underruns %lu, overruns %lu\n", name, b->link.driver ? "driver  " : "follower",
                        static_cast<unsigned long>(b->link.underruns), static_cast<unsigned long>(b->link.overruns));
}

// ns per frame of one stereo stream in 1024-frame periods, 10 s of audio, median of 7.
double cost(uint32_t in_rate, bool adaptive) {
    auto r = adaptive ? dsp::Resampler::create_adaptive(2, in_rate, kRate, 2000) : dsp::Resampler::create(2, in_rate, kRate);
    std::vector<float> in(kPeriod * 2), out(4096 * 2);
    for (Frames i = 0; i < kPeriod; ++i) in[i * 2] = in[i * 2 + 1] = static_cast<float>(0.5 * std::sin(0.13 * static_cast<double>(i)));
    std::vector<double> runs;
    const int blocks = static_cast<int>(10 * in_rate / kPeriod);
    for (int rep = 0; rep < 7; ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int b = 0; b < blocks; ++b) {
            // As the loop moves it: a slow wobble of a few ppm around +500 ppm.
            if (adaptive) (*r)->set_scale(1.0005 + 3e-6 * std::sin(b * 0.01));
            (void)(*r)->process(in.data(), kPeriod, out.data(), 4096);
        }
        runs.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() /
                       (static_cast<double>(blocks) * kPeriod));
    }
    return median(runs);
}

double engine_speed(bool compensate) {
    std::vector<double> runs;
    for (int rep = 0; rep < 5; ++rep) {
        Engine e(compensate, 0);
        const auto t0 = std::chrono::steady_clock::now();
        for (int s = 0; s < 2000; ++s) e.step();  // 20 s
        runs.push_back(20.0 / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return median(runs);
}

void costs() {
    std::printf("\n== cost per stream (stereo, 1024-frame periods; ns per input frame, median of 7)\n");
    for (uint32_t rate : {48000u, 44100u}) {
        const double fixed = cost(rate, false), adaptive = cost(rate, true);
        std::printf("%5.1f -> 48 kHz: fixed ratio (speexdsp q5) %6.1f ns, adaptive (libsamplerate) %6.1f ns: %.2fx\n",
                    rate / 1000.0, fixed, adaptive, adaptive / fixed);
    }
    const double on = engine_speed(true), off = engine_speed(false);
    std::printf("the engine on the drift card (3 BEs): %.0fx real time compensated, %.0fx without (median of 5)\n", on,
                off);
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 7200;
    bool soak_too = true;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--cost-only")) soak_too = false;
        else {
            std::fprintf(stderr, "usage: bench_drift [--seconds N] [--cost-only]\n");
            return 2;
        }
    }
    if (soak_too) {
        soak(seconds);
        uncompensated(120);
    }
    costs();
    return 0;
}

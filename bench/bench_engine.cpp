// The engine's throughput and costs, measured on the real engine and the real DSP kernels:
//   BM_Simulation     audio seconds simulated per wall second, 16 FEs x 8 BEs at 48 kHz stereo
//                     in virtual time, mixing included (target: 1000x real time);
//   BM_Mix / BM_Memcpy N FEs' periods mixed into one BE bus, against a memcpy of the same bytes
//                     (target: 50% of memcpy's bandwidth for float);
//   BM_DapmUpdate     one control change in graphs of 100 / 1,000 / 10,000 widgets, incremental
//                     and full recomputation;
//   BM_RouteSwitch    a control write that moves a running FE to another BE: the write's wall
//                     time, and the stream time until the new BE receives the FE's audio
//                     (target: at most one BE period);
//   BM_TopologyParse / BM_TopologyCard  a topology binary parsed, and a card built from it
//                     (examples/topology/dsp.conf and Debian's largest topology conf, compiled
//                     once with alsatplg at start).

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <cmath>
#include <cstring>
#include <vector>

#include "dynpcm/dynpcm.h"

namespace {

using namespace dynpcm;
using Clock = std::chrono::steady_clock;

// ---- a generated card: n FEs, m BEs; FE i plays on BE i % m through "BEk Mixer" input "FEi".

std::string card_yaml(int fes, int bes) {
    std::string y = "card: Bench\nfe_links:\n";
    for (int i = 0; i < fes; ++i)
        y += fmt::format("  - {{name: FE{0}, playback: {{stream: FE{0} Playback, formats: [S16_LE], rates: [48000], channels: 2}}}}\n", i);
    y += "be_links:\n";
    for (int k = 0; k < bes; ++k)
        y += fmt::format("  - {{name: BE{0}, playback: {{stream: BE{0} Playback}}, backend: {{type: null}}, "
                         "fixup: {{rate: 48000, channels: 2, format: S16_LE}}}}\n", k);
    y += "widgets:\n";
    for (int k = 0; k < bes; ++k) {
        y += fmt::format("  - name: BE{} Mixer\n    type: mixer\n    controls: [", k);
        for (int i = 0; i < fes; ++i) y += fmt::format("{}{{name: FE{}, value: {}}}", i ? ", " : "", i, i % bes == k ? "on" : "off");
        y += "]\n";
        y += fmt::format("  - {{name: Out{}, type: output}}\n", k);
    }
    y += "routes:\n";
    for (int k = 0; k < bes; ++k) {
        for (int i = 0; i < fes; ++i) y += fmt::format("  - [BE{0} Mixer, FE{1}, FE{1} Playback]\n", k, i);
        y += fmt::format("  - [BE{0} Playback, ~, BE{0} Mixer]\n  - [Out{0}, ~, BE{0} Playback]\n", k);
    }
    return y;
}

std::unique_ptr<Dpcm> engine(SimClock& clock, int fes, int bes, double tap_seconds = 0) {
    CardLoad l = load_card_string(card_yaml(fes, bes), "bench.yaml");
    if (!l.ok()) throw std::runtime_error(l.errors.front());
    Dpcm::Options o;
    o.clock = &clock;
    o.tap_seconds = tap_seconds;
    auto d = Dpcm::create(std::move(l.card), o);
    if (!d) throw std::runtime_error(d.error().message());
    return std::move(d).value();
}

PcmRuntime* open_fe(Dpcm& d, const std::string& name, uint32_t period) {
    PcmRuntime* p = *d.open(name, Stream::Playback, {.nonblock = true});
    HwParams hp = p->hw_params_any();
    (void)hp.set_format(Format::S16_LE);
    (void)hp.set(HwParam::Channels, 2);
    (void)hp.set(HwParam::Rate, 48000);
    (void)hp.set(HwParam::PeriodSize, period);
    (void)hp.set(HwParam::Periods, 4);
    (void)p->hw_params(hp);
    return p;
}

// 16 FEs x 8 BEs, each FE kept fed (as its application would) with a tone; time advances
// in 10 ms steps. Counter: audio seconds per wall second.
void BM_Simulation(benchmark::State& state) {
    const int fes = static_cast<int>(state.range(0)), bes = static_cast<int>(state.range(1));
    SimClock clock;
    auto d = engine(clock, fes, bes);
    std::vector<PcmRuntime*> pcms;
    for (int i = 0; i < fes; ++i) pcms.push_back(open_fe(*d, fmt::format("FE{}", i), 1024));
    std::vector<int16_t> tone(2 * 4096);
    for (size_t i = 0; i < tone.size(); ++i) tone[i] = static_cast<int16_t>(8000 * std::sin(static_cast<double>(i / 2) * 0.13));
    double audio = 0;
    for (auto _ : state) {
        for (int step = 0; step < 100; ++step) {  // one second of audio per iteration
            for (PcmRuntime* p : pcms) {
                const Frames n = p->avail_update();
                if (n) (void)p->writei(tone.data(), std::min<Frames>(n, 4096));
                if (p->state() == PcmState::Prepared) (void)p->start();
            }
            (void)clock.advance(std::chrono::milliseconds(10));
        }
        audio += 1.0;
    }
    state.counters["audio_s_per_wall_s"] = benchmark::Counter(audio, benchmark::Counter::kIsRate);
    state.counters["xruns"] = static_cast<double>(pcms[0]->status().xruns);
}

// N FE periods (1024 stereo frames, float) mixed into one bus as the BE stage mixes them: at
// unity gain the first FE's period is copied into the bus and the others are added; at another
// gain the bus is cleared and every FE is added with its gain.
void BM_Mix(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    const float gain = state.range(1) != 0 ? 1.0f : 0.5f;
    const size_t samples = 1024 * 2;
    std::vector<std::vector<float>> src(n, std::vector<float>(samples, 0.25f));
    std::vector<float> bus(samples);
    for (auto _ : state) {
        size_t i = 0;
        if (gain == 1.0f) {
            std::memcpy(bus.data(), src[0].data(), samples * sizeof(float));
            i = 1;
        } else {
            std::fill(bus.begin(), bus.end(), 0.0f);
        }
        for (; i < n; ++i) dsp::mix_add(bus.data(), src[i].data(), samples, gain);
        benchmark::DoNotOptimize(bus.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n * samples * sizeof(float)));
    state.counters["frames_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(n) * 1024, benchmark::Counter::kIsRate);
}

// The same bytes copied: N periods into one buffer.
void BM_Memcpy(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    const size_t samples = 1024 * 2;
    std::vector<std::vector<float>> src(n, std::vector<float>(samples, 0.25f));
    std::vector<float> bus(samples);
    for (auto _ : state) {
        for (size_t i = 0; i < n; ++i) std::memcpy(bus.data(), src[i].data(), samples * sizeof(float));
        benchmark::DoNotOptimize(bus.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n * samples * sizeof(float)));
    state.counters["frames_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(n) * 1024, benchmark::Counter::kIsRate);
}

// A graph of `size` widgets: chains mic -> pga -> mixer -> out, each mixer input a switch.
// One iteration flips one switch and re-evaluates power: incrementally (sync) or fully.
void BM_DapmUpdate(benchmark::State& state) {
    const auto size = static_cast<uint32_t>(state.range(0));
    const bool full = state.range(1) != 0;
    DapmGraph g;
    std::vector<PathId> switches;
    for (uint32_t i = 0; i + 4 <= size; i += 4) {
        const WidgetId mic = g.add_widget(fmt::format("Mic{}", i), WidgetType::Mic);
        const WidgetId pga = g.add_widget(fmt::format("PGA{}", i), WidgetType::Pga);
        const WidgetId mix = g.add_widget(fmt::format("Mix{}", i), WidgetType::Mixer);
        const WidgetId out = g.add_widget(fmt::format("Out{}", i), WidgetType::Spk);
        g.add_path(mic, pga, "", true);
        switches.push_back(g.add_path(pga, mix, "Switch", true));
        g.add_path(mix, out, "", true);
    }
    (void)g.sync_full();
    size_t k = 0;
    bool on = false;
    uint64_t checked = 0;
    for (auto _ : state) {
        (void)g.connect_path(switches[k], on);
        benchmark::DoNotOptimize(full ? g.sync_full() : g.sync());
        checked += g.last_sync().widgets_checked;
        if (on) k = (k + 1) % switches.size();
        on = !on;
    }
    state.counters["widgets"] = static_cast<double>(g.widget_count());
    state.counters["widgets_checked"] = static_cast<double>(checked) / static_cast<double>(state.iterations());
}

// A running FE on BE0 moved to BE1 by two control writes (BE1's input on, BE0's off). Counters:
// the writes' wall time, and the stream time from the write to the first frame of the FE's
// audio at BE1, in µs and in BE periods.
void BM_RouteSwitch(benchmark::State& state) {
    const auto period = static_cast<uint32_t>(state.range(0));
    double put_us = 0, audio_us = 0, audio_periods = 0, worst_periods = 0;
    for (auto _ : state) {
        state.PauseTiming();
        SimClock clock;
        auto d = engine(clock, 1, 2, 1.0);
        PcmRuntime* p = open_fe(*d, "FE0", period);
        std::vector<int16_t> ones(2 * 4 * period, 4000);
        // The application keeps the ring full, so the FE always has audio to give.
        auto feed = [&] {
            if (const Frames n = p->avail_update()) (void)p->writei(ones.data(), std::min<Frames>(n, 4 * period));
            if (p->state() == PcmState::Prepared) (void)p->start();
        };
        // 100 ms and a bit: the write lands somewhere inside a period, not on a tick.
        for (int i = 0; i < 100; ++i) {
            feed();
            (void)clock.advance(std::chrono::milliseconds(1));
        }
        (void)clock.advance(std::chrono::microseconds(234));
        feed();
        std::vector<std::byte> tap;
        (void)d->take_tap("BE1", Stream::Playback, tap);
        state.ResumeTiming();
        const auto t0 = Clock::now();
        (void)d->put("BE1 Mixer FE0", "on");
        (void)d->put("BE0 Mixer FE0", "off");
        const auto t1 = Clock::now();
        state.PauseTiming();
        const int64_t written_at = clock.now_ns();
        // Advance 1/48 ms at a time until BE1 has received something that is not silence.
        int64_t heard_at = -1;
        for (int i = 0; i < 48 * 200 && heard_at < 0; ++i) {
            feed();
            (void)clock.advance(std::chrono::nanoseconds(20834));
            tap.clear();
            if (d->take_tap("BE1", Stream::Playback, tap) == 0) continue;
            for (size_t k = 0; k + 1 < tap.size(); k += 2)
                if (tap[k] != std::byte{0} || tap[k + 1] != std::byte{0}) {
                    heard_at = clock.now_ns();
                    break;
                }
        }
        const double us = static_cast<double>(heard_at - written_at) / 1000.0;
        put_us += std::chrono::duration<double, std::micro>(t1 - t0).count();
        audio_us += us;
        const double periods = us / (1e6 * period / 48000.0);
        audio_periods += periods;
        worst_periods = std::max(worst_periods, periods);
        d.reset();
        state.ResumeTiming();
    }
    const auto it = static_cast<double>(state.iterations());
    state.counters["put_us"] = put_us / it;
    state.counters["to_audio_us"] = audio_us / it;
    state.counters["to_audio_periods"] = audio_periods / it;
    state.counters["worst_periods"] = worst_periods;
}

}  // namespace

BENCHMARK(BM_Simulation)->ArgNames({"fes", "bes"})->Args({16, 8})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Mix)->ArgNames({"fes", "unity"})->ArgsProduct({{1, 4, 16}, {1, 0}});
BENCHMARK(BM_Memcpy)->Arg(1)->Arg(4)->Arg(16);
BENCHMARK(BM_DapmUpdate)->ArgNames({"widgets", "full"})->ArgsProduct({{100, 1000, 10000}, {0, 1}});
BENCHMARK(BM_RouteSwitch)->ArgName("period")->Arg(256)->Arg(1024)->Iterations(20)->Unit(benchmark::kMicrosecond);
// ---- topology loading: a .conf compiled once, then parsed and built from memory.

struct CompiledTopology {
    std::string name;
    std::vector<uint8_t> bytes;
};

std::vector<CompiledTopology>& topologies() {
    static std::vector<CompiledTopology> all = [] {
        std::vector<CompiledTopology> out;
        const std::pair<const char*, std::string> confs[] = {
            {"dsp", std::string(DYNPCM_SOURCE_DIR) + "/examples/topology/dsp.conf"},
            {"skl_hda_dsp_generic", "/usr/share/alsa/topology/hda-dsp/skl_hda_dsp_generic-tplg.conf"}};
        for (const auto& [name, conf] : confs) {
            const std::string tplg = fmt::format("/tmp/dynpcm-bench-{}-{}.tplg", name, getpid());
            if (std::system(fmt::format("alsatplg -c '{}' -o '{}' 2>/dev/null", conf, tplg).c_str()) != 0) continue;
            std::ifstream in(tplg, std::ios::binary);
            out.push_back({name, std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {})});
            std::remove(tplg.c_str());
        }
        return out;
    }();
    return all;
}

void BM_TopologyParse(benchmark::State& state) {
    const auto& all = topologies();
    if (static_cast<size_t>(state.range(0)) >= all.size()) return state.SkipWithError("alsatplg or the conf is missing");
    const auto& t = all[static_cast<size_t>(state.range(0))];
    for (auto _ : state) {
        auto r = tplg::parse_topology(t.bytes, t.name);
        if (!r) return state.SkipWithError(r.error().message().c_str());
        benchmark::DoNotOptimize(r->widgets.data());
    }
    state.SetLabel(t.name);
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(t.bytes.size()));
    state.counters["file_bytes"] = static_cast<double>(t.bytes.size());
}

void BM_TopologyCard(benchmark::State& state) {
    const auto& all = topologies();
    if (static_cast<size_t>(state.range(0)) >= all.size()) return state.SkipWithError("alsatplg or the conf is missing");
    const auto& t = all[static_cast<size_t>(state.range(0))];
    auto parsed = tplg::parse_topology(t.bytes, t.name);
    if (!parsed) return state.SkipWithError(parsed.error().message().c_str());
    size_t widgets = 0;
    for (auto _ : state) {
        CardLoad l = build_topology_card(*parsed, {}, {});
        if (!l.card) return state.SkipWithError(l.errors.empty() ? "no card" : l.errors.front().c_str());
        widgets = l.card->graph().widget_count();
    }
    state.SetLabel(t.name);
    state.counters["widgets"] = static_cast<double>(widgets);
}

BENCHMARK(BM_TopologyParse)->ArgName("file")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopologyCard)->ArgName("file")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();

// Microbenchmarks of the PCM runtime's hot paths. Built by the test command, run by bench/run.

#include <benchmark/benchmark.h>

#include <vector>

#include "dynpcm/dynpcm.h"

namespace {

using namespace dynpcm;

std::shared_ptr<const HwConstraints> caps() {
    HwConstraints::Caps c;
    c.formats = FormatMask::of(Format::S16_LE) | FormatMask::of(Format::FLOAT_LE);
    c.channels = {1, 8};
    return std::make_shared<const HwConstraints>(c);
}

// One period interrupt of the interrupt path: DMA copy out of the ring, pointer update,
// state check, wake. Virtual clock, so no sleeping is measured.
void BM_PeriodElapsed(benchmark::State& state) {
    SimClock clock;
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Playback, caps(), dma);
    HwParams hp = pcm.hw_params_any();
    (void)hp.set_format(Format::S16_LE);
    (void)hp.set(HwParam::Channels, 2);
    (void)hp.set(HwParam::Rate, 48000);
    (void)hp.set(HwParam::PeriodSize, static_cast<uint32_t>(state.range(0)));
    (void)hp.set(HwParam::Periods, 4);
    (void)pcm.hw_params(hp);
    SwParams sw = pcm.sw_params_current();
    sw.stop_threshold = pcm.boundary();  // free-running: never xruns
    (void)pcm.sw_params(sw);
    std::vector<int16_t> data(pcm.buffer_size() * 2, 1000);
    (void)pcm.writei(data.data(), pcm.buffer_size());
    const auto period_ns = std::chrono::nanoseconds(1'000'000'000LL * state.range(0) / 48000 + 1);
    for (auto _ : state) {
        (void)clock.advance(period_ns);
        benchmark::DoNotOptimize(pcm.hw_ptr());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_PeriodElapsed)->Arg(64)->Arg(1024);

void BM_HwParamsChoose(benchmark::State& state) {
    auto c = caps();
    for (auto _ : state) {
        HwParams hp = HwParams::any(c);
        (void)hp.set_near(HwParam::Rate, 44100);
        (void)hp.set_near(HwParam::PeriodTime, 10000);
        (void)hp.choose();
        benchmark::DoNotOptimize(hp.buffer_size());
    }
}
BENCHMARK(BM_HwParamsChoose);

}  // namespace

BENCHMARK_MAIN();

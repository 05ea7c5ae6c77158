// Read-side cost of protecting an FE's BE set: dynpcm's EpochDomain against a mutex (and, in
// the sibling files, liburcu's memb and qsbr flavours), with and without a writer replacing
// the set at full speed. docs/CONCURRENCY.md uses these numbers to choose.

#include <benchmark/benchmark.h>

#include <mutex>

#include "dynpcm/rt/epoch.h"
#include "reclaim_common.h"

using namespace reclaim_bench;

namespace {

dynpcm::EpochDomain g_domain;
std::atomic<Snapshot*> g_epoch_set{new Snapshot};

void epoch_publish() {
    Snapshot* old = g_epoch_set.exchange(new Snapshot, std::memory_order_seq_cst);
    g_domain.synchronize();
    delete old;
}

void BM_Read_Epoch(benchmark::State& state) {
    const int slot = g_domain.claim_slot();
    std::unique_ptr<Writer> w;
    if (state.range(0)) w = std::make_unique<Writer>(epoch_publish);
    for (auto _ : state) {
        g_domain.enter(slot);
        benchmark::DoNotOptimize(walk(g_epoch_set.load(std::memory_order_acquire)));
        g_domain.exit(slot);
    }
    w.reset();
    g_domain.release_slot(slot);
}
BENCHMARK(BM_Read_Epoch)->Arg(0)->Arg(1)->ArgName("writer");

void BM_Synchronize_Epoch(benchmark::State& state) {
    const int slot = g_domain.claim_slot();  // a registered but idle reader
    for (auto _ : state) epoch_publish();
    g_domain.release_slot(slot);
}
BENCHMARK(BM_Synchronize_Epoch);

std::mutex g_mutex;
Snapshot* g_mutex_set = new Snapshot;

void mutex_publish() {
    auto* next = new Snapshot;
    Snapshot* old = nullptr;
    {
        std::lock_guard lk(g_mutex);
        old = g_mutex_set;
        g_mutex_set = next;
    }
    delete old;
}

void BM_Read_Mutex(benchmark::State& state) {
    std::unique_ptr<Writer> w;
    if (state.range(0)) w = std::make_unique<Writer>(mutex_publish);
    for (auto _ : state) {
        std::lock_guard lk(g_mutex);
        benchmark::DoNotOptimize(walk(g_mutex_set));
    }
}
BENCHMARK(BM_Read_Mutex)->Arg(0)->Arg(1)->ArgName("writer");

}  // namespace

BENCHMARK_MAIN();

// liburcu, memb flavour (the one upstream recommends): the same read as BM_Read_Epoch.
// _LGPL_SOURCE inlines urcu's read side, as an application using it for speed would.
#define _LGPL_SOURCE
#include <benchmark/benchmark.h>
#include <urcu/urcu-memb.h>

#include "reclaim_common.h"

using namespace reclaim_bench;

namespace {

Snapshot* g_set = new Snapshot;

void memb_publish() {
    Snapshot* old = rcu_xchg_pointer(&g_set, new Snapshot);
    urcu_memb_synchronize_rcu();
    delete old;
}

void BM_Read_UrcuMemb(benchmark::State& state) {
    urcu_memb_register_thread();
    {
        std::unique_ptr<Writer> w;
        if (state.range(0)) w = std::make_unique<Writer>(memb_publish);
        for (auto _ : state) {
            urcu_memb_read_lock();
            benchmark::DoNotOptimize(walk(rcu_dereference(g_set)));
            urcu_memb_read_unlock();
        }
    }
    urcu_memb_unregister_thread();
}
BENCHMARK(BM_Read_UrcuMemb)->Arg(0)->Arg(1)->ArgName("writer");

void BM_Synchronize_UrcuMemb(benchmark::State& state) {
    urcu_memb_register_thread();
    for (auto _ : state) memb_publish();
    urcu_memb_unregister_thread();
}
BENCHMARK(BM_Synchronize_UrcuMemb);

}  // namespace

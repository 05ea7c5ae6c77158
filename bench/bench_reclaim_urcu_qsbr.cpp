// liburcu, QSBR flavour: reads cost nothing, the reader announces a quiescent state instead
// (here after every read, as an interrupt path would after each period).
#define _LGPL_SOURCE
#include <benchmark/benchmark.h>
#include <urcu/urcu-qsbr.h>

#include "reclaim_common.h"

using namespace reclaim_bench;

namespace {

Snapshot* g_set = new Snapshot;

void qsbr_publish() {
    Snapshot* old = rcu_xchg_pointer(&g_set, new Snapshot);
    urcu_qsbr_synchronize_rcu();
    delete old;
}

void BM_Read_UrcuQsbr(benchmark::State& state) {
    urcu_qsbr_register_thread();
    {
        std::unique_ptr<Writer> w;
        if (state.range(0)) w = std::make_unique<Writer>(qsbr_publish);
        for (auto _ : state) {
            benchmark::DoNotOptimize(walk(rcu_dereference(g_set)));
            urcu_qsbr_quiescent_state();
        }
        urcu_qsbr_thread_offline();  // let the writer's last grace period finish
    }
    urcu_qsbr_unregister_thread();
}
BENCHMARK(BM_Read_UrcuQsbr)->Arg(0)->Arg(1)->ArgName("writer");

}  // namespace

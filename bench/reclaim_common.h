#pragma once
// Shared by the read-side reclamation benchmarks (bench_reclaim*.cpp): the object readers walk
// (a stand-in for an FE's BE set) and a writer thread that keeps replacing it.

#include <atomic>
#include <functional>
#include <thread>

namespace reclaim_bench {

struct Snapshot {
    int be[4] = {1, 2, 3, 4};
};

inline int walk(const Snapshot* s) { return s->be[0] + s->be[1] + s->be[2] + s->be[3]; }

/// Runs `publish_and_reclaim` in a loop on another thread while alive: the churn condition.
class Writer {
public:
    explicit Writer(std::function<void()> publish_and_reclaim) : fn_(std::move(publish_and_reclaim)) {
        thread_ = std::thread([this] {
            while (!stop_.load(std::memory_order_relaxed)) fn_();
        });
    }
    ~Writer() {
        stop_ = true;
        thread_.join();
    }

private:
    std::function<void()> fn_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace reclaim_bench

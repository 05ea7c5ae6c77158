// Interrupt-path latency with five ways of protecting the FE->BE links (issue: "benchmarks
// against the kernel's designs"). One sample is one interrupt: period elapsed -> pointer update
// -> xrun -> the FE's stop -> walk its BE links -> each BE's trigger (the be_start bookkeeping
// and, for the BE that reaches zero, its "hardware"). Measured with the control path idle, and
// with a control thread connecting and disconnecting a BE as fast as it can.
//
// The designs:
//   dynpcm     the shipped primitives: an epoch read section around the walk of an immutable
//              link set (rt_epoch(), the EpochDomain the engine uses), a post to each BE's
//              SerialExecutor; the writer builds a new set, swaps it in, waits a grace period,
//              frees the old one, and works on BEs as their executor's owner.
//   kernel2019 one card-wide spinlock (card->dpcm_lock) around list edits and walks.
//   kernel2021 the FE's stream lock around list edits and the trigger, and each BE's stream
//              lock nested inside it for that BE's trigger.
//   mutex      one std::mutex around list edits and walks.
//   unprotected the walk with no protection and no writer: the physical limit.
//
// The RT thread runs SCHED_FIFO when permitted, pinned to CPU 0; the writer to CPU 1.

#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "dynpcm/rt/rt_epoch.h"
#include "dynpcm/rt/serial_executor.h"

namespace {

using namespace dynpcm;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxBes = 16;

// ---- the work every design does per BE: the per-FE role bookkeeping of dpcm_be_dai_trigger

struct Cmd {
    uint32_t fe;
    bool start;
};

struct BeState {
    std::array<uint8_t, 4> running{};  // per FE: 1 while it runs this BE
    uint32_t be_start = 0;
    std::atomic<bool> hw_running{false};
    std::atomic<uint64_t> hw_triggers{0};

    void apply(const Cmd& c) noexcept {
        uint8_t& r = running[c.fe];
        if (c.start == (r != 0)) return;
        r = c.start ? 1 : 0;
        if (c.start ? ++be_start == 1 : --be_start == 0) {
            hw_running.store(c.start, std::memory_order_relaxed);
            hw_triggers.fetch_add(1, std::memory_order_relaxed);
        }
    }
};

// What the interrupt does before the walk: the PcmRuntime-style pointer update and xrun check,
// identical in every design.
struct FeFront {
    std::atomic<uint64_t> hw_ptr{0};
    std::atomic<uint64_t> appl_ptr{0};
    std::atomic<int> state{1};
    bool interrupt(uint64_t period) noexcept {
        const uint64_t hw = hw_ptr.load(std::memory_order_relaxed) + period;
        hw_ptr.store(hw, std::memory_order_release);
        const uint64_t avail = hw + 4 * period - appl_ptr.load(std::memory_order_acquire);
        int running = 1;
        return avail >= 4 * period && state.compare_exchange_strong(running, 2);
    }
    void rearm() noexcept { state.store(1, std::memory_order_relaxed); }
};

// ---- the designs

struct LinkSet {
    uint32_t count = 0;
    std::array<uint32_t, kMaxBes + 1> be{};
};

class Design {
public:
    virtual ~Design() = default;
    /// The interrupt's fan-out of one trigger (start or stop) over the FE's links. Thread: rt.
    virtual void fan_out(bool start) noexcept = 0;
    /// One route change: disconnect or reconnect the spare BE. Thread: control.
    virtual void churn(bool connect) = 0;
};

// dynpcm: epochs + immutable sets + per-BE executors.
class DynpcmDesign final : public Design {
public:
    explicit DynpcmDesign(uint32_t n) : bes_(n + 1) {
        auto* s = new LinkSet;
        for (uint32_t i = 0; i < n; ++i) s->be[s->count++] = i;
        set_.store(s);
    }
    ~DynpcmDesign() override { delete set_.load(); }
    void fan_out(bool start) noexcept override {
        const int slot = rt_reader_slot();
        rt_epoch().enter(slot);
        const LinkSet* s = set_.load(std::memory_order_acquire);
        for (uint32_t i = 0; i < s->count; ++i) {
            Be& b = bes_[s->be[i]];
            b.exec.post(Cmd{0, start}, [&b](const Cmd& c) noexcept { b.state.apply(c); });
        }
        rt_epoch().exit(slot);
    }
    void churn(bool connect) override {
        const LinkSet* old = set_.load();
        auto* next = new LinkSet(*old);
        const uint32_t spare = static_cast<uint32_t>(bes_.size() - 1);
        if (connect) next->be[next->count++] = spare;
        else next->count = static_cast<uint32_t>(bes_.size() - 1);
        set_.exchange(next, std::memory_order_seq_cst);
        rt_epoch().synchronize();
        delete old;
        Be& b = bes_[spare];  // the BE that joined or left: its state changes as the owner
        b.exec.run([&] { b.state.apply(Cmd{1, connect}); }, [&b](const Cmd& c) noexcept { b.state.apply(c); });
    }

private:
    struct Be {
        BeState state;
        SerialExecutor<Cmd, 64> exec;
    };
    std::vector<Be> bes_;
    std::atomic<LinkSet*> set_{nullptr};
};

class Spinlock {
public:
    void lock() noexcept {
        while (flag_.exchange(true, std::memory_order_acquire))
            while (flag_.load(std::memory_order_relaxed)) __builtin_ia32_pause();
    }
    void unlock() noexcept { flag_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> flag_{false};
};

// A list edited and walked under a lock: the card's (2019), or with one FE the FE stream lock
// (2021), which then also nests each BE's stream lock around that BE's trigger (kBeLocks).
template <class CardLock, bool kBeLocks>
class LockedDesign final : public Design {
public:
    explicit LockedDesign(uint32_t n) : bes_(n + 1) {
        for (uint32_t i = 0; i < n; ++i) list_.be[list_.count++] = i;
    }
    void fan_out(bool start) noexcept override {
        std::lock_guard lk(card_);  // 2019: card->dpcm_lock; 2021: the FE stream lock
        for (uint32_t i = 0; i < list_.count; ++i) {
            Be& b = bes_[list_.be[i]];
            if constexpr (kBeLocks) {
                std::lock_guard blk(b.lock);  // 2021: the BE's stream lock, nested
                b.state.apply(Cmd{0, start});
            } else {
                b.state.apply(Cmd{0, start});
            }
        }
    }
    void churn(bool connect) override {
        const uint32_t spare = static_cast<uint32_t>(bes_.size() - 1);
        {
            std::lock_guard lk(card_);
            if (connect) list_.be[list_.count++] = spare;
            else list_.count = static_cast<uint32_t>(bes_.size() - 1);
        }
        Be& b = bes_[spare];
        if constexpr (kBeLocks) {
            std::lock_guard lk(card_);  // 2021: be state under the FE stream lock + BE lock
            std::lock_guard blk(b.lock);
            b.state.apply(Cmd{1, connect});
        } else {
            std::lock_guard lk(card_);
            b.state.apply(Cmd{1, connect});
        }
    }

private:
    struct Be {
        BeState state;
        Spinlock lock;
    };
    CardLock card_;
    std::vector<Be> bes_;
    LinkSet list_;
};

class UnprotectedDesign final : public Design {
public:
    explicit UnprotectedDesign(uint32_t n) : bes_(n + 1) {
        for (uint32_t i = 0; i < n; ++i) list_.be[list_.count++] = i;
    }
    void fan_out(bool start) noexcept override {
        for (uint32_t i = 0; i < list_.count; ++i) bes_[list_.be[i]].apply(Cmd{0, start});
    }
    void churn(bool) override {}  // no writer may run: it would race

private:
    std::vector<BeState> bes_;
    LinkSet list_;
};

enum class Kind { Dynpcm, Kernel2019, Kernel2021, Mutex, Unprotected };

std::unique_ptr<Design> make(Kind k, uint32_t n) {
    switch (k) {
        case Kind::Dynpcm: return std::make_unique<DynpcmDesign>(n);
        case Kind::Kernel2019: return std::make_unique<LockedDesign<Spinlock, false>>(n);
        case Kind::Kernel2021: return std::make_unique<LockedDesign<Spinlock, true>>(n);
        case Kind::Mutex: return std::make_unique<LockedDesign<std::mutex, false>>(n);
        case Kind::Unprotected: return std::make_unique<UnprotectedDesign>(n);
    }
    return nullptr;
}

void pin(int cpu, bool fifo) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<unsigned>(cpu % static_cast<int>(std::thread::hardware_concurrency())), &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (fifo) {
        sched_param sp{};
        sp.sched_priority = 70;
        (void)pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
    }
}

void unpin() {
    sched_param sp{};
    (void)pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
    cpu_set_t set;
    CPU_ZERO(&set);
    for (unsigned i = 0; i < std::thread::hardware_concurrency(); ++i) CPU_SET(i, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// Args: design, BEs, churn (0/1). Iterations are samples.
void BM_InterruptFanOut(benchmark::State& state) {
    const auto kind = static_cast<Kind>(state.range(0));
    const auto n = static_cast<uint32_t>(state.range(1));
    const bool churn = state.range(2) != 0;
    auto design = make(kind, n);
    FeFront fe;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> changes{0};
    std::thread writer;
    if (churn)
        writer = std::thread([&] {
            pin(1, false);
            bool connect = false;
            while (!stop.load(std::memory_order_relaxed)) {
                design->churn(connect);
                connect = !connect;
                changes.fetch_add(1, std::memory_order_relaxed);
            }
        });
    pin(0, true);
    std::vector<int64_t> samples;
    samples.reserve(static_cast<size_t>(state.max_iterations));
    bool start = false;
    for (auto _ : state) {
        const auto t0 = Clock::now();
        if (fe.interrupt(1024)) design->fan_out(start);
        const auto t1 = Clock::now();
        samples.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
        fe.rearm();
        start = !start;
    }
    unpin();
    stop = true;
    if (writer.joinable()) writer.join();
    std::sort(samples.begin(), samples.end());
    auto pct = [&](double p) {
        return static_cast<double>(samples[std::min(samples.size() - 1, static_cast<size_t>(p * static_cast<double>(samples.size())))]);
    };
    state.counters["p50_ns"] = pct(0.50);
    state.counters["p99_ns"] = pct(0.99);
    state.counters["p999_ns"] = pct(0.999);
    state.counters["max_ns"] = static_cast<double>(samples.back());
    state.counters["route_changes"] = static_cast<double>(changes.load());
}

// The timer itself: two steady_clock reads around nothing.
void BM_TimerOverhead(benchmark::State& state) {
    std::vector<int64_t> samples;
    samples.reserve(static_cast<size_t>(state.max_iterations));
    for (auto _ : state) {
        const auto t0 = Clock::now();
        const auto t1 = Clock::now();
        samples.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    }
    std::sort(samples.begin(), samples.end());
    state.counters["p50_ns"] = static_cast<double>(samples[samples.size() / 2]);
}

}  // namespace

// DYNPCM_BENCH_SAMPLES sets the samples per cell (bench/run: 1,000,000; --quick: 20,000).
static const int64_t kSamples = [] {
    const char* s = std::getenv("DYNPCM_BENCH_SAMPLES");
    return s ? std::max<int64_t>(1000, std::atoll(s)) : 1000000;
}();

BENCHMARK(BM_TimerOverhead)->Iterations(kSamples);
BENCHMARK(BM_InterruptFanOut)
    ->ArgNames({"design", "bes", "churn"})
    ->ArgsProduct({{0, 1, 2, 3}, {1, 4, 16}, {0, 1}})
    ->Iterations(kSamples)
    ->UseRealTime();
BENCHMARK(BM_InterruptFanOut)
    ->ArgNames({"design", "bes", "churn"})
    ->ArgsProduct({{4}, {1, 4, 16}, {0}})
    ->Iterations(kSamples)
    ->UseRealTime();
BENCHMARK_MAIN();

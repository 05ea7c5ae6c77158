#pragma once
/// SimClock: the time base of simulated DMA engines (SimTimer, and SimDma on top of it).
///
/// Virtual mode: time moves only when a control thread calls advance(); every due period
/// interrupt fires on that thread in time order, so runs are deterministic and as fast as the
/// CPU allows. Runtimes attached to a virtual clock must be driven from that one thread (or
/// with external ordering). Real-time mode: start() launches a periodic thread on
/// CLOCK_MONOTONIC that fires interrupts as they come due, with SCHED_FIFO when the system
/// allows it, otherwise with a warning at normal priority.
///
/// Every pass of the clock thread over its timers is one realtime section (rt_epoch.h): a
/// timer taken off the list is no longer held by the clock thread once wait_for_rt() returns.
/// The list has no fixed size: a full table is copied into one twice as large, published with
/// one store, and the old one kept until the clock is destroyed (a pass may still read it),
/// so the clock thread never waits for, nor frees after, an attach.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dynpcm/core/result.h"
#include "dynpcm/core/wait_word.h"

namespace dynpcm {

class SimTimer;

class SimClock {
public:
    enum class Mode { Virtual, Realtime };
    struct Options {
        Mode mode = Mode::Virtual;
        bool try_sched_fifo = true;  ///< real-time mode: ask for SCHED_FIFO
        int fifo_priority = 70;
        /// Real-time mode: a wake-up this much later than the deadline it slept for counts as
        /// late in timing().
        std::chrono::microseconds late_after{2000};
    };
    /// How well the real-time thread kept its deadlines since start().
    struct Timing {
        uint64_t wakeups = 0;        ///< wake-ups for a due deadline
        uint64_t late = 0;           ///< of those, later than Options::late_after
        int64_t max_late_ns = 0;     ///< the latest one
        int64_t max_late_at_ns = 0;  ///< when it happened (now_ns())
    };
    /// Thread: control. Allocates: no.
    SimClock();
    explicit SimClock(Options options);
    /// Stops the real-time thread. Every SimTimer must be destroyed first.
    /// Thread: control. Blocking: joins the thread. Allocates: no.
    ~SimClock();
    SimClock(const SimClock&) = delete;
    SimClock& operator=(const SimClock&) = delete;

    Mode mode() const noexcept { return opt_.mode; }

    /// Current time in ns: virtual time, or CLOCK_MONOTONIC since the clock was made.
    /// Thread: any. Blocking: wait-free. Allocates: no.
    int64_t now_ns() const noexcept;

    /// Virtual mode: moves time forward by `by`, firing every interrupt that comes due, in time
    /// order, on the calling thread (which plays the realtime thread meanwhile).
    /// Thread: control. Blocking: no. Allocates: no. -EINVAL in real-time mode.
    Result<void> advance(std::chrono::nanoseconds by);

    /// Real-time mode: starts / stops the periodic thread. Thread: control. Blocking: stop()
    /// joins. Allocates: start() creates a thread.
    Result<void> start();
    void stop();
    bool running() const noexcept { return running_.load(std::memory_order_acquire); }
    /// True when the real-time thread got SCHED_FIFO.
    bool sched_fifo() const noexcept { return fifo_.load(std::memory_order_relaxed); }
    /// Why SCHED_FIFO was not used, or empty.
    const std::string& fifo_warning() const noexcept { return fifo_warning_; }
    /// The real-time thread's punctuality since start(). Thread: any. Blocking: wait-free.
    Timing timing() const noexcept;

private:
    friend class SimTimer;
    // A fixed-size array of timer slots; replaced, never resized, when full.
    struct Table {
        explicit Table(size_t n) : size(n), slots(new std::atomic<SimTimer*>[n]) {
            for (size_t i = 0; i < n; ++i) slots[i].store(nullptr, std::memory_order_relaxed);
        }
        const size_t size;
        const std::unique_ptr<std::atomic<SimTimer*>[]> slots;
    };
    void attach(SimTimer* timer);
    void detach(SimTimer* timer);
    bool on_clock_thread() const noexcept;
    void wake() noexcept { wake_.wake_all(); }
    void thread_main();
    // One pass over the timers: services every due one; returns the earliest next deadline.
    int64_t pass_rt(int64_t now) noexcept;
    void note_wakeup(int64_t deadline, int64_t now) noexcept;

    Options opt_;
    std::chrono::steady_clock::time_point epoch_;
    std::atomic<int64_t> virtual_now_{0};
    std::mutex table_mutex_;  // control side: attach and detach; the clock thread never takes it
    std::vector<std::unique_ptr<Table>> tables_;  // every table made, the newest last
    std::atomic<Table*> table_;                   // the newest, as the clock thread reads it
    std::atomic<std::thread::id> clock_thread_{};
    std::atomic<bool> running_{false};
    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> fifo_{false};
    std::string fifo_warning_;
    WaitWord wake_;
    std::thread thread_;
    // Timing (written by the clock thread only).
    std::atomic<uint64_t> wakeups_{0};
    std::atomic<uint64_t> late_{0};
    std::atomic<int64_t> max_late_ns_{0};
    std::atomic<int64_t> max_late_at_ns_{0};
};

}  // namespace dynpcm

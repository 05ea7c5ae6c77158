#include "dynpcm/sim/sim_clock.h"

#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <limits>

#include "core/test_point.h"
#include "dynpcm/core/thread_role.h"
#include "dynpcm/rt/rt_epoch.h"
#include "dynpcm/sim/sim_timer.h"

namespace dynpcm {

namespace {
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kIdleWakeNs = 20'000'000;  // re-check stop requests this often when idle
}  // namespace

SimClock::SimClock() : SimClock(Options{}) {}

constexpr size_t kFirstTableSize = 64;

SimClock::SimClock(Options options) : opt_(options), epoch_(std::chrono::steady_clock::now()) {
    tables_.push_back(std::make_unique<Table>(kFirstTableSize));
    table_.store(tables_.back().get(), std::memory_order_release);
}

SimClock::~SimClock() { stop(); }

int64_t SimClock::now_ns() const noexcept {
    if (opt_.mode == Mode::Virtual) return virtual_now_.load(std::memory_order_acquire);
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - epoch_).count();
}

bool SimClock::on_clock_thread() const noexcept {
    return clock_thread_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

void SimClock::attach(SimTimer* timer) {
    std::lock_guard lock(table_mutex_);
    Table* t = table_.load(std::memory_order_relaxed);
    size_t i = 0;
    while (i < t->size && t->slots[i].load(std::memory_order_relaxed) != nullptr) ++i;
    if (i == t->size) {
        // Full: a pass still reading the old table sees every timer it held, so the old one
        // needs no waiting for; it stays allocated until the clock goes.
        auto bigger = std::make_unique<Table>(t->size * 2);
        for (size_t k = 0; k < t->size; ++k)
            bigger->slots[k].store(t->slots[k].load(std::memory_order_relaxed), std::memory_order_relaxed);
        tables_.push_back(std::move(bigger));
        t = tables_.back().get();
        table_.store(t, std::memory_order_release);
    }
    t->slots[i].store(timer, std::memory_order_release);
    wake();
}

void SimClock::detach(SimTimer* timer) {
    {
        std::lock_guard lock(table_mutex_);
        Table* t = table_.load(std::memory_order_relaxed);
        for (size_t i = 0; i < t->size; ++i)
            if (t->slots[i].load(std::memory_order_relaxed) == timer) {
                t->slots[i].store(nullptr, std::memory_order_seq_cst);
                break;
            }
    }
    // An older table may still list the timer, but only a pass that began before the newer
    // table was published reads it, and wait_for_rt() waits that pass out too.
    // A pass that loaded the timer before it was unpublished ends before the caller may free
    // it: the one way to wait for the realtime thread (rt_epoch.h).
    if (!on_clock_thread()) wait_for_rt();
}

int64_t SimClock::pass_rt(int64_t now) noexcept {
    int64_t earliest = kNever;
    const Table* table = table_.load(std::memory_order_acquire);
    for (size_t i = 0; i < table->size; ++i) {
        SimTimer* t = table->slots[i].load(std::memory_order_acquire);
        if (!t) continue;
        detail::test_point(test::Point::ClockHoldsTimer, static_cast<uint32_t>(i));
        t->service_rt(now);
        earliest = std::min(earliest, t->next_deadline_ns());
    }
    return earliest;
}

Result<void> SimClock::advance(std::chrono::nanoseconds by) {
    if (opt_.mode != Mode::Virtual)
        return Error(-EINVAL, "sim clock: advance() needs virtual mode; real-time clocks run by themselves");
    if (by.count() < 0) return Error(-EINVAL, fmt::format("sim clock: cannot advance by {} ns", by.count()));
    const std::thread::id previous = clock_thread_.exchange(std::this_thread::get_id());
    // Meanwhile this thread is the realtime thread: interrupts run here.
    const ThreadRole previous_role = thread_role();
    set_thread_role(ThreadRole::Rt);
    const int64_t target = virtual_now_.load() + by.count();
    for (;;) {
        RtSection section;
        SimTimer* next = nullptr;
        int64_t when = kNever;
        const Table* table = table_.load(std::memory_order_acquire);
        for (size_t i = 0; i < table->size; ++i) {
            SimTimer* t = table->slots[i].load(std::memory_order_acquire);
            if (!t) continue;
            const int64_t d = t->next_deadline_ns();
            if (d < when) {
                when = d;
                next = t;
            }
        }
        if (!next || when > target) break;
        if (when > virtual_now_.load()) virtual_now_.store(when, std::memory_order_release);
        next->service_rt(virtual_now_.load());
    }
    virtual_now_.store(target, std::memory_order_release);
    clock_thread_.store(previous);
    set_thread_role(previous_role);
    // Give the reader slot back: any number of threads may step a virtual clock in turn.
    release_rt_reader_slot();
    return ok();
}

Result<void> SimClock::start() {
    if (opt_.mode != Mode::Realtime) return Error(-EINVAL, "sim clock: start() needs real-time mode");
    if (running()) return ok();
    stop_requested_.store(false);
    wakeups_.store(0);
    late_.store(0);
    max_late_ns_.store(0);
    max_late_at_ns_.store(0);
    running_.store(true, std::memory_order_release);
    thread_ = std::thread([this] { thread_main(); });
    if (opt_.try_sched_fifo) {
        sched_param sp{};
        sp.sched_priority = opt_.fifo_priority;
        const int rc = pthread_setschedparam(thread_.native_handle(), SCHED_FIFO, &sp);
        fifo_.store(rc == 0);
        if (rc != 0)
            fifo_warning_ = fmt::format("SCHED_FIFO priority {} not permitted ({}); the clock thread runs at "
                                        "normal priority and may jitter (grant CAP_SYS_NICE or an rtprio limit)",
                                        opt_.fifo_priority, std::strerror(rc));
    }
    return ok();
}

void SimClock::stop() {
    if (!thread_.joinable()) return;
    stop_requested_.store(true);
    wake();
    thread_.join();
    running_.store(false, std::memory_order_release);
}

SimClock::Timing SimClock::timing() const noexcept {
    Timing t;
    t.wakeups = wakeups_.load(std::memory_order_relaxed);
    t.late = late_.load(std::memory_order_relaxed);
    t.max_late_ns = max_late_ns_.load(std::memory_order_relaxed);
    t.max_late_at_ns = max_late_at_ns_.load(std::memory_order_relaxed);
    return t;
}

void SimClock::note_wakeup(int64_t deadline, int64_t now) noexcept {
    const int64_t late = now - deadline;
    wakeups_.fetch_add(1, std::memory_order_relaxed);
    if (late > std::chrono::duration_cast<std::chrono::nanoseconds>(opt_.late_after).count())
        late_.fetch_add(1, std::memory_order_relaxed);
    if (late > max_late_ns_.load(std::memory_order_relaxed)) {
        max_late_ns_.store(late, std::memory_order_relaxed);
        max_late_at_ns_.store(now, std::memory_order_relaxed);
    }
}

void SimClock::thread_main() {
    set_thread_role(ThreadRole::Rt);
    (void)rt_reader_slot();  // claimed before the loop, not in it
    clock_thread_.store(std::this_thread::get_id(), std::memory_order_release);
    int64_t deadline = kNever;  // what the last sleep waited for
    while (!stop_requested_.load(std::memory_order_acquire)) {
        const uint32_t seen = wake_.seq();
        const int64_t now = now_ns();
        if (deadline != kNever && now >= deadline) note_wakeup(deadline, now);
        int64_t earliest = kNever;
        {
            RtSection section;
            earliest = pass_rt(now);
        }
        deadline = earliest;
        const int64_t sleep_ns = std::min(earliest == kNever ? kIdleWakeNs : earliest - now_ns(), kIdleWakeNs);
        if (sleep_ns > 0) wake_.wait(seen, std::chrono::nanoseconds(sleep_ns));
    }
    clock_thread_.store(std::thread::id{}, std::memory_order_release);
    release_rt_reader_slot();
}

}  // namespace dynpcm

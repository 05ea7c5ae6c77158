#include "dynpcm/sim/sim_clock.h"

#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <limits>

#include "dynpcm/core/thread_role.h"
#include "dynpcm/rt/rt_epoch.h"
#include "dynpcm/sim/sim_dma.h"

namespace dynpcm {

namespace {
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kIdleWakeNs = 20'000'000;  // re-check stop requests this often when idle
}  // namespace

SimClock::SimClock() : SimClock(Options{}) {}

SimClock::SimClock(Options options) : opt_(options), epoch_(std::chrono::steady_clock::now()) {}

SimClock::~SimClock() { stop(); }

int64_t SimClock::now_ns() const noexcept {
    if (opt_.mode == Mode::Virtual) return virtual_now_.load(std::memory_order_acquire);
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - epoch_).count();
}

bool SimClock::on_clock_thread() const noexcept {
    return clock_thread_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

bool SimClock::needs_mailbox() const noexcept {
    return opt_.mode == Mode::Realtime && running() && !on_clock_thread();
}

Result<void> SimClock::attach(SimDma* dma) {
    for (auto& slot : dmas_) {
        SimDma* expected = nullptr;
        if (slot.compare_exchange_strong(expected, dma, std::memory_order_seq_cst)) {
            wake();
            return ok();
        }
    }
    return Error(-ENOSPC, fmt::format("sim clock: more than {} DMA engines", kMaxDmas));
}

void SimClock::detach(SimDma* dma) {
    for (auto& slot : dmas_) {
        SimDma* expected = dma;
        if (slot.compare_exchange_strong(expected, nullptr, std::memory_order_seq_cst)) break;
    }
    if (on_clock_thread()) return;
    // Grace period: a pass that may have loaded `dma` before we unpublished it must end before
    // the caller frees it. Passes are short, so waiting here is bounded.
    const uint64_t seq = loop_seq_.load(std::memory_order_seq_cst);
    if (seq & 1U)
        while (loop_seq_.load(std::memory_order_seq_cst) == seq) std::this_thread::yield();
}

Result<void> SimClock::advance(std::chrono::nanoseconds by) {
    if (opt_.mode != Mode::Virtual)
        return Error(-EINVAL, "sim clock: advance() needs virtual mode; real-time clocks run by themselves");
    if (by.count() < 0) return Error(-EINVAL, fmt::format("sim clock: cannot advance by {} ns", by.count()));
    const std::thread::id previous = clock_thread_.exchange(std::this_thread::get_id());
    // Meanwhile this thread is the realtime thread: interrupts run here.
    const ThreadRole previous_role = thread_role();
    set_thread_role(ThreadRole::Rt);
    (void)rt_reader_slot();
    const int64_t target = virtual_now_.load() + by.count();
    for (;;) {
        SimDma* next = nullptr;
        int64_t when = kNever;
        for (auto& slot : dmas_) {
            SimDma* d = slot.load(std::memory_order_acquire);
            if (!d) continue;
            const int64_t t = d->next_deadline_ns();
            if (t < when) {
                when = t;
                next = d;
            }
        }
        if (!next || when > target) break;
        if (when > virtual_now_.load()) virtual_now_.store(when, std::memory_order_release);
        next->service(virtual_now_.load());
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

void SimClock::thread_main() {
    set_thread_role(ThreadRole::Rt);
    (void)rt_reader_slot();  // claimed before the loop, not in it
    clock_thread_.store(std::this_thread::get_id(), std::memory_order_release);
    while (!stop_requested_.load(std::memory_order_acquire)) {
        const uint32_t seen = wake_.seq();
        loop_seq_.fetch_add(1, std::memory_order_seq_cst);  // odd: inside a pass
        const int64_t now = now_ns();
        int64_t earliest = kNever;
        for (auto& slot : dmas_) {
            SimDma* d = slot.load(std::memory_order_seq_cst);
            if (!d) continue;
            d->service(now);
            earliest = std::min(earliest, d->next_deadline_ns());
        }
        loop_seq_.fetch_add(1, std::memory_order_seq_cst);  // even: outside
        const int64_t sleep_ns = std::min(earliest == kNever ? kIdleWakeNs : earliest - now_ns(), kIdleWakeNs);
        if (sleep_ns > 0) wake_.wait(seen, std::chrono::nanoseconds(sleep_ns));
    }
    // Apply any command posted while we were stopping, so its poster is not left waiting.
    for (auto& slot : dmas_)
        if (SimDma* d = slot.load(std::memory_order_seq_cst)) d->take_pending_command();
    clock_thread_.store(std::thread::id{}, std::memory_order_release);
    release_rt_reader_slot();
}

}  // namespace dynpcm

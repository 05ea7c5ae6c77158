#include "dynpcm/sim/sim_timer.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <limits>

#include "dynpcm/rt/rt_epoch.h"
#include "dynpcm/sim/sim_clock.h"

namespace dynpcm {

namespace {
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kNsPerSec = 1'000'000'000;
// Frames x ns overflow 64 bits after a few hours at high rates.
__extension__ typedef unsigned __int128 u128;

bool starts(TriggerCmd c) { return c == TriggerCmd::Start || c == TriggerCmd::PauseRelease || c == TriggerCmd::Resume; }
bool stops(TriggerCmd c) { return c == TriggerCmd::Stop || c == TriggerCmd::PausePush || c == TriggerCmd::Suspend; }
}  // namespace

SimTimer::SimTimer(SimClock& clock, Client& client) noexcept : clock_(clock), client_(client) {}

SimTimer::~SimTimer() { detach(); }

void SimTimer::attach() {
    if (attached_) return;
    clock_.attach(this);
    attached_ = true;
}

void SimTimer::detach() noexcept {
    if (!attached_) return;
    clock_.detach(this);
    attached_ = false;
}

Result<void> SimTimer::configure(uint32_t rate, Frames period) {
    if (running()) return Error(-EBUSY, "sim timer: configure while running");
    rate_ = rate;
    period_ = period;
    return ok();
}

Result<void> SimTimer::rewind() {
    if (running()) return Error(-EBUSY, "sim timer: rewind while running");
    anchor_frames_.store(0, std::memory_order_relaxed);
    next_irq_frames_.store(period_, std::memory_order_relaxed);
    return ok();
}

uint64_t SimTimer::triggers(TriggerCmd cmd) const noexcept {
    return trigger_counts_[static_cast<size_t>(cmd)].load(std::memory_order_relaxed);
}

Frames SimTimer::moved() const noexcept {
    const Frames next = next_irq_frames_.load(std::memory_order_acquire);
    return next >= period_ ? next - period_ : 0;
}

Frames SimTimer::position(int64_t now) const noexcept {
    const Frames base = anchor_frames_.load(std::memory_order_relaxed);
    const int64_t elapsed = now - anchor_ns_.load(std::memory_order_relaxed);
    if (elapsed <= 0 || rate_ == 0) return base;
    return base + static_cast<Frames>(static_cast<u128>(elapsed) * rate_ / kNsPerSec);
}

int64_t SimTimer::time_of(Frames frames) const noexcept {
    // The first instant at which position() reaches `frames` (rounded up, so that the
    // position read at that instant is exactly `frames`).
    const Frames base = anchor_frames_.load(std::memory_order_relaxed);
    const Frames ahead = frames > base ? frames - base : 0;
    const auto ns = (static_cast<u128>(ahead) * kNsPerSec + rate_ - 1) / rate_;
    return anchor_ns_.load(std::memory_order_relaxed) + static_cast<int64_t>(ns);
}

int64_t SimTimer::next_deadline_ns() const noexcept {
    // The configuration and anchor were published by the START that set running_.
    if (!running_.load(std::memory_order_acquire)) return kNever;
    if (rate_ == 0 || period_ == 0) return kNever;
    return time_of(next_irq_frames_.load(std::memory_order_relaxed));
}

int SimTimer::trigger(TriggerCmd cmd) noexcept { return apply(cmd, true); }

int SimTimer::trigger_rt(TriggerCmd cmd) noexcept {
#if defined(DYNPCM_THREAD_ASSERTS)
    if (!clock_.on_clock_thread()) {
        std::fputs("dynpcm: SimTimer::trigger_rt() called off its clock's realtime thread\n", stderr);
        std::abort();
    }
#endif
    return apply(cmd, false);
}

int SimTimer::apply(TriggerCmd cmd, bool control) noexcept {
    if (const int err = fail_next_.exchange(0); err != 0) return err < 0 ? err : -err;
    if (!starts(cmd) && !stops(cmd) && cmd != TriggerCmd::Drain) return -EINVAL;
    trigger_counts_[static_cast<size_t>(cmd)].fetch_add(1, std::memory_order_relaxed);
    if (cmd == TriggerCmd::Drain) return 0;
    const int64_t now = clock_.now_ns();
    if (starts(cmd)) {
        if (running()) return 0;
        // Stopped: the clock thread reads none of this until it sees running_ (a control-side
        // stop waited it out; a realtime-side one ran on the clock thread itself).
        const Frames at = anchor_frames_.load(std::memory_order_relaxed);
        if (period_ > 0) next_irq_frames_.store((at / period_ + 1) * period_, std::memory_order_relaxed);
        anchor_ns_.store(now, std::memory_order_relaxed);
        running_.store(true, std::memory_order_release);
        if (control) clock_.wake();  // it may be asleep until a later deadline, or idle
        return 0;
    }
    if (!running()) return 0;
    const Frames at = position(now);
    running_.store(false, std::memory_order_seq_cst);
    // A clock pass that saw the timer running may still be inside service_rt(): once it has
    // ended, control owns the timing state. On the clock thread, the caller is that pass.
    if (control) wait_for_rt();
    anchor_frames_.store(at, std::memory_order_relaxed);
    return 0;
}

void SimTimer::service_rt(int64_t now) noexcept {
    if (!running() || period_ == 0 || rate_ == 0) return;
    while (running() && time_of(next_irq_frames_.load(std::memory_order_relaxed)) <= now) {
        const Frames end = next_irq_frames_.load(std::memory_order_relaxed);
        next_irq_frames_.store(end + period_, std::memory_order_release);
        periods_.fetch_add(1, std::memory_order_relaxed);
        client_.period_rt(period_);
    }
}

}  // namespace dynpcm

#include "dynpcm/sim/sim_timer.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cmath>
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

// Frames per ns, as a fraction: rate × (1e9 + ppb) frames per 1e18 ns.
constexpr u128 kScale = static_cast<u128>(kNsPerSec) * kNsPerSec;

Frames SimTimer::position(int64_t now) const noexcept {
    const Frames base = anchor_frames_.load(std::memory_order_relaxed);
    const int64_t elapsed = now - anchor_ns_.load(std::memory_order_relaxed);
    if (elapsed <= 0 || rate_ == 0) return base;
    const u128 speed = static_cast<u128>(rate_) * static_cast<u128>(kNsPerSec + ppb_.load(std::memory_order_relaxed));
    return base + static_cast<Frames>(static_cast<u128>(elapsed) * speed / kScale);
}

int64_t SimTimer::time_of(Frames frames) const noexcept {
    // The first instant at which position() reaches `frames` (rounded up, so that the
    // position read at that instant is exactly `frames`).
    const Frames base = anchor_frames_.load(std::memory_order_relaxed);
    const Frames ahead = frames > base ? frames - base : 0;
    const u128 speed = static_cast<u128>(rate_) * static_cast<u128>(kNsPerSec + ppb_.load(std::memory_order_relaxed));
    const auto ns = (static_cast<u128>(ahead) * kScale + speed - 1) / speed;
    return anchor_ns_.load(std::memory_order_relaxed) + static_cast<int64_t>(ns);
}

int64_t SimTimer::next_deadline_ns() const noexcept {
    // The configuration and anchor were published by the START that set running_.
    if (!running_.load(std::memory_order_acquire)) return kNever;
    if (rate_ == 0 || period_ == 0) return kNever;
    return time_of(next_irq_frames_.load(std::memory_order_relaxed)) + jitter_ns_.load(std::memory_order_relaxed);
}

double SimTimer::lag_rt() const noexcept {
    if (!running_.load(std::memory_order_relaxed) || rate_ == 0) return 0;
    const Frames irq = moved();
    const double speed = rate_ * (1.0 + static_cast<double>(ppb_.load(std::memory_order_relaxed)) * 1e-9) * 1e-9;
    const double pos = static_cast<double>(anchor_frames_.load(std::memory_order_relaxed)) +
                       static_cast<double>(clock_.now_ns() - anchor_ns_.load(std::memory_order_relaxed)) * speed;
    return std::max(0.0, pos - static_cast<double>(irq));
}

Result<void> SimTimer::check(const ClockModel& m) {
    auto bad = [](const char* what, double v, double lo, double hi) -> Result<void> {
        if (std::isfinite(v) && v >= lo && v <= hi) return ok();
        return Error(-EINVAL, fmt::format("clock {} {} is outside {}..{}", what, v, lo, hi));
    };
    if (auto r = bad("ppm", m.ppm, -10000, 10000); !r) return r;
    if (auto r = bad("wander", m.wander, 0, 10000); !r) return r;
    if (auto r = bad("span", m.span, 0, 10000); !r) return r;
    return bad("jitter", m.jitter_us, 0, 100000);
}

void SimTimer::set_clock(const ClockModel& in) noexcept {
    auto within = [](double v, double lo, double hi) { return std::isfinite(v) ? std::clamp(v, lo, hi) : 0.0; };
    ClockModel m = in;
    m.ppm = within(m.ppm, -10000, 10000);
    m.wander = within(m.wander, 0, 10000);
    m.span = within(m.span, 0, 10000);
    m.jitter_us = within(m.jitter_us, 0, 100000);
    base_ppb_.store(static_cast<int64_t>(m.ppm * 1000.0), std::memory_order_relaxed);
    wander_ppb_min_.store(static_cast<int64_t>(m.wander * 1000.0), std::memory_order_relaxed);
    span_ppb_.store(static_cast<int64_t>((m.span > 0 ? m.span : m.wander) * 1000.0), std::memory_order_relaxed);
    jitter_max_ns_.store(static_cast<int64_t>(m.jitter_us * 1000.0), std::memory_order_relaxed);
    seed_.store(m.seed, std::memory_order_relaxed);
    if (!running()) {  // stopped: control owns the walk; it starts at the crystal's offset
        walk_ppb_ = walk_to_ppb_ = 0;
        rng_ = 0;
        ppb_.store(base_ppb_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    }
    modeled_.store(true, std::memory_order_release);
}

double SimTimer::measured_ppm() const noexcept {
    // Four relaxed loads, not one snapshot: across a restart they may mix, so a negative span
    // reads as nothing measured yet.
    const Frames last = last_frames_.load(std::memory_order_relaxed), first = start_frames_.load(std::memory_order_relaxed);
    const int64_t ns = last_ns_.load(std::memory_order_relaxed) - start_ns_.load(std::memory_order_relaxed);
    if (ns <= 0 || rate_ == 0 || last < first) return 0;
    const Frames frames = last - first;
    const double nominal = static_cast<double>(ns) * rate_ / static_cast<double>(kNsPerSec);
    return (static_cast<double>(frames) / nominal - 1.0) * 1e6;
}

void SimTimer::step_clock(int64_t period_ns) noexcept {
    // xorshift64*: cheap, and the same sequence on every run.
    auto next = [this]() noexcept {
        if (rng_ == 0) rng_ = 0x9E3779B97F4A7C15ULL ^ (static_cast<uint64_t>(seed_.load(std::memory_order_relaxed)) << 1 | 1);
        rng_ ^= rng_ >> 12;
        rng_ ^= rng_ << 25;
        rng_ ^= rng_ >> 27;
        return rng_ * 0x2545F4914F6CDD1DULL;
    };
    auto uniform = [&](int64_t lo, int64_t hi) noexcept {  // in [lo, hi]
        if (hi <= lo) return lo;
        return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
    };
    // The walk: towards a target inside the span at the wander speed; a new target when it is there.
    // (In double ppb: at short periods a step is a small fraction of a ppb.)
    const auto span = static_cast<double>(span_ppb_.load(std::memory_order_relaxed));
    const auto speed = static_cast<double>(wander_ppb_min_.load(std::memory_order_relaxed));
    walk_to_ppb_ = std::clamp(walk_to_ppb_, -span, span);
    if (speed > 0 && span > 0) {
        const double step = speed * static_cast<double>(period_ns) / 60e9;
        if (walk_ppb_ == walk_to_ppb_) {
            const auto s = static_cast<int64_t>(span);
            walk_to_ppb_ = static_cast<double>(uniform(-s, s));
        }
        walk_ppb_ += std::clamp(walk_to_ppb_ - walk_ppb_, -step, step);
    } else {
        walk_ppb_ = walk_to_ppb_ = 0;
    }
    ppb_.store(base_ppb_.load(std::memory_order_relaxed) + std::llround(walk_ppb_), std::memory_order_relaxed);
    jitter_ns_.store(uniform(0, jitter_max_ns_.load(std::memory_order_relaxed)), std::memory_order_relaxed);
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
        start_frames_.store(at, std::memory_order_relaxed);
        last_frames_.store(at, std::memory_order_relaxed);
        start_ns_.store(now, std::memory_order_relaxed);
        last_ns_.store(now, std::memory_order_relaxed);
        running_.store(true, std::memory_order_release);
        if (control) clock_.wake();  // it may be asleep until a later deadline, or idle
        return 0;
    }
    if (!running()) return 0;
    running_.store(false, std::memory_order_seq_cst);
    // A clock pass that saw the timer running may still be inside service_rt() (and move the
    // anchor to the boundary it serves): once it has ended, control owns the timing state. On
    // the clock thread, the caller is that pass.
    if (control) wait_for_rt();
    // Where it was when it stopped; but not behind a boundary a pass served meanwhile (it moved
    // the anchor there), or a restart would serve that boundary again.
    anchor_frames_.store(std::max(position(now), moved()), std::memory_order_relaxed);
    anchor_ns_.store(now, std::memory_order_relaxed);
    return 0;
}

void SimTimer::service_rt(int64_t now) noexcept {
    if (!running() || period_ == 0 || rate_ == 0) return;
    const bool modeled = modeled_.load(std::memory_order_acquire);
    while (running()) {
        const Frames end = next_irq_frames_.load(std::memory_order_relaxed);
        const int64_t at = time_of(end);  // the DMA boundary; its interrupt may come later
        if (at + jitter_ns_.load(std::memory_order_relaxed) > now) break;
        if (modeled) {
            // A crystal off nominal: from this boundary on, the position runs at its new offset.
            const int64_t prev = last_ns_.load(std::memory_order_relaxed);
            anchor_frames_.store(end, std::memory_order_relaxed);
            anchor_ns_.store(at, std::memory_order_relaxed);
            step_clock(at > prev ? at - prev : 0);
        }
        last_frames_.store(end, std::memory_order_relaxed);
        last_ns_.store(at, std::memory_order_relaxed);
        next_irq_frames_.store(end + period_, std::memory_order_release);
        periods_.fetch_add(1, std::memory_order_relaxed);
        client_.period_rt(period_);
    }
}

}  // namespace dynpcm

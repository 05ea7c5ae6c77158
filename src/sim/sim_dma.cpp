#include "dynpcm/sim/sim_dma.h"

#include <fmt/format.h>

#include <limits>
#include <thread>

#include "dynpcm/pcm/pcm_runtime.h"

namespace dynpcm {

namespace {
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kNsPerSec = 1'000'000'000;
// Frames x ns overflow 64 bits after a few hours at high rates.
__extension__ typedef unsigned __int128 u128;

// Claims command `seq` for applying; exactly one of the clock thread and the poster wins.
bool claim(std::atomic<uint32_t>& claimed, uint32_t seq) {
    uint32_t c = claimed.load(std::memory_order_acquire);
    while (c != seq)
        if (claimed.compare_exchange_weak(c, seq, std::memory_order_acq_rel)) return true;
    return false;
}
}  // namespace

SimDma::SimDma(SimClock& clock) : SimDma(clock, Options{}) {}
SimDma::SimDma(SimClock& clock, Options options) : clock_(clock), opt_(std::move(options)) {}

SimDma::~SimDma() {
    if (runtime_ || client_) clock_.detach(this);
}

bool SimDma::attach_client(Client& client) {
    if (runtime_ || client_) return false;
    client_ = &client;
    if (!clock_.attach(this)) {
        client_ = nullptr;
        return false;
    }
    return true;
}

void SimDma::detach_client() {
    if (client_) clock_.detach(this);
    client_ = nullptr;
}

void SimDma::attach(PcmRuntime& runtime) {
    runtime_ = &runtime;
    // A full clock (64 engines) leaves this DMA unclocked: it keeps no runtime, so its triggers
    // apply directly, its stream never advances, and blocking calls on it report -EIO after the
    // runtime's timeout.
    if (!clock_.attach(this)) runtime_ = nullptr;
}

void SimDma::detach(PcmRuntime& /*runtime*/) {
    if (runtime_) clock_.detach(this);
    runtime_ = nullptr;
}

uint64_t SimDma::triggers(TriggerCmd cmd) const noexcept {
    return trigger_counts_[static_cast<size_t>(cmd)].load(std::memory_order_relaxed);
}

Result<void> SimDma::hw_params(const HwParams& params) {
    if (running()) return Error(-EBUSY, fmt::format("sim dma '{}': hw_params while running", opt_.name));
    rate_ = params.rate();
    period_ = params.period_size();
    buffer_ = params.buffer_size();
    frame_bytes_ = frame_bytes(params.format(), params.channels());
    scratch_.assign(static_cast<size_t>(period_) * frame_bytes_, std::byte{0});
    return ok();
}

Result<void> SimDma::prepare() {
    if (running()) return Error(-EBUSY, fmt::format("sim dma '{}': prepare while running", opt_.name));
    anchor_frames_.store(0);
    jump_.store(0);
    next_irq_frames_.store(period_);
    return ok();
}

Frames SimDma::position(int64_t now) const noexcept {
    const Frames base = anchor_frames_.load(std::memory_order_acquire);
    if (!running_.load(std::memory_order_acquire)) return base;
    const int64_t elapsed = now - anchor_ns_.load(std::memory_order_acquire);
    if (elapsed <= 0) return base;
    return base + static_cast<Frames>(static_cast<u128>(elapsed) * rate_ / kNsPerSec);
}

int64_t SimDma::time_of(Frames frames) const noexcept {
    // The first instant at which position() reaches `frames` (rounded up, so that the
    // position read at that instant is exactly `frames`).
    const Frames base = anchor_frames_.load(std::memory_order_acquire);
    const Frames ahead = frames > base ? frames - base : 0;
    const auto ns = (static_cast<u128>(ahead) * kNsPerSec + rate_ - 1) / rate_;
    return anchor_ns_.load(std::memory_order_acquire) + static_cast<int64_t>(ns);
}

Frames SimDma::pointer() noexcept {
    if (xrun_pending_.exchange(false)) return kPosXrun;
    if (buffer_ == 0) return 0;
    // The engine moves data a period at a time (like SNDRV_PCM_INFO_BATCH hardware), so the
    // position register shows the frames actually moved, not the clock's continuous position:
    // a pointer ahead of the data would let the application overwrite unplayed frames.
    const Frames moved = next_irq_frames_.load(std::memory_order_relaxed) - period_;
    return (moved + jump_.load(std::memory_order_relaxed)) % buffer_;
}

int64_t SimDma::next_deadline_ns() const noexcept {
    if (cmd_seq_.load(std::memory_order_acquire) != cmd_done_.load(std::memory_order_acquire)) return 0;
    // Configuration (rate_, period_, ...) is written by control only while stopped; a running
    // engine's was published by the START that set running_.
    if (!running_.load(std::memory_order_acquire)) return kNever;
    if (rate_ == 0 || period_ == 0 || (!runtime_ && !client_)) return kNever;
    return time_of(next_irq_frames_.load(std::memory_order_relaxed));
}

int SimDma::trigger(TriggerCmd cmd) noexcept {
    // An engine without a runtime is not on the clock's list, so the clock thread never touches
    // its state: apply directly (the caller serialises its own triggers).
    if ((!runtime_ && !client_) || !clock_.needs_mailbox()) return apply(cmd);
    // Real-time clock running and we are not on its thread: hand the command over, so that the
    // clock thread stays the only writer of the timing state, and wait for it to be applied.
    // The caller is a control thread, which may wait for rt.
    const uint32_t seq = ++next_seq_ == 0 ? ++next_seq_ : next_seq_;
    cmd_.store(cmd, std::memory_order_relaxed);
    cmd_seq_.store(seq, std::memory_order_release);
    clock_.wake();
    while (cmd_done_.load(std::memory_order_acquire) != seq) {
        if (!clock_.running() && claim(cmd_claimed_, seq)) {
            cmd_result_.store(apply(cmd), std::memory_order_relaxed);
            cmd_done_.store(seq, std::memory_order_release);
            break;
        }
        std::this_thread::yield();
    }
    return cmd_result_.load(std::memory_order_relaxed);
}

void SimDma::take_pending_command() noexcept {
    const uint32_t seq = cmd_seq_.load(std::memory_order_acquire);
    if (seq == 0 || seq == cmd_done_.load(std::memory_order_acquire)) return;
    if (!claim(cmd_claimed_, seq)) return;
    cmd_result_.store(apply(cmd_.load(std::memory_order_relaxed)), std::memory_order_relaxed);
    cmd_done_.store(seq, std::memory_order_release);
}

int SimDma::apply(TriggerCmd cmd) noexcept {
    if (const int err = fail_next_.exchange(0); err != 0) return err < 0 ? err : -err;
    trigger_counts_[static_cast<size_t>(cmd)].fetch_add(1, std::memory_order_relaxed);
    const int64_t now = clock_.now_ns();
    switch (cmd) {
        case TriggerCmd::Start:
        case TriggerCmd::PauseRelease:
        case TriggerCmd::Resume: {
            if (running()) return 0;
            const Frames at = anchor_frames_.load();
            next_irq_frames_.store((at / period_ + 1) * period_, std::memory_order_relaxed);
            anchor_ns_.store(now, std::memory_order_release);
            running_.store(true, std::memory_order_release);
            return 0;
        }
        case TriggerCmd::Stop:
        case TriggerCmd::PausePush:
        case TriggerCmd::Suspend:
            if (!running()) return 0;
            anchor_frames_.store(position(now), std::memory_order_release);
            running_.store(false, std::memory_order_release);
            return 0;
        case TriggerCmd::Drain: return 0;
    }
    return -EINVAL;
}

void SimDma::service(int64_t now) noexcept {
    take_pending_command();
    if (!running()) return;  // see next_deadline_ns(): configuration is only read while running
    PcmRuntime* rt = runtime_;
    if ((!rt && !client_) || period_ == 0) return;
    while (running() && time_of(next_irq_frames_.load(std::memory_order_relaxed)) <= now) {
        const Frames end = next_irq_frames_.load(std::memory_order_relaxed);
        if (client_) {
            next_irq_frames_.store(end + period_, std::memory_order_relaxed);
            unsigned skip = skip_pending_.load(std::memory_order_relaxed);
            if (skip > 0 && skip_pending_.compare_exchange_strong(skip, skip - 1)) continue;
            interrupts_.fetch_add(1, std::memory_order_relaxed);
            client_->period_rt(period_);
            continue;
        }
        if (const Frames j = jump_pending_.exchange(0); j != 0) jump_.fetch_add(j, std::memory_order_relaxed);
        const Frames offset = (end - period_ + jump_.load(std::memory_order_relaxed)) % buffer_;
        if (rt->stream() == Stream::Playback) {
            rt->dma_read_rt(offset, period_, scratch_.data());
            if (sink_) sink_(scratch_.data(), period_);
        } else {
            if (source_) source_(scratch_.data(), period_);
            rt->dma_write_rt(offset, period_, scratch_.data());
        }
        next_irq_frames_.store(end + period_, std::memory_order_relaxed);
        unsigned skip = skip_pending_.load(std::memory_order_relaxed);
        if (skip > 0 && skip_pending_.compare_exchange_strong(skip, skip - 1)) continue;
        interrupts_.fetch_add(1, std::memory_order_relaxed);
        rt->period_elapsed_rt();
    }
}

}  // namespace dynpcm

#include "dynpcm/sim/sim_dma.h"

#include <fmt/format.h>

#include "dynpcm/pcm/pcm_runtime.h"

namespace dynpcm {

SimDma::SimDma(SimClock& clock) : SimDma(clock, Options{}) {}
SimDma::SimDma(SimClock& clock, Options options) : clock_(clock), opt_(std::move(options)), timer_(clock, *this) {}

SimDma::~SimDma() { timer_.detach(); }

void SimDma::attach(PcmRuntime& runtime) {
    runtime_ = &runtime;
    timer_.attach();
}

void SimDma::detach(PcmRuntime& /*runtime*/) {
    timer_.detach();  // returns once the clock thread no longer holds it
    runtime_ = nullptr;
}

Result<void> SimDma::hw_params(const HwParams& params) {
    if (running()) return Error(-EBUSY, fmt::format("sim dma '{}': hw_params while running", opt_.name));
    if (auto r = timer_.configure(params.rate(), params.period_size()); !r) return r;
    buffer_ = params.buffer_size();
    frame_bytes_ = frame_bytes(params.format(), params.channels());
    scratch_.assign(static_cast<size_t>(params.period_size()) * frame_bytes_, std::byte{0});
    return ok();
}

Result<void> SimDma::prepare() {
    if (running()) return Error(-EBUSY, fmt::format("sim dma '{}': prepare while running", opt_.name));
    jump_.store(0);
    return timer_.rewind();
}

int SimDma::trigger(TriggerCmd cmd) noexcept { return timer_.trigger(cmd); }
int SimDma::trigger_rt(TriggerCmd cmd) noexcept { return timer_.trigger_rt(cmd); }

Frames SimDma::pointer() noexcept {
    if (xrun_pending_.exchange(false)) return kPosXrun;
    if (buffer_ == 0) return 0;
    // The engine moves data a period at a time (like SNDRV_PCM_INFO_BATCH hardware), so the
    // position register shows the frames actually moved, not the clock's continuous position:
    // a pointer ahead of the data would let the application overwrite unplayed frames.
    return (timer_.moved() + jump_.load(std::memory_order_relaxed)) % buffer_;
}

void SimDma::period_rt(Frames frames) noexcept {
    PcmRuntime* rt = runtime_;
    if (!rt || buffer_ == 0) return;
    if (const Frames j = jump_pending_.exchange(0); j != 0) jump_.fetch_add(j, std::memory_order_relaxed);
    // This period ends at moved(): the timer has advanced its boundary already.
    const Frames start = timer_.moved() - frames;
    const Frames offset = (start + jump_.load(std::memory_order_relaxed)) % buffer_;
    if (rt->stream() == Stream::Playback) {
        rt->dma_read_rt(offset, frames, scratch_.data());
        if (sink_) sink_(scratch_.data(), frames);
    } else {
        if (source_) source_(scratch_.data(), frames);
        rt->dma_write_rt(offset, frames, scratch_.data());
    }
    unsigned skip = skip_pending_.load(std::memory_order_relaxed);
    if (skip > 0 && skip_pending_.compare_exchange_strong(skip, skip - 1)) return;
    interrupts_.fetch_add(1, std::memory_order_relaxed);
    rt->period_elapsed_rt();
}

}  // namespace dynpcm

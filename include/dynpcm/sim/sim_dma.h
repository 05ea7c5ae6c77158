#pragma once
/// SimDma: a simulated DMA engine that implements PcmHardware on a SimClock, for a PcmRuntime.
///
/// Its SimTimer gives it a period clock; at each period boundary it moves one period of data
/// (playback: reads the ring into the sink; capture: writes the source into the ring), then
/// raises the period interrupt (PcmRuntime::period_elapsed_rt). Faults can be injected to
/// exercise the pointer-update rules: pointer jumps, lost interrupts and a reported overrun.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dynpcm/pcm/hardware.h"
#include "dynpcm/sim/sim_clock.h"
#include "dynpcm/sim/sim_timer.h"

namespace dynpcm {

class SimDma final : public PcmHardware, private SimTimer::Client {
public:
    /// Receives one period of interleaved playback frames. Called on the rt thread: it must not
    /// block or allocate.
    using Sink = std::function<void(const std::byte* frames, Frames count)>;
    /// Fills one period of interleaved capture frames. Called on the rt thread.
    using Source = std::function<void(std::byte* frames, Frames count)>;

    struct Options {
        std::string name = "sim";
        Frames fifo_frames = 0;  ///< reported as extra delay()
    };

    /// Thread: control. Allocates: no. The clock must outlive the DMA.
    explicit SimDma(SimClock& clock);
    SimDma(SimClock& clock, Options options);
    /// Thread: control. Blocking: waits out the clock thread's current pass. Allocates: no.
    ~SimDma() override;
    SimDma(const SimDma&) = delete;
    SimDma& operator=(const SimDma&) = delete;

    /// Set these before the stream starts. Thread: control. Allocates: may.
    void set_sink(Sink sink) { sink_ = std::move(sink); }
    void set_source(Source source) { source_ = std::move(source); }

    // --- fault injection. Thread: control. Blocking: wait-free. Allocates: no.
    /// The position register jumps ahead by `frames` before the next interrupt.
    void inject_pointer_jump(Frames frames) noexcept { jump_pending_.fetch_add(frames); }
    /// The next interrupt's pointer() reports kPosXrun.
    void inject_xrun() noexcept { xrun_pending_.store(true); }
    /// The next `n` period interrupts are lost (the position keeps moving).
    void skip_interrupts(unsigned n) noexcept { skip_pending_.fetch_add(n); }
    /// The next trigger() fails with `negative_errno`.
    void fail_next_trigger(int negative_errno) noexcept { timer_.fail_next_trigger(negative_errno); }

    /// Thread: any. Blocking: wait-free. Allocates: no.
    bool running() const noexcept { return timer_.running(); }
    uint64_t interrupts() const noexcept { return interrupts_.load(std::memory_order_relaxed); }
    uint64_t triggers(TriggerCmd cmd) const noexcept { return timer_.triggers(cmd); }

    // --- PcmHardware
    void attach(PcmRuntime& runtime) override;
    void detach(PcmRuntime& runtime) override;
    Result<void> hw_params(const HwParams& params) override;
    Result<void> prepare() override;
    int trigger(TriggerCmd cmd) noexcept override;
    int trigger_rt(TriggerCmd cmd) noexcept override;
    Frames pointer() noexcept override;
    int64_t now_ns() noexcept override { return clock_.now_ns(); }
    Frames delay() noexcept override { return opt_.fifo_frames; }

private:
    void period_rt(Frames frames) noexcept override;

    SimClock& clock_;
    Options opt_;
    SimTimer timer_;
    // Set by attach() while the timer is off the clock; read by the clock thread.
    PcmRuntime* runtime_ = nullptr;
    Sink sink_;
    Source source_;
    std::vector<std::byte> scratch_;
    Frames buffer_ = 0;
    uint32_t frame_bytes_ = 0;

    std::atomic<Frames> jump_{0};
    std::atomic<Frames> jump_pending_{0};
    std::atomic<bool> xrun_pending_{false};
    std::atomic<unsigned> skip_pending_{0};
    std::atomic<uint64_t> interrupts_{0};
};

}  // namespace dynpcm

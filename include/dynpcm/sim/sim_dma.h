#pragma once
/// SimDma: a simulated DMA engine that implements PcmHardware on a SimClock.
///
/// While started, its position advances at the configured rate. At each period boundary it
/// moves one period of data (playback: reads the ring into the sink; capture: writes the
/// source into the ring), then raises the period interrupt (PcmRuntime::period_elapsed_rt).
/// Faults can be injected to exercise the pointer-update rules: pointer jumps, lost
/// interrupts and a reported overrun.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dynpcm/pcm/hardware.h"
#include "dynpcm/sim/sim_clock.h"

namespace dynpcm {

class SimDma final : public PcmHardware {
public:
    /// Receives one period of interleaved playback frames. Called on the rt thread: it must not
    /// block or allocate.
    using Sink = std::function<void(const std::byte* frames, Frames count)>;
    /// Fills one period of interleaved capture frames. Called on the rt thread.
    using Source = std::function<void(std::byte* frames, Frames count)>;

    /// What a DMA serves instead of a PcmRuntime: the DPCM engine's BE streams, which move
    /// their own data. Called on the rt thread at each period boundary with the period's size.
    class Client {
    public:
        virtual void period_rt(Frames frames) noexcept = 0;

    protected:
        ~Client() = default;
    };

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
    void fail_next_trigger(int negative_errno) noexcept { fail_next_.store(negative_errno); }

    /// Thread: any. Blocking: wait-free. Allocates: no.
    bool running() const noexcept { return running_.load(std::memory_order_acquire); }
    uint64_t interrupts() const noexcept { return interrupts_.load(std::memory_order_relaxed); }
    uint64_t triggers(TriggerCmd cmd) const noexcept;

    /// Puts the DMA on its clock serving `client` (in place of a runtime). False when the
    /// clock is full. Thread: control. Allocates: no. The client must outlive the attachment.
    bool attach_client(Client& client);
    void detach_client();

    // --- PcmHardware
    void attach(PcmRuntime& runtime) override;
    void detach(PcmRuntime& runtime) override;
    Result<void> hw_params(const HwParams& params) override;
    Result<void> prepare() override;
    int trigger(TriggerCmd cmd) noexcept override;
    Frames pointer() noexcept override;
    int64_t now_ns() noexcept override { return clock_.now_ns(); }
    Frames delay() noexcept override { return opt_.fifo_frames; }

private:
    friend class SimClock;
    // Clock-thread side. next_deadline_ns() is INT64_MAX when nothing is due.
    int64_t next_deadline_ns() const noexcept;
    void service(int64_t now) noexcept;
    int apply(TriggerCmd cmd) noexcept;
    Frames position(int64_t now) const noexcept;
    int64_t time_of(Frames frames) const noexcept;
    void take_pending_command() noexcept;

    SimClock& clock_;
    Options opt_;
    PcmRuntime* runtime_ = nullptr;
    Client* client_ = nullptr;
    Sink sink_;
    Source source_;
    std::vector<std::byte> scratch_;

    uint32_t rate_ = 0;
    Frames period_ = 0;
    Frames buffer_ = 0;
    uint32_t frame_bytes_ = 0;

    // Timing; mutated only by whoever applies commands (see SimClock).
    std::atomic<bool> running_{false};
    std::atomic<Frames> anchor_frames_{0};
    std::atomic<int64_t> anchor_ns_{0};
    std::atomic<Frames> next_irq_frames_{0};
    std::atomic<Frames> jump_{0};

    std::atomic<Frames> jump_pending_{0};
    std::atomic<bool> xrun_pending_{false};
    std::atomic<unsigned> skip_pending_{0};
    std::atomic<int> fail_next_{0};
    std::atomic<uint64_t> interrupts_{0};
    std::atomic<uint64_t> trigger_counts_[7]{};

    // Mailbox for control-side triggers while the real-time thread runs.
    std::atomic<uint32_t> cmd_seq_{0};      // the posted command's sequence, 0 = none
    std::atomic<uint32_t> cmd_claimed_{0};  // sequence of the last command taken for applying
    std::atomic<uint32_t> cmd_done_{0};     // sequence of the last command applied
    std::atomic<TriggerCmd> cmd_{TriggerCmd::Stop};
    std::atomic<int> cmd_result_{0};
    uint32_t next_seq_ = 0;  // control side, under the runtime's control serialisation
};

}  // namespace dynpcm

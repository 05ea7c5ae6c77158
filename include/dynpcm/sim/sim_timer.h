#pragma once
/// SimTimer: one periodic interrupt source on a SimClock -- a DMA engine's period clock.
///
/// While started, its position advances at the configured rate; at each period boundary the
/// clock calls the client's period_rt() on the realtime thread (the clock thread in real time,
/// the caller of SimClock::advance() in virtual time). A SimDma uses one to move a PcmRuntime's
/// data; each DPCM BE stream is the client of one to tick its data path.
///
/// Its crystal (set_clock) may run off nominal: the position then advances at rate × (1 + ppm),
/// the offset wandering within its span, and each period interrupt comes late by its jitter
/// (the DMA position stays exact: only the interrupt is late, as on hardware). Without a
/// model the timer is exactly nominal. The walk and the jitter come from a seeded generator,
/// so virtual runs stay deterministic.
///
/// Who writes the timing state (position anchor, next period boundary, running): the clock
/// thread while the timer runs; the control side only after it has stopped the timer and
/// waited out the realtime thread (wait_for_rt), or before it starts it. The START that sets
/// `running` (release) publishes what control wrote; the clock thread reads the rest only
/// after it has seen `running` (acquire).

#include <atomic>
#include <cstdint>

#include "dynpcm/core/result.h"
#include "dynpcm/sim/clock_model.h"
#include "dynpcm/pcm/state.h"
#include "dynpcm/pcm/sw_params.h"

namespace dynpcm {

class SimClock;

class SimTimer {
public:
    /// What the timer drives. period_rt() runs on the realtime thread, inside a realtime
    /// section, once per period boundary: it must not block, allocate or lock.
    class Client {
    public:
        virtual void period_rt(Frames frames) noexcept = 0;

    protected:
        ~Client() = default;
    };

    /// Thread: control. Allocates: no. The clock and the client must outlive the timer.
    SimTimer(SimClock& clock, Client& client) noexcept;
    /// Detaches. Thread: control. Blocking: waits out a clock pass that holds the timer.
    ~SimTimer();
    SimTimer(const SimTimer&) = delete;
    SimTimer& operator=(const SimTimer&) = delete;

    /// Puts the timer on its clock's list (which grows as needed). Attaching an attached timer
    /// does nothing. Thread: control. Blocking: takes the clock's table lock, which the clock
    /// thread never takes. Allocates: when the clock's table is full.
    void attach();
    /// Takes it off the list and returns once no realtime thread holds it any more.
    /// Thread: control. Blocking: waits out the clock pass in progress. Allocates: no.
    void detach() noexcept;
    bool attached() const noexcept { return attached_; }

    /// Rate and period. -EBUSY while running. Thread: control. Allocates: no.
    Result<void> configure(uint32_t rate, Frames period);
    /// Back to position 0 (prepare). -EBUSY while running. Thread: control. Allocates: no.
    Result<void> rewind();

    /// START, STOP, PAUSE_PUSH/RELEASE, SUSPEND, RESUME (DRAIN does nothing). Returns 0 or a
    /// negative errno. Control side: returns once applied; after a stopping command returns,
    /// no period of this timer is in progress and none will start until the next start.
    /// Thread: control. Blocking: a stopping command waits out the realtime thread (sleeping).
    /// Allocates: no.
    int trigger(TriggerCmd cmd) noexcept;
    /// The same from the realtime thread of this timer's clock (a period callback stopping
    /// its own timer or another on the same clock). Thread: rt. Blocking: wait-free.
    /// Allocates: no.
    int trigger_rt(TriggerCmd cmd) noexcept;

    // ---- state. Thread: any. Blocking: wait-free. Allocates: no.
    bool running() const noexcept { return running_.load(std::memory_order_acquire); }
    /// Frames of the periods completed since the last rewind (the next boundary minus one
    /// period): what a period-at-a-time DMA has moved.
    Frames moved() const noexcept;
    uint32_t rate() const noexcept { return rate_; }
    Frames period() const noexcept { return period_; }
    /// Period callbacks made so far.
    uint64_t periods() const noexcept { return periods_.load(std::memory_order_relaxed); }
    /// How many times each command was applied (fail_next_trigger refusals not counted).
    uint64_t triggers(TriggerCmd cmd) const noexcept;

    /// The crystal. While running, too (a scenario changes it live): the realtime side applies
    /// it at its next period boundary. Values check() refuses are clamped into its ranges.
    /// Thread: control. Blocking: wait-free. Allocates: no.
    void set_clock(const ClockModel& model) noexcept;
    /// Whether a crystal is one a timer can run: finite, |ppm| and span at most 10000, wander at
    /// most 10000 ppm/min, jitter 0..100000 µs (the card file's ranges). Thread: any. Allocates:
    /// on error (the message names the bad value).
    static Result<void> check(const ClockModel& model);
    /// Whether set_clock() was ever called: the timer is a clock domain of its own.
    /// Thread: any. Blocking: wait-free.
    bool has_clock() const noexcept { return modeled_.load(std::memory_order_acquire); }
    /// The offset from nominal that the crystal runs at now, in ppm (the walk included).
    /// Thread: any. Blocking: wait-free.
    double ppm_now() const noexcept { return static_cast<double>(ppb_.load(std::memory_order_relaxed)) / 1000.0; }
    /// Its rate as measured since it last started: frames moved over nominal frames for the time
    /// taken, minus one, in ppm (0 before its first period). Thread: any. Blocking: wait-free.
    double measured_ppm() const noexcept;
    /// How far (in frames, with the fraction) the DMA has moved past the period boundary it last
    /// interrupted for: the lateness of that interrupt, or the way into the next period.
    /// Thread: rt, the clock's own thread. Blocking: wait-free.
    double lag_rt() const noexcept;

    /// Fault injection: the next trigger fails with `negative_errno`. Thread: control.
    void fail_next_trigger(int negative_errno) noexcept { fail_next_.store(negative_errno); }

private:
    friend class SimClock;
    // Clock side (inside a realtime section). next_deadline_ns() is INT64_MAX when nothing is due.
    int64_t next_deadline_ns() const noexcept;
    void service_rt(int64_t now) noexcept;
    int apply(TriggerCmd cmd, bool control) noexcept;
    Frames position(int64_t now) const noexcept;
    int64_t time_of(Frames frames) const noexcept;

    SimClock& clock_;
    Client& client_;
    bool attached_ = false;  // control side
    // Configuration: control, while stopped.
    uint32_t rate_ = 0;
    Frames period_ = 0;
    // Timing (see the class comment).
    std::atomic<bool> running_{false};
    std::atomic<Frames> anchor_frames_{0};
    std::atomic<int64_t> anchor_ns_{0};
    std::atomic<Frames> next_irq_frames_{0};
    std::atomic<int> fail_next_{0};
    std::atomic<uint64_t> periods_{0};
    std::atomic<uint64_t> trigger_counts_[7]{};
    // The crystal: what control set (applied at a boundary) and the rt-owned walk.
    void step_clock(int64_t period_ns) noexcept;
    std::atomic<bool> modeled_{false};
    std::atomic<int64_t> base_ppb_{0}, wander_ppb_min_{0}, span_ppb_{0}, jitter_max_ns_{0};
    std::atomic<uint32_t> seed_{0};
    std::atomic<int64_t> ppb_{0};         // the offset in force (rt writes while running)
    std::atomic<int64_t> jitter_ns_{0};   // how late the next interrupt comes
    double walk_ppb_ = 0, walk_to_ppb_ = 0;  // rt-owned
    uint64_t rng_ = 0;                        // rt-owned
    // Measured rate: frames and exact time at the start, and at the last boundary.
    std::atomic<Frames> start_frames_{0}, last_frames_{0};
    std::atomic<int64_t> start_ns_{0}, last_ns_{0};
};

}  // namespace dynpcm

#pragma once
/// SimBackend: a simulated codec behind a BE. Playback: keeps what it receives in a monitor
/// buffer (for tests, levels and `dynpcm run` reports) and discards the rest. Capture:
/// generates a sine, silence or noise. It follows its commands as a device does (RESUME only
/// when suspended, PAUSE_RELEASE only when paused; -EBADFD otherwise). Faults can be injected:
/// a failed trigger, a device xrun, the device disappearing.

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "dynpcm/backend/backend.h"
#include "dynpcm/rt/spsc_ring.h"

namespace dynpcm {

class SimBackend final : public Backend {
public:
    /// Counter: a test signal that numbers the frames. Channel 0 carries the frame number
    /// modulo 32768, channel 1 the frame number divided by 32768 (modulo 32768), as S16 values
    /// (n / 32768 of full scale); further channels repeat channel 0. Exact through any path that
    /// does not mix, resample or change gain.
    enum class Signal : uint8_t { Sine, Silence, Noise, Counter };
    struct Options {
        Signal signal = Signal::Sine;  ///< capture: what the "microphone" hears
        double frequency = 1000.0;     ///< capture sine, Hz
        double level_db = -20.0;       ///< capture level, dBFS (peak of the sine)
        double monitor_seconds = 0.0;  ///< playback: how much received audio to keep
        /// Playback: frames the codec holds between what it receives and what it plays (its
        /// FIFO), reported as delay(). The monitor keeps what is played; a STOP discards what
        /// the FIFO still holds, as snd_pcm_drop does with a device buffer.
        Frames delay_frames = 0;
    };
    /// Options from a binding's option map (signal, frequency, level, monitor, delay).
    /// Thread: any. Allocates: yes.
    static Result<Options> parse(const BackendBinding& binding);

    /// Thread: control. Allocates: yes.
    SimBackend(BackendContext context, Options options);

    const char* type() const noexcept override { return "sim"; }
    std::string describe() const override;
    Result<void> hw_params(const HwParams& params) override;
    Result<void> prepare() override;
    int trigger(TriggerCmd cmd) noexcept override;
    int64_t write_rt(const void* data, Frames frames) noexcept override;
    int64_t read_rt(void* data, Frames frames) noexcept override;
    Frames position() const noexcept override { return position_.load(std::memory_order_acquire); }
    Frames delay() const noexcept override { return ctx_.dir == Stream::Playback ? opt_.delay_frames : 0; }
    uint64_t xruns() const noexcept override { return xruns_.load(std::memory_order_relaxed); }
    uint64_t lost_frames() const noexcept override { return lost_.load(std::memory_order_relaxed); }

    // ---- fault injection. Thread: control. Blocking: wait-free. Allocates: no.
    /// The next trigger fails with `negative_errno`.
    void fail_next_trigger(int negative_errno) noexcept { fail_trigger_.store(negative_errno); }
    /// The next transfer reports a device xrun (-EPIPE); the period is lost.
    void inject_xrun() noexcept { xrun_pending_.store(true); }
    /// The device disappears: every transfer and prepare fails with -ENODEV until reconnect().
    void unplug() noexcept { gone_.store(true); }
    void reconnect() noexcept { gone_.store(false); }

    // ---- what playback received. Thread: control (one reader). Blocking: wait-free.
    /// Moves the monitored bytes (the BE's format, interleaved) out, oldest first.
    /// Allocates: grows `out`.
    size_t take_monitor(std::vector<std::byte>& out);
    /// Frames that did not fit in the monitor.
    uint64_t monitor_dropped() const noexcept { return monitor_dropped_.load(std::memory_order_relaxed); }
    /// The largest |sample| received, full scale 1.0, since the last call.
    float take_peak() noexcept { return peak_.exchange(0.0f, std::memory_order_relaxed); }

private:
    int64_t transfer_check(Frames frames) noexcept;
    void monitor(const std::byte* data, Frames frames) noexcept;
    void delay_line(const std::byte* in, Frames frames) noexcept;

    BackendContext ctx_;
    Options opt_;
    Format format_ = Format::S16_LE;
    uint32_t channels_ = 0;
    uint32_t rate_ = 0;
    uint32_t frame_bytes_ = 0;
    std::unique_ptr<SpscRing<std::byte>> monitor_;
    std::vector<float> scratch_;  // one period, for levels and generation
    std::vector<std::byte> fifo_;     // the codec's FIFO (delay_frames), circular; rt-owned
    std::vector<std::byte> delayed_;  // one period out of the FIFO
    size_t fifo_at_ = 0;           // next frame slot of fifo_
    Frames counter_ = 0;           // capture counter: the next frame's number
    Frames period_ = 0;
    double phase_ = 0.0;          // capture sine, in cycles
    uint32_t noise_ = 0x12345678u;

    // The codec's own state: it refuses a command this state does not allow (RESUME when it
    // was not suspended, PAUSE_RELEASE when it was not paused), as a device driver would.
    enum class Run : uint8_t { Stopped, Running, Paused, Suspended };
    std::atomic<Run> run_{Run::Stopped};
    std::atomic<Frames> position_{0};
    std::atomic<uint64_t> xruns_{0};
    std::atomic<uint64_t> lost_{0};
    std::atomic<uint64_t> monitor_dropped_{0};
    std::atomic<float> peak_{0.0f};
    std::atomic<int> fail_trigger_{0};
    std::atomic<bool> xrun_pending_{false};
    std::atomic<bool> gone_{false};
};

/// NullBackend: discards playback and produces silence for capture, at the BE's clock.
class NullBackend final : public Backend {
public:
    explicit NullBackend(BackendContext context) : ctx_(std::move(context)) {}
    const char* type() const noexcept override { return "null"; }
    std::string describe() const override { return "null"; }
    Result<void> hw_params(const HwParams& params) override;
    Result<void> prepare() override;
    int trigger(TriggerCmd) noexcept override { return 0; }
    int64_t write_rt(const void* data, Frames frames) noexcept override;
    int64_t read_rt(void* data, Frames frames) noexcept override;
    Frames position() const noexcept override { return position_.load(std::memory_order_acquire); }

private:
    BackendContext ctx_;
    uint32_t frame_bytes_ = 0;
    uint8_t silence_ = 0;
    std::atomic<Frames> position_{0};
};

}  // namespace dynpcm

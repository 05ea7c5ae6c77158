#pragma once
// Port: one FE->BE link's share of the data path. It carries samples between the FE's
// domain (its rate and channels) and the BE's (its rate and channels) through a FIFO of
// float frames in the BE's domain, with the link's gain and its fade in or out.
//
// Playback: the FE stage push_from_fe()s the FE's frames (mapped to the BE's channels, then
// resampled to its rate); the BE stage mix_into_be()s exactly one BE period, ramping the gain.
// Capture: the BE stage push_from_be()s each BE period (fan-out: every port of the BE gets
// it); the FE stage mix_into_fe()s exactly the FE frames it needs (resampled to the FE's
// rate, then mapped to its channels).
//
// Ownership. The configuration is fixed at creation (control thread, which allocates
// everything here). While published, the rt thread alone runs the four data methods; the
// control thread only writes the gain and connection targets (atomics) and reads counters.
// A port is freed by control only after it is unpublished and a grace period has passed.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dynpcm/core/result.h"
#include "dynpcm/core/wait_word.h"
#include "dynpcm/dsp/mix.h"
#include "dynpcm/dsp/resampler.h"
#include "dynpcm/pcm/state.h"
#include "dynpcm/pcm/sw_params.h"
#include "dynpcm/rt/spsc_ring.h"

namespace dynpcm::detail {

struct PortConfig {
    Stream dir = Stream::Playback;
    uint32_t fe_rate = 48000, be_rate = 48000;
    unsigned fe_channels = 2, be_channels = 2;
    Frames fe_period = 1024;  ///< the most FE frames one mix_into_fe/push_from_fe handles
    Frames be_period = 1024;  ///< the most BE frames one BE-stage call handles
    Frames fade_frames = 0;   ///< gain ramps take this long (in the domain where gain applies)
    float gain = 1.0f;        ///< linear, from the routing mixer's volume
    bool fade_in = false;     ///< start silent and ramp up (joined a running stream)
    std::vector<int> channel_map;  ///< per BE channel, its FE channel (-1: none); empty: standard
    WaitWord* faded = nullptr;     ///< woken (from the rt thread) when a fade-out has played
    /// The BE has a clock of its own: the port resamples adaptively (even at equal rates), so
    /// that it can follow the FE's driver when that is another BE (docs/DATA_PATH.md).
    bool adaptive = false;
    uint32_t be = 0;  ///< the BE stream's id, for what the engine reports
};

/// A follower's loop, as the dump shows it (Thread: any; relaxed, so approximate while running).
struct DriftState {
    bool following = false;   ///< its BE is not the FE's driver, so the loop steers it
    bool locked = false;
    double correction_ppm = 0;  ///< the resampler's output rate against nominal
    double fill = 0;          ///< the FIFO's level with the DMA phases taken out (BE frames)
    double target = 0;
    double lock_seconds = 0;  ///< audio time from the loop's start to lock
    double min_error = 0, max_error = 0;  ///< fill - target since lock (BE frames)
    uint64_t xruns_after_lock = 0;        ///< underruns and overruns since lock
};

/// How far an adaptive port may pull its BE's rate: wider than any crystal (±2000 ppm).
constexpr double kMaxCorrectionPpm = 2000;

class Port {
public:
    /// Thread: control. Allocates: yes.
    static Result<std::unique_ptr<Port>> create(const PortConfig& config);

    const PortConfig& config() const noexcept { return cfg_; }

    // ---- control side. Thread: control. Blocking: wait-free. Allocates: no.
    void set_gain(float gain) noexcept { gain_.store(gain, std::memory_order_relaxed); }
    float gain() const noexcept { return gain_.load(std::memory_order_relaxed); }
    /// false: fade out and stay silent (the link is leaving); true: fade (back) in.
    void set_connected(bool on) noexcept {
        faded_out_.store(false, std::memory_order_relaxed);
        if (on) playing_out_.store(false, std::memory_order_relaxed);
        connected_.store(on, std::memory_order_release);
    }
    /// The rt side finished fading out after set_connected(false).
    bool faded_out() const noexcept { return faded_out_.load(std::memory_order_acquire); }
    /// It plays out what it has and takes no more (play_out()). Thread: any.
    bool playing_out() const noexcept { return playing_out_.load(std::memory_order_acquire); }
    /// Plays what is queued, fading out over its last fade time, and takes no more from the FE;
    /// faded_out() once it has played. Thread: control. Blocking: wait-free.
    void play_out() noexcept {
        faded_out_.store(false, std::memory_order_relaxed);
        playing_out_.store(true, std::memory_order_release);
    }
    /// Frames of the FE's audio it holds (FIFO and, capture, the converter's input; not the
    /// prefill's silence), in BE frames: what is lost if it goes now. Thread: control, once no
    /// realtime section can hold the port (after its grace period). Allocates: no.
    Frames real_queued() const noexcept;
    /// BE frames a full FIFO turned away. Thread: any.
    uint64_t overrun_frames() const noexcept { return overrun_frames_.load(std::memory_order_relaxed); }
    uint64_t underruns() const noexcept { return underruns_.load(std::memory_order_relaxed); }
    uint64_t overruns() const noexcept { return overruns_.load(std::memory_order_relaxed); }
    /// BE frames between the FE and the BE stage: the FIFO and, when the rates differ, what the
    /// resampler holds back (approximate while running). Thread: any.
    Frames queued() const noexcept {
        return static_cast<Frames>(fifo_->readable() / cfg_.be_channels) + (src_ ? src_latency_ : 0);
    }

    DriftState drift() const noexcept;
    /// The adaptive resampler's output-rate scale now (1 when it has none). Thread: rt.
    double scale() const noexcept { return src_ ? src_->scale() : 1.0; }

    // ---- the data path. Thread: rt. Blocking: wait-free. Allocates: no.
    /// An adaptive port's loop, once per tick of its BE, after the BE stage moved its period:
    /// `skew` is what the producer's DMA has moved past its last interrupt minus what the
    /// consumer's has (BE frames), which turns the FIFO's level into the continuous fill the loop
    /// steers. `follow` false (it is the driver now) holds the nominal ratio.
    void steer(bool follow, double skew) noexcept;
    /// Playback, FE stage: `frames` (<= fe_period) FE frames in, of which the first `real` are
    /// the application's (the rest are the silence an FE stage reads past what was written).
    void push_from_fe(const float* fe, Frames frames, Frames real) noexcept;
    /// Playback, BE stage: adds `frames` (<= be_period) BE frames, with gain, into `bus`; the
    /// `first` port of a tick writes the bus instead (it needs no clearing before).
    /// `expect_data`: the FE is running, so a short FIFO is an underrun.
    void mix_into_be(float* bus, Frames frames, bool expect_data, bool first) noexcept;
    /// Capture, BE stage: `frames` (<= be_period) BE frames in.
    void push_from_be(const float* bus, Frames frames) noexcept;
    /// Capture, FE stage: adds `frames` (<= fe_period) FE frames, with gain, into `fe`.
    void mix_into_fe(float* fe, Frames frames) noexcept;

private:
    explicit Port(const PortConfig& c);
    void apply_gain(float* acc, const float* src, Frames frames, unsigned channels) noexcept;
    /// apply_gain() after skipping what is left of the lead-in silence: a fade-in ramps the
    /// link's first real frames, not the silence queued ahead of them.
    void gain_after_lead(float* acc, const float* src, Frames frames, unsigned channels) noexcept;
    void mark_faded_out() noexcept;
    /// Pushes `frames`, of which the first `real` are audio (the rest silence); counts what a full
    /// FIFO turns away.
    void push_fifo(const float* x, Frames frames, Frames real) noexcept;
    /// Pops up to `samples`; returns them, and in `real` how many of their frames were audio.
    size_t pop_fifo(float* x, size_t samples, Frames* real = nullptr) noexcept;

    PortConfig cfg_;
    dsp::ChannelMap map_;
    std::unique_ptr<dsp::Resampler> src_;
    std::unique_ptr<SpscRing<float>> fifo_;  // BE-domain frames, interleaved
    std::vector<float> mapped_;   // playback: FE frames in BE channels; capture: FE frames
    std::vector<float> staged_;   // resampler output (playback) / input (capture) / a BE period
    std::vector<float> work_;     // capture: resampled FE frames, still in BE channels
    size_t staged_at_ = 0, staged_len_ = 0;  // capture: unconsumed resampler input (frames)
    // An adaptive resampler's holding, in BE frames: input in, at the ratio, minus output out.
    // It keeps the loop's measurement from seeing the converter's own ±1 frame per call.
    double src_held_ = 0;
    Frames src_latency_ = 0;  // the resampler's delay, in BE frames (fixed at creation)

    std::atomic<float> gain_{1.0f};
    std::atomic<bool> connected_{true};
    std::atomic<bool> faded_out_{false};
    std::atomic<uint64_t> underruns_{0};
    std::atomic<uint64_t> overruns_{0};
    std::atomic<uint64_t> overrun_frames_{0};
    std::atomic<bool> playing_out_{false};
    // What the FIFO holds, as runs of audio and of silence (the prefill, what an FE stage read
    // past the application's writes, a restart's top-up), oldest first: rt-owned, read by
    // control after a grace period (real_queued). When the runs are full the newest absorbs the
    // next push, counted as audio when either is.
    struct Run {
        Frames frames = 0;
        bool real = false;
    };
    static constexpr size_t kRuns = 32;
    std::array<Run, kRuns> runs_{};
    size_t run_first_ = 0, run_count_ = 0;
    Frames fifo_real_ = 0;       // audio frames in the FIFO
    Frames staged_silence_ = 0;  // capture: silence frames at the front of staged_
    void note_push(Frames frames, bool real) noexcept;
    Frames note_pop(Frames frames) noexcept;
    bool top_up_ = false;  // rt-owned: back from a rest, fill to the loop's target first
    void top_up() noexcept;
    bool play_fading_ = false;  // rt-owned: play-out has reached its last fade time

    // rt-owned loop state (steer)
    struct Loop {
        bool running = false;
        bool has_target = false;  // kept while it rests (FE stopped or paused, or it drives)
        double target = 0, filtered = 0, integral = 0, elapsed = 0;
        double in_band = 0;  // seconds the error has stayed small, towards lock
        bool locked = false;
        uint64_t xruns_at_lock = 0;
    } loop_;
    std::atomic<bool> following_{false}, locked_{false};
    std::atomic<double> correction_ppm_{0}, fill_{0}, target_{0}, lock_seconds_{0}, min_error_{0}, max_error_{0};
    std::atomic<uint64_t> xruns_at_lock_{0};

    // rt-owned ramp state
    Frames lead_ = 0;  // frames of the prefill still ahead of the first real frame: no ramp there
    bool fed_ = false;  // playback: the FE stage has pushed; a short FIFO before that is no underrun
    float gain_now_ = 1.0f;
    float gain_to_ = 1.0f;
    Frames ramp_left_ = 0;
};

}  // namespace dynpcm::detail

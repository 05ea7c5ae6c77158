#pragma once
/// Shared fixtures for the PcmRuntime unit tests (pcm_states_test, pcm_transfer_test,
/// pcm_bad_input_test): a virtual SimClock + SimDma + PcmRuntime rig, virtual-time arithmetic,
/// deterministic sample patterns and assertion helpers for Result values.
///
/// Everything runs on the test thread: SimClock::advance() fires the period interrupts on the
/// calling thread, so the runtimes are non-blocking by default and blocking calls get a short
/// timeout.

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dynpcm/pcm/format.h"
#include "result_assert.h"
#include "dynpcm/pcm/hardware.h"
#include "dynpcm/pcm/hw_params.h"
#include "dynpcm/pcm/pcm_runtime.h"
#include "dynpcm/pcm/recover.h"
#include "dynpcm/pcm/state.h"
#include "dynpcm/pcm/sw_params.h"
#include "dynpcm/sim/sim_clock.h"
#include "dynpcm/sim/sim_dma.h"

namespace dynpcm::test {

// ---- the default configuration: S16_LE, 2 channels, 48 kHz, 4 periods of 1024 frames.

inline constexpr uint32_t kRate = 48000;
inline constexpr Frames kPeriod = 1024;
inline constexpr Frames kPeriods = 4;
inline constexpr Frames kBuffer = kPeriod * kPeriods;
/// The name every rig's PCM gets; error messages must contain it.
inline constexpr const char* kPcmName = "unit-pcm";

/// The first instant (ns after a start at position 0) at which the DMA has moved `frames`:
/// ceil(frames * 1e9 / rate), as SimDma schedules its interrupts.
constexpr int64_t frames_to_ns(Frames frames, uint32_t rate) {
    return static_cast<int64_t>((frames * 1'000'000'000ULL + rate - 1) / rate);
}
/// One period at 48 kHz / 1024 frames.
inline constexpr int64_t kPeriodNs = 21'333'334;
static_assert(frames_to_ns(kPeriod, kRate) == kPeriodNs);

/// A hw configuration to install with PcmRig::configure().
struct PcmSetup {
    Format format = Format::S16_LE;
    uint32_t channels = 2;
    uint32_t rate = kRate;
    uint32_t period_size = static_cast<uint32_t>(kPeriod);
    uint32_t periods = static_cast<uint32_t>(kPeriods);
    Access access = Access::RwInterleaved;
};

/// Hardware that supports every format, 1..8 channels, 8..192 kHz, 2..1024 periods.
inline HwConstraints::Caps test_caps() {
    HwConstraints::Caps caps;
    caps.formats = FormatMask::all();
    caps.channels = {1, 8};
    return caps;
}
inline std::shared_ptr<const HwConstraints> test_constraints() {
    return std::make_shared<const HwConstraints>(test_caps());
}

/// Runtime options for a rig: the test name, non-blocking, and a short blocking timeout so
/// that a mistaken blocking call fails quickly instead of hanging the single-threaded test.
inline PcmRuntime::Options rig_options(bool nonblock = true,
                                       std::chrono::milliseconds timeout = std::chrono::milliseconds(200)) {
    PcmRuntime::Options o;
    o.name = kPcmName;
    o.nonblock = nonblock;
    o.timeout = timeout;
    return o;
}

/// A PcmHardware that forwards everything to a SimDma and records the trigger commands in
/// the order the runtime issued them (SimDma only counts them).
class TriggerRecorder final : public PcmHardware {
public:
    explicit TriggerRecorder(SimDma& dma) : dma_(dma) { log_.reserve(kCapacity); }

    void attach(PcmRuntime& runtime) override { dma_.attach(runtime); }
    void detach(PcmRuntime& runtime) override { dma_.detach(runtime); }
    Result<void> hw_params(const HwParams& params) override { return dma_.hw_params(params); }
    Result<void> hw_free() override { return dma_.hw_free(); }
    Result<void> prepare() override { return dma_.prepare(); }
    int trigger(TriggerCmd cmd) noexcept override {
        if (log_.size() < kCapacity) log_.push_back(cmd);  // never reallocates: reserved
        return dma_.trigger(cmd);
    }
    int trigger_rt(TriggerCmd cmd) noexcept override {
        if (log_.size() < kCapacity) log_.push_back(cmd);
        return dma_.trigger_rt(cmd);
    }
    Frames pointer() noexcept override { return dma_.pointer(); }
    int64_t now_ns() noexcept override { return dma_.now_ns(); }
    Frames delay() noexcept override { return dma_.delay(); }

    /// Every trigger command issued so far, oldest first.
    const std::vector<TriggerCmd>& log() const noexcept { return log_; }
    void clear() noexcept { log_.clear(); }

private:
    static constexpr size_t kCapacity = 1024;
    SimDma& dma_;
    std::vector<TriggerCmd> log_;
};

// ---- deterministic sample data

/// Byte `k` of the sample of `channel` in stream frame `frame`: never 0 (so that it can be
/// told from silence), and different for neighbouring frames, channels and bytes.
inline std::byte pattern_byte(Frames frame, unsigned channel, unsigned k) {
    return static_cast<std::byte>((frame * 13U + channel * 59U + k * 101U) % 255U + 1U);
}

/// `count` interleaved frames of the pattern, starting at stream frame `first`.
inline std::vector<std::byte> interleaved_pattern(Frames first, Frames count, unsigned channels,
                                                  unsigned sample_bytes) {
    std::vector<std::byte> out(static_cast<size_t>(count) * channels * sample_bytes);
    size_t i = 0;
    for (Frames f = 0; f < count; ++f)
        for (unsigned c = 0; c < channels; ++c)
            for (unsigned k = 0; k < sample_bytes; ++k) out[i++] = pattern_byte(first + f, c, k);
    return out;
}

/// The same frames as interleaved_pattern(), one buffer per channel.
inline std::vector<std::vector<std::byte>> planar_pattern(Frames first, Frames count, unsigned channels,
                                                          unsigned sample_bytes) {
    std::vector<std::vector<std::byte>> out(channels,
                                            std::vector<std::byte>(static_cast<size_t>(count) * sample_bytes));
    for (unsigned c = 0; c < channels; ++c) {
        size_t i = 0;
        for (Frames f = 0; f < count; ++f)
            for (unsigned k = 0; k < sample_bytes; ++k) out[c][i++] = pattern_byte(first + f, c, k);
    }
    return out;
}

/// Interleaves per-channel buffers of `count` frames.
inline std::vector<std::byte> interleave(const std::vector<std::vector<std::byte>>& planar, Frames count,
                                         unsigned sample_bytes) {
    const auto channels = static_cast<unsigned>(planar.size());
    std::vector<std::byte> out(static_cast<size_t>(count) * channels * sample_bytes);
    size_t i = 0;
    for (Frames f = 0; f < count; ++f)
        for (unsigned c = 0; c < channels; ++c)
            for (unsigned k = 0; k < sample_bytes; ++k)
                out[i++] = planar[c][static_cast<size_t>(f) * sample_bytes + k];
    return out;
}

/// Index of the first differing byte, or -1 when `a` and `b` are equal.
inline long first_difference(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
    const size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i)
        if (a[i] != b[i]) return static_cast<long>(i);
    return a.size() == b.size() ? -1 : static_cast<long>(n);
}

/// Byte-exact comparison with a useful failure message (never dumps megabytes).
inline ::testing::AssertionResult same_bytes(const std::vector<std::byte>& actual,
                                             const std::vector<std::byte>& expected) {
    const long at = first_difference(actual, expected);
    if (at < 0) return ::testing::AssertionSuccess();
    auto fail = ::testing::AssertionFailure();
    fail << "sizes " << actual.size() << " vs expected " << expected.size() << "; first difference at byte "
         << at;
    const auto i = static_cast<size_t>(at);
    if (i < actual.size() && i < expected.size())
        fail << ": got " << std::to_integer<int>(actual[i]) << ", expected " << std::to_integer<int>(expected[i]);
    return fail;
}

// ---- Result assertions

using testutil::is_error;
using testutil::is_ok;

/// A runtime error: `code`, and the message names the PCM plus each of `mentions`.
template <typename R>
::testing::AssertionResult pcm_error(const R& r, int code, std::initializer_list<std::string_view> mentions = {}) {
    auto named = is_error(r, code, {kPcmName});
    if (!named) return named;
    return is_error(r, code, mentions);
}

/// A transfer that moved exactly `frames`.
inline ::testing::AssertionResult transferred(const Result<Frames>& r, Frames frames) {
    if (!r.ok())
        return ::testing::AssertionFailure() << "failed with " << errno_name(r.code()) << ": " << r.error().message()
                                             << "; expected " << frames << " frames";
    if (*r != frames) return ::testing::AssertionFailure() << "moved " << *r << " frames, expected " << frames;
    return ::testing::AssertionSuccess();
}

/// Avail (or delay) equal to `value`.
template <typename T, typename V>
::testing::AssertionResult has_value(const Result<T>& r, V value) {
    if (!r.ok())
        return ::testing::AssertionFailure() << "failed with " << errno_name(r.code()) << ": " << r.error().message();
    if (*r != static_cast<T>(value)) return ::testing::AssertionFailure() << "is " << *r << ", expected " << value;
    return ::testing::AssertionSuccess();
}

// ---- the rig

/// A virtual clock, a SimDma on it (behind a TriggerRecorder), and a PcmRuntime on that.
/// The sink collects every period the DMA plays into `played`; the source feeds the capture
/// DMA the pattern as one continuous stream (frame 0, 1, 2, ...), counting in `produced`.
class PcmRig {
public:
    explicit PcmRig(Stream stream, PcmRuntime::Options options = rig_options(), SimDma::Options dma_options = {},
                    std::shared_ptr<const HwConstraints> constraints = test_constraints())
        : dma(clock, std::move(dma_options)),
          hw(dma),
          pcm(std::make_unique<PcmRuntime>(stream, std::move(constraints), hw, std::move(options))) {
        played.reserve(1U << 20);
        dma.set_sink([this](const std::byte* frames, Frames count) {
            played.insert(played.end(), frames, frames + static_cast<size_t>(count) * frame_bytes_);
            played_frames += count;
        });
        dma.set_source([this](std::byte* frames, Frames count) {
            size_t i = 0;
            for (Frames f = 0; f < count; ++f)
                for (unsigned c = 0; c < channels_; ++c)
                    for (unsigned k = 0; k < sample_bytes_; ++k) frames[i++] = pattern_byte(produced + f, c, k);
            produced += count;
        });
    }
    ~PcmRig() = default;
    PcmRig(const PcmRig&) = delete;
    PcmRig& operator=(const PcmRig&) = delete;

    /// Installs `setup` (hw_params, which also prepares). The space is left in `chosen`.
    Result<void> configure(const PcmSetup& setup = {}) {
        HwParams hp = pcm->hw_params_any();
        if (auto r = hp.set_access(setup.access); !r) return r;
        if (auto r = hp.set_format(setup.format); !r) return r;
        if (auto r = hp.set(HwParam::Channels, setup.channels); !r) return r;
        if (auto r = hp.set(HwParam::Rate, setup.rate); !r) return r;
        if (auto r = hp.set(HwParam::PeriodSize, setup.period_size); !r) return r;
        if (auto r = hp.set(HwParam::Periods, setup.periods); !r) return r;
        if (auto r = pcm->hw_params(hp); !r) return r;
        chosen = hp;
        rate_ = setup.rate;
        period_size_ = setup.period_size;
        channels_ = setup.channels;
        sample_bytes_ = format_info(setup.format).physical / 8;
        frame_bytes_ = sample_bytes_ * channels_;
        return ok();
    }

    /// Reads the installed sw params, lets `edit` change them, installs them.
    Result<void> update_sw(const std::function<void(SwParams&)>& edit) {
        SwParams p = pcm->sw_params_current();
        edit(p);
        return pcm->sw_params(p);
    }
    Result<void> set_start_threshold(Frames v) {
        return update_sw([v](SwParams& p) { p.start_threshold = v; });
    }
    Result<void> set_stop_threshold(Frames v) {
        return update_sw([v](SwParams& p) { p.stop_threshold = v; });
    }
    Result<void> set_avail_min(Frames v) {
        return update_sw([v](SwParams& p) { p.avail_min = v; });
    }

    /// Moves virtual time on by `periods` periods of the installed configuration (rounded up
    /// per period, so each period's interrupt is due within its step).
    Result<void> advance_periods(Frames periods) {
        return clock.advance(std::chrono::nanoseconds(static_cast<int64_t>(periods) * period_ns()));
    }
    Result<void> advance_ns(int64_t ns) { return clock.advance(std::chrono::nanoseconds(ns)); }
    /// Usable after the runtime was destroyed, too.
    int64_t period_ns() const { return frames_to_ns(period_size_, rate_); }

    /// Writes the next `count` frames of the pattern stream (from stream frame `written`)
    /// from an exactly sized buffer; `written` advances by what the runtime took.
    Result<Frames> write_pattern(Frames count) {
        const auto data = interleaved_pattern(written, count, channels_, sample_bytes_);
        auto r = pcm->writei(data.data(), count);
        if (r) written += *r;
        return r;
    }
    /// Reads up to `count` frames into an exactly sized buffer appended to `captured`.
    Result<Frames> read_frames(Frames count) {
        std::vector<std::byte> data(static_cast<size_t>(count) * frame_bytes_);
        auto r = pcm->readi(data.data(), count);
        if (r) captured.insert(captured.end(), data.begin(), data.begin() + static_cast<long>(*r * frame_bytes_));
        return r;
    }
    /// The pattern frames [first, first + count) in this rig's layout.
    std::vector<std::byte> expected(Frames first, Frames count) const {
        return interleaved_pattern(first, count, channels_, sample_bytes_);
    }
    /// `count` frames of silence in this rig's layout (every format here silences to 0).
    std::vector<std::byte> silence(Frames count) const {
        return std::vector<std::byte>(static_cast<size_t>(count) * frame_bytes_, std::byte{0});
    }

    /// Every state change reported since the last call, oldest first (other events skipped).
    std::vector<PcmEvent> state_events() {
        std::vector<PcmEvent> out;
        while (auto e = pcm->pop_event())
            if (e->kind == PcmEvent::Kind::State) out.push_back(*e);
        return out;
    }
    void drain_events() {
        while (pcm->pop_event()) {
        }
    }

    unsigned frame_bytes() const { return frame_bytes_; }
    unsigned sample_bytes() const { return sample_bytes_; }
    unsigned channels() const { return channels_; }

    SimClock clock;
    SimDma dma;
    TriggerRecorder hw;
    std::unique_ptr<PcmRuntime> pcm;
    std::optional<HwParams> chosen;

    std::vector<std::byte> played;    ///< everything the playback DMA read, in order
    Frames played_frames = 0;
    Frames produced = 0;              ///< capture frames the source generated
    Frames written = 0;               ///< pattern frames write_pattern() handed over
    std::vector<std::byte> captured;  ///< everything read_frames() returned, in order

private:
    uint32_t rate_ = kRate;
    Frames period_size_ = kPeriod;
    unsigned channels_ = 2;
    unsigned sample_bytes_ = 2;
    unsigned frame_bytes_ = 4;
};

/// A playback rig already configured with the default setup (PREPARED).
inline std::unique_ptr<PcmRig> prepared_rig(Stream stream, PcmRuntime::Options options = rig_options(),
                                            const PcmSetup& setup = {}, SimDma::Options dma_options = {}) {
    auto rig = std::make_unique<PcmRig>(stream, std::move(options), std::move(dma_options));
    auto r = rig->configure(setup);
    EXPECT_TRUE(is_ok(r)) << "fixture: configure";
    return rig;
}

}  // namespace dynpcm::test

/// ASSERT/EXPECT that a Result succeeded, printing the error otherwise.
#define DYNPCM_ASSERT_OK(expr) ASSERT_TRUE(::dynpcm::test::is_ok(expr)) << #expr
#define DYNPCM_EXPECT_OK(expr) EXPECT_TRUE(::dynpcm::test::is_ok(expr)) << #expr

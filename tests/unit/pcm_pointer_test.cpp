// The hw_ptr update rules of PcmRuntime::update_hw_ptr / update_state, pinned against the
// kernel's snd_pcm_update_hw_ptr0 and snd_pcm_update_state (sound/core/pcm_lib.c).
//
// Most tests drive the runtime with FakeHw: the test sets the DMA position and the hardware
// clock, then raises the "interrupt" itself with period_elapsed_rt(). The stream is
// 32 kHz mono S16_LE, period 32, 4 periods: one period is exactly 1 ms, the buffer 4 ms.
// The last tests check that SimDma's fault injection reaches the same rules.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "dynpcm/pcm/pcm_runtime.h"
#include "dynpcm/pcm/sw_params.h"
#include "dynpcm/sim/sim_clock.h"
#include "dynpcm/sim/sim_dma.h"
#include "unit/pointer_fixture.h"

namespace dynpcm {
namespace {

using ptrtest::Config;
using ptrtest::count_kind;
using ptrtest::FakeHw;
using ptrtest::find_kind;
using ptrtest::take_events;
using Kind = PcmEvent::Kind;

constexpr int64_t kMs = 1'000'000;  // one period of the fake stream, in ns
constexpr Frames kPeriod = 32;
constexpr Frames kBuffer = 128;

// A PcmRuntime on a FakeHw. Non-blocking, so that transfers never wait for an interrupt that
// only the test can raise.
class FakeStream {
public:
    explicit FakeStream(Stream stream, unsigned pointer_bits = 63)
        : pcm(stream, ptrtest::wide_constraints(), hw,
              PcmRuntime::Options{.name = "fake", .nonblock = true, .pointer_bits = pointer_bits}) {}

    Result<void> setup() { return ptrtest::configure(pcm, Config{}); }

    // The hardware reports position `pos` at time `t_ns` and raises the period interrupt.
    void irq(Frames pos, int64_t t_ns) {
        hw.pos = pos;
        hw.now = t_ns;
        pcm.period_elapsed_rt();
    }

    // Writes `n` frames of a recognisable pattern; returns what writei returned.
    Result<Frames> write(Frames n) {
        std::vector<int16_t> data(n, int16_t{0x1234});
        return pcm.writei(data.data(), n);
    }
    Result<Frames> read(Frames n) {
        std::vector<int16_t> data(n);
        return pcm.readi(data.data(), n);
    }

    FakeHw hw;
    PcmRuntime pcm;
};

// The kernel's boundary loop (snd_pcm_hw_params): double while boundary * 2 <= LIMIT - buffer.
Frames kernel_boundary(Frames buffer, unsigned bits) {
    const Frames limit = (Frames{1} << bits) - 1;
    Frames b = buffer;
    while (b * 2 <= limit - buffer) b *= 2;
    return b;
}

// ------------------------------------------------------------------------------------------
// advancing and wrapping

TEST(PcmPointer, HwPtrAdvancesByThePointerDelta) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    ASSERT_EQ(s.pcm.buffer_size(), kBuffer);
    ASSERT_EQ(s.pcm.period_size(), kPeriod);
    PTR_ASSERT_OK(s.write(kBuffer));  // start_threshold 1: the write starts the stream
    ASSERT_EQ(s.pcm.state(), PcmState::Running);
    ASSERT_EQ(s.hw.count(TriggerCmd::Start), 1U);
    EXPECT_EQ(s.pcm.hw_ptr(), 0U);

    s.irq(32, 1 * kMs);
    EXPECT_EQ(s.pcm.hw_ptr(), 32U);
    EXPECT_EQ(s.pcm.avail_update(), 32U);
    s.irq(64, 2 * kMs);
    EXPECT_EQ(s.pcm.hw_ptr(), 64U);
    s.irq(70, 2 * kMs + kMs / 5);  // a late, partial update: still just the delta
    EXPECT_EQ(s.pcm.hw_ptr(), 70U);
    s.irq(100, 3 * kMs);
    EXPECT_EQ(s.pcm.hw_ptr(), 100U);
    EXPECT_EQ(s.pcm.avail_update(), 100U);
    EXPECT_EQ(s.pcm.status().periods_elapsed, 4U);
    EXPECT_EQ(s.pcm.state(), PcmState::Running);
    const auto events = take_events(s.pcm);
    EXPECT_EQ(count_kind(events, Kind::LostInterrupts), 0U);
    EXPECT_EQ(count_kind(events, Kind::UnexpectedHwPtr), 0U);
}

TEST(PcmPointer, BufferWrapAdvancesBaseAndHwPtrKeepsIncreasing) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(ptrtest::set_thresholds(s.pcm, 1, s.pcm.boundary()));  // never xrun
    PTR_ASSERT_OK(s.pcm.start());

    struct Step {
        Frames pos;
        int64_t t;
        Frames want_hw;
    };
    const Step steps[] = {
        {32, 1 * kMs, 32},    {64, 2 * kMs, 64},   {96, 3 * kMs, 96},
        {0, 4 * kMs, 128},    // the pointer wrapped to 0: hw_ptr_base += buffer_size
        {32, 5 * kMs, 160},   {64, 6 * kMs, 192},  {96, 7 * kMs, 224},
        {120, 7 * kMs + 3 * kMs / 4, 248},
        {24, 8 * kMs + 3 * kMs / 4, 280},  // wrapped at a position that is not period aligned
        {56, 9 * kMs + 3 * kMs / 4, 312},
    };
    Frames last = 0;
    for (const Step& st : steps) {
        s.irq(st.pos, st.t);
        EXPECT_EQ(s.pcm.hw_ptr(), st.want_hw) << "pointer " << st.pos;
        EXPECT_GT(s.pcm.hw_ptr(), last);
        last = s.pcm.hw_ptr();
    }
    const auto events = take_events(s.pcm);
    EXPECT_EQ(count_kind(events, Kind::LostInterrupts), 0U);
    EXPECT_EQ(count_kind(events, Kind::UnexpectedHwPtr), 0U);
    EXPECT_EQ(s.pcm.state(), PcmState::Running);
}

TEST(PcmPointer, BoundaryIsTheKernelsLargestBufferMultiple) {
    for (unsigned bits : {16U, 20U, 31U, 63U}) {
        FakeStream s(Stream::Playback, bits);
        PTR_ASSERT_OK(s.setup());
        EXPECT_EQ(s.pcm.boundary(), compute_boundary(kBuffer, bits)) << bits;
        EXPECT_EQ(s.pcm.boundary(), kernel_boundary(kBuffer, bits)) << bits;
        EXPECT_EQ(s.pcm.sw_params_current().boundary, s.pcm.boundary());
    }
    FakeStream s16(Stream::Playback, 16);
    PTR_ASSERT_OK(s16.setup());
    EXPECT_EQ(s16.pcm.boundary(), 32768U);
}

// Streams three boundaries' worth of playback with the application a varying distance ahead,
// and checks hw_ptr, appl_ptr, avail and delay against unbounded counters at every interrupt.
TEST(PcmPointer, PlaybackPointersWrapModuloBoundaryAndAvailStaysExact) {
    FakeStream s(Stream::Playback, 16);
    PTR_ASSERT_OK(s.setup());
    const Frames boundary = s.pcm.boundary();
    ASSERT_EQ(boundary, 32768U);

    uint64_t written = 0;
    uint64_t played = 0;
    auto w = s.write(kBuffer);
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(*w, kBuffer);
    written += kBuffer;
    ASSERT_EQ(s.pcm.state(), PcmState::Running);

    const uint64_t iterations = 3 * boundary / kPeriod + 7;
    int hw_wraps = 0;
    int appl_wraps = 0;
    int appl_numerically_behind_hw = 0;  // appl wrapped, hw not yet: avail needs the modulo
    Frames prev_hw = 0;
    Frames prev_appl = s.pcm.appl_ptr();
    for (uint64_t i = 1; i <= iterations; ++i) {
        played += kPeriod;
        s.irq(played % kBuffer, static_cast<int64_t>(i) * kMs);
        ASSERT_EQ(s.pcm.state(), PcmState::Running) << "iteration " << i;
        const Frames hw = s.pcm.hw_ptr();
        ASSERT_LT(hw, boundary);
        ASSERT_EQ(hw, played % boundary) << "iteration " << i;
        if (hw < prev_hw) ++hw_wraps;
        prev_hw = hw;
        ASSERT_EQ(s.pcm.avail_update(), kBuffer - (written - played)) << "iteration " << i;
        if (s.pcm.appl_ptr() < hw) ++appl_numerically_behind_hw;

        const uint64_t target = 64 + (i * 37) % 65;  // keep 64..128 frames queued
        const uint64_t queued = written - played;
        if (target > queued) {
            auto r = s.write(target - queued);
            ASSERT_TRUE(r.ok()) << r.error().to_string();
            ASSERT_EQ(*r, target - queued);
            written += target - queued;
        }
        const Frames appl = s.pcm.appl_ptr();
        ASSERT_LT(appl, boundary);
        ASSERT_EQ(appl, written % boundary);
        if (appl < prev_appl) ++appl_wraps;
        prev_appl = appl;
        auto a = s.pcm.avail();
        ASSERT_TRUE(a.ok());
        ASSERT_EQ(*a, kBuffer - (written - played)) << "iteration " << i;
        auto d = s.pcm.delay();
        ASSERT_TRUE(d.ok());
        ASSERT_EQ(*d, static_cast<int64_t>(written - played));
    }
    EXPECT_EQ(hw_wraps, 3);
    EXPECT_EQ(appl_wraps, 3);
    EXPECT_GT(appl_numerically_behind_hw, 0);
    EXPECT_EQ(s.pcm.status().xruns, 0U);
}

TEST(PcmPointer, CapturePointersWrapModuloBoundaryAndAvailStaysExact) {
    FakeStream s(Stream::Capture, 16);
    PTR_ASSERT_OK(s.setup());
    const Frames boundary = s.pcm.boundary();
    ASSERT_EQ(boundary, 32768U);
    PTR_ASSERT_OK(s.pcm.start());

    uint64_t captured = 0;
    uint64_t read = 0;
    const uint64_t iterations = 3 * boundary / kPeriod + 5;
    int hw_wraps = 0;
    int hw_numerically_behind_appl = 0;  // hw wrapped, appl not yet
    Frames prev_hw = 0;
    for (uint64_t i = 1; i <= iterations; ++i) {
        captured += kPeriod;
        s.irq(captured % kBuffer, static_cast<int64_t>(i) * kMs);
        ASSERT_EQ(s.pcm.state(), PcmState::Running) << "iteration " << i;
        const Frames hw = s.pcm.hw_ptr();
        ASSERT_LT(hw, boundary);
        ASSERT_EQ(hw, captured % boundary);
        if (hw < prev_hw) ++hw_wraps;
        prev_hw = hw;
        if (hw < s.pcm.appl_ptr()) ++hw_numerically_behind_appl;
        ASSERT_EQ(s.pcm.avail_update(), captured - read) << "iteration " << i;

        const uint64_t keep = (i * 37) % 96;  // leave 0..95 frames unread
        if (captured - read > keep) {
            const Frames n = captured - read - keep;
            auto r = s.read(n);
            ASSERT_TRUE(r.ok()) << r.error().to_string();
            ASSERT_EQ(*r, n);
            read += n;
        }
        ASSERT_LT(s.pcm.appl_ptr(), boundary);
        ASSERT_EQ(s.pcm.appl_ptr(), read % boundary);
        auto a = s.pcm.avail();
        ASSERT_TRUE(a.ok());
        ASSERT_EQ(*a, captured - read);
    }
    EXPECT_EQ(hw_wraps, 3);
    EXPECT_GT(hw_numerically_behind_appl, 0);
    EXPECT_EQ(s.pcm.status().xruns, 0U);
}

TEST(PcmPointer, AvailIsHwPlusBufferMinusApplForPlaybackAndHwMinusApplForCapture) {
    FakeStream p(Stream::Playback);
    PTR_ASSERT_OK(p.setup());
    p.hw.extra_delay = 7;
    PTR_ASSERT_OK(p.write(100));
    EXPECT_EQ(p.pcm.avail_update(), 0 + kBuffer - 100);
    p.irq(32, kMs);
    EXPECT_EQ(p.pcm.avail_update(), 32 + kBuffer - 100);
    auto pd = p.pcm.delay();
    ASSERT_TRUE(pd.ok());
    EXPECT_EQ(*pd, 100 - 32 + 7);  // queued frames plus the hardware's own delay

    FakeStream c(Stream::Capture);
    PTR_ASSERT_OK(c.setup());
    c.hw.extra_delay = 7;
    PTR_ASSERT_OK(c.pcm.start());
    c.irq(32, kMs);
    EXPECT_EQ(c.pcm.avail_update(), 32U);
    PTR_ASSERT_OK(c.read(10));
    EXPECT_EQ(c.pcm.avail_update(), 32U - 10U);
    auto cd = c.pcm.delay();
    ASSERT_TRUE(cd.ok());
    EXPECT_EQ(*cd, 22 + 7);
}

// ------------------------------------------------------------------------------------------
// suspicious pointers

// hw_ptr_interrupt stays numerically above hw_ptr once a non-interrupt update (the one
// pause() makes, as snd_pcm_do_pause does) carries hw_ptr over the boundary. The next interrupt
// then takes the "more than half a buffer passed" branch, and a pointer that moved on by a
// period or more gives a delta >= buffer_size + period_size: the kernel's "Unexpected hw_ptr".
// Leaves hw_ptr at 16, hw_ptr_interrupt at boundary - 32, the clock at `*t`.
void reach_stale_interrupt_position(FakeStream& s, int64_t* t) {
    PTR_ASSERT_OK(s.setup());
    ASSERT_EQ(s.pcm.boundary(), 32768U);
    PTR_ASSERT_OK(ptrtest::set_thresholds(s.pcm, 1, s.pcm.boundary()));
    PTR_ASSERT_OK(s.pcm.start());
    const Frames boundary = s.pcm.boundary();
    Frames hw = 0;
    int64_t now = 0;
    while (hw != boundary - kPeriod) {
        hw += kPeriod;
        now += kMs;
        s.irq(hw % kBuffer, now);
    }
    ASSERT_EQ(s.pcm.hw_ptr(), boundary - kPeriod);
    s.hw.pos = 16;  // 48 frames later, across the boundary
    s.hw.now = now + kMs / 2;
    PTR_ASSERT_OK(s.pcm.pause(true));
    ASSERT_EQ(s.pcm.hw_ptr(), 16U);
    s.hw.now += kMs;
    PTR_ASSERT_OK(s.pcm.pause(false));
    ASSERT_EQ(s.pcm.state(), PcmState::Running);
    (void)take_events(s.pcm);
    *t = s.hw.now;
}

TEST(PcmPointer, JumpOfBufferPlusPeriodIsIgnored) {
    FakeStream s(Stream::Playback, 16);
    int64_t t = 0;
    ASSERT_NO_FATAL_FAILURE(reach_stale_interrupt_position(s, &t));
    const uint64_t periods = s.pcm.status().periods_elapsed;

    // 3/4 of a buffer later the pointer reads 64: hw_ptr would become 128 + 64 = 192, a delta
    // of 176 >= 128 + 32.
    s.irq(64, t + 3 * kMs);
    EXPECT_EQ(s.pcm.hw_ptr(), 16U) << "an unexpected hw_ptr update must be ignored";
    EXPECT_EQ(s.pcm.state(), PcmState::Running);
    EXPECT_EQ(s.pcm.status().periods_elapsed, periods + 1);
    const auto events = take_events(s.pcm);
    const PcmEvent* e = find_kind(events, Kind::UnexpectedHwPtr);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail, 176);
    EXPECT_EQ(count_kind(events, Kind::LostInterrupts), 0U);
}

TEST(PcmPointer, JumpJustBelowBufferPlusPeriodIsAcceptedAsLostInterrupts) {
    FakeStream s(Stream::Playback, 16);
    int64_t t = 0;
    ASSERT_NO_FATAL_FAILURE(reach_stale_interrupt_position(s, &t));
    s.irq(64, t + 3 * kMs);  // ignored, as above: must leave no trace in the pointer state
    ASSERT_EQ(s.pcm.hw_ptr(), 16U);
    (void)take_events(s.pcm);

    s.irq(47, t + 3 * kMs);  // delta 128 + 47 - 16 = 159 = buffer + period - 1
    EXPECT_EQ(s.pcm.hw_ptr(), 128U + 47U);
    const auto events = take_events(s.pcm);
    EXPECT_EQ(count_kind(events, Kind::UnexpectedHwPtr), 0U);
    const PcmEvent* e = find_kind(events, Kind::LostInterrupts);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail, 159);
}

TEST(PcmPointer, MoreThanOneAndAHalfPeriodsInOneInterruptIsLostInterruptsButAccepted) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(s.write(kBuffer));
    s.irq(32, 1 * kMs);
    (void)take_events(s.pcm);
    s.irq(96, 2 * kMs);  // two periods in one interrupt
    EXPECT_EQ(s.pcm.hw_ptr(), 96U);
    EXPECT_EQ(s.pcm.avail_update(), 96U);
    EXPECT_EQ(s.pcm.state(), PcmState::Running);
    const auto events = take_events(s.pcm);
    const PcmEvent* e = find_kind(events, Kind::LostInterrupts);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail, 64);
    EXPECT_EQ(count_kind(events, Kind::UnexpectedHwPtr), 0U);
}

TEST(PcmPointer, ExactlyOneAndAHalfPeriodsIsNotReported) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(ptrtest::set_thresholds(s.pcm, 1, s.pcm.boundary()));
    PTR_ASSERT_OK(s.pcm.start());
    s.irq(32, 1 * kMs);
    s.irq(80, 2 * kMs);  // delta 48 == 1.5 periods: not more than
    EXPECT_EQ(s.pcm.hw_ptr(), 80U);
    s.irq(129 % kBuffer, 3 * kMs);  // 80 -> 129: delta 49
    EXPECT_EQ(s.pcm.hw_ptr(), 129U);
    const auto events = take_events(s.pcm);
    ASSERT_EQ(count_kind(events, Kind::LostInterrupts), 1U);
    EXPECT_EQ(find_kind(events, Kind::LostInterrupts)->detail, 49);
}

TEST(PcmPointer, PositionAtOrBeyondBufferSizeIsBadPositionAndTreatedAsZero) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(ptrtest::set_thresholds(s.pcm, 1, s.pcm.boundary()));
    PTR_ASSERT_OK(s.pcm.start());
    s.irq(32, 1 * kMs);
    s.irq(64, 2 * kMs);
    s.irq(96, 3 * kMs);
    (void)take_events(s.pcm);

    s.irq(500, 4 * kMs);  // garbage: read as 0, i.e. the buffer wrapped
    EXPECT_EQ(s.pcm.hw_ptr(), 128U);
    auto events = take_events(s.pcm);
    const PcmEvent* e = find_kind(events, Kind::BadPosition);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail, 500);

    s.irq(kBuffer, 4 * kMs + kMs / 10);  // == buffer_size is out of range too
    EXPECT_EQ(s.pcm.hw_ptr(), 128U);
    events = take_events(s.pcm);
    e = find_kind(events, Kind::BadPosition);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail, static_cast<int64_t>(kBuffer));

    s.irq(32, 5 * kMs);
    EXPECT_EQ(s.pcm.hw_ptr(), 160U);
    EXPECT_EQ(s.pcm.state(), PcmState::Running);
}

TEST(PcmPointer, PosXrunFromThePointerIsAnXrun) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(s.write(kBuffer));
    s.irq(32, 1 * kMs);
    (void)take_events(s.pcm);

    s.irq(kPosXrun, 2 * kMs);
    EXPECT_EQ(s.pcm.state(), PcmState::Xrun);
    EXPECT_EQ(s.pcm.hw_ptr(), 32U);
    EXPECT_EQ(s.pcm.status().xruns, 1U);
    EXPECT_EQ(s.hw.count(TriggerCmd::Stop), 1U);
    EXPECT_EQ(s.pcm.avail().code(), -EPIPE);
    const auto events = take_events(s.pcm);
    const PcmEvent* e = find_kind(events, Kind::State);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->from, PcmState::Running);
    EXPECT_EQ(e->to, PcmState::Xrun);
    EXPECT_EQ(count_kind(events, Kind::BadPosition), 0U);
}

// ------------------------------------------------------------------------------------------
// double acknowledgement versus a whole-buffer wrap (decided by the hardware clock)

TEST(PcmPointer, DoublyAcknowledgedInterruptDoesNotAddABuffer) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(ptrtest::set_thresholds(s.pcm, 1, s.pcm.boundary()));
    PTR_ASSERT_OK(s.pcm.start());
    s.irq(32, 1 * kMs);
    ASSERT_EQ(s.pcm.hw_ptr(), 32U);
    s.irq(32, 1 * kMs + kMs / 10);  // the same interrupt acknowledged twice
    EXPECT_EQ(s.pcm.hw_ptr(), 32U);
    s.irq(40, 1 * kMs + kMs / 5);  // again, the pointer crept on a little
    EXPECT_EQ(s.pcm.hw_ptr(), 40U);
    s.irq(64, 2 * kMs);  // and the real next interrupt
    EXPECT_EQ(s.pcm.hw_ptr(), 64U);
    const auto events = take_events(s.pcm);
    EXPECT_EQ(count_kind(events, Kind::LostInterrupts), 0U);
    EXPECT_EQ(count_kind(events, Kind::UnexpectedHwPtr), 0U);
}

TEST(PcmPointer, PointerShortOfAPeriodAfterMoreThanHalfABufferMeansAWholeBufferWrapped) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(ptrtest::set_thresholds(s.pcm, 1, s.pcm.boundary()));
    PTR_ASSERT_OK(s.pcm.start());
    s.irq(32, 1 * kMs);
    (void)take_events(s.pcm);

    // 3 ms (3/4 of the buffer) later the pointer is only 16 frames on: it went round once.
    s.irq(48, 4 * kMs);
    EXPECT_EQ(s.pcm.hw_ptr(), 32U + 128U + 16U);
    auto events = take_events(s.pcm);
    const PcmEvent* e = find_kind(events, Kind::LostInterrupts);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail, 144);

    // The pointer did not move at all in 2.5 ms: a whole buffer again.
    s.irq(48, 6 * kMs + kMs / 2);
    EXPECT_EQ(s.pcm.hw_ptr(), 176U + 128U);
    events = take_events(s.pcm);
    e = find_kind(events, Kind::LostInterrupts);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail, 128);
    EXPECT_EQ(count_kind(events, Kind::UnexpectedHwPtr), 0U);
}

TEST(PcmPointer, HalfABufferOfTimeIsNotYetAWrap) {
    FakeStream at_half(Stream::Playback);
    PTR_ASSERT_OK(at_half.setup());
    PTR_ASSERT_OK(ptrtest::set_thresholds(at_half.pcm, 1, at_half.pcm.boundary()));
    PTR_ASSERT_OK(at_half.pcm.start());
    at_half.irq(32, 1 * kMs);
    at_half.irq(48, 1 * kMs + 2 * kMs);  // exactly half of the 4 ms buffer
    EXPECT_EQ(at_half.pcm.hw_ptr(), 48U);

    FakeStream beyond(Stream::Playback);
    PTR_ASSERT_OK(beyond.setup());
    PTR_ASSERT_OK(ptrtest::set_thresholds(beyond.pcm, 1, beyond.pcm.boundary()));
    PTR_ASSERT_OK(beyond.pcm.start());
    beyond.irq(32, 1 * kMs);
    beyond.irq(48, 1 * kMs + 2 * kMs + kMs / 10);
    EXPECT_EQ(beyond.pcm.hw_ptr(), 48U + 128U);
}

// ------------------------------------------------------------------------------------------
// when the interrupt counts

TEST(PcmPointer, PeriodElapsedOutsideRunningOrDrainingIsIgnored) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    (void)take_events(s.pcm);

    // PREPARED
    s.irq(64, 1 * kMs);
    EXPECT_EQ(s.pcm.hw_ptr(), 0U);
    EXPECT_EQ(s.pcm.state(), PcmState::Prepared);
    EXPECT_EQ(s.pcm.status().periods_elapsed, 0U);
    EXPECT_EQ(s.hw.pointer_calls, 0U);
    EXPECT_TRUE(take_events(s.pcm).empty());

    // PAUSED: pause() itself syncs the pointer (snd_pcm_do_pause), interrupts then do nothing
    PTR_ASSERT_OK(s.write(kBuffer));
    s.irq(32, 2 * kMs);
    ASSERT_EQ(s.pcm.hw_ptr(), 32U);
    s.hw.pos = 40;
    PTR_ASSERT_OK(s.pcm.pause(true));
    EXPECT_EQ(s.pcm.hw_ptr(), 40U);
    const uint64_t calls = s.hw.pointer_calls;
    const uint64_t periods = s.pcm.status().periods_elapsed;
    s.irq(96, 3 * kMs);
    EXPECT_EQ(s.pcm.hw_ptr(), 40U);
    EXPECT_EQ(s.pcm.state(), PcmState::Paused);
    EXPECT_EQ(s.hw.pointer_calls, calls);
    EXPECT_EQ(s.pcm.status().periods_elapsed, periods);

    // SETUP
    PTR_ASSERT_OK(s.pcm.drop());
    s.irq(96, 4 * kMs);
    EXPECT_EQ(s.pcm.state(), PcmState::Setup);
    EXPECT_EQ(s.hw.pointer_calls, calls);

    // XRUN
    PTR_ASSERT_OK(s.pcm.prepare());
    PTR_ASSERT_OK(s.write(kBuffer));
    s.irq(kPosXrun, 5 * kMs);
    ASSERT_EQ(s.pcm.state(), PcmState::Xrun);
    const uint64_t calls_after_xrun = s.hw.pointer_calls;
    s.irq(64, 6 * kMs);
    EXPECT_EQ(s.pcm.state(), PcmState::Xrun);
    EXPECT_EQ(s.pcm.hw_ptr(), 0U);
    EXPECT_EQ(s.hw.pointer_calls, calls_after_xrun);
    EXPECT_EQ(s.pcm.status().xruns, 1U);
}

// An interrupt that arrives while the runtime is still inside its PAUSE_RELEASE or RESUME
// trigger (the hardware moved a period at once) must be counted: the stream is RUNNING from
// the moment the hardware is told to run, as start() already has it (defect 7 of the
// hardening issue: the state used to follow the trigger, so that interrupt was dropped, the
// next one reported LostInterrupts, and a wake-up came a period late).
void interrupt_on(FakeStream& s, TriggerCmd cmd, int64_t at_ns) {
    s.hw.on_trigger = [&s, cmd, at_ns, fired = false](TriggerCmd c) mutable {
        if (c != cmd || fired) return;
        fired = true;
        s.irq(s.hw.pos + kPeriod, at_ns);
    };
}

TEST(PcmPointer, AnInterruptDuringPauseReleaseIsCounted) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(s.write(kBuffer));
    s.irq(32, 1 * kMs);
    PTR_ASSERT_OK(s.pcm.pause(true));
    (void)take_events(s.pcm);
    interrupt_on(s, TriggerCmd::PauseRelease, 5 * kMs);
    PTR_ASSERT_OK(s.pcm.pause(false));
    EXPECT_EQ(s.pcm.state(), PcmState::Running);
    EXPECT_EQ(s.pcm.hw_ptr(), 64U) << "the interrupt raised during PAUSE_RELEASE was ignored";
    s.irq(96, 6 * kMs);
    EXPECT_EQ(s.pcm.hw_ptr(), 96U);
    EXPECT_EQ(count_kind(take_events(s.pcm), Kind::LostInterrupts), 0U);
}

TEST(PcmPointer, AnInterruptDuringResumeIsCounted) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(s.write(kBuffer));
    s.irq(32, 1 * kMs);
    PTR_ASSERT_OK(s.pcm.suspend());
    (void)take_events(s.pcm);
    interrupt_on(s, TriggerCmd::Resume, 5 * kMs);
    PTR_ASSERT_OK(s.pcm.resume());
    EXPECT_EQ(s.pcm.state(), PcmState::Running);
    EXPECT_EQ(s.pcm.hw_ptr(), 64U) << "the interrupt raised during RESUME was ignored";
    s.irq(96, 6 * kMs);
    EXPECT_EQ(s.pcm.hw_ptr(), 96U);
    EXPECT_EQ(count_kind(take_events(s.pcm), Kind::LostInterrupts), 0U);
}

TEST(PcmPointer, APauseReleaseTheHardwareRefusesLeavesTheStreamPaused) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(s.write(kBuffer));
    s.irq(32, 1 * kMs);
    PTR_ASSERT_OK(s.pcm.pause(true));
    s.hw.fail_next = -EIO;
    EXPECT_EQ(s.pcm.pause(false).code(), -EIO);
    EXPECT_EQ(s.pcm.state(), PcmState::Paused);
    PTR_ASSERT_OK(s.pcm.drop());
    PTR_ASSERT_OK(s.pcm.prepare());
    PTR_ASSERT_OK(s.write(kBuffer));
    s.irq(32, 2 * kMs);
    PTR_ASSERT_OK(s.pcm.suspend());
    s.hw.fail_next = -EIO;
    EXPECT_EQ(s.pcm.resume().code(), -EIO);
    EXPECT_EQ(s.pcm.state(), PcmState::Suspended);
}

// sw_params on a running stream takes effect at once, as the kernel's snd_pcm_sw_params runs
// snd_pcm_update_state (defect 11 of the hardening issue): a stop threshold already reached is
// an xrun now, not at the next interrupt.
TEST(PcmPointer, AStopThresholdLoweredBelowAvailWhileRunningIsAnXrunAtOnce) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(s.write(kBuffer));
    s.irq(64, 2 * kMs);
    ASSERT_EQ(s.pcm.avail_update(), 64U);
    ASSERT_EQ(s.pcm.state(), PcmState::Running);
    PTR_ASSERT_OK(ptrtest::set_thresholds(s.pcm, 1, 64));
    EXPECT_EQ(s.pcm.state(), PcmState::Xrun);
    EXPECT_EQ(s.hw.count(TriggerCmd::Stop), 1U);
    EXPECT_EQ(s.pcm.status().xruns, 1U);
}

TEST(PcmPointer, AStopThresholdAboveAvailWhileRunningChangesNothing) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(s.write(kBuffer));
    s.irq(64, 2 * kMs);
    PTR_ASSERT_OK(ptrtest::set_thresholds(s.pcm, 1, 65));
    EXPECT_EQ(s.pcm.state(), PcmState::Running);
    EXPECT_EQ(s.hw.count(TriggerCmd::Stop), 0U);
}

// status() is one snapshot (snd_pcm_status64 holds the stream lock): an interrupt that lands
// while it reads must not give a delay computed from another hw_ptr than the one it reports.
TEST(PcmPointer, StatusIsOneSnapshotEvenWhenAnInterruptLandsWhileItReads) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(s.write(kBuffer));
    s.irq(32, 1 * kMs);
    s.hw.extra_delay = 7;
    bool fired = false;
    s.hw.on_delay = [&] {
        if (fired) return;
        fired = true;
        s.irq(64, 2 * kMs);
    };
    const PcmStatus st = s.pcm.status();
    s.hw.on_delay = nullptr;
    ASSERT_TRUE(fired);
    EXPECT_EQ(st.avail, (st.hw_ptr + kBuffer - st.appl_ptr)) << "avail is not the one of the hw_ptr reported";
    EXPECT_EQ(st.delay, static_cast<int64_t>(kBuffer - st.avail) + 7) << "delay is not the one of the hw_ptr reported";
    EXPECT_EQ(st.periods_elapsed, st.hw_ptr / kPeriod);
}

// ------------------------------------------------------------------------------------------
// xrun and drain (snd_pcm_update_state)

TEST(PcmPointer, PlaybackXrunsWhenAvailReachesBufferSize) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    EXPECT_EQ(s.pcm.sw_params_current().stop_threshold, kBuffer);  // alsa-lib's default
    PTR_ASSERT_OK(s.write(kBuffer));
    s.irq(32, 1 * kMs);
    s.irq(64, 2 * kMs);
    s.irq(96, 3 * kMs);
    s.irq(127, 3 * kMs + kMs * 31 / 32);
    ASSERT_EQ(s.pcm.avail_update(), 127U);
    EXPECT_EQ(s.pcm.state(), PcmState::Running);
    EXPECT_EQ(s.hw.count(TriggerCmd::Stop), 0U);

    s.irq(0, 4 * kMs);  // hw_ptr 128: the application's last frame was played
    EXPECT_EQ(s.pcm.hw_ptr(), 128U);
    EXPECT_EQ(s.pcm.state(), PcmState::Xrun);
    EXPECT_EQ(s.pcm.status().xruns, 1U);
    EXPECT_EQ(s.hw.count(TriggerCmd::Stop), 1U);
    auto w = s.write(1);
    EXPECT_EQ(w.code(), -EPIPE);
}

TEST(PcmPointer, PlaybackXrunsAtACustomStopThresholdBelowBufferSize) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(ptrtest::set_thresholds(s.pcm, 1, 64));
    PTR_ASSERT_OK(s.write(kBuffer));
    s.irq(32, 1 * kMs);
    s.irq(63, 2 * kMs);
    EXPECT_EQ(s.pcm.avail_update(), 63U);
    EXPECT_EQ(s.pcm.state(), PcmState::Running);
    s.irq(64, 2 * kMs + kMs / 32);
    EXPECT_EQ(s.pcm.state(), PcmState::Xrun);
    EXPECT_EQ(s.pcm.hw_ptr(), 64U);
    EXPECT_EQ(s.hw.count(TriggerCmd::Stop), 1U);
    EXPECT_EQ(s.pcm.status().xruns, 1U);
}

TEST(PcmPointer, CaptureXrunsWhenAvailReachesStopThreshold) {
    FakeStream def(Stream::Capture);
    PTR_ASSERT_OK(def.setup());
    PTR_ASSERT_OK(def.pcm.start());
    def.irq(32, 1 * kMs);
    def.irq(64, 2 * kMs);
    def.irq(96, 3 * kMs);
    EXPECT_EQ(def.pcm.state(), PcmState::Running);
    def.irq(0, 4 * kMs);  // 128 unread frames: the next period would overwrite unread data
    EXPECT_EQ(def.pcm.avail_update(), 128U);
    EXPECT_EQ(def.pcm.state(), PcmState::Xrun);
    EXPECT_EQ(def.hw.count(TriggerCmd::Stop), 1U);
    EXPECT_EQ(def.read(1).code(), -EPIPE);

    FakeStream custom(Stream::Capture);
    PTR_ASSERT_OK(custom.setup());
    PTR_ASSERT_OK(ptrtest::set_thresholds(custom.pcm, 1, 48));
    PTR_ASSERT_OK(custom.pcm.start());
    custom.irq(32, 1 * kMs);
    PTR_ASSERT_OK(custom.read(20));  // 12 unread
    custom.irq(67, 2 * kMs);         // 47 unread
    EXPECT_EQ(custom.pcm.avail_update(), 47U);
    EXPECT_EQ(custom.pcm.state(), PcmState::Running);
    custom.irq(68, 2 * kMs + kMs / 8);  // 48 unread == stop_threshold
    EXPECT_EQ(custom.pcm.state(), PcmState::Xrun);
    EXPECT_EQ(custom.pcm.status().xruns, 1U);
}

TEST(PcmPointer, StopThresholdAtBoundaryNeverXruns) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    EXPECT_EQ(s.pcm.start().code(), -EPIPE);  // empty buffer, default thresholds
    PTR_ASSERT_OK(ptrtest::set_thresholds(s.pcm, 1, s.pcm.boundary()));
    PTR_ASSERT_OK(s.pcm.start());  // allowed empty once xruns are off
    for (int64_t i = 1; i <= 40; ++i) s.irq(static_cast<Frames>(i) * kPeriod % kBuffer, i * kMs);
    EXPECT_EQ(s.pcm.state(), PcmState::Running);
    EXPECT_EQ(s.pcm.hw_ptr(), 40U * kPeriod);
    EXPECT_EQ(s.pcm.status().xruns, 0U);
    EXPECT_EQ(s.hw.count(TriggerCmd::Stop), 0U);
}

TEST(PcmPointer, DrainCompletesWhenAvailReachesBufferSize) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(s.write(100));
    ASSERT_EQ(s.pcm.state(), PcmState::Running);
    EXPECT_EQ(s.pcm.drain().code(), -EAGAIN);  // non-blocking: draining has begun
    ASSERT_EQ(s.pcm.state(), PcmState::Draining);

    s.irq(32, 1 * kMs);
    s.irq(64, 2 * kMs);
    s.irq(96, 3 * kMs);
    s.irq(99, 3 * kMs + kMs / 10);
    EXPECT_EQ(s.pcm.avail_update(), 127U);
    EXPECT_EQ(s.pcm.state(), PcmState::Draining);
    EXPECT_EQ(s.hw.count(TriggerCmd::Stop), 0U);

    s.irq(100, 3 * kMs + kMs / 5);  // the last queued frame is out: avail == buffer_size
    EXPECT_EQ(s.pcm.state(), PcmState::Setup);
    EXPECT_EQ(s.hw.count(TriggerCmd::Stop), 1U);
    EXPECT_EQ(s.pcm.status().xruns, 0U);
}

TEST(PcmPointer, DrainingIgnoresTheStopThreshold) {
    FakeStream s(Stream::Playback);
    PTR_ASSERT_OK(s.setup());
    PTR_ASSERT_OK(ptrtest::set_thresholds(s.pcm, 1, 64));
    PTR_ASSERT_OK(s.write(kBuffer));
    EXPECT_EQ(s.pcm.drain().code(), -EAGAIN);
    ASSERT_EQ(s.pcm.state(), PcmState::Draining);
    s.irq(32, 1 * kMs);
    s.irq(64, 2 * kMs);
    s.irq(96, 3 * kMs);  // avail 96 >= stop_threshold 64, but draining only ends at the buffer
    EXPECT_EQ(s.pcm.state(), PcmState::Draining);
    s.irq(0, 4 * kMs);
    EXPECT_EQ(s.pcm.state(), PcmState::Setup);
    EXPECT_EQ(s.pcm.status().xruns, 0U);
}

// ------------------------------------------------------------------------------------------
// the same rules reached through SimDma's fault injection (virtual clock, 48 kHz, period 48
// = 1 ms, buffer 192 = 4 ms)

constexpr int64_t kSimPeriodNs = 1'000'000;
constexpr Frames kSimPeriod = 48;
constexpr Frames kSimBuffer = 192;

struct SimRig {
    explicit SimRig(SimClock& clock)
        : dma(clock), pcm(Stream::Playback, ptrtest::wide_constraints(), dma,
                          PcmRuntime::Options{.name = "sim", .nonblock = true}) {}
    Result<void> setup(bool xruns) {
        if (auto r = ptrtest::configure(pcm, Config{.rate = 48000, .period = 48, .periods = 4}); !r) return r;
        if (!xruns)
            if (auto r = ptrtest::set_thresholds(pcm, 1, pcm.boundary()); !r) return r;
        return ok();
    }
    SimDma dma;
    PcmRuntime pcm;
};

Result<void> advance_periods(SimClock& clock, int64_t periods) {
    return clock.advance(std::chrono::nanoseconds(periods * kSimPeriodNs));
}

TEST(PcmPointer, SimDmaPointerJumpIsLostInterruptsAndHwPtrFollowsTheRegister) {
    SimClock clock;
    SimRig r(clock);
    PTR_ASSERT_OK(r.setup(false));
    ASSERT_EQ(r.pcm.buffer_size(), kSimBuffer);
    PTR_ASSERT_OK(r.pcm.start());
    PTR_ASSERT_OK(advance_periods(clock, 1));
    ASSERT_EQ(r.pcm.hw_ptr(), kSimPeriod);
    (void)take_events(r.pcm);

    r.dma.inject_pointer_jump(kSimPeriod);
    PTR_ASSERT_OK(advance_periods(clock, 1));
    EXPECT_EQ(r.pcm.hw_ptr(), 3 * kSimPeriod);
    EXPECT_EQ(r.dma.pointer(), 3 * kSimPeriod % kSimBuffer);
    const auto events = take_events(r.pcm);
    const PcmEvent* e = find_kind(events, Kind::LostInterrupts);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail, 2 * static_cast<int64_t>(kSimPeriod));

    // From now on hw_ptr tracks the moved register: position + jump, one period per interrupt.
    PTR_ASSERT_OK(advance_periods(clock, 6));
    EXPECT_EQ(r.pcm.hw_ptr(), 8 * kSimPeriod + kSimPeriod);
    EXPECT_EQ(r.dma.interrupts(), 8U);
    EXPECT_EQ(count_kind(take_events(r.pcm), Kind::LostInterrupts), 0U);
    EXPECT_EQ(r.pcm.state(), PcmState::Running);
}

TEST(PcmPointer, SimDmaSkippedInterruptsAreReportedAndThePositionStaysRight) {
    SimClock clock;
    SimRig r(clock);
    PTR_ASSERT_OK(r.setup(false));
    PTR_ASSERT_OK(r.pcm.start());
    PTR_ASSERT_OK(advance_periods(clock, 1));
    ASSERT_EQ(r.pcm.hw_ptr(), kSimPeriod);
    (void)take_events(r.pcm);

    r.dma.skip_interrupts(2);
    PTR_ASSERT_OK(advance_periods(clock, 2));
    EXPECT_EQ(r.dma.interrupts(), 1U);
    EXPECT_EQ(r.pcm.hw_ptr(), kSimPeriod);  // nobody told the runtime yet
    PTR_ASSERT_OK(advance_periods(clock, 1));
    EXPECT_EQ(r.dma.interrupts(), 2U);
    EXPECT_EQ(r.pcm.hw_ptr(), 4 * kSimPeriod);
    EXPECT_EQ(r.pcm.status().periods_elapsed, 2U);
    const auto events = take_events(r.pcm);
    const PcmEvent* e = find_kind(events, Kind::LostInterrupts);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail, 3 * static_cast<int64_t>(kSimPeriod));
}

TEST(PcmPointer, SimDmaSkippingAWholeBufferOfInterruptsIsRecoveredByTheTimeRule) {
    SimClock clock;
    SimRig r(clock);
    PTR_ASSERT_OK(r.setup(false));
    PTR_ASSERT_OK(r.pcm.start());
    PTR_ASSERT_OK(advance_periods(clock, 1));
    (void)take_events(r.pcm);

    // Three lost interrupts in a 4-period buffer: at the next one the register shows the
    // same position as last time, but a whole buffer of time has passed.
    r.dma.skip_interrupts(3);
    PTR_ASSERT_OK(advance_periods(clock, 4));
    EXPECT_EQ(r.pcm.hw_ptr(), kSimPeriod + kSimBuffer);
    const auto events = take_events(r.pcm);
    const PcmEvent* e = find_kind(events, Kind::LostInterrupts);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail, static_cast<int64_t>(kSimBuffer));
    EXPECT_EQ(count_kind(events, Kind::UnexpectedHwPtr), 0U);
}

TEST(PcmPointer, SimDmaInjectedXrunStopsTheStream) {
    SimClock clock;
    SimRig r(clock);
    PTR_ASSERT_OK(r.setup(false));
    PTR_ASSERT_OK(r.pcm.start());
    PTR_ASSERT_OK(advance_periods(clock, 2));
    ASSERT_EQ(r.pcm.hw_ptr(), 2 * kSimPeriod);
    r.dma.inject_xrun();
    PTR_ASSERT_OK(advance_periods(clock, 1));
    EXPECT_EQ(r.pcm.state(), PcmState::Xrun);
    EXPECT_EQ(r.pcm.hw_ptr(), 2 * kSimPeriod);
    EXPECT_FALSE(r.dma.running());
    EXPECT_EQ(r.dma.triggers(TriggerCmd::Stop), 1U);
    EXPECT_EQ(r.pcm.status().xruns, 1U);
    PTR_ASSERT_OK(advance_periods(clock, 5));
    EXPECT_EQ(r.dma.interrupts(), 3U);  // stopped: no more interrupts
}

}  // namespace
}  // namespace dynpcm

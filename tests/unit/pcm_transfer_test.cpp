// PcmRuntime data transfer: what the application writes is exactly what the DMA plays, what
// the DMA captures is exactly what the application reads, for every access type, format and
// ring position; avail/delay accounting; blocking and non-blocking waits.

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pcm_fixture.h"

namespace dynpcm::test {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

/// writen() of the next `count` pattern frames from exactly sized per-channel buffers.
Result<Frames> write_planar(PcmRig& rig, Frames count) {
    const auto planar = planar_pattern(rig.written, count, rig.channels(), rig.sample_bytes());
    std::vector<const void*> ptrs;
    for (const auto& c : planar) ptrs.push_back(c.data());
    auto r = rig.pcm->writen(ptrs.data(), count);
    if (r) rig.written += *r;
    return r;
}

/// readn() of up to `count` frames into exactly sized per-channel buffers; what was read is
/// appended, interleaved, to rig.captured.
Result<Frames> read_planar(PcmRig& rig, Frames count) {
    std::vector<std::vector<std::byte>> planar(rig.channels(),
                                               std::vector<std::byte>(static_cast<size_t>(count) * rig.sample_bytes()));
    std::vector<void*> ptrs;
    for (auto& c : planar) ptrs.push_back(c.data());
    auto r = rig.pcm->readn(ptrs.data(), count);
    if (r) {
        const auto got = interleave(planar, *r, rig.sample_bytes());
        rig.captured.insert(rig.captured.end(), got.begin(), got.end());
    }
    return r;
}

/// Runs a blocking `call` on a helper thread. If it has not returned after `limit`, closes the
/// PCM (which releases blocked callers with -EBADFD) so that a hang fails the test instead of
/// stalling it. Returns the call's result and whether the watchdog had to step in.
template <typename Call>
std::pair<Result<Frames>, bool> call_with_watchdog(PcmRuntime& pcm, Call call, milliseconds limit) {
    std::optional<Result<Frames>> result;
    std::atomic<bool> finished{false};
    std::thread t([&] {
        result.emplace(call());
        finished.store(true);
    });
    const auto deadline = Clock::now() + limit;
    while (!finished.load() && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(1));
    const bool hung = !finished.load();
    if (hung) pcm.close();
    t.join();
    return {std::move(*result), hung};
}

PcmSetup non_interleaved(PcmSetup s = {}) {
    s.access = Access::RwNonInterleaved;
    return s;
}

// ------------------------------------------------------------------------------------------
// interleaved and non-interleaved

TEST(PcmTransfer, InterleavedAndNonInterleavedWritesPlayIdenticalFrames) {
    auto inter = prepared_rig(Stream::Playback);
    auto planar = prepared_rig(Stream::Playback, rig_options(), non_interleaved());
    ASSERT_EQ(planar->pcm->params().access(), Access::RwNonInterleaved);
    ASSERT_TRUE(transferred(inter->write_pattern(kBuffer), kBuffer));
    ASSERT_TRUE(transferred(write_planar(*planar, kBuffer), kBuffer));
    DYNPCM_ASSERT_OK(inter->advance_periods(kPeriods));
    DYNPCM_ASSERT_OK(planar->advance_periods(kPeriods));
    const auto want = inter->expected(0, kBuffer);
    EXPECT_TRUE(same_bytes(inter->played, want)) << "writei";
    EXPECT_TRUE(same_bytes(planar->played, want)) << "writen";
    EXPECT_TRUE(same_bytes(planar->played, inter->played));
}

TEST(PcmTransfer, NonInterleavedWritesOfPackedThreeChannelSamplesInterleaveCorrectly) {
    PcmSetup setup = non_interleaved();
    setup.format = Format::S24_3LE;
    setup.channels = 3;
    auto rig = prepared_rig(Stream::Playback, rig_options(), setup);
    for (Frames n : {Frames{1}, Frames{700}, Frames{1500}, Frames{1895}})
        ASSERT_TRUE(transferred(write_planar(*rig, n), n));
    ASSERT_EQ(rig->written, kBuffer);
    DYNPCM_ASSERT_OK(rig->advance_periods(kPeriods));
    EXPECT_EQ(rig->played.size(), kBuffer * 9U);
    EXPECT_TRUE(same_bytes(rig->played, rig->expected(0, kBuffer)));
}

TEST(PcmTransfer, CaptureReadiReturnsExactlyTheCapturedFrames) {
    auto rig = prepared_rig(Stream::Capture);
    DYNPCM_ASSERT_OK(rig->pcm->start());
    DYNPCM_ASSERT_OK(rig->advance_periods(2));
    EXPECT_TRUE(transferred(rig->read_frames(700), 700U));
    EXPECT_TRUE(transferred(rig->read_frames(2 * kPeriod - 700), 2 * kPeriod - 700));
    EXPECT_TRUE(same_bytes(rig->captured, rig->expected(0, 2 * kPeriod)));
}

TEST(PcmTransfer, CaptureReadnReturnsExactlyTheCapturedFramesPerChannel) {
    auto rig = prepared_rig(Stream::Capture, rig_options(), non_interleaved());
    DYNPCM_ASSERT_OK(rig->pcm->start());
    DYNPCM_ASSERT_OK(rig->advance_periods(2));
    EXPECT_TRUE(transferred(read_planar(*rig, 333), 333U));
    EXPECT_TRUE(transferred(read_planar(*rig, 2 * kPeriod - 333), 2 * kPeriod - 333));
    EXPECT_TRUE(same_bytes(rig->captured, rig->expected(0, 2 * kPeriod)));
}

// ------------------------------------------------------------------------------------------
// partial and non-blocking transfers

TEST(PcmTransfer, PartialWritesReturnTheFramesThatFitInAvail) {
    auto rig = prepared_rig(Stream::Playback);
    EXPECT_TRUE(transferred(rig->write_pattern(kBuffer + 904), kBuffer)) << "only a buffer fits";
    EXPECT_EQ(rig->pcm->appl_ptr(), kBuffer);
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    EXPECT_TRUE(transferred(rig->write_pattern(2000), kPeriod)) << "one period was freed";
    EXPECT_EQ(rig->pcm->appl_ptr(), kBuffer + kPeriod);
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    EXPECT_TRUE(transferred(rig->write_pattern(100), 100U));
    EXPECT_TRUE(transferred(rig->write_pattern(5000), kPeriod - 100));
    // The stream the DMA plays is exactly the accepted prefix of every write, in order.
    DYNPCM_ASSERT_OK(rig->advance_periods(kPeriods));
    EXPECT_EQ(rig->played_frames, kBuffer + 2 * kPeriod);
    EXPECT_TRUE(same_bytes(rig->played, rig->expected(0, kBuffer + 2 * kPeriod)));
}

TEST(PcmTransfer, NonBlockingWriteWithNoRoomFailsWithEagain) {
    auto rig = prepared_rig(Stream::Playback);
    ASSERT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));
    EXPECT_TRUE(pcm_error(rig->write_pattern(1), -EAGAIN));
    EXPECT_EQ(rig->pcm->appl_ptr(), kBuffer);
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
}

TEST(PcmTransfer, NonBlockingReadWithNothingCapturedFailsWithEagain) {
    auto rig = prepared_rig(Stream::Capture);
    DYNPCM_ASSERT_OK(rig->pcm->start());
    EXPECT_TRUE(pcm_error(rig->read_frames(1), -EAGAIN));
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    EXPECT_TRUE(transferred(rig->read_frames(kBuffer), kPeriod)) << "a partial read returns what there is";
    EXPECT_TRUE(pcm_error(rig->read_frames(1), -EAGAIN));
    EXPECT_EQ(rig->pcm->appl_ptr(), kPeriod);
}

// ------------------------------------------------------------------------------------------
// ring wrap-around

/// Writes `target` frames in chunks of awkward sizes, advancing the clock one period whenever
/// the ring is full, then fills the ring and plays everything out (the stream xruns at the end).
void write_through_wraps(PcmRig& rig, Frames target, bool planar) {
    const Frames sizes[] = {700, 1337, 333, 1, 2048, 999, 4095, 17, 1023, 1025};
    size_t i = 0;
    int guard = 0;
    while (rig.written < target) {
        ASSERT_LT(++guard, 10000);
        const Frames want = sizes[i++ % std::size(sizes)];
        auto r = planar ? write_planar(rig, want) : rig.write_pattern(want);
        if (!r) {
            ASSERT_EQ(r.code(), -EAGAIN) << r.error().message();
            DYNPCM_ASSERT_OK(rig.advance_periods(1));
        } else if (*r < want) {
            DYNPCM_ASSERT_OK(rig.advance_periods(1));
        }
        ASSERT_EQ(rig.pcm->state(), PcmState::Running);
    }
    // Fill the ring, so that the DMA plays exactly the written frames before it underruns.
    auto fill = planar ? write_planar(rig, kBuffer) : rig.write_pattern(kBuffer);
    ASSERT_TRUE(fill.ok() || fill.code() == -EAGAIN);
    ASSERT_EQ(rig.pcm->avail_update(), 0U);
    DYNPCM_ASSERT_OK(rig.advance_periods(kPeriods));
    ASSERT_EQ(rig.pcm->state(), PcmState::Xrun);
}

TEST(PcmTransfer, InterleavedWritesOfOddSizesWrapTheRingAndPlayTheStreamInOrder) {
    auto rig = prepared_rig(Stream::Playback);
    ASSERT_NO_FATAL_FAILURE(write_through_wraps(*rig, 6 * kBuffer + 123, /*planar=*/false));
    ASSERT_GT(rig->written, 6 * kBuffer);
    EXPECT_EQ(rig->pcm->hw_ptr(), rig->written);
    EXPECT_EQ(rig->pcm->appl_ptr(), rig->written);
    EXPECT_EQ(rig->played_frames, rig->written);
    EXPECT_TRUE(same_bytes(rig->played, rig->expected(0, rig->written)));
}

TEST(PcmTransfer, NonInterleavedWritesOfOddSizesWrapTheRingAndPlayTheStreamInOrder) {
    auto rig = prepared_rig(Stream::Playback, rig_options(), non_interleaved());
    ASSERT_NO_FATAL_FAILURE(write_through_wraps(*rig, 6 * kBuffer + 123, /*planar=*/true));
    ASSERT_GT(rig->written, 6 * kBuffer);
    EXPECT_EQ(rig->played_frames, rig->written);
    EXPECT_TRUE(same_bytes(rig->played, rig->expected(0, rig->written)));
}

TEST(PcmTransfer, ReadsOfOddSizesWrapTheRingAndReturnTheCapturedStreamInOrder) {
    for (bool planar : {false, true}) {
        SCOPED_TRACE(planar ? "readn" : "readi");
        auto rig = prepared_rig(Stream::Capture, rig_options(), planar ? non_interleaved() : PcmSetup{});
        DYNPCM_ASSERT_OK(rig->pcm->start());
        const Frames sizes[] = {333, 1, 1500, 999, 17, 2048};
        size_t i = 0;
        Frames read = 0;
        for (int period = 0; period < 6 * static_cast<int>(kPeriods) + 3; ++period) {
            DYNPCM_ASSERT_OK(rig->advance_periods(1));
            for (;;) {  // read everything there is, in awkward pieces
                auto r = planar ? read_planar(*rig, sizes[i++ % std::size(sizes)])
                                : rig->read_frames(sizes[i++ % std::size(sizes)]);
                if (!r) {
                    ASSERT_EQ(r.code(), -EAGAIN) << r.error().message();
                    break;
                }
                read += *r;
            }
            ASSERT_EQ(rig->pcm->state(), PcmState::Running);
        }
        EXPECT_EQ(read, rig->produced);
        EXPECT_GT(read, 6 * kBuffer);
        EXPECT_TRUE(same_bytes(rig->captured, rig->expected(0, read)));
    }
}

// ------------------------------------------------------------------------------------------
// underrun and overrun

TEST(PcmTransfer, AnUnderrunPlaysSilenceForUnwrittenFramesNeverStaleData) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->set_stop_threshold(rig->pcm->boundary()));  // keep running when empty
    ASSERT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));   // ring = frames 0..4095
    DYNPCM_ASSERT_OK(rig->advance_periods(2));
    // Half a period more, into ring slots 0..511 (which still hold frames 0..511 as well).
    ASSERT_TRUE(transferred(rig->write_pattern(kPeriod / 2), kPeriod / 2));
    DYNPCM_ASSERT_OK(rig->advance_periods(4));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_EQ(rig->pcm->status().xruns, 0U);
    ASSERT_EQ(rig->played_frames, 6 * kPeriod);

    // Played: the whole buffer, the half period, then silence where the ring holds stale
    // frames 512..2047 that were already played once.
    std::vector<std::byte> want = rig->expected(0, kBuffer + kPeriod / 2);
    const auto quiet = rig->silence(kPeriod + kPeriod / 2);
    want.insert(want.end(), quiet.begin(), quiet.end());
    EXPECT_TRUE(same_bytes(rig->played, want));

    // Still nothing written: the DMA keeps playing silence around the whole ring.
    rig->played.clear();
    DYNPCM_ASSERT_OK(rig->advance_periods(kPeriods));
    EXPECT_TRUE(same_bytes(rig->played, rig->silence(kBuffer)));
}

TEST(PcmTransfer, AfterAnUnderrunOnlyFramesAheadOfTheHardwarePointerArePlayed) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->set_stop_threshold(rig->pcm->boundary()));
    ASSERT_TRUE(transferred(rig->write_pattern(kPeriod), kPeriod));
    DYNPCM_ASSERT_OK(rig->advance_periods(3));  // hw 3072, appl 1024: 2 periods of underrun
    ASSERT_EQ(rig->pcm->hw_ptr(), 3 * kPeriod);
    // 2.5 periods: the first two fall behind the DMA, the last half period is ahead of it.
    ASSERT_TRUE(transferred(rig->write_pattern(2 * kPeriod + kPeriod / 2), 2 * kPeriod + kPeriod / 2));
    rig->played.clear();
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    std::vector<std::byte> want = rig->expected(3 * kPeriod, kPeriod / 2);
    const auto quiet = rig->silence(kPeriod / 2);
    want.insert(want.end(), quiet.begin(), quiet.end());
    EXPECT_TRUE(same_bytes(rig->played, want));
}

TEST(PcmTransfer, CaptureOverrunIsReportedAsXrunWhenTheBufferFills) {
    auto rig = prepared_rig(Stream::Capture);
    DYNPCM_ASSERT_OK(rig->pcm->start());
    DYNPCM_ASSERT_OK(rig->advance_periods(kPeriods));
    EXPECT_EQ(rig->pcm->state(), PcmState::Xrun);
    EXPECT_EQ(rig->pcm->status().xruns, 1U);
    EXPECT_TRUE(pcm_error(rig->read_frames(1), -EPIPE));
    EXPECT_EQ(rig->produced, kBuffer) << "the DMA stops at the xrun";
}

TEST(PcmTransfer, CaptureOverrunDropsNewFramesRatherThanOverwritingUnreadOnes) {
    auto rig = prepared_rig(Stream::Capture);
    DYNPCM_ASSERT_OK(rig->set_stop_threshold(rig->pcm->boundary()));  // keep capturing when full
    DYNPCM_ASSERT_OK(rig->pcm->start());
    DYNPCM_ASSERT_OK(rig->advance_periods(kPeriods + 2));  // two periods more than fit
    ASSERT_EQ(rig->pcm->state(), PcmState::Running);
    ASSERT_EQ(rig->produced, kBuffer + 2 * kPeriod);
    EXPECT_TRUE(transferred(rig->read_frames(kBuffer), kBuffer));
    EXPECT_TRUE(same_bytes(rig->captured, rig->expected(0, kBuffer)))
        << "the unread frames 0..4095 must survive the overrun";
}

TEST(PcmTransfer, CaptureOverrunOfAPartlyReadBufferKeepsTheUnreadFrames) {
    auto rig = prepared_rig(Stream::Capture);
    DYNPCM_ASSERT_OK(rig->set_stop_threshold(rig->pcm->boundary()));
    DYNPCM_ASSERT_OK(rig->pcm->start());
    DYNPCM_ASSERT_OK(rig->advance_periods(2));
    ASSERT_TRUE(transferred(rig->read_frames(kPeriod + 100), kPeriod + 100));  // frames 0..1123
    DYNPCM_ASSERT_OK(rig->advance_periods(4));  // 6 periods produced, 2924 fit unread
    // The ring holds frames 1124..4095 unread, and the 1124 slots already read took frames
    // 4096..5219; the rest of the last period (5220..6143) was dropped.
    rig->captured.clear();
    ASSERT_TRUE(transferred(rig->read_frames(kBuffer - (kPeriod + 100)), kBuffer - (kPeriod + 100)));
    EXPECT_TRUE(same_bytes(rig->captured, rig->expected(kPeriod + 100, kBuffer - (kPeriod + 100))))
        << "unread frames were overwritten";
    rig->captured.clear();
    ASSERT_TRUE(transferred(rig->read_frames(kPeriod + 100), kPeriod + 100));
    EXPECT_TRUE(same_bytes(rig->captured, rig->expected(kBuffer, kPeriod + 100)));
}

// ------------------------------------------------------------------------------------------
// formats

struct FormatCase {
    Format format;
    unsigned sample_bytes;  ///< bytes each sample occupies in memory
};

class PcmTransferFormat : public ::testing::TestWithParam<FormatCase> {};

TEST_P(PcmTransferFormat, FramesRoundTripByteForByteThroughPlayback) {
    const FormatCase fc = GetParam();
    EXPECT_EQ(frame_bytes(fc.format, 2), 2 * fc.sample_bytes);
    PcmSetup setup;
    setup.format = fc.format;
    auto rig = prepared_rig(Stream::Playback, rig_options(), setup);
    ASSERT_EQ(rig->pcm->params().format(), fc.format);
    EXPECT_EQ(rig->pcm->params().get(HwParam::FrameBits), 16 * fc.sample_bytes);
    EXPECT_EQ(rig->pcm->params().get(HwParam::BufferBytes), kBuffer * 2 * fc.sample_bytes);
    ASSERT_TRUE(transferred(rig->write_pattern(1000), 1000U));
    ASSERT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer - 1000));
    DYNPCM_ASSERT_OK(rig->advance_periods(kPeriods));
    EXPECT_EQ(rig->played.size(), kBuffer * 2 * fc.sample_bytes);
    EXPECT_TRUE(same_bytes(rig->played, rig->expected(0, kBuffer)));
}

TEST_P(PcmTransferFormat, FramesRoundTripByteForByteThroughCapture) {
    const FormatCase fc = GetParam();
    PcmSetup setup;
    setup.format = fc.format;
    auto rig = prepared_rig(Stream::Capture, rig_options(), setup);
    DYNPCM_ASSERT_OK(rig->pcm->start());
    DYNPCM_ASSERT_OK(rig->advance_periods(3));
    ASSERT_TRUE(transferred(rig->read_frames(3 * kPeriod), 3 * kPeriod));
    EXPECT_EQ(rig->captured.size(), 3 * kPeriod * 2 * fc.sample_bytes);
    EXPECT_TRUE(same_bytes(rig->captured, rig->expected(0, 3 * kPeriod)));
}

INSTANTIATE_TEST_SUITE_P(PcmTransfer, PcmTransferFormat,
                         ::testing::Values(FormatCase{Format::S16_LE, 2}, FormatCase{Format::S24_LE, 4},
                                           FormatCase{Format::S24_3LE, 3}, FormatCase{Format::S32_LE, 4},
                                           FormatCase{Format::FLOAT_LE, 4}),
                         [](const ::testing::TestParamInfo<FormatCase>& param_info) {
                             return std::string(format_info(param_info.param.format).name);
                         });

// ------------------------------------------------------------------------------------------
// avail and delay

TEST(PcmTransfer, PlaybackDelayIsQueuedFramesPlusTheHardwareFifo) {
    SimDma::Options dma_opt;
    dma_opt.fifo_frames = 64;
    auto rig = prepared_rig(Stream::Playback, rig_options(), {}, dma_opt);
    EXPECT_TRUE(has_value(rig->pcm->delay(), 64));
    ASSERT_TRUE(transferred(rig->write_pattern(3000), 3000U));
    EXPECT_TRUE(has_value(rig->pcm->avail(), kBuffer - 3000));
    EXPECT_TRUE(has_value(rig->pcm->delay(), 3000 + 64));
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    EXPECT_TRUE(has_value(rig->pcm->avail(), kBuffer - 3000 + kPeriod));
    EXPECT_TRUE(has_value(rig->pcm->delay(), 3000 - 1024 + 64));
    ASSERT_TRUE(transferred(rig->write_pattern(100), 100U));
    EXPECT_TRUE(has_value(rig->pcm->delay(), 3100 - 1024 + 64));
    const PcmStatus st = rig->pcm->status();
    EXPECT_EQ(st.delay, 3100 - 1024 + 64);
    EXPECT_EQ(st.avail, kBuffer - 3100 + kPeriod);
    EXPECT_EQ(st.hw_ptr, kPeriod);
    EXPECT_EQ(st.appl_ptr, 3100U);
}

TEST(PcmTransfer, CaptureAvailGrowsByOnePeriodPerInterrupt) {
    SimDma::Options dma_opt;
    dma_opt.fifo_frames = 32;
    auto rig = prepared_rig(Stream::Capture, rig_options(), {}, dma_opt);
    DYNPCM_ASSERT_OK(rig->pcm->start());
    EXPECT_TRUE(has_value(rig->pcm->avail(), 0));
    for (Frames k = 1; k <= 3; ++k) {
        DYNPCM_ASSERT_OK(rig->advance_periods(1));
        EXPECT_EQ(rig->dma.interrupts(), k);
        EXPECT_TRUE(has_value(rig->pcm->avail(), k * kPeriod)) << "after " << k << " interrupts";
        EXPECT_TRUE(has_value(rig->pcm->delay(), k * kPeriod + 32)) << "after " << k << " interrupts";
    }
    ASSERT_TRUE(transferred(rig->read_frames(500), 500U));
    EXPECT_TRUE(has_value(rig->pcm->avail(), 3 * kPeriod - 500));
}

// ------------------------------------------------------------------------------------------
// blocking transfers and wait()

TEST(PcmTransfer, BlockingWriteWithoutDmaProgressFailsWithEioInsteadOfHanging) {
    auto rig = prepared_rig(Stream::Playback, rig_options(/*nonblock=*/false, milliseconds(50)));
    ASSERT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));  // fits: does not block
    const auto t0 = Clock::now();
    // No room, and nobody advances the clock.
    auto [r, hung] = call_with_watchdog(*rig->pcm, [&] { return rig->write_pattern(kPeriod); }, milliseconds(1500));
    const auto took = Clock::now() - t0;
    ASSERT_FALSE(hung) << "writei kept waiting past its 50 ms timeout";
    EXPECT_TRUE(pcm_error(r, -EIO, {"DMA or IRQ"}));
    EXPECT_GE(took, milliseconds(50));
    EXPECT_LT(took, milliseconds(1000));
    EXPECT_EQ(rig->pcm->appl_ptr(), kBuffer);
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
}

TEST(PcmTransfer, BlockingReadWithoutDmaProgressFailsWithEioInsteadOfHanging) {
    auto rig = prepared_rig(Stream::Capture, rig_options(/*nonblock=*/false, milliseconds(50)));
    const auto t0 = Clock::now();
    // Starts the stream, then waits for data that never comes.
    auto [r, hung] = call_with_watchdog(*rig->pcm, [&] { return rig->read_frames(kPeriod); }, milliseconds(1500));
    const auto took = Clock::now() - t0;
    ASSERT_FALSE(hung) << "readi kept waiting past its 50 ms timeout";
    EXPECT_TRUE(pcm_error(r, -EIO));
    EXPECT_LT(took, milliseconds(1000));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
}

TEST(PcmTransfer, BlockingWriteWaitsUntilTheDmaFreesRoomAndTransfersEverything) {
    auto rig = prepared_rig(Stream::Playback, rig_options(/*nonblock=*/false, milliseconds(1000)));
    DYNPCM_ASSERT_OK(rig->set_stop_threshold(rig->pcm->boundary()));  // immune to scheduling hiccups
    ASSERT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));
    std::atomic<bool> done{false};
    std::thread irq([&] {  // plays the interrupt thread
        for (int i = 0; i < 400 && !done.load(); ++i) {
            (void)rig->advance_periods(1);
            std::this_thread::sleep_for(milliseconds(1));
        }
    });
    const auto t0 = Clock::now();
    auto r = rig->write_pattern(2 * kPeriod + 10);
    done.store(true);
    irq.join();
    EXPECT_TRUE(transferred(r, 2 * kPeriod + 10));
    EXPECT_LT(Clock::now() - t0, milliseconds(1000));
    EXPECT_EQ(rig->pcm->appl_ptr(), kBuffer + 2 * kPeriod + 10);
}

TEST(PcmTransfer, WaitReturnsTrueOnceAvailReachesAvailMinAndFalseOnTimeout) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->set_avail_min(2 * kPeriod));
    {
        auto w = rig->pcm->wait(milliseconds(0));
        ASSERT_TRUE(is_ok(w));
        EXPECT_TRUE(*w) << "an empty prepared buffer has room";
    }
    ASSERT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));
    {
        const auto t0 = Clock::now();
        auto w = rig->pcm->wait(milliseconds(20));
        ASSERT_TRUE(is_ok(w));
        EXPECT_FALSE(*w) << "a full buffer, and the clock stands still";
        EXPECT_GE(Clock::now() - t0, milliseconds(20));
    }
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    {
        auto w = rig->pcm->wait(milliseconds(5));
        ASSERT_TRUE(is_ok(w));
        EXPECT_FALSE(*w) << "avail 1024 < avail_min 2048";
    }
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    {
        auto w = rig->pcm->wait(milliseconds(0));
        ASSERT_TRUE(is_ok(w));
        EXPECT_TRUE(*w) << "avail 2048 == avail_min";
    }
}

TEST(PcmTransfer, WaitWakesWhenAnInterruptBringsAvailToAvailMin) {
    auto rig = prepared_rig(Stream::Capture);
    DYNPCM_ASSERT_OK(rig->pcm->start());
    std::atomic<bool> done{false};
    std::thread irq([&] {
        std::this_thread::sleep_for(milliseconds(10));
        for (int i = 0; i < 200 && !done.load(); ++i) {
            (void)rig->advance_ns(rig->period_ns() / 4);
            std::this_thread::sleep_for(milliseconds(1));
        }
    });
    const auto t0 = Clock::now();
    auto w = rig->pcm->wait(milliseconds(1500));
    done.store(true);
    irq.join();
    ASSERT_TRUE(is_ok(w));
    EXPECT_TRUE(*w);
    EXPECT_LT(Clock::now() - t0, milliseconds(1000));
    EXPECT_GE(rig->pcm->avail_update(), kPeriod);
}

TEST(PcmTransfer, WaitInXrunFailsWithEpipe) {
    auto rig = prepared_rig(Stream::Playback);
    ASSERT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));
    DYNPCM_ASSERT_OK(rig->advance_periods(kPeriods));
    ASSERT_EQ(rig->pcm->state(), PcmState::Xrun);
    EXPECT_TRUE(pcm_error(rig->pcm->wait(milliseconds(0)), -EPIPE));
}

}  // namespace
}  // namespace dynpcm::test

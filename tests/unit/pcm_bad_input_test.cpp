// Bad input to PcmRuntime and its parameter spaces: nothing crashes, nothing overflows, and each
// mistake comes back as the alsa-lib errno with a message that says what was wrong and which
// PCM it was.

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "pcm_fixture.h"

namespace dynpcm::test {
namespace {

using std::chrono::milliseconds;

PcmSetup non_interleaved() {
    PcmSetup s;
    s.access = Access::RwNonInterleaved;
    return s;
}

// ------------------------------------------------------------------------------------------
// hw_params spaces

TEST(PcmBadInput, ZeroRateIsRejectedAndLeavesTheSpaceUnchanged) {
    PcmRig rig(Stream::Playback);
    HwParams hp = rig.pcm->hw_params_any();
    const Interval before = hp.interval(HwParam::Rate);
    EXPECT_TRUE(is_error(hp.set(HwParam::Rate, 0), -EINVAL, {"rate"}));
    EXPECT_EQ(hp.interval(HwParam::Rate), before);
    // The space is still usable.
    DYNPCM_EXPECT_OK(hp.set(HwParam::Rate, 48000));
    DYNPCM_EXPECT_OK(rig.pcm->hw_params(hp));
    EXPECT_EQ(rig.pcm->params().rate(), 48000U);
}

TEST(PcmBadInput, ARateOutsideTheHardwareRangeIsRejected) {
    PcmRig rig(Stream::Playback);
    HwParams hp = rig.pcm->hw_params_any();
    EXPECT_TRUE(is_error(hp.set(HwParam::Rate, 1000000), -EINVAL, {"rate"}));
    EXPECT_TRUE(is_error(hp.set(HwParam::Channels, 9), -EINVAL, {"channels"}));
    EXPECT_TRUE(is_error(hp.set(HwParam::Channels, 0), -EINVAL, {"channels"}));
}

TEST(PcmBadInput, APeriodLargerThanTheBufferIsRejected) {
    PcmRig rig(Stream::Playback);
    HwParams hp = rig.pcm->hw_params_any();
    DYNPCM_ASSERT_OK(hp.set_format(Format::S16_LE));
    DYNPCM_ASSERT_OK(hp.set(HwParam::Channels, 2));
    DYNPCM_ASSERT_OK(hp.set(HwParam::BufferSize, 2048));
    EXPECT_TRUE(is_error(hp.set(HwParam::PeriodSize, 4096), -EINVAL, {"period_size"}));
    EXPECT_EQ(hp.interval(HwParam::BufferSize), Interval::single(2048)) << "the space must be unchanged";
    EXPECT_LE(hp.interval(HwParam::PeriodSize).max, 1024U) << "at least 2 periods fit in 2048 frames";
}

TEST(PcmBadInput, AnUnsupportedFormatIsRejected) {
    HwConstraints::Caps caps;
    caps.formats = FormatMask::of(Format::S16_LE);
    SimClock clock;
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Playback, std::make_shared<const HwConstraints>(caps), dma, rig_options());
    HwParams hp = pcm.hw_params_any();
    EXPECT_TRUE(is_error(hp.set_format(Format::S32_LE), -EINVAL, {"S32_LE"}));
    EXPECT_EQ(hp.formats(), FormatMask::of(Format::S16_LE));
}

TEST(PcmBadInput, HwParamsWithASpaceFromAnotherPcmIsRejected) {
    PcmRig rig(Stream::Playback);
    PcmRig other(Stream::Playback);
    HwParams foreign = other.pcm->hw_params_any();
    EXPECT_TRUE(pcm_error(rig.pcm->hw_params(foreign), -EINVAL, {"another PCM"}));
    EXPECT_EQ(rig.pcm->state(), PcmState::Open);
    EXPECT_EQ(other.pcm->state(), PcmState::Open);
}

TEST(PcmBadInput, HwParamsWhileRunningFailsWithEbadfd) {
    auto rig = prepared_rig(Stream::Playback);
    ASSERT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));
    HwParams hp = rig->pcm->hw_params_any();
    EXPECT_TRUE(pcm_error(rig->pcm->hw_params(hp), -EBADFD, {"hw_params", "RUNNING"}));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_EQ(rig->pcm->buffer_size(), kBuffer);
    EXPECT_TRUE(rig->dma.running());
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    EXPECT_EQ(rig->pcm->hw_ptr(), kPeriod) << "the running configuration is untouched";
}

// ------------------------------------------------------------------------------------------
// sw_params

TEST(PcmBadInput, SwParamsWithAvailMinZeroIsRejected) {
    auto rig = prepared_rig(Stream::Playback);
    SwParams sw = rig->pcm->sw_params_current();
    sw.avail_min = 0;
    EXPECT_TRUE(pcm_error(rig->pcm->sw_params(sw), -EINVAL, {"avail_min"}));
    EXPECT_EQ(rig->pcm->sw_params_current().avail_min, kPeriod) << "nothing was installed";
}

TEST(PcmBadInput, SwParamsWithInconsistentSilenceSettingsAreRejected) {
    auto rig = prepared_rig(Stream::Playback);
    SwParams sw = rig->pcm->sw_params_current();
    sw.silence_threshold = 100;
    sw.silence_size = 200;
    EXPECT_TRUE(pcm_error(rig->pcm->sw_params(sw), -EINVAL, {"silence_size"}));
    sw.silence_threshold = kBuffer + 1;
    sw.silence_size = 0;
    EXPECT_TRUE(pcm_error(rig->pcm->sw_params(sw), -EINVAL, {"silence_threshold"}));
    EXPECT_EQ(rig->pcm->sw_params_current().silence_threshold, 0U);
}

TEST(PcmBadInput, SwParamsInOpenFailsWithEbadfd) {
    PcmRig rig(Stream::Playback);
    EXPECT_TRUE(pcm_error(rig.pcm->sw_params(SwParams{}), -EBADFD, {"sw_params"}));
    EXPECT_EQ(rig.pcm->state(), PcmState::Open);
}

// ------------------------------------------------------------------------------------------
// transfers

TEST(PcmBadInput, WriteInOpenStateFailsWithEbadfdNamingHwParams) {
    PcmRig rig(Stream::Playback);
    std::vector<std::byte> frames(16 * 4);
    EXPECT_TRUE(pcm_error(rig.pcm->writei(frames.data(), 16), -EBADFD, {"OPEN", "hw_params"}));
    const void* chans[2] = {frames.data(), frames.data()};
    EXPECT_TRUE(pcm_error(rig.pcm->writen(chans, 16), -EBADFD, {"OPEN"}));
    EXPECT_TRUE(pcm_error(rig.pcm->avail(), -EBADFD));
    EXPECT_TRUE(pcm_error(rig.pcm->delay(), -EBADFD));
    EXPECT_TRUE(pcm_error(rig.pcm->prepare(), -EBADFD, {"OPEN"}));
    EXPECT_TRUE(pcm_error(rig.pcm->drain(), -EBADFD, {"OPEN"}));
    EXPECT_TRUE(pcm_error(rig.pcm->wait(milliseconds(0)), -EBADFD, {"OPEN"}));
    EXPECT_EQ(rig.pcm->state(), PcmState::Open);
}

TEST(PcmBadInput, ReadInOpenStateFailsWithEbadfd) {
    PcmRig rig(Stream::Capture);
    std::vector<std::byte> frames(16 * 4);
    EXPECT_TRUE(pcm_error(rig.pcm->readi(frames.data(), 16), -EBADFD, {"OPEN"}));
}

TEST(PcmBadInput, NullBufferFailsWithEfault) {
    auto rig = prepared_rig(Stream::Playback);
    EXPECT_TRUE(pcm_error(rig->pcm->writei(nullptr, 16), -EFAULT, {"null"}));
    EXPECT_EQ(rig->pcm->appl_ptr(), 0U);
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared) << "a failed write must not start the stream";

    auto cap = prepared_rig(Stream::Capture);
    EXPECT_TRUE(pcm_error(cap->pcm->readi(nullptr, 16), -EFAULT, {"null"}));
    EXPECT_EQ(cap->pcm->state(), PcmState::Prepared) << "a failed read must not start the stream";
}

TEST(PcmBadInput, NullChannelArrayFailsWithEfault) {
    auto play = prepared_rig(Stream::Playback, rig_options(), non_interleaved());
    EXPECT_TRUE(pcm_error(play->pcm->writen(nullptr, 16), -EFAULT, {"null"}));
    EXPECT_EQ(play->pcm->state(), PcmState::Prepared);
    auto cap = prepared_rig(Stream::Capture, rig_options(), non_interleaved());
    EXPECT_TRUE(pcm_error(cap->pcm->readn(nullptr, 16), -EFAULT, {"null"}));
    EXPECT_EQ(cap->pcm->state(), PcmState::Prepared);
}

TEST(PcmBadInput, NullChannelBufferInWritenFailsWithEfault) {
    auto rig = prepared_rig(Stream::Playback, rig_options(), non_interleaved());
    std::vector<std::byte> left(16 * 2);
    const void* chans[2] = {left.data(), nullptr};
    EXPECT_TRUE(pcm_error(rig->pcm->writen(chans, 16), -EFAULT, {"channel 1"}));
    EXPECT_EQ(rig->pcm->appl_ptr(), 0U);
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
}

TEST(PcmBadInput, NullChannelBufferInReadnFailsWithEfault) {
    auto rig = prepared_rig(Stream::Capture, rig_options(), non_interleaved());
    std::vector<std::byte> right(16 * 2);
    void* chans[2] = {nullptr, right.data()};
    EXPECT_TRUE(pcm_error(rig->pcm->readn(chans, 16), -EFAULT, {"channel 0"}));
}

TEST(PcmBadInput, WriteOnACaptureStreamFailsWithEinval) {
    auto rig = prepared_rig(Stream::Capture);
    std::vector<std::byte> frames(16 * rig->frame_bytes());
    EXPECT_TRUE(pcm_error(rig->pcm->writei(frames.data(), 16), -EINVAL, {"capture"}));
    const void* chans[2] = {frames.data(), frames.data()};
    EXPECT_TRUE(pcm_error(rig->pcm->writen(chans, 16), -EINVAL, {"capture"}));
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
}

TEST(PcmBadInput, ReadOnAPlaybackStreamFailsWithEinval) {
    auto rig = prepared_rig(Stream::Playback);
    std::vector<std::byte> frames(16 * rig->frame_bytes());
    EXPECT_TRUE(pcm_error(rig->pcm->readi(frames.data(), 16), -EINVAL, {"playback"}));
    void* chans[2] = {frames.data(), frames.data()};
    EXPECT_TRUE(pcm_error(rig->pcm->readn(chans, 16), -EINVAL, {"playback"}));
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
}

TEST(PcmBadInput, WriteiOnANonInterleavedStreamFailsWithEinval) {
    auto rig = prepared_rig(Stream::Playback, rig_options(), non_interleaved());
    std::vector<std::byte> frames(16 * rig->frame_bytes());
    EXPECT_TRUE(pcm_error(rig->pcm->writei(frames.data(), 16), -EINVAL, {"RW_NONINTERLEAVED"}));
    EXPECT_EQ(rig->pcm->appl_ptr(), 0U);
}

TEST(PcmBadInput, WritenOnAnInterleavedStreamFailsWithEinval) {
    auto rig = prepared_rig(Stream::Playback);
    std::vector<std::byte> a(16 * 2), b(16 * 2);
    const void* chans[2] = {a.data(), b.data()};
    EXPECT_TRUE(pcm_error(rig->pcm->writen(chans, 16), -EINVAL, {"RW_INTERLEAVED"}));
    EXPECT_EQ(rig->pcm->appl_ptr(), 0U);
}

TEST(PcmBadInput, ReadWithTheWrongAccessFailsWithEinval) {
    auto inter = prepared_rig(Stream::Capture);
    std::vector<std::byte> a(16 * 2), b(16 * 2);
    void* chans[2] = {a.data(), b.data()};
    EXPECT_TRUE(pcm_error(inter->pcm->readn(chans, 16), -EINVAL, {"RW_INTERLEAVED"}));
    auto planar = prepared_rig(Stream::Capture, rig_options(), non_interleaved());
    std::vector<std::byte> frames(16 * 4);
    EXPECT_TRUE(pcm_error(planar->pcm->readi(frames.data(), 16), -EINVAL, {"RW_NONINTERLEAVED"}));
}

TEST(PcmBadInput, ZeroFramesTransferNothingEvenWithNullBuffers) {
    auto rig = prepared_rig(Stream::Playback);
    EXPECT_TRUE(transferred(rig->pcm->writei(nullptr, 0), 0U));
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared) << "an empty write must not start the stream";
    EXPECT_EQ(rig->pcm->appl_ptr(), 0U);
}

TEST(PcmBadInput, AWriteBeyondAvailTransfersOnlyAvailWithoutOverflowingTheRing) {
    auto rig = prepared_rig(Stream::Playback);
    // Exactly sized: 3 buffers of frames, so that reading past them would trip ASan.
    EXPECT_TRUE(transferred(rig->write_pattern(3 * kBuffer), kBuffer));
    EXPECT_EQ(rig->pcm->appl_ptr(), kBuffer);
    EXPECT_TRUE(has_value(rig->pcm->avail(), 0));
    EXPECT_TRUE(pcm_error(rig->write_pattern(3 * kBuffer), -EAGAIN));
    DYNPCM_ASSERT_OK(rig->advance_periods(kPeriods));
    EXPECT_TRUE(same_bytes(rig->played, rig->expected(0, kBuffer)));
}

TEST(PcmBadInput, AWritenBeyondAvailTransfersOnlyAvail) {
    auto rig = prepared_rig(Stream::Playback, rig_options(), non_interleaved());
    const Frames count = 2 * kBuffer + 5;
    auto planar = planar_pattern(0, count, 2, 2);
    const void* chans[2] = {planar[0].data(), planar[1].data()};
    EXPECT_TRUE(transferred(rig->pcm->writen(chans, count), kBuffer));
    DYNPCM_ASSERT_OK(rig->advance_periods(kPeriods));
    EXPECT_TRUE(same_bytes(rig->played, rig->expected(0, kBuffer)));
}

TEST(PcmBadInput, AReadBeyondAvailFillsOnlyAvailFrames) {
    auto rig = prepared_rig(Stream::Capture);
    DYNPCM_ASSERT_OK(rig->pcm->start());
    DYNPCM_ASSERT_OK(rig->advance_periods(2));
    const Frames count = 3 * kBuffer;
    std::vector<std::byte> buf(static_cast<size_t>(count) * rig->frame_bytes(), std::byte{0xEE});
    EXPECT_TRUE(transferred(rig->pcm->readi(buf.data(), count), 2 * kPeriod));
    const auto split = buf.begin() + static_cast<long>(2 * kPeriod * rig->frame_bytes());
    EXPECT_TRUE(same_bytes(std::vector<std::byte>(buf.begin(), split), rig->expected(0, 2 * kPeriod)));
    EXPECT_TRUE(std::all_of(split, buf.end(), [](std::byte b) { return b == std::byte{0xEE}; }))
        << "bytes past the frames read must not be touched";
}

// ------------------------------------------------------------------------------------------
// close and destruction

TEST(PcmBadInput, CallsAfterCloseFailWithEbadfdNamingClose) {
    auto rig = prepared_rig(Stream::Playback);
    ASSERT_TRUE(transferred(rig->write_pattern(kPeriod), kPeriod));
    rig->pcm->close();
    EXPECT_FALSE(rig->dma.running()) << "close stops the hardware";
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);

    auto& pcm = *rig->pcm;
    std::vector<std::byte> frames(16 * rig->frame_bytes());
    const void* chans[2] = {frames.data(), frames.data()};
    HwParams hp = pcm.hw_params_any();
    EXPECT_TRUE(pcm_error(pcm.writei(frames.data(), 16), -EBADFD, {"close"})) << "writei";
    EXPECT_TRUE(pcm_error(pcm.writen(chans, 16), -EBADFD, {"close"})) << "writen";
    EXPECT_TRUE(pcm_error(pcm.avail(), -EBADFD, {"close"})) << "avail";
    EXPECT_TRUE(pcm_error(pcm.delay(), -EBADFD, {"close"})) << "delay";
    EXPECT_TRUE(pcm_error(pcm.hw_params(hp), -EBADFD, {"close"})) << "hw_params";
    EXPECT_TRUE(pcm_error(pcm.hw_free(), -EBADFD, {"close"})) << "hw_free";
    EXPECT_TRUE(pcm_error(pcm.sw_params(SwParams{}), -EBADFD, {"close"})) << "sw_params";
    EXPECT_TRUE(pcm_error(pcm.prepare(), -EBADFD, {"close"})) << "prepare";
    EXPECT_TRUE(pcm_error(pcm.start(), -EBADFD, {"close"})) << "start";
    EXPECT_TRUE(pcm_error(pcm.stop(), -EBADFD, {"close"})) << "stop";
    EXPECT_TRUE(pcm_error(pcm.drop(), -EBADFD, {"close"})) << "drop";
    EXPECT_TRUE(pcm_error(pcm.drain(), -EBADFD, {"close"})) << "drain";
    EXPECT_TRUE(pcm_error(pcm.pause(true), -EBADFD, {"close"})) << "pause";
    EXPECT_TRUE(pcm_error(pcm.suspend(), -EBADFD, {"close"})) << "suspend";
    EXPECT_TRUE(pcm_error(pcm.resume(), -EBADFD, {"close"})) << "resume";
    EXPECT_TRUE(pcm_error(pcm.wait(milliseconds(0)), -EBADFD, {"close"})) << "wait";
    pcm.disconnect();  // harmless after close
    DYNPCM_ASSERT_OK(rig->advance_periods(2));
    EXPECT_EQ(rig->dma.interrupts(), 0U);
}

TEST(PcmBadInput, ReadAfterCloseFailsWithEbadfd) {
    auto rig = prepared_rig(Stream::Capture);
    rig->pcm->close();
    EXPECT_TRUE(pcm_error(rig->read_frames(16), -EBADFD, {"close"}));
}

TEST(PcmBadInput, DoubleCloseIsHarmless) {
    auto rig = prepared_rig(Stream::Playback);
    ASSERT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));
    rig->pcm->close();
    rig->pcm->close();
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U) << "the second close does nothing";
    EXPECT_TRUE(pcm_error(rig->write_pattern(1), -EBADFD, {"close"}));
    rig->pcm.reset();  // and the destructor's close after that is harmless too
    DYNPCM_ASSERT_OK(rig->advance_periods(4));
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);
}

TEST(PcmBadInput, DestroyingARunningPcmStopsTheDmaCleanly) {
    auto rig = prepared_rig(Stream::Playback);
    ASSERT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    const uint64_t irqs = rig->dma.interrupts();
    rig->pcm.reset();
    EXPECT_FALSE(rig->dma.running());
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);
    // The clock no longer reaches the destroyed runtime.
    DYNPCM_ASSERT_OK(rig->advance_periods(8));
    EXPECT_EQ(rig->dma.interrupts(), irqs);
}

TEST(PcmBadInput, DestroyingADrainingOrPausedPcmIsClean) {
    {
        auto rig = prepared_rig(Stream::Playback);
        ASSERT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));
        ASSERT_TRUE(pcm_error(rig->pcm->drain(), -EAGAIN));
        ASSERT_EQ(rig->pcm->state(), PcmState::Draining);
        rig->pcm.reset();
        EXPECT_FALSE(rig->dma.running());
        DYNPCM_ASSERT_OK(rig->advance_periods(8));
        EXPECT_EQ(rig->dma.interrupts(), 0U);
    }
    {
        auto rig = prepared_rig(Stream::Capture);
        DYNPCM_ASSERT_OK(rig->pcm->start());
        DYNPCM_ASSERT_OK(rig->pcm->pause(true));
        rig->pcm.reset();
        EXPECT_FALSE(rig->dma.running());
        DYNPCM_ASSERT_OK(rig->advance_periods(8));
        EXPECT_EQ(rig->produced, 0U);
    }
}

// ------------------------------------------------------------------------------------------
// the hardware says no

TEST(PcmBadInput, AStartTheHardwareRefusesLeavesThePcmPrepared) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->set_start_threshold(kBuffer + 1));
    ASSERT_TRUE(transferred(rig->write_pattern(kPeriod), kPeriod));
    rig->drain_events();
    rig->dma.fail_next_trigger(-EIO);
    EXPECT_TRUE(pcm_error(rig->pcm->start(), -EIO, {"START"}));
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_FALSE(rig->dma.running());
    bool reported = false;
    while (auto e = rig->pcm->pop_event())
        if (e->kind == PcmEvent::Kind::TriggerFailed) reported = e->detail == -EIO;
    EXPECT_TRUE(reported) << "a TriggerFailed event with detail -EIO";
    // The next attempt works.
    DYNPCM_ASSERT_OK(rig->pcm->start());
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
}

TEST(PcmBadInput, NullConstraintsFallBackToTheDefaultHardware) {
    SimClock clock;
    SimDma dma(clock);
    PcmRuntime pcm(Stream::Playback, nullptr, dma, rig_options());
    HwParams hp = pcm.hw_params_any();
    DYNPCM_ASSERT_OK(hp.set(HwParam::Rate, 48000));
    DYNPCM_ASSERT_OK(hp.set(HwParam::PeriodSize, 1024));
    DYNPCM_ASSERT_OK(pcm.hw_params(hp));
    EXPECT_EQ(pcm.state(), PcmState::Prepared);
    EXPECT_EQ(pcm.params().format(), Format::S16_LE);
}

}  // namespace
}  // namespace dynpcm::test

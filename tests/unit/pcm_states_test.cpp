// The PcmRuntime state machine, rule by rule, against alsa-lib / kernel semantics. Every test
// drives a SimDma on a virtual SimClock from the test thread (see pcm_fixture.h).

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "pcm_fixture.h"

namespace dynpcm::test {
namespace {

using std::chrono::milliseconds;

/// A playback rig whose buffer is full (4096 frames queued) and which is therefore RUNNING.
std::unique_ptr<PcmRig> running_playback(PcmRuntime::Options options = rig_options()) {
    auto rig = prepared_rig(Stream::Playback, std::move(options));
    EXPECT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    return rig;
}

/// A capture rig started explicitly (RUNNING, nothing captured yet).
std::unique_ptr<PcmRig> running_capture(PcmRuntime::Options options = rig_options()) {
    auto rig = prepared_rig(Stream::Capture, std::move(options));
    EXPECT_TRUE(is_ok(rig->pcm->start()));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    return rig;
}

PcmRuntime::Options without_pause() {
    auto o = rig_options();
    o.info.can_pause = false;
    return o;
}

PcmRuntime::Options without_resume() {
    auto o = rig_options();
    o.info.can_resume = false;
    return o;
}

// ------------------------------------------------------------------------------------------
// OPEN, hw_params, hw_free

TEST(PcmStates, NewPcmIsOpenUntilHwParams) {
    PcmRig rig(Stream::Playback);
    EXPECT_EQ(rig.pcm->state(), PcmState::Open);
    EXPECT_EQ(rig.pcm->buffer_size(), 0U);
    EXPECT_TRUE(pcm_error(rig.pcm->avail(), -EBADFD));
}

TEST(PcmStates, HwParamsMovesOpenToPreparedWithEmptyPointers) {
    PcmRig rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig.configure());
    EXPECT_EQ(rig.pcm->state(), PcmState::Prepared);
    EXPECT_EQ(rig.pcm->buffer_size(), kBuffer);
    EXPECT_EQ(rig.pcm->period_size(), kPeriod);
    EXPECT_EQ(rig.pcm->hw_ptr(), 0U);
    EXPECT_EQ(rig.pcm->appl_ptr(), 0U);
    EXPECT_TRUE(has_value(rig.pcm->avail(), kBuffer));
    EXPECT_FALSE(rig.dma.running());
    EXPECT_TRUE(rig.hw.log().empty()) << "hw_params must not trigger the hardware";
    // The defaults of snd_pcm_sw_params_default.
    const SwParams sw = rig.pcm->sw_params_current();
    EXPECT_EQ(sw.start_threshold, 1U);
    EXPECT_EQ(sw.stop_threshold, kBuffer);
    EXPECT_EQ(sw.avail_min, kPeriod);
    EXPECT_EQ(sw.boundary, rig.pcm->boundary());
}

TEST(PcmStates, HwParamsAgainFromPreparedInstallsTheNewConfiguration) {
    auto rig = prepared_rig(Stream::Playback);
    PcmSetup other;
    other.period_size = 2048;
    other.periods = 3;
    DYNPCM_ASSERT_OK(rig->configure(other));
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_EQ(rig->pcm->period_size(), 2048U);
    EXPECT_EQ(rig->pcm->buffer_size(), 6144U);
    EXPECT_TRUE(has_value(rig->pcm->avail(), 6144U));
}

TEST(PcmStates, HwParamsPreparesPeriodsWhosePeriodTimeIsNotAWholeNumberOfMicroseconds) {
    // 512 frames at 48 kHz last 10666.67 us; alsa-lib keeps period_time as the open interval
    // (10666, 10667) and configures such streams without complaint.
    for (uint32_t period : {64U, 256U, 512U}) {
        PcmRig rig(Stream::Playback);
        PcmSetup setup;
        setup.period_size = period;
        EXPECT_TRUE(is_ok(rig.configure(setup))) << "period_size " << period << " at 48000 Hz";
        EXPECT_EQ(rig.pcm->state(), PcmState::Prepared) << "period_size " << period;
        EXPECT_EQ(rig.pcm->period_size(), period);
    }
}

TEST(PcmStates, HwFreeFromPreparedReturnsToOpen) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->pcm->hw_free());
    EXPECT_EQ(rig->pcm->state(), PcmState::Open);
    std::vector<std::byte> one(rig->frame_bytes());
    EXPECT_TRUE(pcm_error(rig->pcm->writei(one.data(), 1), -EBADFD));
}

TEST(PcmStates, HwFreeFromSetupReturnsToOpen) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->pcm->drop());
    ASSERT_EQ(rig->pcm->state(), PcmState::Setup);
    DYNPCM_ASSERT_OK(rig->pcm->hw_free());
    EXPECT_EQ(rig->pcm->state(), PcmState::Open);
}

TEST(PcmStates, HwFreeWhileRunningFailsWithEbadfd) {
    auto rig = running_playback();
    EXPECT_TRUE(pcm_error(rig->pcm->hw_free(), -EBADFD, {"RUNNING"}));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
}

// ------------------------------------------------------------------------------------------
// start: automatic and explicit

TEST(PcmStates, PlaybackAutoStartsWhenQueuedFramesReachStartThreshold) {
    auto rig = prepared_rig(Stream::Playback);
    ASSERT_EQ(rig->pcm->sw_params_current().start_threshold, 1U);
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_TRUE(transferred(rig->write_pattern(1), 1U));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_TRUE(rig->dma.running());
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Start), 1U);
}

TEST(PcmStates, PlaybackWithStartThresholdOfTwoPeriodsStartsOnlyOnceTwoPeriodsAreQueued) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->set_start_threshold(2 * kPeriod));
    EXPECT_TRUE(transferred(rig->write_pattern(kPeriod), kPeriod));
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_TRUE(transferred(rig->write_pattern(kPeriod - 1), kPeriod - 1));
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared) << "2047 queued frames are below the threshold";
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Start), 0U);
    EXPECT_TRUE(transferred(rig->write_pattern(1), 1U));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Start), 1U);
}

TEST(PcmStates, PlaybackNeverAutoStartsWhenStartThresholdExceedsTheBuffer) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->set_start_threshold(kBuffer + 1));
    EXPECT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_TRUE(pcm_error(rig->write_pattern(1), -EAGAIN)) << "the buffer is full";
    DYNPCM_ASSERT_OK(rig->advance_periods(3));
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_EQ(rig->pcm->hw_ptr(), 0U);
    EXPECT_EQ(rig->dma.interrupts(), 0U);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Start), 0U);
    // It runs once told to.
    DYNPCM_ASSERT_OK(rig->pcm->start());
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
}

TEST(PcmStates, CaptureAutoStartsOnAReadOfAtLeastStartThresholdFrames) {
    auto rig = prepared_rig(Stream::Capture);
    DYNPCM_ASSERT_OK(rig->set_start_threshold(512));
    EXPECT_TRUE(pcm_error(rig->read_frames(511), -EAGAIN));
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared) << "a read below start_threshold must not start";
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Start), 0U);
    // A big enough read starts the stream; with nothing captured yet it would block.
    EXPECT_TRUE(pcm_error(rig->read_frames(512), -EAGAIN));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Start), 1U);
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    EXPECT_TRUE(transferred(rig->read_frames(512), 512U));
}

TEST(PcmStates, CaptureWithDefaultStartThresholdStartsOnAnyRead) {
    auto rig = prepared_rig(Stream::Capture);
    EXPECT_TRUE(pcm_error(rig->read_frames(1), -EAGAIN));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
}

TEST(PcmStates, CaptureMayStartExplicitlyWithAnEmptyBuffer) {
    auto rig = prepared_rig(Stream::Capture);
    DYNPCM_ASSERT_OK(rig->pcm->start());
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_TRUE(rig->dma.running());
}

TEST(PcmStates, StartOutsidePreparedFailsWithEbadfd) {
    PcmRig rig(Stream::Playback);
    EXPECT_TRUE(pcm_error(rig.pcm->start(), -EBADFD, {"OPEN"}));
    DYNPCM_ASSERT_OK(rig.configure());
    ASSERT_TRUE(transferred(rig.write_pattern(kBuffer), kBuffer));
    ASSERT_EQ(rig.pcm->state(), PcmState::Running);
    EXPECT_TRUE(pcm_error(rig.pcm->start(), -EBADFD, {"RUNNING"}));
    DYNPCM_ASSERT_OK(rig.pcm->drop());
    EXPECT_TRUE(pcm_error(rig.pcm->start(), -EBADFD, {"SETUP"}));
    EXPECT_EQ(rig.pcm->state(), PcmState::Setup);
    EXPECT_EQ(rig.dma.triggers(TriggerCmd::Start), 1U);
}

TEST(PcmStates, StartOfAnEmptyPlaybackBufferFailsWithEpipe) {
    auto rig = prepared_rig(Stream::Playback);
    EXPECT_TRUE(pcm_error(rig->pcm->start(), -EPIPE));
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Start), 0U);
}

TEST(PcmStates, StartOfAnEmptyPlaybackBufferIsAllowedWhenStopThresholdIsBoundary) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->set_stop_threshold(rig->pcm->boundary()));
    DYNPCM_ASSERT_OK(rig->pcm->start());
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Start), 1U);
}

TEST(PcmStates, ExplicitStartOfQueuedPlaybackRuns) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->set_start_threshold(kBuffer * 2));
    ASSERT_TRUE(transferred(rig->write_pattern(100), 100U));
    ASSERT_EQ(rig->pcm->state(), PcmState::Prepared);
    DYNPCM_ASSERT_OK(rig->pcm->start());
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_TRUE(rig->dma.running());
}

// ------------------------------------------------------------------------------------------
// xrun

TEST(PcmStates, PlaybackXrunsWhenAvailReachesStopThreshold) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->advance_periods(3));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_TRUE(has_value(rig->pcm->avail(), 3 * kPeriod));
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 0U);

    DYNPCM_ASSERT_OK(rig->advance_periods(1));  // avail 4096 == stop_threshold (buffer_size)
    EXPECT_EQ(rig->pcm->state(), PcmState::Xrun);
    EXPECT_EQ(rig->pcm->status().xruns, 1U);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);
    EXPECT_FALSE(rig->dma.running());
    EXPECT_TRUE(pcm_error(rig->write_pattern(1), -EPIPE, {"XRUN"}));
    EXPECT_TRUE(pcm_error(rig->pcm->avail(), -EPIPE));
    EXPECT_TRUE(pcm_error(rig->pcm->delay(), -EPIPE));

    // Time goes on: the stream stays in XRUN and the hardware is stopped once only.
    DYNPCM_ASSERT_OK(rig->advance_periods(8));
    EXPECT_EQ(rig->pcm->state(), PcmState::Xrun);
    EXPECT_EQ(rig->pcm->status().xruns, 1U);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);
    EXPECT_EQ(rig->pcm->hw_ptr(), kBuffer);
}

TEST(PcmStates, PlaybackXrunsAtACustomStopThreshold) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->set_stop_threshold(3 * kPeriod));
    ASSERT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));
    DYNPCM_ASSERT_OK(rig->advance_periods(2));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running) << "avail 2048 < stop_threshold 3072";
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    EXPECT_EQ(rig->pcm->state(), PcmState::Xrun) << "avail 3072 >= stop_threshold 3072";
    EXPECT_EQ(rig->pcm->status().xruns, 1U);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);
}

TEST(PcmStates, CaptureXrunsWhenUnreadFramesReachStopThreshold) {
    auto rig = running_capture();
    DYNPCM_ASSERT_OK(rig->advance_periods(3));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    EXPECT_EQ(rig->pcm->state(), PcmState::Xrun);
    EXPECT_EQ(rig->pcm->status().xruns, 1U);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);
    EXPECT_TRUE(pcm_error(rig->read_frames(1), -EPIPE));
    EXPECT_TRUE(pcm_error(rig->pcm->avail(), -EPIPE));
}

TEST(PcmStates, StopThresholdAtBoundaryNeverXruns) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->set_stop_threshold(rig->pcm->boundary()));
    ASSERT_TRUE(transferred(rig->write_pattern(1), 1U));
    DYNPCM_ASSERT_OK(rig->advance_periods(12));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_EQ(rig->pcm->status().xruns, 0U);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 0U);
    EXPECT_EQ(rig->pcm->hw_ptr(), 12 * kPeriod);
    EXPECT_EQ(rig->pcm->avail_update(), 12 * kPeriod + kBuffer - 1);
}

// ------------------------------------------------------------------------------------------
// drop and stop

TEST(PcmStates, DropStopsARunningStreamIntoSetup) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    DYNPCM_ASSERT_OK(rig->pcm->drop());
    EXPECT_EQ(rig->pcm->state(), PcmState::Setup);
    EXPECT_FALSE(rig->dma.running());
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);
    const uint64_t irqs = rig->dma.interrupts();
    DYNPCM_ASSERT_OK(rig->advance_periods(2));
    EXPECT_EQ(rig->dma.interrupts(), irqs);
    EXPECT_EQ(rig->pcm->hw_ptr(), kPeriod);
    EXPECT_TRUE(pcm_error(rig->write_pattern(1), -EBADFD, {"SETUP"}));
}

TEST(PcmStates, DropOfAPreparedStreamGoesToSetupWithoutTriggeringTheHardware) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->pcm->drop());
    EXPECT_EQ(rig->pcm->state(), PcmState::Setup);
    EXPECT_TRUE(rig->hw.log().empty());
}

TEST(PcmStates, DropOfAPausedStreamReleasesThePauseThenStops) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->pcm->pause(true));
    ASSERT_EQ(rig->pcm->state(), PcmState::Paused);
    rig->hw.clear();
    DYNPCM_ASSERT_OK(rig->pcm->drop());
    EXPECT_EQ(rig->pcm->state(), PcmState::Setup);
    EXPECT_EQ(rig->hw.log(), (std::vector<TriggerCmd>{TriggerCmd::PauseRelease, TriggerCmd::Stop}));
    EXPECT_FALSE(rig->dma.running());
}

TEST(PcmStates, StopMovesAnActiveStreamToSetupAndStopsTheHardwareOnce) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->pcm->stop());
    EXPECT_EQ(rig->pcm->state(), PcmState::Setup);
    EXPECT_FALSE(rig->dma.running());
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);
    DYNPCM_ASSERT_OK(rig->pcm->stop());  // already SETUP: nothing to do
    EXPECT_EQ(rig->pcm->state(), PcmState::Setup);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);
}

// ------------------------------------------------------------------------------------------
// pause

TEST(PcmStates, PausePushAndReleaseMoveBetweenRunningAndPaused) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->pcm->pause(true));
    EXPECT_EQ(rig->pcm->state(), PcmState::Paused);
    EXPECT_FALSE(rig->dma.running());
    DYNPCM_ASSERT_OK(rig->pcm->pause(false));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_TRUE(rig->dma.running());
    EXPECT_EQ(rig->hw.log(),
              (std::vector<TriggerCmd>{TriggerCmd::Start, TriggerCmd::PausePush, TriggerCmd::PauseRelease}));
}

TEST(PcmStates, PauseFromTheWrongStateFailsWithEbadfd) {
    auto rig = prepared_rig(Stream::Playback);
    EXPECT_TRUE(pcm_error(rig->pcm->pause(true), -EBADFD, {"PREPARED"}));
    EXPECT_TRUE(pcm_error(rig->pcm->pause(false), -EBADFD, {"PREPARED"}));
    ASSERT_TRUE(transferred(rig->write_pattern(kBuffer), kBuffer));
    EXPECT_TRUE(pcm_error(rig->pcm->pause(false), -EBADFD, {"RUNNING"})) << "release of a running stream";
    DYNPCM_ASSERT_OK(rig->pcm->pause(true));
    EXPECT_TRUE(pcm_error(rig->pcm->pause(true), -EBADFD, {"PAUSED"})) << "push of a paused stream";
    EXPECT_EQ(rig->pcm->state(), PcmState::Paused);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::PausePush), 1U);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::PauseRelease), 0U);
}

TEST(PcmStates, PauseWithoutHardwareSupportFailsWithEnosys) {
    auto rig = running_playback(without_pause());
    EXPECT_TRUE(pcm_error(rig->pcm->pause(true), -ENOSYS));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_TRUE(rig->dma.running());
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::PausePush), 0U);
}

TEST(PcmStates, TheHardwarePointerDoesNotAdvanceWhilePaused) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    ASSERT_EQ(rig->pcm->hw_ptr(), kPeriod);
    DYNPCM_ASSERT_OK(rig->pcm->pause(true));
    const uint64_t irqs = rig->dma.interrupts();
    const uint64_t elapsed = rig->pcm->status().periods_elapsed;

    DYNPCM_ASSERT_OK(rig->advance_periods(10));  // far longer than the buffer
    EXPECT_EQ(rig->pcm->state(), PcmState::Paused) << "a paused stream cannot xrun";
    EXPECT_EQ(rig->pcm->hw_ptr(), kPeriod);
    EXPECT_EQ(rig->dma.interrupts(), irqs);
    EXPECT_EQ(rig->pcm->status().periods_elapsed, elapsed);
    EXPECT_TRUE(has_value(rig->pcm->avail(), kPeriod));

    DYNPCM_ASSERT_OK(rig->pcm->pause(false));
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    EXPECT_EQ(rig->pcm->hw_ptr(), 2 * kPeriod) << "playback continues where it paused";
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
}

TEST(PcmStates, PausePushSyncsTheHardwarePointerWithTheDma) {
    // snd_pcm_do_pause updates hw_ptr on push, so a pause reports the position the DMA really
    // stopped at, even when the interrupt that would have told the runtime was lost.
    auto rig = running_playback();
    rig->dma.skip_interrupts(1);
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    ASSERT_EQ(rig->dma.interrupts(), 0U);
    ASSERT_EQ(rig->pcm->hw_ptr(), 0U) << "no interrupt told the runtime yet";
    ASSERT_EQ(rig->dma.pointer(), kPeriod);
    DYNPCM_ASSERT_OK(rig->pcm->pause(true));
    EXPECT_EQ(rig->pcm->hw_ptr(), kPeriod);
    EXPECT_TRUE(has_value(rig->pcm->avail(), kPeriod));
    DYNPCM_ASSERT_OK(rig->pcm->pause(false));
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    EXPECT_EQ(rig->pcm->hw_ptr(), 2 * kPeriod);
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
}

// ------------------------------------------------------------------------------------------
// suspend and resume

TEST(PcmStates, SuspendFromRunningStopsTheDmaAndResumeRestartsIt) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    DYNPCM_ASSERT_OK(rig->pcm->suspend());
    EXPECT_EQ(rig->pcm->state(), PcmState::Suspended);
    EXPECT_EQ(rig->pcm->status().suspended_state, PcmState::Running);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Suspend), 1U);
    EXPECT_FALSE(rig->dma.running());
    EXPECT_TRUE(pcm_error(rig->write_pattern(1), -ESTRPIPE));
    EXPECT_TRUE(pcm_error(rig->pcm->avail(), -ESTRPIPE));

    DYNPCM_ASSERT_OK(rig->advance_periods(5));
    EXPECT_EQ(rig->pcm->hw_ptr(), kPeriod);
    EXPECT_EQ(rig->pcm->state(), PcmState::Suspended);

    DYNPCM_ASSERT_OK(rig->pcm->resume());
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Resume), 1U);
    EXPECT_TRUE(rig->dma.running());
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    EXPECT_EQ(rig->pcm->hw_ptr(), 2 * kPeriod);
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
}

TEST(PcmStates, SuspendFromPreparedResumesToPreparedWithoutATrigger) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->pcm->suspend());
    EXPECT_EQ(rig->pcm->state(), PcmState::Suspended);
    DYNPCM_ASSERT_OK(rig->pcm->resume());
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_TRUE(rig->hw.log().empty()) << "nothing was running: neither SUSPEND nor RESUME";
    EXPECT_FALSE(rig->dma.running());
}

TEST(PcmStates, SuspendFromPausedResumesToPaused) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->pcm->pause(true));
    DYNPCM_ASSERT_OK(rig->pcm->suspend());
    EXPECT_EQ(rig->pcm->state(), PcmState::Suspended);
    EXPECT_EQ(rig->pcm->status().suspended_state, PcmState::Paused);
    DYNPCM_ASSERT_OK(rig->pcm->resume());
    EXPECT_EQ(rig->pcm->state(), PcmState::Paused);
    EXPECT_FALSE(rig->dma.running());
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Resume), 0U);
}

TEST(PcmStates, CaptureReadsFailWithEstrpipeWhileSuspended) {
    auto rig = running_capture();
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    DYNPCM_ASSERT_OK(rig->pcm->suspend());
    EXPECT_TRUE(pcm_error(rig->read_frames(16), -ESTRPIPE, {"SUSPENDED"}));
}

TEST(PcmStates, ResumeWithoutHardwareSupportFailsWithEnosys) {
    auto rig = running_playback(without_resume());
    DYNPCM_ASSERT_OK(rig->pcm->suspend());
    EXPECT_TRUE(pcm_error(rig->pcm->resume(), -ENOSYS));
    EXPECT_EQ(rig->pcm->state(), PcmState::Suspended);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Resume), 0U);
}

TEST(PcmStates, SuspendWithNothingToSuspendFailsWithEbusy) {
    PcmRig rig(Stream::Playback);
    EXPECT_TRUE(pcm_error(rig.pcm->suspend(), -EBUSY)) << "OPEN";
    DYNPCM_ASSERT_OK(rig.configure());
    DYNPCM_ASSERT_OK(rig.pcm->drop());
    ASSERT_EQ(rig.pcm->state(), PcmState::Setup);
    EXPECT_TRUE(pcm_error(rig.pcm->suspend(), -EBUSY, {"SETUP"}));
    EXPECT_EQ(rig.pcm->state(), PcmState::Setup);
    DYNPCM_ASSERT_OK(rig.pcm->prepare());
    DYNPCM_ASSERT_OK(rig.pcm->suspend());
    EXPECT_TRUE(pcm_error(rig.pcm->suspend(), -EBUSY)) << "already SUSPENDED";
    EXPECT_EQ(rig.pcm->status().suspended_state, PcmState::Prepared);
}

// ------------------------------------------------------------------------------------------
// prepare

TEST(PcmStates, PrepareFromXrunResetsBothPointers) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->advance_periods(4));
    ASSERT_EQ(rig->pcm->state(), PcmState::Xrun);
    ASSERT_NE(rig->pcm->hw_ptr(), 0U);
    DYNPCM_ASSERT_OK(rig->pcm->prepare());
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_EQ(rig->pcm->hw_ptr(), 0U);
    EXPECT_EQ(rig->pcm->appl_ptr(), 0U);
    EXPECT_TRUE(has_value(rig->pcm->avail(), kBuffer));
    EXPECT_TRUE(transferred(rig->write_pattern(kPeriod), kPeriod));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
}

TEST(PcmStates, PrepareFromSuspendedResetsBothPointers) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->advance_periods(2));
    DYNPCM_ASSERT_OK(rig->pcm->suspend());
    DYNPCM_ASSERT_OK(rig->pcm->prepare());
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_EQ(rig->pcm->hw_ptr(), 0U);
    EXPECT_EQ(rig->pcm->appl_ptr(), 0U);
    EXPECT_FALSE(rig->dma.running());
}

TEST(PcmStates, PrepareFromSetupResetsBothPointers) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    DYNPCM_ASSERT_OK(rig->pcm->drop());
    ASSERT_EQ(rig->pcm->hw_ptr(), kPeriod);
    DYNPCM_ASSERT_OK(rig->pcm->prepare());
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_EQ(rig->pcm->hw_ptr(), 0U);
    EXPECT_EQ(rig->pcm->appl_ptr(), 0U);
}

TEST(PcmStates, PrepareWhileRunningOrDrainingFailsWithEbusy) {
    auto rig = running_playback();
    EXPECT_TRUE(pcm_error(rig->pcm->prepare(), -EBUSY, {"RUNNING"}));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_EQ(rig->pcm->appl_ptr(), kBuffer);
    EXPECT_TRUE(pcm_error(rig->pcm->drain(), -EAGAIN));
    ASSERT_EQ(rig->pcm->state(), PcmState::Draining);
    EXPECT_TRUE(pcm_error(rig->pcm->prepare(), -EBUSY, {"DRAINING"}));
    EXPECT_EQ(rig->pcm->state(), PcmState::Draining);
}

// ------------------------------------------------------------------------------------------
// drain

TEST(PcmStates, NonBlockingDrainReturnsEagainUntilTheClockPlaysTheQueue) {
    auto rig = prepared_rig(Stream::Playback);
    ASSERT_TRUE(transferred(rig->write_pattern(2 * kPeriod), 2 * kPeriod));
    EXPECT_TRUE(pcm_error(rig->pcm->drain(), -EAGAIN));
    EXPECT_EQ(rig->pcm->state(), PcmState::Draining);
    EXPECT_TRUE(pcm_error(rig->write_pattern(1), -EBADFD)) << "no writes while draining";
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    EXPECT_EQ(rig->pcm->state(), PcmState::Draining);
    EXPECT_TRUE(pcm_error(rig->pcm->drain(), -EAGAIN)) << "still draining";
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    EXPECT_EQ(rig->pcm->state(), PcmState::Setup);
    EXPECT_EQ(rig->pcm->hw_ptr(), rig->pcm->appl_ptr());
    EXPECT_EQ(rig->pcm->hw_ptr(), 2 * kPeriod);
    EXPECT_FALSE(rig->dma.running());
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);
    EXPECT_EQ(rig->pcm->status().xruns, 0U) << "the end of a drain is not an xrun";
    EXPECT_TRUE(same_bytes(rig->played, rig->expected(0, 2 * kPeriod)));
}

TEST(PcmStates, DrainOfAPreparedStreamWithQueuedFramesStartsItAndPlaysThemOut) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->set_start_threshold(kBuffer + 1));
    ASSERT_TRUE(transferred(rig->write_pattern(2 * kPeriod), 2 * kPeriod));
    ASSERT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_TRUE(pcm_error(rig->pcm->drain(), -EAGAIN));
    EXPECT_EQ(rig->pcm->state(), PcmState::Draining);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Start), 1U);
    DYNPCM_ASSERT_OK(rig->advance_periods(2));
    EXPECT_EQ(rig->pcm->state(), PcmState::Setup);
    EXPECT_EQ(rig->pcm->hw_ptr(), 2 * kPeriod);
    EXPECT_TRUE(same_bytes(rig->played, rig->expected(0, 2 * kPeriod)));
}

TEST(PcmStates, DrainOfAnEmptyPreparedPlaybackGoesToSetupAtOnce) {
    auto rig = prepared_rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig->pcm->drain());
    EXPECT_EQ(rig->pcm->state(), PcmState::Setup);
    EXPECT_TRUE(rig->hw.log().empty()) << "nothing to play: the hardware is not started";
}

TEST(PcmStates, DrainFromXrunGoesToSetup) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->advance_periods(4));
    ASSERT_EQ(rig->pcm->state(), PcmState::Xrun);
    DYNPCM_ASSERT_OK(rig->pcm->drain());
    EXPECT_EQ(rig->pcm->state(), PcmState::Setup);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);
}

TEST(PcmStates, DrainOfAPausedStreamReleasesThePauseAndDrains) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->pcm->pause(true));
    EXPECT_TRUE(pcm_error(rig->pcm->drain(), -EAGAIN));
    EXPECT_EQ(rig->pcm->state(), PcmState::Draining);
    EXPECT_TRUE(rig->dma.running());
    DYNPCM_ASSERT_OK(rig->advance_periods(4));
    EXPECT_EQ(rig->pcm->state(), PcmState::Setup);
    EXPECT_EQ(rig->pcm->hw_ptr(), kBuffer);
}

TEST(PcmStates, BlockingDrainReturnsOnceTheDmaHasPlayedTheQueue) {
    // The clock is driven from a helper thread (which plays the interrupt thread) while the
    // test thread blocks in drain().
    auto rig = prepared_rig(Stream::Playback, rig_options(/*nonblock=*/false, milliseconds(1000)));
    ASSERT_TRUE(transferred(rig->write_pattern(2 * kPeriod), 2 * kPeriod));
    std::atomic<bool> done{false};
    std::thread irq([&] {
        for (int i = 0; i < 400 && !done.load(); ++i) {
            (void)rig->advance_ns(rig->period_ns() / 2);
            std::this_thread::sleep_for(milliseconds(1));
        }
    });
    const auto t0 = std::chrono::steady_clock::now();
    auto r = rig->pcm->drain();
    done.store(true);
    irq.join();
    EXPECT_TRUE(is_ok(r));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(1000));
    EXPECT_EQ(rig->pcm->state(), PcmState::Setup);
    EXPECT_EQ(rig->pcm->hw_ptr(), 2 * kPeriod);
    EXPECT_TRUE(same_bytes(rig->played, rig->expected(0, 2 * kPeriod)));
}

TEST(PcmStates, CaptureDrainStopsTheHardwareAndLetsTheRemainingFramesBeRead) {
    auto rig = running_capture();
    DYNPCM_ASSERT_OK(rig->advance_periods(2));
    ASSERT_TRUE(has_value(rig->pcm->avail(), 2 * kPeriod));
    DYNPCM_ASSERT_OK(rig->pcm->drain());
    EXPECT_EQ(rig->pcm->state(), PcmState::Draining);
    EXPECT_FALSE(rig->dma.running());
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);
    DYNPCM_ASSERT_OK(rig->advance_periods(3));
    EXPECT_EQ(rig->produced, 2 * kPeriod) << "the hardware captures nothing more";
    EXPECT_TRUE(has_value(rig->pcm->avail(), 2 * kPeriod));

    EXPECT_TRUE(transferred(rig->read_frames(kPeriod), kPeriod));
    EXPECT_EQ(rig->pcm->state(), PcmState::Draining);
    EXPECT_TRUE(transferred(rig->read_frames(kBuffer), kPeriod)) << "only what is left";
    EXPECT_EQ(rig->pcm->state(), PcmState::Setup);
    EXPECT_TRUE(same_bytes(rig->captured, rig->expected(0, 2 * kPeriod)));
    EXPECT_TRUE(pcm_error(rig->read_frames(1), -EBADFD, {"SETUP"}));
}

TEST(PcmStates, CaptureDrainWithNothingUnreadGoesStraightToSetup) {
    auto rig = running_capture();
    DYNPCM_ASSERT_OK(rig->pcm->drain());
    EXPECT_EQ(rig->pcm->state(), PcmState::Setup);
    EXPECT_FALSE(rig->dma.running());
}

// ------------------------------------------------------------------------------------------
// disconnect

TEST(PcmStates, DisconnectMakesEveryOperationFailWithEnodev) {
    auto rig = running_playback();
    rig->drain_events();
    rig->pcm->disconnect();
    EXPECT_EQ(rig->pcm->state(), PcmState::Disconnected);
    EXPECT_FALSE(rig->dma.running());
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Stop), 1U);
    const auto ev = rig->state_events();
    ASSERT_EQ(ev.size(), 1U);
    EXPECT_EQ(ev[0].from, PcmState::Running);
    EXPECT_EQ(ev[0].to, PcmState::Disconnected);

    auto& pcm = *rig->pcm;
    std::vector<std::byte> frame(rig->frame_bytes());
    const void* chans[2] = {frame.data(), frame.data()};
    HwParams hp = pcm.hw_params_any();
    EXPECT_TRUE(pcm_error(pcm.writei(frame.data(), 1), -ENODEV)) << "writei";
    EXPECT_TRUE(pcm_error(pcm.writen(chans, 1), -ENODEV)) << "writen";
    EXPECT_TRUE(pcm_error(pcm.avail(), -ENODEV)) << "avail";
    EXPECT_TRUE(pcm_error(pcm.delay(), -ENODEV)) << "delay";
    EXPECT_TRUE(pcm_error(pcm.prepare(), -ENODEV)) << "prepare";
    EXPECT_TRUE(pcm_error(pcm.start(), -ENODEV)) << "start";
    EXPECT_TRUE(pcm_error(pcm.stop(), -ENODEV)) << "stop";
    EXPECT_TRUE(pcm_error(pcm.drop(), -ENODEV)) << "drop";
    EXPECT_TRUE(pcm_error(pcm.drain(), -ENODEV)) << "drain";
    EXPECT_TRUE(pcm_error(pcm.pause(true), -ENODEV)) << "pause push";
    EXPECT_TRUE(pcm_error(pcm.pause(false), -ENODEV)) << "pause release";
    EXPECT_TRUE(pcm_error(pcm.resume(), -ENODEV)) << "resume";
    EXPECT_TRUE(pcm_error(pcm.sw_params(pcm.sw_params_current()), -ENODEV)) << "sw_params";
    EXPECT_TRUE(pcm_error(pcm.hw_params(hp), -ENODEV)) << "hw_params";
    EXPECT_TRUE(pcm_error(pcm.hw_free(), -ENODEV)) << "hw_free";
    EXPECT_TRUE(pcm_error(pcm.wait(milliseconds(0)), -ENODEV)) << "wait";
    EXPECT_TRUE(pcm_error(recover(pcm, -EPIPE), -ENODEV)) << "recover";
    EXPECT_EQ(pcm.state(), PcmState::Disconnected);
    pcm.disconnect();  // a second disconnect changes nothing
    EXPECT_TRUE(rig->state_events().empty());
}

TEST(PcmStates, DisconnectedCaptureReadsFailWithEnodev) {
    auto rig = running_capture();
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    rig->pcm->disconnect();
    EXPECT_TRUE(pcm_error(rig->read_frames(16), -ENODEV));
    std::vector<std::byte> a(16 * rig->sample_bytes()), b(16 * rig->sample_bytes());
    void* chans[2] = {a.data(), b.data()};
    EXPECT_TRUE(pcm_error(rig->pcm->readn(chans, 16), -ENODEV));
}

// ------------------------------------------------------------------------------------------
// recover

TEST(PcmStates, RecoverFromEpipePreparesTheStream) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->advance_periods(4));
    auto w = rig->write_pattern(1);
    ASSERT_TRUE(pcm_error(w, -EPIPE));
    DYNPCM_ASSERT_OK(recover(*rig->pcm, w.code()));
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_EQ(rig->pcm->hw_ptr(), 0U);
    EXPECT_TRUE(transferred(rig->write_pattern(kPeriod), kPeriod));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
}

TEST(PcmStates, RecoverFromEstrpipeResumesTheStream) {
    auto rig = running_playback();
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    DYNPCM_ASSERT_OK(rig->pcm->suspend());
    auto w = rig->write_pattern(1);
    ASSERT_TRUE(pcm_error(w, -ESTRPIPE));
    DYNPCM_ASSERT_OK(recover(*rig->pcm, w.code()));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Resume), 1U);
    EXPECT_EQ(rig->pcm->hw_ptr(), kPeriod) << "resumed, not reset";
}

TEST(PcmStates, RecoverFromEstrpipePreparesWhenTheHardwareCannotResume) {
    auto rig = running_playback(without_resume());
    DYNPCM_ASSERT_OK(rig->advance_periods(1));
    DYNPCM_ASSERT_OK(rig->pcm->suspend());
    DYNPCM_ASSERT_OK(recover(*rig->pcm, -ESTRPIPE));
    EXPECT_EQ(rig->pcm->state(), PcmState::Prepared);
    EXPECT_EQ(rig->pcm->hw_ptr(), 0U);
    EXPECT_EQ(rig->pcm->appl_ptr(), 0U);
    EXPECT_EQ(rig->dma.triggers(TriggerCmd::Resume), 0U);
}

TEST(PcmStates, RecoverFromEintrSucceedsWithoutTouchingTheStream) {
    auto rig = running_playback();
    const size_t triggers = rig->hw.log().size();
    DYNPCM_ASSERT_OK(recover(*rig->pcm, -EINTR));
    EXPECT_EQ(rig->pcm->state(), PcmState::Running);
    EXPECT_EQ(rig->hw.log().size(), triggers);
}

TEST(PcmStates, RecoverReturnsOtherErrorsUnchanged) {
    auto rig = running_playback();
    for (int code : {-EIO, -EBADFD, -ENODEV, -EINVAL, -EAGAIN, -EBUSY}) {
        auto r = recover(*rig->pcm, code);
        EXPECT_TRUE(pcm_error(r, code)) << errno_name(code);
        EXPECT_EQ(rig->pcm->state(), PcmState::Running) << errno_name(code);
    }
    EXPECT_EQ(rig->pcm->hw_ptr(), 0U);
    EXPECT_EQ(rig->pcm->appl_ptr(), kBuffer);
}

// ------------------------------------------------------------------------------------------
// events

TEST(PcmStates, EveryStateChangeIsReportedAsAnEventInOrder) {
    PcmRig rig(Stream::Playback);
    DYNPCM_ASSERT_OK(rig.configure());                       // OPEN -> SETUP -> PREPARED
    ASSERT_TRUE(transferred(rig.write_pattern(kBuffer), kBuffer));  // -> RUNNING
    DYNPCM_ASSERT_OK(rig.advance_periods(4));                // -> XRUN
    DYNPCM_ASSERT_OK(rig.pcm->prepare());                    // -> PREPARED
    ASSERT_TRUE(transferred(rig.write_pattern(kPeriod), kPeriod));  // -> RUNNING
    DYNPCM_ASSERT_OK(rig.pcm->pause(true));                  // -> PAUSED
    DYNPCM_ASSERT_OK(rig.pcm->suspend());                    // -> SUSPENDED
    DYNPCM_ASSERT_OK(rig.pcm->resume());                     // -> PAUSED
    DYNPCM_ASSERT_OK(rig.pcm->drop());                       // -> RUNNING -> SETUP
    DYNPCM_ASSERT_OK(rig.pcm->hw_free());                    // -> OPEN

    using S = PcmState;
    const std::vector<std::pair<S, S>> want = {
        {S::Open, S::Setup},      {S::Setup, S::Prepared},     {S::Prepared, S::Running},
        {S::Running, S::Xrun},    {S::Xrun, S::Prepared},      {S::Prepared, S::Running},
        {S::Running, S::Paused},  {S::Paused, S::Suspended},   {S::Suspended, S::Paused},
        {S::Paused, S::Running},  {S::Running, S::Setup},      {S::Setup, S::Open},
    };
    const auto got = rig.state_events();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got[i].from, want[i].first) << "event " << i << ": " << pcm_state_name(got[i].from) << " -> "
                                              << pcm_state_name(got[i].to);
        EXPECT_EQ(got[i].to, want[i].second) << "event " << i << ": " << pcm_state_name(got[i].from) << " -> "
                                             << pcm_state_name(got[i].to);
    }
    // The xrun is dated by the hardware clock at the interrupt that found the buffer empty.
    EXPECT_EQ(got[3].time_ns, frames_to_ns(kBuffer, kRate));
    EXPECT_EQ(got[3].hw_ptr, kBuffer);
    EXPECT_EQ(got[3].appl_ptr, kBuffer);
    for (size_t i = 1; i < got.size(); ++i) EXPECT_GE(got[i].time_ns, got[i - 1].time_ns) << "event " << i;
    EXPECT_FALSE(rig.pcm->pop_event().has_value());
}

}  // namespace
}  // namespace dynpcm::test

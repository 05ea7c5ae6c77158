#include "dynpcm/pcm/state.h"

namespace dynpcm {

const char* pcm_state_name(PcmState s) noexcept {
    switch (s) {
        case PcmState::Open: return "OPEN";
        case PcmState::Setup: return "SETUP";
        case PcmState::Prepared: return "PREPARED";
        case PcmState::Running: return "RUNNING";
        case PcmState::Xrun: return "XRUN";
        case PcmState::Draining: return "DRAINING";
        case PcmState::Paused: return "PAUSED";
        case PcmState::Suspended: return "SUSPENDED";
        case PcmState::Disconnected: return "DISCONNECTED";
    }
    return "?";
}

const char* stream_name(Stream s) noexcept { return s == Stream::Playback ? "playback" : "capture"; }

const char* trigger_name(TriggerCmd c) noexcept {
    switch (c) {
        case TriggerCmd::Start: return "START";
        case TriggerCmd::Stop: return "STOP";
        case TriggerCmd::PausePush: return "PAUSE_PUSH";
        case TriggerCmd::PauseRelease: return "PAUSE_RELEASE";
        case TriggerCmd::Suspend: return "SUSPEND";
        case TriggerCmd::Resume: return "RESUME";
        case TriggerCmd::Drain: return "DRAIN";
    }
    return "?";
}

}  // namespace dynpcm

#pragma once
/// PCM states, streams and trigger commands, with ALSA's names. The *_name functions:
/// Thread: any. Blocking: wait-free. Allocates: no.

#include <cstdint>

namespace dynpcm {

/// SNDRV_PCM_STATE_*.
enum class PcmState : uint8_t { Open, Setup, Prepared, Running, Xrun, Draining, Paused, Suspended, Disconnected };

/// "OPEN", "SETUP", ... Thread: any. Blocking: wait-free. Allocates: no.
const char* pcm_state_name(PcmState s) noexcept;

enum class Stream : uint8_t { Playback, Capture };
const char* stream_name(Stream s) noexcept;

/// SNDRV_PCM_TRIGGER_*: what the hardware is told.
enum class TriggerCmd : uint8_t { Start, Stop, PausePush, PauseRelease, Suspend, Resume, Drain };
const char* trigger_name(TriggerCmd c) noexcept;

}  // namespace dynpcm

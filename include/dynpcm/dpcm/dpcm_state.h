#pragma once
/// The DPCM stream state machine of FE and BE runtimes (enum snd_soc_dpcm_state).

#include <cstdint>

namespace dynpcm {

enum class DpcmState : uint8_t { New, Open, HwParams, Prepare, Start, Stop, Paused, Suspend, HwFree, Close };

/// "NEW", "OPEN", "HW_PARAMS", ... Thread: any. Blocking: wait-free. Allocates: no.
const char* dpcm_state_name(DpcmState s) noexcept;

}  // namespace dynpcm

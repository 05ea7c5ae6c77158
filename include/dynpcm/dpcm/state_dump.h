#pragma once
/// A snapshot of every open FE and the BEs under it, like the kernel's debugfs DPCM state file
/// (<card>/<FE link>/state).

#include <cstdint>
#include <string>
#include <vector>

#include "dynpcm/dpcm/dpcm_state.h"
#include "dynpcm/pcm/state.h"

namespace dynpcm {

/// A BE's clock (docs/DATA_PATH.md, "Clocks").
struct ClockDump {
    bool own = false;         ///< a crystal of its own (`clock:` in the card); else the engine's
    double ppm = 0;           ///< its offset from nominal now (the wander included)
    double measured_ppm = 0;  ///< its rate measured since it last started, against nominal
};

/// One FE->BE link's data path: the driver, or a follower and its loop; what its FIFO and
/// the link lost.
struct LinkDump {
    bool driver = false;     ///< this BE paces the FE
    bool adaptive = false;   ///< the port resamples adaptively (its BE has a clock of its own)
    bool following = false;  ///< ... and follows the driver now
    bool locked = false;
    double correction_ppm = 0, fill = 0, target = 0, lock_seconds = 0, min_error = 0, max_error = 0;
    uint64_t underruns = 0, overruns = 0, xruns_after_lock = 0;
};

struct BeDump {
    std::string name;
    Stream stream = Stream::Playback;
    DpcmState state = DpcmState::New;
    uint32_t users = 0;
    uint32_t be_start = 0;
    uint32_t be_pause = 0;
    std::string params;               ///< hw params summary, empty before hw_params
    std::vector<std::string> warnings;  ///< e.g. params kept from another FE
    uint32_t period = 0;                ///< frames, 0 before hw_params
    ClockDump clock;
    uint64_t lost_frames = 0;  ///< BE frames of audio discarded on the way to or from it
    LinkDump link;             ///< under an FE: that FE's link to this BE
};

struct FeDump {
    std::string name;
    uint32_t device = 0;  ///< its PCM device number (hw:CARD,N)
    Stream stream = Stream::Playback;
    PcmState pcm_state = PcmState::Open;
    DpcmState state = DpcmState::New;
    std::string params;
    uint64_t lost_frames = 0;  ///< FE frames of its audio discarded (docs/DATA_PATH.md, "Lost frames")
    std::vector<BeDump> backends;
};

struct DpcmDump {
    std::string card;
    std::vector<FeDump> frontends;
    std::vector<BeDump> idle_backends;  ///< BEs no FE uses

    /// The debugfs-style text. Thread: any. Allocates: yes.
    std::string to_text() const;
    /// The same as a JSON object. Thread: any. Allocates: yes.
    std::string to_json() const;
};

}  // namespace dynpcm

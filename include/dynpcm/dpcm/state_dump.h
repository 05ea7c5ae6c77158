#pragma once
/// A snapshot of every open FE and the BEs under it, like the kernel's debugfs DPCM state file
/// (<card>/<FE link>/state).

#include <cstdint>
#include <string>
#include <vector>

#include "dynpcm/dpcm/dpcm_state.h"
#include "dynpcm/pcm/state.h"

namespace dynpcm {

struct BeDump {
    std::string name;
    Stream stream = Stream::Playback;
    DpcmState state = DpcmState::New;
    uint32_t users = 0;
    uint32_t be_start = 0;
    uint32_t be_pause = 0;
    std::string params;               ///< hw params summary, empty before hw_params
    std::vector<std::string> warnings;  ///< e.g. params kept from another FE
};

struct FeDump {
    std::string name;
    uint32_t device = 0;  ///< its PCM device number (hw:CARD,N)
    Stream stream = Stream::Playback;
    PcmState pcm_state = PcmState::Open;
    DpcmState state = DpcmState::New;
    std::string params;
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

#pragma once
/// The live FE -> BE routes of a card: what `dynpcm routes` prints and dynpcmd's Routes reply.

#include <cstdint>
#include <string>
#include <vector>

#include "dynpcm/card/card.h"
#include "dynpcm/pcm/state.h"

namespace dynpcm {

struct FeRoute {
    std::string fe;
    Stream dir = Stream::Playback;
    uint32_t device = 0;             ///< the FE's PCM device number
    std::vector<std::string> bes;    ///< the BE links its routes reach now, sorted by name
};

/// Every FE stream of the card, in FE order (as the kernel lists its PCMs).
/// Thread: control. Allocates: yes.
std::vector<FeRoute> live_routes(const Card& card);
/// {"<FE>/<stream>": {"device": N, "bes": [...]}, ...} in the same order.
/// Thread: any. Allocates: yes.
std::string routes_to_json(const std::vector<FeRoute>& routes);

}  // namespace dynpcm

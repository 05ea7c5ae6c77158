#include "dynpcm/card/routes.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace dynpcm {

std::vector<FeRoute> live_routes(const Card& card) {
    std::vector<FeRoute> out;
    for (size_t fe = 0; fe < card.fe_links().size(); ++fe) {
        const FeLink& link = card.fe_links()[fe];
        for (Stream dir : {Stream::Playback, Stream::Capture}) {
            if (!link.stream(dir)) continue;
            FeRoute r{link.name, dir, link.device_number, {}};
            for (size_t be : card.fe_routes(fe, dir)) r.bes.push_back(card.be_links()[be].name);
            std::sort(r.bes.begin(), r.bes.end());
            out.push_back(std::move(r));
        }
    }
    return out;
}

std::string routes_to_json(const std::vector<FeRoute>& routes) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& r : routes)
        out[r.fe + "/" + stream_name(r.dir)] = {{"device", r.device}, {"bes", r.bes}};
    return out.dump(2);
}

}  // namespace dynpcm

#include "dynpcm/dpcm/state_dump.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "dynpcm/pcm/state.h"

namespace dynpcm {


const char* dpcm_state_name(DpcmState s) noexcept {
    switch (s) {
        case DpcmState::New: return "NEW";
        case DpcmState::Open: return "OPEN";
        case DpcmState::HwParams: return "HW_PARAMS";
        case DpcmState::Prepare: return "PREPARE";
        case DpcmState::Start: return "START";
        case DpcmState::Stop: return "STOP";
        case DpcmState::Paused: return "PAUSED";
        case DpcmState::Suspend: return "SUSPEND";
        case DpcmState::HwFree: return "HW_FREE";
        case DpcmState::Close: return "CLOSE";
    }
    return "?";
}

namespace {

void be_text(std::string& s, const BeDump& b) {
    s += fmt::format("- {} ({})\n", b.name, stream_name(b.stream));
    s += fmt::format("   State: {}  users: {}  be_start: {}  be_pause: {}\n", dpcm_state_name(b.state), b.users,
                     b.be_start, b.be_pause);
    s += fmt::format("   HW Params: {}\n", b.params.empty() ? "(none)" : b.params);
    if (b.clock.own || b.clock.measured_ppm != 0)
        s += fmt::format("   Clock: {} {:+.1f} ppm, measured {:+.1f} ppm\n", b.clock.own ? "own crystal" : "engine",
                         b.clock.ppm, b.clock.measured_ppm);
    const LinkDump& l = b.link;
    if (l.driver) s += "   Drives the FE\n";
    if (l.following)
        s += fmt::format("   Follows: correction {:+.2f} ppm, fill {:.1f} (target {:.1f}), {}\n", l.correction_ppm, l.fill,
                         l.target,
                         l.locked ? fmt::format("locked after {:.2f} s, error {:+.1f}..{:+.1f} frames, {} xruns since",
                                                l.lock_seconds, l.min_error, l.max_error, l.xruns_after_lock)
                                  : std::string("locking"));
    if (l.underruns || l.overruns) s += fmt::format("   FIFO: {} underruns, {} overruns\n", l.underruns, l.overruns);
    if (b.lost_frames) s += fmt::format("   Lost: {} frames\n", b.lost_frames);
    for (const auto& w : b.warnings) s += fmt::format("   Warning: {}\n", w);
}

nlohmann::json be_json(const BeDump& b) {
    return {{"name", b.name},         {"stream", stream_name(b.stream)}, {"state", dpcm_state_name(b.state)},
            {"users", b.users},       {"be_start", b.be_start},          {"be_pause", b.be_pause},
            {"hw_params", b.params},  {"warnings", b.warnings},          {"period", b.period},
            {"lost_frames", b.lost_frames},
            {"clock", {{"own", b.clock.own}, {"ppm", b.clock.ppm}, {"measured_ppm", b.clock.measured_ppm}}},
            {"link",
             {{"driver", b.link.driver},
              {"adaptive", b.link.adaptive},
              {"following", b.link.following},
              {"locked", b.link.locked},
              {"correction_ppm", b.link.correction_ppm},
              {"fill", b.link.fill},
              {"target", b.link.target},
              {"lock_seconds", b.link.lock_seconds},
              {"min_error", b.link.min_error},
              {"max_error", b.link.max_error},
              {"underruns", b.link.underruns},
              {"overruns", b.link.overruns},
              {"xruns_after_lock", b.link.xruns_after_lock}}}};
}

}  // namespace

std::string DpcmDump::to_text() const {
    // The layout of the kernel's <card>/<FE link>/state debugfs file.
    std::string s;
    for (const auto& f : frontends) {
        s += fmt::format("[{} - {}]\n", f.name, f.stream == Stream::Playback ? "Playback" : "Capture");
        s += fmt::format("PCM device: {}\n", f.device);  // not in the kernel's file: the FE's hw:CARD,N
        s += fmt::format("State: {}  (PCM: {})\n", dpcm_state_name(f.state), pcm_state_name(f.pcm_state));
        s += fmt::format("HW Params: {}\n", f.params.empty() ? "(none)" : f.params);
        if (f.lost_frames) s += fmt::format("Lost: {} frames\n", f.lost_frames);
        s += "\nBackends:\n";
        if (f.backends.empty()) s += "  No active DSP links\n";
        for (const auto& b : f.backends) be_text(s, b);
        s += "\n";
    }
    if (!idle_backends.empty()) {
        s += "[Unused backends]\n";
        for (const auto& b : idle_backends) be_text(s, b);
    }
    return s;
}

std::string DpcmDump::to_json() const {
    nlohmann::json j;
    j["card"] = card;
    j["frontends"] = nlohmann::json::array();
    for (const auto& f : frontends) {
        nlohmann::json fj{{"name", f.name},
                          {"device", f.device},
                          {"stream", stream_name(f.stream)},
                          {"state", dpcm_state_name(f.state)},
                          {"pcm_state", pcm_state_name(f.pcm_state)},
                          {"hw_params", f.params},
                          {"lost_frames", f.lost_frames},
                          {"backends", nlohmann::json::array()}};
        for (const auto& b : f.backends) fj["backends"].push_back(be_json(b));
        j["frontends"].push_back(std::move(fj));
    }
    j["idle_backends"] = nlohmann::json::array();
    for (const auto& b : idle_backends) j["idle_backends"].push_back(be_json(b));
    return j.dump(2);
}

}  // namespace dynpcm

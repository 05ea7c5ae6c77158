// Links that leave a running FE fade out first; the control side completes their
// disconnection once the realtime side has played the fade (docs/DATA_PATH.md, "Fades").
#include <algorithm>
#include <thread>

#include "dpcm/streams.h"

namespace dynpcm {

using namespace detail;

void Dpcm::Impl::finish_leaving() {
    const int64_t now = opt.clock->now_ns();
    for (auto& fp : fes) {
        if (!fp || fp->leaving.empty()) continue;
        FeStream& f = *fp;
        const bool running = f.state.load() == DpcmState::Start;
        std::vector<uint32_t> done;
        for (const auto& l : f.leaving) {
            const Port* p = f.ports[l.be].get();
            const BeStream& b = *bes[l.be];
            // Faded, or it never will: the stream stopped, the BE stopped, or time is up.
            if (!p || p->faded_out() || !running || !b.timer->running() || now >= l.deadline_ns) done.push_back(l.be);
        }
        if (done.empty()) continue;
        auto is_done = [&](uint32_t id) { return std::find(done.begin(), done.end(), id) != done.end(); };
        std::erase_if(f.leaving, [&](const auto& l) { return is_done(l.be); });
        std::vector<uint32_t> keep;
        for (uint32_t id : f.bes)
            if (!is_done(id)) keep.push_back(id);
        publish(f, keep);
        for (uint32_t id : done) {
            be_shutdown(*bes[id], f);
            event(DpcmEvent::Kind::Disconnect, f, bes[id].get(), "disconnected after fading out");
        }
        for (uint32_t id : f.bes) be_reconcile(*bes[id], f);
    }
}


void Dpcm::Impl::settle_fades() {
    if (opt.clock->mode() != SimClock::Mode::Realtime) return;
    while (any_leaving()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        finish_leaving();
    }
}


bool Dpcm::Impl::any_leaving() const {
    return std::any_of(fes.begin(), fes.end(), [](const auto& f) { return f && !f->leaving.empty(); });
}

}  // namespace dynpcm

// The runtime update (soc_dpcm_runtime_update): after a control write changed the routing,
// every open FE's BE set is brought to what its routes reach.
#include <fmt/format.h>

#include <algorithm>

#include "dpcm/streams.h"

namespace dynpcm {

using namespace detail;

std::vector<uint32_t> Dpcm::Impl::routed_bes(const FeStream& f) const {
    std::vector<uint32_t> ids;
    for (size_t be : card->fe_routes(f.fe_index, f.dir))
        if (const BeStream* b = be_by_link(be, f.dir)) ids.push_back(b->id);
    return ids;
}


Result<void> Dpcm::Impl::runtime_update() {
    // soc_dpcm_runtime_update, for every open FE stream. New BEs are brought to the FE's state
    // before the interrupt path can see them. Pruned ones leave: at once when the FE is not
    // running; otherwise their port fades out first (Options::fade) and finish_leaving()
    // disconnects them once it has. Leaving means: out of the published set first, then
    // stopped, freed and closed after the grace period, while everything else keeps running.
    auto has = [](const std::vector<uint32_t>& v, uint32_t id) { return std::find(v.begin(), v.end(), id) != v.end(); };
    for (auto& fp : fes) {
        if (!fp) continue;
        FeStream& f = *fp;
        const DpcmState s = f.state.load();
        if (!f.pcm || s == DpcmState::New || s == DpcmState::Close) continue;
        const std::vector<uint32_t> want = routed_bes(f);
        // A link routed back while it fades out fades back in.
        for (auto it = f.leaving.begin(); it != f.leaving.end();) {
            if (!has(want, it->be)) {
                ++it;
                continue;
            }
            if (Port* p = f.ports[it->be].get()) p->set_connected(true);
            it = f.leaving.erase(it);
        }
        std::vector<uint32_t> added, removed;
        for (uint32_t id : want)
            if (!has(f.bes, id)) added.push_back(id);
        for (uint32_t id : f.bes)
            if (!has(want, id) && std::none_of(f.leaving.begin(), f.leaving.end(), [&](const auto& l) { return l.be == id; }))
                removed.push_back(id);
        if (added.empty() && removed.empty()) continue;

        const bool running = s == DpcmState::Start;
        std::vector<uint32_t> next = f.bes;
        for (uint32_t id : added) {
            BeStream& b = *bes[id];
            if (auto r = be_startup(b, f); !r) {
                event(DpcmEvent::Kind::Warning, f, &b, fmt::format("not connected: {}", r.error().message()));
                continue;
            }
            const DpcmState now = f.state.load();
            if (f.params && now != DpcmState::Open && now != DpcmState::HwFree)
                if (auto r = be_hw_params(b, f, *f.params); !r) event(DpcmEvent::Kind::Warning, f, &b, r.error().message());
            if (now == DpcmState::Prepare || is_active(now) || now == DpcmState::Stop) {
                if (auto r = be_prepare(b, f); !r) event(DpcmEvent::Kind::Warning, f, &b, r.error().message());
                f.ports[id] = make_port(f, b, running);  // joining a running stream: fade in
            }
            be_reconcile(b, f);  // START (or pause, suspend) as the FE is
            event(DpcmEvent::Kind::Connect, f, &b, "connected");
            next.push_back(id);
        }
        std::vector<uint32_t> now_gone;
        for (uint32_t id : removed) {
            BeStream& b = *bes[id];
            Port* p = f.ports[id].get();
            if (running && opt.fade.count() > 0 && p && b.timer->running() && b.failed.load() == 0) {
                p->set_connected(false);
                // Bounded: the fade, two of the BE's periods, and a margin for a late clock.
                const int64_t period_ns = b.rate ? static_cast<int64_t>(b.period * 1'000'000'000ULL / b.rate) : 0;
                const int64_t deadline = opt.clock->now_ns() +
                                         std::chrono::duration_cast<std::chrono::nanoseconds>(opt.fade).count() +
                                         2 * period_ns + 20'000'000;
                f.leaving.push_back({id, deadline});
            } else {
                now_gone.push_back(id);
            }
        }
        std::erase_if(next, [&](uint32_t id) { return has(now_gone, id); });
        std::sort(next.begin(), next.end());  // card order: the pacing rule depends on it
        publish(f, next);
        for (uint32_t id : now_gone) {
            be_shutdown(*bes[id], f);
            event(DpcmEvent::Kind::Disconnect, f, bes[id].get(), "disconnected");
        }
        // The trigger rule: an xrun stop that raced this update acted on whichever set was
        // published when it ran; bring every BE now in the set to the FE's current state.
        for (uint32_t id : f.bes) be_reconcile(*bes[id], f);
    }
    collect_rt_events();
    return ok();
}


void Dpcm::Impl::update_gains() {
    for (auto& f : fes)
        if (f && f->pcm)
            for (uint32_t id : f->bes)
                if (Port* p = f->ports[id].get())
                    p->set_gain(static_cast<float>(card->route_gain(f->fe_index, bes[id]->be_index, f->dir).value_or(0.0)));
}

}  // namespace dynpcm

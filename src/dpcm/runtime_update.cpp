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


namespace {
bool has(const std::vector<uint32_t>& v, uint32_t id) { return std::find(v.begin(), v.end(), id) != v.end(); }
}  // namespace

bool Dpcm::Impl::updatable(const FeStream* f) const {
    if (!f || !f->pcm) return false;
    const DpcmState s = f->state.load();
    return s != DpcmState::New && s != DpcmState::Close;
}

Result<void> Dpcm::Impl::runtime_update() {
    // soc_dpcm_runtime_update: first prune every open FE's BEs that its routes no longer
    // reach, then add the ones they now reach. A BE that moves from one FE to another is so let
    // go by the first (closed, if that was its last user) before the second opens it and
    // configures it with its own parameters, whatever the FEs' order on the card. A pruned link
    // of a running FE fades out first (Options::fade), and its BE joins another FE only once
    // it has gone: finish_leaving() runs the add pass again.
    for (auto& fp : fes)
        if (updatable(fp.get())) prune_paths(*fp);
    add_paths();
    collect_rt_events();
    return ok();
}

void Dpcm::Impl::prune_paths(FeStream& f) {
    // dpcm_prune_paths + dpcm_run_update_shutdown. Leaving means: out of the published set
    // first, then stopped, freed and closed after the grace period, while everything else
    // keeps running.
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
    std::vector<uint32_t> now_gone;
    const bool running = f.state.load() == DpcmState::Start;
    for (uint32_t id : f.bes) {
        if (has(want, id) || leaving(f, id)) continue;
        BeStream& b = *bes[id];
        Port* p = f.ports[id].get();
        const RouteRemoval how = removal_of(b);
        const bool plays = running && p && b.timer->running() && b.failed.load() == 0;
        if (plays && how == RouteRemoval::Play && f.dir == Stream::Playback) start_leaving(f, b, *p, how);
        else if (plays && how != RouteRemoval::Cut && opt.fade.count() > 0) start_leaving(f, b, *p, RouteRemoval::Fade);
        else now_gone.push_back(id);
    }
    if (now_gone.empty()) return;
    std::vector<uint32_t> keep;
    for (uint32_t id : f.bes)
        if (!has(now_gone, id)) keep.push_back(id);
    publish(f, keep, {}, running ? "the route was removed and cut" : "the route was removed");
    for (uint32_t id : now_gone) {
        be_shutdown(*bes[id], f);
        event(DpcmEvent::Kind::Disconnect, f, bes[id].get(), "disconnected");
    }
    // The trigger rule: an xrun stop that raced this update acted on whichever set was
    // published when it ran; bring every BE now in the set to the FE's current state.
    for (uint32_t id : f.bes) be_reconcile(*bes[id], f);
}

void Dpcm::Impl::add_paths() {
    for (auto& fp : fes)
        if (updatable(fp.get())) add_paths(*fp);
}

void Dpcm::Impl::add_paths(FeStream& f) {
    // dpcm_add_paths + dpcm_run_update_startup: new BEs are brought to the FE's state before
    // the interrupt path can see them.
    std::vector<uint32_t> added;
    for (uint32_t id : routed_bes(f))
        if (!has(f.bes, id) && !any_leaving(id)) added.push_back(id);
    if (added.empty()) return;
    const bool running = f.state.load() == DpcmState::Start;
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
    std::sort(next.begin(), next.end());  // card order: the pacing rule depends on it
    publish(f, next);
    for (uint32_t id : f.bes) be_reconcile(*bes[id], f);
}

void Dpcm::Impl::update_gains() {
    for (auto& f : fes)
        if (f && f->pcm)
            for (uint32_t id : f->bes)
                if (Port* p = f->ports[id].get())
                    p->set_gain(static_cast<float>(card->route_gain(f->fe_index, bes[id]->be_index, f->dir).value_or(0.0)));
}

}  // namespace dynpcm

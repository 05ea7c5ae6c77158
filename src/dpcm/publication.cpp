// Publishing what the realtime thread reads: an FE's BE set (LinkSet) and each BE's port set
// (PortSet), immutable once published, replaced by exchange and freed after a grace period
// (docs/CONCURRENCY.md). Also the ports themselves: made when the FE is prepared or a link
// joins it, dropped when it is configured again or leaves.
#include <fmt/format.h>

#include <algorithm>

#include "core/test_point.h"
#include "dpcm/streams.h"
#include "dpcm/poison.h"
#include "dynpcm/rt/rt_epoch.h"

namespace dynpcm {

using namespace detail;

void Dpcm::Impl::publish(FeStream& f, const std::vector<uint32_t>& be_ids, std::vector<std::unique_ptr<Port>> retired,
                         std::string_view why) {
    // Build the new sets (control may allocate), swap them in, then free the old ones only
    // when no reader can still be walking them.
    for (uint32_t id = 0; id < bes.size(); ++id)
        if (f.ports[id] && std::find(be_ids.begin(), be_ids.end(), id) == be_ids.end())
            retired.push_back(std::move(f.ports[id]));
    auto* next = new LinkSet;
    next->links.reserve(be_ids.size());
    for (uint32_t id : be_ids) next->links.push_back(Link{bes[id].get(), id, f.ports[id].get()});
    next->count = static_cast<uint32_t>(next->links.size());
    std::vector<uint32_t> touched = f.bes;
    touched.insert(touched.end(), be_ids.begin(), be_ids.end());
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    std::vector<PortSet*> old_port_sets;
    for (uint32_t id : touched) {
        auto* ps = new PortSet;
        for (const auto& g : fes)
            if (g && g->ports[id]) {
                ps->fe.push_back(g->id);
                ps->ports.push_back(g->ports[id].get());
            }
        ps->count = static_cast<uint32_t>(ps->ports.size());
        if (PortSet* old = bes[id]->ports.exchange(ps, std::memory_order_seq_cst)) old_port_sets.push_back(old);
    }
    LinkSet* old = f.published.exchange(next, std::memory_order_seq_cst);
    f.bes = be_ids;
    if (!old && old_port_sets.empty() && retired.empty()) return;
    test_point(test::Point::ControlBeforeGrace, f.id);
#if defined(DYNPCM_TEST_HOOKS)
    if (opt.test_unprotected) {
        // The 2014 design: free at once. The link set is retired poisoned (and, under ASan,
        // poisoned for ASan) instead of freed, so the race tests catch the use
        // deterministically; ports and port sets are kept unpoisoned until the engine goes.
        if (old) {
            for (auto& l : old->links) l = Link{nullptr, kPoison, nullptr};
            DYNPCM_POISON(old->links.data(), old->links.size() * sizeof(Link));
            DYNPCM_POISON(old, sizeof(LinkSet));
            graveyard.push_back(old);
        }
        port_graveyard.insert(port_graveyard.end(), old_port_sets.begin(), old_port_sets.end());
        for (auto& p : retired) retired_ports_graveyard.push_back(std::move(p));
        return;
    }
#endif
    wait_for_rt();
    delete old;
    for (PortSet* ps : old_port_sets) delete ps;
    // No realtime section holds the retired ports now: what they still queue is exact.
    for (const auto& p : retired) {
        if (!p) continue;
        const PortConfig& c = p->config();
        BeStream* b = c.be < bes.size() ? bes[c.be].get() : nullptr;
        if (const Frames n = p->real_queued(); n > 0)
            note_lost(&f, b, n * c.fe_rate / c.be_rate, n, fmt::format("{} with them queued", why));
        if (const uint64_t n = p->overrun_frames(); n > 0)
            note_lost(&f, b, n * c.fe_rate / c.be_rate, n, "a full FIFO turned them away");
    }
    retired.clear();
}


std::unique_ptr<Port> Dpcm::Impl::make_port(FeStream& f, BeStream& b, bool fade_in) {
    if (!f.params || !b.params) return nullptr;
    PortConfig c;
    c.dir = f.dir;
    c.fe_rate = f.params->rate();
    c.fe_channels = f.params->channels();
    c.fe_period = f.params->period_size();
    c.be_rate = b.params->rate();
    c.be_channels = b.params->channels();
    c.be_period = b.params->period_size();
    // Gains ramp where they are applied: at the BE's rate for playback, the FE's for capture.
    const uint32_t ramp_rate = f.dir == Stream::Playback ? c.be_rate : c.fe_rate;
    c.fade_frames = static_cast<Frames>(static_cast<uint64_t>(opt.fade.count()) * ramp_rate / 1000000);
    c.gain = static_cast<float>(card->route_gain(f.fe_index, b.be_index, f.dir).value_or(0.0));
    c.fade_in = fade_in && c.fade_frames > 0;
    c.channel_map = b.link->fixup.channel_map;
    c.faded = &faded;
    c.adaptive = opt.drift_compensation && b.timer->has_clock();
    c.be = b.id;
    auto p = Port::create(c);
    if (!p) {
        event(DpcmEvent::Kind::Warning, f, &b, fmt::format("no data path: {}", p.error().message()));
        return nullptr;
    }
    return std::move(*p);
}


std::vector<std::unique_ptr<Port>> Dpcm::Impl::drop_ports(FeStream& f) {
    std::vector<std::unique_ptr<Port>> out;
    for (auto& p : f.ports)
        if (p) out.push_back(std::move(p));
    f.leaving.clear();
    return out;
}


void Dpcm::Impl::renew_ports(FeStream& f) {
    std::vector<std::unique_ptr<Port>> retired;
    for (uint32_t id : f.bes) {
        retired.push_back(std::move(f.ports[id]));
        f.ports[id] = make_port(f, *bes[id], false);
    }
    f.leaving.clear();
    publish(f, f.bes, std::move(retired), "the FE was prepared again");
}

}  // namespace dynpcm

// What the engine reports: events the control side makes, and the records the realtime
// thread queued without allocating (RtEvent), formatted here.
#include <fmt/format.h>

#include <algorithm>

#include "dpcm/streams.h"

namespace dynpcm {

using namespace detail;

void Dpcm::Impl::event(DpcmEvent::Kind k, const FeStream& f, const BeStream* b, std::string message) {
    events.push_back(DpcmEvent{k, f.label, b ? fmt::format("{}/{}", b->link->name, stream_name(b->dir)) : std::string{},
                               std::move(message)});
}


void Dpcm::Impl::collect_rt_events() {
    while (auto e = rt_events.pop()) {
        const BeStream& b = *bes[e->be];
        const std::string be = fmt::format("{}/{}", b.link->name, stream_name(b.dir));
        switch (e->kind) {
            case RtEvent::Kind::TriggerFailed: {
                const FeStream* f = e->fe < fes.size() ? fes[e->fe].get() : nullptr;
                events.push_back(DpcmEvent{DpcmEvent::Kind::BeTriggerFailed, f ? f->label : std::string{}, be,
                                           fmt::format("{} failed: {}", trigger_name(e->cmd), errno_name(e->rc))});
                break;
            }
            case RtEvent::Kind::DeviceXrun:
                events.push_back(DpcmEvent{DpcmEvent::Kind::BeXrun, {}, be,
                                           fmt::format("{} ({}): xrun", b.backend->describe(), b.backend->type())});
                break;
            case RtEvent::Kind::DeviceRecovered:
                events.push_back(DpcmEvent{
                    DpcmEvent::Kind::BeXrun, {}, be,
                    fmt::format("{} ({}) runs again after a gap of {} frames ({:.1f} ms) that {}", b.backend->describe(),
                                b.backend->type(), e->frames, b.rate ? 1000.0 * static_cast<double>(e->frames) / b.rate : 0.0,
                                b.dir == Stream::Playback ? "did not reach it" : "it did not capture")});
                break;
            case RtEvent::Kind::DeviceFailed:
                events.push_back(DpcmEvent{DpcmEvent::Kind::BeFailed, {}, be,
                                           fmt::format("{} ({}) failed: {}; its FEs were stopped", b.backend->describe(),
                                                       b.backend->type(), errno_name(e->rc))});
                break;
        }
    }
}

}  // namespace dynpcm

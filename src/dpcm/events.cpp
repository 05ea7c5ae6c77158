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


void Dpcm::Impl::note_lost(FeStream* f, BeStream* b, uint64_t fe_frames, uint64_t be_frames, std::string_view why) {
    if (f) f->lost_frames.fetch_add(fe_frames, std::memory_order_relaxed);
    if (b) b->lost_frames.fetch_add(be_frames, std::memory_order_relaxed);
    const uint64_t frames = f ? fe_frames : be_frames;
    const uint32_t rate = f ? (f->params ? f->params->rate() : 0) : (b ? b->rate : 0);
    events.push_back(DpcmEvent{DpcmEvent::Kind::Lost, f ? f->label : std::string{},
                               b ? fmt::format("{}/{}", b->link->name, stream_name(b->dir)) : std::string{},
                               fmt::format("{} frames{} lost: {}", frames,
                                           rate ? fmt::format(" ({:.1f} ms)", 1000.0 * static_cast<double>(frames) / rate) : "",
                                           why),
                               frames});
}

void Dpcm::Impl::discard_ring(FeStream& f, std::string_view why) {
    if (f.ring_counted || !f.pcm || !f.params) return;
    f.ring_counted = true;
    // The DMA's own position, not the runtime's hw_ptr: that moves only at period interrupts, and
    // the frames between them have gone to the ports (and are counted there, if they are lost).
    // Called with the FE's DMA stopped, so it is final.
    const Frames appl = f.pcm->appl_ptr(), boundary = f.pcm->boundary();
    const Frames hw = boundary ? f.dma.pos.load(std::memory_order_acquire) % boundary : 0;
    if (boundary == 0) return;
    const Frames held = f.dir == Stream::Playback ? (appl + boundary - hw) % boundary : (hw + boundary - appl) % boundary;
    // More than a buffer is a pointer that ran past the other (a playback underrun reads past
    // what was written): nothing is held.
    if (held > 0 && held <= f.pcm->buffer_size())
        note_lost(&f, nullptr, held, 0,
                  fmt::format("{} with them in its ring ({})", why,
                              f.dir == Stream::Playback ? "written, not yet played" : "captured, not yet read"));
}

RouteRemoval Dpcm::Impl::removal_of(const BeStream& b) const {
    return b.link->route_removal.value_or(card->route_removal());
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
                note_lost(nullptr, bes[e->be].get(), 0, e->frames,
                          b.dir == Stream::Playback ? "the device took none of them (a gap)" : "the device gave none (a gap)");
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

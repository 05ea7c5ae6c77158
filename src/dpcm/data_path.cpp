// The data path: what the realtime thread does at each tick of a BE's clock.
//
// Playback BE tick: the FE stage of every FE this BE paces (FE ring -> float -> each of the
// FE's ports), then the BE stage (every port of this BE mixed into the BE's bus, with its
// gain and fade, -> the BE's format -> the backend). Capture BE tick: the backend -> float ->
// every port of this BE (fan-out), then the FE stage of every FE this BE paces (its ports
// mixed -> the FE's format -> the FE ring).
//
// Pacing: an FE moves with the first BE of its set, in card order, that is running and
// healthy. FE frames due per tick = BE frames x FE rate / BE rate, carried exactly, and the
// FE's period interrupt fires at each FE period boundary, so the FE's position and its
// xrun and drain rules follow that BE's clock (a hostless FE, which never writes, included).
//
// Rules: no locks, no allocation, no system calls but the backends' non-blocking transfers;
// every set is read inside one epoch section (see docs/CONCURRENCY.md).

#include <algorithm>
#include <cerrno>

#include "dpcm/streams.h"
#include "dynpcm/core/thread_role.h"
#include "dynpcm/dsp/convert.h"
#include "dynpcm/pcm/pcm_runtime.h"
#include "dynpcm/rt/rt_epoch.h"

namespace dynpcm::detail {

namespace {

bool healthy(const BeStream* b) noexcept {
    return b && b->failed.load(std::memory_order_relaxed) == 0 && b->timer->running();
}

}  // namespace

/// The BE that paces the FE now (its driver), or null: the first healthy one on the engine's
/// own clock, else the first healthy one, in card order, of those with a port that takes the
/// FE's audio (not one whose port failed to be made, nor one playing out before it leaves: the FE
/// would move frames no BE plays). Ports to BEs with clocks of their own resample adaptively, so
/// whichever BE drives, the others can follow it.
const BeStream* pacer_of(const FeStream& f) noexcept {
    const LinkSet* set = f.published.load(std::memory_order_acquire);
    if (!set) return nullptr;
    const BeStream* first = nullptr;
    for (uint32_t i = 0; i < set->count; ++i) {
        const BeStream* b = set->links[i].be;
        const Port* p = set->links[i].port;
        if (!healthy(b) || !p || p->playing_out()) continue;
        if (!b->timer->has_clock()) return b;
        if (!first) first = b;
    }
    return first;
}

namespace {


/// A follower's loop, after its BE stage: the continuous fill is the FIFO's level plus what the
/// producer's DMA has moved since its last interrupt minus what the consumer's has, so neither
/// the two clocks' phase nor an interrupt's lateness shows in it.
void steer_port(Port& p, const BeStream& self, const FeStream& f) noexcept {
    if (!p.config().adaptive) return;
    // A stopped or paused FE moves nothing through the port: the loop would only wind up on the
    // FIFO draining. It starts afresh, from the fill it finds, when the FE runs again.
    const BeStream* driver = f.dma.running.load(std::memory_order_relaxed) && !p.playing_out() ? pacer_of(f) : nullptr;
    if (!driver || driver == &self || driver->rate == 0) {
        p.steer(false, 0);
        return;
    }
    // The driver's lag, in this port's FIFO frames: through the FE (at the driver's pace) and
    // the resampler, whose ratio is off nominal by the very drift it corrects.
    const double scale = p.scale();
    const double theirs = driver->timer->lag_rt() * self.rate / driver->rate;
    const double mine = self.timer->lag_rt();
    p.steer(true, self.dir == Stream::Playback ? theirs * scale - mine : mine - theirs / scale);
}

bool device_gone(int rc) noexcept { return rc == -ENODEV || rc == -EBADFD || rc == -EIO || rc == -ESHUTDOWN; }

}  // namespace

// ---- FE DMA ---------------------------------------------------------------------------------

Result<void> FeDma::hw_params(const HwParams& p) {
    rate = p.rate();
    channels = p.channels();
    format = p.format();
    period = p.period_size();
    buffer = p.buffer_size();
    frame_bytes = dynpcm::frame_bytes(format, channels);
    raw.assign(static_cast<size_t>(period) * frame_bytes, std::byte{0});
    mix.assign(static_cast<size_t>(period) * channels, 0.0f);
    return ok();
}

Result<void> FeDma::hw_free() {
    rate = 0;
    period = buffer = 0;
    raw = {};
    mix = {};
    return ok();
}

Result<void> FeDma::prepare() {
    pos.store(0, std::memory_order_release);
    extra_delay.store(0, std::memory_order_relaxed);
    pace_rate = 0;
    paced_be = paced_fe = 0;
    return ok();
}

int FeDma::trigger_rt(TriggerCmd cmd) noexcept {
    switch (cmd) {
        case TriggerCmd::Start:
        case TriggerCmd::Resume:
        case TriggerCmd::PauseRelease: running.store(true, std::memory_order_seq_cst); return 0;
        case TriggerCmd::Stop:
        case TriggerCmd::PausePush:
        case TriggerCmd::Suspend: running.store(false, std::memory_order_seq_cst); return 0;
        case TriggerCmd::Drain: return 0;
    }
    return -EINVAL;
}

int FeDma::trigger(TriggerCmd cmd) noexcept {
    const int rc = trigger_rt(cmd);
    // A stop from control waits out an FE stage in flight (it runs in its BE's tick, a
    // realtime section that read `running` after entering): after this, nothing touches the
    // ring until the next start (snd_pcm_stop's sync_stop).
    if (rc == 0 && !running.load(std::memory_order_relaxed)) wait_for_rt();
    return rc;
}

void FeDma::detach(PcmRuntime& r) {
    PcmRuntime* mine = &r;
    pcm.compare_exchange_strong(mine, nullptr, std::memory_order_acq_rel);
    wait_for_rt();
}

Frames FeDma::pointer() noexcept { return buffer ? pos.load(std::memory_order_acquire) % buffer : 0; }

// ---- FE stage ---------------------------------------------------------------------------------

void fe_stage_rt(FeStream& f, Frames be_frames, uint32_t be_rate) noexcept {
    FeDma& d = f.dma;
    // Read inside the BE tick's realtime section: a control-side stop that cleared it waits
    // for this section to end (FeDma::trigger).
    if (!d.running.load(std::memory_order_seq_cst)) return;
    PcmRuntime* pcm = d.pcm.load(std::memory_order_acquire);
    if (!pcm || d.period == 0 || d.rate == 0 || be_rate == 0) return;
    if (d.pace_rate != be_rate) {  // a new pacer: start counting afresh
        d.pace_rate = be_rate;
        d.paced_be = d.paced_fe = 0;
    }
    d.paced_be += be_frames;
    const uint64_t total = d.paced_be * d.rate / be_rate;
    Frames due = total - d.paced_fe;
    d.paced_fe = total;
    if (d.paced_be >= be_rate) {  // keep the counters small; exact, since total >= rate here
        d.paced_be -= be_rate;
        d.paced_fe -= d.rate;
    }

    const LinkSet* set = f.published.load(std::memory_order_acquire);
    const uint32_t links = set ? set->count : 0;
    while (due > 0 && d.running.load(std::memory_order_relaxed)) {
        const Frames pos = d.pos.load(std::memory_order_relaxed);
        const Frames chunk = std::min(due, d.period - pos % d.period);
        const size_t samples = static_cast<size_t>(chunk) * d.channels;
        if (f.dir == Stream::Playback) {
            pcm->dma_read_rt(pos % d.buffer, chunk, d.raw.data());
            dsp::to_float(d.format, d.raw.data(), d.mix.data(), samples);
            // What the application wrote of it (the rest reads as silence): for the loss count.
            const Frames boundary = pcm->boundary();
            const Frames written = boundary ? (pcm->appl_ptr() + boundary - pos % boundary) % boundary : chunk;
            const Frames real = written <= d.buffer ? std::min(written, chunk) : 0;
            for (uint32_t i = 0; i < links; ++i)
                if (Port* p = set->links[i].port) p->push_from_fe(d.mix.data(), chunk, real);
        } else {
            std::fill_n(d.mix.data(), samples, 0.0f);
            for (uint32_t i = 0; i < links; ++i)
                if (Port* p = set->links[i].port) p->mix_into_fe(d.mix.data(), chunk);
            dsp::from_float(d.format, d.mix.data(), d.raw.data(), samples);
            pcm->dma_write_rt(pos % d.buffer, chunk, d.raw.data());
        }
        d.pos.store(pos + chunk, std::memory_order_release);
        due -= chunk;
        // The FE's period interrupt: may stop the stream (xrun, drain done).
        if ((pos + chunk) % d.period == 0) pcm->period_elapsed_rt();
    }
    // What sits between the ring and the converters, in FE frames: for each healthy link its
    // port's FIFO and resampler and its device's own delay (BE frames, converted), and of those
    // the longest, so that a drain ends only when every BE has played the last frame. Measured
    // as this stage leaves it (the BE stage has yet to take this tick's block out: if the FE
    // stops now, at a drain's end, that block is not played either).
    Frames longest = 0;
    for (uint32_t i = 0; i < links; ++i)
        if (const Port* p = set->links[i].port; p && healthy(set->links[i].be)) {
            const Frames queued = p->queued() + set->links[i].be->backend->delay();
            longest = std::max<Frames>(longest, queued * d.rate / p->config().be_rate);
        }
    d.extra_delay.store(longest, std::memory_order_relaxed);
}

// ---- BE tick ------------------------------------------------------------------------------------

void BeStream::period_rt(Frames frames) noexcept {
    if (failed.load(std::memory_order_relaxed) != 0 || period == 0) return;
    frames = std::min(frames, period);
    const size_t samples = static_cast<size_t>(frames) * channels;
    RtSection section;
    const PortSet* set = ports.load(std::memory_order_acquire);
    const uint32_t n = set ? set->count : 0;
    auto fe_of = [&](uint32_t i) -> FeStream& { return *(*fes)[set->fe[i]]; };
    // A port made for an older configuration of this BE (another FE re-configured it while
    // this one was stopped) is left alone until its FE prepares again.
    auto fits = [&](uint32_t i) {
        const PortConfig& c = set->ports[i]->config();
        return c.be_channels == channels && c.be_rate == rate && c.be_period >= frames;
    };
    int64_t rc = 0;
    if (dir == Stream::Playback) {
        for (uint32_t i = 0; i < n; ++i)
            if (pacer_of(fe_of(i)) == this) fe_stage_rt(fe_of(i), frames, rate);
        bool first = true;  // the first port writes the bus, the others add to it
        for (uint32_t i = 0; i < n; ++i)
            if (fits(i)) {
                set->ports[i]->mix_into_be(bus.data(), frames, fe_of(i).dma.running.load(std::memory_order_relaxed), first);
                steer_port(*set->ports[i], *this, fe_of(i));
                first = false;
            }
        if (first) std::fill_n(bus.data(), samples, 0.0f);
        dsp::from_float(format, bus.data(), raw.data(), samples);
        // An FE stage above may have stopped this BE (its FE's xrun or drain end reached the
        // BE's executor, which ran the STOP at once): then the device is stopped and takes no
        // more data; this period is dropped, as a stopped DMA would drop it.
        if (timer->running()) {
            rc = backend->write_rt(raw.data(), frames);
            if (tap && rc >= 0) tap->push(raw.data(), static_cast<size_t>(frames) * frame_bytes(format, channels));
        }
    } else {
        rc = backend->read_rt(raw.data(), frames);
        if (rc >= 0) dsp::to_float(format, raw.data(), bus.data(), samples);
        else std::fill_n(bus.data(), samples, 0.0f);
        if (tap && rc >= 0) tap->push(raw.data(), static_cast<size_t>(frames) * frame_bytes(format, channels));
        // Only FEs that run take audio: a prepared or paused one would fill its FIFO with
        // what it will never play in time, and start late and stale.
        for (uint32_t i = 0; i < n; ++i)
            if (fits(i) && fe_of(i).dma.running.load(std::memory_order_relaxed)) {
                set->ports[i]->push_from_be(bus.data(), frames);
                steer_port(*set->ports[i], *this, fe_of(i));
            }
        for (uint32_t i = 0; i < n; ++i)
            if (pacer_of(fe_of(i)) == this) fe_stage_rt(fe_of(i), frames, rate);
    }
    // A gap: periods the device did not take or give (xruns, a recovery in progress). It is
    // reported once, with its length, when the device moves audio again.
    const uint64_t lost = backend->lost_frames();
    if (lost != lost_seen) {
        gap += lost - lost_seen;
        lost_seen = lost;
    } else if (gap > 0 && rc >= 0) {
        if (rt_events) rt_events->push(RtEvent{RtEvent::Kind::DeviceRecovered, 0, id, TriggerCmd::Start, 0, gap});
        gap = 0;
    }
    if (rc == -EPIPE) {
        device_xruns.fetch_add(1, std::memory_order_relaxed);
        if (rt_events) rt_events->push(RtEvent{RtEvent::Kind::DeviceXrun, 0, id, TriggerCmd::Start, -EPIPE});
    } else if (rc < 0) {
        // The device failed. Only this BE's FEs notice: those with another healthy BE see an
        // xrun (and go on with it after prepare), those left with none are disconnected.
        const int err = device_gone(static_cast<int>(rc)) ? static_cast<int>(rc) : -EIO;
        failed.store(err, std::memory_order_release);
        if (rt_events) rt_events->push(RtEvent{RtEvent::Kind::DeviceFailed, 0, id, TriggerCmd::Start, err});
        for (uint32_t i = 0; i < n; ++i) {
            FeStream& f = fe_of(i);
            PcmRuntime* pcm = f.dma.pcm.load(std::memory_order_acquire);
            if (!pcm) continue;
            bool other = false;
            if (const LinkSet* ls = f.published.load(std::memory_order_acquire))
                for (uint32_t k = 0; k < ls->count; ++k)
                    other = other || (ls->links[k].be != this && ls->links[k].be &&
                                      ls->links[k].be->failed.load(std::memory_order_relaxed) == 0);
            pcm->hw_error_rt(!other);
        }
    }
}

}  // namespace dynpcm::detail

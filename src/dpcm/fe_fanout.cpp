// FE operations fanned out to their BEs, the control side of dpcm_fe_dai_* in
// sound/soc/soc-pcm.c, and the BE operations they are made of (dpcm_be_dai_startup,
// hw_params, prepare, hw_free, shutdown) with the kernel's can_be_* rules; plus the interrupt
// path's own FE trigger, which walks the published BE set without a lock.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>

#include "core/test_point.h"
#include "dpcm/streams.h"
#include "dpcm/fe_hardware.h"
#include "dynpcm/rt/rt_epoch.h"

namespace dynpcm {

using namespace detail;

namespace detail {

FeStream::FeStream(SimClock& clock) : dma(clock) {}
FeStream::~FeStream() = default;

}  // namespace detail


bool Dpcm::Impl::others_in(const BeStream& b, const FeStream& f, std::initializer_list<DpcmState> states) const {
    // snd_soc_dpcm_check_state: the other FEs using this BE.
    for (size_t i = 0; i < b.client.size(); ++i) {
        if (!b.client[i] || i == f.id) continue;
        const DpcmState s = fes[i]->state.load(std::memory_order_acquire);
        if (std::find(states.begin(), states.end(), s) != states.end()) return true;
    }
    return false;
}

std::shared_ptr<const HwConstraints> Dpcm::Impl::merged_constraints(const FeStream& f,
                                                                   const std::vector<uint32_t>& be_ids,
                                                                   std::string* conflict) const {
    // dpcm_runtime_setup_fe + dpcm_merged_format/chan/rate: the FE's own capabilities, narrowed
    // by every connected BE whose link has no fixup (a fixup means the DSP converts).
    const LinkStream& ls = *f.link->stream(f.dir);
    HwConstraints::Caps caps;
    caps.formats = ls.formats;
    caps.rate = ls.rates;
    caps.channels = ls.channels;
    std::vector<uint32_t> rates = ls.rate_list;  // empty: any rate in the interval
    auto intersect_rates = [&](const std::vector<uint32_t>& other) {
        if (other.empty()) return;
        if (rates.empty()) {
            rates = other;
            return;
        }
        std::vector<uint32_t> both;
        for (uint32_t r : rates)
            if (std::find(other.begin(), other.end(), r) != other.end()) both.push_back(r);
        rates = both.empty() ? std::vector<uint32_t>{0} : both;  // {0}: nothing in common
    };
    for (uint32_t id : be_ids) {
        const BeStream& b = *bes[id];
        const HwFixup& fx = b.link->fixup;
        if (fx.rate || fx.channels || fx.format) continue;
        const LinkStream& bs = *b.link->stream(b.dir);
        caps.formats = caps.formats & bs.formats;
        caps.rate.refine(bs.rates);
        caps.channels.refine(bs.channels);
        intersect_rates(bs.rate_list);
        const bool no_rate = !rates.empty() && std::none_of(rates.begin(), rates.end(), [&](uint32_t r) {
            return r != 0 && caps.rate.contains(r);
        });
        if (caps.formats.empty() || caps.rate.empty() || caps.channels.empty() || no_rate) {
            *conflict = fmt::format("FE '{}' and BE '{}' have no format, rate and channel count in common "
                                    "(FE: {} {}Hz {}ch; BE: {} {}Hz {}ch)",
                                    f.label, b.link->name, ls.formats.to_string(), ls.rates.to_string(),
                                    ls.channels.to_string(), bs.formats.to_string(), bs.rates.to_string(),
                                    bs.channels.to_string());
            return nullptr;
        }
    }
    auto c = std::make_shared<HwConstraints>(caps);
    if (!rates.empty()) c->add_list(HwParam::Rate, rates);
    return c;
}

// ---- BE operations for one FE ------------------------------------------------------------


Result<void> Dpcm::Impl::be_startup(BeStream& b, const FeStream& f) {
    return b.locked([&]() -> Result<void> {
        if (b.users == 0) {
            // dpcm_be_dai_startup: only the first user opens the BE.
            if (auto r = b.backend->open(); !r) return r;
            b.state = DpcmState::Open;
            b.be_start = b.be_pause = 0;
            std::fill(b.role.begin(), b.role.end(), FeRole::Idle);
            b.params.reset();
            b.warnings.clear();
        }
        b.client[f.id] = 1;
        ++b.users;
        return ok();
    });
}


Result<void> Dpcm::Impl::be_hw_params(BeStream& b, const FeStream& f, const HwParams& fe_params) {
    // be_hw_params_fixup: the BE runs at the FE's configuration except where its link fixes it.
    HwParams want = HwParams::any(b.constraints);
    const HwFixup& fx = b.link->fixup;
    const std::string who = fmt::format("BE '{}' for FE '{}'", b.link->name, f.label);
    auto fail = [&](const Error& e) { return Error(e.code(), fmt::format("{}: {}", who, e.message())); };
    if (auto r = want.set_format(fx.format.value_or(fe_params.format())); !r) return fail(r.error());
    if (auto r = want.set(HwParam::Channels, fx.channels.value_or(fe_params.channels())); !r) return fail(r.error());
    if (auto r = want.set(HwParam::Rate, fx.rate.value_or(fe_params.rate())); !r) return fail(r.error());
    if (auto r = want.set_near(HwParam::PeriodSize, fe_params.period_size()); !r) return fail(r.error());
    if (auto r = want.set_near(HwParam::Periods, fe_params.periods()); !r) return fail(r.error());
    if (auto r = want.choose(); !r) return fail(r.error());

    return b.locked([&]() -> Result<void> {
        test_point(test::Point::ControlOwnsBe, f.id);
        const bool busy = others_in(b, f, {DpcmState::Prepare, DpcmState::Start, DpcmState::Paused, DpcmState::Suspend});
        const bool settable = b.state == DpcmState::Open || b.state == DpcmState::HwParams || b.state == DpcmState::HwFree;
        if (busy || !settable) {
            // snd_soc_dpcm_can_be_params says no: the kernel silently keeps the current
            // configuration. dynpcm keeps it too, but says so.
            if (b.params && b.params->summary() != want.summary()) {
                std::string w = fmt::format("keeps {} set for another FE; FE '{}' asked for {}", b.params->summary(),
                                            f.label, want.summary());
                b.warnings.push_back(w);
                event(DpcmEvent::Kind::ParamsMismatch, f, &b, std::move(w));
            }
            return ok();
        }
        // The BE's clock is stopped, but the tick that stopped it (an FE's xrun, on the realtime
        // thread) may still be running and reading what is written below: wait it out.
        wait_for_rt();
        if (auto r = b.timer->configure(want.rate(), want.period_size()); !r) return fail(r.error());
        if (auto r = b.backend->hw_params(want); !r) return fail(r.error());
        // The data path's view, read by the rt thread once the BE runs.
        b.rate = want.rate();
        b.channels = want.channels();
        b.format = want.format();
        b.period = want.period_size();
        b.bus.assign(static_cast<size_t>(b.period) * b.channels, 0.0f);
        b.raw.assign(static_cast<size_t>(b.period) * frame_bytes(b.format, b.channels), std::byte{0});
        b.tap.reset();
        if (opt.tap_seconds > 0)
            b.tap = std::make_unique<SpscRing<std::byte>>(static_cast<size_t>(opt.tap_seconds * b.rate) *
                                                          frame_bytes(b.format, b.channels));
        b.params = want;
        b.state = DpcmState::HwParams;
        return ok();
    });
}


Result<void> Dpcm::Impl::be_prepare(BeStream& b, const FeStream& f) {
    return b.locked([&]() -> Result<void> {
        // A prepared FE starts over: whatever it contributed (a suspended or paused role that
        // the prepare path never sent a STOP for) is gone.
        (void)b.apply(BeCmd{f.id, TriggerCmd::Stop}, Side::Control);
        // snd_soc_dpcm_can_be_prepared: never prepare a BE another FE is using.
        if (others_in(b, f, {DpcmState::Prepare, DpcmState::Start, DpcmState::Paused})) return ok();
        if (b.state != DpcmState::HwParams && b.state != DpcmState::Stop && b.state != DpcmState::Suspend &&
            b.state != DpcmState::Paused && b.state != DpcmState::Prepare)
            return ok();
        if (b.state == DpcmState::Paused || b.state == DpcmState::Suspend) b.hw(TriggerCmd::Stop, f.id, Side::Control);
        wait_for_rt();  // as in be_hw_params: the tick that stopped the BE may still be running
        if (auto r = b.timer->rewind(); !r)
            return Error(r.code(), fmt::format("BE '{}': prepare failed: {}", b.link->name, r.error().message()));
        // A backend whose device failed gets its chance to recover here.
        if (auto r = b.backend->prepare(); !r) return r;
        b.lost_seen = b.backend->lost_frames();  // rt-owned, written here while no tick runs
        b.gap = 0;
        b.failed.store(0, std::memory_order_release);
        b.state = DpcmState::Prepare;
        return ok();
    });
}


void Dpcm::Impl::be_hw_free(BeStream& b, const FeStream& f) {
    test_point(test::Point::ControlBeHwFree, b.id);
    b.locked([&] {
        // Only when no other FE is active on the BE (snd_soc_dpcm_can_be_free_stop) and this
        // is its last user.
        if (others_in(b, f, {DpcmState::Start, DpcmState::Paused, DpcmState::Suspend}) || b.users > 1) return;
        if (b.state == DpcmState::HwParams || b.state == DpcmState::Prepare || b.state == DpcmState::HwFree ||
            b.state == DpcmState::Paused || b.state == DpcmState::Stop || b.state == DpcmState::Suspend) {
            (void)b.backend->hw_free();
            b.state = DpcmState::HwFree;
        }
    });
}


void Dpcm::Impl::be_shutdown(BeStream& b, const FeStream& f) {
    b.locked([&] {
        (void)b.apply(BeCmd{f.id, TriggerCmd::Stop}, Side::Control);
        b.client[f.id] = 0;
        if (b.users > 0 && --b.users == 0) {
            // The last user closes it.
            if (b.state != DpcmState::Open && b.state != DpcmState::HwFree && b.state != DpcmState::New)
                (void)b.backend->hw_free();
            b.backend->close();
            b.state = DpcmState::Close;
            b.params.reset();
        }
    });
}


void Dpcm::Impl::be_reconcile(BeStream& b, const FeStream& f) {
    b.locked([&] {
        const FeRole want = role_for(f.state.load(std::memory_order_seq_cst));
        const FeRole have = b.role[f.id];
        if (want == have) return;
        // The BE's view of this FE moves with the ordinary commands, by the shortest way: to
        // Idle with STOP; otherwise through Running, then on to Paused or Suspended.
        if (want == FeRole::Idle) {
            (void)b.apply(BeCmd{f.id, TriggerCmd::Stop}, Side::Control);
            return;
        }
        if (have == FeRole::Idle) (void)b.apply(BeCmd{f.id, TriggerCmd::Start}, Side::Control);
        if (have == FeRole::Paused) (void)b.apply(BeCmd{f.id, TriggerCmd::PauseRelease}, Side::Control);
        if (have == FeRole::Suspended) (void)b.apply(BeCmd{f.id, TriggerCmd::Resume}, Side::Control);
        if (want == FeRole::Paused) (void)b.apply(BeCmd{f.id, TriggerCmd::PausePush}, Side::Control);
        if (want == FeRole::Suspended) (void)b.apply(BeCmd{f.id, TriggerCmd::Suspend}, Side::Control);
    });
}

// ---- FE operations -------------------------------------------------------------------------


Result<void> Dpcm::Impl::fe_hw_params(FeStream& f, const HwParams& params) {
    // dpcm_fe_dai_hw_params: the BEs first, then the FE's own DMA. The FE's ports were made
    // for its old configuration: they go now and come back at prepare.
    discard_ring(f, "the FE was configured again");
    publish(f, f.bes, drop_ports(f), "the FE was configured again");
    for (uint32_t id : f.bes)
        if (auto r = be_hw_params(*bes[id], f, params); !r) return r;
    if (auto r = f.dma.hw_params(params); !r) return r;
    f.params = params;
    f.state.store(DpcmState::HwParams, std::memory_order_seq_cst);
    return ok();
}


Result<void> Dpcm::Impl::fe_prepare(FeStream& f) {
    // dpcm_fe_dai_prepare: nothing routed is an error, and the message says how to route.
    if (f.bes.empty()) {
        const auto ctls = card->routing_controls(f.fe_index, f.dir);
        return Error(-EINVAL, fmt::format("FE '{}' has no BE routed; set one of: {}", f.label,
                                          ctls.empty() ? std::string("(no control can route it: check the card's routes)")
                                                       : fmt::format("{}", fmt::join(ctls, ", "))));
    }
    // A BE whose device is gone does not hold the FE back while another BE works: it is left
    // out (and says so) until a later prepare finds the device again.
    size_t ready = 0;
    for (uint32_t id : f.bes) {
        BeStream& b = *bes[id];
        if (auto r = be_prepare(b, f); !r) {
            if (b.failed.load() == 0 && r.code() != -ENODEV) return r;
            event(DpcmEvent::Kind::Warning, f, &b, r.error().message());
            continue;
        }
        ++ready;
    }
    if (ready == 0)
        return Error(-ENODEV, fmt::format("FE '{}': every BE it is routed to has failed", f.label));
    discard_ring(f, "the FE was prepared again");
    if (auto r = f.dma.prepare(); !r) return r;
    renew_ports(f);
    f.ring_counted = false;
    f.state.store(DpcmState::Prepare, std::memory_order_seq_cst);
    return ok();
}


Result<void> Dpcm::Impl::fe_hw_free(FeStream& f) {
    discard_ring(f, "the FE's hw_free");
    publish(f, f.bes, drop_ports(f), "the FE's hw_free");
    // dpcm_fe_dai_hw_free: the FE first (soc_pcm_hw_clean), then its BEs.
    test_point(test::Point::ControlFeHwFree, f.id);
    (void)f.dma.hw_free();
    for (uint32_t id : f.bes) be_hw_free(*bes[id], f);
    f.state.store(DpcmState::HwFree, std::memory_order_seq_cst);
    return ok();
}


int Dpcm::Impl::fe_trigger(FeStream& f, TriggerCmd cmd) noexcept {
    // Control side: the card lock is held, so the BE set cannot change underneath. The
    // interrupt path may stop the FE at any moment (an xrun, a drain end, a device gone), so
    // the FE's state moves by compare-and-swap: a stop it made is never overwritten by a state
    // derived from an older one. If it stopped the FE first, this trigger has nothing to do.
    const bool fe_first = fe_goes_first(f.link->trigger[static_cast<size_t>(f.dir)], cmd);
    const DpcmState before = f.state.load(std::memory_order_seq_cst);
    test_point(test::Point::ControlFeTrigger, f.id);
    const DpcmState after = dpcm_state_after(cmd, before);
    if (cmd != TriggerCmd::Drain) {
        DpcmState expected = before;
        if (!f.state.compare_exchange_strong(expected, after, std::memory_order_seq_cst)) {
            for (uint32_t id : f.bes) be_reconcile(*bes[id], f);
            return -EPIPE;
        }
    }
    // A STOP always stops the FE itself, whatever its BEs answer (snd_pcm_do_stop ignores the
    // trigger's result); any other command the hardware refuses is undone.
    const bool stop = cmd == TriggerCmd::Stop;
    int rc = fe_first ? f.dma.trigger(cmd) : 0;
    if (rc >= 0 || stop)
        for (uint32_t id : f.bes) {
            BeStream& b = *bes[id];
            const int brc = b.locked([&] { return b.apply(BeCmd{f.id, cmd}, Side::Control); });
            if (brc < 0 && rc >= 0) rc = brc;  // dpcm_be_dai_trigger fails the FE trigger
        }
    if (!fe_first && (rc >= 0 || stop)) {
        const int frc = f.dma.trigger(cmd);
        if (rc >= 0) rc = frc;
    }
    if (rc < 0 && !stop && cmd != TriggerCmd::Drain) {
        // Unwind: the FE stays as it was (unless the interrupt path stopped it meanwhile), and
        // its DMA with it; the reconciliation below puts back every BE that moved.
        DpcmState expected = after;
        f.state.compare_exchange_strong(expected, before, std::memory_order_seq_cst);
        const bool run = f.state.load(std::memory_order_seq_cst) == DpcmState::Start;
        (void)f.dma.trigger(run ? TriggerCmd::Start : TriggerCmd::Stop);
    }
    // Whatever the interrupt path did meanwhile, leave every BE's view of this FE as the FE is
    // (this also tries once more a STOP a BE refused).
    for (uint32_t id : f.bes) be_reconcile(*bes[id], f);
    // Stopped (its DMA waited out the realtime thread): what its ring still held is discarded.
    if (stop) discard_ring(f, "the FE was dropped");
    return rc;
}


void Dpcm::Impl::fe_trigger_rt(FeStream& f, TriggerCmd cmd) noexcept {
    // The interrupt path: period elapsed -> xrun (or drain end) -> stop -> here. No lock: walk
    // the published set inside an epoch section and post to each BE's executor.
    const bool fe_first = fe_goes_first(f.link->trigger[static_cast<size_t>(f.dir)], cmd);
    if (fe_first) (void)f.dma.trigger_rt(cmd);
    // A stop from here always wins: it is later than any state the control side stored, and a
    // control trigger that has not stored its state yet finds this one and gives up.
    DpcmState s = f.state.load(std::memory_order_seq_cst);
    while (!f.state.compare_exchange_weak(s, dpcm_state_after(cmd, s), std::memory_order_seq_cst)) {
    }
    RtSection section;
    const LinkSet* set = f.published.load(std::memory_order_acquire);
    const uint32_t n = set ? set->count : 0;
    for (uint32_t i = 0; i < n; ++i) {
        const Link* link = &set->links[i];
        test_point(test::Point::RtAfterLinkRead, f.id);
        BeStream* b = link->be;
#if defined(DYNPCM_TEST_HOOKS)
        if (link->be_id == kPoison || !b) {  // only reachable in the unprotected test mode
            detail::g_retired_reads.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
#endif
#if defined(DYNPCM_TEST_HOOKS)
        if (opt.test_rt_waits_for_be) {
            (void)b->exec.run([&] { return b->apply(BeCmd{f.id, cmd}, Side::Rt); }, b->rt_executor());
            continue;
        }
#endif
        b->exec.post(BeCmd{f.id, cmd}, b->rt_executor());
    }
    test_point(test::Point::RtAfterFanOut, f.id);
    if (!fe_first) (void)f.dma.trigger_rt(cmd);
}

}  // namespace dynpcm

// The DPCM core: FE and BE streams, the kernel's BE state machine and sharing rules, runtime
// updates, and the interrupt path's lock-free walk of published BE sets. The shape follows
// sound/soc/soc-pcm.c; comments name the kernel function each piece mirrors.

#include "dynpcm/dpcm/dpcm.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <bit>
#include <mutex>
#include <thread>

#include "dynpcm/core/thread_role.h"
#include "dynpcm/core/test_hooks.h"
#include "dynpcm/rt/rt_epoch.h"
#include "dynpcm/rt/serial_executor.h"
#include "core/test_point.h"
#include "dpcm/streams.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define DYNPCM_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define DYNPCM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define DYNPCM_POISON(p, n) ((void)(p), (void)(n))
#define DYNPCM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace dynpcm {

using namespace detail;

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

constexpr uint32_t kPoison = 0xDEADBEEF;

bool is_active(DpcmState s) { return s == DpcmState::Start || s == DpcmState::Paused || s == DpcmState::Suspend; }

}  // namespace


namespace detail {

/// The FE's "hardware": its DMA (moved by the data path), plus the fan-out of every
/// operation to its BEs, in the kernel's order.
class FeHardware final : public PcmHardware {
public:
    FeHardware(Dpcm::Impl& d, FeStream& f) : d_(d), f_(f) {}

    Result<void> hw_params(const HwParams& p) override {
        auto lk = d_.lock();
        return d_.fe_hw_params(f_, p);
    }
    Result<void> hw_free() override {
        auto lk = d_.lock();
        return d_.fe_hw_free(f_);
    }
    Result<void> prepare() override {
        auto lk = d_.lock();
        return d_.fe_prepare(f_);
    }
    int trigger(TriggerCmd cmd) noexcept override {
        // Control-side triggers serialise with runtime updates on the card lock, so they are
        // never deferred and report only what has actually run.
        auto lk = d_.lock();
        return d_.fe_trigger(f_, cmd);
    }
    int trigger_rt(TriggerCmd cmd) noexcept override {
        d_.fe_trigger_rt(f_, cmd);
        return 0;
    }
    Frames pointer() noexcept override { return f_.dma.pointer(); }
    int64_t now_ns() noexcept override { return f_.dma.now_ns(); }
    Frames delay() noexcept override { return f_.dma.delay(); }
    void attach(PcmRuntime& r) override { f_.dma.attach(r); }
    void detach(PcmRuntime& r) override { f_.dma.detach(r); }

private:
    Dpcm::Impl& d_;
    FeStream& f_;
};

FeStream::FeStream(SimClock& clock) : dma(clock) {}
FeStream::~FeStream() = default;

}  // namespace detail

namespace {

DpcmState dpcm_state_after(TriggerCmd cmd, DpcmState before) {
    switch (cmd) {
        case TriggerCmd::Start:
        case TriggerCmd::Resume:
        case TriggerCmd::PauseRelease: return DpcmState::Start;
        case TriggerCmd::Stop: return DpcmState::Stop;
        case TriggerCmd::PausePush: return DpcmState::Paused;
        case TriggerCmd::Suspend: return DpcmState::Suspend;
        case TriggerCmd::Drain: return before;
    }
    return before;
}

FeRole role_for(DpcmState s) {
    switch (s) {
        case DpcmState::Start: return FeRole::Running;
        case DpcmState::Paused: return FeRole::Paused;
        case DpcmState::Suspend: return FeRole::Suspended;
        default: return FeRole::Idle;
    }
}

const char* fe_role_name(FeRole r) {
    switch (r) {
        case FeRole::Idle: return "idle";
        case FeRole::Running: return "running";
        case FeRole::Paused: return "paused";
        case FeRole::Suspended: return "suspended";
    }
    return "?";
}

// Whether the FE is triggered before its BEs for this command (dpcm_fe_dai_do_trigger):
// PRE puts the FE first on START-like commands and last on STOP-like ones; POST mirrors it.
bool fe_goes_first(TriggerOrder order, TriggerCmd cmd) {
    const bool up = cmd == TriggerCmd::Start || cmd == TriggerCmd::Resume || cmd == TriggerCmd::PauseRelease ||
                    cmd == TriggerCmd::Drain;
    return (order == TriggerOrder::Pre) == up;
}

}  // namespace

// ------------------------------------------------------------------------------------------
// Impl

Dpcm::Impl::~Impl() {
    for (auto& b : bes)
        if (b) {
            b->timer->detach();
            delete b->ports.load();
        }
    for (auto& f : fes)
        if (f) delete f->published.load();
    for (LinkSet* s : graveyard) {
        DYNPCM_UNPOISON(s, sizeof(LinkSet));
        delete s;
    }
    for (PortSet* s : port_graveyard) delete s;
}

std::unique_lock<std::mutex> Dpcm::Impl::lock() {
    std::unique_lock lk(mutex);
    finish_leaving();
    return lk;
}

FeStream* Dpcm::Impl::fe(size_t fe_index, Stream dir) const {
    const size_t i = fe_index * 2 + static_cast<size_t>(dir);
    return i < fes.size() ? fes[i].get() : nullptr;
}

BeStream* Dpcm::Impl::be_by_link(size_t be_index, Stream dir) const {
    const size_t i = be_index * 2 + static_cast<size_t>(dir);
    return i < bes.size() ? bes[i].get() : nullptr;
}

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
                                           fmt::format("{} ({}): xrun, recovered", b.backend->describe(), b.backend->type())});
                break;
            case RtEvent::Kind::DeviceFailed:
                events.push_back(DpcmEvent{DpcmEvent::Kind::BeFailed, {}, be,
                                           fmt::format("{} ({}) failed: {}; its FEs were stopped", b.backend->describe(),
                                                       b.backend->type(), errno_name(e->rc))});
                break;
        }
    }
}

bool Dpcm::Impl::others_in(const BeStream& b, const FeStream& f, std::initializer_list<DpcmState> states) const {
    // snd_soc_dpcm_check_state: the other FEs using this BE.
    uint64_t others = b.clients & ~(uint64_t{1} << f.id);
    while (others) {
        const auto i = static_cast<size_t>(std::countr_zero(others));
        others &= others - 1;
        const DpcmState s = fes[i]->state.load(std::memory_order_acquire);
        if (std::find(states.begin(), states.end(), s) != states.end()) return true;
    }
    return false;
}

std::vector<uint32_t> Dpcm::Impl::routed_bes(const FeStream& f) const {
    std::vector<uint32_t> ids;
    for (size_t be : card->fe_routes(f.fe_index, f.dir))
        if (const BeStream* b = be_by_link(be, f.dir)) ids.push_back(b->id);
    return ids;
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

void Dpcm::Impl::publish(FeStream& f, const std::vector<uint32_t>& be_ids, std::vector<std::unique_ptr<Port>> retired) {
    // Build the new sets (control may allocate), swap them in, then free the old ones only
    // when no reader can still be walking them.
    for (uint32_t id = 0; id < bes.size(); ++id)
        if (f.ports[id] && std::find(be_ids.begin(), be_ids.end(), id) == be_ids.end())
            retired.push_back(std::move(f.ports[id]));
    auto* next = new LinkSet;
    for (uint32_t id : be_ids) next->links[next->count++] = Link{bes[id].get(), id, f.ports[id].get()};
    std::vector<uint32_t> touched = f.bes;
    touched.insert(touched.end(), be_ids.begin(), be_ids.end());
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    std::vector<PortSet*> old_port_sets;
    for (uint32_t id : touched) {
        auto* ps = new PortSet;
        for (const auto& g : fes)
            if (g && g->ports[id]) {
                ps->fe[ps->count] = g->id;
                ps->ports[ps->count++] = g->ports[id].get();
            }
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
    publish(f, f.bes, std::move(retired));
}

void Dpcm::Impl::update_gains() {
    for (auto& f : fes)
        if (f && f->pcm)
            for (uint32_t id : f->bes)
                if (Port* p = f->ports[id].get())
                    p->set_gain(static_cast<float>(card->route_gain(f->fe_index, bes[id]->be_index, f->dir).value_or(0.0)));
}

// ---- BE operations for one FE ------------------------------------------------------------

Result<void> Dpcm::Impl::be_startup(BeStream& b, const FeStream& f) {
    return b.locked([&]() -> Result<void> {
        if (b.users == 0) {
            // dpcm_be_dai_startup: only the first user opens the BE.
            if (auto r = b.backend->open(); !r) return r;
            b.state = DpcmState::Open;
            b.be_start = b.be_pause = 0;
            b.role.fill(FeRole::Idle);
            b.params.reset();
            b.warnings.clear();
        }
        b.clients |= uint64_t{1} << f.id;
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
        if (auto r = b.timer->rewind(); !r)
            return Error(r.code(), fmt::format("BE '{}': prepare failed: {}", b.link->name, r.error().message()));
        // A backend whose device failed gets its chance to recover here.
        if (auto r = b.backend->prepare(); !r) return r;
        b.failed.store(0, std::memory_order_release);
        b.state = DpcmState::Prepare;
        return ok();
    });
}

void Dpcm::Impl::be_hw_free(BeStream& b, const FeStream& f) {
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
        b.clients &= ~(uint64_t{1} << f.id);
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
    publish(f, f.bes, drop_ports(f));
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
    if (auto r = f.dma.prepare(); !r) return r;
    renew_ports(f);
    f.state.store(DpcmState::Prepare, std::memory_order_seq_cst);
    return ok();
}

Result<void> Dpcm::Impl::fe_hw_free(FeStream& f) {
    publish(f, f.bes, drop_ports(f));
    for (uint32_t id : f.bes) be_hw_free(*bes[id], f);
    (void)f.dma.hw_free();
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

// ---- runtime update -------------------------------------------------------------------------

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

// ------------------------------------------------------------------------------------------
// Dpcm

Dpcm::Dpcm(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Dpcm::~Dpcm() {
    for (auto& f : impl_->fes)
        if (f && f->pcm) (void)close(f->link->name, f->dir);
}

const Card& Dpcm::card() const noexcept { return *impl_->card; }

Result<std::unique_ptr<Dpcm>> Dpcm::create(std::unique_ptr<Card> card, Options options) {
    if (!card) return Error(-EINVAL, "dpcm: no card");
    if (!options.clock) return Error(-EINVAL, "dpcm: Options::clock is required");
    auto impl = std::make_unique<Impl>();
    impl->opt = options;
    const auto& fe_links = card->fe_links();
    const auto& be_links = card->be_links();
    if (fe_links.size() * 2 > kMaxStreams || be_links.size() * 2 > kMaxStreams)
        return Error(-ENOSPC, fmt::format("dpcm: card '{}' has {} FE and {} BE links; at most {} each", card->name(),
                                          fe_links.size(), be_links.size(), kMaxStreams / 2));
    impl->fes.resize(fe_links.size() * 2);
    for (size_t i = 0; i < fe_links.size(); ++i)
        for (Stream s : {Stream::Playback, Stream::Capture}) {
            if (!fe_links[i].stream(s)) continue;
            auto f = std::make_unique<FeStream>(*options.clock);
            f->id = static_cast<uint32_t>(i * 2 + static_cast<size_t>(s));
            f->fe_index = i;
            f->dir = s;
            f->link = &fe_links[i];
            f->label = fmt::format("{}/{}", fe_links[i].name, stream_name(s));
            impl->fes[f->id] = std::move(f);
        }
    HwConstraints::Caps be_caps;
    be_caps.formats = FormatMask::all();
    be_caps.channels = {1, 32};
    be_caps.rate = {1000, 768000};
    be_caps.period_bytes = {16, 16U << 20};
    be_caps.periods = {1, 4096};
    be_caps.buffer_bytes_max = 64U << 20;
    const auto be_constraints = std::make_shared<const HwConstraints>(be_caps);
    impl->bes.resize(be_links.size() * 2);
    for (size_t i = 0; i < be_links.size(); ++i)
        for (Stream s : {Stream::Playback, Stream::Capture}) {
            if (!be_links[i].stream(s)) continue;
            auto b = std::make_unique<BeStream>();
            b->id = static_cast<uint32_t>(i * 2 + static_cast<size_t>(s));
            b->be_index = i;
            b->dir = s;
            b->link = &be_links[i];
            b->timer = std::make_unique<SimTimer>(*options.clock, *b);
            b->constraints = be_constraints;
            b->rt_events = &impl->rt_events;
            b->fes = &impl->fes;
            auto backend = make_backend(be_links[i].backend, BackendContext{be_links[i].name, s});
            if (!backend) return std::move(backend).error();
            b->backend = std::move(*backend);
            if (!b->timer->attach())
                return Error(-ENOSPC, fmt::format("dpcm: the clock has room for at most {} BE streams",
                                                  SimClock::kMaxTimers));
            impl->bes[b->id] = std::move(b);
        }
    impl->card = std::move(card);
    return std::unique_ptr<Dpcm>(new Dpcm(std::move(impl)));
}

Backend* Dpcm::backend(std::string_view be_link, Stream dir) const {
    const auto i = impl_->card->find_be(be_link);
    const BeStream* b = i ? impl_->be_by_link(*i, dir) : nullptr;
    return b ? b->backend.get() : nullptr;
}

size_t Dpcm::take_tap(std::string_view be_link, Stream dir, std::vector<std::byte>& out, std::optional<HwParams>* params) {
    auto lk = impl_->lock();
    const auto i = impl_->card->find_be(be_link);
    BeStream* b = i ? impl_->be_by_link(*i, dir) : nullptr;
    if (!b || !b->tap || !b->params) return 0;
    if (params) *params = b->params;
    const size_t n = b->tap->readable();
    const size_t at = out.size();
    out.resize(at + n);
    return b->tap->pop(out.data() + at, n) / frame_bytes(b->format, b->channels);
}

std::optional<uint32_t> Dpcm::fe_id(std::string_view fe_link, Stream dir) const {
    const auto i = impl_->card->find_fe(fe_link);
    if (!i) return std::nullopt;
    const FeStream* f = impl_->fe(*i, dir);
    if (!f) return std::nullopt;
    return f->id;
}

PcmRuntime* Dpcm::pcm(std::string_view fe_link, Stream dir) const {
    auto lk = impl_->lock();
    const auto i = impl_->card->find_fe(fe_link);
    const FeStream* f = i ? impl_->fe(*i, dir) : nullptr;
    return f ? f->pcm.get() : nullptr;
}

Result<PcmRuntime*> Dpcm::open(std::string_view fe_link, Stream dir, PcmRuntime::Options options) {
    DYNPCM_ASSERT_THREAD(control);
    auto lk = impl_->lock();
    const auto i = impl_->card->find_fe(fe_link);
    if (!i) return Error(-ENOENT, fmt::format("card '{}' has no FE link '{}'", impl_->card->name(), fe_link));
    FeStream* f = impl_->fe(*i, dir);
    if (!f) return Error(-EINVAL, fmt::format("FE link '{}' has no {} stream", fe_link, stream_name(dir)));
    if (f->pcm || f->closing) return Error(-EBUSY, fmt::format("FE '{}' is already open", f->label));

    // dpcm_fe_dai_open: find the paths, connect and start up the BEs, then the FE.
    const std::vector<uint32_t> want = impl_->routed_bes(*f);
    std::string conflict;
    auto constraints = impl_->merged_constraints(*f, want, &conflict);
    if (!constraints) return Error(-EINVAL, conflict);
    for (size_t k = 0; k < want.size(); ++k) {
        BeStream& b = *impl_->bes[want[k]];
        if (auto r = impl_->be_startup(b, *f); !r) {
            for (size_t j = 0; j < k; ++j) impl_->be_shutdown(*impl_->bes[want[j]], *f);
            return Error(r.code(), fmt::format("FE '{}': BE '{}' did not open: {}", f->label, b.link->name,
                                               r.error().message()));
        }
    }
    for (uint32_t id : want) impl_->event(DpcmEvent::Kind::Connect, *f, impl_->bes[id].get(), "connected at open");
    impl_->publish(*f, want);
    f->hw = std::make_unique<FeHardware>(*impl_, *f);
    if (options.name == "pcm") options.name = f->label;
    if (options.timeout == PcmRuntime::Options{}.timeout) options.timeout = impl_->opt.pcm_timeout;
    f->state.store(DpcmState::Open, std::memory_order_seq_cst);
    f->pcm = std::make_unique<PcmRuntime>(dir, constraints, *f->hw, std::move(options));
    return f->pcm.get();
}

Result<void> Dpcm::close(std::string_view fe_link, Stream dir) {
    DYNPCM_ASSERT_THREAD(control);
    FeStream* f = nullptr;
    {
        auto lk = impl_->lock();
        const auto i = impl_->card->find_fe(fe_link);
        f = i ? impl_->fe(*i, dir) : nullptr;
        if (!f || !f->pcm || f->closing)
            return Error(-EBADFD, fmt::format("FE '{}/{}' is not open", fe_link, stream_name(dir)));
        f->closing = true;
    }
    // Without the card lock: the stream's own lock comes first (closing stops and frees the
    // stream, which fans out under the card lock).
    f->pcm->close();
    std::unique_ptr<PcmRuntime> pcm;
    std::unique_ptr<FeHardware> hw;
    {
        auto lk = impl_->lock();
        const std::vector<uint32_t> connected = f->bes;
        impl_->publish(*f, {}, impl_->drop_ports(*f));
        for (uint32_t id : connected) {
            impl_->be_shutdown(*impl_->bes[id], *f);
            impl_->event(DpcmEvent::Kind::Disconnect, *f, impl_->bes[id].get(), "disconnected at close");
        }
        pcm = std::move(f->pcm);
        hw = std::move(f->hw);
        f->params.reset();
        f->state.store(DpcmState::Close, std::memory_order_seq_cst);
        f->closing = false;
        impl_->collect_rt_events();
    }
    // Destroyed outside the card lock too: the runtime's destructor takes the stream's lock.
    // Another client may open the FE again meanwhile.
    test_point(test::Point::ControlCloseBeforeDestroy, f->id);
    pcm.reset();
    hw.reset();
    return ok();
}

Result<bool> Dpcm::put(std::string_view control, std::string_view value) {
    DYNPCM_ASSERT_THREAD(control);
    auto lk = impl_->lock();
    auto r = impl_->card->put(control, value);
    if (!r || !*r) return r;
    if (auto u = impl_->runtime_update(); !u) return std::move(u).error();
    impl_->update_gains();
    impl_->settle_fades();
    return true;
}

Result<bool> Dpcm::put(uint32_t numid, const std::vector<int64_t>& values) {
    DYNPCM_ASSERT_THREAD(control);
    auto lk = impl_->lock();
    auto r = impl_->card->put(numid, values);
    if (!r || !*r) return r;
    if (auto u = impl_->runtime_update(); !u) return std::move(u).error();
    impl_->update_gains();
    impl_->settle_fades();
    return true;
}

std::vector<DpcmEvent> Dpcm::take_events() {
    auto lk = impl_->lock();
    impl_->collect_rt_events();
    return std::exchange(impl_->events, {});
}

DpcmDump Dpcm::dump() const {
    auto lk = impl_->lock();
    DpcmDump d;
    d.card = impl_->card->name();
    auto be_dump = [](BeStream& b) {
        return b.locked([&] {
            BeDump bd;
            bd.name = b.link->name;
            bd.stream = b.dir;
            bd.state = b.state;
            bd.users = b.users;
            bd.be_start = b.be_start;
            bd.be_pause = b.be_pause;
            if (b.params) bd.params = b.params->summary();
            bd.warnings = b.warnings;
            return bd;
        });
    };
    std::vector<bool> used(impl_->bes.size(), false);
    for (const auto& f : impl_->fes) {
        if (!f || !f->pcm) continue;
        FeDump fd;
        fd.name = f->link->name;
        fd.stream = f->dir;
        fd.pcm_state = f->pcm->state();
        fd.state = f->state.load();
        if (f->params) fd.params = f->params->summary();
        for (uint32_t id : f->bes) {
            fd.backends.push_back(be_dump(*impl_->bes[id]));
            used[id] = true;
        }
        d.frontends.push_back(std::move(fd));
    }
    for (size_t id = 0; id < impl_->bes.size(); ++id)
        if (impl_->bes[id] && !used[id]) d.idle_backends.push_back(be_dump(*impl_->bes[id]));
    return d;
}

Result<void> Dpcm::check_invariants() const {
    auto lk = impl_->lock();
    for (const auto& bp : impl_->bes) {
        if (!bp) continue;
        BeStream& b = *bp;
        auto r = b.locked([&]() -> Result<void> {
            uint32_t running = 0, paused = 0, clients = 0;
            for (size_t fe = 0; fe < kMax; ++fe) {
                const bool client = (b.clients >> fe) & 1U;
                clients += client ? 1U : 0U;
                if (!client && b.role[fe] != FeRole::Idle)
                    return Error(-EPROTO, fmt::format("BE '{}': FE {} has a role but is not a client", b.link->name, fe));
                running += b.role[fe] == FeRole::Running ? 1U : 0U;
                paused += b.role[fe] == FeRole::Paused ? 1U : 0U;
            }
            if (running != b.be_start || paused != b.be_pause)
                return Error(-EPROTO, fmt::format("BE '{}': be_start {} be_pause {} but {} running and {} paused FEs",
                                                  b.link->name, b.be_start, b.be_pause, running, paused));
            if (clients != b.users)
                return Error(-EPROTO, fmt::format("BE '{}': {} users but {} client FEs", b.link->name, b.users, clients));
            if (b.be_start > 0 && b.state != DpcmState::Start)
                return Error(-EPROTO, fmt::format("BE '{}': be_start {} in state {}", b.link->name, b.be_start,
                                                  dpcm_state_name(b.state)));
            if (b.users > 0 && b.be_start == 0 && b.state == DpcmState::Start)
                return Error(-EPROTO, fmt::format("BE '{}': running with no running FE", b.link->name));
            if (b.timer->running() != (b.state == DpcmState::Start))
                return Error(-EPROTO, fmt::format("BE '{}': hardware {} but state {}", b.link->name,
                                                  b.timer->running() ? "running" : "stopped", dpcm_state_name(b.state)));
            return ok();
        });
        if (!r) return r;
    }
    for (const auto& fp : impl_->fes) {
        if (!fp || !fp->pcm) continue;
        const FeRole want = role_for(fp->state.load(std::memory_order_seq_cst));
        for (uint32_t id : fp->bes) {
            BeStream& b = *impl_->bes[id];
            auto r = b.locked([&]() -> Result<void> {
                if (((b.clients >> fp->id) & 1U) == 0)
                    return Error(-EPROTO, fmt::format("FE '{}' lists BE '{}' which does not list it", fp->label, b.link->name));
                // A BE that can run plays this FE's part exactly as the FE is (a BE that cannot --
                // not prepared, its device gone -- was left out).
                const bool can_run = b.run_command() != TriggerCmd::Drain && b.failed.load() == 0;
                if (can_run && b.role[fp->id] != want)
                    return Error(-EPROTO, fmt::format("BE '{}' holds FE '{}' as {} but the FE is {}", b.link->name,
                                                      fp->label, fe_role_name(b.role[fp->id]), fe_role_name(want)));
                return ok();
            });
            if (!r) return r;
        }
        const LinkSet* set = fp->published.load();
        if (!set || set->count != fp->bes.size())
            return Error(-EPROTO, fmt::format("FE '{}': published set differs from the connected BEs", fp->label));
    }
    return ok();
}

}  // namespace dynpcm

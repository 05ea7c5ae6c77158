// The DPCM core's public face (include/dynpcm/dpcm/dpcm.h): making the engine from a card,
// opening and closing FEs, control writes. The shape follows sound/soc/soc-pcm.c; the work is
// in fe_fanout.cpp (FE and BE operations), runtime_update.cpp, fades.cpp, publication.cpp,
// events.cpp, dump.cpp, and the realtime data path in data_path.cpp.
#include "dynpcm/dpcm/dpcm.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "core/test_point.h"
#include "dpcm/streams.h"
#include "dpcm/fe_hardware.h"
#include "dpcm/poison.h"
#include "dynpcm/core/thread_role.h"

namespace dynpcm {

using namespace detail;

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




FeStream* Dpcm::Impl::fe(size_t fe_index, Stream dir) const {
    const size_t i = fe_index * 2 + static_cast<size_t>(dir);
    return i < fes.size() ? fes[i].get() : nullptr;
}


BeStream* Dpcm::Impl::be_by_link(size_t be_index, Stream dir) const {
    const size_t i = be_index * 2 + static_cast<size_t>(dir);
    return i < bes.size() ? bes[i].get() : nullptr;
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
            f->ports.resize(be_links.size() * 2);
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
            auto b = std::make_unique<BeStream>(fe_links.size() * 2);
            b->id = static_cast<uint32_t>(i * 2 + static_cast<size_t>(s));
            b->be_index = i;
            b->dir = s;
            b->link = &be_links[i];
            b->timer = std::make_unique<SimTimer>(*options.clock, *b);
            if (auto c = be_links[i].clock) {
                if (auto r = SimTimer::check(*c); !r)
                    return Error(r.code(), fmt::format("BE '{}': {}", be_links[i].name, r.error().message()));
                if (c->seed == 0) c->seed = b->id + 1;
                b->timer->set_clock(*c);
            }
            b->constraints = be_constraints;
            b->rt_events = &impl->rt_events;
            b->fes = &impl->fes;
            auto backend = make_backend(be_links[i].backend,
                                        BackendContext{be_links[i].name, s, options.clock->mode() == SimClock::Mode::Realtime});
            if (!backend) return std::move(backend).error();
            b->backend = std::move(*backend);
            b->timer->attach();
            impl->bes[b->id] = std::move(b);
        }
    impl->card = std::move(card);
    return std::unique_ptr<Dpcm>(new Dpcm(std::move(impl)));
}

Result<void> Dpcm::set_clock(std::string_view be_link, Stream dir, const ClockModel& model) {
    auto lock = impl_->lock();
    const auto idx = impl_->card->find_be(be_link);
    BeStream* b = idx ? impl_->be_by_link(*idx, dir) : nullptr;
    if (!b) return Error(-ENOENT, fmt::format("no BE '{}' ({})", be_link, stream_name(dir)));
    if (!b->timer->has_clock())
        return Error(-EINVAL, fmt::format("BE '{}' runs on the engine's clock; give its link a `clock:` in the card "
                                          "to run it on one of its own",
                                          be_link));
    if (auto r = SimTimer::check(model); !r)
        return Error(r.code(), fmt::format("BE '{}': {}", be_link, r.error().message()));
    ClockModel m = model;
    if (m.seed == 0) m.seed = b->id + 1;
    b->timer->set_clock(m);
    return ok();
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
    impl_->service();
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
        impl_->service();
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
        impl_->discard_ring(*f, "the FE closed");
        impl_->publish(*f, {}, impl_->drop_ports(*f), "the FE closed");
        f->ring_counted = false;
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
    return impl_->put([&] { return impl_->card->put(control, value); });
}

Result<bool> Dpcm::put(uint32_t numid, const std::vector<int64_t>& values) {
    DYNPCM_ASSERT_THREAD(control);
    return impl_->put([&] { return impl_->card->put(numid, values); });
}

Result<bool> Dpcm::Impl::put(const std::function<Result<bool>()>& write) {
    {
        auto lk = lock();
        service();
        auto r = write();
        if (!r || !*r) return r;
        if (auto u = runtime_update(); !u) return std::move(u).error();
        update_gains();
    }
    settle_fades();
    return true;
}

void Dpcm::service() {
    DYNPCM_ASSERT_THREAD(control);
    auto lk = impl_->lock();
    impl_->service();
}

std::vector<DpcmEvent> Dpcm::take_events() {
    auto lk = impl_->lock();
    impl_->service();
    impl_->collect_rt_events();
    return std::exchange(impl_->events, {});
}

}  // namespace dynpcm

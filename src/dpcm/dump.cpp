// The state of every FE and BE (the kernel's debugfs state files), and the consistency check
// the tests run at quiescent points.
#include <fmt/format.h>

#include <algorithm>

#include "dpcm/streams.h"

namespace dynpcm {

using namespace detail;

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
            bd.period = static_cast<uint32_t>(b.period);
            bd.clock.own = b.timer->has_clock();
            bd.clock.ppm = b.timer->ppm_now();
            bd.clock.measured_ppm = b.timer->measured_ppm();
            bd.lost_frames = b.lost_frames.load(std::memory_order_relaxed);
            return bd;
        });
    };
    std::vector<bool> used(impl_->bes.size(), false);
    for (const auto& f : impl_->fes) {
        if (!f || !f->pcm) continue;
        FeDump fd;
        fd.name = f->link->name;
        fd.device = f->link->device_number;
        fd.stream = f->dir;
        fd.pcm_state = f->pcm->state();
        fd.state = f->state.load();
        if (f->params) fd.params = f->params->summary();
        fd.lost_frames = f->lost_frames.load(std::memory_order_relaxed);
        const BeStream* driver = pacer_of(*f);
        for (uint32_t id : f->bes) {
            BeDump bd = be_dump(*impl_->bes[id]);
            bd.link.driver = driver == impl_->bes[id].get();
            if (const Port* p = f->ports[id].get()) {
                const DriftState ds = p->drift();
                bd.link.adaptive = p->config().adaptive;
                bd.link.following = ds.following;
                bd.link.locked = ds.locked;
                bd.link.correction_ppm = ds.correction_ppm;
                bd.link.fill = ds.fill;
                bd.link.target = ds.target;
                bd.link.lock_seconds = ds.lock_seconds;
                bd.link.min_error = ds.min_error;
                bd.link.max_error = ds.max_error;
                bd.link.xruns_after_lock = ds.xruns_after_lock;
                bd.link.underruns = p->underruns();
                bd.link.overruns = p->overruns();
            }
            fd.backends.push_back(std::move(bd));
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
            for (size_t fe = 0; fe < b.client.size(); ++fe) {
                const bool client = b.client[fe] != 0;
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
        for (uint32_t id : fp->bes) {
            BeStream& b = *impl_->bes[id];
            auto r = b.locked([&]() -> Result<void> {
                if (!b.client[fp->id])
                    return Error(-EPROTO, fmt::format("FE '{}' lists BE '{}' which does not list it", fp->label, b.link->name));
                // A BE that can run plays this FE's part exactly as the FE is (a BE that cannot --
                // not prepared, its device gone -- was left out). The role first, then the FE's
                // state: the interrupt path may stop the FE meanwhile, and it stores the state
                // before its STOP reaches the BE, so a role still running for a stopped FE is a
                // stop in flight, while an idle role for a running FE is always wrong.
                const FeRole have = b.role[fp->id];
                const DpcmState fe_state = fp->state.load(std::memory_order_seq_cst);
                const FeRole want = role_for(fe_state);
                const bool can_run = b.run_command() != TriggerCmd::Drain && b.failed.load() == 0;
                const bool stop_in_flight = fe_state == DpcmState::Stop && have != FeRole::Idle;
                if (can_run && have != want && !stop_in_flight)
                    return Error(-EPROTO, fmt::format("BE '{}' holds FE '{}' as {} but the FE is {}", b.link->name,
                                                      fp->label, fe_role_name(have), fe_role_name(want)));
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

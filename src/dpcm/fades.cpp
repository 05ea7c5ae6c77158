// Links that leave a running FE fade out first; the control side completes their
// disconnection once the realtime side has played the fade (docs/DATA_PATH.md, "Fades").
#include <algorithm>
#include <limits>

#include "core/test_point.h"
#include "dpcm/streams.h"

namespace dynpcm {

using namespace detail;

void Dpcm::Impl::start_leaving(FeStream& f, const BeStream& b, Port& p, RouteRemoval how) {
    // Bounded: the fade (or, playing out, what is queued), two of the BE's periods, and a
    // margin for a late clock.
    int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(opt.fade).count();
    if (how == RouteRemoval::Play) {
        p.play_out();
        if (b.rate) ns = std::max<int64_t>(ns, static_cast<int64_t>(p.queued() * 1'000'000'000ULL / b.rate));
    } else {
        p.set_connected(false);
    }
    const int64_t period_ns = b.rate ? static_cast<int64_t>(b.period * 1'000'000'000ULL / b.rate) : 0;
    f.leaving.push_back({b.id, opt.clock->now_ns() + ns + 2 * period_ns + 20'000'000, how});
}

bool Dpcm::Impl::leaving(const FeStream& f, uint32_t be) const {
    return std::any_of(f.leaving.begin(), f.leaving.end(), [&](const auto& l) { return l.be == be; });
}

bool Dpcm::Impl::any_leaving(uint32_t be) const {
    return std::any_of(fes.begin(), fes.end(), [&](const auto& f) { return f && leaving(*f, be); });
}

void Dpcm::Impl::finish_leaving() {
    const int64_t now = opt.clock->now_ns();
    bool gone = false;
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
        const bool played = std::all_of(f.leaving.begin(), f.leaving.end(),
                                        [&](const auto& l) { return !is_done(l.be) || l.how == RouteRemoval::Play; });
        std::erase_if(f.leaving, [&](const auto& l) { return is_done(l.be); });
        std::vector<uint32_t> keep;
        for (uint32_t id : f.bes)
            if (!is_done(id)) keep.push_back(id);
        publish(f, keep, {}, played ? "the route was removed and played out" : "the route was removed and faded out");
        for (uint32_t id : done) {
            be_shutdown(*bes[id], f);
            event(DpcmEvent::Kind::Disconnect, f, bes[id].get(),
                  removal_of(*bes[id]) == RouteRemoval::Play && f.dir == Stream::Playback ? "disconnected after playing out"
                                                                                      : "disconnected after fading out");
        }
        for (uint32_t id : f.bes) be_reconcile(*bes[id], f);
        gone = true;
    }
    // BEs that waited for these links to go may join the FEs that route to them now.
    if (gone) add_paths();
}


void Dpcm::Impl::settle_fades() {
    // On a real-time clock, put() returns with its routing applied: wait for the fades it
    // started, without the card lock, so other applications' calls go on meanwhile. The
    // realtime side wakes us when a port has faded out (Port::faded_out); the deadlines bound
    // the wait when a fade cannot finish. On a virtual clock the caller drives time, and the
    // next service() completes them.
    if (opt.clock->mode() != SimClock::Mode::Realtime) return;
    for (;;) {
        const uint32_t seen = faded.seq();
        int64_t until = 0;
        {
            std::lock_guard lk(mutex);
            finish_leaving();
            if (!any_leaving()) return;
            until = std::numeric_limits<int64_t>::max();
            for (const auto& f : fes)
                if (f)
                    for (const auto& l : f->leaving) until = std::min(until, l.deadline_ns);
        }
        const int64_t wait_ns = std::clamp<int64_t>(until - opt.clock->now_ns(), 100'000, 20'000'000);
        test_point(test::Point::ControlSettling, 0);
        faded.wait(seen, std::chrono::nanoseconds(wait_ns));
    }
}

bool Dpcm::Impl::any_leaving() const {
    return std::any_of(fes.begin(), fes.end(), [](const auto& f) { return f && !f->leaving.empty(); });
}

}  // namespace dynpcm

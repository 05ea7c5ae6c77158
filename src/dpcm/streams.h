#pragma once
// The DPCM engine's internal types, shared by the files of src/dpcm/ (the control side) and
// the data path (data_path.cpp): FE and BE streams, the BE state machine, the link sets
// published to the realtime thread, and the engine's Impl. Not a public header.

#include <algorithm>
#include <array>
#include <functional>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dpcm/port.h"
#include "dynpcm/backend/backend.h"
#include "dynpcm/core/wait_word.h"
#include "dynpcm/dpcm/dpcm.h"
#include "dynpcm/rt/event_queue.h"
#include "dynpcm/rt/serial_executor.h"
#include "dynpcm/rt/spsc_ring.h"
#include "dynpcm/sim/sim_clock.h"
#include "dynpcm/sim/sim_timer.h"

namespace dynpcm::detail {

/// What one FE contributes to a shared BE: the per-FE form of be_start / be_pause, so that a
/// stale or repeated command can never count twice.
enum class FeRole : uint8_t { Idle, Running, Paused, Suspended };

/// Which thread runs a BE command: its hardware is triggered with trigger() or trigger_rt().
enum class Side : uint8_t { Control, Rt };

// ---- the kernel's rules, shared by the files of the DPCM core

constexpr uint32_t kPoison = 0xDEADBEEF;  // a retired link's BE id (the unprotected test mode)

inline bool is_active(DpcmState s) { return s == DpcmState::Start || s == DpcmState::Paused || s == DpcmState::Suspend; }

inline DpcmState dpcm_state_after(TriggerCmd cmd, DpcmState before) {
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

inline FeRole role_for(DpcmState s) {
    switch (s) {
        case DpcmState::Start: return FeRole::Running;
        case DpcmState::Paused: return FeRole::Paused;
        case DpcmState::Suspend: return FeRole::Suspended;
        default: return FeRole::Idle;
    }
}

inline const char* fe_role_name(FeRole r) {
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
inline bool fe_goes_first(TriggerOrder order, TriggerCmd cmd) {
    const bool up = cmd == TriggerCmd::Start || cmd == TriggerCmd::Resume || cmd == TriggerCmd::PauseRelease ||
                    cmd == TriggerCmd::Drain;
    return (order == TriggerOrder::Pre) == up;
}


struct BeCmd {
    uint32_t fe;
    TriggerCmd cmd;
};

struct BeStream;
struct FeStream;

/// One FE->BE link as the realtime thread sees it. `port` is null until the FE is prepared.
struct Link {
    BeStream* be;
    uint32_t be_id;
    Port* port;
};

/// An FE's BE set: built by control, immutable once published, as large as it needs to be.
struct LinkSet {
    uint32_t count = 0;
    std::vector<Link> links;
};

/// A BE's ports, one per connected and prepared FE: immutable once published.
struct PortSet {
    uint32_t count = 0;
    std::vector<Port*> ports;
    std::vector<uint32_t> fe;  // the FE stream id of each port
};

/// What the realtime thread reports to control, without allocating.
struct RtEvent {
    enum class Kind : uint8_t { TriggerFailed, DeviceXrun, DeviceRecovered, DeviceFailed };
    Kind kind;
    uint32_t fe;
    uint32_t be;
    TriggerCmd cmd;
    int rc;
    uint64_t frames = 0;  // DeviceRecovered: the frames the gap lost
};

struct BeStream final : SimTimer::Client {
    /// For a card of `fe_streams` FE stream ids: the per-FE tables are sized once, here.
    explicit BeStream(size_t fe_streams)
        : exec(4 * std::max<size_t>(fe_streams, 4)), client(fe_streams, 0), role(fe_streams, FeRole::Idle) {}
    uint32_t id = 0;
    size_t be_index = 0;
    Stream dir = Stream::Playback;
    const BeLink* link = nullptr;
    std::unique_ptr<SimTimer> timer;      // the BE's clock: one tick per period
    std::unique_ptr<Backend> backend;     // what plays or records the samples
    std::shared_ptr<const HwConstraints> constraints;
    EventQueue<RtEvent, 256>* rt_events = nullptr;
    const std::vector<std::unique_ptr<FeStream>>* fes = nullptr;  // the engine's FE streams

    // Published for the rt thread: the ports of the FEs connected to this BE.
    std::atomic<PortSet*> ports{nullptr};
    /// Negative errno once the device failed on the rt thread; 0 while healthy. Cleared by a
    /// successful prepare.
    std::atomic<int> failed{0};
    std::atomic<uint64_t> device_xruns{0};
    std::atomic<uint64_t> lost_frames{0};  // BE frames discarded on the way to or from it
    // The gap a device is in (rt-owned; reset by control in be_prepare, while the BE is stopped):
    // the backend's lost frames last seen, and those lost since the device last moved audio.
    uint64_t lost_seen = 0;
    uint64_t gap = 0;
    // The data path's configuration and scratch: written by control in be_hw_params while the
    // BE is stopped, read by the rt thread while it runs.
    uint32_t rate = 0;
    unsigned channels = 0;
    Format format = Format::S16_LE;
    Frames period = 0;
    std::vector<float> bus;
    std::vector<std::byte> raw;
    std::unique_ptr<SpscRing<std::byte>> tap;  // what the backend got or gave (Options::tap_seconds)

    /// The BE's clock tick: the data path (data_path.cpp). Thread: rt.
    void period_rt(Frames frames) noexcept override;

    // Everything below is touched only by the owner of `exec`. Its queue holds four commands
    // per FE (each FE has at most one STOP, PAUSE or SUSPEND and its undo in flight per BE).
    SerialExecutor<BeCmd, 64> exec;
    DpcmState state = DpcmState::New;
    uint32_t users = 0;
    std::vector<uint8_t> client;  // by FE id: this FE uses the BE (dpcm_be_connect's list)
    std::vector<FeRole> role;     // by FE id
    uint32_t be_start = 0;
    uint32_t be_pause = 0;
    std::optional<HwParams> params;
    std::vector<std::string> warnings;

    // The hardware: the backend starts before its clock ticks, and stops after it stopped. A
    // stopping command the backend refuses restarts the clock, so the two agree again.
    int hw(TriggerCmd c, uint32_t fe, Side side) noexcept {
        auto timer_cmd = [&](TriggerCmd t) { return side == Side::Rt ? timer->trigger_rt(t) : timer->trigger(t); };
        auto backend_cmd = [&](TriggerCmd t) { return side == Side::Rt ? backend->trigger_rt(t) : backend->trigger(t); };
        int rc = 0;
        if (starts(c)) {
            rc = backend_cmd(c);
            if (rc >= 0) {
                rc = timer_cmd(c);
                if (rc < 0) (void)backend_cmd(TriggerCmd::Stop);
            }
        } else {
            rc = timer_cmd(c);
            if (rc >= 0) {
                rc = backend_cmd(c);
                if (rc < 0) (void)timer_cmd(undo(c));
            }
        }
        if (rc < 0 && rt_events) rt_events->push(RtEvent{RtEvent::Kind::TriggerFailed, fe, id, c, rc});
        return rc;
    }
    static bool starts(TriggerCmd c) noexcept {
        return c == TriggerCmd::Start || c == TriggerCmd::Resume || c == TriggerCmd::PauseRelease;
    }
    static TriggerCmd undo(TriggerCmd c) noexcept {
        return c == TriggerCmd::PausePush ? TriggerCmd::PauseRelease : c == TriggerCmd::Suspend ? TriggerCmd::Resume : TriggerCmd::Start;
    }

    // What makes this BE's hardware run, from the state it is in; Drain (no command) when it
    // cannot run (not prepared), where the kernel's dpcm_be_dai_trigger skips the BE.
    TriggerCmd run_command() const noexcept {
        switch (state) {
            case DpcmState::Prepare:
            case DpcmState::Stop:
            case DpcmState::Start: return TriggerCmd::Start;
            case DpcmState::Paused: return TriggerCmd::PauseRelease;
            case DpcmState::Suspend: return TriggerCmd::Resume;
            default: return TriggerCmd::Drain;
        }
    }

    // dpcm_be_dai_trigger for one FE. Runs as the executor's owner, on either thread.
    // One FE's role becomes Running; only the first running FE reaches the hardware, with the
    // command the BE's state calls for, and a refusal puts everything back as it was.
    int become_running(FeRole& r, FeRole from, uint32_t fe, Side side) noexcept {
        const TriggerCmd cmd = run_command();
        if (cmd == TriggerCmd::Drain) return 0;
        r = FeRole::Running;
        if (from == FeRole::Paused) --be_pause;
        if (++be_start != 1) return 0;
        if (const int rc = hw(cmd, fe, side); rc < 0) {
            r = from;
            if (from == FeRole::Paused) ++be_pause;
            --be_start;
            return rc;
        }
        state = DpcmState::Start;
        return 0;
    }

    // Takes FE `fe` out of the running count (to Idle, Paused or Suspended); the last running
    // FE moves the hardware with `hw_cmd` to `to`. A refusal restores the role and the counts
    // and returns the error: the BE's counts always say what its hardware does.
    int leave_running(FeRole& r, FeRole to, TriggerCmd hw_cmd, DpcmState to_state, uint32_t fe, Side side) noexcept {
        const FeRole was = r;
        r = to;
        if (was == FeRole::Running) --be_start;
        if (was == FeRole::Paused) --be_pause;
        if (to == FeRole::Paused) ++be_pause;
        if (be_start != 0 || !(state == DpcmState::Start || (state == DpcmState::Paused && hw_cmd == TriggerCmd::Stop)))
            return 0;
        if (const int rc = hw(hw_cmd, fe, side); rc < 0) {
            r = was;
            if (to == FeRole::Paused) --be_pause;
            if (was == FeRole::Paused) ++be_pause;
            if (was == FeRole::Running) ++be_start;
            return rc;
        }
        state = to_state;
        return 0;
    }

    // Returns the hardware's answer when this command reached it, else 0.
    int apply(const BeCmd& c, Side side) noexcept {
        FeRole& r = role[c.fe];
        switch (c.cmd) {
            case TriggerCmd::Start:
                if (r != FeRole::Idle) return 0;
                return become_running(r, FeRole::Idle, c.fe, side);
            case TriggerCmd::Resume:
                if (r != FeRole::Suspended) return 0;
                return become_running(r, FeRole::Suspended, c.fe, side);
            case TriggerCmd::PauseRelease:
                if (r != FeRole::Paused) return 0;
                return become_running(r, FeRole::Paused, c.fe, side);
            case TriggerCmd::Stop: {
                if (r == FeRole::Idle) return 0;
                // The last running FE stopped. If another FE is only paused, the BE pauses
                // instead of stopping (the kernel's be_pause rule).
                const bool others_paused = be_pause > (r == FeRole::Paused ? 1U : 0U);
                if (others_paused)
                    return leave_running(r, FeRole::Idle, TriggerCmd::PausePush, DpcmState::Paused, c.fe, side);
                return leave_running(r, FeRole::Idle, TriggerCmd::Stop, DpcmState::Stop, c.fe, side);
            }
            case TriggerCmd::PausePush:
                if (r != FeRole::Running) return 0;
                return leave_running(r, FeRole::Paused, TriggerCmd::PausePush, DpcmState::Paused, c.fe, side);
            case TriggerCmd::Suspend:
                if (r != FeRole::Running) return 0;
                return leave_running(r, FeRole::Suspended, TriggerCmd::Suspend, DpcmState::Suspend, c.fe, side);
            case TriggerCmd::Drain: return 0;  // DRAIN reaches only the FE
        }
        return 0;
    }

    /// How the owner runs queued commands: a control thread triggers the hardware with
    /// trigger(), the realtime thread with trigger_rt().
    auto control_executor() noexcept {
        return [this](const BeCmd& c) noexcept { (void)apply(c, Side::Control); };
    }
    auto rt_executor() noexcept {
        return [this](const BeCmd& c) noexcept { (void)apply(c, Side::Rt); };
    }
    /// Runs `fn` as this BE's executor owner (control side).
    template <class Fn>
    auto locked(Fn&& fn) {
        return exec.run(std::forward<Fn>(fn), control_executor());
    }
};

/// The FE's DMA as its PcmRuntime sees it. There is no host clock of its own: the data path
/// moves the FE's frames whenever the BE that paces the FE ticks, and the position is what it
/// has moved. Control stops it by clearing `running` and waiting out the realtime thread (an FE
/// stage runs inside its BE's tick, a realtime section), the way snd_pcm_stop's sync_stop
/// waits out an interrupt.
class FeDma final : public PcmHardware {
public:
    explicit FeDma(SimClock& clock) : clock_(clock) {}

    // PcmHardware. hw_params/prepare: control, allocate scratch.
    Result<void> hw_params(const HwParams& p) override;
    /// Forgets the configuration and its scratch; the FE is stopped, so no FE stage runs.
    Result<void> hw_free() override;
    Result<void> prepare() override;
    int trigger(TriggerCmd cmd) noexcept override;
    int trigger_rt(TriggerCmd cmd) noexcept override;
    Frames pointer() noexcept override;
    int64_t now_ns() noexcept override { return clock_.now_ns(); }
    Frames delay() noexcept override { return extra_delay.load(std::memory_order_relaxed); }
    void attach(PcmRuntime& r) override { pcm.store(&r, std::memory_order_release); }
    /// Forgets `r` only if it is still the attached runtime: the FE may have been opened again
    /// (another runtime attached) before the old one is destroyed. Returns once no realtime
    /// section can still hold `r`.
    void detach(PcmRuntime& r) override;

    SimClock& clock_;
    std::atomic<PcmRuntime*> pcm{nullptr};
    // Configuration: written by control in hw_params while stopped.
    uint32_t rate = 0;
    unsigned channels = 0;
    Format format = Format::S16_LE;
    Frames period = 0;
    Frames buffer = 0;
    uint32_t frame_bytes = 0;
    std::vector<std::byte> raw;  // one period in the FE's format
    std::vector<float> mix;      // one period in float
    std::atomic<bool> running{false};
    std::atomic<Frames> pos{0};          // frames moved since prepare
    std::atomic<Frames> extra_delay{0};  // frames queued past the ring (ports, device)
    // Pacing, rt-owned: FE frames due = BE frames ticked * rate / pace_rate, exactly.
    uint32_t pace_rate = 0;
    uint64_t paced_be = 0;
    uint64_t paced_fe = 0;
};

class FeHardware;

struct FeStream {
    // Both in dpcm.cpp, where FeHardware is complete.
    explicit FeStream(SimClock& clock);
    ~FeStream();
    uint32_t id = 0;
    size_t fe_index = 0;
    Stream dir = Stream::Playback;
    const FeLink* link = nullptr;
    std::string label;
    std::atomic<DpcmState> state{DpcmState::New};
    FeDma dma;  // lives as long as the engine: the rt thread may look at it at any time
    std::unique_ptr<FeHardware> hw;
    std::unique_ptr<PcmRuntime> pcm;
    std::optional<HwParams> params;
    std::vector<uint32_t> bes;  // control's view of the connected BEs (ids)
    std::vector<std::unique_ptr<Port>> ports;  // by BE id (sized at create), once prepared; control-owned
    struct Leaving {
        uint32_t be;
        int64_t deadline_ns;
        RouteRemoval how;  // Fade or Play
    };
    std::vector<Leaving> leaving;  // BEs fading out before they disconnect
    std::atomic<LinkSet*> published{nullptr};
    std::atomic<uint64_t> lost_frames{0};  // FE frames of its audio discarded
    bool ring_counted = false;  // control: what its ring held is counted (until the next prepare)
    bool closing = false;  // under the card lock: a close() is under way
};

/// The rt thread's data path (data_path.cpp).
void fe_stage_rt(FeStream& f, Frames be_frames, uint32_t be_rate) noexcept;
/// The BE that drives the FE now, or null (data_path.cpp, "Pacing"). Thread: any (reads the
/// published set: control under the card lock, rt inside a section).
const BeStream* pacer_of(const FeStream& f) noexcept;

}  // namespace dynpcm::detail

namespace dynpcm {

struct Dpcm::Impl {
    using FeStream = detail::FeStream;
    using BeStream = detail::BeStream;
    using LinkSet = detail::LinkSet;
    using PortSet = detail::PortSet;
    using Port = detail::Port;
    using RtEvent = detail::RtEvent;

    std::unique_ptr<Card> card;
    Options opt;
    mutable std::mutex mutex;  // the card's control lock (the kernel's pcm_mutex)
    std::vector<std::unique_ptr<FeStream>> fes;  // index: fe_index * 2 + dir
    std::vector<std::unique_ptr<BeStream>> bes;  // index: be_index * 2 + dir
    std::vector<DpcmEvent> events;
    EventQueue<RtEvent, 256> rt_events;
    // Unprotected test mode: retired objects, never freed before the engine (sets poisoned).
    std::vector<LinkSet*> graveyard;
    std::vector<PortSet*> port_graveyard;
    std::vector<std::unique_ptr<Port>> retired_ports_graveyard;

    WaitWord faded;  // the realtime side wakes it when a leaving link has faded out

    ~Impl();
    /// Takes the card lock. Nothing else.
    std::unique_lock<std::mutex> lock() { return std::unique_lock(mutex); }
    /// The control-side work the realtime side has made due (links whose fade-out has played
    /// are disconnected, and BEs that waited for them connected). Every operation that changes
    /// the engine calls it first; Dpcm::service() is the same for virtual-time drivers.
    /// Under the card lock.
    void service() { finish_leaving(); }
    FeStream* fe(size_t fe_index, Stream dir) const;
    BeStream* be_by_link(size_t be_index, Stream dir) const;
    void event(DpcmEvent::Kind k, const FeStream& f, const BeStream* b, std::string message);
    void collect_rt_events();

    // FE operations fanned out to BEs (the control side of dpcm_fe_dai_*).
    Result<void> fe_hw_params(FeStream& f, const HwParams& params);
    Result<void> fe_prepare(FeStream& f);
    Result<void> fe_hw_free(FeStream& f);
    int fe_trigger(FeStream& f, TriggerCmd cmd) noexcept;
    void fe_trigger_rt(FeStream& f, TriggerCmd cmd) noexcept;

    // BE operations for one FE (dpcm_be_dai_startup / hw_params / prepare / hw_free / shutdown).
    Result<void> be_startup(BeStream& b, const FeStream& f);
    Result<void> be_hw_params(BeStream& b, const FeStream& f, const HwParams& fe_params);
    Result<void> be_prepare(BeStream& b, const FeStream& f);
    void be_hw_free(BeStream& b, const FeStream& f);
    void be_shutdown(BeStream& b, const FeStream& f);
    /// Brings the BE's view of this FE to the FE's current state (see the trigger rule).
    void be_reconcile(BeStream& b, const FeStream& f);
    bool others_in(const BeStream& b, const FeStream& f, std::initializer_list<DpcmState> states) const;

    // Link sets and ports.
    /// Publishes the FE's BE set and ports, and the port sets of the BEs they touch; frees
    /// what they replace (and `retired` ports) after one grace period.
    /// `why` says why audio a retired port still holds is discarded (a Lost event counts it).
    void publish(FeStream& f, const std::vector<uint32_t>& be_ids, std::vector<std::unique_ptr<Port>> retired = {},
                 std::string_view why = "the link went");
    /// Counts audio discarded (docs/DATA_PATH.md, "Lost frames"): per FE in its frames, per BE
    /// in its, and as a Lost event. Either may be null.
    void note_lost(FeStream* f, BeStream* b, uint64_t fe_frames, uint64_t be_frames, std::string_view why);
    /// The FE's ring is about to be discarded (drop, prepare, hw_free, close): what it held that
    /// the application wrote and nothing played (playback), or captured and nobody read.
    void discard_ring(FeStream& f, std::string_view why);
    /// What a route removal does to the link's queued audio (the BE link's, else the card's).
    RouteRemoval removal_of(const BeStream& b) const;
    /// A port for the link (FE and BE configured), or null with a warning event.
    std::unique_ptr<Port> make_port(FeStream& f, BeStream& b, bool fade_in);
    /// Takes the FE's ports out (to be published away).
    std::vector<std::unique_ptr<Port>> drop_ports(FeStream& f);
    /// Fresh ports for every connected BE (at prepare), published.
    void renew_ports(FeStream& f);
    void update_gains();
    /// Dpcm::put: the control write, the runtime update, then (real time) the fades it began.
    Result<bool> put(const std::function<Result<bool>()>& write);
    std::vector<uint32_t> routed_bes(const FeStream& f) const;
    // The runtime update (runtime_update.cpp): every open FE's pruned BEs first, then the
    // added ones.
    Result<void> runtime_update();
    bool updatable(const FeStream* f) const;
    void prune_paths(FeStream& f);
    void add_paths();
    void add_paths(FeStream& f);
    // Fades (fades.cpp).
    /// The link to `b` starts fading out of the running FE; it leaves once it has.
    void start_leaving(FeStream& f, const BeStream& b, Port& p, RouteRemoval how);
    bool leaving(const FeStream& f, uint32_t be) const;
    /// Whether any FE's link to BE `be` is fading out.
    bool any_leaving(uint32_t be) const;
    bool any_leaving() const;
    /// Disconnects the leaving links whose fade has played (or can no longer play), then
    /// connects the BEs that waited for them.
    void finish_leaving();
    /// On a real-time clock, waits (bounded by their deadlines, without the card lock) for the
    /// links that are fading out to finish and disconnect, so put() returns with the routing
    /// applied. On a virtual clock the caller drives time: service() finishes them later.
    /// Called without the card lock.
    void settle_fades();
    std::shared_ptr<const HwConstraints> merged_constraints(const FeStream& f, const std::vector<uint32_t>& be_ids,
                                                            std::string* conflict) const;
};

}  // namespace dynpcm

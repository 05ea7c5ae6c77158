#pragma once
/// Dpcm: the Dynamic PCM core. Front-end streams (FEs), back-end links (BEs) shared between
/// them, the kernel's BE state machine and sharing rules, runtime updates when a control write
/// re-routes, and an interrupt path that never waits for any of it.
///
/// Threads (docs/CONCURRENCY.md):
/// - control: open/close, put (control writes and the runtime update they cause), dump, and
///   every PcmRuntime call an application makes on an FE. Serialised by one card mutex, which
///   the realtime thread never takes.
/// - rt: the thread that runs FE period interrupts (SimClock). An xrun or drain end on it stops
///   the FE and triggers the FE's BEs, walking the FE's published BE set inside an epoch section
///   and posting to each BE's SerialExecutor. It never blocks, allocates or frees.
/// The control path publishes each FE's BE set as an immutable LinkSet and frees the old one
/// only after a grace period. Every write to a BE's state and counts goes through that BE's
/// SerialExecutor, whichever thread makes it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dynpcm/backend/backend.h"
#include "dynpcm/card/card.h"
#include "dynpcm/core/result.h"
#include "dynpcm/dpcm/dpcm_state.h"
#include "dynpcm/dpcm/state_dump.h"
#include "dynpcm/pcm/pcm_runtime.h"
#include "dynpcm/sim/sim_clock.h"

namespace dynpcm {

/// Something the DPCM core reports to the control side.
struct DpcmEvent {
    enum class Kind : uint8_t {
        Connect,          ///< a BE joined an FE's set
        Disconnect,       ///< a BE left an FE's set
        ParamsMismatch,   ///< a shared BE kept another FE's hw params (the kernel does so silently)
        BeTriggerFailed,  ///< a BE refused a trigger
        BeXrun,           ///< a BE's device ran over or under; it recovered by itself
        BeFailed,         ///< a BE's device failed (gone): its FEs saw XRUN or DISCONNECTED
        Lost,             ///< audio was discarded: `frames` of it, and why (docs/DATA_PATH.md, "Lost frames")
        Warning,
    };
    Kind kind = Kind::Warning;
    std::string fe;
    std::string be;
    std::string message;
    /// Lost: the frames discarded, in the FE's frames when `fe` is named, else the BE's.
    uint64_t frames = 0;
};

class Dpcm {
public:
    struct Options {
        SimClock* clock = nullptr;        ///< required: runs the FE host DMAs and BE engines
        std::chrono::milliseconds pcm_timeout{10000};
        /// How long a link fades in when it joins a running FE, and out before it leaves one
        /// (docs/DATA_PATH.md). 0: no fades; a pruned link disconnects at once, as the
        /// kernel's does. Volume changes ramp over the same time.
        std::chrono::microseconds fade{5000};
        /// Keep this much of what each BE plays or captures for take_tap() (0: no taps). The
        /// rt thread copies into a preallocated ring; what does not fit is dropped.
        double tap_seconds = 0;
        /// Drift compensation (docs/DATA_PATH.md, "Clocks"): a port to a BE with a clock of
        /// its own resamples adaptively and follows the FE's driver. Off: every BE plays at the
        /// driver's pace, and a follower on another crystal runs dry or over (the comparison).
        bool drift_compensation = true;
        // The two below act only in libraries built with DYNPCM_TEST_HOOKS (builds with tests);
        // elsewhere they are ignored. They are always declared so the layout never changes.
        /// Publish new BE sets without waiting for the grace period and retire the old ones
        /// poisoned: the deliberately unprotected design the race tests must catch.
        bool test_unprotected = false;
        /// The interrupt path takes each BE's executor like the control path does, waiting for
        /// it: the blocking design the no-wait test must catch.
        bool test_rt_waits_for_be = false;
    };

    /// Takes the card. Thread: control. Allocates: yes.
    static Result<std::unique_ptr<Dpcm>> create(std::unique_ptr<Card> card, Options options);
    /// Closes every FE. Thread: control. Blocking: may block (grace periods). Allocates: no.
    ~Dpcm();
    Dpcm(const Dpcm&) = delete;
    Dpcm& operator=(const Dpcm&) = delete;

    /// The card, for reading. Write controls through put(), which re-routes. Thread: control,
    /// and not while another thread calls put(). Blocking: wait-free. Allocates: no.
    const Card& card() const noexcept;

    /// Opens an FE stream (dpcm_fe_dai_open): connects the BEs its routes reach and opens them.
    /// The returned PcmRuntime behaves as an alsa-lib PCM; its hw_params, prepare, trigger and
    /// hw_free fan out to the BEs. It stays valid until close(). Thread: control. Blocking: may
    /// block (the card lock, a grace period). Allocates: yes.
    Result<PcmRuntime*> open(std::string_view fe_link, Stream dir, PcmRuntime::Options options = {});
    /// Closes an FE stream (dpcm_fe_dai_close): stops and frees it and releases its BEs.
    /// Thread: control. Blocking: may block (as open). Allocates: on error.
    Result<void> close(std::string_view fe_link, Stream dir);
    /// The open FE stream, or null. Thread: control. Blocking: the card lock. Allocates: no.
    PcmRuntime* pcm(std::string_view fe_link, Stream dir) const;
    /// A stable number for an FE stream, as test hooks and events report it.
    std::optional<uint32_t> fe_id(std::string_view fe_link, Stream dir) const;

    /// Writes a control (by name, user-written value) and, if routing changed, runs the runtime
    /// update (soc_dpcm_runtime_update). Returns true if the value changed. Thread: control.
    /// Blocking: may block (the card lock, BE executors, a grace period). Allocates: yes.
    Result<bool> put(std::string_view control, std::string_view value);
    Result<bool> put(uint32_t numid, const std::vector<int64_t>& values);

    /// Changes a BE's crystal while it runs (a scenario's `clock` step). Only a BE that has a
    /// clock of its own in the card (`clock:`) can: the others share the engine's. Thread:
    /// control. Blocking: the card lock. Allocates: on error.
    Result<void> set_clock(std::string_view be_link, Stream dir, const ClockModel& model);

    /// The backend of a BE link's stream (to inspect a sim codec, say), or null.
    /// Thread: control. Blocking: no. Allocates: no. Valid as long as the engine.
    Backend* backend(std::string_view be_link, Stream dir) const;

    /// Moves out what a BE stream played (playback) or captured since the last call, in its
    /// format (interleaved), appending to `out`; `params` gets its configuration. Needs
    /// Options::tap_seconds. Returns the frames moved. Thread: control. Blocking: the card
    /// lock. Allocates: grows `out`.
    size_t take_tap(std::string_view be_link, Stream dir, std::vector<std::byte>& out,
                    std::optional<HwParams>* params = nullptr);

    /// The state of every FE and BE; changes nothing. Thread: control. Blocking: the card lock
    /// and each BE's executor, briefly. Allocates: yes.
    DpcmDump dump() const;
    /// Does the control-side work the realtime side has made due: links whose fade-out has
    /// played are disconnected (stopped, freed, closed), and BEs that waited for them join the
    /// FEs that route to them. Every operation that changes the engine (open, close, put, an
    /// FE's hw_params, prepare, trigger, hw_free) and take_events() do this first; on a virtual
    /// clock, call it (or take_events) after advancing time. On a real-time clock put() waits
    /// for the fades it begins. Thread: control. Blocking: the card lock, grace periods.
    /// Allocates: may.
    void service();
    /// Events since the last call, oldest first; service() first. Thread: control. Blocking:
    /// the card lock. Allocates: yes.
    std::vector<DpcmEvent> take_events();

    /// Checks the BE bookkeeping against the FEs (users, be_start, be_pause, states, each BE's
    /// role for each FE against the FE's state); returns the first inconsistency found. Meant
    /// for quiescent points; while the interrupt path runs it tolerates only a stop in flight
    /// (an FE it stopped whose STOP has not reached a BE yet). Thread: control. Blocking:
    /// the card lock and each BE's executor, briefly. Allocates: on error.
    Result<void> check_invariants() const;

    struct Impl;

private:
    explicit Dpcm(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace dynpcm

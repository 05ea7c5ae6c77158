#pragma once
/// The scenario runner: plays a Scenario against a card on the DPCM engine, in virtual time
/// (deterministic, as fast as the CPU allows) or real time, and reports a timeline (steps,
/// route changes, BE state transitions, xruns) and each expectation's result. It records what
/// every BE played into WAV files, and can write a Chrome trace-event file (Perfetto,
/// chrome://tracing) with one track per FE and BE.
///
/// Thread: control. The runner drives the clock itself (virtual time) or lets the clock
/// thread run (real time); nothing else may use the engine meanwhile.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dynpcm/card/card.h"
#include "dynpcm/core/result.h"
#include "dynpcm/scenario/scenario.h"

namespace dynpcm::scenario {

struct RunOptions {
    bool realtime = false;    ///< force real time (a scenario may also ask for it)
    /// Dpcm::Options::drift_compensation: off shows what followers on other crystals do without it.
    bool drift_compensation = true;
    std::string out_dir;      ///< BE recordings (<be>-<dir>.wav) and `read` files; empty: none
    std::string trace_file;   ///< Chrome trace-event JSON; empty: none
    /// Each timeline line as it happens (for printing while it runs).
    std::function<void(const std::string&)> on_line;
    /// Called about every 100 ms of wall time with the scenario time reached and its end.
    std::function<void(double now, double end)> on_progress;
};

/// One expectation, or one step that failed.
struct Check {
    int line = 0;       ///< in the scenario file
    double at = 0;      ///< scenario seconds
    bool ok = false;
    std::string text;   ///< what was checked and what was found
};

struct TimelineEntry {
    double at = 0;
    std::string text;
};

/// Whether a real-time run kept real time: its clock thread woke for every deadline, and ran
/// every step, within the scenario's realtime_tolerance. When it did not, what its expectations
/// found says nothing about the engine: the machine did not give it the time it needed.
struct Timekeeping {
    bool realtime = false;        ///< the run was on the real-time clock
    bool kept = true;
    double tolerance = 0;         ///< seconds
    uint64_t wakeups = 0;         ///< the clock thread's wake-ups for a deadline
    uint64_t late_wakeups = 0;    ///< of those, later than the tolerance
    double max_late = 0;          ///< seconds, the latest wake-up
    double max_late_at = 0;       ///< scenario seconds
    std::vector<std::string> late_steps;  ///< "file:line: set at 0.045 s ran at 0.061 s (16.0 ms late)"
    /// One paragraph: how late, how often, which steps. Thread: any. Allocates: yes.
    std::string summary() const;
};

/// Audio discarded during the run (the engine's Lost events, summed): per FE in its frames, and
/// per BE in its frames of the FE's audio. `be` empty: the FE's ring.
struct LostTotal {
    std::string fe, be;
    uint64_t frames = 0;
};

struct RunReport {
    std::vector<TimelineEntry> timeline;
    std::vector<LostTotal> lost;        ///< in the order they first lost audio
    std::vector<Check> checks;          ///< expectations, in order
    std::vector<Check> failed_steps;    ///< steps whose operation failed
    std::vector<std::string> files;     ///< files written (recordings, reads, the trace)
    Timekeeping timekeeping;
    double wall_seconds = 0;
    /// Every expectation held and no step failed. Thread: any. Allocates: no.
    bool ok() const noexcept;
    /// Pass, Fail, or NoRealTime when a real-time run did not keep real time (whatever its
    /// expectations found). Thread: any. Allocates: no.
    enum class Verdict { Pass, Fail, NoRealTime };
    Verdict verdict() const noexcept;
    /// The report as JSON. Thread: control. Allocates: yes.
    std::string to_json() const;
};

/// The WAV file name a BE stream's recording is written under ("Speaker amp I2S/playback" ->
/// "Speaker_amp_I2S_playback.wav"), by `dynpcm run --out` and `dynpcm play --out`.
/// Thread: any. Allocates: yes.
std::string recording_file_name(std::string_view be_stream_label);

/// Checks the scenario against the card (FE, BE, control and pin names, source files) without
/// running it. Errors are "file:line: message" lines, joined. Thread: control. Allocates: yes.
Result<void> check_scenario(const Scenario& scenario, const Card& card);

/// Runs it. Bad input (check_scenario's errors, an output directory that cannot be made) is an
/// Error (-EINVAL); anything that happens while it runs is in the report.
/// Thread: control. Blocking: yes (the whole run). Allocates: yes.
Result<RunReport> run_scenario(const Scenario& scenario, std::unique_ptr<Card> card, const RunOptions& options);

}  // namespace dynpcm::scenario

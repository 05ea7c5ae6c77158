#pragma once
/// Scenario: a timeline of steps run against a card in virtual or real time: FE operations,
/// audio written to and read from FEs, control writes, jacks and devices plugged and
/// unplugged, suspend and resume, injected faults, dumps, and expectations on states,
/// connections, xruns and the audio each BE played. The file format is in
/// docs/SCENARIO_FILE.md; the runner is scenario/runner.h.
///
/// Thread: control. A Scenario is plain data.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dynpcm/pcm/format.h"
#include "dynpcm/pcm/state.h"
#include "dynpcm/sim/clock_model.h"
#include "dynpcm/dpcm/dpcm_state.h"

namespace dynpcm::scenario {

/// What a `write` step feeds an FE.
struct Source {
    enum class Kind : uint8_t { Tone, Noise, Silence, Wav };
    Kind kind = Kind::Tone;
    double frequency = 1000.0;  ///< tone, Hz
    double level_db = -20.0;    ///< tone peak / noise peak, dBFS
    double duration = 1.0;      ///< seconds; a WAV file plays to its end unless given
    bool has_duration = false;
    std::string file;           ///< wav: the file, relative to the scenario file
};

/// hw params a step asks for; unset ones are left to the FE's choice (as set_near would).
struct Params {
    std::optional<Format> format;
    std::optional<uint32_t> rate;
    std::optional<uint32_t> channels;
    std::optional<uint32_t> period;   ///< frames
    std::optional<uint32_t> periods;
};

/// One check. Which fields matter depends on `kind`.
struct Expectation {
    enum class Kind : uint8_t { Fe, Be, Connected, Xruns, Audio, NoClick, Drift, Lost };
    Kind kind = Kind::Fe;
    std::string fe;                     ///< FE link name
    Stream fe_dir = Stream::Playback;
    std::string be;                     ///< BE link name
    Stream be_dir = Stream::Playback;
    std::optional<PcmState> pcm_state;  ///< fe: the PCM state
    std::optional<DpcmState> dpcm_state;///< fe or be: the DPCM state
    std::optional<uint32_t> users;      ///< be
    std::vector<std::string> bes;       ///< connected: exactly these BE links
    std::optional<uint64_t> xruns;      ///< xruns: exactly this many
    std::optional<uint64_t> xruns_at_least;
    // audio: over the last `window` seconds of what the BE played (or captured)
    std::optional<bool> present;
    std::optional<double> level_db;     ///< peak, dBFS
    double level_tolerance = 3.0;
    std::optional<double> frequency;    ///< the dominant tone, Hz
    double frequency_tolerance = 2.0;
    double window = 0.5;
    std::optional<double> thd_n;        ///< audio: THD+N at most this (dB, dsp::thd_n)
    // drift: the FE's link to the BE follows its driver, locked within `lock_within` seconds,
    // its fill within `within_periods` BE periods of its target since, with no xrun since.
    std::optional<double> lock_within;
    // lost: the frames the FE lost (on its link to `be` when one is named), so far
    std::optional<uint64_t> lost, lost_at_least, lost_at_most;
    double within_periods = 1.0;
    // no_click: between `from` and `to` (scenario seconds; default: the whole run so far)
    double threshold = 0.1;             ///< the largest sample step allowed, full scale 1.0
    std::optional<double> from, to;
};

struct Step {
    enum class Action : uint8_t {
        Open, Configure, Prepare, Start, Stop, Pause, Release, Drain, Close,
        Write, Read, Set, Plug, Unplug, Suspend, Resume, Inject, Dump, Expect, Wait, Clock
    };
    Action action = Action::Dump;
    double at = 0;              ///< seconds from the start
    int line = 0;               ///< where the scenario file has it
    std::string fe;             ///< FE link name (FE steps)
    Stream dir = Stream::Playback;
    bool dir_given = false;     ///< "NAME/capture" or "NAME/playback" was written
    Params params;              ///< open (optional) and configure
    Source source;              ///< write
    std::string file;           ///< read: the WAV to write, relative to the output directory
    double duration = 0;        ///< read: seconds (0: until the FE stops)
    bool recover = true;        ///< write/read: recover from xruns, as aplay and arecord do
    std::vector<std::pair<std::string, std::string>> controls;  ///< set; plug/unplug policy
    std::vector<std::string> pins;   ///< plug/unplug: jack pins (DAPM endpoints)
    std::string be;                  ///< plug/unplug a device, inject
    Stream be_dir = Stream::Playback;
    std::string fault;               ///< inject: xrun, gone, trigger
    ClockModel clock;                ///< clock: the BE's crystal from now on
    Expectation expect;
    /// `fails: EINVAL` (or `fails: true`, any error): the step's operation must fail so; its
    /// failure is then an expectation that held, and its success one that did not.
    std::optional<int> fails;        ///< the negative errno wanted, or 0 for any error
    int fails_line = 0;
};

struct Scenario {
    std::string file;           ///< where it was loaded from
    std::string name;
    std::string description;
    std::string card;           ///< the card file, relative to the scenario file; may be empty
    bool realtime = false;
    /// Real time: a clock wake-up or a step later than this (seconds) means the run did not
    /// keep real time (`realtime_tolerance:`).
    double realtime_tolerance = 0.005;
    double end = 0;             ///< seconds: the last step's time, or `duration:` if later
    std::vector<Step> steps;    ///< sorted by time, file order kept for equal times
};

struct ScenarioLoad {
    std::unique_ptr<Scenario> scenario;
    std::vector<std::string> errors;  ///< "file:line: message", in file order
    bool ok() const noexcept { return scenario != nullptr && errors.empty(); }
};

/// Parses a scenario. Every error names the file and line and the bad value.
/// Thread: control. Allocates: yes.
ScenarioLoad load_scenario_file(const std::string& path);
ScenarioLoad load_scenario_string(std::string_view text, std::string_view filename);

/// "open", "write", ... Thread: any. Allocates: no.
const char* action_name(Step::Action a) noexcept;

}  // namespace dynpcm::scenario

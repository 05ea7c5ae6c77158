// The scenario runner (include/dynpcm/scenario/runner.h, docs/SCENARIO_FILE.md).

#include "dynpcm/scenario/runner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <pthread.h>
#include <sched.h>
#include <sndfile.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numbers>
#include <optional>
#include <thread>

#include "dynpcm/backend/alsa_backend.h"
#include "dynpcm/backend/sim_backend.h"
#include "dynpcm/core/suggest.h"
#include "dynpcm/dpcm/dpcm.h"
#include "dynpcm/dsp/analysis.h"
#include "dynpcm/dsp/convert.h"
#include "dynpcm/pcm/recover.h"
#include "dynpcm/sim/sim_clock.h"

namespace dynpcm::scenario {

bool RunReport::ok() const noexcept {
    return failed_steps.empty() && std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
}

RunReport::Verdict RunReport::verdict() const noexcept {
    if (!timekeeping.kept) return Verdict::NoRealTime;
    return ok() ? Verdict::Pass : Verdict::Fail;
}

namespace {
// Milliseconds, with the precision a small value needs.
std::string ms(double seconds) {
    return seconds < 1e-3 ? fmt::format("{:.3f} ms", seconds * 1e3) : fmt::format("{:.1f} ms", seconds * 1e3);
}
}  // namespace

std::string Timekeeping::summary() const {
    if (!realtime) return "virtual time";
    std::string s = fmt::format("the clock thread woke up to {} late ({} of {} wake-ups more than {} late{})", ms(max_late),
                                late_wakeups, wakeups, ms(tolerance),
                                late_wakeups ? fmt::format(", the worst at {:.3f} s", max_late_at) : "");
    if (late_steps.empty()) return s + "; every step ran on time";
    s += fmt::format("; {} step(s) ran late:", late_steps.size());
    for (const auto& l : late_steps) s += "\n    " + l;
    return s;
}

std::string RunReport::to_json() const {
    nlohmann::json j;
    j["ok"] = ok();
    j["verdict"] = verdict() == Verdict::Pass ? "pass" : verdict() == Verdict::Fail ? "fail" : "did not keep real time";
    if (timekeeping.realtime)
        j["realtime"] = {{"kept", timekeeping.kept},
                         {"tolerance_s", timekeeping.tolerance},
                         {"wakeups", timekeeping.wakeups},
                         {"late_wakeups", timekeeping.late_wakeups},
                         {"max_late_s", timekeeping.max_late},
                         {"max_late_at", timekeeping.max_late_at},
                         {"late_steps", timekeeping.late_steps}};
    j["wall_seconds"] = wall_seconds;
    auto checks_json = [](const std::vector<Check>& v) {
        nlohmann::json a = nlohmann::json::array();
        for (const auto& c : v) a.push_back({{"line", c.line}, {"at", c.at}, {"ok", c.ok}, {"text", c.text}});
        return a;
    };
    j["expectations"] = checks_json(checks);
    j["failed_steps"] = checks_json(failed_steps);
    j["timeline"] = nlohmann::json::array();
    for (const auto& t : timeline) j["timeline"].push_back({{"at", t.at}, {"text", t.text}});
    j["files"] = files;
    j["lost"] = nlohmann::json::array();
    for (const auto& l : lost) j["lost"].push_back({{"fe", l.fe}, {"be", l.be}, {"frames", l.frames}});
    return j.dump(2);
}

namespace {

using Clock = std::chrono::steady_clock;
using A = Step::Action;

std::string label(const std::string& name, Stream dir) { return fmt::format("{}/{}", name, stream_name(dir)); }

// ---- checking a scenario against its card -----------------------------------------------------

struct Checker {
    const Scenario& sc;
    const Card& card;
    std::vector<std::string> errors;

    template <typename... Args>
    void err(const Step& s, fmt::format_string<Args...> f, Args&&... args) {
        errors.push_back(fmt::format("{}:{}: {}", sc.file, s.line, fmt::format(f, std::forward<Args>(args)...)));
    }

    std::vector<std::string> fe_names() const {
        std::vector<std::string> v;
        for (const auto& f : card.fe_links()) v.push_back(f.name);
        return v;
    }
    std::vector<std::string> be_names() const {
        std::vector<std::string> v;
        for (const auto& b : card.be_links()) v.push_back(b.name);
        return v;
    }

    // Resolves the FE's direction when the step did not say it, and checks the FE has it.
    void fe(const Step& s, std::string_view name, Stream& dir, bool given) {
        const auto i = card.find_fe(name);
        if (!i) {
            err(s, "card '{}' has no FE link '{}'{}", card.name(), name, did_you_mean(name, fe_names()));
            return;
        }
        const FeLink& l = card.fe_links()[*i];
        if (!given && !l.stream(dir)) dir = l.playback ? Stream::Playback : Stream::Capture;
        if (!l.stream(dir)) err(s, "FE link '{}' has no {} stream", name, stream_name(dir));
    }
    void be(const Step& s, std::string_view name, Stream& dir) {
        const auto i = card.find_be(name);
        if (!i) {
            err(s, "card '{}' has no BE link '{}'{}", card.name(), name, did_you_mean(name, be_names()));
            return;
        }
        const BeLink& l = card.be_links()[*i];
        if (!l.stream(dir)) {
            if (l.stream(dir == Stream::Playback ? Stream::Capture : Stream::Playback))
                dir = dir == Stream::Playback ? Stream::Capture : Stream::Playback;
            else
                err(s, "BE link '{}' has no {} stream", name, stream_name(dir));
        }
    }
    void control(const Step& s, const std::string& name) {
        if (card.find_control(name)) return;
        std::vector<std::string> names;
        for (const auto& c : card.controls()) names.push_back(c.id.name);
        err(s, "card '{}' has no control '{}'{}", card.name(), name, did_you_mean(name, names));
    }

    void run(std::vector<Step>& steps) {
        for (Step& s : steps) {
            switch (s.action) {
                case A::Open: case A::Configure: case A::Prepare: case A::Start: case A::Stop: case A::Pause:
                case A::Release: case A::Drain: case A::Close: case A::Write: case A::Read:
                    fe(s, s.fe, s.dir, s.dir_given);
                    break;
                default: break;
            }
            if (s.action == A::Write && s.dir == Stream::Capture) err(s, "write: FE '{}' is a capture stream; use read", s.fe);
            if (s.action == A::Read && s.dir == Stream::Playback) err(s, "read: FE '{}' is a playback stream; use write", s.fe);
            if (s.action == A::Write && s.source.kind == Source::Kind::Wav) {
                SF_INFO info{};
                if (SNDFILE* f = sf_open(s.source.file.c_str(), SFM_READ, &info)) sf_close(f);
                else err(s, "write: cannot read WAV file '{}': {}", s.source.file, sf_strerror(nullptr));
            }
            for (const auto& [name, value] : s.controls) control(s, name);
            for (const auto& pin : s.pins) control(s, pin + " Switch");
            if (!s.be.empty()) be(s, s.be, s.be_dir);
            if (s.action == A::Clock)
                if (const auto i = card.find_be(s.be); i && !card.be_links()[*i].clock)
                    err(s, "clock: BE '{}' runs on the engine's clock; give its link a `clock:` in the card to change it",
                        s.be);
            if (s.action == A::Expect) {
                Expectation& e = s.expect;
                if (!e.fe.empty()) fe(s, e.fe, e.fe_dir, false);
                if (!e.be.empty()) be(s, e.be, e.be_dir);
                for (const auto& b : e.bes)
                    if (!card.find_be(b)) err(s, "card '{}' has no BE link '{}'{}", card.name(), b, did_you_mean(b, be_names()));
            }
        }
    }
};

// ---- what the runner keeps per FE and BE ---------------------------------------------------------

struct Writer {
    Source src;
    bool recover = true;
    uint64_t total = 0;  // FE frames to write; 0 = until the WAV file ends
    uint64_t done = 0;
    double phase = 0;
    uint32_t noise = 0x2545F491u;
    SNDFILE* wav = nullptr;
    unsigned wav_channels = 0;
    bool finished = false;
    ~Writer() {
        if (wav) sf_close(wav);
    }
};

struct Reader {
    std::string path;
    SNDFILE* out = nullptr;
    uint64_t total = 0;  // 0 = until the FE stops
    uint64_t done = 0;
    bool recover = true;
    ~Reader() {
        if (out) sf_close(out);
    }
};

struct FeRun {
    PcmRuntime* pcm = nullptr;
    std::unique_ptr<Writer> writer;
    std::unique_ptr<Reader> reader;
    uint64_t xruns = 0;  // kept after close
};

struct BeRec {
    uint32_t rate = 0;
    unsigned channels = 0;
    Format format = Format::S16_LE;
    std::vector<float> samples;                   // interleaved, everything it played
    std::vector<std::pair<double, size_t>> marks;  // (scenario time, frames recorded by then)
    SNDFILE* wav = nullptr;
    std::string path;
    ~BeRec() {
        if (wav) sf_close(wav);
    }
    size_t frames() const { return channels ? samples.size() / channels : 0; }
    /// When frame `f` had been recorded (the first drain that had it).
    double time_of(size_t f) const {
        for (const auto& [when, n] : marks)
            if (n > f) return when;
        return marks.empty() ? 0 : marks.back().first;
    }
    size_t frame_at(double t) const {
        size_t f = 0;
        for (const auto& [when, n] : marks) {
            if (when > t) break;
            f = n;
        }
        return f;
    }
};

/// A Chrome trace-event file: one track (thread) per FE and BE, their states as spans.
class Trace {
public:
    int track(const std::string& name) {
        auto it = tracks_.find(name);
        if (it != tracks_.end()) return it->second.tid;
        const int tid = static_cast<int>(tracks_.size()) + 1;
        tracks_[name] = Span{tid, {}, 0};
        events_.push_back({{"ph", "M"}, {"pid", 1}, {"tid", tid}, {"name", "thread_name"}, {"args", {{"name", name}}}});
        events_.push_back({{"ph", "M"}, {"pid", 1}, {"tid", tid}, {"name", "thread_sort_index"}, {"args", {{"sort_index", tid}}}});
        return tid;
    }
    /// The track's state is now `state` (a new span begins).
    void state(const std::string& name, const std::string& state, double at) {
        track(name);
        Span& s = tracks_[name];
        if (s.state == state) return;
        close(s, at);
        s.state = state;
        s.since = at;
    }
    void instant(const std::string& name, const std::string& what, double at) {
        const int tid = track(name);
        events_.push_back({{"ph", "i"}, {"pid", 1}, {"tid", tid}, {"name", what}, {"ts", us(at)}, {"s", "t"}});
    }
    void finish(double at) {
        for (auto& [name, s] : tracks_) close(s, at);
    }
    bool write(const std::string& path) const {
        std::ofstream out(path);
        out << nlohmann::json{{"traceEvents", events_}, {"displayTimeUnit", "ms"}}.dump();
        return static_cast<bool>(out);
    }

private:
    struct Span {
        int tid;
        std::string state;
        double since;
    };
    static double us(double s) { return std::round(s * 1e6 * 1000) / 1000; }
    void close(Span& s, double at) {
        if (s.state.empty() || at <= s.since) return;
        events_.push_back({{"ph", "X"}, {"pid", 1}, {"tid", s.tid}, {"name", s.state}, {"ts", us(s.since)}, {"dur", us(at) - us(s.since)}});
    }
    std::map<std::string, Span> tracks_;
    nlohmann::json events_ = nlohmann::json::array();
};

// ---- the runner ------------------------------------------------------------------------------------

constexpr int kClockPriority = 70;

/// The calling thread at SCHED_FIFO `priority` for its lifetime (when permitted), then back.
class RunnerPriority {
public:
    explicit RunnerPriority(int priority) {
        pthread_getschedparam(pthread_self(), &policy_, &param_);
        sched_param sp{};
        sp.sched_priority = priority;
        raised_ = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
    }
    ~RunnerPriority() {
        if (raised_) pthread_setschedparam(pthread_self(), policy_, &param_);
    }
    RunnerPriority(const RunnerPriority&) = delete;
    RunnerPriority& operator=(const RunnerPriority&) = delete;

private:
    int policy_ = SCHED_OTHER;
    sched_param param_{};
    bool raised_ = false;
};

class Runner {
public:
    Runner(const Scenario& sc, std::vector<Step> steps, const RunOptions& opt) : sc_(sc), steps_(std::move(steps)), opt_(opt) {}

    Result<RunReport> run(std::unique_ptr<Card> card) {
        realtime_ = opt_.realtime || sc_.realtime;
        if (!opt_.out_dir.empty()) {
            std::error_code ec;
            std::filesystem::create_directories(opt_.out_dir, ec);
            if (ec) return Error(-EINVAL, fmt::format("cannot make the output directory '{}': {}", opt_.out_dir, ec.message()));
        }
        const auto tolerance = std::chrono::microseconds(static_cast<int64_t>(sc_.realtime_tolerance * 1e6));
        clock_ = std::make_unique<SimClock>(
            SimClock::Options{.mode = realtime_ ? SimClock::Mode::Realtime : SimClock::Mode::Virtual,
                              .try_sched_fifo = true,
                              .fifo_priority = kClockPriority,
                              .late_after = tolerance});
        Dpcm::Options o;
        o.clock = clock_.get();
        o.tap_seconds = 2.0;  // drained every few ms
        o.drift_compensation = opt_.drift_compensation;
        auto d = Dpcm::create(std::move(card), o);
        if (!d) return std::move(d).error();
        dpcm_ = std::move(*d);
        std::optional<RunnerPriority> priority;
        if (realtime_) {
            if (auto r = clock_->start(); !r) return r.error();
            if (!clock_->sched_fifo()) line(0, fmt::format("note: {}", clock_->fifo_warning()));
            // The runner is the test rig that plays the applications and the user: its steps
            // must happen on time, or the run does not keep real time for the rig's sake. It
            // runs just below the clock thread (when the clock got SCHED_FIFO), and sleeps
            // between steps; the engine's own threads are unchanged.
            if (clock_->sched_fifo()) priority.emplace(kClockPriority - 10);
        }
        const auto wall0 = Clock::now();
        // Scenario time 0 is now, once the engine is made and its clock runs.
        t0_ns_ = realtime_ ? clock_->now_ns() : 0;
        line(0, fmt::format("scenario '{}' on card '{}', {} time, {:.3f} s", sc_.name, dpcm_->card().name(),
                            realtime_ ? "real" : "virtual", sc_.end));
        size_t next = 0;
        auto last_progress = wall0;
        const double dt = 0.002;
        double now = 0;
        for (;;) {
            now = time_now();
            double previous_end = 0;  // steps due together run one after another
            while (next < steps_.size() && steps_[next].at <= now + 1e-9) {
                const Step& s = steps_[next++];
                // Late is later than the step could have started: at its time, or when the step
                // before it (due as well) ended. A step's own duration is not lateness.
                if (realtime_) note_lateness(s, std::max(s.at, previous_end), time_now());
                step_failure_ = false;
                execute(s, now);
                if (s.fails && !step_failure_)
                    record_check(s.fails_line, now, false,
                                 fmt::format("{} fails{}: it succeeded", action_name(s.action),
                                             *s.fails == 0 ? "" : fmt::format(" with {}", errno_name(*s.fails))));
                previous_end = time_now();
            }
            service_io();
            collect(now);
            if (next == steps_.size() && now >= sc_.end - 1e-9) break;
            if (realtime_) {
                // Until the next step is due, and at least every 2 ms for the writers and readers.
                double until = time_now() + dt;
                if (next < steps_.size()) until = std::min(until, steps_[next].at);
                const auto ns = static_cast<int64_t>(until * 1e9) + t0_ns_ - clock_->now_ns();
                if (ns > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
            } else {
                (void)clock_->advance(std::chrono::nanoseconds(static_cast<int64_t>(dt * 1e9)));
                virtual_now_ += dt;
            }
            if (opt_.on_progress && Clock::now() - last_progress > std::chrono::milliseconds(100)) {
                opt_.on_progress(now, sc_.end);
                last_progress = Clock::now();
            }
        }
        note_timekeeping();
        teardown(now);
        report_.wall_seconds = std::chrono::duration<double>(Clock::now() - wall0).count();
        return std::move(report_);
    }

private:
    // ---- time and output
    double time_now() const {
        return realtime_ ? static_cast<double>(clock_->now_ns() - t0_ns_) / 1e9 : virtual_now_;
    }
    double scenario_time(int64_t clock_ns) const { return static_cast<double>(clock_ns - t0_ns_) / 1e9; }

    // ---- keeping real time
    void note_lateness(const Step& s, double ready, double started) {
        const double late = started - ready;
        if (late <= sc_.realtime_tolerance) return;
        report_.timekeeping.late_steps.push_back(fmt::format("{}:{}: {} at {:.3f} s ran at {:.3f} s ({} late)", sc_.file,
                                                             s.line, action_name(s.action), s.at, started, ms(late)));
    }
    void note_timekeeping() {
        Timekeeping& t = report_.timekeeping;
        t.realtime = realtime_;
        t.tolerance = sc_.realtime_tolerance;
        if (!realtime_) return;
        const SimClock::Timing c = clock_->timing();
        t.wakeups = c.wakeups;
        t.late_wakeups = c.late;
        t.max_late = static_cast<double>(c.max_late_ns) / 1e9;
        t.max_late_at = c.max_late_ns > 0 ? scenario_time(c.max_late_at_ns) : 0;
        t.kept = c.late == 0 && t.late_steps.empty();
        if (!t.kept) line(time_now(), "did not keep real time: " + t.summary());
    }
    void line(double at, std::string text) {
        if (opt_.on_line) opt_.on_line(fmt::format("{:8.3f}  {}", at, text));
        report_.timeline.push_back({at, std::move(text)});
    }
    // A step's operation failed with `code` (a negative errno, or 0 when the runner itself
    // refused it). A step that was expected to fail records an expectation instead.
    void step_failed(const Step& s, double at, const std::string& what, int code = 0) {
        step_failure_ = true;
        if (s.fails) {
            const bool held = *s.fails == 0 || *s.fails == code;
            const std::string text = fmt::format("{} fails{}: {} ({})", action_name(s.action),
                                                 *s.fails == 0 ? "" : fmt::format(" with {}", errno_name(*s.fails)),
                                                 held ? "it did" : "it failed otherwise", what);
            record_check(s.fails_line, at, held, code == 0 ? text : fmt::format("{} [{}]", text, errno_name(code)));
            return;
        }
        const std::string text = fmt::format("{} failed: {}", action_name(s.action), what);
        line(at, fmt::format("✗ {}", text));
        report_.failed_steps.push_back({s.line, at, false, fmt::format("{}:{}: {}", sc_.file, s.line, text)});
        trace_.instant("scenario", "✗ " + text, at);
    }

    FeRun& fe(const Step& s) { return fes_[label(s.fe, s.dir)]; }

    // ---- steps
    void execute(const Step& s, double now) {
        const std::string fe_label = label(s.fe, s.dir);
        auto fail = [&](const Error& e) { step_failed(s, now, e.message(), e.code()); };
        auto need_open = [&]() -> PcmRuntime* {
            PcmRuntime* p = fe(s).pcm;
            if (!p) step_failed(s, now, fmt::format("FE '{}' is not open", fe_label));
            return p;
        };
        trace_.instant("scenario", fmt::format("{} {}", action_name(s.action), s.fe.empty() ? s.be : s.fe), now);
        switch (s.action) {
            case A::Open: {
                auto p = dpcm_->open(s.fe, s.dir, {.nonblock = true});
                if (!p) return fail(p.error());
                fe(s).pcm = *p;
                line(now, fmt::format("open {}", fe_label));
                if (s.params.rate || s.params.channels || s.params.format || s.params.period || s.params.periods)
                    configure(s, now);
                return;
            }
            case A::Configure:
                if (need_open()) configure(s, now);
                return;
            case A::Prepare:
            case A::Start:
            case A::Stop:
            case A::Pause:
            case A::Release:
            case A::Drain: {
                PcmRuntime* p = need_open();
                if (!p) return;
                Result<void> r = ok();
                switch (s.action) {
                    case A::Prepare: r = p->prepare(); break;
                    case A::Start: r = p->start(); break;
                    case A::Stop: r = p->drop(); break;
                    case A::Pause: r = p->pause(true); break;
                    case A::Release: r = p->pause(false); break;
                    default:
                        // Non-blocking, as time only moves while the runner runs: -EAGAIN means
                        // the drain has begun (alsa-lib's answer in non-blocking mode).
                        r = p->drain();
                        if (!r && r.code() == -EAGAIN) r = ok();
                        fe(s).writer.reset();
                        break;
                }
                if (s.action == A::Stop) fe(s).writer.reset();
                if (!r) return fail(r.error());
                line(now, fmt::format("{} {}", action_name(s.action), fe_label));
                return;
            }
            case A::Close: {
                FeRun& f = fe(s);
                if (!need_open()) return;
                f.xruns = f.pcm->status().xruns;
                f.writer.reset();
                f.reader.reset();
                f.pcm = nullptr;
                if (auto r = dpcm_->close(s.fe, s.dir); !r) return fail(r.error());
                line(now, fmt::format("close {}", fe_label));
                return;
            }
            case A::Write: {
                if (!need_open()) return;
                auto w = std::make_unique<Writer>();
                w->src = s.source;
                w->recover = s.recover;
                const uint32_t rate = fe(s).pcm->params().rate();
                if (rate == 0) return step_failed(s, now, fmt::format("FE '{}' is not configured (give params)", fe_label));
                if (s.source.kind == Source::Kind::Wav) {
                    SF_INFO info{};
                    w->wav = sf_open(s.source.file.c_str(), SFM_READ, &info);
                    if (!w->wav) return step_failed(s, now, fmt::format("cannot read '{}': {}", s.source.file, sf_strerror(nullptr)));
                    if (static_cast<uint32_t>(info.samplerate) != rate)
                        return step_failed(s, now, fmt::format("'{}' is at {} Hz but FE '{}' runs at {} Hz", s.source.file,
                                                               info.samplerate, fe_label, rate));
                    w->wav_channels = static_cast<unsigned>(info.channels);
                }
                w->total = s.source.kind == Source::Kind::Wav && !s.source.has_duration
                               ? 0
                               : static_cast<uint64_t>(std::llround(s.source.duration * rate));
                line(now, fmt::format("write {}: {}", fe_label, describe(s.source)));
                fe(s).writer = std::move(w);
                return;
            }
            case A::Read: {
                PcmRuntime* p = need_open();
                if (!p) return;
                auto r = std::make_unique<Reader>();
                r->path = opt_.out_dir.empty() ? s.file : (std::filesystem::path(opt_.out_dir) / s.file).string();
                SF_INFO info{};
                info.samplerate = static_cast<int>(p->params().rate());
                info.channels = static_cast<int>(p->params().channels());
                info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
                if (info.samplerate == 0) return step_failed(s, now, fmt::format("FE '{}' is not configured (give params)", fe_label));
                r->out = sf_open(r->path.c_str(), SFM_WRITE, &info);
                if (!r->out) return step_failed(s, now, fmt::format("cannot write '{}': {}", r->path, sf_strerror(nullptr)));
                r->total = static_cast<uint64_t>(std::llround(s.duration * p->params().rate()));
                r->recover = s.recover;
                report_.files.push_back(r->path);
                line(now, fmt::format("read {} into {}", fe_label, r->path));
                fe(s).reader = std::move(r);
                return;
            }
            case A::Set:
                for (const auto& [name, value] : s.controls) put(s, now, name, value);
                return;
            case A::Plug:
            case A::Unplug: {
                const bool in = s.action == A::Plug;
                if (!s.pins.empty()) {
                    line(now, fmt::format("jack {}: {}", in ? "plugged" : "unplugged", fmt::join(s.pins, ", ")));
                    for (const auto& pin : s.pins) put(s, now, pin + " Switch", in ? "on" : "off");
                }
                if (!s.be.empty()) device(s, now, in ? "plug" : "gone");
                for (const auto& [name, value] : s.controls) put(s, now, name, value);
                return;
            }
            case A::Suspend:
            case A::Resume: {
                line(now, s.action == A::Suspend ? "suspend the card" : "resume the card");
                suspended_ = s.action == A::Suspend;
                for (auto& [name, f] : fes_) {
                    if (!f.pcm) continue;
                    const PcmState st = f.pcm->state();
                    if (s.action == A::Suspend) {
                        if (st == PcmState::Running || st == PcmState::Paused || st == PcmState::Draining ||
                            st == PcmState::Prepared)
                            if (auto r = f.pcm->suspend(); !r) fail(r.error());
                    } else if (st == PcmState::Suspended) {
                        // As alsa-lib applications do: resume, or prepare when the PCM cannot.
                        auto r = f.pcm->resume();
                        if (!r) r = f.pcm->prepare();
                        if (!r) fail(r.error());
                    }
                }
                return;
            }
            case A::Inject:
                device(s, now, s.fault);
                return;
            case A::Clock:
                if (auto r = dpcm_->set_clock(s.be, s.be_dir, s.clock); !r) step_failed(s, now, r.error().message(), r.code());
                else line(now, fmt::format("BE {}: crystal {:+} ppm, wander {} ppm/min, jitter {} µs", s.be, s.clock.ppm,
                                           s.clock.wander, s.clock.jitter_us));
                return;
            case A::Dump:
                line(now, "dump:\n" + dpcm_->dump().to_text());
                return;
            case A::Wait:
                return;
            case A::Expect:
                expect(s, now);
                return;
        }
    }

    void configure(const Step& s, double now) {
        PcmRuntime* p = fe(s).pcm;
        HwParams hp = p->hw_params_any();
        Result<void> r = hp.set_access(Access::RwInterleaved);
        if (r && s.params.format) r = hp.set_format(*s.params.format);
        if (r && s.params.channels) r = hp.set(HwParam::Channels, *s.params.channels);
        if (r && s.params.rate) r = hp.set(HwParam::Rate, *s.params.rate);
        auto near = [&](HwParam what, uint32_t v) {
            if (auto n = hp.set_near(what, v); !n) r = std::move(n).error();
        };
        if (r && s.params.period) near(HwParam::PeriodSize, *s.params.period);
        if (r && s.params.periods) near(HwParam::Periods, *s.params.periods);
        if (r) r = p->hw_params(hp);
        if (!r) return step_failed(s, now, r.error().message(), r.code());
        line(now, fmt::format("configure {}: {}", label(s.fe, s.dir), p->params().summary()));
    }

    void put(const Step& s, double now, const std::string& name, const std::string& value) {
        auto r = dpcm_->put(name, value);
        if (!r) return step_failed(s, now, r.error().message(), r.code());
        line(now, fmt::format("set {} = {}{}", name, value, *r ? "" : " (unchanged)"));
        trace_.instant("scenario", fmt::format("{} = {}", name, value), now);
    }

    void device(const Step& s, double now, const std::string& what) {
        Backend* b = dpcm_->backend(s.be, s.be_dir);
        auto* sim = dynamic_cast<SimBackend*>(b);
        auto* alsa = dynamic_cast<AlsaBackend*>(b);
        const std::string be = label(s.be, s.be_dir);
        if (what == "plug") {
            if (sim) sim->reconnect();
            else if (!alsa) return step_failed(s, now, fmt::format("BE '{}' ({}) cannot be plugged in", be, b->type()));
            line(now, fmt::format("device {} plugged in (it rejoins at its FEs' next prepare)", be));
        } else if (what == "gone") {
            if (sim) sim->unplug();
            else if (alsa) alsa->inject_error(-ENODEV);
            else return step_failed(s, now, fmt::format("BE '{}' ({}) cannot be unplugged", be, b->type()));
            line(now, fmt::format("device {} unplugged", be));
        } else if (what == "xrun") {
            if (sim) sim->inject_xrun();
            else if (alsa) alsa->inject_error(-EPIPE);
            else return step_failed(s, now, fmt::format("BE '{}' ({}) cannot be made to xrun", be, b->type()));
            line(now, fmt::format("inject a device xrun on {}", be));
        } else {  // trigger
            if (!sim) return step_failed(s, now, fmt::format("BE '{}' ({}): trigger faults need a sim backend", be, b->type()));
            sim->fail_next_trigger(-EIO);
            line(now, fmt::format("inject: the next trigger of {} fails with EIO", be));
        }
    }

    static std::string describe(const Source& src) {
        const std::string dur = src.has_duration || src.kind != Source::Kind::Wav ? fmt::format(" for {} s", src.duration) : "";
        switch (src.kind) {
            case Source::Kind::Tone: return fmt::format("tone {} Hz at {} dBFS{}", src.frequency, src.level_db, dur);
            case Source::Kind::Noise: return fmt::format("noise at {} dBFS{}", src.level_db, dur);
            case Source::Kind::Silence: return fmt::format("silence{}", dur);
            case Source::Kind::Wav: return fmt::format("{}{}", src.file, dur);
        }
        return "";
    }

    // ---- the application side: writers and readers
    void service_io() {
        for (auto& [name, f] : fes_) {
            if (!f.pcm) continue;
            if (f.writer && !f.writer->finished) write(f);
            if (f.reader) read(f);
        }
    }

    // A stopped stream is recovered as aplay/arecord do (snd_pcm_recover), if the step allows.
    // While the card is suspended, resuming fails for them (-EAGAIN), so they wait.
    bool usable(FeRun& f, bool recover) {
        const PcmState st = f.pcm->state();
        if (st == PcmState::Suspended && suspended_) return false;
        if ((st == PcmState::Xrun || st == PcmState::Suspended) && recover)
            return static_cast<bool>(dynpcm::recover(*f.pcm, st == PcmState::Xrun ? -EPIPE : -ESTRPIPE));
        return st == PcmState::Prepared || st == PcmState::Running;
    }

    void write(FeRun& f) {
        Writer& w = *f.writer;
        if (!usable(f, w.recover)) return;
        const unsigned ch = f.pcm->params().channels();
        const uint32_t rate = f.pcm->params().rate();
        Frames n = f.pcm->avail_update();
        if (w.total) n = std::min<Frames>(n, w.total - w.done);
        if (n == 0) {
            if (w.total && w.done >= w.total) w.finished = true;
            return;
        }
        buf_.assign(static_cast<size_t>(n) * ch, 0.0f);
        const double amp = std::pow(10.0, w.src.level_db / 20.0);
        switch (w.src.kind) {
            case Source::Kind::Tone:
                for (Frames i = 0; i < n; ++i) {
                    const auto v = static_cast<float>(amp * std::sin(2 * std::numbers::pi * w.phase));
                    w.phase += w.src.frequency / rate;
                    w.phase -= std::floor(w.phase);
                    for (unsigned c = 0; c < ch; ++c) buf_[i * ch + c] = v;
                }
                break;
            case Source::Kind::Noise:
                for (Frames i = 0; i < n; ++i) {
                    w.noise ^= w.noise << 13;
                    w.noise ^= w.noise >> 17;
                    w.noise ^= w.noise << 5;
                    const auto v = static_cast<float>(amp * (static_cast<double>(w.noise) / 2147483648.0 - 1.0));
                    for (unsigned c = 0; c < ch; ++c) buf_[i * ch + c] = v;
                }
                break;
            case Source::Kind::Silence: break;
            case Source::Kind::Wav: {
                std::vector<float> in(static_cast<size_t>(n) * w.wav_channels);
                const sf_count_t got = sf_readf_float(w.wav, in.data(), static_cast<sf_count_t>(n));
                if (got <= 0) {
                    w.finished = true;
                    return;
                }
                n = static_cast<Frames>(got);
                for (Frames i = 0; i < n; ++i)
                    for (unsigned c = 0; c < ch; ++c) buf_[i * ch + c] = in[i * w.wav_channels + std::min(c, w.wav_channels - 1)];
                break;
            }
        }
        raw_.resize(static_cast<size_t>(n) * frame_bytes(f.pcm->params().format(), ch));
        dsp::from_float(f.pcm->params().format(), buf_.data(), raw_.data(), static_cast<size_t>(n) * ch);
        auto r = f.pcm->writei(raw_.data(), n);
        if (r) w.done += *r;
        if (w.total && w.done >= w.total) w.finished = true;
    }

    void read(FeRun& f) {
        Reader& r = *f.reader;
        if (!usable(f, r.recover)) return;
        const unsigned ch = f.pcm->params().channels();
        Frames n = f.pcm->avail_update();
        if (r.total) n = std::min<Frames>(n, r.total - r.done);
        if (n == 0) return;
        raw_.resize(static_cast<size_t>(n) * frame_bytes(f.pcm->params().format(), ch));
        auto got = f.pcm->readi(raw_.data(), n);
        if (!got || *got == 0) return;
        buf_.resize(static_cast<size_t>(*got) * ch);
        dsp::to_float(f.pcm->params().format(), raw_.data(), buf_.data(), buf_.size());
        sf_writef_float(r.out, buf_.data(), static_cast<sf_count_t>(*got));
        r.done += *got;
        if (r.total && r.done >= r.total) f.reader.reset();
    }

    // ---- watching the engine
    void collect(double now) {
        for (const auto& e : dpcm_->take_events()) {
            std::string text;
            switch (e.kind) {
                case DpcmEvent::Kind::Connect: text = fmt::format("route {} -> {} ({})", e.fe, e.be, e.message); break;
                case DpcmEvent::Kind::Disconnect: text = fmt::format("route {} -x {} ({})", e.fe, e.be, e.message); break;
                case DpcmEvent::Kind::BeXrun: text = fmt::format("xrun at BE {}: {}", e.be, e.message); break;
                case DpcmEvent::Kind::BeFailed: text = fmt::format("BE {} FAILED: {}", e.be, e.message); break;
                default: text = fmt::format("{}{}{}", e.fe, e.be.empty() ? "" : " / " + e.be, ": " + e.message); break;
            }
            if (e.kind == DpcmEvent::Kind::Lost) {
                auto it = std::find_if(report_.lost.begin(), report_.lost.end(),
                                       [&](const LostTotal& l) { return l.fe == e.fe && l.be == e.be; });
                if (it == report_.lost.end()) it = report_.lost.insert(report_.lost.end(), LostTotal{e.fe, e.be, 0});
                it->frames += e.frames;
            }
            line(now, text);
            trace_.instant(e.be.empty() ? "FE " + e.fe : "BE " + e.be, text, now);
        }
        for (auto& [name, f] : fes_) {
            if (!f.pcm) continue;
            f.xruns = f.pcm->status().xruns;
            while (auto ev = f.pcm->pop_event()) {
                const double at = realtime_ ? scenario_time(ev->time_ns) : now;
                if (ev->kind == PcmEvent::Kind::State) {
                    line(at, fmt::format("FE {}: {} -> {}", name, pcm_state_name(ev->from), pcm_state_name(ev->to)));
                    if (ev->to == PcmState::Xrun) trace_.instant("FE " + name, "XRUN", at);
                } else if (ev->kind == PcmEvent::Kind::TriggerFailed) {
                    line(at, fmt::format("FE {}: trigger failed ({})", name, ev->detail));
                }
            }
            trace_.state("FE " + name, pcm_state_name(f.pcm->state()), now);
        }
        const DpcmDump d = dpcm_->dump();
        std::map<std::string, std::string> seen;
        auto note_be = [&](const BeDump& b) {
            const std::string name = label(b.name, b.stream);
            if (seen.count(name)) return;
            const std::string st = fmt::format("{} (users {})", dpcm_state_name(b.state), b.users);
            seen[name] = st;
            auto& last = be_states_[name];
            if (last != st && !(last.empty() && b.state == DpcmState::New)) line(now, fmt::format("BE {}: {}", name, st));
            last = st;
            trace_.state("BE " + name, dpcm_state_name(b.state), now);
        };
        for (const auto& f : d.frontends) {
            trace_.state("FE " + label(f.name, f.stream), pcm_state_name(f.pcm_state), now);
            for (const auto& b : f.backends) note_be(b);
        }
        for (const auto& b : d.idle_backends) note_be(b);
        // Taps: what every BE played.
        for (const auto& be : dpcm_->card().be_links())
            for (Stream dir : {Stream::Playback, Stream::Capture}) {
                if (!be.stream(dir)) continue;
                tap_.clear();
                std::optional<HwParams> p;
                const size_t n = dpcm_->take_tap(be.name, dir, tap_, &p);
                if (n == 0 || !p) continue;
                record(label(be.name, dir), *p, n, now);
            }
    }

    void record(const std::string& name, const HwParams& p, size_t frames, double now) {
        BeRec& r = recs_[name];
        if (r.channels && (r.channels != p.channels() || r.rate != p.rate())) {
            // Re-configured: the recording so far stays; a new one starts under another name.
            recs_[fmt::format("{}#{}", name, ++generations_)] = std::move(r);
            r = BeRec{};
        }
        r.channels = p.channels();
        r.rate = p.rate();
        r.format = p.format();
        const size_t at = r.samples.size();
        r.samples.resize(at + frames * r.channels);
        dsp::to_float(r.format, tap_.data(), r.samples.data() + at, frames * r.channels);
        r.marks.emplace_back(now, r.frames());
    }

    // ---- expectations
    void expect(const Step& s, double now) {
        const Expectation& e = s.expect;
        collect(now);
        Check c;
        c.line = s.line;
        c.at = now;
        const DpcmDump d = dpcm_->dump();
        auto fe_dump = [&]() -> const FeDump* {
            for (const auto& f : d.frontends)
                if (f.name == e.fe && f.stream == e.fe_dir) return &f;
            return nullptr;
        };
        auto be_dump = [&]() -> const BeDump* {
            for (const auto& f : d.frontends)
                for (const auto& b : f.backends)
                    if (b.name == e.be && b.stream == e.be_dir) return &b;
            for (const auto& b : d.idle_backends)
                if (b.name == e.be && b.stream == e.be_dir) return &b;
            return nullptr;
        };
        using K = Expectation::Kind;
        const std::string fe = label(e.fe, e.fe_dir), be = label(e.be, e.be_dir);
        switch (e.kind) {
            case K::Fe: {
                const FeDump* f = fe_dump();
                std::vector<std::string> want, got;
                c.ok = f != nullptr;
                if (e.pcm_state) {
                    want.push_back(pcm_state_name(*e.pcm_state));
                    got.push_back(f ? pcm_state_name(f->pcm_state) : "not open");
                    c.ok = c.ok && f->pcm_state == *e.pcm_state;
                }
                if (e.dpcm_state) {
                    want.push_back(dpcm_state_name(*e.dpcm_state));
                    got.push_back(f ? dpcm_state_name(f->state) : "not open");
                    c.ok = c.ok && f->state == *e.dpcm_state;
                }
                c.text = fmt::format("FE {} is {} (it is {})", fe, fmt::join(want, " / "), fmt::join(got, " / "));
                break;
            }
            case K::Be: {
                const BeDump* b = be_dump();
                std::vector<std::string> want, got;
                c.ok = b != nullptr;
                if (e.dpcm_state) {
                    want.push_back(dpcm_state_name(*e.dpcm_state));
                    got.push_back(b ? dpcm_state_name(b->state) : "?");
                    c.ok = c.ok && b->state == *e.dpcm_state;
                }
                if (e.users) {
                    want.push_back(fmt::format("users {}", *e.users));
                    got.push_back(b ? fmt::format("users {}", b->users) : "?");
                    c.ok = c.ok && b->users == *e.users;
                }
                c.text = fmt::format("BE {} is {} (it is {})", be, fmt::join(want, ", "), fmt::join(got, ", "));
                break;
            }
            case K::Connected: {
                const FeDump* f = fe_dump();
                std::vector<std::string> want = e.bes, got;
                if (f)
                    for (const auto& b : f->backends) got.push_back(b.name);
                std::sort(want.begin(), want.end());
                std::sort(got.begin(), got.end());
                c.ok = f && want == got;
                c.text = fmt::format("FE {} is connected to [{}] (it is: {})", fe, fmt::join(want, ", "),
                                     f ? fmt::format("[{}]", fmt::join(got, ", ")) : "not open");
                break;
            }
            case K::Xruns: {
                const auto it = fes_.find(fe);
                const uint64_t n = it == fes_.end() ? 0 : it->second.xruns;
                c.ok = (!e.xruns || n == *e.xruns) && (!e.xruns_at_least || n >= *e.xruns_at_least);
                c.text = e.xruns ? fmt::format("FE {} had {} xrun(s) (it had {})", fe, *e.xruns, n)
                                 : fmt::format("FE {} had at least {} xrun(s) (it had {})", fe, *e.xruns_at_least, n);
                break;
            }
            case K::Audio: c = audio(e, be, c); break;
            case K::NoClick: c = no_click(e, be, c); break;
            case K::Drift: c = drift(e, fe, be, fe_dump(), c); break;
            case K::Lost: {
                uint64_t n = 0;
                for (const auto& l : report_.lost)
                    if (l.fe == fe && (e.be.empty() || l.be == be)) n += l.frames;
                c.ok = (!e.lost || n == *e.lost) && (!e.lost_at_least || n >= *e.lost_at_least) &&
                       (!e.lost_at_most || n <= *e.lost_at_most);
                std::vector<std::string> want;
                if (e.lost) want.push_back(fmt::format("{}", *e.lost));
                if (e.lost_at_least) want.push_back(fmt::format("at least {}", *e.lost_at_least));
                if (e.lost_at_most) want.push_back(fmt::format("at most {}", *e.lost_at_most));
                c.text = fmt::format("FE {} lost {} frames{} (it lost {})", fe, fmt::join(want, " and "),
                                     e.be.empty() ? "" : fmt::format(" on its way to BE {}", be), n);
                break;
            }
        }
        record_check(s.line, now, c.ok, c.text);
    }

    void record_check(int at_line, double at, bool ok, const std::string& text) {
        line(at, fmt::format("{} expect {}", ok ? "✓" : "✗", text));
        trace_.instant("scenario", fmt::format("{} {}", ok ? "✓" : "✗", text), at);
        report_.checks.push_back({at_line, at, ok, fmt::format("{}:{}: {}", sc_.file, at_line, text)});
    }

    Check audio(const Expectation& e, const std::string& be, Check c) {
        const auto it = recs_.find(be);
        const BeRec* r = it == recs_.end() ? nullptr : &it->second;
        const size_t from = r ? r->frame_at(c.at - e.window) : 0;
        const size_t frames = r ? r->frames() - from : 0;
        std::vector<std::string> want, got;
        c.ok = true;
        const float* x = r && frames ? r->samples.data() + from * r->channels : nullptr;
        const bool is_present = x && dsp::present(x, frames, r->channels);
        if (e.present) {
            want.push_back(*e.present ? "audio" : "silence");
            got.push_back(!x ? "nothing played" : is_present ? "audio" : "silence");
            c.ok = c.ok && is_present == *e.present;
        }
        if (e.level_db) {
            double peak = -std::numeric_limits<double>::infinity();
            for (unsigned ch = 0; x && ch < r->channels; ++ch) peak = std::max(peak, dsp::level(x, frames, r->channels, ch).peak_dbfs);
            want.push_back(fmt::format("peak {:.1f}±{:.1f} dBFS", *e.level_db, e.level_tolerance));
            got.push_back(x ? fmt::format("{:.1f} dBFS", peak) : "nothing played");
            c.ok = c.ok && x && std::fabs(peak - *e.level_db) <= e.level_tolerance;
        }
        if (e.frequency) {
            std::optional<dsp::Tone> tone;
            if (x) tone = dsp::dominant_tone(x, frames, r->channels, 0, r->rate);
            const double hz = tone ? tone->frequency_hz : 0.0;
            want.push_back(fmt::format("{:.1f}±{:.1f} Hz", *e.frequency, e.frequency_tolerance));
            got.push_back(tone ? fmt::format("{:.1f} Hz", hz) : "no tone");
            c.ok = c.ok && tone.has_value() && std::fabs(hz - *e.frequency) <= e.frequency_tolerance;
        }
        if (e.thd_n) {
            std::optional<double> t;
            if (x) t = dsp::thd_n(x, frames, r->channels, 0, r->rate);
            want.push_back(fmt::format("THD+N at most {:.1f} dB", *e.thd_n));
            // It analyses blocks of 16384 frames: a window at this BE's rate may hold none.
            got.push_back(t                ? fmt::format("{:.1f} dB", *t)
                          : x && frames < 16384 ? fmt::format("a window too short for THD+N at {} Hz ({} frames, "
                                                              "it needs 16384)", r->rate, frames)
                                                : "no tone");
            c.ok = c.ok && t && *t <= *e.thd_n;
        }
        c.text = fmt::format("BE {} over the last {} s: {} (found {})", be, e.window, fmt::join(want, ", "), fmt::join(got, ", "));
        return c;
    }

    static Check drift(const Expectation& e, const std::string& fe, const std::string& be, const FeDump* f, Check c) {
        const BeDump* b = nullptr;
        if (f)
            for (const auto& x : f->backends)
                if (x.name == e.be && x.stream == e.be_dir) b = &x;
        const std::string want = fmt::format("FE {}'s link to BE {} follows its driver, locked{}, its fill within {} period(s) "
                                             "of its target since, with no xrun",
                                             fe, be, e.lock_within ? fmt::format(" within {} s", *e.lock_within) : "",
                                             e.within_periods);
        if (!b) {
            c.ok = false;
            c.text = want + " (they are not connected)";
            return c;
        }
        const LinkDump& l = b->link;
        const double band = e.within_periods * b->period;
        c.ok = l.following && l.locked && (!e.lock_within || l.lock_seconds <= *e.lock_within) && l.min_error >= -band &&
               l.max_error <= band && l.xruns_after_lock == 0;
        c.text = want + (l.locked ? fmt::format(" (locked after {:.2f} s, error {:+.1f}..{:+.1f} frames of ±{:.0f}, "
                                               "correction {:+.1f} ppm, {} xrun(s) since)",
                                               l.lock_seconds, l.min_error, l.max_error, band, l.correction_ppm,
                                               l.xruns_after_lock)
                                   : fmt::format(" ({}; {} underruns, {} overruns)",
                                                 l.following ? "not locked" : l.driver ? "it is the driver" : "not following",
                                                 l.underruns, l.overruns));
        return c;
    }

    Check no_click(const Expectation& e, const std::string& be, Check c) {
        const auto it = recs_.find(be);
        const double from = e.from.value_or(0), to = e.to.value_or(c.at);
        if (it == recs_.end()) {
            c.ok = false;
            c.text = fmt::format("BE {} has no click above {} between {} and {} s (it played nothing)", be, e.threshold, from, to);
            return c;
        }
        const BeRec& r = it->second;
        const size_t a = r.frame_at(from), b = std::max(a, r.frame_at(to));
        const auto step = dsp::max_step(r.samples.data() + a * r.channels, b - a, r.channels);
        c.ok = static_cast<double>(step.size) <= e.threshold;
        const double when = r.time_of(a + step.frame);
        c.text = fmt::format("BE {} has no click above {} between {:.3f} and {:.3f} s (largest step {:.4f}{})", be, e.threshold,
                             from, to, step.size, step.size > 0 ? fmt::format(" near {:.3f} s", when) : "");
        return c;
    }

    // ---- the end
    void teardown(double now) {
        for (auto& [name, f] : fes_)
            if (f.pcm) {
                const auto slash = name.rfind('/');
                f.xruns = f.pcm->status().xruns;
                f.writer.reset();
                f.reader.reset();
                (void)dpcm_->close(name.substr(0, slash), name.substr(slash + 1) == "capture" ? Stream::Capture : Stream::Playback);
                f.pcm = nullptr;
            }
        collect(now);
        Check inv{0, now, true, "the engine's bookkeeping holds at the end (Dpcm::check_invariants)"};
        if (auto r = dpcm_->check_invariants(); !r) {
            inv.ok = false;
            inv.text += ": " + r.error().message();
        }
        line(now, fmt::format("{} {}", inv.ok ? "✓" : "✗", inv.text));
        report_.checks.push_back(inv);
        trace_.finish(now);
        if (realtime_) clock_->stop();
        dpcm_.reset();
        if (!opt_.out_dir.empty()) write_recordings();
        if (!opt_.trace_file.empty()) {
            if (trace_.write(opt_.trace_file)) report_.files.push_back(opt_.trace_file);
            else report_.failed_steps.push_back({0, now, false, fmt::format("cannot write the trace '{}'", opt_.trace_file)});
        }
    }

    void write_recordings() {
        for (auto& [name, r] : recs_) {
            const std::string path = (std::filesystem::path(opt_.out_dir) / recording_file_name(name)).string();
            SF_INFO info{};
            info.samplerate = static_cast<int>(r.rate);
            info.channels = static_cast<int>(r.channels);
            info.format = SF_FORMAT_WAV | (r.format == Format::FLOAT_LE ? SF_FORMAT_FLOAT
                                           : format_info(r.format).width > 16 ? SF_FORMAT_PCM_24
                                                                              : SF_FORMAT_PCM_16);
            SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
            if (!f) {
                report_.failed_steps.push_back({0, 0, false, fmt::format("cannot write '{}': {}", path, sf_strerror(nullptr))});
                continue;
            }
            sf_command(f, SFC_SET_CLIPPING, nullptr, SF_TRUE);
            sf_writef_float(f, r.samples.data(), static_cast<sf_count_t>(r.frames()));
            sf_close(f);
            report_.files.push_back(path);
        }
    }

    const Scenario& sc_;
    std::vector<Step> steps_;
    const RunOptions& opt_;
    bool realtime_ = false;
    bool step_failure_ = false;  // the step being executed reported a failure
    int64_t t0_ns_ = 0;       // real time: the clock's time at scenario time 0
    bool suspended_ = false;  // between a suspend step and a resume step
    double virtual_now_ = 0;
    std::unique_ptr<SimClock> clock_;
    std::unique_ptr<Dpcm> dpcm_;
    std::map<std::string, FeRun> fes_;
    std::map<std::string, BeRec> recs_;
    std::map<std::string, std::string> be_states_;
    int generations_ = 0;
    std::vector<float> buf_;
    std::vector<std::byte> raw_;
    std::vector<std::byte> tap_;
    Trace trace_;
    RunReport report_;
};

}  // namespace

Result<void> check_scenario(const Scenario& scenario, const Card& card) {
    std::vector<Step> steps = scenario.steps;
    Checker c{scenario, card, {}};
    c.run(steps);
    if (c.errors.empty()) return ok();
    return Error(-EINVAL, fmt::format("{}", fmt::join(c.errors, "\n")));
}

std::string recording_file_name(std::string_view be_stream_label) {
    std::string file(be_stream_label);
    std::replace_if(file.begin(), file.end(), [](char ch) { return !std::isalnum(static_cast<unsigned char>(ch)) && ch != '-'; }, '_');
    return file + ".wav";
}

Result<RunReport> run_scenario(const Scenario& scenario, std::unique_ptr<Card> card, const RunOptions& options) {
    if (!card) return Error(-EINVAL, "run_scenario: no card");
    std::vector<Step> steps = scenario.steps;
    Checker c{scenario, *card, {}};
    c.run(steps);  // also resolves each FE's direction
    if (!c.errors.empty()) return Error(-EINVAL, fmt::format("{}", fmt::join(c.errors, "\n")));
    Runner r(scenario, std::move(steps), options);
    return r.run(std::move(card));
}

}  // namespace dynpcm::scenario

// The scenario file loader (docs/SCENARIO_FILE.md).

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "core/yaml_reader.h"
#include "dynpcm/scenario/scenario.h"

namespace dynpcm::scenario {

const char* action_name(Step::Action a) noexcept {
    switch (a) {
        case Step::Action::Open: return "open";
        case Step::Action::Configure: return "configure";
        case Step::Action::Prepare: return "prepare";
        case Step::Action::Start: return "start";
        case Step::Action::Stop: return "stop";
        case Step::Action::Pause: return "pause";
        case Step::Action::Release: return "release";
        case Step::Action::Drain: return "drain";
        case Step::Action::Close: return "close";
        case Step::Action::Write: return "write";
        case Step::Action::Read: return "read";
        case Step::Action::Set: return "set";
        case Step::Action::Plug: return "plug";
        case Step::Action::Unplug: return "unplug";
        case Step::Action::Suspend: return "suspend";
        case Step::Action::Resume: return "resume";
        case Step::Action::Inject: return "inject";
        case Step::Action::Clock: return "clock";
        case Step::Action::Dump: return "dump";
        case Step::Action::Expect: return "expect";
        case Step::Action::Wait: return "wait";
    }
    return "?";
}

namespace {

constexpr size_t kMaxSteps = 100000;
constexpr double kMaxSeconds = 24 * 3600;

const std::vector<std::pair<std::string, Step::Action>>& actions() {
    using A = Step::Action;
    static const std::vector<std::pair<std::string, A>> a{
        {"open", A::Open},     {"configure", A::Configure}, {"prepare", A::Prepare}, {"start", A::Start},
        {"stop", A::Stop},     {"pause", A::Pause},         {"release", A::Release}, {"drain", A::Drain},
        {"close", A::Close},   {"write", A::Write},         {"read", A::Read},       {"set", A::Set},
        {"plug", A::Plug},     {"unplug", A::Unplug},       {"suspend", A::Suspend}, {"resume", A::Resume},
        {"inject", A::Inject}, {"clock", A::Clock}, {"dump", A::Dump},           {"expect", A::Expect},   {"wait", A::Wait},
    };
    return a;
}

// Keys a step of each action may have, besides the action itself and `at`.
std::vector<std::string> step_keys(Step::Action a) {
    using A = Step::Action;
    switch (a) {
        case A::Open:
        case A::Configure: return {"params"};
        case A::Write: return {"tone", "noise", "silence", "wav", "duration", "recover"};
        case A::Read: return {"file", "duration", "recover"};
        default: return {};
    }
}

template <typename E, typename NameOf>
std::optional<E> by_name(std::string_view s, std::initializer_list<E> all, NameOf name_of) {
    for (E e : all)
        if (s == name_of(e)) return e;
    return std::nullopt;
}

class Loader : YamlReader {
public:
    explicit Loader(std::string file) : YamlReader(std::move(file)) {}

    ScenarioLoad run(std::string_view text) {
        ScenarioLoad out;
        const std::optional<YAML::Node> root = parse(text);
        if (!root) {
            out.errors = sorted_errors();
            return out;
        }
        auto sc = std::make_unique<Scenario>();
        sc->file = file_;
        try {
            load(*root, *sc);
        } catch (const YAML::Exception& e) {
            add_error(e.mark.line + 1, e.msg);
        }
        out.errors = sorted_errors();
        if (out.errors.empty()) out.scenario = std::move(sc);
        return out;
    }

private:
    void load(const YAML::Node& root, Scenario& sc) {
        if (!root.IsMap()) {
            err(root, "a scenario is a mapping with 'scenario:' and 'steps:'");
            return;
        }
        check_keys(root, {"scenario", "description", "card", "clock", "realtime_tolerance", "duration", "steps"}, "scenario");
        if (auto n = str(root["scenario"], "scenario name")) sc.name = *n;
        if (root["description"]) sc.description = str(root["description"], "description").value_or("");
        if (root["card"]) sc.card = str(root["card"], "card").value_or("");
        if (root["clock"]) {
            const auto c = str(root["clock"], "clock");
            if (c && *c == "realtime") sc.realtime = true;
            else if (c && *c != "virtual") err(root["clock"], "clock: '{}' is not virtual or realtime", *c);
        }
        if (root["realtime_tolerance"]) {
            const double t = seconds(root["realtime_tolerance"], "realtime_tolerance").value_or(sc.realtime_tolerance);
            if (t <= 0 || t > 1) err(root["realtime_tolerance"], "realtime_tolerance: {} s is not within (0, 1] s", t);
            else sc.realtime_tolerance = t;
        }
        double end = 0;
        if (root["duration"]) end = seconds(root["duration"], "duration").value_or(0);
        const YAML::Node steps = root["steps"];
        if (!steps.IsDefined()) {
            err(root, "scenario has no 'steps:'");
            return;
        }
        if (!sequence(steps, "steps", kMaxSteps)) return;
        double at = 0;
        for (const auto& n : steps) {
            item_line_ = n.Mark().line + 1;
            if (auto s = step(n, at)) {
                at = s->at;
                end = std::max(end, at + (s->action == Step::Action::Write ? s->source.duration : s->duration));
                sc.steps.push_back(std::move(*s));
            }
        }
        std::stable_sort(sc.steps.begin(), sc.steps.end(), [](const Step& a, const Step& b) { return a.at < b.at; });
        sc.end = end;
    }

    std::optional<double> seconds(const YAML::Node& n, const std::string& what) {
        auto v = number(n, what);
        if (!v) return std::nullopt;
        if (*v < 0 || *v > kMaxSeconds) {
            err(n, "{}: {} s is out of range 0..{}", what, *v, kMaxSeconds);
            return std::nullopt;
        }
        return v;
    }

    /// "Name", "Name/playback" or "Name/capture".
    bool stream_ref(const YAML::Node& n, const std::string& what, std::string& name, Stream& dir, bool* given = nullptr) {
        auto s = str(n, what);
        if (!s) return false;
        name = *s;
        if (given) *given = false;
        for (Stream d : {Stream::Playback, Stream::Capture}) {
            const std::string suffix = std::string("/") + stream_name(d);
            if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
                name.resize(name.size() - suffix.size());
                dir = d;
                if (given) *given = true;
            }
        }
        if (name.empty()) err(n, "{}: a name is needed", what);
        return !name.empty();
    }

    // `fails: EINVAL` (an errno name), `fails: -22`, or `fails: true` (any error).
    bool expected_failure(const YAML::Node& v, Step& s) {
        s.fails_line = v.Mark().line + 1;
        if (!v.IsScalar()) {
            err(v, "fails: expected an errno name such as EINVAL, or true for any error");
            return false;
        }
        const std::string text = v.Scalar();
        if (text == "true") {
            s.fails = 0;
            return true;
        }
        std::vector<std::string> names;
        for (int e = 1; e < 200; ++e) {
            const std::string name = errno_name(-e);
            if (name == "E?") continue;
            names.push_back(name);
            if (text == name || text == std::to_string(-e)) {
                s.fails = -e;
                return true;
            }
        }
        err(v, "fails: '{}' is no errno dynpcm reports{}; give one of {}, or true", text, did_you_mean(text, names),
            fmt::join(names, ", "));
        return false;
    }

    std::optional<Step> step(const YAML::Node& n, double previous_at) {
        if (!n.IsMap()) {
            err(n, "a step is a mapping such as '{{at: 1.0, start: Media Playback}}'");
            return std::nullopt;
        }
        Step s;
        s.line = item_line_;
        s.at = previous_at;
        if (n["at"])
            if (auto t = seconds(n["at"], "at")) s.at = *t;
        // Exactly one action key.
        std::vector<std::string> names;
        for (const auto& [k, a] : actions()) names.push_back(k);
        const YAML::Node* action_node = nullptr;
        YAML::Node found;
        for (const auto& kv : n) {
            const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
            for (const auto& [k, a] : actions())
                if (key == k) {
                    if (action_node) {
                        err(kv.first, "a step has one action; this one has '{}' and '{}'", action_name(s.action), key);
                        return std::nullopt;
                    }
                    s.action = a;
                    found = kv.second;
                    action_node = &found;
                }
        }
        if (!action_node) {
            std::string other;
            for (const auto& kv : n)
                if (kv.first.IsScalar() && kv.first.Scalar() != "at") other = kv.first.Scalar();
            if (other.empty()) err(n, "step has no action; actions: {}", fmt::join(names, ", "));
            else err(n, "step has no action: '{}' is not one{}; actions: {}", other, did_you_mean(other, names), fmt::join(names, ", "));
            return std::nullopt;
        }
        std::vector<std::string> allowed = step_keys(s.action);
        allowed.push_back("at");
        if (s.action != Step::Action::Expect && s.action != Step::Action::Wait && s.action != Step::Action::Dump) {
            allowed.push_back("fails");
            if (n["fails"] && !expected_failure(n["fails"], s)) return std::nullopt;
        }
        allowed.push_back(action_name(s.action));
        if (!check_keys(n, allowed, fmt::format("{} step", action_name(s.action)))) return std::nullopt;
        const YAML::Node& v = *action_node;
        const std::string what = action_name(s.action);
        using A = Step::Action;
        switch (s.action) {
            case A::Open:
            case A::Configure:
                if (!stream_ref(v, what, s.fe, s.dir, &s.dir_given)) return std::nullopt;
                if (n["params"]) params(n["params"], s.params);
                else if (s.action == A::Configure) err(n, "configure needs params: {{rate: ..., channels: ...}}");
                break;
            case A::Prepare:
            case A::Start:
            case A::Stop:
            case A::Pause:
            case A::Release:
            case A::Drain:
            case A::Close:
                if (!stream_ref(v, what, s.fe, s.dir, &s.dir_given)) return std::nullopt;
                break;
            case A::Write:
                if (!stream_ref(v, what, s.fe, s.dir, &s.dir_given)) return std::nullopt;
                if (!source(n, s)) return std::nullopt;
                if (n["recover"]) s.recover = boolean(n["recover"], "recover").value_or(true);
                break;
            case A::Read:
                if (!stream_ref(v, what, s.fe, s.dir, &s.dir_given)) return std::nullopt;
                if (!s.dir_given) s.dir = Stream::Capture;
                if (auto f = str(n["file"], "read: file")) s.file = *f;
                if (n["duration"]) s.duration = seconds(n["duration"], "duration").value_or(0);
                if (n["recover"]) s.recover = boolean(n["recover"], "recover").value_or(true);
                break;
            case A::Set:
                if (!controls(v, "set", s.controls)) return std::nullopt;
                if (s.controls.empty()) err(v, "set: no control to set");
                break;
            case A::Plug:
            case A::Unplug:
                if (!check_keys(v, {"jack", "be", "set"}, what)) return std::nullopt;
                if (v["jack"]) {
                    const YAML::Node j = v["jack"];
                    if (j.IsScalar()) s.pins.push_back(j.Scalar());
                    else if (sequence(j, what + ": jack", 64))
                        for (const auto& p : j)
                            if (auto name = str(p, what + ": jack pin")) s.pins.push_back(*name);
                }
                if (v["be"]) (void)stream_ref(v["be"], what + ": be", s.be, s.be_dir);
                if (v["set"]) (void)controls(v["set"], what + ": set", s.controls);
                if (s.pins.empty() && s.be.empty()) err(v, "{} needs a jack (its pins) or a be (its device)", what);
                break;
            case A::Suspend:
            case A::Resume:
                break;  // the whole card, as a system suspend does
            case A::Inject: {
                if (!check_keys(v, {"be", "fault"}, "inject")) return std::nullopt;
                if (!stream_ref(v["be"], "inject: be", s.be, s.be_dir)) return std::nullopt;
                auto f = str(v["fault"], "inject: fault");
                if (!f) return std::nullopt;
                static const std::vector<std::string> kFaults{"xrun", "gone", "trigger"};
                if (std::find(kFaults.begin(), kFaults.end(), *f) == kFaults.end()) {
                    err(v["fault"], "inject: fault '{}' is not one of xrun, gone, trigger{}", *f, did_you_mean(*f, kFaults));
                    return std::nullopt;
                }
                s.fault = *f;
                break;
            }
            case A::Clock: {
                if (!v.IsMap() || !v["be"]) {
                    err(v, "clock needs a be and its crystal: {{be: BE, ppm: P, wander: W, jitter: J}}");
                    return std::nullopt;
                }
                if (!stream_ref(v["be"], "clock: be", s.be, s.be_dir)) return std::nullopt;
                YAML::Node model(YAML::NodeType::Map);
                for (const auto& kv : v)
                    if (kv.first.Scalar() != "be") model[kv.first] = kv.second;
                auto m = clock_model(model, "clock");
                if (!m) return std::nullopt;
                s.clock = *m;
                break;
            }
            case A::Dump:
                break;
            case A::Wait:
                if (auto t = seconds(v, "wait")) s.duration = *t;
                break;
            case A::Expect:
                if (!expectation(v, s.expect)) return std::nullopt;
                break;
        }
        return s;
    }

    void params(const YAML::Node& n, Params& p) {
        if (!check_keys(n, {"format", "rate", "channels", "period", "periods"}, "params")) return;
        if (n["format"])
            if (auto f = str(n["format"], "params: format")) {
                p.format = parse_format(*f);
                if (!p.format) err(n["format"], "params: unknown format '{}'", *f);
            }
        if (n["rate"]) p.rate = uint(n["rate"], "params: rate", 1000, 768000);
        if (n["channels"]) p.channels = uint(n["channels"], "params: channels", 1, 64);
        if (n["period"]) p.period = uint(n["period"], "params: period", 16, 1u << 20);
        if (n["periods"]) p.periods = uint(n["periods"], "params: periods", 2, 1024);
    }

    bool source(const YAML::Node& n, Step& s) {
        int kinds = 0;
        Source& src = s.source;
        if (const auto t = n["tone"]) {
            ++kinds;
            src.kind = Source::Kind::Tone;
            if (check_keys(t, {"frequency", "level"}, "tone")) {
                if (t["frequency"]) src.frequency = number(t["frequency"], "tone: frequency").value_or(src.frequency);
                if (t["level"]) src.level_db = number(t["level"], "tone: level").value_or(src.level_db);
                if (src.frequency <= 0 || src.frequency > 384000) err(t["frequency"], "tone: frequency {} Hz is out of range", src.frequency);
                if (src.level_db > 0) err(t["level"], "tone: level {} dBFS is above full scale", src.level_db);
            }
        }
        if (const auto t = n["noise"]) {
            ++kinds;
            src.kind = Source::Kind::Noise;
            if (check_keys(t, {"level"}, "noise") && t["level"]) src.level_db = number(t["level"], "noise: level").value_or(src.level_db);
            if (src.level_db > 0) err(t["level"], "noise: level {} dBFS is above full scale", src.level_db);
        }
        if (n["silence"]) {
            ++kinds;
            src.kind = Source::Kind::Silence;
        }
        if (const auto w = n["wav"]) {
            ++kinds;
            src.kind = Source::Kind::Wav;
            if (auto f = str(w, "wav")) {
                const std::filesystem::path p(*f), dir = std::filesystem::path(file_).parent_path();
                src.file = p.is_relative() && !dir.empty() ? (dir / p).string() : *f;
            }
        }
        if (kinds != 1) {
            err(n, "write needs exactly one of tone, noise, silence, wav");
            return false;
        }
        if (n["duration"]) {
            src.duration = seconds(n["duration"], "duration").value_or(src.duration);
            src.has_duration = true;
        } else if (src.kind == Source::Kind::Wav) {
            src.duration = 0;  // the whole file
        }
        return true;
    }

    bool controls(const YAML::Node& n, const std::string& what, std::vector<std::pair<std::string, std::string>>& out) {
        if (!n.IsMap()) {
            err(n, "{} takes a mapping of control: value", what);
            return false;
        }
        for (const auto& kv : n) {
            auto k = str(kv.first, what + ": control name");
            auto val = str(kv.second, what + ": value of '" + (k ? *k : std::string()) + "'");
            if (k && val) out.emplace_back(*k, *val);
        }
        return true;
    }

    bool expectation(const YAML::Node& n, Expectation& e) {
        using K = Expectation::Kind;
        if (!n.IsMap()) {
            err(n, "expect takes a mapping, e.g. {{fe: Media Playback, state: RUNNING}}");
            return false;
        }
        if (n["fe"] && !n["connected"] && !n["xruns"]) {
            e.kind = K::Fe;
            if (!check_keys(n, {"fe", "state", "dpcm"}, "expect fe")) return false;
            if (!stream_ref(n["fe"], "expect: fe", e.fe, e.fe_dir)) return false;
            if (n["state"])
                if (auto s = str(n["state"], "expect: state")) {
                    e.pcm_state = by_name<PcmState>(*s,
                                                    {PcmState::Open, PcmState::Setup, PcmState::Prepared, PcmState::Running,
                                                     PcmState::Xrun, PcmState::Draining, PcmState::Paused,
                                                     PcmState::Suspended, PcmState::Disconnected},
                                                    pcm_state_name);
                    if (!e.pcm_state)
                        err(n["state"], "expect: '{}' is not a PCM state (OPEN, SETUP, PREPARED, RUNNING, XRUN, DRAINING, PAUSED, SUSPENDED, DISCONNECTED)", *s);
                }
            if (n["dpcm"]) e.dpcm_state = dpcm_state(n["dpcm"]);
            if (!e.pcm_state && !e.dpcm_state && !n["state"] && !n["dpcm"]) err(n, "expect fe: say its state or dpcm state");
            return true;
        }
        if (n["be"]) {
            e.kind = K::Be;
            if (!check_keys(n, {"be", "state", "users"}, "expect be")) return false;
            if (!stream_ref(n["be"], "expect: be", e.be, e.be_dir)) return false;
            if (n["state"]) e.dpcm_state = dpcm_state(n["state"]);
            if (n["users"]) e.users = uint(n["users"], "expect: users", 0, 64);
            return true;
        }
        if (const auto c = n["connected"]) {
            e.kind = K::Connected;
            if (!check_keys(n, {"connected"}, "expect") || !check_keys(c, {"fe", "bes"}, "expect connected")) return false;
            if (!stream_ref(c["fe"], "expect connected: fe", e.fe, e.fe_dir)) return false;
            const YAML::Node b = c["bes"];
            if (!b.IsDefined()) err(c, "expect connected: bes is missing (a list, [] for none)");
            else if (sequence(b, "expect connected: bes", 64))
                for (const auto& x : b)
                    if (auto name = str(x, "expect connected: be")) e.bes.push_back(*name);
            return true;
        }
        if (const auto x = n["xruns"]) {
            e.kind = K::Xruns;
            if (!check_keys(n, {"xruns"}, "expect") || !check_keys(x, {"fe", "count", "at_least"}, "expect xruns")) return false;
            if (!stream_ref(x["fe"], "expect xruns: fe", e.fe, e.fe_dir)) return false;
            if (x["count"]) e.xruns = uint(x["count"], "expect xruns: count", 0, 1u << 30);
            if (x["at_least"]) e.xruns_at_least = uint(x["at_least"], "expect xruns: at_least", 0, 1u << 30);
            if (!x["count"] && !x["at_least"]) err(x, "expect xruns: give count or at_least");
            return true;
        }
        if (const auto a = n["audio"]) {
            e.kind = K::Audio;
            if (!check_keys(n, {"audio"}, "expect") ||
                !check_keys(a, {"be", "present", "level", "tolerance", "frequency", "frequency_tolerance", "window", "thd_n"},
                            "expect audio"))
                return false;
            if (!stream_ref(a["be"], "expect audio: be", e.be, e.be_dir)) return false;
            if (a["present"]) e.present = boolean(a["present"], "expect audio: present");
            if (a["level"]) e.level_db = number(a["level"], "expect audio: level");
            if (a["tolerance"]) e.level_tolerance = number(a["tolerance"], "expect audio: tolerance").value_or(3.0);
            if (a["frequency"]) e.frequency = number(a["frequency"], "expect audio: frequency");
            if (a["frequency_tolerance"]) e.frequency_tolerance = number(a["frequency_tolerance"], "expect audio: frequency_tolerance").value_or(2.0);
            if (a["window"]) e.window = seconds(a["window"], "expect audio: window").value_or(0.5);
            if (e.window < 0.01) err(a["window"], "expect audio: window {} s is too short (at least 0.01)", e.window);
            if (a["thd_n"]) e.thd_n = number(a["thd_n"], "expect audio: thd_n");
            if (e.thd_n && e.window < 0.35) err(a["window"], "expect audio: thd_n needs a window of at least 0.35 s (16384 frames)");
            if (!e.present && !e.level_db && !e.frequency && !e.thd_n)
                err(a, "expect audio: say present, level, frequency or thd_n");
            return true;
        }
        if (const auto c = n["no_click"]) {
            e.kind = K::NoClick;
            if (!check_keys(n, {"no_click"}, "expect") || !check_keys(c, {"be", "threshold", "from", "to"}, "expect no_click"))
                return false;
            if (!stream_ref(c["be"], "expect no_click: be", e.be, e.be_dir)) return false;
            if (c["threshold"]) e.threshold = number(c["threshold"], "expect no_click: threshold").value_or(0.1);
            if (e.threshold <= 0 || e.threshold > 2) err(c["threshold"], "expect no_click: threshold {} is outside (0, 2]", e.threshold);
            if (c["from"]) e.from = seconds(c["from"], "expect no_click: from");
            if (c["to"]) e.to = seconds(c["to"], "expect no_click: to");
            return true;
        }
        if (const auto d = n["drift"]) {
            e.kind = K::Drift;
            if (!check_keys(n, {"drift"}, "expect") || !check_keys(d, {"fe", "be", "lock_within", "within_periods"}, "expect drift"))
                return false;
            if (!stream_ref(d["fe"], "expect drift: fe", e.fe, e.fe_dir)) return false;
            if (!stream_ref(d["be"], "expect drift: be", e.be, e.be_dir)) return false;
            if (d["lock_within"]) e.lock_within = seconds(d["lock_within"], "expect drift: lock_within");
            if (d["within_periods"]) e.within_periods = number(d["within_periods"], "expect drift: within_periods").value_or(1.0);
            if (!(e.within_periods > 0 && e.within_periods <= 1000))
                err(d["within_periods"], "expect drift: within_periods {} is outside (0, 1000]", e.within_periods);
            if (e.lock_within && !(*e.lock_within > 0))
                err(d["lock_within"], "expect drift: lock_within {} s is not a time after the start", *e.lock_within);
            return true;
        }
        if (const auto l = n["lost"]) {
            e.kind = K::Lost;
            if (!check_keys(n, {"lost"}, "expect") || !check_keys(l, {"fe", "be", "frames", "at_least", "at_most"}, "expect lost"))
                return false;
            if (!stream_ref(l["fe"], "expect lost: fe", e.fe, e.fe_dir)) return false;
            if (l["be"] && !stream_ref(l["be"], "expect lost: be", e.be, e.be_dir)) return false;
            if (l["frames"]) e.lost = uint(l["frames"], "expect lost: frames", 0, UINT32_MAX);
            if (l["at_least"]) e.lost_at_least = uint(l["at_least"], "expect lost: at_least", 0, UINT32_MAX);
            if (l["at_most"]) e.lost_at_most = uint(l["at_most"], "expect lost: at_most", 0, UINT32_MAX);
            if (!e.lost && !e.lost_at_least && !e.lost_at_most) err(l, "expect lost: say frames, at_least or at_most");
            return true;
        }
        std::vector<std::string> kinds{"fe", "be", "connected", "xruns", "audio", "no_click", "drift", "lost"};
        const std::string first = n.begin() != n.end() && n.begin()->first.IsScalar() ? n.begin()->first.Scalar() : "";
        err(n, "expect: nothing to check ('{}'{}); one of: {}", first, did_you_mean(first, kinds), fmt::join(kinds, ", "));
        return false;
    }

    std::optional<DpcmState> dpcm_state(const YAML::Node& n) {
        auto s = str(n, "expect: DPCM state");
        if (!s) return std::nullopt;
        auto d = by_name<DpcmState>(*s,
                                    {DpcmState::New, DpcmState::Open, DpcmState::HwParams, DpcmState::Prepare,
                                     DpcmState::Start, DpcmState::Stop, DpcmState::Paused, DpcmState::Suspend,
                                     DpcmState::HwFree, DpcmState::Close},
                                    dpcm_state_name);
        if (!d)
            err(n, "expect: '{}' is not a DPCM state (NEW, OPEN, HW_PARAMS, PREPARE, START, STOP, PAUSED, SUSPEND, HW_FREE, CLOSE)", *s);
        return d;
    }
};

}  // namespace

ScenarioLoad load_scenario_string(std::string_view text, std::string_view filename) {
    return Loader(std::string(filename)).run(text);
}

ScenarioLoad load_scenario_file(const std::string& path) {
    ScenarioLoad out;
    const auto text = YamlReader::read_file(path, "scenario file", out.errors);
    if (!text) return out;
    return load_scenario_string(*text, path);
}

}  // namespace dynpcm::scenario

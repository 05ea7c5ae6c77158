// The commands that talk to a running dynpcmd: exec, top, jack, dump --socket, and the
// --socket forms of ctl and routes.

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "card_source.h"
#include "commands.h"
#include "daemon_commands.h"
#include "dynpcm/daemon/client.h"
#include "dynpcm/scenario/scenario.h"
#include "print.h"

namespace dynpcm::cli {

namespace fs = std::filesystem;
using namespace dynpcm::ipc;

namespace {

std::unique_ptr<Client> connect_or_exit(const std::string& given) {
    auto path = resolve_socket(given);
    if (!path) {
        fmt::print(stderr, "{}\n", path.error().message());
        throw Exit{kExitBadInput};
    }
    auto c = Client::connect(*path, "dynpcm");
    if (!c) {
        fmt::print(stderr, "{}\n", c.error().message());
        throw Exit{kExitFailed};
    }
    return std::move(*c);
}

[[noreturn]] void fail(const Error& e) {
    fmt::print(stderr, "{}\n", e.message());
    throw Exit{kExitFailed};
}

// A daemon's control as the library's Control, so the same printing and parsing apply.
Control control_of(const CtlElem& e, std::vector<int64_t> values) {
    Control c;
    c.id.numid = e.numid;
    c.id.iface = e.iface == CtlIfaceW::Card ? CtlIface::Card : e.iface == CtlIfaceW::Pcm ? CtlIface::Pcm : CtlIface::Mixer;
    c.id.name = e.name;
    c.id.index = e.index;
    c.info.type = e.type == CtlTypeW::Integer ? CtlType::Integer
                  : e.type == CtlTypeW::Enumerated ? CtlType::Enumerated
                  : e.type == CtlTypeW::Bytes ? CtlType::Bytes
                                             : CtlType::Boolean;
    c.info.count = e.count;
    c.info.min = e.min;
    c.info.max = e.max;
    c.info.step = e.step;
    c.info.items = e.items;
    c.info.read_only = !e.writable;
    if (e.db_min_cdb) c.info.db = DbScale{*e.db_min_cdb, e.db_step_cdb, e.db_mute};
    c.value = std::move(values);
    return c;
}

std::vector<Control> read_all(Client& client) {
    auto elems = client.list_controls();
    if (!elems) fail(elems.error());
    std::vector<Control> out;
    for (const auto& e : *elems) {
        auto v = client.read(CtlRef{e.numid, e.iface, e.name, e.index});
        if (!v) fail(v.error());
        out.push_back(control_of(e, std::move(v->values)));
    }
    return out;
}

std::string text_or_exit(Client& c, Type t, bool json = true) {
    auto r = c.text(t, json);
    if (!r) fail(r.error());
    return std::move(*r);
}

}  // namespace

int remote_ctl(const std::string& socket, const std::vector<std::string>& words, bool as_json) {
    auto client = connect_or_exit(socket);
    const std::string verb = words.empty() ? "list" : words[0];
    if (verb == "list" && words.size() <= 1) {
        const auto controls = read_all(*client);
        std::vector<std::pair<uint32_t, std::string>> pcms;
        const auto routes = nlohmann::ordered_json::parse(text_or_exit(*client, Type::Routes));
        for (const auto& [key, r] : routes.items()) pcms.emplace_back(r["device"].get<uint32_t>(), fmt::format("'{}'", key));
        print_controls(controls, pcms, as_json, [](const Control&) { return std::string(); }, false);
        return kExitOk;
    }
    if ((verb == "get" && words.size() == 2) || (verb == "set" && words.size() == 3)) {
        auto elems = client->list_controls();
        if (!elems) fail(elems.error());
        const CtlElem* e = nullptr;
        for (const auto& x : *elems)
            if (x.name == words[1]) e = &x;
        if (!e) {
            fmt::print(stderr, "card '{}' has no control '{}'\n", client->hello().card.name, words[1]);
            return kExitFailed;
        }
        const CtlRef ref{e->numid, e->iface, e->name, e->index};
        if (verb == "set") {
            auto values = parse_ctl_value(control_of(*e, {}), words[2]);
            if (!values) {
                fmt::print(stderr, "{}\n", values.error().message());
                return kExitBadInput;
            }
            if (values->size() == 1 && e->count > 1) values->resize(e->count, (*values)[0]);
            auto w = client->write(ref, *values);
            if (!w) fail(w.error());
        }
        auto v = client->read(ref);
        if (!v) fail(v.error());
        fmt::print("{} = {}\n", e->name, format_ctl_value(control_of(*e, std::move(v->values))));
        return kExitOk;
    }
    fmt::print(stderr, "ctl --socket: 'list', 'get NAME' or 'set NAME VALUE'\n");
    return kExitBadInput;
}

int remote_routes(const std::string& socket, bool as_json) {
    auto client = connect_or_exit(socket);
    print_routes(text_or_exit(*client, Type::Routes), as_json);
    return kExitOk;
}

namespace {

// ---- run --socket: a scenario's control steps against a daemon --------------------------------

using scenario::Step;
using A = Step::Action;

// What a scenario can do to a daemon before the PCM plugin: controls, jacks, waits, dumps, and
// expectations the daemon can answer (routes and BE states).
std::optional<std::string> remote_unsupported(const Step& s) {
    switch (s.action) {
        case A::Set: case A::Wait: case A::Dump: return std::nullopt;
        case A::Plug: case A::Unplug:
            if (!s.be.empty()) return "plugging a device (be:) needs the engine in this process";
            return std::nullopt;
        case A::Expect:
            if (s.expect.kind == scenario::Expectation::Kind::Connected || s.expect.kind == scenario::Expectation::Kind::Be)
                return std::nullopt;
            return "this expectation needs an FE stream of this process; a daemon answers 'connected' and BE states";
        default:
            return fmt::format("'{}' drives an FE stream, which a daemon's clients do through the PCM plugin (not yet)",
                               scenario::action_name(s.action));
    }
}

struct RemoteRun {
    Client& client;
    std::vector<CtlElem> elems;
    int failed = 0, checks = 0, held = 0;

    void line(double at, const std::string& text) { fmt::print("{:>8.3f}  {}\n", at, text); }
    const CtlElem* elem(const std::string& name) {
        for (const auto& e : elems)
            if (e.name == name) return &e;
        return nullptr;
    }
    bool set(double at, int file_line, const std::string& name, const std::string& value) {
        const CtlElem* e = elem(name);
        if (!e) return step_failed(at, file_line, fmt::format("no control '{}'", name));
        auto v = parse_ctl_value(control_of(*e, {}), value);
        if (!v) return step_failed(at, file_line, v.error().message());
        if (v->size() == 1 && e->count > 1) v->resize(e->count, (*v)[0]);
        auto w = client.write(CtlRef{e->numid, e->iface, e->name, e->index}, *v);
        if (!w) return step_failed(at, file_line, w.error().message());
        line(at, fmt::format("set {} = {}", name, value));
        return true;
    }
    bool step_failed(double at, int file_line, const std::string& why) {
        ++failed;
        line(at, fmt::format("✗ line {}: {}", file_line, why));
        return false;
    }
    void expect(double at, const Step& s) {
        ++checks;
        const auto& x = s.expect;
        bool ok = false;
        std::string text;
        if (x.kind == scenario::Expectation::Kind::Connected) {
            auto r = client.text(Type::Routes);
            if (!r) return void(step_failed(at, s.line, r.error().message()));
            const auto j = nlohmann::json::parse(*r);
            const std::string key = fmt::format("{}/{}", x.fe, stream_name(x.fe_dir));
            std::vector<std::string> want = x.bes, got;
            if (j.contains(key)) got = j[key]["bes"].get<std::vector<std::string>>();
            std::sort(want.begin(), want.end());
            ok = j.contains(key) && got == want;
            text = fmt::format("FE {} routes to [{}]{}", key, fmt::join(want, ", "),
                               ok ? "" : fmt::format(" (found [{}])", fmt::join(got, ", ")));
        } else {
            auto d = client.text(Type::Dump, true);
            if (!d) return void(step_failed(at, s.line, d.error().message()));
            const auto j = nlohmann::json::parse(*d);
            std::optional<nlohmann::json> be;
            auto look = [&](const nlohmann::json& list) {
                for (const auto& b : list)
                    if (b["name"] == x.be && b["stream"] == stream_name(x.be_dir)) be = b;
            };
            look(j["idle_backends"]);
            for (const auto& fe : j["frontends"]) look(fe["backends"]);
            ok = be.has_value();
            std::string found = be ? fmt::format("{}, users {}", (*be)["state"].get<std::string>(), (*be)["users"].get<int>()) : "absent";
            if (be && x.dpcm_state) ok = ok && (*be)["state"] == dpcm_state_name(*x.dpcm_state);
            if (be && x.users) ok = ok && (*be)["users"].get<uint32_t>() == *x.users;
            text = fmt::format("BE {}/{}{}{} (found {})", x.be, stream_name(x.be_dir),
                               x.dpcm_state ? fmt::format(" is {}", dpcm_state_name(*x.dpcm_state)) : "",
                               x.users ? fmt::format(" with {} users", *x.users) : "", found);
        }
        held += ok ? 1 : 0;
        line(at, fmt::format("{} expect {}", ok ? "✓" : "✗", text));
    }
};

}  // namespace

int remote_run(const std::string& socket, const std::string& file) {
    auto sl = scenario::load_scenario_file(file);
    if (!sl.ok()) {
        for (const auto& e : sl.errors) fmt::print(stderr, "{}\n", e);
        return kExitBadInput;
    }
    const scenario::Scenario& sc = *sl.scenario;
    int bad = 0;
    for (const auto& s : sc.steps)
        if (auto why = remote_unsupported(s)) {
            fmt::print(stderr, "{}:{}: {}\n", file, s.line, *why);
            ++bad;
        }
    if (bad) {
        fmt::print(stderr, "{}: {} step{} cannot run against a daemon, where a scenario may set controls, plug and "
                           "unplug jacks, wait, dump, and expect 'connected' and BE states\n",
                   file, bad, bad == 1 ? "" : "s");
        return kExitBadInput;
    }
    auto client = connect_or_exit(socket);
    RemoteRun run{*client, {}};
    auto elems = client->list_controls();
    if (!elems) fail(elems.error());
    run.elems = std::move(*elems);
    if (!sc.card.empty())
        fmt::print("(the scenario's card '{}' is not loaded: the daemon's card '{}' is used)\n", sc.card,
                   client->hello().card.name);
    // Real time, as the daemon runs: each step at its time from the start.
    const auto start = std::chrono::steady_clock::now();
    for (const auto& s : sc.steps) {
        std::this_thread::sleep_until(start + std::chrono::duration<double>(s.at));
        switch (s.action) {
            case A::Set:
                for (const auto& [name, value] : s.controls) run.set(s.at, s.line, name, value);
                break;
            case A::Plug:
            case A::Unplug: {
                const bool in = s.action == A::Plug;
                if (!s.pins.empty() || !s.be.empty()) {
                    const uint32_t seq = client->next_seq();
                    auto r = client->call(encode(Jack{in, s.pins, s.be}, seq), seq);
                    if (!r) run.step_failed(s.at, s.line, r.error().message());
                    else if (!s.be.empty()) run.line(s.at, fmt::format("device {} {}", s.be, in ? "plugged in" : "unplugged"));
                    else run.line(s.at, fmt::format("jack {}: {}", in ? "plugged" : "unplugged", fmt::join(s.pins, ", ")));
                }
                for (const auto& [name, value] : s.controls) run.set(s.at, s.line, name, value);
                break;
            }
            case A::Dump: {
                auto d = client->text(Type::Dump, false);
                if (d) fmt::print("{}\n", *d);
                else run.step_failed(s.at, s.line, d.error().message());
                break;
            }
            case A::Expect: run.expect(s.at, s); break;
            default: break;  // wait: the sleep above
        }
    }
    std::this_thread::sleep_until(start + std::chrono::duration<double>(sc.end));
    const bool ok = run.failed == 0 && run.held == run.checks;
    fmt::print("\n{}: {} of {} expectations hold{}\n", ok ? "PASS" : "FAIL", run.held, run.checks,
               run.failed ? fmt::format(", {} step(s) failed", run.failed) : "");
    return ok ? kExitOk : kExitFailed;
}

namespace {

// ---- exec ------------------------------------------------------------------------------------

fs::path self_dir() {
    std::error_code ec;
    return fs::read_symlink("/proc/self/exe", ec).parent_path();
}

// The ctl plugin: $DYNPCM_PLUGIN_DIR, the build tree beside this binary, or where it installs.
std::optional<fs::path> find_plugin(const std::string& file) {
    std::vector<fs::path> dirs;
    if (const char* d = std::getenv("DYNPCM_PLUGIN_DIR"); d && *d) dirs.emplace_back(d);
    dirs.push_back(self_dir() / ".." / "plugin");
    dirs.emplace_back(DYNPCM_ALSA_PLUGIN_DIR);
    for (const auto& d : dirs) {
        std::error_code ec;
        if (fs::exists(d / file, ec)) return fs::weakly_canonical(d / file, ec);
    }
    return std::nullopt;
}

std::string quote(const std::string& s) {
    std::string r = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') r += '\\';
        r += c;
    }
    return r + "\"";
}

// The child's UCM tree: the stock one (every profile, untouched) behind a top level of our own
// whose private lib/generic.conf sends ctl.hw to the daemon instead of the kernel.
void make_ucm_tree(const fs::path& root, const fs::path& stock, const std::string& socket, const fs::path& plugin,
                   const fs::path& pcm_plugin) {
    std::error_code ec;
    fs::create_directories(root / "lib", ec);
    // Without a stock tree (alsa-ucm-conf not installed) there is only the top level: UCM then
    // finds no profile, and says so, as it would on a kernel card.
    for (const auto& e : fs::directory_iterator(stock, ec))
        if (e.path().filename() != "lib") fs::create_directory_symlink(e.path(), root / e.path().filename(), ec);
    for (const auto& e : fs::directory_iterator(stock / "lib", ec))
        if (e.path().filename() != "generic.conf") fs::create_symlink(e.path(), root / "lib" / e.path().filename(), ec);
    std::ofstream g(root / "lib" / "generic.conf");
    g << "# Made by 'dynpcm exec': UCM's private hw controls and PCMs are the daemon's card.\n"
         "LibraryConfig.generic.Config {\n"
      << "\tctl_type.dynpcm { lib " << quote(plugin.string()) << " }\n"
      << "\tpcm_type.dynpcm { lib " << quote(pcm_plugin.string()) << " }\n"
      << "\tctl.hw {\n\t\t@args [ CARD ]\n\t\t@args.CARD.type string\n\t\ttype dynpcm\n\t\tcard $CARD\n"
      << "\t\tsocket " << quote(socket) << "\n\t}\n"
      << "\tpcm.hw {\n\t\t@args [ CARD DEV SUBDEV ]\n\t\t@args {\n\t\t\tCARD.type string\n\t\t\tDEV.type integer\n"
         "\t\t\tSUBDEV.type integer\n\t\t}\n\t\ttype dynpcm\n\t\tcard $CARD\n\t\tdevice $DEV\n"
      << "\t\tsocket " << quote(socket) << "\n\t}\n}\n";
}

// The child's PCMs: hw:0,N is FE device N (and hw:<card id>,N), default is device 0 behind
// plug (as a kernel card's default converts), and one listed PCM per FE, so that aplay -L and
// arecord -L show every FE by name.
std::string pcm_config(const std::string& socket, const fs::path& plugin, const std::string& routes_json) {
    std::string out = "pcm_type.dynpcm { lib " + quote(plugin.string()) + " }\n";
    // plughw too: alsa.conf's own looks the card up in the kernel.
    const std::string args = "\t@args [ CARD DEV SUBDEV ]\n\t@args.CARD { type string default \"0\" }\n"
                             "\t@args.DEV { type integer default 0 }\n\t@args.SUBDEV { type integer default -1 }\n";
    const std::string by_args = "type dynpcm card $CARD device $DEV socket " + quote(socket);
    out += "pcm.!hw {\n" + args + "\t" + by_args + "\n}\n";
    out += "pcm.!plughw {\n" + args + "\ttype plug\n\tslave.pcm { " + by_args + " }\n}\n";
    // One entry per device number: its FE's name and which ways it streams.
    std::map<uint32_t, std::pair<std::string, std::set<std::string>>> fes;
    const auto routes = nlohmann::json::parse(routes_json);
    for (const auto& [key, r] : routes.items()) {
        const size_t slash = key.rfind('/');
        auto& fe = fes[r["device"].get<uint32_t>()];
        fe.first = key.substr(0, slash);
        fe.second.insert(key.substr(slash + 1));
    }
    auto hint = [&](uint32_t dev, const std::string& what) {
        const auto& [name, dirs] = fes[dev];
        std::string h = "\thint {\n\t\tshow on\n\t\tdescription " +
                        quote(fmt::format("{}{}, FE '{}' (hw:0,{})", what, what.empty() ? "dynpcm" : " on dynpcm", name, dev));
        if (dirs.size() == 1) h += std::string("\n\t\tioid ") + (*dirs.begin() == "playback" ? "Output" : "Input");
        return h + "\n\t}\n";
    };
    if (!fes.empty()) {
        const uint32_t first = fes.count(0) ? 0 : fes.begin()->first;
        out += "pcm.!default {\n\ttype plug\n\tslave.pcm { type dynpcm device " + std::to_string(first) +
               " socket " + quote(socket) + " }\n" + hint(first, "Default") + "}\n";
    }
    for (const auto& [dev, fe] : fes)
        out += "pcm.dynpcm_" + std::to_string(dev) + " {\n\ttype dynpcm\n\tdevice " + std::to_string(dev) +
               "\n\tsocket " + quote(socket) + "\n" + hint(dev, "") + "}\n";
    return out;
}

int run_exec(const std::string& socket_given, const std::vector<std::string>& command) {
    if (command.empty()) {
        fmt::print(stderr, "exec: give a command after '--', e.g. dynpcm exec -- amixer contents\n");
        return kExitBadInput;
    }
    auto path = resolve_socket(socket_given);
    if (!path) {
        fmt::print(stderr, "{}\n", path.error().message());
        return kExitBadInput;
    }
    std::error_code ec;
    const std::string socket = fs::absolute(*path, ec).string();
    std::string routes;
    {
        // Fail here, with the daemon's own words, rather than inside the child's first open.
        auto c = Client::connect(socket, "dynpcm exec");
        auto r = c ? (*c)->text(Type::Routes) : Result<std::string>(std::move(c).error());
        if (!r) {
            fmt::print(stderr, "{}\n", r.error().message());
            return kExitFailed;
        }
        routes = std::move(*r);
    }
    const auto plugin = find_plugin("libasound_module_ctl_dynpcm.so");
    const auto pcm_plugin = find_plugin("libasound_module_pcm_dynpcm.so");
    if (!plugin || !pcm_plugin) {
        fmt::print(stderr, "exec: libasound_module_{}_dynpcm.so is in none of $DYNPCM_PLUGIN_DIR, {}, {}\n",
                   plugin ? "pcm" : "ctl", (self_dir() / ".." / "plugin").string(), DYNPCM_ALSA_PLUGIN_DIR);
        return kExitFailed;
    }
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = fmt::format("{}/dynpcm-exec-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!::mkdtemp(tmpl.data())) {
        fmt::print(stderr, "exec: cannot make a temporary directory: {}\n", std::strerror(errno));
        return kExitFailed;
    }
    const fs::path dir = tmpl;
    {
        std::ofstream a(dir / "asound.conf");
        a << "# Made by 'dynpcm exec' for one child: card 0 and the default card are dynpcmd's.\n"
          << "ctl_type.dynpcm { lib " << quote(plugin->string()) << " }\n"
          << "ctl.!hw {\n\t@args [ CARD ]\n\t@args.CARD { type string default \"0\" }\n\ttype dynpcm\n\tcard $CARD\n"
          << "\tsocket " << quote(socket) << "\n}\n"
          << "ctl.!default { type dynpcm socket " << quote(socket) << " }\n"
          << "ctl.dynpcm { type dynpcm socket " << quote(socket) << " }\n"
          << pcm_config(socket, *pcm_plugin, routes);
    }
    const char* ucm_env = std::getenv("ALSA_CONFIG_UCM2");
    make_ucm_tree(dir / "ucm2", ucm_env && *ucm_env ? fs::path(ucm_env) : fs::path("/usr/share/alsa/ucm2"), socket, *plugin,
                  *pcm_plugin);
    // alsa.conf loads /etc/asound.conf and ~/.asoundrc from its @hooks, after every file of
    // ALSA_CONFIG_PATH; so ours is loaded by a hook of its own, after those, and wins over a
    // user's own default (which it leaves untouched).
    {
        std::ofstream h(dir / "hook.conf");
        h << "@hooks.1 { func load files [ " << quote((dir / "asound.conf").string()) << " ] errors false }\n";
    }
    const char* top = std::getenv("ALSA_CONFIG_PATH");
    const std::string config_path =
        fmt::format("{}:{}", top && *top ? top : "/usr/share/alsa/alsa.conf", (dir / "hook.conf").string());

    // Signals sent to exec go to the child too, and the child gets SIGTERM if exec dies, so
    // that killing exec by its PID never leaves a program running against the daemon.
    sigset_t forward, old_mask;
    sigemptyset(&forward);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&forward, sig);
    sigprocmask(SIG_BLOCK, &forward, &old_mask);
    // An inherited SIG_IGN for SIGCHLD would reap the child unseen; waitpid needs it.
    ::signal(SIGCHLD, SIG_DFL);
    const pid_t parent = ::getpid();
    const pid_t child = ::fork();
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &old_mask, nullptr);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) ::_exit(128 + SIGTERM);  // exec died before prctl
        ::setenv("ALSA_CONFIG_PATH", config_path.c_str(), 1);
        ::setenv("ALSA_CONFIG_UCM2", (dir / "ucm2").c_str(), 1);
        ::setenv("DYNPCM_SOCKET", socket.c_str(), 1);
        std::vector<char*> argv;
        for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        fmt::print(stderr, "exec: cannot run '{}': {}\n", command[0], std::strerror(errno));
        ::_exit(127);
    }
    if (child < 0) {
        fmt::print(stderr, "exec: fork: {}\n", std::strerror(errno));
        fs::remove_all(dir, ec);
        return kExitFailed;
    }
    // Wait for the child, passing on every signal exec gets (a terminal's Ctrl-C reaches both;
    // the child decides what it means), then clean up.
    sigaddset(&forward, SIGCHLD);
    sigprocmask(SIG_BLOCK, &forward, nullptr);
    int status = 0;
    for (;;) {
        const pid_t w = ::waitpid(child, &status, WNOHANG);
        if (w == child || (w < 0 && errno == ECHILD)) break;
        siginfo_t si{};
        if (::sigwaitinfo(&forward, &si) < 0) continue;
        // A terminal's signals (SI_KERNEL) reach the whole process group already.
        if (si.si_signo != SIGCHLD && si.si_code != SI_KERNEL) ::kill(child, si.si_signo);
    }
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    fs::remove_all(dir, ec);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return kExitFailed;
}

// ---- top -------------------------------------------------------------------------------------

std::string render_top(const nlohmann::json& s) {
    std::string out = fmt::format("dynpcmd pid {}  card '{}' (id {})  up {:.0f} s  clock {} wakeups, {} late{}\n\n",
                                  s["pid"].get<int>(), s["card"]["name"].get<std::string>(), s["card"]["id"].get<std::string>(),
                                  s["uptime_s"].get<double>(), s["clock"]["wakeups"].get<uint64_t>(),
                                  s["clock"]["late"].get<uint64_t>(), s["clock"]["sched_fifo"].get<bool>() ? "" : " (no SCHED_FIFO)");
    out += fmt::format("{:<4} {:<34} {:<10} {:<10} {:>6} {:>10}  {}\n", "DEV", "FE", "PCM", "DPCM", "XRUNS", "HW_PTR", "CLIENT / BEs");
    for (const auto& fe : s["frontends"]) {
        std::vector<std::string> bes;
        for (const auto& be : fe["backends"])
            bes.push_back(fmt::format("{} {} (users {})", be["name"].get<std::string>(), be["state"].get<std::string>(),
                                      be["users"].get<uint32_t>()));
        out += fmt::format("{:<4} {:<34} {:<10} {:<10} {:>6} {:>10}  {}{}\n", fe.value("device", 0),
                           fe["name"].get<std::string>() + "/" + fe["stream"].get<std::string>(),
                           fe["pcm_state"].get<std::string>(), fe["state"].get<std::string>(), fe.value("xruns", 0),
                           fe.value("hw_ptr", 0), fe.contains("client") ? fe["client"].get<std::string>() + ": " : "",
                           fmt::join(bes, ", "));
    }
    if (s["frontends"].empty()) out += "     (no FE open)\n";
    out += fmt::format("\n{:<5} {:<24} {:>8} {:>9} {:>8}  {}\n", "ID", "CLIENT", "PID", "REQUESTS", "QUEUED", "FEs");
    for (const auto& c : s["clients"])
        out += fmt::format("{:<5} {:<24} {:>8} {:>9} {:>8}  {}{}\n", c["id"].get<uint64_t>(), c["name"].get<std::string>(),
                           c["pid"].get<int>(), c["requests"].get<uint64_t>(), c["queued_bytes"].get<uint64_t>(),
                           fmt::join(c["fes"].get<std::vector<std::string>>(), ", "), c["subscribed"].get<bool>() ? " [events]" : "");
    if (!s["be_xruns"].empty()) {
        out += "\nBE xruns:";
        for (const auto& [be, n] : s["be_xruns"].items()) out += fmt::format(" {} {}", be, n.get<uint64_t>());
        out += "\n";
    }
    return out;
}

int run_top(const std::string& socket, bool once, bool as_json, int interval_ms) {
    auto client = connect_or_exit(socket);
    const bool tty = ::isatty(STDOUT_FILENO) != 0;
    for (;;) {
        auto t = client->text(Type::Status);
        if (!t) {
            fmt::print(stderr, "{}\n", t.error().message());
            return once ? kExitFailed : kExitOk;  // the daemon went away: top ends
        }
        if (as_json) fmt::print("{}\n", *t);
        else fmt::print("{}{}", tty && !once ? "\x1b[H\x1b[2J" : "", render_top(nlohmann::json::parse(*t)));
        std::fflush(stdout);
        if (once) return kExitOk;
        std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    }
}

int run_jack(const std::string& socket, const std::string& verb, const std::vector<std::string>& pins,
             const std::string& be) {
    if ((verb != "plug" && verb != "unplug") || pins.empty() == be.empty()) {
        fmt::print(stderr, "jack: 'plug PIN...', 'unplug PIN...', or 'plug|unplug --be BE'\n");
        return kExitBadInput;
    }
    auto client = connect_or_exit(socket);
    const uint32_t seq = client->next_seq();
    auto r = client->call(encode(Jack{verb == "plug", pins, be}, seq), seq);
    if (!r) fail(r.error());
    return kExitOk;
}

}  // namespace

int remote_dump(const std::string& socket, bool as_json) {
    auto client = connect_or_exit(socket);
    const std::string t = text_or_exit(*client, Type::Dump, as_json);
    fmt::print("{}{}", t, t.ends_with('\n') ? "" : "\n");
    return kExitOk;
}

void add_daemon_commands(CLI::App& app) {
    {
        auto socket = std::make_shared<std::string>();
        auto command = std::make_shared<std::vector<std::string>>();
        CLI::App* sub = app.add_subcommand(
            "exec", "Run an ALSA program with dynpcmd's card as card 0 and the default: 'dynpcm exec -- amixer contents'");
        sub->add_option("--socket", *socket, "The daemon's socket (default: $DYNPCM_SOCKET, or the only daemon running)");
        sub->add_option("COMMAND", *command, "The program and its arguments (after --)")->required();
        sub->callback([socket, command] { throw Exit{run_exec(*socket, *command)}; });
    }
    {
        auto socket = std::make_shared<std::string>();
        auto once = std::make_shared<bool>(false);
        auto as_json = std::make_shared<bool>(false);
        auto interval = std::make_shared<int>(1000);
        CLI::App* sub = app.add_subcommand("top", "FEs, BEs, states, xruns and clients of a running dynpcmd, updating live");
        sub->add_option("--socket", *socket, "The daemon's socket (default: $DYNPCM_SOCKET, or the only daemon running)");
        sub->add_flag("--once", *once, "Print once and exit");
        sub->add_flag("--json", *as_json, "Print the daemon's status JSON");
        sub->add_option("--interval", *interval, "Milliseconds between updates")->check(CLI::Range(50, 60000));
        sub->callback([=] { throw Exit{run_top(*socket, *once, *as_json, *interval)}; });
    }
    {
        auto socket = std::make_shared<std::string>();
        auto verb = std::make_shared<std::string>();
        auto pins = std::make_shared<std::vector<std::string>>();
        CLI::App* sub = app.add_subcommand("jack", "Plug or unplug jack pins on a running dynpcmd: 'dynpcm jack plug Headphone'");
        sub->add_option("--socket", *socket, "The daemon's socket (default: $DYNPCM_SOCKET, or the only daemon running)");
        sub->add_option("VERB", *verb, "plug or unplug")->required();
        auto be = std::make_shared<std::string>();
        sub->add_option("PIN", *pins, "Jack pins (DAPM endpoints with a pin switch)");
        sub->add_option("--be", *be, "Instead of pins: the device behind this BE (a sim backend) appears or vanishes");
        sub->callback([=] { throw Exit{run_jack(*socket, *verb, *pins, *be)}; });
    }
}

}  // namespace dynpcm::cli

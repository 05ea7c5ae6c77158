// `dynpcm run CARD SCENARIO`: runs a scenario and prints its timeline and expectations.

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "card_source.h"
#include "daemon_commands.h"
#include "commands.h"
#include "dynpcm/scenario/runner.h"

namespace dynpcm::cli {

namespace {

struct RunArgs {
    std::vector<std::string> files;
    CardSource card;  // the CARD of `files`, or --tplg/--overlay
    std::string scenario_file;
    bool realtime = false;
    bool no_drift_compensation = false;
    std::string out_dir;
    std::string trace_file;
    bool json = false;
    bool quiet = false;
    std::string socket;
};

int run(const RunArgs& a) {
    auto sl = scenario::load_scenario_file(a.scenario_file);
    if (!sl.ok()) {
        for (const auto& e : sl.errors) fmt::print(stderr, "{}\n", e);
        return kExitBadInput;
    }
    const scenario::Scenario& sc = *sl.scenario;
    // The card: the one given, the topology, or the scenario's own (relative to the scenario file).
    CardSource card = a.card;
    if (card.card_file.empty() && card.tplg_file.empty()) {
        if (sc.card.empty()) {
            fmt::print(stderr, "{}: names no card; give one: dynpcm run CARD {} (or --tplg FILE)\n", a.scenario_file,
                       a.scenario_file);
            return kExitBadInput;
        }
        const std::filesystem::path p(sc.card);
        card.card_file = p.is_relative() ? (std::filesystem::path(a.scenario_file).parent_path() / p).string() : sc.card;
    }
    CardLoad cl = card.load_card(false);
    if (!cl.ok()) {
        for (const auto& e : cl.errors) fmt::print(stderr, "{}\n", e);
        return kExitBadInput;
    }
    scenario::RunOptions o;
    o.realtime = a.realtime;
    o.drift_compensation = !a.no_drift_compensation;
    o.out_dir = a.out_dir;
    o.trace_file = a.trace_file;
    const bool tty = isatty(fileno(stderr)) != 0;
    bool progress_shown = false;
    if (!a.json && !a.quiet)
        o.on_line = [&](const std::string& line) {
            if (progress_shown) fmt::print(stderr, "\r\033[K");
            progress_shown = false;
            fmt::print("{}\n", line);
            std::fflush(stdout);
        };
    const auto started = std::chrono::steady_clock::now();
    o.on_progress = [&](double now, double end) {
        // Only runs longer than a second of wall time show progress.
        if (a.json || std::chrono::steady_clock::now() - started < std::chrono::seconds(1)) return;
        if (tty) {
            fmt::print(stderr, "\r  {:.1f} / {:.1f} s", now, end);
            progress_shown = true;
        } else {
            fmt::print(stderr, "  {:.1f} / {:.1f} s\n", now, end);
        }
    };
    auto r = scenario::run_scenario(sc, std::move(cl.card), o);
    if (progress_shown) fmt::print(stderr, "\r\033[K");
    if (!r) {
        fmt::print(stderr, "{}\n", r.error().message());
        return kExitBadInput;
    }
    const scenario::RunReport& rep = *r;
    using V = scenario::RunReport::Verdict;
    const int exit_code = rep.verdict() == V::Pass ? kExitOk : rep.verdict() == V::Fail ? kExitFailed : kExitNoRealTime;
    if (a.json) {
        fmt::print("{}\n", rep.to_json());
        return exit_code;
    }
    size_t passed = 0;
    for (const auto& c : rep.checks) passed += c.ok ? 1 : 0;
    if (rep.verdict() == V::NoRealTime)
        fmt::print("\nDID NOT KEEP REAL TIME: {}\n(the expectations below ran on a machine that did not give the run "
                   "the time it needed; they say nothing about the engine)\n",
                   rep.timekeeping.summary());
    fmt::print("\n{}: {} of {} expectations hold{} ({:.2f} s of wall time)\n", rep.ok() ? "PASS" : "FAIL", passed,
               rep.checks.size(),
               rep.failed_steps.empty() ? "" : fmt::format(", {} step(s) failed", rep.failed_steps.size()),
               rep.wall_seconds);
    for (const auto& c : rep.checks)
        if (!c.ok) fmt::print("  ✗ {}\n", c.text);
    for (const auto& c : rep.failed_steps) fmt::print("  ✗ {}\n", c.text);
    if (!rep.lost.empty()) {
        fmt::print("lost audio (frames discarded, docs/DATA_PATH.md \"Lost frames\"):\n");
        for (const auto& l : rep.lost)
            fmt::print("  {}{}: {}\n", l.fe.empty() ? "BE " + l.be : "FE " + l.fe,
                       l.fe.empty() || l.be.empty() ? (l.fe.empty() ? "" : " (its ring)") : " -> " + l.be, l.frames);
    }
    if (!rep.files.empty()) {
        fmt::print("wrote:\n");
        for (const auto& f : rep.files) fmt::print("  {}\n", f);
        if (!a.trace_file.empty()) fmt::print("open the trace in https://ui.perfetto.dev or chrome://tracing\n");
    }
    return exit_code;
}

}  // namespace

void add_run(CLI::App& app) {
    auto args = std::make_shared<RunArgs>();
    CLI::App* sub = app.add_subcommand("run", "Run a scenario against a card: a timeline of steps and expectations");
    sub->add_option("files", args->files,
                    "[CARD] SCENARIO: the card file may be left out when the scenario names it or --tplg gives one")
        ->expected(1, 2)
        ->required();
    sub->add_flag("--realtime", args->realtime, "Run in real time on the SCHED_FIFO clock thread (default: virtual time)");
    sub->add_option("--out", args->out_dir, "Write each BE's output (and read steps' files) as WAV into this directory");
    sub->add_option("--trace", args->trace_file, "Write a Chrome trace-event JSON file (Perfetto, chrome://tracing)");
    sub->add_flag("--no-drift-compensation", args->no_drift_compensation,
                  "BEs on crystals of their own play at their FE's driver's pace, unsteered (to see what it prevents)");
    sub->add_flag("--json", args->json, "Print the report as JSON instead of the timeline");
    sub->add_flag("-q,--quiet", args->quiet, "Print only the summary");
    args->card.add_tplg_options(*sub);
    sub->add_option("--socket", args->socket, "Run the scenario's control and jack steps against the dynpcmd listening "
                                              "here (its card; in real time)");
    sub->callback([args] {
        args->scenario_file = args->files.back();
        if (!args->socket.empty()) {
            if (args->files.size() != 1) {
                fmt::print(stderr, "run --socket: give only the scenario; the daemon has the card\n");
                throw Exit{kExitBadInput};
            }
            throw Exit{remote_run(args->socket, args->scenario_file)};
        }
        if (args->files.size() == 2) args->card.card_file = args->files.front();
        throw Exit{run(*args)};
    });
}

}  // namespace dynpcm::cli

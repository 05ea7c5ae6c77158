// bench_report: turns the Google Benchmark JSON files of one bench/run into the markdown
// tables of docs/PERFORMANCE.md (with the machine's details and each target met or missed),
// and optionally one combined JSON document.
//
//   bench_report [--json OUT.json] [--doc docs/PERFORMANCE.md] RESULT.json...
//
// Prints the tables. With --doc, replaces what lies between the results markers in that file.

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

struct Run {
    std::string name;  // without the aggregate suffix
    json j;
};

std::vector<Run> runs;
json context;

std::string base_name(const json& b) {
    std::string n = b.value("run_name", b.value("name", ""));
    return n;
}

// The run whose name starts with `prefix`: its median aggregate when repeated.
const json* pick(const std::string& prefix) {
    const json* plain = nullptr;
    for (const auto& r : runs) {
        if (r.name.rfind(prefix, 0) != 0) continue;
        const std::string agg = r.j.value("aggregate_name", "");
        if (agg == "median") return &r.j;
        if (agg.empty() && !plain) plain = &r.j;
    }
    return plain;
}

double num(const json* b, const std::string& key) {
    if (!b || !b->contains(key) || !(*b)[key].is_number()) return std::nan("");
    return (*b)[key].get<double>();
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

std::string fmt_ns(double ns) {
    if (std::isnan(ns)) return "—";
    if (ns >= 1e6) return fmt::format("{:.2f} ms", ns / 1e6);
    if (ns >= 1e4) return fmt::format("{:.1f} µs", ns / 1e3);
    return fmt::format("{:.0f} ns", ns);
}

std::string ok(bool met) { return met ? "met" : "**missed**"; }

std::string machine() {
    utsname u{};
    uname(&u);
    std::string caches;
    for (const auto& c : context.value("caches", json::array()))
        caches += fmt::format("{}L{} {} KiB{}", caches.empty() ? "" : ", ", c.value("level", 0), c.value("size", 0) / 1024,
                              c.value("num_sharing", 1) > 1 ? " (shared)" : "");
    return fmt::format("{} — {} CPUs at {} MHz; caches {}; Linux {} {}; dynpcm built Release by bench/run; run {}",
                       cpu_model(), context.value("num_cpus", 0), context.value("mhz_per_cpu", 0), caches, u.release,
                       u.machine, context.value("date", "?"));
}

const char* kDesigns[] = {"dynpcm", "kernel 2019 (card spinlock)", "kernel 2021 (FE + BE stream locks)", "mutex",
                          "unprotected, no writer"};

std::string latency_section() {
    std::ostringstream o;
    const double timer_ns = num(pick("BM_TimerOverhead"), "p50_ns");
    o << "### (a) Interrupt-path latency\n\n"
      << "One sample: period elapsed → pointer update → xrun → FE stop → walk of the FE's BE links → each BE's "
         "trigger. Times include two `steady_clock` reads (" << fmt_ns(timer_ns)
      << " by themselves, median). \"churn\": a second thread connects and disconnects a BE as fast as the design "
         "lets it. Ratios are p50 against the unprotected walk and each percentile against dynpcm's.\n\n";
    o << "| design | BEs | writer | p50 | p99 | p99.9 | max | route changes | p50 ÷ unprotected | ÷ dynpcm (p50 / p99.9 / max) |\n"
      << "|---|---|---|---|---|---|---|---|---|---|\n";
    auto get = [&](int d, int n, int churn) { return pick(fmt::format("BM_InterruptFanOut/design:{}/bes:{}/churn:{}/", d, n, churn)); };
    std::vector<std::string> verdicts;
    for (int n : {1, 4, 16}) {
        const json* unprot = get(4, n, 0);
        for (int churn : {0, 1})
            for (int d = 0; d < 5; ++d) {
                if (d == 4 && churn) continue;
                const json* b = get(d, n, churn);
                if (!b) continue;
                const json* mine = get(0, n, churn);
                const double p50 = num(b, "p50_ns"), p999 = num(b, "p999_ns"), mx = num(b, "max_ns");
                o << fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {:.2f}× | {} |\n", kDesigns[d], n,
                                 churn ? "churn" : "idle", fmt_ns(p50), fmt_ns(num(b, "p99_ns")), fmt_ns(p999), fmt_ns(mx),
                                 churn ? fmt::format("{:.0f}", num(b, "route_changes")) : "—", p50 / num(unprot, "p50_ns"),
                                 d == 0 ? "1" : fmt::format("{:.2f} / {:.2f} / {:.2f}", p50 / num(mine, "p50_ns"),
                                                            p999 / num(mine, "p999_ns"), mx / num(mine, "max_ns")));
            }
        // Targets for this fan-out width.
        const json* idle = get(0, n, 0);
        const json* busy = get(0, n, 1);
        const bool tail = num(busy, "p999_ns") <= 1.5 * num(idle, "p999_ns");
        const bool max = num(busy, "max_ns") <= 1.5 * num(idle, "max_ns");
        bool no_worse = true;
        for (int churn : {0, 1})
            for (int d : {1, 2})
                for (const char* k : {"p50_ns", "p99_ns", "p999_ns", "max_ns"})
                    no_worse = no_worse && num(get(0, n, churn), k) <= num(get(d, n, churn), k);
        const bool near_limit = num(idle, "p50_ns") <= 2 * num(unprot, "p50_ns");
        verdicts.push_back(fmt::format(
            "- {} BE(s): p99.9 under churn {} vs {} idle (≤ 1.5×: {}); max {} vs {} (≤ 1.5×: {}); no worse than either "
            "kernel design at any percentile: {}; p50 {} vs the unprotected walk's {} (≤ 2×: {}).",
            n, fmt_ns(num(busy, "p999_ns")), fmt_ns(num(idle, "p999_ns")), ok(tail), fmt_ns(num(busy, "max_ns")),
            fmt_ns(num(idle, "max_ns")), ok(max), ok(no_worse), fmt_ns(num(idle, "p50_ns")), fmt_ns(num(unprot, "p50_ns")),
            ok(near_limit)));
    }
    o << "\nTargets:\n\n";
    for (const auto& v : verdicts) o << v << "\n";
    return o.str();
}

std::string simulation_section() {
    std::ostringstream o;
    const json* b = pick("BM_Simulation/fes:16/bes:8");
    const double x = num(b, "audio_s_per_wall_s");
    o << "### (b) Simulation speed\n\n16 FEs (48 kHz stereo S16, each kept fed by its \"application\") on 8 BEs "
         "(null backends), virtual time, every period mixed: **"
      << fmt::format("{:.0f}× real time", x) << "** (target 1000×: " << ok(x >= 1000) << ").\n";
    return o.str();
}

std::string mixing_section() {
    std::ostringstream o;
    o << "### (c) Mixing throughput\n\nN FE periods (1024 stereo float frames each) mixed into one BE bus as the BE "
         "stage mixes them, against a memcpy of the same bytes, one core. At unity gain the first FE is copied into the "
         "bus and the others added; at another gain (0.5 here) the bus is cleared and each FE added with its gain.\n\n"
         "| N | gain | mix | memcpy | mix ÷ memcpy | target ≥ 50% |\n|---|---|---|---|---|---|\n";
    for (int unity : {1, 0})
        for (int n : {1, 4, 16}) {
            const json* m = pick(fmt::format("BM_Mix/fes:{}/unity:{}", n, unity));
            const json* c = pick(fmt::format("BM_Memcpy/{}", n));
            const double mb = num(m, "bytes_per_second"), cb = num(c, "bytes_per_second");
            o << fmt::format("| {} | {} | {:.2f} GB/s ({:.0f} M frames/s) | {:.2f} GB/s | {:.0f}% | {} |\n", n,
                             unity ? "1" : "0.5", mb / 1e9, num(m, "frames_per_s") / 1e6, cb / 1e9, 100 * mb / cb,
                             ok(mb >= 0.5 * cb));
        }
    return o.str();
}

std::string dapm_section() {
    std::ostringstream o;
    o << "### (d) DAPM update cost\n\nOne mixer switch flipped, then power re-evaluated, in graphs of chains "
         "(mic → PGA → mixer → speaker).\n\n| widgets | incremental | widgets checked | full recomputation | full ÷ incremental |\n"
         "|---|---|---|---|---|\n";
    double first = std::nan(""), last = std::nan("");
    for (int w : {100, 1000, 10000}) {
        const json* inc = pick(fmt::format("BM_DapmUpdate/widgets:{}/full:0", w));
        const json* full = pick(fmt::format("BM_DapmUpdate/widgets:{}/full:1", w));
        const double ti = num(inc, "real_time"), tf = num(full, "real_time");
        if (std::isnan(first)) first = ti;
        last = ti;
        o << fmt::format("| {} | {} | {:.0f} | {} | {:.0f}× |\n", w, fmt_ns(ti), num(inc, "widgets_checked"), fmt_ns(tf), tf / ti);
    }
    o << fmt::format("\nIncremental cost from 100 to 10,000 widgets grows {:.2f}× for 100× the graph (sub-linear: {}).\n",
                     last / first, ok(last / first < 100));
    return o.str();
}

std::string route_section() {
    std::ostringstream o;
    o << "### (e) Route switch latency\n\nA running FE moved from one BE to another by two control writes (the new "
         "input on, the old off), in virtual time: the writes' wall time, and the stream time until the new BE "
         "receives the FE's audio.\n\n| BE period | control writes (wall) | to audio at the new BE | in BE periods (mean / worst) | target ≤ 1 period |\n"
         "|---|---|---|---|---|\n";
    for (int p : {256, 1024}) {
        const json* b = pick(fmt::format("BM_RouteSwitch/period:{}", p));
        // The stream is advanced 1/48 ms at a time, so a time is known to within one such step.
        const double step = 20.834 / (1e6 * p / 48000.0);
        o << fmt::format("| {} frames | {:.0f} µs | {:.0f} µs | {:.2f} / {:.2f} | {} |\n", p, num(b, "put_us"),
                         num(b, "to_audio_us"), num(b, "to_audio_periods"), num(b, "worst_periods"),
                         ok(num(b, "worst_periods") <= 1.0 + step));
    }
    o << "\nTimes are found by advancing the stream 1/48 ms at a time: each is known to within 21 µs.\n";
    return o.str();
}

std::string topology_section() {
    std::ostringstream o;
    o << "### (f) Topology loading\n\nA topology binary (compiled once with alsatplg) parsed from memory, and a card "
         "built from the parsed topology (no overlay): widgets, controls, FE links, routes, the DAPM graph's first "
         "power evaluation.\n\n| topology | size | parse | parse rate | card build | widgets |\n|---|---|---|---|---|---|\n";
    for (int f : {0, 1}) {
        const json* p = pick(fmt::format("BM_TopologyParse/file:{}", f));
        const json* c = pick(fmt::format("BM_TopologyCard/file:{}", f));
        if (!p || !c) continue;
        o << fmt::format("| {} | {:.1f} KB | {} | {:.0f} MB/s | {} | {:.0f} |\n", f == 0 ? "examples/topology/dsp.conf" : "Debian's skl_hda_dsp_generic-tplg.conf",
                         num(p, "file_bytes") / 1024, fmt_ns(num(p, "real_time") * 1000), num(p, "bytes_per_second") / 1e6,
                         fmt_ns(num(c, "real_time") * 1000), num(c, "widgets"));
    }
    return o.str();
}

}  // namespace

int main(int argc, char** argv) {
    std::string json_out, doc;
    std::vector<std::string> inputs;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--json" && i + 1 < argc) json_out = argv[++i];
        else if (a == "--doc" && i + 1 < argc) doc = argv[++i];
        else inputs.push_back(a);
    }
    json all;
    for (const auto& path : inputs) {
        std::ifstream in(path);
        if (!in) {
            std::cerr << "bench_report: cannot read " << path << "\n";
            return 2;
        }
        // Google Benchmark writes NaN (a counter's coefficient of variation over zeros), which
        // is not JSON: read it as null.
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string text = std::regex_replace(ss.str(), std::regex(R"(:\s*-?(nan|NaN|inf|Infinity)\b)"), ": null");
        json j = json::parse(text, nullptr, false);
        if (j.is_discarded()) {
            std::cerr << "bench_report: " << path << " is not JSON\n";
            return 2;
        }
        if (context.is_null()) context = j["context"];
        for (const auto& b : j["benchmarks"]) runs.push_back({base_name(b), b});
        all[path] = j;
    }
    std::ostringstream md;
    md << "Measured on: " << machine() << ".\n\n"
       << latency_section() << "\n" << simulation_section() << "\n" << mixing_section() << "\n" << dapm_section() << "\n"
       << route_section() << "\n" << topology_section();
    std::cout << md.str();
    if (!json_out.empty()) std::ofstream(json_out) << all.dump(2);
    if (!doc.empty()) {
        std::ifstream in(doc);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string text = ss.str();
        const std::string begin = "<!-- results:begin -->", end = "<!-- results:end -->";
        const auto a = text.find(begin), b = text.find(end);
        if (a == std::string::npos || b == std::string::npos || b < a) {
            std::cerr << "bench_report: " << doc << " has no results markers\n";
            return 2;
        }
        text = text.substr(0, a + begin.size()) + "\n" + md.str() + "\n" + text.substr(b);
        std::ofstream(doc) << text;
    }
    return 0;
}

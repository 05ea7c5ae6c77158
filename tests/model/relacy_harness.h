#pragma once
/// Shared harness for the Relacy model tests: runs a test suite under a given scheduler,
/// captures Relacy's report, and checks an expected verdict (pass, or a given failure kind).
///
/// Include after the dynpcm headers under test and before any test code: it includes the
/// standard headers it needs, then relacy_policy.h (which includes <relacy/relacy.hpp>, whose
/// macros redefine `new`, `delete`, `assert`, `memory_order_*` for everything after it).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <new>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

namespace dynpcm::model {

/// Holds a T at its full alignment inside an object that may be less aligned. Relacy
/// allocates each test suite with malloc (16-byte alignment), and the dynpcm types are
/// alignas(64). Defined before <relacy/relacy.hpp>, so this placement new is the plain one.
template <class T>
class InPlace {
public:
    InPlace() : p_(::new (aligned()) T()) {}
    ~InPlace() { p_->~T(); }
    InPlace(const InPlace&) = delete;
    InPlace& operator=(const InPlace&) = delete;
    T& operator*() noexcept { return *p_; }
    T* operator->() noexcept { return p_; }

private:
    void* aligned() noexcept {
        auto a = reinterpret_cast<std::uintptr_t>(static_cast<void*>(buf_));
        a = (a + alignof(T) - 1) & ~(std::uintptr_t{alignof(T)} - 1);
        return reinterpret_cast<void*>(a);
    }
    unsigned char buf_[sizeof(T) + alignof(T)];
    T* p_;
};

/// An output buffer that never allocates. While a Relacy context exists, every operator new /
/// delete goes to Relacy's own heap, so an ostringstream that grows during (or was allocated
/// before) the simulation makes Relacy abort with "incorrect address passed to free()". Relacy
/// writes its report here instead; a full buffer truncates.
class FixedBuf : public std::streambuf {
public:
    explicit FixedBuf(size_t capacity) : data_(capacity) { setp(data_.data(), data_.data() + data_.size()); }
    std::string str() const { return std::string(pbase(), pptr()); }

protected:
    int_type overflow(int_type) override { return traits_type::eof(); }

private:
    std::vector<char> data_;
};

}  // namespace dynpcm::model

#include "relacy_policy.h"

namespace dynpcm::model {

enum class Search { Full, Random, ContextBound };

struct Run {
    const char* name;
    Search search;
    unsigned long long iterations;  // random search only: how many schedules
    unsigned context_bound = 2;     // context-bound search only: preemptions per schedule
    unsigned depth_limit = 4000;    // Relacy's execution depth limit (livelock detector)
};

struct Expect {
    bool pass;                       // true: Relacy must report success over the whole search
    std::vector<rl::test_result_e> failures;  // if !pass: any of these failure kinds
};

inline const char* search_name(Search s) {
    switch (s) {
        case Search::Full: return "full search";
        case Search::Random: return "random";
        case Search::ContextBound: return "context-bound search";
    }
    return "?";
}

/// The part of a Relacy failure report that shows the interleaving: the execution history
/// after the test's constructor and before() (setup noise), at most `max_lines` of its end.
inline std::string counterexample(const std::string& report, size_t max_lines) {
    std::istringstream in(report);
    std::vector<std::string> lines;
    std::string line;
    bool history = false;
    while (std::getline(in, line)) {
        if (line.find("execution history") != std::string::npos) {
            history = true;
            continue;
        }
        if (!history) continue;
        if (line.empty() || line.find("thread ") == 0) break;  // end of history; per-thread dumps follow
        if (line.find("[BEFORE END]") != std::string::npos) {
            lines.clear();
            continue;
        }
        lines.push_back(line);
    }
    std::string out;
    const size_t from = lines.size() > max_lines ? lines.size() - max_lines : 0;
    if (from > 0) out += "      ... (" + std::to_string(from) + " earlier events)\n";
    for (size_t i = from; i < lines.size(); ++i) out += "      " + lines[i] + "\n";
    return out;
}

/// Runs Test under `run`, prints one summary line (plus the counterexample on a failure), and
/// returns whether the verdict matches `expect`.
template <class Test>
bool check(const Run& run, const Expect& expect) {
    rl::test_params p;
    FixedBuf buf(size_t{8} << 20);
    std::ostream report(&buf);
    p.output_stream = &report;
    p.progress_stream = &report;
    p.progress_output_period = 1000000;
    p.execution_depth_limit = run.depth_limit;
    switch (run.search) {
        case Search::Full: p.search_type = rl::fair_full_search_scheduler_type; break;
        case Search::Random:
            p.search_type = rl::random_scheduler_type;
            p.iteration_count = run.iterations;
            break;
        case Search::ContextBound:
            p.search_type = rl::fair_context_bound_scheduler_type;
            p.context_bound = run.context_bound;
            break;
    }
    const auto t0 = std::chrono::steady_clock::now();
    (void)rl::simulate<Test>(p);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

    const bool passed = p.test_result == rl::test_result_success;
    bool ok = false;
    if (expect.pass) {
        ok = passed;
    } else {
        for (rl::test_result_e f : expect.failures) ok = ok || p.test_result == f;
    }
    std::string what = search_name(run.search);
    if (run.search == Search::ContextBound) what += " (bound " + std::to_string(run.context_bound) + ")";
    if (passed) {
        std::printf("%s %s: %s, no error in %llu iterations, %.0f ms (%s)\n", ok ? "ok  " : "FAIL", run.name,
                    what.c_str(), static_cast<unsigned long long>(p.stop_iteration), ms,
                    expect.pass ? "expected: pass" : "expected: a failure");
    } else {
        std::printf("%s %s: %s, %s at iteration %llu, %.0f ms (%s)\n", ok ? "ok  " : "FAIL", run.name, what.c_str(),
                    rl::test_result_str(p.test_result), static_cast<unsigned long long>(p.stop_iteration), ms,
                    expect.pass ? "expected: pass" : "expected: this failure");
        std::printf("%s", counterexample(buf.str(), 40).c_str());
    }
    if (std::getenv("DYNPCM_RELACY_VERBOSE")) std::printf("---- Relacy report ----\n%s\n", buf.str().c_str());
    std::fflush(stdout);
    return ok;
}

}  // namespace dynpcm::model

#pragma once
// dynpcmd's log: lines on stderr, with the syslog priority prefix the journal reads
// ("<6>...") when stderr is the journal (JOURNAL_STREAM is set). Called from the control
// thread only: nothing here runs on the realtime thread (it formats and writes).

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace dynpcm::daemon {

inline bool log_to_journal() {
    static const bool j = std::getenv("JOURNAL_STREAM") != nullptr;
    return j;
}

template <typename... Args>
void log_line(int priority, const char* level, fmt::format_string<Args...> f, Args&&... args) {
    const std::string msg = fmt::format(f, std::forward<Args>(args)...);
    if (log_to_journal()) {
        fmt::print(stderr, "<{}>{}\n", priority, msg);
    } else {
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        tm t{};
        localtime_r(&ts.tv_sec, &t);
        fmt::print(stderr, "{:02}:{:02}:{:02}.{:03} dynpcmd: {}{}\n", t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000,
                   level, msg);
    }
    std::fflush(stderr);
}
template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) { log_line(6, "", f, std::forward<Args>(args)...); }
template <typename... Args>
void log_warning(fmt::format_string<Args...> f, Args&&... args) { log_line(4, "warning: ", f, std::forward<Args>(args)...); }
template <typename... Args>
void log_error(fmt::format_string<Args...> f, Args&&... args) { log_line(3, "error: ", f, std::forward<Args>(args)...); }

}  // namespace dynpcm::daemon

#pragma once
// The commands' daemon side: what `ctl`, `routes` and `dump` do with --socket.

#include <string>
#include <vector>

namespace dynpcm::cli {

/// `ctl --socket P list | get NAME | set NAME VALUE`.
int remote_ctl(const std::string& socket, const std::vector<std::string>& words, bool as_json);
/// `routes --socket P`.
int remote_routes(const std::string& socket, bool as_json);
/// `dump --socket P`: the DPCM state of every FE and BE.
int remote_dump(const std::string& socket, bool as_json);
/// `run --socket P SCENARIO`: the scenario's control, jack, dump and route/BE-state steps
/// against a running daemon, in real time.
int remote_run(const std::string& socket, const std::string& scenario_file);

}  // namespace dynpcm::cli

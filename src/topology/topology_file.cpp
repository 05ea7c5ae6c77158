// Reading a topology from disk: a .tplg as it is, a .conf compiled by alsatplg first.
// alsatplg is alsa-utils' compiler for alsa-lib's topology conf language; calling it (rather
// than linking alsa-lib's topology API) keeps one program responsible for the conf language and
// lets the user run the same command by hand to see what we saw.

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>

#include "core/read_file.h"
#include "dynpcm/topology/topology.h"

extern char** environ;

namespace dynpcm::tplg {

namespace {

Result<Topology> parse_bytes(const std::string& bytes, const std::string& name) {
    return parse_topology({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, name);
}

// A scratch directory removed with everything in it when it goes out of scope.
struct ScratchDir {
    std::string path;
    ScratchDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "dynpcm-tplg-XXXXXX").string();
        if (mkdtemp(tmpl.data())) path = tmpl;
    }
    ~ScratchDir() {
        std::error_code ec;
        if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
};

// Runs `alsatplg -c conf -o out`, its output (stdout and stderr) into `log`. Returns its exit
// status, or an error when it could not be started.
Result<int> run_alsatplg(const std::string& program, const std::string& conf, const std::string& out, const std::string& log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    std::vector<std::string> args{program, "-c", conf, "-o", out};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid;
    const int rc = posix_spawnp(&pid, program.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return Error(-rc, fmt::format("cannot run '{}': {} (it comes with alsa-utils; scripts/install-deps.sh installs it)",
                                      program, std::strerror(rc)));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return Error(-errno, fmt::format("waiting for '{}': {}", program, std::strerror(errno)));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) out.push_back(l);
    return out;
}

}  // namespace

Result<Topology> load_topology_file(const std::string& path) {
    // A .conf is read too, so that a missing or wrong file is reported as such, not as
    // alsatplg's failure.
    auto input = read_input_file(path, "topology file");
    if (!input) return std::move(input).error();
    if (std::filesystem::path(path).extension() != ".conf") return parse_bytes(*input, path);

    const char* env = std::getenv("DYNPCM_ALSATPLG");
    const std::string program = env && *env ? env : "alsatplg";
    ScratchDir dir;
    if (dir.path.empty()) return Error(-errno, fmt::format("{}: cannot make a temporary directory: {}", path, std::strerror(errno)));
    const std::string out = dir.path + "/out.tplg", log = dir.path + "/alsatplg.log";
    auto rc = run_alsatplg(program, path, out, log);
    if (!rc) return Error(rc.error().code(), fmt::format("{}: {}", path, rc.error().message()));
    const auto log_text = read_input_file(log, "log");
    const std::vector<std::string> said = lines_of(log_text ? *log_text : std::string());
    if (*rc != 0) {
        std::string msg = fmt::format("{}: {} failed (exit {})", path, program, *rc);
        for (const auto& l : said) msg += "\n  " + l;
        return Error(-EINVAL, msg);
    }
    auto bytes = read_input_file(out, "topology file");
    if (!bytes) return Error(-EIO, fmt::format("{}: {} wrote no topology ({})", path, program, bytes.error().message()));
    // Offsets in messages are into the compiled binary; name it so they can be followed up
    // with `alsatplg -c FILE.conf -o FILE.tplg`.
    auto t = parse_bytes(*bytes, path + " (compiled)");
    if (!t) return t;
    std::vector<std::string> warnings;
    for (const auto& l : said) warnings.push_back(fmt::format("{}: alsatplg: {}", path, l));
    warnings.insert(warnings.end(), t->warnings.begin(), t->warnings.end());
    t->warnings = std::move(warnings);
    t->file = path;
    return t;
}

}  // namespace dynpcm::tplg

// dynpcm: command-line front end. A thin client of the public API in include/dynpcm/.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "card_source.h"
#include "commands.h"
#include "dynpcm/version.h"

int main(int argc, char** argv) {
    CLI::App app{"dynpcm - userspace ASoC Dynamic PCM engine with a race-free interrupt path"};
    app.set_version_flag("-V,--version", fmt::format("dynpcm {}", DYNPCM_VERSION_STRING));
    app.require_subcommand(0, 1);
    dynpcm::cli::add_demo(app);
    dynpcm::cli::add_card_commands(app);
    dynpcm::cli::add_play(app);
    dynpcm::cli::add_analyze(app);
    dynpcm::cli::add_run(app);
    dynpcm::cli::add_tplg(app);
    dynpcm::cli::add_daemon_commands(app);
    try {
        app.parse(argc, argv);
    } catch (const dynpcm::cli::Exit& e) {
        return e.code;
    } catch (const CLI::ParseError& e) {
        // CLI11 exits 0 for --help/--version; bad usage is exit code 2, as for bad input.
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    if (app.get_subcommands().empty()) {
        fmt::print("{}", app.help());
        return 0;
    }
    return 0;
}

#pragma once
// Subcommands of the dynpcm tool. Each registers itself on the CLI11 app.

#include <CLI/CLI.hpp>

namespace dynpcm::cli {

/// `dynpcm demo`: a playback PCM on the simulated DMA clock, narrating its state changes.
void add_demo(CLI::App& app);
/// `dynpcm check | ctl | routes | graph`: inspect a card's routing model.
void add_card_commands(CLI::App& app);

}  // namespace dynpcm::cli

#pragma once
// Subcommands of the dynpcm tool. Each registers itself on the CLI11 app.

#include <CLI/CLI.hpp>

namespace dynpcm::cli {

/// `dynpcm demo`: a playback PCM on the simulated DMA clock, narrating its state changes.
void add_demo(CLI::App& app);
/// `dynpcm check | ctl | routes | graph`: inspect a card's routing model.
void add_card_commands(CLI::App& app);
/// `dynpcm play CARD --fe NAME FILE.wav`: play a WAV file through an FE to the BEs it is routed to.
void add_play(CLI::App& app);
/// `dynpcm analyze FILE.wav`: sound span, gaps, tone, level and clicks of a recording.
void add_analyze(CLI::App& app);
/// `dynpcm run [CARD] SCENARIO`: run a scenario (a timeline of steps and expectations).
void add_run(CLI::App& app);
/// `dynpcm tplg info | dump FILE`: what an ALSA topology binary holds.
void add_tplg(CLI::App& app);
/// `dynpcm exec | top | jack`: run programs against, watch and poke a running dynpcmd.
void add_daemon_commands(CLI::App& app);

}  // namespace dynpcm::cli

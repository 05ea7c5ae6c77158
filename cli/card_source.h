#pragma once
// Loading the card a subcommand works on, with errors printed the same way everywhere.

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "dynpcm/card/card.h"

namespace dynpcm::cli {

/// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;    ///< the check or expectation failed
inline constexpr int kExitBadInput = 2;  ///< malformed input or usage

/// The card options every card subcommand takes.
struct CardSource {
    std::string card_file;
    std::vector<std::string> sets;  ///< --set 'NAME=VALUE'

    void add_to(CLI::App& sub, bool with_sets);
    /// Loads the card and applies --set. Prints errors to stderr and returns null on failure.
    std::unique_ptr<Card> load() const;
};

/// Thrown to leave a subcommand with an exit code after printing.
struct Exit {
    int code;
};

}  // namespace dynpcm::cli

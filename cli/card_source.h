#pragma once
// Loading the card a subcommand works on, from a card file or a topology plus its overlay, with
// errors printed the same way everywhere.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "dynpcm/card/card.h"
#include "dynpcm/card/card_file.h"

namespace dynpcm::cli {

/// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;    ///< the check or expectation failed
inline constexpr int kExitBadInput = 2;  ///< malformed input or usage
inline constexpr int kExitNoRealTime = 3;  ///< a real-time run did not keep real time

/// The card options every card subcommand takes: a card file, or `--tplg FILE [--overlay FILE]`.
struct CardSource {
    std::string card_file;
    std::string tplg_file;     ///< --tplg FILE.tplg | FILE.conf
    std::string overlay_file;  ///< --overlay FILE.yaml (with --tplg)
    std::vector<std::string> sets;  ///< --set 'NAME=VALUE'
    bool verbose = false;           ///< -v: also print the load's notes

    /// CARD (optional when --tplg is given), --tplg, --overlay and, if asked, --set.
    void add_to(CLI::App& sub, bool with_sets);
    /// Only --tplg, --overlay and -v, for commands whose positionals hold the card file themselves.
    void add_tplg_options(CLI::App& sub);
    /// "no card: ..." when neither or both of CARD and --tplg are given.
    std::optional<std::string> usage_error() const;
    /// What the card comes from, for messages: "phone.yaml" or "dsp.conf + dsp-overlay.yaml".
    std::string describe() const;
    /// Loads the card (without --set). Errors (and a usage error when neither or both of CARD and
    /// --tplg are given) are in the result. Prints the load's warnings to stderr: all of them
    /// with `all_warnings`, else a count; and its notes with -v.
    CardLoad load_card(bool all_warnings) const;
    /// Loads the card and applies --set. Prints errors to stderr and returns null on failure.
    std::unique_ptr<Card> load() const;
};

/// Thrown to leave a subcommand with an exit code after printing.
struct Exit {
    int code;
};

}  // namespace dynpcm::cli

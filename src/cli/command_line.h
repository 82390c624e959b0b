// The words of a command line, split as pydoit 0.37 does (SPEC §1.2):
// loader options before the command, the command's name (or `run`),
// NAME=VALUE variables, then the command's options and the rest.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/options.h"

namespace doit::cli {

struct CommandLine {
  /// Loader options given before the command name (`doit -f x.py list`).
  std::map<std::string, Value> early_options;
  /// The command's name: the first word if it names one, else "run".
  std::string command;
  /// The command was named (`doit run x`), not implied (`doit x`).
  bool command_named = false;
  /// NAME=VALUE words, except where they are an option's value.
  std::vector<std::pair<std::string, std::string>> vars;
  /// The words left for the command: its options (parse_options) and the
  /// words after them.
  std::vector<std::string> words;
};

/// The options of the command named `name`, or nullopt when no command has
/// that name.
using CommandOptionsLookup =
    std::function<std::optional<std::vector<OptionDef>>(const std::string& name)>;

/// Splits `args` (argv without the program name). `early` are the loader
/// options accepted before the command; words that do not parse as them are
/// left for the command. `options_of` must know "run". Never throws for any
/// words (the command's options are parsed afterwards).
CommandLine split_command_line(std::vector<std::string> args, const std::vector<OptionDef>& early,
                               const CommandOptionsLookup& options_of);

}  // namespace doit::cli

#include "cli/command_line.h"

#include <exception>

namespace doit::cli {
namespace {

/// Whether `word` (an option word) takes the next word as its value, as far
/// as the command's known options tell. Unknown options are assumed to.
bool takes_value(const std::vector<OptionDef>& defs, const std::string& word) {
  if (word.find('=') != std::string::npos) return false;
  if (word.starts_with("--")) {
    const std::string name = word.substr(2);
    for (const OptionDef& d : defs) {
      if (d.long_name == name || d.inverse == name) return d.type != OptType::kBool;
    }
    return true;
  }
  if (word.size() == 2) {
    for (const OptionDef& d : defs) {
      if (d.short_name == word[1]) return d.type != OptType::kBool;
    }
    return true;
  }
  return false;  // -p4 or a cluster: the value is attached
}

}  // namespace

CommandLine split_command_line(std::vector<std::string> args, const std::vector<OptionDef>& early,
                               const CommandOptionsLookup& options_of) {
  CommandLine line;
  // 0.37: loader options before the command; ignored if they do not parse.
  try {
    Parsed parsed = parse_options(early, args);
    if (!parsed.values.empty()) {
      line.early_options = std::move(parsed.values);
      args = std::move(parsed.rest);
    }
  } catch (const std::exception&) {
  }

  // The command: the first word if it names one, else `run`.
  std::optional<std::vector<OptionDef>> defs;
  if (!args.empty()) defs = options_of(args[0]);
  if (defs) {
    line.command = args[0];
    line.command_named = true;
    args.erase(args.begin());
  } else {
    line.command = "run";
    defs = options_of(line.command);
    if (!defs) defs.emplace();
  }

  // NAME=VALUE words become variables, except when they are an option's value.
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& w = args[i];
    const bool option_value =
        i > 0 && args[i - 1].starts_with("-") && takes_value(*defs, args[i - 1]);
    const size_t eq = w.find('=');
    if (!w.starts_with("-") && eq != std::string::npos && eq > 0 && !option_value) {
      line.vars.emplace_back(w.substr(0, eq), w.substr(eq + 1));
      continue;
    }
    line.words.push_back(w);
  }
  return line;
}

}  // namespace doit::cli

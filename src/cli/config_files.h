// The configuration files of the start-up folder (SPEC §3.2-3.4):
// `pyproject.toml` ([tool.doit] tables) and `doit.cfg` (INI), merged into
// INI-like sections: "GLOBAL", one per command ("run", "list"...),
// "task:NAME", and the plugin sections (kept, not used).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cli/command.h"
#include "doit/graph.h"
#include "doit/json.h"

namespace doit::cli {

/// Read first; its [tool.doit] tables are used.
inline constexpr const char* kPyprojectFile = "pyproject.toml";
/// Read second: its values win over pyproject.toml's, key by key.
inline constexpr const char* kIniFile = "doit.cfg";

/// The keys of a section: strings from doit.cfg (null for a key without
/// value), native values (bool, number, string, array...) from TOML.
using ConfigSection = std::map<std::string, Json>;

struct ConfigFiles {
  std::map<std::string, ConfigSection> sections;

  /// The section named `name` ("GLOBAL", "run", "task:build"...), or nullptr.
  const ConfigSection* find(const std::string& name) const;
};

/// Reads pyproject.toml and doit.cfg from `dir` (files that do not exist
/// are skipped). `start_python` is called before pyproject.toml is parsed,
/// and only when its text mentions `tool.doit`; it must leave an
/// interpreter running. Without a TOML parser in that interpreter, a
/// warning is printed and the file skipped. Throws UserError naming the file
/// and line of a mistake (bad INI line, invalid TOML, a non-table in
/// [tool.doit.commands] or [tool.doit.tasks]).
ConfigFiles read_config_files(const std::filesystem::path& dir,
                              const std::function<void()>& start_python);

/// Puts the values of [GLOBAL] and of [command] (which wins) into the
/// config-file layer of `values`, for the options in `defs`; other keys
/// (`default_tasks` among them) are ignored. Strings are converted with the
/// option's type; native values are used as they are. Throws UserError
/// ("Error parsing parameter ...").
void apply_config_files(const ConfigFiles& files, const std::string& command,
                        const std::vector<OptionDef>& defs, OptionValues& values);

/// The values [task:NAME] gives to `params` (of task NAME, or of the
/// `@task_params` creator NAME), in params order: strings converted with the
/// param's type (bool words, comma lists, or the type called on the text),
/// native values as they are. Keys that name no param are ignored. Throws
/// UserError (the type rejected the text, or a choice is not allowed).
std::vector<std::pair<std::string, OptionValue>> task_config(const ConfigFiles& files,
                                                             const std::string& name,
                                                             const std::vector<ParamDef>& params);

/// Makes task_config() the values of the params of every task that has a
/// [task:NAME] section (the command line applies later and wins). Throws
/// UserError.
void apply_task_config(const ConfigFiles& files, TaskGraph& graph);

}  // namespace doit::cli

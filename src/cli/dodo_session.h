// Loading a project for a command: find the dodo file (SPEC §2), change into
// its folder, start Python, create the tasks, apply DOIT_CONFIG.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.h"
#include "doit/graph.h"
#include "doit/state_db.h"
#include "python/interpreter.h"
#include "python/loader.h"

namespace doit::cli {

struct DodoSession {
  std::unique_ptr<python::Interpreter> interpreter;
  std::string dodo_path;  ///< absolute
  /// Option values: command line, environment, DOIT_CONFIG, defaults.
  OptionValues options;
  std::unique_ptr<TaskGraph> graph;
  python::ConfigMap config;
};

/// Loads the project for `cmd`. Throws UserError (dodo not found, invalid
/// tasks...) or python::PythonTraceback.
DodoSession open_dodo(const Invocation& inv, const Command& cmd, const Parsed& parsed);

/// Opens the state database named by the options (dep_file).
std::unique_ptr<StateDb> open_state(const DodoSession& session);

/// `default_tasks` from DOIT_CONFIG, if set (an empty list is "nothing").
std::optional<std::vector<std::string>> default_tasks(const DodoSession& session);

}  // namespace doit::cli

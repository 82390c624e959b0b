// Loads a dodo file: imports it in the embedded interpreter, runs its task
// creators (doit._loader) and converts every task dict into a core Task in
// one pass, validating keys and types with pydoit's messages.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "doit/task.h"

namespace pybind11 {
class object;
}

namespace doit::python {

/// A mistake in the dodo file; printed as "ERROR: <message>", exit 3.
class DodoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A DOIT_CONFIG value as C++ sees it. Lists hold the str() of each item;
/// other objects (e.g. a reporter class) are kept as their repr in `object`.
struct ConfigValue {
  std::variant<std::monostate, bool, long long, double, std::string, std::vector<std::string>>
      value;
  bool is_object = false;
};
using ConfigMap = std::map<std::string, ConfigValue>;

struct LoadedDodo {
  /// A deque: each task stays where the loader made it.
  std::deque<Task> tasks;
  ConfigMap config;
};

/// Imports `dodo_path` (its folder first on sys.path); the module is kept
/// for the calls below. Throws DodoError, or PythonTraceback for an
/// exception in the user's code.
void import_dodo(const std::string& dodo_path);

/// The `@task_params` creators of the imported dodo file and their params.
std::vector<std::pair<std::string, std::vector<ParamDef>>> creator_params();

/// Keyword arguments of `@task_params` creators, by creator name.
using CreatorArgs = std::map<std::string, std::vector<std::pair<std::string, OptionValue>>>;

/// Receives the file_dep and target paths of the sub-tasks converted while
/// the creators still run, in batches (the other tasks' paths come with the
/// converted tasks at the end). For stat()s that overlap the creators.
using PathSink = std::function<void(std::vector<std::string>&&)>;

/// Runs the task creators of the imported dodo file for `command` and
/// converts the tasks. Throws DodoError or PythonTraceback.
LoadedDodo create_tasks(const std::string& command, const CreatorArgs& creator_args,
                        const PathSink& early_paths = {});

/// import_dodo + create_tasks without creator arguments.
LoadedDodo load_dodo(const std::string& dodo_path, const std::string& command);

/// Runs `@create_after` creators during execution (after import_dodo).
class PyDelayedCreator : public DelayedTaskCreator {
 public:
  std::vector<Task> create(const std::string& creator, const std::string& base) override;
};

/// DOIT_CONFIG[key] of the imported dodo file, None when absent.
pybind11::object dodo_config_item(const std::string& key);

/// Sets doit.get_var() values and the initial working directory for dodo code.
void set_command_line_vars(const std::vector<std::pair<std::string, std::string>>& vars,
                           const std::string& initial_workdir);

}  // namespace doit::python

// Loading a project for a command: read the config files of the start-up
// folder, find the dodo file (SPEC §2), change into its folder, start
// Python, create the tasks, apply DOIT_CONFIG and the per-task config.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/config_files.h"
#include "doit/graph.h"
#include "doit/state_db.h"
#include "python/interpreter.h"
#include "python/loader.h"
#include "python/pydoit_state.h"

namespace doit::cli {

struct DodoSession {
  DodoSession() = default;
  DodoSession(DodoSession&&) = default;
  DodoSession& operator=(DodoSession&&) = default;
  /// The tasks let go of their Python objects (their __del__ runs while
  /// Python still does); the graph itself is kept for did-you-mean and left
  /// to the OS at exit, not freed piece by piece (about 5 % of a
  /// 10,000-task no-op).
  ~DodoSession();

  /// First member: Python stops after everything else that may hold its objects.
  std::unique_ptr<python::Interpreter> interpreter;
  std::string dodo_path;  ///< absolute
  /// doit.cfg and pyproject.toml of the start-up folder.
  ConfigFiles config_files;
  /// Option values: command line, environment, DOIT_CONFIG, config files, defaults.
  OptionValues options;
  /// The tasks; params have their [task:NAME] defaults applied.
  std::unique_ptr<TaskGraph> graph;
  /// DOIT_CONFIG.
  python::ConfigMap config;
};

/// Hands over what a command no longer needs as it ends, for the OS to free
/// at once when the process ends: freed piece by piece, the records of a
/// 10,000-task state take about 3 ms. Reachable from here to the end, so a
/// leak checker does not count it.
void leave_to_exit(std::shared_ptr<void> object);

/// Runs `@create_after` creators during a run, then gives the tasks they
/// created their [task:NAME] config, as load time gave the others.
class SessionDelayedCreator : public DelayedTaskCreator {
 public:
  explicit SessionDelayedCreator(const DodoSession& session) : session_(session) {}
  std::vector<Task> create(const std::string& creator, const std::string& base) override;

 private:
  const DodoSession& session_;
  python::PyDelayedCreator python_;
};

/// Loads the project for `cmd`. Throws UserError (bad config file, dodo not
/// found, invalid tasks...) or python::PythonTraceback.
/// `early_paths` receives task paths while the creators run (see
/// python::create_tasks).
DodoSession open_dodo(const Invocation& inv, const Command& cmd, const Parsed& parsed,
                      const python::PathSink& early_paths = {});

/// For `list`: the tasks as pydoit's list reads them, without the graph's
/// checks (a task_dep naming no task, a target of two tasks, a repeated
/// name are left to the commands that run tasks).
DodoSession open_dodo_unchecked(const Invocation& inv, const Command& cmd, const Parsed& parsed);

/// The options of `cmd` from the command line, the environment and `files`
/// (no DOIT_CONFIG). Throws UserError for a value its option's type rejects.
OptionValues command_options(const Invocation& inv, const Command& cmd, const Parsed& parsed,
                             const ConfigFiles& files);

/// For commands that do not load a dodo file (e.g. dumpdb): the same, with
/// the config files read from the start-up folder. If pyproject.toml holds
/// doit configuration, Python is started to read it, then kept in
/// `*interpreter` when given, else stopped again (CPython cannot start
/// twice in one process: a command must not call both this and open_dodo,
/// nor start Python again after this stopped it).
OptionValues command_options(const Invocation& inv, const Command& cmd, const Parsed& parsed,
                             std::unique_ptr<python::Interpreter>* interpreter = nullptr);

/// How a command uses the state database.
enum class StateAccess { kReadWrite, kRead };

/// Opens the state database named by the options (dep_file), importing
/// pydoit's state first if that is what the file holds. kRead (list, info,
/// graph): StateDb::open_for_reading, which neither creates nor changes our
/// file, and pydoit's state is read where it is, into memory (a note on
/// stderr says so), never imported: nothing on disk changes.
std::unique_ptr<StateDb> open_state(const DodoSession& session,
                                    StateAccess access = StateAccess::kReadWrite);

/// pydoit's state `found`, read where it is into a database in memory, with
/// the note on stderr. Needs a running Interpreter. Throws UserError.
std::unique_ptr<StateDb> read_from_pydoit(const python::PydoitState& found);

/// `default_tasks` from DOIT_CONFIG, if set (an empty list is "nothing").
std::optional<std::vector<std::string>> default_tasks(const DodoSession& session);

}  // namespace doit::cli

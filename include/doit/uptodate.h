// Is a task up to date? pydoit's status function, with every reason kept so
// that `info`, `list --status` and `--explain` can tell why.
#pragma once

#include <string>
#include <vector>

#include "doit/fs.h"
#include "doit/signature.h"
#include "doit/state_db.h"
#include "doit/task.h"

namespace doit {

struct Status {
  enum class Kind { kUpToDate, kRun, kError };
  Kind kind = Kind::kUpToDate;
  /// The file_deps the `changed` keyword receives.
  std::vector<std::string> changed;
  /// For kError: "Dependent file 'x' does not exist." (or "cannot be read: ...")
  std::string error;

  // Reasons (all of them in explain mode; those seen before stopping otherwise).
  bool no_dependencies = false;
  std::vector<std::string> uptodate_false;  ///< descriptions of false items
  std::string checker_changed_from;         ///< stored checker name if it differs
  std::string checker_changed_to;           ///< the current checker's name then
  std::vector<std::string> missing_targets;
  std::vector<std::string> changed_files;
  std::vector<std::string> missing_files;
  std::vector<std::string> unreadable_files;  ///< e.g. permission denied, a folder
  std::vector<std::string> removed_files;     ///< sorted
  std::vector<std::string> added_files;       ///< sorted
};

/// Runs a shell command for an uptodate string item; true if it exits 0.
using ShellProbe = bool (*)(const std::string& command);

struct StatusInputs {
  const Task& task;
  const TaskRecord* record;  ///< nullptr if nothing is stored
  Checker checker;
  const FileSystem& fs;
  ShellProbe shell_probe;
  /// Evaluate every check without stopping at the first decision (info, explain).
  bool explain = false;
};

/// pydoit's status function (SPEC §8.2). Uptodate callables may throw
/// UptodateError. A file_dep that cannot be read is an error status (kError,
/// in `unreadable_files`); a target whose existence cannot be told counts as
/// missing (the task runs, as pydoit's os.path.exists would have it).
Status check_status(const StatusInputs& in);

/// "Dependent file 'x' cannot be read: Permission denied." for an FsError
/// ("x: Permission denied") met while reading file_dep `dep`.
std::string unreadable_dep_message(const std::string& dep, const FsError& error);

/// Default ShellProbe: /bin/sh -c with output to /dev/null.
bool shell_command_succeeds(const std::string& command);

}  // namespace doit

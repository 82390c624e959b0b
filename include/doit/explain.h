// Why a task runs, in words: what `run --explain` and `run --dry-run` print
// (ninja's -d explain for doit). One line per reason, from the explain-mode
// Status of check_status and the signatures stored for the task.
#pragma once

#include <string>
#include <vector>

#include "doit/fs.h"
#include "doit/state_db.h"
#include "doit/task.h"
#include "doit/uptodate.h"

namespace doit {

struct ExplainInputs {
  const Task& task;
  /// From check_status with explain = true.
  const Status& status;
  /// The record the check read (nullptr: the task never ran).
  const TaskRecord* record;
  const FileSystem& fs;
  /// -a: runs whatever the status.
  bool forced = false;
};

/// The reasons, e.g. "file_dep 'a.c' changed (mtime ... -> ..., size 10 -> 12)",
/// "target 'a.o' does not exist", "no file_dep and no uptodate: always runs".
/// Empty for an up-to-date task that is not forced.
std::vector<std::string> explain_reasons(const ExplainInputs& in);

}  // namespace doit

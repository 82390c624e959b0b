// The status that `list --status` and `graph` show for a task: ignored, or
// what the up-to-date check decides. One function, so they always agree.
#pragma once

#include "cli/options.h"
#include "doit/fs.h"
#include "doit/signature.h"
#include "doit/state_db.h"
#include "doit/task.h"

namespace doit::cli {

enum class ShownStatus { kUpToDate, kRun, kIgnored, kError };

/// Ignored (its record says so) first, then check_status. An exception in
/// an uptodate callable is thrown as python::PythonTraceback.
ShownStatus shown_status(const Task& task, const StateDb& db, Checker checker,
                         const FileSystem& fs);

/// The checker that option check_file_uptodate names. Throws UserError
/// "No check_file_uptodate named 'x'.".
Checker checker_option(const OptionValues& options);

}  // namespace doit::cli

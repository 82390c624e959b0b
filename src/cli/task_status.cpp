#include "cli/task_status.h"

#include <fmt/format.h>

#include "cli/command.h"
#include "doit/uptodate.h"
#include "python/adapters.h"

namespace doit::cli {

ShownStatus shown_status(const Task& task, const StateDb& db, Checker checker,
                         const FileSystem& fs) {
  const TaskRecord* record = db.find(task.name);
  if (record != nullptr && record->ignored) return ShownStatus::kIgnored;
  Status st;
  try {
    st = check_status({task, record, checker, fs, shell_command_succeeds, false});
  } catch (const UptodateError& e) {
    throw python::PythonTraceback(e.what());
  }
  switch (st.kind) {
    case Status::Kind::kUpToDate:
      return ShownStatus::kUpToDate;
    case Status::Kind::kRun:
      return ShownStatus::kRun;
    case Status::Kind::kError:
      return ShownStatus::kError;
  }
  return ShownStatus::kRun;
}

Checker checker_option(const OptionValues& options) {
  Checker checker = Checker::kContent;
  const std::string name = options.get_string("check_file_uptodate", "md5");
  if (!parse_checker(name, &checker)) {
    throw UserError(fmt::format("No check_file_uptodate named '{}'.", name));
  }
  return checker;
}

}  // namespace doit::cli

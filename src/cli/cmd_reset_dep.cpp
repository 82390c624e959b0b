// `doit reset-dep [TASK...]` (SPEC §4.9): record the current state of the
// tasks' file_dep as if they had just run, without running anything.
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "doit/output.h"
#include "doit/text.h"
#include "doit/uptodate.h"
#include "python/adapters.h"

namespace doit::cli {

std::string reset_dep_description() {
  return "Takes the signatures of the tasks' file dependencies now (as check_file_uptodate "
         "defines them) and saves them as if each task had just run successfully, without "
         "running any action; saved values and results are kept.\n"
         "Without arguments every task is processed; named tasks are processed with their "
         "sub-tasks.\n"
         "Useful when the targets are already up to date: after changing check_file_uptodate, "
         "when adopting doit for existing files, or after adding a file_dep to a task that "
         "already ran.";
}

int execute_reset_dep(const Invocation& inv, const Parsed& parsed) {
  DodoSession session = open_dodo(inv, *find_command("reset-dep"), parsed);
  const TaskGraph& graph = *session.graph;
  Checker checker = Checker::kContent;
  const std::string checker_option = session.options.get_string("check_file_uptodate", "md5");
  if (!parse_checker(checker_option, &checker)) {
    throw UserError(fmt::format(
        "No check_file_uptodate named '{}'. Type '{} help run' to see a list of available "
        "checkers.",
        checker_option, inv.bin));
  }

  std::vector<const Task*> tasks;
  if (parsed.rest.empty()) {
    for (const Task& t : graph.tasks()) tasks.push_back(&t);
  } else {
    for (const std::string& name : parsed.rest) require_task(graph, name);
    for (const std::string& name : parsed.rest) {
      for (const Task* t : with_subtasks(graph, require_task(graph, name))) tasks.push_back(t);
    }
  }

  std::unique_ptr<StateDb> db = open_state(session);
  RealFileSystem fs;
  Output& out = Output::out();
  const std::string current_checker(checker_name(checker));
  for (const Task* task : tasks) {
    std::vector<std::string> missing;
    for (const std::string_view dep : task->file_dep) {
      if (!fs.stat(std::string(dep)).exists) missing.emplace_back(dep);
    }
    if (!missing.empty()) {
      out.write(fmt::format("failed {} (Dependent file '{}' does not exist.)\n", task->name,
                            join(missing, "', '")));
      continue;
    }

    const TaskRecord* record = db->find(task->name);
    Status status;
    try {
      status = check_status({*task, record, checker, fs, shell_command_succeeds, false});
    } catch (const UptodateError& e) {
      throw python::PythonTraceback(e.what());
    }
    if (status.kind == Status::Kind::kUpToDate) {
      out.write("skip " + task->name + "\n");
      continue;
    }

    // Signatures as a successful run would record them; values and result kept.
    const bool same_checker = record != nullptr && record->checker == current_checker;
    std::vector<std::pair<std::string, FileSignature>> deps;
    deps.reserve(task->file_dep.size());
    for (const std::string_view dep_view : task->file_dep) {
      const std::string dep(dep_view);
      const FileSignature* previous = same_checker ? record->find_dep(dep) : nullptr;
      deps.emplace_back(dep, take_signature(checker, fs, dep, fs.stat(dep), previous));
    }
    const std::string_view values = record != nullptr ? record->values_json : TaskRecord::kNoValues;
    const std::optional<std::string_view> result =
        record != nullptr ? record->result_json : std::nullopt;
    db->save_success(task->name, current_checker, deps, values, result);
    out.write("processed " + task->name + "\n");
  }
  return 0;
}

}  // namespace doit::cli

// `doit info TASK` (SPEC §4.3): a task's fields and why it is not up to date.
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "doit/output.h"
#include "doit/uptodate.h"
#include "python/adapters.h"

namespace doit::cli {
namespace {

constexpr int kLabelWidth = 11;

std::string label(std::string_view name) { return fmt::format("{:<{}}: ", name, kLabelWidth); }

void list_field(Output& out, std::string_view name, const std::vector<std::string>& items) {
  if (items.empty()) return;
  out.write("\n" + label(name) + "\n");
  for (const std::string& item : items) out.write(" - " + item + "\n");
}

void pprint_field(Output& out, const Task& task, const char* name) {
  const std::string text = python::pformat_task_field(task, name);
  if (text.empty()) return;
  out.write("\n" + label(name) + text + "\n");
}

std::string reasons(const Status& st) {
  std::vector<std::string> lines;
  if (st.no_dependencies) lines.push_back(" * The task has no dependencies.");
  if (!st.uptodate_false.empty()) {
    lines.push_back(" * The following uptodate objects evaluate to false:");
    for (const std::string& u : st.uptodate_false) lines.push_back("    - " + u);
  }
  if (!st.checker_changed_from.empty()) {
    lines.push_back(fmt::format(" * The file_dep checker changed from {} to {}.",
                                st.checker_changed_from, st.checker_changed_to));
  }
  const std::pair<const char*, const std::vector<std::string>*> groups[] = {
      {"The following targets do not exist:", &st.missing_targets},
      {"The following file dependencies have changed:", &st.changed_files},
      {"The following file dependencies are missing:", &st.missing_files},
      {"The following file dependencies cannot be read:", &st.unreadable_files},
      {"The following file dependencies were removed:", &st.removed_files},
      {"The following file dependencies were added:", &st.added_files},
  };
  for (const auto& [sentence, items] : groups) {
    if (items->empty()) continue;
    lines.push_back(std::string(" * ") + sentence);
    for (const std::string& item : *items) lines.push_back("    - " + item);
  }
  std::string text;
  for (size_t i = 0; i < lines.size(); ++i) text += (i ? "\n" : "") + lines[i];
  return text;
}

std::string_view status_word(Status::Kind kind) {
  switch (kind) {
    case Status::Kind::kUpToDate:
      return "up-to-date";
    case Status::Kind::kRun:
      return "run";
    case Status::Kind::kError:
      return "error";
  }
  return "run";
}

}  // namespace

std::vector<OptionDef> info_options() {
  OptionDef hide;
  hide.name = "hide_status";
  hide.long_name = "no-status";
  hide.type = OptType::kBool;
  hide.help = "Hides the task's status";
  hide.default_text = "False";
  return {hide};
}

int execute_info(const Invocation& inv, const Parsed& parsed) {
  DodoSession session = open_dodo(inv, *find_command("info"), parsed);
  if (parsed.rest.size() != 1) {
    throw UserError(
        fmt::format("`info` failed, must select *one* task.\nCheck `{} help info`.", inv.bin));
  }
  const Task& task = require_task(*session.graph, parsed.rest[0]);
  Output& out = Output::out();
  out.write("\n" + task.name + "\n");
  if (!task.doc.empty()) out.write("\n" + task.doc + "\n");

  int code = 0;
  if (!session.options.get_bool("hide_status")) {
    std::unique_ptr<StateDb> db = open_state(session, StateAccess::kRead);
    Checker checker = Checker::kContent;
    parse_checker(session.options.get_string("check_file_uptodate", "md5"), &checker);
    RealFileSystem fs;
    Status st;
    try {
      st = check_status({task, db->find(task.name), checker, fs, shell_command_succeeds, true});
    } catch (const UptodateError& e) {
      throw python::PythonTraceback(e.what());
    }
    out.write("\n" + label("status") + std::string(status_word(st.kind)) + "\n");
    if (st.kind != Status::Kind::kUpToDate) {
      out.write(reasons(st));
      out.write("\n");
      code = 1;
    }
  }
  list_field(out, "file_dep", task.file_dep.to_vector());
  list_field(out, "task_dep", task.task_dep);
  list_field(out, "setup_tasks", task.setup);
  list_field(out, "calc_dep", task.extras().calc_dep);
  list_field(out, "targets", task.targets.to_vector());
  pprint_field(out, task, "getargs");
  pprint_field(out, task, "params");
  if (task.verbosity) out.write("\n" + label("verbosity") + std::to_string(*task.verbosity) + "\n");
  list_field(out, "watch", task.extras().watch);
  pprint_field(out, task, "meta");
  return code;
}

}  // namespace doit::cli

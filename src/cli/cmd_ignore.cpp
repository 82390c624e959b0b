// `doit ignore TASK...` (SPEC §4.6): skip tasks until they are forgotten.
#include "cli/command.h"
#include "cli/dodo_session.h"
#include "doit/output.h"

namespace doit::cli {

int execute_ignore(const Invocation& inv, const Parsed& parsed) {
  DodoSession session = open_dodo(inv, *find_command("ignore"), parsed);
  Output& out = Output::out();
  if (parsed.rest.empty()) {
    out.write("You cant ignore all tasks! Please select a task.\n");
    return 0;
  }
  const TaskGraph& graph = *session.graph;
  for (const std::string& name : parsed.rest) require_task(graph, name);
  std::unique_ptr<StateDb> db = open_state(session);
  for (const std::string& name : parsed.rest) {
    for (const Task* t : with_subtasks(graph, require_task(graph, name))) {
      db->set_ignored(t->name, true);
      out.write("ignoring " + t->name + "\n");
    }
  }
  return 0;
}

}  // namespace doit::cli

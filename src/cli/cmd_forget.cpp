// `doit forget [TASK...]` (SPEC §4.5): drop what doit remembers of tasks.
#include <deque>
#include <set>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "doit/output.h"

namespace doit::cli {

std::vector<OptionDef> forget_options() {
  OptionDef follow;
  follow.name = "forget_sub";
  follow.short_name = 's';
  follow.long_name = "follow-sub";
  follow.type = OptType::kBool;
  follow.help = "forget task dependencies too";
  OptionDef disable;
  disable.name = "forget_disable_default";
  disable.long_name = "disable-default";
  disable.inverse = "enable-default";
  disable.type = OptType::kBool;
  disable.help = "disable forgetting default tasks (when no arguments are passed)";
  OptionDef all;
  all.name = "forget_all";
  all.short_name = 'a';
  all.long_name = "all";
  all.type = OptType::kBool;
  all.help = "forget all tasks";
  return {follow, disable, all};
}

int execute_forget(const Invocation& inv, const Parsed& parsed) {
  DodoSession session = open_dodo(inv, *find_command("forget"), parsed);
  const OptionValues& opt = session.options;
  const TaskGraph& graph = *session.graph;
  Output& out = Output::out();

  std::vector<std::string> names = parsed.rest;
  const bool forget_all = opt.get_bool("forget_all");
  if (!forget_all && names.empty()) {
    if (opt.get_bool("forget_disable_default")) {
      out.write("no tasks specified, pass task name, --enable-default or --all\n");
      return 0;
    }
    if (auto defaults = default_tasks(session)) names = *defaults;
  }
  for (const std::string& name : names) require_task(graph, name);
  std::unique_ptr<StateDb> db = open_state(session);
  if (forget_all || names.empty()) {
    // No names and no default_tasks: everything (pydoit 0.31 behaviour).
    db->remove_all();
    out.write("forgetting all tasks\n");
    return 0;
  }
  if (opt.get_bool("forget_sub")) {
    // Breadth-first over task_dep and setup; each task once.
    std::deque<std::string> queue(names.begin(), names.end());
    std::set<std::string> seen;
    while (!queue.empty()) {
      const Task& t = require_task(graph, queue.front());
      queue.pop_front();
      if (!seen.insert(t.name).second) continue;
      db->remove(t.name);
      out.write("forgetting " + t.name + "\n");
      for (const std::string& d : t.task_dep) queue.push_back(d);
      for (const std::string& s : t.setup) queue.push_back(s);
    }
    return 0;
  }
  for (const std::string& name : names) {
    for (const Task* t : with_subtasks(graph, require_task(graph, name))) {
      db->remove(t->name);
      out.write("forgetting " + t->name + "\n");
    }
  }
  return 0;
}

}  // namespace doit::cli

#include <unistd.h>

#include <algorithm>
#include <csignal>

#include "cli/command.h"
#include "doit/output.h"
#include "doit/reporter.h"

namespace doit::cli {

std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

[[noreturn]] void die_by_signal(int sig) {
  flush_console();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
  _exit(128 + sig);
}

const std::vector<Command>& commands() {
  static const std::vector<Command> all = [] {
    std::vector<Command> c = {
        {"auto", "automatically execute tasks when a dependency changes", "[TASK ...]",
         "Runs the tasks, then again whenever a file they depend on (file_dep, watch), "
         "dodo.py, a local module it imports or a config file changes. Each cycle loads "
         "dodo.py afresh.",
         auto_options, true, execute_auto},
        {"clean", "clean action / remove targets", "[TASK ...]",
         "If no task is specified clean default tasks and set --clean-dep automatically.",
         clean_options, true, execute_clean},
        {"dumpdb", "dump dependency DB", "", dumpdb_description(), dumpdb_options, false,
         execute_dumpdb},
        {"forget", "clear successful run status from internal DB", "[TASK ...]",
         "If no task is specified, the default tasks are forgotten (all tasks when there are "
         "none).",
         forget_options, true, execute_forget},
        {"graph", "print the task graph (Graphviz DOT or Mermaid)", "[TASK ...]",
         graph_description(), graph_options, true, execute_graph},
        {"help", "show help", "[TASK] [COMMAND]", "", no_options, false, execute_help},
        {"ignore", "ignore task (skip) on subsequent runs", "TASK [TASK ...]", "", no_options, true,
         execute_ignore},
        {"info", "show info about a task", "TASK", "", info_options, true, execute_info},
        {"list", "list tasks from dodo file", "[TASK ...]", "", list_options, true, execute_list},
        {"reset-dep", "recompute and save the state of file dependencies without executing actions",
         "[TASK ...]", reset_dep_description(), no_options, true, execute_reset_dep},
        {"run", "run tasks", "[TASK/TARGET...]", "", run_options, true, execute_run},
        {"stats", "show the slowest tasks of the last run and their trend", "", stats_description(),
         stats_options, false, execute_stats},
        {"strace", "use strace to list file_deps and targets", "TASK", strace_description(),
         strace_options, true, execute_strace},
        {"tabcompletion", "generate script for tab-completion", "", tabcompletion_description(),
         tabcompletion_options, true, execute_tabcompletion},
    };
    return c;
  }();
  return all;
}

const Command* find_command(const std::string& name) {
  for (const Command& c : commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

bool is_extension_command(const std::string& name) { return name == "graph" || name == "stats"; }

const Task& require_task(const TaskGraph& graph, const std::string& name) {
  const int t = graph.find(name);
  if (t == TaskGraph::kNotFound) throw UserError("'" + name + "' is not a task.");
  return graph.task(t);
}

std::vector<const Task*> with_subtasks(const TaskGraph& graph, const Task& task) {
  std::vector<const Task*> out = {&task};
  for (const std::string& dep : task.task_dep) {
    const int s = graph.find(dep);
    if (s != TaskGraph::kNotFound && graph.task(s).subtask_of == task.name) {
      out.push_back(&graph.task(s));
    }
  }
  return out;
}

std::vector<OptionDef> all_options(const Command& cmd) {
  std::vector<OptionDef> defs = cmd.options();
  if (cmd.loads_dodo) {
    std::vector<OptionDef> extra = dodo_options();
    defs.insert(defs.end(), extra.begin(), extra.end());
  }
  return defs;
}

}  // namespace doit::cli

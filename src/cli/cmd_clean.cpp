// `doit clean [TASK...]` (SPEC §4.4): undo what tasks produced, through
// `clean: True` (remove the targets) or the task's own clean actions.
#include <fmt/format.h>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "doit/cmd_action.h"
#include "doit/cmd_format.h"
#include "doit/executor.h"
#include "doit/output.h"
#include "doit/process.h"
#include "doit/reporter.h"
#include "doit/text.h"
#include "python/adapters.h"

namespace doit::cli {
namespace {

namespace fs = std::filesystem;

/// What a clean action prints on stdout goes to the console as it comes;
/// its stderr is captured and dropped (as pydoit).
class StdoutEcho : public LiveOutput {
 public:
  void out(std::string_view text) override {
    Output::out().write(text);
    Output::out().flush();
  }
  void err(std::string_view) override {}
};

/// The order of cleaning (pydoit's CleanDepTree): a task comes before the
/// tasks it depends on, each task once. Tasks are nodes whose children are
/// their dependents; the order is a post-order walk from each node in the
/// order the nodes were first seen.
class CleanOrder {
 public:
  explicit CleanOrder(const TaskGraph& graph) : graph_(graph) {}

  /// Adds `name` and, recursively, its setup tasks and task_dep.
  void add_with_deps(const std::string& name) {
    struct Frame {
      int node;
      std::vector<std::string> deps;  // setup + task_dep, reversed
      size_t next = 0;
    };
    std::vector<Frame> stack;
    const auto enter = [&](const std::string& task_name) {
      if (!expanded_.insert(task_name).second) return;
      const Task& task = graph_.task(graph_.find(task_name));
      Frame frame{node(task_name), task.setup};
      frame.deps.insert(frame.deps.end(), task.task_dep.begin(), task.task_dep.end());
      std::reverse(frame.deps.begin(), frame.deps.end());
      stack.push_back(std::move(frame));
    };
    enter(name);
    while (!stack.empty()) {
      Frame& top = stack.back();
      if (top.next == top.deps.size()) {
        stack.pop_back();
        continue;
      }
      const int dependent = top.node;
      const std::string dep = top.deps[top.next++];
      nodes_[node(dep)].dependents.push_back(dependent);
      enter(dep);  // may grow the stack: `top` is not used after this
    }
  }

  /// Adds `name` and its direct sub-tasks (no other dependencies).
  void add_with_subtasks(const std::string& name) {
    const int parent = node(name);
    const Task& task = graph_.task(graph_.find(name));
    for (auto it = task.task_dep.rbegin(); it != task.task_dep.rend(); ++it) {
      if (graph_.task(graph_.find(*it)).subtask_of == name) {
        nodes_[node(*it)].dependents.push_back(parent);
      }
    }
  }

  /// Task names in cleaning order.
  std::vector<std::string> flatten() {
    std::vector<std::string> order;
    for (size_t start = 0; start < nodes_.size(); ++start) {
      if (nodes_[start].taken) continue;
      nodes_[start].taken = true;
      std::vector<std::pair<int, size_t>> stack = {{static_cast<int>(start), 0}};
      while (!stack.empty()) {
        const auto [n, next] = stack.back();
        if (next < nodes_[n].dependents.size()) {
          stack.back().second += 1;
          const int child = nodes_[n].dependents[next];
          if (!nodes_[child].taken) {
            nodes_[child].taken = true;
            stack.emplace_back(child, 0);
          }
          continue;
        }
        order.push_back(nodes_[n].name);
        stack.pop_back();
      }
    }
    return order;
  }

 private:
  struct Node {
    std::string name;
    std::vector<int> dependents;
    bool taken = false;
  };

  /// The node of `name`, created (last in order) if it is new.
  int node(const std::string& name) {
    const auto [it, added] = index_.try_emplace(name, static_cast<int>(nodes_.size()));
    if (added) nodes_.push_back(Node{name, {}, false});
    return it->second;
  }

  const TaskGraph& graph_;
  std::vector<Node> nodes_;
  std::unordered_map<std::string, int> index_;
  std::unordered_set<std::string> expanded_;
};

/// `names` with each `*` pattern replaced by the tasks it matches.
std::vector<std::string> expand_patterns(const TaskGraph& graph,
                                         const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& name : names) {
    if (name.find('*') == std::string::npos) {
      out.push_back(name);
    } else {
      for (std::string& match : graph.match(name)) out.push_back(std::move(match));
    }
  }
  return out;
}

class Cleaner {
 public:
  Cleaner(bool dryrun, FormatStyle style) : dryrun_(dryrun), style_(style) {}

  void clean(const Task& task) {
    if (task.clean_targets) {
      remove_targets(task);
      return;
    }
    for (const Action& action : task.clean) run(task, action);
  }

 private:
  /// `clean: True`: files, and directories that are empty, in reverse
  /// lexical order (so a directory's files go before it).
  void remove_targets(const Task& task) {
    std::vector<std::string> targets = task.targets.to_vector();
    std::sort(targets.begin(), targets.end(), std::greater<>());
    Output& out = Output::out();
    for (const std::string& target : targets) {
      std::error_code ec;
      const fs::file_status st = fs::status(target, ec);
      if (fs::is_regular_file(st)) {
        out.write(fmt::format("{} - removing file '{}'\n", task.name, target));
        if (!dryrun_ && !fs::remove(target, ec) && ec) fail_removing(target, ec);
      } else if (fs::is_directory(st)) {
        const bool empty = fs::is_empty(target, ec);
        if (ec) fail_removing(target, ec);
        if (!empty) {
          out.write(fmt::format("{} - cannot remove (it is not empty) '{}'\n", task.name, target));
          continue;
        }
        out.write(fmt::format("{} - removing dir '{}'\n", task.name, target));
        if (!dryrun_ && !fs::remove(target, ec) && ec) fail_removing(target, ec);
      }
    }
  }

  [[noreturn]] static void fail_removing(const std::string& path, const std::error_code& ec) {
    throw UserError(fmt::format("cannot remove '{}': {}", path, ec.message()));
  }

  /// Announces and runs one clean action; a failure is reported on stderr
  /// and cleaning goes on.
  void run(const Task& task, const Action& action) {
    Output::out().write(fmt::format("{} - executing '{}'\n", task.name, action.description()));
    const bool takes_dryrun = !action.is_cmd() && action.callable().takes_dryrun();
    if (dryrun_ && !takes_dryrun) return;
    flush_console();
    // `changed` is not known to clean (no up-to-date check ran).
    static const std::vector<std::string> kNoChanges;
    ActionEnv env{.task = task,
                  .changed = kNoChanges,
                  .verbosity = 1,
                  .live_out = &echo_,
                  .live_err = nullptr,
                  .dryrun = dryrun_};
    ActionOutcome outcome;
    try {
      outcome = action.is_cmd() ? run_command(action.cmd(), env) : action.callable().run(env);
    } catch (const ActionDefinitionError& e) {
      outcome.status = ActionOutcome::Status::kError;
      outcome.message = std::string(e.what()) + "\n";
    }
    flush_console();
    if (outcome.status == ActionOutcome::Status::kSuccess) return;
    const FailureKind kind = outcome.status == ActionOutcome::Status::kFailed
                                 ? FailureKind::kTaskFailed
                                 : FailureKind::kTaskError;
    Output::err().write(fmt::format("{}\n{}", failure_kind_name(kind), outcome.message));
    Output::err().flush();
  }

  /// A cmd clean action: formatted with the task's targets, file_dep and
  /// options (no `changed`); stdout echoed, stderr captured and dropped.
  ActionOutcome run_command(const CmdAction& cmd, ActionEnv env) {
    env.live_err = nullptr;
    return doit::run_command(
        cmd, env,
        CommandRun{
            .style = style_, .formatter = &formatter_, .capture = true, .with_changed = false});
  }

  bool dryrun_;
  FormatStyle style_;
  StdoutEcho echo_;
  python::PyFormatter formatter_;
};

}  // namespace

int execute_clean(const Invocation& inv, const Parsed& parsed) {
  DodoSession session = open_dodo(inv, *find_command("clean"), parsed);
  const OptionValues& opt = session.options;
  const TaskGraph& graph = *session.graph;
  const bool dryrun = opt.get_bool("dryrun");
  bool clean_deps = opt.get_bool("cleandep");

  for (const std::string& name : parsed.rest) {
    if (name.find('*') == std::string::npos) require_task(graph, name);
  }
  std::vector<std::string> roots;
  if (!parsed.rest.empty() && !opt.get_bool("cleanall")) {
    roots = expand_patterns(graph, parsed.rest);
  } else {
    // Everything (or the default tasks) is cleaned with its dependencies.
    clean_deps = true;
    const std::optional<std::vector<std::string>> defaults =
        opt.get_bool("cleanall") ? std::nullopt : default_tasks(session);
    if (defaults) {
      roots = expand_patterns(graph, *defaults);
      for (const std::string& name : roots) require_task(graph, name);
    } else {
      for (const Task& t : graph.tasks()) roots.push_back(t.name);
    }
    std::reverse(roots.begin(), roots.end());
  }

  CleanOrder order(graph);
  for (const std::string& name : roots) {
    if (clean_deps) {
      order.add_with_deps(name);
    } else {
      order.add_with_subtasks(name);
    }
  }

  const bool forget = opt.get_bool("cleanforget") && !dryrun;
  std::unique_ptr<StateDb> db;
  if (forget) db = open_state(session);
  FormatStyle style = FormatStyle::kOld;
  if (auto it = session.config.find("action_string_formatting"); it != session.config.end()) {
    parse_format_style(std::get<std::string>(it->second.value), &style);
  }
  const std::vector<std::string> names = order.flatten();
  for (const std::string& name : names) {  // invalid actions stop everything, up front
    for (const Action& action : graph.task(graph.find(name)).clean) {
      try {
        if (!action.is_cmd()) action.callable().validate();
      } catch (const ActionDefinitionError& e) {
        throw UserError(e.what());
      }
    }
  }
  Cleaner cleaner(dryrun, style);
  for (const std::string& name : names) {
    cleaner.clean(graph.task(graph.find(name)));
    if (db) db->remove(name);
  }
  return 0;
}

}  // namespace doit::cli

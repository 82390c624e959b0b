// The task graph: name and target indexes, implicit dependencies, wildcards.
// Mirrors pydoit's "control": the checks made before anything runs.
#pragma once

#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "doit/task.h"

namespace doit {

/// An invalid graph (duplicate names or targets, unknown task_dep/setup, a
/// cycle). The message is pydoit's, without the "ERROR: " prefix. Exit 3.
class GraphError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A name given on the command line that no task has (and no delayed
/// creator produced). The CLI prints pydoit's "Invalid parameter" message.
class UnknownNameError : public std::runtime_error {
 public:
  explicit UnknownNameError(std::string name)
      : std::runtime_error("unknown task or target: " + name), name_(std::move(name)) {}
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

/// Python's fnmatch.fnmatchcase: `*`, `?`, `[...]`, `[!...]`; a backslash is literal.
bool wildcard_match(std::string_view pattern, std::string_view name);

class TaskGraph {
 public:
  static constexpr int kNotFound = -1;

  /// Takes the tasks in definition order; checks unique names, expands
  /// task_dep wildcards, checks task_dep/setup names, unique targets, and adds
  /// the implicit task_dep of each file_dep that is another task's target.
  /// Throws GraphError.
  explicit TaskGraph(std::deque<Task> tasks);

  /// For reading the tasks only (`list`, as pydoit's list does): no check,
  /// no wildcard expansion, no implicit deps, no target index; find() gives
  /// the first task of a repeated name.
  struct Unchecked {};
  TaskGraph(std::deque<Task> tasks, Unchecked);

  /// A deque: tasks added later (delayed creators) leave the others in place.
  const std::deque<Task>& tasks() const { return tasks_; }
  Task& task(int index) { return tasks_[index]; }
  const Task& task(int index) const { return tasks_[index]; }
  int size() const { return static_cast<int>(tasks_.size()); }

  /// Index of the task named `name`, or kNotFound.
  int find(std::string_view name) const;
  /// Index of the task that has `path` as a target (literal match), or kNotFound.
  int task_for_target(std::string_view path) const;
  /// Names matching a `*` pattern, in definition order.
  std::vector<std::string> match(std::string_view pattern) const;

  /// Adds tasks created during the run (delayed creators, placeholders):
  /// a task named like a placeholder replaces it in place; new names are
  /// appended. Checks names, targets and task_dep like the constructor and
  /// adds the implicit deps of the new tasks. Throws GraphError.
  void add_tasks(std::vector<Task> tasks);

  /// Adds to `task` a task_dep on the producer of each path that is a target
  /// (used at load time and for file_dep added by calc_dep).
  void add_implicit_deps(Task& task, const PathList& paths) const;

 private:
  /// Every task_dep, setup and getargs source of `task` exists. Throws GraphError.
  void check_dependencies(const Task& task) const;

  /// Lets the indexes be searched with a string_view, without a copy.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Index = std::unordered_map<std::string, int, StringHash, std::equal_to<>>;

  std::deque<Task> tasks_;
  Index by_name_;
  Index by_target_;
};

}  // namespace doit

#include "doit/graph.h"

#include <fnmatch.h>
#include <algorithm>

#include <fmt/format.h>

namespace doit {

bool wildcard_match(std::string_view pattern, std::string_view name) {
  const std::string p(pattern), n(name);
  // FNM_NOESCAPE: a backslash is an ordinary character, as in Python's fnmatch.
  return fnmatch(p.c_str(), n.c_str(), FNM_NOESCAPE) == 0;
}

static bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TaskGraph::TaskGraph(std::deque<Task> tasks) : tasks_(std::move(tasks)) {
  by_name_.reserve(tasks_.size());
  for (int i = 0; i < size(); ++i) {
    if (!by_name_.emplace(tasks_[i].name, i).second) {
      throw GraphError("Task names must be unique. " + tasks_[i].name);
    }
  }
  // Wildcard task_dep entries expand, at the end, to every matching task.
  for (Task& task : tasks_) {
    std::vector<std::string> plain, expanded;
    bool any_pattern = false;
    for (const std::string& dep : task.task_dep) {
      if (dep.find('*') == std::string::npos) {
        plain.push_back(dep);
        continue;
      }
      any_pattern = true;
      for (std::string& name : match(dep)) expanded.push_back(std::move(name));
    }
    if (any_pattern) {
      plain.insert(plain.end(), expanded.begin(), expanded.end());
      task.task_dep = std::move(plain);
    }
  }
  for (const Task& task : tasks_) check_dependencies(task);
  size_t targets = 0;
  for (const Task& task : tasks_) targets += task.targets.size();
  by_target_.reserve(targets);
  for (int i = 0; i < size(); ++i) {
    for (const std::string_view target : tasks_[i].targets) {
      auto [it, inserted] = by_target_.emplace(target, i);
      if (!inserted) {
        throw GraphError(fmt::format(
            "Two different tasks can't have a common target.'{}' is a target for {} and {}.",
            target, tasks_[i].name, tasks_[it->second].name));
      }
    }
  }
  for (Task& task : tasks_) add_implicit_deps(task, task.file_dep);
}

TaskGraph::TaskGraph(std::deque<Task> tasks, Unchecked) : tasks_(std::move(tasks)) {
  by_name_.reserve(tasks_.size());
  for (int i = 0; i < size(); ++i) by_name_.emplace(tasks_[i].name, i);
}

void TaskGraph::add_tasks(std::vector<Task> tasks) {
  std::vector<int> added;
  for (Task& task : tasks) {
    auto it = by_name_.find(task.name);
    if (it != by_name_.end()) {
      if (!tasks_[it->second].extras().delayed) {
        throw GraphError("Task names must be unique. " + task.name);
      }
      for (const std::string_view target : tasks_[it->second].targets) {
        by_target_.erase(std::string(target));
      }
      tasks_[it->second] = std::move(task);
      added.push_back(it->second);
    } else {
      tasks_.push_back(std::move(task));
      by_name_.emplace(tasks_.back().name, size() - 1);
      added.push_back(size() - 1);
    }
  }
  for (int i : added) {
    Task& task = tasks_[i];
    std::vector<std::string> plain, expanded;
    for (const std::string& dep : task.task_dep) {
      if (dep.find('*') == std::string::npos) {
        plain.push_back(dep);
      } else {
        for (std::string& name : match(dep)) expanded.push_back(std::move(name));
      }
    }
    plain.insert(plain.end(), expanded.begin(), expanded.end());
    task.task_dep = std::move(plain);
    check_dependencies(task);
    for (const std::string_view target : task.targets) {
      auto [it, inserted] = by_target_.emplace(target, i);
      if (!inserted && it->second != i) {
        throw GraphError(fmt::format(
            "Two different tasks can't have a common target.'{}' is a target for {} and {}.",
            target, task.name, tasks_[it->second].name));
      }
    }
  }
  for (int i : added) add_implicit_deps(tasks_[i], tasks_[i].file_dep);
}

void TaskGraph::check_dependencies(const Task& task) const {
  // getargs sources are also setup tasks: name the getargs entry first.
  for (const GetArg& g : task.extras().getargs) {
    if (!by_name_.contains(g.task)) {
      throw GraphError(
          fmt::format("Task '{}': getargs '{}' names the task '{}', which does not exist.",
                      task.name, g.arg, g.task));
    }
  }
  for (const std::string& dep : task.task_dep) {
    if (!by_name_.contains(dep)) {
      throw GraphError(fmt::format("{}. Task dependency '{}' does not exist.", task.name, dep));
    }
  }
  for (const std::string& dep : task.setup) {
    if (!by_name_.contains(dep)) {
      throw GraphError(fmt::format("Task '{}': invalid setup task '{}'.", task.name, dep));
    }
  }
}

int TaskGraph::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? kNotFound : it->second;
}

int TaskGraph::task_for_target(std::string_view path) const {
  auto it = by_target_.find(path);
  return it == by_target_.end() ? kNotFound : it->second;
}

std::vector<std::string> TaskGraph::match(std::string_view pattern) const {
  std::vector<std::string> names;
  for (const Task& task : tasks_) {
    if (wildcard_match(pattern, task.name)) names.push_back(task.name);
  }
  return names;
}

void TaskGraph::add_implicit_deps(Task& task, const PathList& paths) const {
  for (const std::string_view path : paths) {
    const int producer = task_for_target(path);
    if (producer == kNotFound) continue;
    const std::string& name = tasks_[producer].name;
    if (!contains(task.task_dep, name)) task.task_dep.push_back(name);
  }
}

}  // namespace doit

#include "doit/uptodate.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <optional>
#include <string_view>

#include "doit/process.h"

extern char** environ;

namespace doit {
namespace {

std::string item_description(const UptodateItem& item) {
  switch (item.kind) {
    case UptodateItem::Kind::kTrue:
      return "True (args=None, kwargs=None)";
    case UptodateItem::Kind::kFalse:
      return "False (args=None, kwargs=None)";
    case UptodateItem::Kind::kNone:
      return "None (args=None, kwargs=None)";
    case UptodateItem::Kind::kShell:
      return item.shell + " (args=[], kwargs={})";
    case UptodateItem::Kind::kCallable:
      return item.callable->repr();
  }
  return {};
}

/// The task's stored values, parsed on first use and then kept: every
/// uptodate callable of the task receives the same object.
class LazyValues {
 public:
  explicit LazyValues(const TaskRecord* record) : record_(record) {}
  const Json& get() {
    if (!values_) values_ = record_ != nullptr ? Json::parse(record_->values_json) : Json::object();
    return *values_;
  }

 private:
  const TaskRecord* record_;
  std::optional<Json> values_;
};

/// Evaluates one item: true/false vote, or nullopt for "not computed".
std::optional<bool> evaluate(const UptodateItem& item, const StatusInputs& in, LazyValues& values) {
  switch (item.kind) {
    case UptodateItem::Kind::kTrue:
      return true;
    case UptodateItem::Kind::kFalse:
      return false;
    case UptodateItem::Kind::kNone:
      return std::nullopt;
    case UptodateItem::Kind::kShell:
      return in.shell_probe(item.shell);
    case UptodateItem::Kind::kCallable:
      return item.callable->evaluate(in.task, values.get());
  }
  return std::nullopt;
}

/// The distinct paths of `paths`, sorted (set semantics, as pydoit's).
template <typename Range, typename Key>
std::vector<std::string_view> sorted_set(const Range& paths, Key key) {
  std::vector<std::string_view> out;
  out.reserve(paths.size());
  for (const auto& p : paths) out.emplace_back(key(p));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool target_exists(const FileSystem& fs, const std::string& target) {
  try {
    return fs.stat(target).exists;
  } catch (const FsError&) {
    return false;
  }
}

}  // namespace

std::string unreadable_dep_message(const std::string& dep, const FsError& error) {
  std::string_view reason = error.what();
  const std::string prefix = dep + ": ";
  if (reason.starts_with(prefix)) reason.remove_prefix(prefix.size());
  return "Dependent file '" + dep + "' cannot be read: " + std::string(reason) + ".";
}

Status check_status(const StatusInputs& in) {
  const Task& task = in.task;
  const bool stop_early = !in.explain;
  Status st;

  bool any_result = false;
  LazyValues values(in.record);
  for (const UptodateItem& item : task.uptodate) {
    const std::optional<bool> vote = evaluate(item, in, values);
    if (!vote) continue;
    any_result = true;
    if (!*vote) {
      st.kind = Status::Kind::kRun;
      st.uptodate_false.push_back(item_description(item));
    }
  }
  if (stop_early && st.kind == Status::Kind::kRun) return st;

  if (task.file_dep.empty() && !any_result) {
    st.kind = Status::Kind::kRun;
    st.no_dependencies = true;
    if (stop_early) return st;
  }

  // One buffer for the paths handed to the file system (no allocation each).
  std::string path;
  for (const std::string_view target : task.targets) {
    if (!target_exists(in.fs, path.assign(target))) {
      st.kind = Status::Kind::kRun;
      st.changed = task.file_dep.to_vector();
      st.missing_targets.emplace_back(target);
      if (stop_early) return st;
    }
  }

  const TaskRecord* record = in.record;
  const std::string_view current_checker = checker_name(in.checker);
  if (record != nullptr && !record->checker.empty() && record->checker != current_checker) {
    st.kind = Status::Kind::kRun;
    st.changed = task.file_dep.to_vector();
    st.checker_changed_from = record->checker;
    st.checker_changed_to = std::string(current_checker);
    if (stop_early) return st;
    record = nullptr;  // the stored signatures no longer count
  }

  if (record != nullptr && !record->deps.empty()) {
    const std::vector<std::string_view> current =
        sorted_set(task.file_dep, [](std::string_view p) { return p; });
    const std::vector<std::string_view> previous =
        sorted_set(record->deps, [](const DepList::Entry& dep) { return dep.path; });
    if (previous != current) {
      st.kind = Status::Kind::kRun;
      std::vector<std::string_view> added, removed;
      std::set_difference(current.begin(), current.end(), previous.begin(), previous.end(),
                          std::back_inserter(added));
      std::set_difference(previous.begin(), previous.end(), current.begin(), current.end(),
                          std::back_inserter(removed));
      st.added_files.assign(added.begin(), added.end());
      st.removed_files.assign(removed.begin(), removed.end());
    }
  }

  std::vector<std::string> changed;
  for (const std::string_view dep_view : task.file_dep) {
    const std::string& dep = path.assign(dep_view);
    try {
      const FileStat now = in.fs.stat(dep);
      if (!now.exists) {
        st.kind = Status::Kind::kError;
        st.error = "Dependent file '" + dep + "' does not exist.";
        st.missing_files.push_back(dep);
        if (stop_early) return st;
        continue;
      }
      const FileSignature* stored = record ? record->find_dep(dep) : nullptr;
      if (stored == nullptr || is_modified(in.checker, in.fs, dep, now, *stored)) {
        changed.push_back(dep);
      }
    } catch (const FsError& e) {
      st.kind = Status::Kind::kError;
      st.error = unreadable_dep_message(dep, e);
      st.unreadable_files.push_back(dep);
      if (stop_early) return st;
    }
  }
  st.changed = changed;
  if (!changed.empty()) {
    // In explain mode a missing or unreadable file_dep seen before stays the decision.
    if (st.kind != Status::Kind::kError) st.kind = Status::Kind::kRun;
    st.changed_files = std::move(changed);
  }
  return st;
}

bool shell_command_succeeds(const std::string& command) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const std::vector<std::string> argv = shell_argv(command);
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  reset_child_signals(&attr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, cargv[0], &actions, &attr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace doit

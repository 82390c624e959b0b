// Runs the selected tasks in pydoit's order (SPEC §10.3): dependencies first,
// each task checked right before it would run, state saved per finished task.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "doit/cmd_format.h"
#include "doit/fs.h"
#include "doit/graph.h"
#include "doit/reporter.h"
#include "doit/signature.h"
#include "doit/state_db.h"
#include "doit/uptodate.h"

namespace doit {

/// Exit codes of `run` (SPEC §12.1).
enum RunResult { kRunSuccess = 0, kRunFailure = 1, kRunError = 2 };

struct RunOptions {
  /// -a: run selected tasks even if up to date.
  bool always = false;
  /// -c: keep going after a failure.
  bool keep_going = false;
  /// -v from the command line: overrides every task's verbosity.
  std::optional<int> forced_verbosity;
  /// verbosity from configuration: the default for tasks without one.
  int default_verbosity = 1;
  Checker checker = Checker::kContent;
  FormatStyle format_style = FormatStyle::kOld;
  /// Record the file_dep signatures taken before the actions ran, so that an
  /// edit made while a task runs leaves it not up to date (`auto`).
  bool signatures_before_actions = false;

  // `auto` cycles:
  /// Called before a task's actions start (to stop the server it replaces).
  std::function<void(const Task&)> before_execute;
  /// When > 0: the last action of the last task of the run that is still
  /// running after this long is a long-running one (a server): the task is
  /// recorded as done, and on_long_running is told, while it goes on running.
  std::chrono::milliseconds long_running_grace{0};
  std::function<void(const Task&)> on_long_running;
};

/// Exit statuses above this are "Command error" (TaskError), not "Command failed".
constexpr int kMaxFailedStatus = 125;

/// Set by the SIGINT/SIGTERM/SIGHUP handler: stop starting tasks.
bool interrupt_requested();
/// The signal that requested the interrupt (0 if none).
int interrupt_signal();
/// Installs handlers for SIGINT, SIGTERM and SIGHUP that request an interrupt
/// (SIGTERM and SIGHUP are passed on to doit's process group when doit leads it).
void install_interrupt_handlers();
/// An async-signal-safe function called from the handler (e.g. to interrupt
/// a running Python action).
using InterruptHook = void (*)();
void set_interrupt_hook(InterruptHook hook);
InterruptHook interrupt_hook();

class Executor {
 public:
  Executor(TaskGraph& graph, StateDb& db, const FileSystem& fs, Reporter& reporter,
           RunOptions options, StringFormatter* formatter);

  /// Runs `selected` (task names, in order) and their dependencies; teardowns
  /// and the reporter's final summary always run. Returns a RunResult.
  /// Throws GraphError (a cycle), UnknownNameError (a command-line target
  /// no delayed creator produced) or UptodateError after finishing up (exit 3).
  int run(const std::vector<std::string>& selected);

  /// Who runs `@create_after` creators when their placeholder is reached.
  void set_delayed_creator(DelayedTaskCreator* creator) { delayed_creator_ = creator; }

  /// True if the run stopped because of SIGINT.
  bool interrupted() const { return interrupted_; }

 private:
  struct Node;
  class Impl;
  TaskGraph& graph_;
  StateDb& db_;
  const FileSystem& fs_;
  Reporter& reporter_;
  RunOptions options_;
  StringFormatter* formatter_;
  bool interrupted_ = false;
  DelayedTaskCreator* delayed_creator_ = nullptr;
};

}  // namespace doit

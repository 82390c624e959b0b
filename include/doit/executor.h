// Runs the selected tasks in pydoit's order (SPEC §10.3): dependencies first,
// each task checked right before it would run, state saved per finished task.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "doit/cmd_format.h"
#include "doit/fs.h"
#include "doit/graph.h"
#include "doit/reporter.h"
#include "doit/run_log.h"
#include "doit/signature.h"
#include "doit/state_db.h"
#include "doit/uptodate.h"
#include "doit/worker.h"

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
  /// --explain: say on stderr why each task runs.
  bool explain = false;
  /// --dry-run: check every task, say what would run and why, run nothing,
  /// record nothing. A task whose file_dep a task that would run produces
  /// would run too.
  bool dry_run = false;

  // `auto` cycles (long_running_grace > 0):
  /// Called before a task's actions start (to stop the server it replaces).
  std::function<void(const Task&)> before_execute;
  /// When > 0: a server is the last action of a task, a command, that is
  /// still running after this long, and is either the last thing to run, or
  /// (when its task has no targets) known to be up: declared (LongRunning)
  /// or, as `serving` says, listening. Its task is recorded as done (with
  /// the file_dep signatures from before its actions) and counts as
  /// successful for the tasks that depend on it; the run goes on while it
  /// runs. Such a command runs in a process group of its own
  /// (on_process_group is told its id when it starts). After the last task,
  /// the run waits until its servers have ended (on_idle is told the result
  /// so far first, if any server runs); on an interrupt it stops them and
  /// forgets their records.
  std::chrono::milliseconds long_running_grace{0};
  /// Whether a process group serves (listens on a socket).
  std::function<bool(pid_t)> serving;
  /// A server was recognised: its task, its process group, and whether it
  /// is known to be up (declared, or serving).
  std::function<void(const Task&, pid_t, bool)> on_long_running;
  std::function<void(pid_t)> on_process_group;
  std::function<void(int)> on_idle;
  /// A server ended on its own: its task and the result (a RunResult).
  std::function<void(const Task&, int)> on_server_exit;
  /// Readable when read_released has something to say: the tasks whose
  /// servers someone else stops now (a restart); they end quietly, and
  /// their records are removed at once.
  int control_fd = -1;
  /// nullopt: the descriptor is at its end (nothing more will come).
  std::function<std::optional<std::vector<std::string>>()> read_released;

  // Parallel runs (-n N, SPEC §10.8):
  /// How many tasks may run at once; 1 is the serial path.
  int jobs = 1;
  /// -P process: tasks with python-actions run in forked workers. false
  /// (-P thread): they run here, one at a time, while commands go on.
  bool python_in_workers = true;
  /// What the embedding does around a worker's fork().
  ForkHooks fork_hooks;
  /// On an interrupt, how long running tasks get to stop before SIGKILL.
  std::chrono::milliseconds stop_timeout{5000};
};

/// Exit statuses above this are "Command error" (TaskError), not "Command failed".
constexpr int kMaxFailedStatus = 125;

/// Set by the SIGINT/SIGTERM/SIGHUP handler: stop starting tasks.
bool interrupt_requested();
/// How many interrupt signals arrived (a second one stops waiting).
int interrupt_count();
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

  /// The tasks whose actions ran to their end (success or failure), with
  /// when they started and how long they took; in the order they ended.
  const std::vector<TaskTime>& times() const { return times_; }

 private:
  struct Node;
  struct Job;
  class Impl;
  TaskGraph& graph_;
  StateDb& db_;
  const FileSystem& fs_;
  Reporter& reporter_;
  RunOptions options_;
  StringFormatter* formatter_;
  bool interrupted_ = false;
  DelayedTaskCreator* delayed_creator_ = nullptr;
  std::vector<TaskTime> times_;
};

}  // namespace doit

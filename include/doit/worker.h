// Forked workers: a copy of this process that runs one task's actions and
// sends back what they produced. Python-actions need the interpreter; a fork
// inherits it with the dodo file loaded, so nothing is pickled or reloaded.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "doit/process.h"
#include "doit/task_run.h"

namespace doit {

/// What the embedding must do around fork() (e.g. CPython's PyOS_*Fork).
struct ForkHooks {
  std::function<void()> before;
  std::function<void()> after_in_parent;
  std::function<void()> after_in_child;
  /// In the child, after the body, before _exit (e.g. flush sys.stdout).
  std::function<void()> child_done;
};

/// Forks. The child leads a process group of its own, has stdin from
/// /dev/null and SIGINT/SIGTERM/SIGHUP at their defaults; it runs `body`,
/// sends the TaskRun and the OutputBlock through a pipe and _exits. The
/// parent polls the returned process; decode_worker_result reads what came.
/// Throws std::system_error if the fork fails.
std::unique_ptr<ChildProcess> fork_worker(const std::function<TaskRun(OutputBlock&)>& body,
                                          const ForkHooks& hooks);

/// The run a finished worker sent. A worker that died without sending one
/// (killed, os._exit) gives a failed run saying how it ended.
std::pair<TaskRun, OutputBlock> decode_worker_result(ProcessResult process);

}  // namespace doit

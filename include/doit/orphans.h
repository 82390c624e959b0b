// Processes that escape a task: a command that daemonizes (`setsid cmd &`,
// a double fork) leaves doit's process group and, once its parent ends,
// would be adopted by init, out of reach of the signals that stop a run.
// `doit run` adopts them instead (it becomes a child subreaper), so that an
// interrupted run can stop them too (docs/reliability.md, "Signals").
//
// The rule: processes started by a task that finished are left alone (a
// task may start a server on purpose); those still there from the tasks
// that were running when the run was interrupted are stopped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <vector>

namespace doit {

/// Makes this process the reaper of its orphaned descendants
/// (PR_SET_CHILD_SUBREAPER). From then on, adopted processes that end are
/// reaped as they end (see reap_adopted_zombies). Returns false when the
/// kernel refuses.
bool adopt_orphans();

/// Whether adopt_orphans() succeeded in this process.
bool adopting_orphans();

/// Every descendant of this process (children, their children...), found
/// through /proc/PID/task/TID/children. Empty where /proc lacks that file.
std::vector<pid_t> descendants();

/// Registers a child that this process started and waits for itself
/// (ChildProcess does), so that reap_adopted_zombies leaves it alone.
void track_child(pid_t pid);
/// Forgets a child registered with track_child (once it is reaped).
void untrack_child(pid_t pid);

/// Reaps the children that ended and that no ChildProcess waits for: the
/// orphans this process adopted (a zombie would still answer `kill -0`, so
/// a pid-file `stop` loop would wait forever). At most once every few
/// milliseconds; nothing unless adopting_orphans().
void reap_adopted_zombies();

/// Marks every descendant living now as belonging to a task that finished:
/// stop_escaped_descendants leaves them alone.
void release_descendants();

/// Called by the interrupt handler (async-signal-safe): from then on, a
/// command that ended while an escaped process still holds its output pipe
/// is not waited for until that process closes it: the escaped processes
/// are stopped then and there (ChildProcess::finished).
void note_interrupt();
/// Whether note_interrupt() was called.
bool interrupt_noted();
/// How long escaped processes get to stop on SIGTERM there.
inline constexpr std::chrono::milliseconds kEscapedStopTimeout{5000};

/// After an interrupted run: sends SIGTERM to every descendant not
/// released, waits until they are gone, SIGKILL after `timeout` (or as soon
/// as another interrupt arrives), reaps them. Returns how many got SIGTERM.
int stop_escaped_descendants(std::chrono::milliseconds timeout);

}  // namespace doit

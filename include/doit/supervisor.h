// `doit auto`: runs a cycle, watches what it reports, runs the next cycle on
// a change. Each cycle is a fresh process (a `doit run` that loads dodo.py
// anew, since CPython cannot be re-initialised in one process); the
// supervisor itself never loads Python.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace doit {

/// How a cycle process talks to the supervisor: lines on the socket it was
/// given (--auto-report=FD).
///   "watch <path>"   a path whose change starts the next cycle
///   "ignore <path>"  under a watched folder, a path whose changes (and those
///                    of everything under it) start none: the state
///                    database and its side files, the targets
///   "reach <task>"   a task the cycle may run (selected, or one they depend on)
///   "watched"        the watch set is complete (the tasks start now)
///   "loaded"         dodo.py loaded and the tasks created
///   "selected"       the command-line names were all found
///   "stop <task>"    about to run <task>: stop its old server first; the
///                    cycle waits for the reply "ok"
///   "group <pgid>"   a command that may become a server started in this
///                    process group of its own
///   "running <pgid> up|started <task>"
///                    <task>'s last action, in process group <pgid>, is a
///                    server (up: a LongRunning action, or listening on a
///                    socket); the cycle goes on
///   "finished <result>"  every task is done or serving (sent only when a
///                    server runs); the process stays while its servers run
///   "exited <result> <task>"  a server ended on its own (0: success)
/// and from the supervisor to a cycle:
///   "ok"             the reply to "stop"
///   "release <task>" the supervisor stops that server of the cycle itself
///                    (only to a cycle whose tasks are done: never while it
///                    waits for "ok")
namespace auto_report {
inline constexpr std::string_view kWatch = "watch ";
inline constexpr std::string_view kIgnore = "ignore ";
inline constexpr std::string_view kReach = "reach ";
inline constexpr std::string_view kWatched = "watched";
inline constexpr std::string_view kLoaded = "loaded";
inline constexpr std::string_view kSelected = "selected";
inline constexpr std::string_view kStop = "stop ";
inline constexpr std::string_view kGroup = "group ";
inline constexpr std::string_view kRunning = "running ";
inline constexpr std::string_view kUp = "up";
inline constexpr std::string_view kStarted = "started";
inline constexpr std::string_view kFinished = "finished ";
inline constexpr std::string_view kExited = "exited ";
inline constexpr std::string_view kOk = "ok";
inline constexpr std::string_view kRelease = "release ";
}  // namespace auto_report

/// How long the last action of a task may run before it counts as a server.
inline constexpr std::chrono::milliseconds kLongRunningGrace{1000};

struct AutoOptions {
  /// The cycle command, [program, command, ...]; the supervisor inserts
  /// "--auto-report=<fd>" after the command word.
  std::vector<std::string> cycle_argv;
  /// Always watched, even when a cycle fails before it reports (dodo.py,
  /// config files).
  std::vector<std::string> base_watch;
  std::chrono::milliseconds debounce{100};
  /// Shell commands run after a cycle that ended with 0 / not 0.
  std::string success_command;
  std::string failure_command;
  /// Signal that stops a server (its process group), and every cycle when auto stops.
  int stop_signal = 0;
  /// How long it may take to exit before it is killed.
  std::chrono::milliseconds stop_timeout{5000};
  /// Poll the files at this interval instead of using inotify (--poll).
  std::optional<std::chrono::milliseconds> poll_interval;
};

/// Runs cycles until SIGINT, SIGTERM or SIGHUP (then stops the running cycle
/// and everything it started, and returns 0), or until a cycle fails because
/// a name on the command line is unknown (returns 3).
int run_auto(const AutoOptions& options);

}  // namespace doit

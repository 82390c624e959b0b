// Running commands as child processes: posix_spawn, pipes read until EOF,
// output captured and echoed line by line.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "doit/task.h"

namespace doit {

struct SpawnSpec {
  std::vector<std::string> argv;
  std::optional<std::string> cwd;
  /// Replacement environment ("NAME=VALUE"); inherit when unset.
  std::optional<std::vector<std::string>> env;
  /// false: stdout/stderr are inherited (nothing captured).
  bool capture = true;
  /// Starts the child in a process group of its own (stopped as a whole by
  /// ChildProcess::signal) with stdin from /dev/null: how the parallel
  /// executor runs commands, so that none of them reads the terminal.
  bool own_group = false;
  /// Echo the output as it comes (whole UTF-8 characters), not line by line.
  bool echo_as_it_comes = false;
};

struct ProcessResult {
  /// Exit status, or -signal when killed by a signal (as Python's returncode).
  int returncode = 0;
  std::string out;
  std::string err;
  /// Set when the program could not be started (e.g. not found); returncode 127.
  std::string spawn_error;
};

/// A started child process whose output is collected as it comes. run_process
/// drives one to its end; the parallel executor polls many at once.
class ChildProcess {
 public:
  /// Starts `spec`. When it cannot start, the process is finished at once,
  /// with spawn_error set in its result.
  ChildProcess(const SpawnSpec& spec, LiveOutput* live_out, LiveOutput* live_err);
  /// Takes charge of a child started otherwise (a fork): `out_fd` is read to
  /// EOF as its stdout, nothing is echoed. `own_group`: the child leads a
  /// process group of its own.
  static std::unique_ptr<ChildProcess> adopt(pid_t pid, int out_fd, bool own_group);
  /// A child still running is killed (its group, if it has one) and reaped.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// Appends the descriptors to poll for input: the pipes not yet at EOF and,
  /// until the child is reaped, one that becomes readable when it exits.
  void poll_fds(std::vector<int>& fds) const;
  /// Reads what `fd` (one of poll_fds) has, or reaps the child.
  void on_ready(int fd);
  /// Both pipes at EOF and the child reaped (tries to reap it, never blocks).
  bool finished();
  /// The longest a poll may wait and still notice the exit: -1 (no limit)
  /// where the kernel notifies exits through a descriptor, else a few ms.
  int poll_timeout_ms() const;
  /// Sends `sig` to the child's process group (own_group) or to the child.
  void signal(int sig);
  /// The child's process id (its process group's with own_group); -1 when
  /// it could not start.
  pid_t pid() const { return pid_; }
  /// The outcome, once finished().
  ProcessResult take_result();

 private:
  struct Stream {
    int fd = -1;
    std::string captured;  // raw bytes
    size_t echoed = 0;     // bytes of `captured` already echoed
    LiveOutput* live = nullptr;
    bool to_err = false;  // echo through live->err()
    bool as_it_comes = false;
    void echo_lines(bool at_eof);
  };
  ChildProcess() = default;
  void read_stream(Stream& s);
  void reap(bool block);

  pid_t pid_ = -1;
  int exit_fd_ = -1;  // pidfd
  bool own_group_ = false;
  bool reaped_ = false;
  int status_ = 0;
  Stream streams_[2];
  ProcessResult result_;
};

/// Runs the command to completion: reads both pipes until EOF (a background
/// child keeping them open keeps us waiting, as pydoit), echoing complete
/// lines to `live_out`/`live_err` when given.
ProcessResult run_process(const SpawnSpec& spec, LiveOutput* live_out, LiveOutput* live_err);

/// Signals a child gets back to their default disposition (the embedded
/// Python ignores SIGPIPE; doit handles SIGINT/SIGTERM), as Python's
/// subprocess does with restore_signals.
void reset_child_signals(void* posix_spawnattr);

/// The argv that runs `command` through the shell.
std::vector<std::string> shell_argv(const std::string& command);

/// argv[0] of the process close_in_child() starts (this executable again).
inline constexpr std::string_view kCloserName = "doit: closing descriptors";

/// Closes `fds` without waiting for what the kernel does when the last
/// reference goes: a child process (this executable again, as kCloserName)
/// takes them over and lets go of them once this process has closed its
/// own. For descriptors whose close waits in the kernel: an inotify
/// instance holding watches waits for a grace period, 5 to 20 ms, and a
/// process that ends waits for it too. The child is not waited for: it ends
/// on its own, whether this process goes on or ends, and whoever adopts it
/// reaps it. Only in an executable whose main() calls run_as_closer() first.
/// Returns the child's pid, `fds` closed; or -1 when no child could be
/// started (or the executable cannot be one), the descriptors left open.
pid_t close_in_child(std::span<const int> fds);

/// What main() calls first. When this process is the child close_in_child()
/// started: waits until its parent let go of the descriptors, and returns
/// the exit code. Otherwise returns nullopt, and close_in_child() may be
/// used from then on.
std::optional<int> run_as_closer(int argc, char** argv);

}  // namespace doit

// Running commands as child processes: posix_spawn, pipes read until EOF,
// output captured and echoed line by line.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
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
  /// If set: called once when the process has run for `grace` and is still
  /// running (`auto` uses it to tell a server from a short command).
  std::function<void()> after_grace;
  std::chrono::milliseconds grace{0};
};

struct ProcessResult {
  /// Exit status, or -signal when killed by a signal (as Python's returncode).
  int returncode = 0;
  std::string out;
  std::string err;
  /// Set when the program could not be started (e.g. not found); returncode 127.
  std::string spawn_error;
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

}  // namespace doit

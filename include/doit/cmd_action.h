// Running one command action: the command computed or substituted
// (%(targets)s...), the process run, its exit status turned into pydoit's
// outcome ("Command failed: '...' returned N"). Used by `run` and `clean`.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <variant>

#include "doit/cmd_format.h"
#include "doit/process.h"
#include "doit/task.h"

namespace doit {

struct CommandRun {
  FormatStyle style = FormatStyle::kOld;
  /// Python formatting when the core's own cannot do it (may be null).
  StringFormatter* formatter = nullptr;
  /// Capture the output (false: io capture off).
  bool capture = true;
  /// `changed` is a name in the substitution (not for `clean`).
  bool with_changed = true;
  /// Start it in a process group of its own (see SpawnSpec::own_group).
  bool own_group = false;
};

/// A command ready to start: what to spawn, and how failure messages show it.
struct PreparedCommand {
  SpawnSpec spec;
  /// The command as failure messages quote it: 'gcc -c a.c'.
  std::string shown;
  bool shell = true;
};

/// Computes the command of `cmd` for `env.task` (a callable's result, the
/// %(targets)s substitutions): a PreparedCommand, or the failed outcome
/// ("CmdAction Error creating command string").
std::variant<PreparedCommand, ActionOutcome> prepare_command(const CmdAction& cmd,
                                                             const ActionEnv& env,
                                                             const CommandRun& how);

/// pydoit's outcome of a finished command: success (its output as result and
/// save_out value), "Command failed: ... returned N" or "Command error".
ActionOutcome command_outcome(const CmdAction& cmd, const PreparedCommand& prepared,
                              ProcessResult process);

/// Runs `cmd` for `env.task`. Live output goes to env.live_out/live_err.
ActionOutcome run_command(const CmdAction& cmd, const ActionEnv& env, const CommandRun& how);

}  // namespace doit

// Running one command action: the command computed or substituted
// (%(targets)s...), the process run, its exit status turned into pydoit's
// outcome ("Command failed: '...' returned N"). Used by `run` and `clean`.
#pragma once

#include <chrono>
#include <functional>

#include "doit/cmd_format.h"
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
  /// Called once if the process still runs after `grace` (see SpawnSpec).
  std::function<void()> after_grace;
  std::chrono::milliseconds grace{0};
};

/// Runs `cmd` for `env.task`. Live output goes to env.live_out/live_err.
ActionOutcome run_command(const CmdAction& cmd, const ActionEnv& env, const CommandRun& how);

}  // namespace doit

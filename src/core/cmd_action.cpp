#include "doit/cmd_action.h"

#include <fmt/format.h>

#include "doit/executor.h"
#include "doit/process.h"
#include "doit/text.h"

namespace doit {

std::variant<PreparedCommand, ActionOutcome> prepare_command(const CmdAction& cmd,
                                                             const ActionEnv& env,
                                                             const CommandRun& how) {
  ActionOutcome outcome;
  PreparedCommand prepared;
  SpawnSpec& spec = prepared.spec;
  const CmdOptions& options = cmd.options();
  spec.cwd = options.cwd;
  spec.env = options.env;
  spec.capture = how.capture && !cmd.inherit_output;
  std::string& shown = prepared.shown;
  bool& shell = prepared.shell;
  shell = cmd.shell;
  std::string text = cmd.command;
  std::vector<std::string> argv = cmd.argv;
  if (options.source) {
    try {
      CommandSource::Command c = options.source->command(env);
      if (std::holds_alternative<std::string>(c)) {
        text = std::get<std::string>(c);
      } else {
        argv = std::get<std::vector<std::string>>(c);
        shell = false;
      }
    } catch (const std::exception& e) {
      outcome.status = ActionOutcome::Status::kError;
      outcome.message = std::string("CmdAction Error creating command string\n") + e.what();
      return outcome;
    }
  }
  if (shell) {
    const Task& task = env.task;
    FormatMapping mapping = {{"targets", join(task.targets, " ")},
                             {"dependencies", join(task.file_dep, " ")}};
    if (how.with_changed) mapping.emplace_back("changed", join(env.changed, " "));
    for (const auto& [name, value] : task.extras().options) {
      mapping.emplace_back(name, value.text());
    }
    std::optional<std::string> formatted = format_simple(text, mapping, how.style);
    if (!formatted) {
      if (how.formatter == nullptr) {
        outcome.status = ActionOutcome::Status::kError;
        outcome.message = "CmdAction Error creating command string\n";
        return outcome;
      }
      try {
        formatted = how.formatter->format(text, mapping, format_style_name(how.style));
      } catch (const std::exception& e) {
        outcome.status = ActionOutcome::Status::kError;
        outcome.message = std::string("CmdAction Error creating command string\n") + e.what();
        return outcome;
      }
    }
    shown = "'" + *formatted + "'";
    spec.argv = shell_argv(*formatted);
  } else {
    shown = "'" + python_list_repr(argv) + "'";
    spec.argv = argv;
  }
  spec.own_group = how.own_group;
  spec.echo_as_it_comes = options.buffering > 0;
  return prepared;
}

ActionOutcome command_outcome(const CmdAction& cmd, const PreparedCommand& prepared,
                              ProcessResult pr) {
  ActionOutcome outcome;
  const std::string& shown = prepared.shown;
  const bool shell = prepared.shell;
  outcome.out = std::move(pr.out);
  outcome.err = std::move(pr.err);
  if (!pr.spawn_error.empty() && !shell) {
    outcome.status = ActionOutcome::Status::kError;
    outcome.message = fmt::format("CmdAction Error\n{}\n", pr.spawn_error);
    return outcome;
  }
  const std::string_view what = cmd.interactive ? "Interactive command" : "Command";
  if (cmd.ignore_status || pr.returncode == 0) {
    outcome.result = Json::string(outcome.out + outcome.err);
    if (const std::string& key = cmd.options().save_out; !key.empty()) {
      outcome.values = Json::object({{key, Json::string(outcome.out)}});
    }
  } else if (pr.returncode > kMaxFailedStatus) {
    outcome.status = ActionOutcome::Status::kError;
    outcome.message = fmt::format("{} error: {} returned {}\n", what, shown, pr.returncode);
  } else {
    outcome.status = ActionOutcome::Status::kFailed;
    outcome.message = fmt::format("{} failed: {} returned {}\n", what, shown, pr.returncode);
  }
  return outcome;
}

ActionOutcome run_command(const CmdAction& cmd, const ActionEnv& env, const CommandRun& how) {
  std::variant<PreparedCommand, ActionOutcome> prepared = prepare_command(cmd, env, how);
  if (auto* failed = std::get_if<ActionOutcome>(&prepared)) return std::move(*failed);
  const PreparedCommand& ready = std::get<PreparedCommand>(prepared);
  return command_outcome(cmd, ready, run_process(ready.spec, env.live_out, env.live_err));
}

}  // namespace doit

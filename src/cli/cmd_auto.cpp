// `doit auto [TASK...]`: run the tasks, then again whenever what they depend
// on changes. The supervisor (src/watch/supervisor.cpp) never loads Python:
// every cycle is a fresh `doit run` that reports what to watch.
#include <fmt/format.h>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "doit/supervisor.h"

namespace doit::cli {
namespace {

constexpr long long kDefaultDebounceMs = 100;
constexpr double kDefaultStopTimeoutSeconds = 5.0;
constexpr int kMillisPerSecond = 1000;

/// "TERM", "SIGTERM" or a number → the signal; 0 if unknown.
int parse_signal(const std::string& text) {
  if (text.empty()) return SIGTERM;
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    try {
      return std::stoi(text);
    } catch (const std::exception&) {
      return 0;
    }
  }
  const std::string name = text.starts_with("SIG") ? text.substr(3) : text;
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev != nullptr && name == abbrev) return sig;
  }
  return 0;
}

}  // namespace

std::vector<OptionDef> auto_options() {
  std::vector<OptionDef> defs;
  defs.push_back(option_value("verbosity", 'v', "verbosity", OptType::kInt,
                              "verbosity of each cycle's run (0, 1, 2)", "1"));
  OptionDef reporter = option_value("reporter", 'r', "reporter", OptType::kString,
                                    "reporter of each cycle", "executed-only");
  defs.push_back(reporter);
  defs.push_back(option_value("success_callback", 0, "success", OptType::kString,
                              "shell command run after a cycle that succeeded", ""));
  defs.push_back(option_value("failure_callback", 0, "failure", OptType::kString,
                              "shell command run after a cycle that failed", ""));
  defs.push_back(option_value("debounce", 0, "debounce", OptType::kInt,
                              "milliseconds a burst of changes must stay quiet before a cycle",
                              std::to_string(kDefaultDebounceMs)));
  defs.push_back(option_value("poll", 0, "poll", OptType::kInt,
                              "look at the files every MS milliseconds instead of using inotify",
                              "0"));
  defs.push_back(option_value("stop_signal", 0, "stop-signal", OptType::kString,
                              "signal that stops a running cycle's processes", "SIGTERM"));
  defs.push_back(option_value("stop_timeout", 0, "stop-timeout", OptType::kString,
                              "seconds they may take to exit before SIGKILL",
                              fmt::format("{}", kDefaultStopTimeoutSeconds)));
  return defs;
}

int execute_auto(const Invocation& inv, const Parsed& parsed) {
  namespace fs = std::filesystem;
  const Command& cmd = *find_command("auto");
  const OptionValues opt = command_options(inv, cmd, parsed);

  AutoOptions ao;
  ao.cycle_argv = {fs::canonical("/proc/self/exe").string(), "run"};
  // The loader and database options given explicitly go to every cycle.
  for (const OptionDef& d : dodo_options()) {
    auto it = parsed.values.find(d.name);
    if (it == parsed.values.end() || d.long_name.empty()) continue;
    if (const bool* b = std::get_if<bool>(&it->second)) {
      if (*b) ao.cycle_argv.push_back("--" + d.long_name);
    } else if (const std::string* s = std::get_if<std::string>(&it->second)) {
      ao.cycle_argv.push_back("--" + d.long_name + "=" + *s);
    }
  }
  for (const auto& [name, value] : inv.early_options) {
    if (const std::string* s = std::get_if<std::string>(&value)) {
      ao.cycle_argv.push_back((name == "dodoFile" ? "--file=" : "--dir=") + *s);
    } else if (name == "seek_file") {
      ao.cycle_argv.push_back("--seek-file");
    }
  }
  // A reporter given to auto; else the cycle uses DOIT_CONFIG's, else executed-only.
  if (opt.is_configured("reporter")) {
    ao.cycle_argv.push_back("--reporter=" + opt.get_string("reporter"));
  }
  if (opt.has("verbosity")) {
    ao.cycle_argv.push_back(fmt::format("--verbosity={}", opt.get_int("verbosity", 1)));
  }
  for (const auto& [k, v] : inv.vars) ao.cycle_argv.push_back(k + "=" + v);
  ao.cycle_argv.insert(ao.cycle_argv.end(), parsed.rest.begin(), parsed.rest.end());

  const std::string dodo = opt.get_string("dodoFile", "dodo.py");
  ao.base_watch = {fs::absolute(dodo).string(),
                   (fs::path(inv.initial_workdir) / "doit.cfg").string(),
                   (fs::path(inv.initial_workdir) / "pyproject.toml").string()};
  ao.debounce = std::chrono::milliseconds(opt.get_int("debounce", kDefaultDebounceMs));
  if (const long long poll_ms = opt.get_int("poll", 0); poll_ms > 0) {
    ao.poll_interval = std::chrono::milliseconds(poll_ms);
  } else if (poll_ms < 0) {
    throw UserError("auto: --poll must be a positive number of milliseconds");
  }
  ao.success_command = opt.get_string("success_callback");
  ao.failure_command = opt.get_string("failure_callback");
  ao.stop_signal = parse_signal(opt.get_string("stop_signal", "SIGTERM"));
  if (ao.stop_signal <= 0) {
    throw UserError(
        fmt::format("auto: unknown signal '{}' for --stop-signal", opt.get_string("stop_signal")));
  }
  try {
    const double seconds =
        std::stod(opt.get_string("stop_timeout", fmt::format("{}", kDefaultStopTimeoutSeconds)));
    ao.stop_timeout = std::chrono::milliseconds(static_cast<long long>(seconds * kMillisPerSecond));
  } catch (const std::exception&) {
    throw UserError("auto: --stop-timeout must be a number of seconds");
  }
  return run_auto(ao);
}

}  // namespace doit::cli

// doit: the command line. Splits argv as pydoit does (SPEC §1.2), picks the
// command, and prints every user error once, with pydoit's exit codes.
#include <fmt/format.h>
#include <unistd.h>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "cli/command.h"
#include "cli/did_you_mean.h"
#include "doit/output.h"
#include "doit/state_db.h"
#include "doit/work_counters.h"
#include "python/adapters.h"

#ifndef DOIT_CPP_VERSION
#define DOIT_CPP_VERSION "0.0.0"
#endif

namespace doit::cli {
namespace {

/// The loader options that 0.37 accepts before the command name.
std::vector<OptionDef> early_loader_options() {
  std::vector<OptionDef> out;
  for (const OptionDef& d : dodo_options()) {
    if (d.name == "dodoFile" || d.name == "cwdPath" || d.name == "seek_file") out.push_back(d);
  }
  return out;
}

/// Whether `word` (an option word) takes the next word as its value, as far
/// as the command's known options tell. Unknown options are assumed to.
bool takes_value(const std::vector<OptionDef>& defs, const std::string& word) {
  if (word.find('=') != std::string::npos) return false;
  if (word.starts_with("--")) {
    const std::string name = word.substr(2);
    for (const OptionDef& d : defs) {
      if (d.long_name == name || d.inverse == name) return d.type != OptType::kBool;
    }
    return true;
  }
  if (word.size() == 2) {
    for (const OptionDef& d : defs) {
      if (d.short_name == word[1]) return d.type != OptType::kBool;
    }
    return true;
  }
  return false;  // -p4 or a cluster: the value is attached
}

int print_error(const std::string& message) {
  flush_console();
  Output::err().write("ERROR: " + message + "\n");
  Output::err().flush();
  return kExitUserError;
}

int main_impl(int argc, char** argv) {
  Invocation inv;
  inv.bin = std::filesystem::path(argv[0]).filename().string();
  inv.argv.assign(argv, argv + argc);
  inv.initial_workdir = std::filesystem::current_path().string();
  std::vector<std::string> args(argv + 1, argv + argc);

  if (!args.empty() && args[0] == "--version") {
    Output::out().write(fmt::format("{} (doit-cpp {})\nlib @ {}\n", "0.37.0", DOIT_CPP_VERSION,
                                    std::filesystem::canonical("/proc/self/exe").string()));
    return 0;
  }
  if (!args.empty() && args[0] == "--help") {
    Output::out().write(general_help(inv.bin));
    return 0;
  }

  // 0.37: loader options before the command; ignored if they do not parse.
  try {
    Parsed early = parse_options(early_loader_options(), args);
    if (!early.values.empty()) {
      inv.early_options = early.values;
      args = early.rest;
    }
  } catch (const std::exception&) {
  }

  // The command: the first word if it names one, else `run`.
  const Command* cmd = nullptr;
  if (!args.empty()) cmd = find_command(args[0]);
  if (cmd != nullptr) {
    inv.command_named = true;
    args.erase(args.begin());
  } else {
    cmd = find_command("run");
  }

  // NAME=VALUE words become variables, except when they are an option's value.
  const std::vector<OptionDef> defs = all_options(*cmd);
  std::vector<std::string> kept;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& w = args[i];
    const bool option_value =
        i > 0 && args[i - 1].starts_with("-") && takes_value(defs, args[i - 1]);
    const size_t eq = w.find('=');
    if (!w.starts_with("-") && eq != std::string::npos && eq > 0 && !option_value) {
      inv.vars.emplace_back(w.substr(0, eq), w.substr(eq + 1));
      continue;
    }
    kept.push_back(w);
  }

  Parsed parsed;
  try {
    parsed = parse_options(defs, kept);
  } catch (const OptionError& e) {
    return print_error(parse_error_message("Command", defs, e));
  } catch (const ValueError& e) {
    return print_error(e.what());
  }
  return cmd->execute(inv, parsed);
}

}  // namespace
}  // namespace doit::cli

int main(int argc, char** argv) {
  using namespace doit;
  work::init_from_environment();
  int code = 0;
  try {
    code = cli::main_impl(argc, argv);
  } catch (const cli::UserError& e) {
    code = cli::print_error(e.what());
    const std::string hint = cli::suggestion_for_error(e.what());
    if (!hint.empty()) {
      Output::err().write(hint);
      Output::err().flush();
    }
  } catch (const StateDbError& e) {  // e.g. a record that cannot be written mid-run
    code = cli::print_error(e.what());
  } catch (const python::PythonTraceback& e) {
    flush_console();
    Output::err().write(e.what());
    code = cli::kExitUserError;
  } catch (const std::exception& e) {
    code = cli::print_error(std::string("internal error: ") + e.what());
  }
  flush_console();
  if (work::enabled()) {
    Output::err().write(work::summary());
    Output::err().flush();
  }
  return code;
}

// doit: the command line. Splits argv as pydoit does (SPEC §1.2), picks the
// command, and prints every user error once, with pydoit's exit codes.
#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "cli/command.h"
#include "cli/command_line.h"
#include "cli/did_you_mean.h"
#include "doit/output.h"
#include "doit/process.h"
#include "doit/state_db.h"
#include "doit/work_counters.h"
#include "python/adapters.h"

#ifndef DOIT_CPP_VERSION
#define DOIT_CPP_VERSION "0.0.0"
#endif

namespace doit::cli {
namespace {

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

  CommandLine line = split_command_line(args, early_loader_options(), [](const std::string& name) {
    const Command* cmd = find_command(name);
    return cmd != nullptr ? std::optional(all_options(*cmd)) : std::nullopt;
  });
  inv.early_options = std::move(line.early_options);
  inv.command_named = line.command_named;
  inv.vars = std::move(line.vars);
  const Command* cmd = find_command(line.command);
  const std::vector<OptionDef> defs = all_options(*cmd);
  Parsed parsed;
  try {
    parsed = parse_options(defs, line.words);
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
  if (const std::optional<int> closed = run_as_closer(argc, argv)) return *closed;
#ifdef M_ARENA_MAX
  // One malloc arena for every thread. The threads besides the main one
  // (stat workers, the journal's) allocate little, and a second arena kept
  // about 0.8 MB of a 10,000-task run's peak memory for it.
  mallopt(M_ARENA_MAX, 1);
#endif
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

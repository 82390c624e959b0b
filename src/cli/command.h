// What every command shares: the invocation context, the registry, and the
// user-error type the CLI prints once as "ERROR: ..." with exit code 3.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cli/options.h"
#include "doit/graph.h"

namespace doit::cli {

/// A user mistake: printed as "ERROR: <message>\n" on stderr, exit 3.
class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Exit code of errors raised before tasks run (SPEC §12.1).
constexpr int kExitUserError = 3;

/// The state database file when --db-file is not given.
constexpr char kDefaultDepFile[] = ".doit.db";

struct Invocation {
  /// Program name as messages show it (basename of argv[0]).
  std::string bin;
  std::vector<std::string> argv;
  /// NAME=VALUE words from the command line (for doit.get_var).
  std::vector<std::pair<std::string, std::string>> vars;
  /// The directory doit was started in.
  std::string initial_workdir;
  /// Loader options given before the command name (`doit -f x.py list`).
  std::map<std::string, Value> early_options;
  /// The command was named (`doit run x`), not implied (`doit x`).
  bool command_named = false;
};

struct Command {
  std::string name;
  std::string purpose;
  std::string usage;
  std::string description;
  /// The command's own options (global and loader options are added for
  /// commands that load a dodo file).
  std::vector<OptionDef> (*options)();
  bool loads_dodo;
  int (*execute)(const Invocation& inv, const Parsed& parsed);
};

/// Every command, sorted by name.
const std::vector<Command>& commands();
const Command* find_command(const std::string& name);
/// A command pydoit does not have (e.g. graph): a task may have its name,
/// as in pydoit; `doit run NAME` then runs the task.
bool is_extension_command(const std::string& name);

/// Options of commands that load a dodo file (DB backend + task loader).
std::vector<OptionDef> dodo_options();
/// The loader options that 0.37 accepts before the command name (-f, -d, -k).
std::vector<OptionDef> early_loader_options();
/// All options of `cmd`: its own, then dodo_options() when it loads tasks.
std::vector<OptionDef> all_options(const Command& cmd);

/// The task named `name`; throws UserError "'x' is not a task.".
const Task& require_task(const TaskGraph& graph, const std::string& name);
/// `text` in single quotes, as one word for sh, bash and zsh.
std::string shell_quoted(const std::string& text);
/// Flushes the console, then ends the process by `sig` (after an interrupt).
[[noreturn]] void die_by_signal(int sig);
/// `task` followed by its direct sub-tasks.
std::vector<const Task*> with_subtasks(const TaskGraph& graph, const Task& task);

// Command entry points.
std::vector<OptionDef> run_options();
int execute_run(const Invocation& inv, const Parsed& parsed);
std::vector<OptionDef> list_options();
int execute_list(const Invocation& inv, const Parsed& parsed);
std::vector<OptionDef> no_options();
int execute_help(const Invocation& inv, const Parsed& parsed);
std::vector<OptionDef> auto_options();
int execute_auto(const Invocation& inv, const Parsed& parsed);
std::vector<OptionDef> info_options();
int execute_info(const Invocation& inv, const Parsed& parsed);
int execute_ignore(const Invocation& inv, const Parsed& parsed);
std::vector<OptionDef> forget_options();
int execute_forget(const Invocation& inv, const Parsed& parsed);
std::vector<OptionDef> clean_options();
int execute_clean(const Invocation& inv, const Parsed& parsed);
std::vector<OptionDef> dumpdb_options();
std::string dumpdb_description();
int execute_dumpdb(const Invocation& inv, const Parsed& parsed);
std::vector<OptionDef> strace_options();
std::string strace_description();
int execute_strace(const Invocation& inv, const Parsed& parsed);
std::vector<OptionDef> tabcompletion_options();
std::string tabcompletion_description();
int execute_tabcompletion(const Invocation& inv, const Parsed& parsed);
std::vector<OptionDef> graph_options();
std::string graph_description();
int execute_graph(const Invocation& inv, const Parsed& parsed);
std::vector<OptionDef> stats_options();
std::string stats_description();
int execute_stats(const Invocation& inv, const Parsed& parsed);
std::string reset_dep_description();
int execute_reset_dep(const Invocation& inv, const Parsed& parsed);
/// The general help text (`doit help`).
std::string general_help(const std::string& bin);

}  // namespace doit::cli

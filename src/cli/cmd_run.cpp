// `doit run` (the default command): select tasks (SPEC §10.1) and run them.
#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "doit/executor.h"
#include "doit/output.h"
#include "python/adapters.h"

namespace doit::cli {
namespace {

/// Resolves command-line words (or default_tasks) into task names.
std::vector<std::string> select_tasks(const Invocation& inv, const DodoSession& session,
                                      const std::vector<std::string>& words, bool from_defaults) {
  const TaskGraph& graph = *session.graph;
  std::vector<std::string> selected;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word.find('*') != std::string::npos) {
      for (std::string& name : graph.match(word)) selected.push_back(std::move(name));
      continue;
    }
    const int t = graph.find(word);
    if (t != TaskGraph::kNotFound) {
      selected.push_back(word);
      if (from_defaults) continue;
      // The words after a task are its options; it declares none yet, so an
      // option word is an error, and pos_arg takes the rest of the line.
      std::vector<std::string> rest(words.begin() + static_cast<long>(i) + 1, words.end());
      try {
        (void)parse_options({}, rest);
      } catch (const OptionError& e) {
        throw UserError(parse_error_message("Task", {}, e));
      }
      continue;
    }
    const int producer = graph.task_for_target(word);
    if (producer != TaskGraph::kNotFound) {
      selected.push_back(graph.task(producer).name);
      continue;
    }
    if (inv.command_named) {
      throw UserError(fmt::format(
          "command `run` invalid parameter: \"{}\". Must be a task, or a target.\n"
          "Type \"{} list\" to see available tasks",
          word, inv.bin));
    }
    throw UserError(fmt::format(
        "Invalid parameter: \"{}\". Must be a command, task, or a target.\n"
        "Type \"{} help\" to see available commands.\n"
        "Type \"{} list\" to see available tasks.\n",
        word, inv.bin, inv.bin));
  }
  return selected;
}

/// -s: the selected tasks run without their task_dep (a group keeps its
/// sub-tasks, which lose theirs).
void drop_task_deps(TaskGraph& graph, const std::vector<std::string>& selected) {
  for (const std::string& name : selected) {
    Task& task = graph.task(graph.find(name));
    if (task.is_group) {
      for (const std::string& sub : task.task_dep) {
        const int s = graph.find(sub);
        if (graph.task(s).subtask_of == task.name) graph.task(s).task_dep.clear();
      }
    } else {
      task.task_dep.clear();
    }
  }
}

[[noreturn]] void die_by_signal(int sig) {
  flush_console();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
  _exit(128 + sig);
}

}  // namespace

int execute_run(const Invocation& inv, const Parsed& parsed) {
  const Command& cmd = *find_command("run");
  DodoSession session = open_dodo(inv, cmd, parsed);
  const OptionValues& opt = session.options;

  RunOptions ro;
  ro.always = opt.get_bool("always");
  ro.keep_going = opt.get_bool("continue");
  if (opt.is_explicit("verbosity")) {
    ro.forced_verbosity = static_cast<int>(opt.get_int("verbosity", 1));
  } else {
    ro.default_verbosity = static_cast<int>(opt.get_int("verbosity", 1));
  }
  if (!parse_checker(opt.get_string("check_file_uptodate", "md5"), &ro.checker)) {
    throw UserError(fmt::format(
        "No check_file_uptodate named '{}'. Type '{} help run' to see a list of available "
        "checkers.",
        opt.get_string("check_file_uptodate"), inv.bin));
  }
  if (auto it = session.config.find("action_string_formatting"); it != session.config.end()) {
    parse_format_style(std::get<std::string>(it->second.value), &ro.format_style);
  }
  const std::string par_type = opt.get_string("par_type", "process");
  if (opt.get_int("num_process", 0) > 0 && par_type != "process" && par_type != "thread") {
    throw UserError("Invalid parallel type " + par_type);
  }

  std::vector<std::string> selected;
  if (!parsed.rest.empty()) {
    selected = select_tasks(inv, session, parsed.rest, false);
  } else if (auto defaults = default_tasks(session)) {
    selected = select_tasks(inv, session, *defaults, true);
  } else {
    for (const Task& t : session.graph->tasks()) selected.push_back(t.name);
  }
  if (opt.get_bool("single")) drop_task_deps(*session.graph, selected);

  std::unique_ptr<StateDb> db = open_state(session);

  std::unique_ptr<Output> outfile;
  const std::string outfile_path = opt.get_string("outfile");
  if (!outfile_path.empty()) {
    const int fd = ::open(outfile_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) throw UserError(fmt::format("Cannot open output file '{}'.", outfile_path));
    outfile = std::make_unique<Output>(fd, /*owns=*/true);
  }
  Output& report_to = outfile ? *outfile : Output::out();
  const std::string reporter_name = opt.get_string("reporter", "console");
  std::unique_ptr<Reporter> reporter =
      make_reporter(reporter_name, report_to, static_cast<int>(opt.get_int("failure_verbosity")));
  if (!reporter) {
    throw UserError(fmt::format("No reporter named '{}'. Type '{} help run' to see a list of "
                                "available reporters.",
                                reporter_name, inv.bin));
  }

  RealFileSystem fs;
  python::PyFormatter formatter;
  set_interrupt_hook(python::interrupt_python);
  install_interrupt_handlers();
  Executor executor(*session.graph, *db, fs, *reporter, ro, &formatter);
  int result = 0;
  try {
    result = executor.run(selected);
  } catch (const GraphError& e) {
    report_to.flush();
    throw UserError(e.what());
  } catch (const UptodateError& e) {
    report_to.flush();
    throw python::PythonTraceback(e.what());
  }
  report_to.flush();
  if (executor.interrupted()) die_by_signal(interrupt_signal());
  return result;
}

}  // namespace doit::cli

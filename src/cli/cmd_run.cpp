// `doit run` (the default command): select tasks (SPEC §10.1) and run them.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <csignal>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "doit/executor.h"
#include "doit/output.h"
#include "doit/text.h"
#include "python/adapters.h"

namespace doit::cli {
namespace {

/// A task's params as command-line options.
std::vector<OptionDef> param_options(const Task& task) {
  std::vector<OptionDef> defs;
  for (const ParamDef& p : task.params) {
    OptionDef d;
    d.name = p.name;
    d.short_name = p.short_name;
    d.long_name = p.long_name;
    d.type = p.kind == ParamDef::Kind::kBool   ? OptType::kBool
             : p.kind == ParamDef::Kind::kList ? OptType::kList
                                               : OptType::kString;
    d.inverse = p.inverse;
    d.choices = p.choices;
    d.help = p.help;
    d.env_var = p.env_var;
    d.metavar = p.metavar;
    d.section = p.section;
    defs.push_back(std::move(d));
  }
  return defs;
}

void set_option(Task& task, const std::string& name, OptionValue value) {
  for (auto& [n, v] : task.options) {
    if (n == name) {
      v = std::move(value);
      return;
    }
  }
  task.options.emplace_back(name, std::move(value));
}

/// Parses the words after a task's name as its options (SPEC §10.1);
/// returns how many words were consumed.
size_t apply_task_options(Task& task, const std::vector<std::string>& words) {
  const std::vector<OptionDef> defs = param_options(task);
  Parsed parsed;
  try {
    parsed = parse_options(defs, words);
  } catch (const OptionError& e) {
    throw UserError(parse_error_message("Task", defs, e));
  } catch (const ValueError& e) {
    throw UserError(e.what());
  }
  for (ParamDef& p : task.params) {
    auto it = parsed.values.find(p.name);
    try {
      if (it == parsed.values.end()) {
        const char* env = p.env_var.empty() ? nullptr : std::getenv(p.env_var.c_str());
        if (env == nullptr) continue;
        set_option(task, p.name,
                   p.kind == ParamDef::Kind::kList ? p.converter->from_list({env})
                                                   : p.converter->from_text(env));
      } else if (const bool* b = std::get_if<bool>(&it->second)) {
        set_option(task, p.name, p.converter->from_bool(*b));
      } else if (const auto* l = std::get_if<std::vector<std::string>>(&it->second)) {
        set_option(task, p.name, p.converter->from_list(*l));
      } else {
        set_option(task, p.name, p.converter->from_text(std::get<std::string>(it->second)));
      }
    } catch (const std::invalid_argument& e) {
      throw UserError(e.what());
    }
  }
  if (!task.pos_arg.empty()) {
    std::vector<Json> items;
    for (const std::string& w : parsed.rest) items.push_back(Json::string(w));
    set_option(task, task.pos_arg,
               OptionValue{nullptr, Json::array(std::move(items)), join(parsed.rest, " ")});
    return words.size();
  }
  return words.size() - parsed.rest.size();
}

/// Resolves command-line words (or default_tasks) into task names.
std::vector<std::string> select_tasks(const Invocation& inv, DodoSession& session,
                                      const std::vector<std::string>& words, bool from_defaults) {
  TaskGraph& graph = *session.graph;
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
      const std::vector<std::string> rest(words.begin() + static_cast<long>(i) + 1, words.end());
      i += apply_task_options(graph.task(t), rest);
      continue;
    }
    const int producer = graph.task_for_target(word);
    if (producer != TaskGraph::kNotFound) {
      selected.push_back(graph.task(producer).name);
      continue;
    }
    if (inv.command_named) {
      throw UserError(
          fmt::format("command `run` invalid parameter: \"{}\". Must be a task, or a target.\n"
                      "Type \"{} list\" to see available tasks",
                      word, inv.bin));
    }
    throw UserError(
        fmt::format("Invalid parameter: \"{}\". Must be a command, task, or a target.\n"
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
    throw UserError(
        fmt::format("No reporter named '{}'. Type '{} help run' to see a list of "
                    "available reporters.",
                    reporter_name, inv.bin));
  }

  RealFileSystem fs;
  python::PyFormatter formatter;
  set_interrupt_hook(python::interrupt_python);
  install_interrupt_handlers();
  python::set_state_for_python(db.get(), session.graph.get());
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

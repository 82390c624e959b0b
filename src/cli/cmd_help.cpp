// `doit help`: commands, a command's options, the task dictionary, a task.
#include <fmt/format.h>
#include <algorithm>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "doit/edit_distance.h"
#include "doit/output.h"
#include "doit/text.h"
#include "python/adapters.h"

namespace doit::cli {
namespace {

constexpr size_t kCommandColumn = 16;

constexpr std::string_view kTaskHelp = R"(Task Dictionary parameters
--------------------------

Tasks are defined by functions starting with the string ``task_``. A task
function returns a dictionary (one task) or yields dictionaries (sub-tasks).
Every key below is optional except ``actions``.

actions    what the task does: a list of shell commands (strings), argument
           lists run without a shell, Python callables or
           (callable, args, kwargs) tuples. None makes a group task.
basename   the task's name, instead of the function's name.
name       a sub-task's name (yielded dictionaries only).
doc        one-line description shown by `list`; defaults to the function's
           docstring.
file_dep   files the task reads; it runs again when one of them changes.
targets    files the task produces; it runs again when one is missing.
task_dep   tasks that must be processed first.
setup      tasks run before this one, only when this one is going to run.
calc_dep   tasks whose returned values add dependencies to this one.
uptodate   extra up-to-date checks: True, False, None, a shell command or a
           callable (e.g. doit.tools.run_once, config_changed, timeout).
teardown   actions run after all tasks finished.
clean      True (remove targets) or a list of actions for `doit clean`.
params     command-line options of the task (list of dictionaries).
pos_arg    name of the parameter receiving positional command-line words.
getargs    values from other tasks: {'arg': ('task', 'key')}.
verbosity  0: capture stdout and stderr; 1: show stderr; 2: show both.
title      a function(task) returning the text shown for the task.
watch      extra paths watched by `doit auto`.
io         {'capture': False} to let the output through uncaptured.
meta       free-form data for plugins and custom commands.
)";

std::string wrap(const std::string& text, size_t indent, size_t width) {
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(start, nl - start);
    std::string current;
    size_t pos = 0;
    while (pos < line.size()) {
      size_t sp = line.find(' ', pos);
      if (sp == std::string::npos) sp = line.size();
      const std::string word = line.substr(pos, sp - pos);
      if (!current.empty() && indent + current.size() + 1 + word.size() > width) {
        out += std::string(indent, ' ') + current + "\n";
        current.clear();
      }
      current += (current.empty() ? "" : " ") + word;
      pos = sp + 1;
    }
    out += std::string(indent, ' ') + current + "\n";
    start = nl + 1;
  }
  return out;
}

std::string flags_text(const OptionDef& d) {
  std::vector<std::string> parts;
  const bool takes = d.type != OptType::kBool;
  if (d.short_name)
    parts.push_back(fmt::format("-{}{}", d.short_name, takes ? " " + d.metavar : ""));
  if (!d.long_name.empty()) {
    parts.push_back(fmt::format("--{}{}", d.long_name, takes ? "=" + d.metavar : ""));
  }
  return join(parts, ", ");
}

std::string command_help(const std::string& bin, const Command& cmd) {
  constexpr size_t kWidth = 78;
  std::string out = "PURPOSE\n" + wrap(cmd.purpose, 4, kWidth) + "\nUSAGE\n    " + bin + " " +
                    cmd.name + (cmd.usage.empty() ? "" : " " + cmd.usage) + "\n";
  std::vector<OptionDef> defs = all_options(cmd);
  if (!defs.empty()) {
    out += "\nOPTIONS\n";
    std::vector<std::string> sections;
    for (const OptionDef& d : defs) {
      if (std::find(sections.begin(), sections.end(), d.section) == sections.end()) {
        sections.push_back(d.section);
      }
    }
    std::sort(sections.begin(), sections.end());
    for (const std::string& section : sections) {
      out += "\n    " + (section.empty() ? cmd.name : section) + "\n";
      for (const OptionDef& d : defs) {
        if (d.section != section || d.hidden) continue;
        out += "      " + flags_text(d) + "\n";
        std::string help = d.help;
        if (!d.default_text.empty()) help += " [default: " + d.default_text + "]";
        if (!d.choices.empty()) help += " choices: " + join(d.choices, ", ");
        help += " (config: " + d.name + (d.env_var.empty() ? "" : ", environ: " + d.env_var) + ")";
        out += wrap(help, 12, kWidth);
        if (!d.inverse.empty()) {
          out += "      --" + d.inverse + "\n" + wrap("opposite of --" + d.long_name, 12, kWidth);
        }
      }
    }
  }
  if (!cmd.description.empty()) out += "\n\nDESCRIPTION\n" + wrap(cmd.description, 4, kWidth);
  return out;
}

/// `doit help TASK`: the doc line, then one line per param with a flag.
std::string task_help(const Task& task) {
  constexpr size_t kFlagColumn = 24;
  std::string out = task.name + "  " + task.doc + "\n";
  for (const ParamDef& p : task.extras().params) {
    if (!p.short_name && p.long_name.empty()) continue;
    OptionDef d;
    d.short_name = p.short_name;
    d.long_name = p.long_name;
    d.type = p.kind == ParamDef::Kind::kBool ? OptType::kBool : OptType::kString;
    d.metavar = p.metavar;
    std::string flags = flags_text(d);
    if (flags.size() < kFlagColumn) flags.append(kFlagColumn - flags.size(), ' ');
    std::string choices;
    if (!p.choices.empty()) choices = "choices: " + join(p.choices, ", ");
    std::string help = p.help;
    if (const size_t pos = help.find("%(default)s"); pos != std::string::npos) {
      help.replace(pos, 11, p.default_text);
    }
    out += "  " + flags + "  " + help + " " + choices + " (config: " + p.name +
           (p.env_var.empty() ? "" : ", environ: " + p.env_var) + ")\n";
    if (!p.inverse.empty()) {
      std::string inv = "--" + p.inverse;
      if (inv.size() < kFlagColumn) inv.append(kFlagColumn - inv.size(), ' ');
      out += "  " + inv + "  opposite of --" + p.long_name + "\n";
    }
  }
  return out;
}

}  // namespace

std::string general_help(const std::string& bin) {
  std::string out = "doit -- automation tool (doit-cpp)\nhttps://pydoit.org\n\nCommands\n";
  for (const Command& c : commands()) {
    std::string name = c.name;
    if (name.size() < kCommandColumn) name.append(kCommandColumn - name.size(), ' ');
    out += fmt::format("  {} {}  {}\n", bin, name, c.purpose);
  }
  out += fmt::format(
      "\n  {0} help              show help / reference\n"
      "  {0} help task         show help on task dictionary fields\n"
      "  {0} help <command>    show command usage\n"
      "  {0} help <task-name>  show task usage\n",
      bin);
  return out;
}

int execute_help(const Invocation& inv, const Parsed& parsed) {
  Output& out = Output::out();
  if (parsed.rest.size() != 1) {
    out.write(general_help(inv.bin));
    return 0;
  }
  const std::string& topic = parsed.rest[0];
  if (topic == "task") {
    out.write(kTaskHelp);
    return 0;
  }
  if (const Command* cmd = find_command(topic)) {
    out.write(command_help(inv.bin, *cmd));
    return 0;
  }
  // A task: load the dodo file; if there is none or no such task, general help.
  std::vector<std::string> names;
  for (const Command& c : commands()) names.push_back(c.name);
  try {
    Parsed none;
    DodoSession session = open_dodo(inv, *find_command("list"), none);
    const int t = session.graph->find(topic);
    if (t != TaskGraph::kNotFound) {
      const Task& task = session.graph->task(t);
      out.write(task_help(task));
      return 0;
    }
    for (const Task& task : session.graph->tasks()) names.push_back(task.name);
  } catch (const UserError&) {
  }
  out.write(general_help(inv.bin));
  // pydoit says nothing about the unknown topic; a likely typo gets a hint.
  if (const std::string best = closest_name(topic, names); !best.empty()) {
    flush_console();
    Output::err().write(
        fmt::format("No command or task named \"{}\". Did you mean \"{}\"?\n", topic, best));
  }
  return 0;
}

}  // namespace doit::cli

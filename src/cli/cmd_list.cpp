// `doit list` (SPEC §4.2).
#include <fmt/format.h>
#include <algorithm>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "cli/task_status.h"
#include "doit/output.h"
#include "doit/uptodate.h"

namespace doit::cli {
namespace {

constexpr size_t kNamePadding = 3;

/// Length in code points, as Python's str.format pads.
size_t text_width(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

char status_letter(ShownStatus status) {
  switch (status) {
    case ShownStatus::kUpToDate:
      return 'U';
    case ShownStatus::kRun:
      return 'R';
    case ShownStatus::kIgnored:
      return 'I';
    case ShownStatus::kError:
      return 'E';
  }
  return 'R';
}

/// Python's str.format for the fields list supports: {name}, {doc}, {status}.
std::string apply_template(const std::string& tmpl, const std::string& name, const std::string& doc,
                           const std::string& status) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if (c == '{' && i + 1 < tmpl.size() && tmpl[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < tmpl.size() && tmpl[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      const size_t close = tmpl.find('}', i);
      if (close == std::string::npos) throw UserError("Single '{' encountered in format string");
      std::string field = tmpl.substr(i + 1, close - i - 1);
      std::string spec;
      if (const size_t colon = field.find(':'); colon != std::string::npos) {
        spec = field.substr(colon + 1);
        field = field.substr(0, colon);
      }
      std::string value;
      if (field == "name") {
        value = name;
      } else if (field == "doc") {
        value = doc;
      } else if (field == "status") {
        value = status;
      } else {
        throw UserError(fmt::format("list --template: unknown field '{}'", field));
      }
      if (!spec.empty() && spec[0] == '<') {
        const size_t width = static_cast<size_t>(std::stoul(spec.substr(1)));
        const size_t have = text_width(value);
        if (have < width) value.append(width - have, ' ');
      }
      out += value;
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

int execute_list(const Invocation& inv, const Parsed& parsed) {
  DodoSession session = open_dodo_unchecked(inv, *find_command("list"), parsed);
  const OptionValues& opt = session.options;
  const TaskGraph& graph = *session.graph;
  const bool all = opt.get_bool("subtasks");

  std::vector<const Task*> tasks;
  if (parsed.rest.empty()) {
    for (const Task& t : graph.tasks()) {
      if (all || t.subtask_of.empty()) tasks.push_back(&t);
    }
  } else {
    for (const std::string& name : parsed.rest) {
      const int t = graph.find(name);
      if (t == TaskGraph::kNotFound) throw UserError(fmt::format("'{}' is not a task.", name));
      tasks.push_back(&graph.task(t));
      if (!all) continue;
      for (const std::string& dep : graph.task(t).task_dep) {
        const int s = graph.find(dep);
        if (graph.task(s).subtask_of == name) tasks.push_back(&graph.task(s));
      }
    }
  }
  if (!opt.get_bool("private")) {
    std::erase_if(tasks, [](const Task* t) { return t->is_private(); });
  }
  if (opt.get_string("sort", "name") == "name") {
    std::stable_sort(tasks.begin(), tasks.end(),
                     [](const Task* a, const Task* b) { return a->name < b->name; });
  }

  const bool show_status = opt.get_bool("status");
  std::unique_ptr<StateDb> db;
  Checker checker = Checker::kContent;
  if (show_status) {
    db = open_state(session, StateAccess::kRead);
    checker = checker_option(opt);
  }

  std::string tmpl = opt.get_string("template");
  if (tmpl.empty()) {
    size_t width = 0;
    for (const Task* t : tasks) width = std::max(width, text_width(t->name));
    tmpl = fmt::format("{{name:<{}}}", width + kNamePadding);
    if (!opt.get_bool("quiet")) tmpl += "{doc}";
    if (show_status) tmpl = "{status} " + tmpl;
  }

  RealFileSystem fs;
  Output& out = Output::out();
  for (const Task* t : tasks) {
    const std::string status =
        show_status ? std::string(1, status_letter(shown_status(*t, *db, checker, fs)))
                    : std::string();
    out.write(apply_template(tmpl, t->name, t->doc, status));
    out.write("\n");
    if (opt.get_bool("list_deps")) {
      for (const std::string_view dep : t->file_dep) out.write(fmt::format(" -  {}\n", dep));
      out.write("\n");
    }
  }
  return 0;
}

}  // namespace doit::cli

// `doit graph [TASK ...]`: the task graph as Graphviz DOT or a Mermaid
// flowchart. Arrows point from a task to the tasks that need it (run order):
// task_dep solid, file_dep -> target solid and labelled with the files,
// setup dashed, calc_dep and getargs dotted. Sub-tasks sit in a cluster
// named after their group. Each task's status is the one `list --status`
// shows (same check), drawn as a fill colour; a delayed task not yet
// created is drawn as its placeholder (dotted outline).
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "cli/task_status.h"
#include "doit/output.h"

namespace doit::cli {
namespace {

enum class NodeStatus { kUpToDate, kRun, kIgnored, kError, kDelayed };

enum class EdgeKind { kTaskDep, kFileDep, kSetup, kCalcDep, kGetargs };

struct Edge {
  int from;  ///< the task that runs first
  int to;    ///< the task that needs it
  EdgeKind kind;
  std::vector<std::string> files;  ///< for kFileDep: the files that link them
};

/// The part of the task graph to draw: tasks (indexes into the TaskGraph, in
/// definition order), their status, and the edges between them.
struct GraphView {
  std::vector<int> tasks;
  std::map<int, NodeStatus> status;
  std::vector<Edge> edges;
};

/// What `status` is called in DOT tooltips.
std::string_view status_text(NodeStatus status) {
  switch (status) {
    case NodeStatus::kUpToDate:
      return "up to date";
    case NodeStatus::kRun:
      return "will run";
    case NodeStatus::kIgnored:
      return "ignored";
    case NodeStatus::kError:
      return "error";
    case NodeStatus::kDelayed:
      return "delayed";
  }
  return "will run";
}

/// The status `list --status` shows, or delayed for a placeholder.
NodeStatus task_status(const Task& task, const StateDb& db, Checker checker, const FileSystem& fs) {
  const auto& delayed = task.extras().delayed;
  if (delayed && !delayed->created) return NodeStatus::kDelayed;
  switch (shown_status(task, db, checker, fs)) {
    case ShownStatus::kUpToDate:
      return NodeStatus::kUpToDate;
    case ShownStatus::kRun:
      return NodeStatus::kRun;
    case ShownStatus::kIgnored:
      return NodeStatus::kIgnored;
    case ShownStatus::kError:
      return NodeStatus::kError;
  }
  return NodeStatus::kRun;
}

/// The tasks to draw, in definition order: the named tasks (all when none
/// is named) and, transitively, their task_dep, setup, calc_dep and getargs
/// sources. Throws UserError for an unknown name.
std::vector<int> select_tasks(const TaskGraph& graph, const std::vector<std::string>& names) {
  std::vector<bool> chosen(graph.size(), names.empty());
  std::vector<int> todo;
  for (const std::string& name : names) {
    const int t = graph.find(name);
    if (t == TaskGraph::kNotFound) throw UserError(fmt::format("'{}' is not a task.", name));
    todo.push_back(t);
  }
  while (!todo.empty()) {
    const int t = todo.back();
    todo.pop_back();
    if (chosen[t]) continue;
    chosen[t] = true;
    const Task& task = graph.task(t);
    std::vector<std::string> deps = task.task_dep;
    deps.insert(deps.end(), task.setup.begin(), task.setup.end());
    const TaskExtras& extras = task.extras();
    deps.insert(deps.end(), extras.calc_dep.begin(), extras.calc_dep.end());
    for (const GetArg& g : extras.getargs) deps.push_back(g.task);
    for (const std::string& dep : deps) {
      const int d = graph.find(dep);
      if (d != TaskGraph::kNotFound && !chosen[d]) todo.push_back(d);
    }
  }
  std::vector<int> out;
  for (int t = 0; t < graph.size(); ++t) {
    if (chosen[t]) out.push_back(t);
  }
  return out;
}

/// The edges into `t` from the tasks it depends on, one per (dependency,
/// kind); a task_dep that links a file_dep to its target is a file edge.
void add_edges(const TaskGraph& graph, int t, std::vector<Edge>& edges) {
  const Task& task = graph.task(t);
  std::map<int, std::vector<std::string>> producers;
  for (const std::string_view file : task.file_dep) {
    const int p = graph.task_for_target(file);
    if (p != TaskGraph::kNotFound && p != t) producers[p].emplace_back(file);
  }
  std::set<std::pair<int, EdgeKind>> seen;
  auto add = [&](const std::string& name, EdgeKind kind) {
    const int d = graph.find(name);
    if (d == TaskGraph::kNotFound || !seen.insert({d, kind}).second) return;
    edges.push_back({d, t, kind, {}});
  };
  for (const std::string& dep : task.task_dep) {
    const int d = graph.find(dep);
    if (d == TaskGraph::kNotFound) continue;
    if (const auto p = producers.find(d); p != producers.end()) {
      if (seen.insert({d, EdgeKind::kFileDep}).second) {
        edges.push_back({d, t, EdgeKind::kFileDep, p->second});
      }
    } else {
      add(dep, EdgeKind::kTaskDep);
    }
  }
  for (const auto& [p, files] : producers) {
    if (seen.insert({p, EdgeKind::kFileDep}).second) {
      edges.push_back({p, t, EdgeKind::kFileDep, files});
    }
  }
  // A getargs source is also a setup task (as in pydoit): one getargs edge.
  std::set<std::string> getargs_sources;
  for (const GetArg& g : task.extras().getargs) {
    getargs_sources.insert(g.task);
    add(g.task, EdgeKind::kGetargs);
  }
  for (const std::string& s : task.setup) {
    if (!getargs_sources.contains(s)) add(s, EdgeKind::kSetup);
  }
  for (const std::string& c : task.extras().calc_dep) add(c, EdgeKind::kCalcDep);
}

/// The groups to draw as a box, in order of first appearance: each group
/// task and its sub-tasks that are in the view (a sub-task's group even when
/// the group task itself is not).
std::vector<std::pair<std::string, std::vector<int>>> groups(const TaskGraph& graph,
                                                             const GraphView& view) {
  std::vector<std::pair<std::string, std::vector<int>>> out;
  auto members_of = [&](const std::string& group) -> std::vector<int>& {
    for (auto& [name, members] : out) {
      if (name == group) return members;
    }
    return out.emplace_back(group, std::vector<int>{}).second;
  };
  for (int t : view.tasks) {
    const Task& task = graph.task(t);
    if (task.is_group) members_of(task.name).push_back(t);
    if (!task.subtask_of.empty()) members_of(task.subtask_of).push_back(t);
  }
  return out;
}

std::string join_files(const std::vector<std::string>& files) {
  std::string out;
  for (size_t i = 0; i < files.size(); ++i) out += (i ? "\n" : "") + files[i];
  return out;
}

/// `text` as a DOT double-quoted string.
std::string dot_quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string dot_node_style(NodeStatus status) {
  switch (status) {
    case NodeStatus::kUpToDate:
      return R"(style="filled", fillcolor="#c8e6c9", color="#2e7d32")";
    case NodeStatus::kRun:
      return R"(style="filled,bold", fillcolor="#ffe0b2", color="#e65100")";
    case NodeStatus::kIgnored:
      return R"(style="filled,dashed", fillcolor="#eeeeee", color="#9e9e9e", fontcolor="#757575")";
    case NodeStatus::kError:
      return R"(style="filled,bold", fillcolor="#ffcdd2", color="#c62828")";
    case NodeStatus::kDelayed:
      return R"(style="dotted", color="#616161")";
  }
  return "";
}

std::string dot_edge_style(const Edge& e) {
  switch (e.kind) {
    case EdgeKind::kTaskDep:
      return "";
    case EdgeKind::kFileDep:
      return " [label=" + dot_quoted(join_files(e.files)) + R"(, color="#1565c0"])";
    case EdgeKind::kSetup:
      return R"( [style="dashed", label="setup"])";
    case EdgeKind::kCalcDep:
      return R"( [style="dotted", label="calc_dep"])";
    case EdgeKind::kGetargs:
      return R"( [style="dotted", label="getargs"])";
  }
  return "";
}

std::string to_dot(const TaskGraph& graph, const GraphView& view) {
  std::string out = "digraph doit {\n  rankdir=LR;\n  graph [fontname=\"Helvetica\"];\n";
  out += "  node [shape=box, fontname=\"Helvetica\"];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  auto node_line = [&](int t, std::string_view indent) {
    const Task& task = graph.task(t);
    const NodeStatus st = view.status.at(t);
    std::string label = task.name;
    if (st == NodeStatus::kDelayed) label += "\n(delayed)";
    std::string shape = task.is_group ? ", shape=folder" : "";
    return fmt::format("{}{} [label={}, tooltip={}{}, {}];\n", indent, dot_quoted(task.name),
                       dot_quoted(label), dot_quoted(status_text(st)), shape, dot_node_style(st));
  };
  std::set<int> in_cluster;
  for (const auto& [group, members] : groups(graph, view)) {
    out += fmt::format("  subgraph {} {{\n    label={};\n    style=\"rounded\";\n",
                       dot_quoted("cluster_" + group), dot_quoted(group));
    for (int t : members) {
      out += node_line(t, "    ");
      in_cluster.insert(t);
    }
    out += "  }\n";
  }
  for (int t : view.tasks) {
    if (!in_cluster.contains(t)) out += node_line(t, "  ");
  }
  for (const Edge& e : view.edges) {
    out += fmt::format("  {} -> {}{};\n", dot_quoted(graph.task(e.from).name),
                       dot_quoted(graph.task(e.to).name), dot_edge_style(e));
  }
  return out + "}\n";
}

/// `text` inside a Mermaid "..." label: the characters Mermaid would read
/// as syntax or HTML as entity codes, line breaks as <br>.
std::string mermaid_text(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '"':
        out += "#quot;";
        break;
      case '#':
        out += "#35;";
        break;
      case '<':
        out += "#lt;";
        break;
      case '>':
        out += "#gt;";
        break;
      case '|':
        out += "#124;";
        break;
      case '\n':
        out += "<br>";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string_view mermaid_class(NodeStatus status) {
  switch (status) {
    case NodeStatus::kUpToDate:
      return "uptodate";
    case NodeStatus::kRun:
      return "run";
    case NodeStatus::kIgnored:
      return "ignored";
    case NodeStatus::kError:
      return "error";
    case NodeStatus::kDelayed:
      return "delayed";
  }
  return "run";
}

std::string to_mermaid(const TaskGraph& graph, const GraphView& view) {
  std::string out = "flowchart LR\n";
  out +=
      "  classDef uptodate fill:#c8e6c9,stroke:#2e7d32\n"
      "  classDef run fill:#ffe0b2,stroke:#e65100,stroke-width:2px\n"
      "  classDef ignored fill:#eeeeee,stroke:#9e9e9e,color:#757575,stroke-dasharray:5 3\n"
      "  classDef error fill:#ffcdd2,stroke:#c62828,stroke-width:2px\n"
      "  classDef delayed fill:#ffffff,stroke:#616161,stroke-dasharray:2 2\n";
  std::map<int, std::string> id;
  for (size_t i = 0; i < view.tasks.size(); ++i) id[view.tasks[i]] = fmt::format("t{}", i);
  auto node_line = [&](int t, std::string_view indent) {
    const Task& task = graph.task(t);
    const NodeStatus st = view.status.at(t);
    std::string label = task.name;
    if (st == NodeStatus::kDelayed) label += "\n(delayed)";
    const char* open = task.is_group ? "[[\"" : "[\"";
    const char* close = task.is_group ? "\"]]" : "\"]";
    return fmt::format("{}{}{}{}{}:::{}\n", indent, id[t], open, mermaid_text(label), close,
                       mermaid_class(st));
  };
  std::set<int> in_subgraph;
  int group_number = 0;
  for (const auto& [group, members] : groups(graph, view)) {
    out += fmt::format("  subgraph g{}[\"{}\"]\n", group_number++, mermaid_text(group));
    for (int t : members) {
      out += node_line(t, "    ");
      in_subgraph.insert(t);
    }
    out += "  end\n";
  }
  for (int t : view.tasks) {
    if (!in_subgraph.contains(t)) out += node_line(t, "  ");
  }
  for (const Edge& e : view.edges) {
    std::string arrow;
    switch (e.kind) {
      case EdgeKind::kTaskDep:
        arrow = "-->";
        break;
      case EdgeKind::kFileDep:
        arrow = "-->|\"" + mermaid_text(join_files(e.files)) + "\"|";
        break;
      case EdgeKind::kSetup:
        arrow = "-.->|setup|";
        break;
      case EdgeKind::kCalcDep:
        arrow = "-.->|calc_dep|";
        break;
      case EdgeKind::kGetargs:
        arrow = "-.->|getargs|";
        break;
    }
    out += fmt::format("  {} {} {}\n", id[e.from], arrow, id[e.to]);
  }
  return out;
}

}  // namespace

std::vector<OptionDef> graph_options() {
  OptionDef format = option_value("graph_format", 0, "format", OptType::kString,
                                  "output format: 'dot' (Graphviz) or 'mermaid'", "dot");
  format.choices = {"dot", "mermaid"};
  return {format, option_value("graph_output", 'o', "output", OptType::kString,
                               "write the graph to FILE instead of stdout", "")};
}

std::string graph_description() {
  return "Prints the graph of the given tasks and of everything they depend on (all tasks "
         "when none is given). An arrow goes from a task to a task that needs it: task_dep "
         "solid, a file_dep made by another task's target solid and labelled with the file, "
         "setup dashed, calc_dep and getargs dotted. Sub-tasks are grouped in a box named after "
         "their group task. The fill shows each task's status, as `list --status` decides it: "
         "green up to date, orange will run, grey dashed ignored, red error (a missing "
         "file_dep); a delayed task not yet created has a dotted outline.\n"
         "Render with Graphviz: doit graph | dot -Tsvg -o graph.svg";
}

int execute_graph(const Invocation& inv, const Parsed& parsed) {
  DodoSession session = open_dodo(inv, *find_command("graph"), parsed);
  const OptionValues& opt = session.options;
  const TaskGraph& graph = *session.graph;
  if (graph.find("graph") != TaskGraph::kNotFound) {
    Output::err().write(fmt::format(
        "doit-cpp: this dodo file has a task named 'graph'; `{} run graph` runs it.\n", inv.bin));
  }

  GraphView view;
  view.tasks = select_tasks(graph, parsed.rest);
  std::unique_ptr<StateDb> db = open_state(session, StateAccess::kRead);
  const Checker checker = checker_option(opt);
  RealFileSystem fs;
  for (int t : view.tasks) {
    view.status[t] = task_status(graph.task(t), *db, checker, fs);
    add_edges(graph, t, view.edges);
  }

  const std::string format = opt.get_string("graph_format", "dot");
  const std::string text = format == "mermaid" ? to_mermaid(graph, view) : to_dot(graph, view);
  const std::string path = opt.get_string("graph_output");
  if (path.empty()) {
    Output::out().write(text);
    return 0;
  }
  // Relative to where doit was started (open_dodo changed into the dodo folder).
  const std::filesystem::path where = std::filesystem::path(inv.initial_workdir) / path;
  std::ofstream file(where, std::ios::binary);
  file << text;
  file.close();
  if (!file) throw UserError(fmt::format("could not write the graph to '{}'", path));
  return 0;
}

}  // namespace doit::cli

#include "cli/did_you_mean.h"

#include <fmt/format.h>

#include <regex>

#include "cli/command.h"
#include "doit/edit_distance.h"

namespace doit::cli {
namespace {

/// The graphs of the sessions that ended (one, as a rule). Never freed: the
/// process ends after its command, and the OS frees it all at once.
std::vector<std::unique_ptr<TaskGraph>>& kept_graphs() {
  static auto* const graphs = new std::vector<std::unique_ptr<TaskGraph>>();
  return *graphs;
}

}  // namespace

void keep_names_of(std::unique_ptr<TaskGraph> graph) {
  if (graph) kept_graphs().push_back(std::move(graph));
}

std::string suggestion_for_error(const std::string& message) {
  // pydoit's texts for an unknown name (cmd_run.cpp, commands.cpp, cmd_list.cpp).
  static const std::regex any_word(R"re(^Invalid parameter: "(.*)"\. Must be a command, task)re");
  static const std::regex run_word(
      R"re(^command `run` invalid parameter: "(.*)"\. Must be a task)re");
  static const std::regex not_task(R"re(^'(.*)' is not a task\.$)re");
  std::smatch m;
  std::vector<std::string> candidates;
  const auto add_names = [&candidates](bool with_targets) {
    for (const auto& graph : kept_graphs()) {
      for (const Task& t : graph->tasks()) candidates.push_back(t.name);
      if (!with_targets) continue;
      for (const Task& t : graph->tasks()) {
        candidates.insert(candidates.end(), t.targets.begin(), t.targets.end());
      }
    }
  };
  if (std::regex_search(message, m, any_word)) {
    for (const Command& c : commands()) candidates.push_back(c.name);
    add_names(true);
  } else if (std::regex_search(message, m, run_word)) {
    add_names(true);
  } else if (std::regex_search(message, m, not_task)) {
    add_names(false);
  } else {
    return "";
  }
  const std::string best = closest_name(m[1].str(), candidates);
  if (best.empty()) return "";
  return fmt::format("Did you mean \"{}\"?\n", best);
}

}  // namespace doit::cli

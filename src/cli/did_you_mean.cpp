#include "cli/did_you_mean.h"

#include <fmt/format.h>

#include <regex>

#include "cli/command.h"
#include "doit/edit_distance.h"

namespace doit::cli {
namespace {

struct KnownNames {
  std::vector<std::string> tasks;
  std::vector<std::string> targets;
};

KnownNames& known() {
  static KnownNames names;
  return names;
}

}  // namespace

void remember_names(const TaskGraph& graph) {
  KnownNames& names = known();
  names.tasks.clear();
  names.targets.clear();
  for (const Task& t : graph.tasks()) {
    names.tasks.push_back(t.name);
    names.targets.insert(names.targets.end(), t.targets.begin(), t.targets.end());
  }
}

std::string suggestion_for_error(const std::string& message) {
  // pydoit's texts for an unknown name (cmd_run.cpp, commands.cpp, cmd_list.cpp).
  static const std::regex any_word(R"re(^Invalid parameter: "(.*)"\. Must be a command, task)re");
  static const std::regex run_word(
      R"re(^command `run` invalid parameter: "(.*)"\. Must be a task)re");
  static const std::regex not_task(R"re(^'(.*)' is not a task\.$)re");
  std::smatch m;
  std::vector<std::string> candidates;
  const KnownNames& names = known();
  if (std::regex_search(message, m, any_word)) {
    for (const Command& c : commands()) candidates.push_back(c.name);
    candidates.insert(candidates.end(), names.tasks.begin(), names.tasks.end());
    candidates.insert(candidates.end(), names.targets.begin(), names.targets.end());
  } else if (std::regex_search(message, m, run_word)) {
    candidates = names.tasks;
    candidates.insert(candidates.end(), names.targets.begin(), names.targets.end());
  } else if (std::regex_search(message, m, not_task)) {
    candidates = names.tasks;
  } else {
    return "";
  }
  const std::string best = closest_name(m[1].str(), candidates);
  if (best.empty()) return "";
  return fmt::format("Did you mean \"{}\"?\n", best);
}

}  // namespace doit::cli

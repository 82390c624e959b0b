// What one run of a task's actions produced, action by action: the output,
// the values and result to save, or how it failed. The executor fills one as
// the actions finish, whether they run in this process, as child processes
// or in a forked worker (which sends it back as JSON).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "doit/json.h"
#include "doit/task.h"

namespace doit {

struct TaskRun {
  /// Captured output of the actions that ran, concatenated.
  std::string out;
  std::string err;
  /// Values returned by the actions (a dict), merged in action order.
  Json values = Json::object();
  /// The last action's result.
  std::optional<Json> result;
  /// The outcome of the action that failed (status, message, report).
  std::optional<ActionOutcome> failure;
  /// An action definition found invalid while running ("Execution aborted.").
  std::optional<std::string> abort_message;

  /// Adds one action's outcome; false when the next actions must not run.
  bool add(ActionOutcome outcome);
  bool ok() const { return !failure && !abort_message; }

  Json to_json() const;
  /// Throws std::invalid_argument for a malformed document.
  static TaskRun from_json(const Json& json);
};

/// Live output held back and printed as one block when its task ends, so
/// that the output of tasks running at the same time never interleaves.
class OutputBlock : public LiveOutput {
 public:
  void out(std::string_view text) override;
  void err(std::string_view text) override;
  /// Writes the block to stdout and stderr, in the order it came, flushed.
  void print() const;
  bool empty() const { return chunks_.empty(); }

  Json to_json() const;
  /// Throws std::invalid_argument for a malformed document.
  static OutputBlock from_json(const Json& json);

 private:
  std::vector<std::pair<bool, std::string>> chunks_;  // (to stderr, text)
};

}  // namespace doit

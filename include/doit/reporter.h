// What the user sees of a run: pydoit's console reporter and its siblings.
// Output on a pipe is byte-for-byte pydoit's.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "doit/output.h"
#include "doit/task.h"

namespace doit {

/// The kinds of failure pydoit reports.
enum class FailureKind { kTaskFailed, kTaskError, kUnmetDependency, kDependencyError, kSetupError };

/// "TaskFailed", "TaskError", ...
std::string_view failure_kind_name(FailureKind kind);

/// A task that did not succeed.
struct Failure {
  FailureKind kind = FailureKind::kTaskError;
  /// Message, with a traceback when there is one.
  std::string message;
  /// Captured output of the actions that ran.
  std::string out;
  std::string err;
  /// Whether the task's actions started (the end-of-run summary lists only those).
  bool started = false;
  /// The task's effective verbosity.
  int verbosity = 1;
  /// False for failures created with report=False.
  bool report = true;
};

class Reporter {
 public:
  virtual ~Reporter() = default;
  /// The task is about to be checked (pydoit's get_status); the first event
  /// about a task. Default: nothing.
  virtual void get_status(const Task&) {}
  virtual void execute_task(const Task& task) = 0;
  /// One of the task's actions finished (teardown excluded); what it printed,
  /// as captured. Comes before add_success/add_failure. Default: nothing.
  virtual void action_output(const Task&, std::string_view /*out*/, std::string_view /*err*/) {}
  virtual void skip_uptodate(const Task& task) = 0;
  virtual void skip_ignore(const Task& task) = 0;
  virtual void add_success(const Task& task) = 0;
  virtual void add_failure(const Task& task, const Failure& failure) = 0;
  /// A doit error during execution (invalid action...): "Execution aborted."
  virtual void runtime_error(const std::string& message) = 0;
  /// The task's teardown actions are about to run. Default: nothing.
  virtual void teardown_task(const Task&) {}
  /// A teardown action failed.
  virtual void cleanup_error(const std::string& message) = 0;
  /// End of the run: summaries.
  virtual void complete_run() = 0;
};

/// Names accepted by --reporter.
std::vector<std::string> reporter_names();

/// Creates a built-in reporter writing to `out` (stdout or the -o file);
/// nullptr if `name` is unknown. `json` redirects the process's stdout and
/// stderr (file descriptors 1 and 2) into its report from its creation until
/// complete_run() (or its destruction).
std::unique_ptr<Reporter> make_reporter(std::string_view name, Output& out, int failure_verbosity);

}  // namespace doit

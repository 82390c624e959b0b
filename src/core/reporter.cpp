#include "doit/reporter.h"

#include <fmt/format.h>

namespace doit {
namespace {

constexpr std::string_view kRule = "########################################\n";

/// pydoit's default reporter.
class ConsoleReporter : public Reporter {
 public:
  ConsoleReporter(Output& out, int failure_verbosity)
      : out_(out), failure_verbosity_(failure_verbosity) {}

  void execute_task(const Task& task) override {
    if (!task.actions.empty() && !task.is_private()) out_.write(".  " + task.title() + "\n");
  }
  void skip_uptodate(const Task& task) override {
    if (!task.is_private()) out_.write("-- " + task.title() + "\n");
  }
  void skip_ignore(const Task& task) override { out_.write("!! " + task.title() + "\n"); }
  void add_success(const Task&) override {}
  void add_failure(const Task& task, const Failure& failure) override {
    if (!failure.report) return;
    failures_.push_back({task.name, failure});
    write_failure(task.name, failure, true);
  }
  void runtime_error(const std::string& message) override { runtime_errors_.push_back(message); }
  void cleanup_error(const std::string& message) override {
    out_.flush();
    Output::err().write(message);
    Output::err().flush();
  }
  void complete_run() override {
    for (const auto& [name, failure] : failures_) {
      if (!failure.started) continue;
      const bool show_err = failure.verbosity < 1 || failure_verbosity_ > 0;
      const bool show_out = failure.verbosity < 2 || failure_verbosity_ == 2;
      if (show_err || show_out) out_.write(kRule);
      if (show_err) {
        write_failure(name, failure, failure_verbosity_ > 0);
        out_.write(fmt::format("{} <stderr>:\n{}\n", name, failure.err));
      }
      if (show_out) out_.write(fmt::format("{} <stdout>:\n{}\n", name, failure.out));
    }
    if (!runtime_errors_.empty()) {
      out_.write(kRule);
      out_.write("Execution aborted.\n");
      for (size_t i = 0; i < runtime_errors_.size(); ++i) {
        if (i) out_.write("\n");
        out_.write(runtime_errors_[i]);
      }
      out_.write("\n");
    }
  }

 protected:
  void write_failure(const std::string& name, const Failure& failure, bool with_message) {
    out_.write(fmt::format("{} - taskid:{}\n", failure_kind_name(failure.kind), name));
    if (with_message) {
      out_.write(failure.message);
      out_.write("\n");
    }
  }

  Output& out_;
  int failure_verbosity_;
  std::vector<std::pair<std::string, Failure>> failures_;
  std::vector<std::string> runtime_errors_;
};

/// No `-- ` and `!! ` lines.
class ExecutedOnlyReporter : public ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;
  void skip_uptodate(const Task&) override {}
  void skip_ignore(const Task&) override {}
};

/// Nothing about tasks; doit's own errors go to stderr.
class ZeroReporter : public ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;
  void execute_task(const Task&) override {}
  void skip_uptodate(const Task&) override {}
  void skip_ignore(const Task&) override {}
  void add_failure(const Task&, const Failure&) override {}
  void runtime_error(const std::string& message) override {
    Output::err().write(message);
    Output::err().flush();
  }
  void complete_run() override {}
};

/// Only failures, as they happen.
class ErrorOnlyReporter : public ZeroReporter {
 public:
  using ZeroReporter::ZeroReporter;
  void add_failure(const Task& task, const Failure& failure) override {
    if (!failure.report) return;
    out_.write(fmt::format("taskid:{} - {}\n", task.name, failure_kind_name(failure.kind)));
    out_.write(failure.message);
    out_.write("\n");
  }
};

}  // namespace

std::string_view failure_kind_name(FailureKind kind) {
  switch (kind) {
    case FailureKind::kTaskFailed:
      return "TaskFailed";
    case FailureKind::kTaskError:
      return "TaskError";
    case FailureKind::kUnmetDependency:
      return "UnmetDependency";
    case FailureKind::kDependencyError:
      return "DependencyError";
    case FailureKind::kSetupError:
      return "SetupError";
  }
  return "TaskError";
}

std::vector<std::string> reporter_names() {
  return {"console", "executed-only", "zero", "error-only"};
}

std::unique_ptr<Reporter> make_reporter(std::string_view name, Output& out, int failure_verbosity) {
  if (name == "console") return std::make_unique<ConsoleReporter>(out, failure_verbosity);
  if (name == "executed-only") {
    return std::make_unique<ExecutedOnlyReporter>(out, failure_verbosity);
  }
  if (name == "zero") return std::make_unique<ZeroReporter>(out, failure_verbosity);
  if (name == "error-only") return std::make_unique<ErrorOnlyReporter>(out, failure_verbosity);
  return nullptr;
}

}  // namespace doit

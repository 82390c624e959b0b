#include "doit/reporter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "doit/json.h"
#include "doit/text.h"

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

// ----- json ------------------------------------------------------------------

/// Between the captured outputs of two actions of a task (pydoit's).
constexpr std::string_view kActionSeparator =
    "\n<------------------------------------------------>\n";
constexpr int kMicrosecondDigits = 6;
constexpr size_t kReadChunk = 64 * 1024;

/// Sends one of the process's file descriptors into an unnamed temporary
/// file until finish(), which restores it and returns what was written.
class FdCapture {
 public:
  explicit FdCapture(int fd) : fd_(fd) {
    file_ = std::tmpfile();
    if (file_ == nullptr) return;
    ::fcntl(::fileno(file_), F_SETFD, FD_CLOEXEC);  // children get `fd_` only
    saved_ = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
    if (saved_ < 0 || ::dup2(::fileno(file_), fd_) < 0) {
      if (saved_ >= 0) ::close(saved_);
      saved_ = -1;
      std::fclose(file_);
      file_ = nullptr;
    }
  }
  ~FdCapture() { (void)finish(); }
  FdCapture(const FdCapture&) = delete;
  FdCapture& operator=(const FdCapture&) = delete;

  /// Restores the descriptor; what was written to it meanwhile ("" if the
  /// capture could not be set up, or after the first call).
  std::string finish() {
    if (file_ == nullptr) return {};
    ::dup2(saved_, fd_);
    ::close(saved_);
    std::string text;
    std::string buffer(kReadChunk, '\0');
    const int fd = ::fileno(file_);
    off_t offset = 0;
    while (true) {
      const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      text.append(buffer, 0, static_cast<size_t>(n));
      offset += n;
    }
    std::fclose(file_);
    file_ = nullptr;
    return text;
  }

 private:
  int fd_;
  int saved_ = -1;
  std::FILE* file_ = nullptr;
};

/// UTC, as pydoit 0.37 shows when a task started: "2026-11-25 20:06:03.945081".
std::string utc_text(std::chrono::system_clock::time_point when) {
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
  return utc_timestamp(nanos, kMicrosecondDigits);
}

/// Python's repr() of a finite float (what json.dump writes): the shortest
/// text that reads back the same, always with a '.' or an exponent.
std::string python_float(double value) {
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

Json text_or_null(const std::optional<std::string>& text) {
  return text ? Json::string(sanitize_utf8(*text)) : Json();
}

/// pydoit's `json` reporter: nothing while tasks run; at the end one JSON
/// object (no newline after it) with an entry per task, in the order the
/// tasks were checked, and everything doit and the tasks printed meanwhile.
class JsonReporter : public Reporter {
 public:
  explicit JsonReporter(Output& out) : out_(out) {
    flush_console();  // what was printed before belongs to the terminal
    stdout_ = std::make_unique<FdCapture>(STDOUT_FILENO);
    stderr_ = std::make_unique<FdCapture>(STDERR_FILENO);
  }

  void get_status(const Task& task) override {
    Entry& e = entry(task);
    e = Entry{};
    e.name = task.name;
  }
  void execute_task(const Task& task) override {
    Entry& e = entry(task);
    e.started = std::chrono::system_clock::now();
    e.started_steady = std::chrono::steady_clock::now();
  }
  void action_output(const Task& task, std::string_view out, std::string_view err) override {
    Entry& e = entry(task);
    e.outputs_seen = true;
    if (!out.empty()) e.outs.emplace_back(out);
    if (!err.empty()) e.errs.emplace_back(err);
  }
  void add_success(const Task& task) override { finish(entry(task), "success"); }
  void add_failure(const Task& task, const Failure& failure) override {
    // Recorded even with report=False (pydoit's json reporter ignores it).
    Entry& e = entry(task);
    if (!e.outputs_seen) {  // the executor did not report the actions one by one
      if (!failure.out.empty()) e.outs.push_back(failure.out);
      if (!failure.err.empty()) e.errs.push_back(failure.err);
    }
    finish(e, "fail");
    e.error = failure.message;
  }
  void skip_uptodate(const Task& task) override { finish(entry(task), "up-to-date"); }
  void skip_ignore(const Task& task) override { finish(entry(task), "ignore"); }
  void runtime_error(const std::string& message) override { errors_.push_back(message); }
  void cleanup_error(const std::string& message) override { errors_.push_back(message); }

  void complete_run() override {
    flush_console();
    const std::string out = stdout_->finish();
    std::string err = stderr_->finish();
    for (size_t i = 0; i < errors_.size(); ++i) err += (i ? "\n" : "") + errors_[i];

    Json::Array tasks;
    for (const Entry& e : entries_) {
      tasks.push_back(Json::object({
          {"name", Json::string(e.name)},
          {"result", text_or_null(e.result)},
          {"out", text_or_null(e.out)},
          {"err", text_or_null(e.err)},
          {"error", text_or_null(e.error)},
          {"started", e.started ? Json::string(utc_text(*e.started)) : Json()},
          {"elapsed", e.elapsed ? Json::number(python_float(*e.elapsed)) : Json()},
      }));
    }
    const Json report = Json::object({{"tasks", Json::array(std::move(tasks))},
                                      {"out", Json::string(sanitize_utf8(out))},
                                      {"err", Json::string(sanitize_utf8(err))}});
    out_.write(report.dump());
    out_.flush();
  }

 private:
  struct Entry {
    std::string name;
    std::optional<std::string> result, out, err, error;
    std::vector<std::string> outs, errs;  // per action, empty ones left out
    bool outputs_seen = false;
    std::optional<std::chrono::system_clock::time_point> started;
    std::chrono::steady_clock::time_point started_steady;
    std::optional<double> elapsed;
  };

  /// The task's entry; a task never announced by get_status gets one at its
  /// first event.
  Entry& entry(const Task& task) {
    auto [it, added] = index_.try_emplace(task.name, entries_.size());
    if (added) {
      entries_.emplace_back();
      entries_.back().name = task.name;
    }
    return entries_[it->second];
  }

  static std::string joined(const std::vector<std::string>& parts) {
    std::string text;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i) text += kActionSeparator;
      text += parts[i];
    }
    return text;
  }

  void finish(Entry& e, std::string_view result) {
    e.result = std::string(result);
    e.out = joined(e.outs);
    e.err = joined(e.errs);
    if (e.started) {
      const auto took = std::chrono::steady_clock::now() - e.started_steady;
      e.elapsed = std::chrono::duration<double>(took).count();
    }
  }

  Output& out_;
  std::unique_ptr<FdCapture> stdout_, stderr_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::string> errors_;
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
  return {"console", "executed-only", "zero", "error-only", "json"};
}

std::unique_ptr<Reporter> make_reporter(std::string_view name, Output& out, int failure_verbosity) {
  if (name == "console") return std::make_unique<ConsoleReporter>(out, failure_verbosity);
  if (name == "executed-only") {
    return std::make_unique<ExecutedOnlyReporter>(out, failure_verbosity);
  }
  if (name == "zero") return std::make_unique<ZeroReporter>(out, failure_verbosity);
  if (name == "error-only") return std::make_unique<ErrorOnlyReporter>(out, failure_verbosity);
  if (name == "json") return std::make_unique<JsonReporter>(out);
  return nullptr;
}

}  // namespace doit

// The `json` reporter (SPEC §11.2): one JSON object at the end of the run.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "doit/json.h"
#include "doit/reporter.h"

namespace doit {
namespace {

const std::string kSeparator = "\n<------------------------------------------------>\n";

Task task_named(std::string name) {
  Task task;
  task.name = std::move(name);
  CmdAction cmd;
  cmd.command = "true";
  task.actions.push_back(Action{cmd});
  return task;
}

Failure cmd_failure() {
  Failure f;
  f.kind = FailureKind::kTaskFailed;
  f.message = "Command failed: 'x' returned 3\n";
  f.out = "out-before\n";
  f.err = "err-before\n";
  f.started = true;
  return f;
}

/// Reads everything available on a non-blocking pipe end.
std::string drain(int fd) {
  std::string text;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  return text;
}

/// Sends a descriptor into a pipe for the test's duration, so that what the
/// reporter lets through to the "terminal" can be seen.
class Terminal {
 public:
  explicit Terminal(int fd) : fd_(fd) {
    flush_console();
    int p[2];
    EXPECT_EQ(::pipe(p), 0);
    EXPECT_EQ(::fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    read_end_ = p[0];
    saved_ = ::dup(fd_);
    ::dup2(p[1], fd_);
    ::close(p[1]);
  }
  ~Terminal() {
    flush_console();
    ::dup2(saved_, fd_);
    ::close(saved_);
    ::close(read_end_);
  }
  /// What reached the descriptor so far.
  std::string seen() {
    flush_console();
    return drain(read_end_);
  }

 private:
  int fd_;
  int saved_ = -1;
  int read_end_ = -1;
};

class JsonReporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::pipe(fds_), 0);
    ASSERT_EQ(::fcntl(fds_[0], F_SETFL, O_NONBLOCK), 0);
    output_ = std::make_unique<Output>(fds_[1]);
    reporter_ = make_reporter("json", *output_, 0);
    ASSERT_NE(reporter_, nullptr);
  }
  void TearDown() override {
    reporter_.reset();
    output_.reset();
    ::close(fds_[0]);
    ::close(fds_[1]);
  }

  /// Ends the run; the report's raw text.
  std::string finish() {
    reporter_->complete_run();
    output_->flush();
    return drain(fds_[0]);
  }
  Json finish_json() { return Json::parse(finish()); }

  static const Json& entry(const Json& report, size_t i) {
    return report.find("tasks")->items()[i];
  }
  static std::string text(const Json& object, const char* key) {
    const Json* v = object.find(key);
    return v == nullptr ? "<missing>" : v->is_null() ? "<null>" : v->text();
  }
  static std::vector<std::string> names(const Json& report) {
    std::vector<std::string> out;
    for (const Json& t : report.find("tasks")->items()) out.push_back(text(t, "name"));
    return out;
  }

  Terminal out_terminal_{STDOUT_FILENO};
  Terminal err_terminal_{STDERR_FILENO};
  int fds_[2] = {-1, -1};
  std::unique_ptr<Output> output_;
  std::unique_ptr<Reporter> reporter_;
};

TEST(JsonReporterNameTest, JsonIsABuiltInReporter) {
  const std::vector<std::string> names = reporter_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "json"), names.end());
}

TEST_F(JsonReporterTest, WritesOneObjectWithoutNewline) {
  const Task a = task_named("a");
  reporter_->get_status(a);
  reporter_->execute_task(a);
  reporter_->add_success(a);
  const std::string raw = finish();
  ASSERT_FALSE(raw.empty());
  EXPECT_EQ(raw.back(), '}');
  EXPECT_EQ(raw.rfind("{\"tasks\": [{\"name\": \"a\", \"result\": \"success\", \"out\": \"\", "
                      "\"err\": \"\", \"error\": null, \"started\": \"",
                      0),
            0U)
      << raw;
  EXPECT_NE(raw.find("], \"out\": \"\", \"err\": \"\"}"), std::string::npos) << raw;
}

TEST_F(JsonReporterTest, NothingIsWrittenBeforeTheEnd) {
  const Task a = task_named("a");
  reporter_->get_status(a);
  reporter_->execute_task(a);
  reporter_->add_failure(a, cmd_failure());
  output_->flush();
  EXPECT_EQ(drain(fds_[0]), "");
  EXPECT_EQ(out_terminal_.seen(), "");
}

TEST_F(JsonReporterTest, TasksAreListedInTheOrderTheyWereChecked) {
  const Task parent = task_named("parent"), setup = task_named("setup");
  reporter_->get_status(parent);  // checked first; runs after its setup task
  reporter_->get_status(setup);
  reporter_->execute_task(setup);
  reporter_->add_success(setup);
  reporter_->execute_task(parent);
  reporter_->add_success(parent);
  EXPECT_EQ(names(finish_json()), (std::vector<std::string>{"parent", "setup"}));
}

TEST_F(JsonReporterTest, TaskNeverCheckedIsListedFromItsFirstEvent) {
  const Task a = task_named("a"), b = task_named("b");
  reporter_->skip_uptodate(b);
  reporter_->execute_task(a);
  reporter_->add_success(a);
  EXPECT_EQ(names(finish_json()), (std::vector<std::string>{"b", "a"}));
}

TEST_F(JsonReporterTest, ActionOutputsAreJoinedAndEmptyOnesLeftOut) {
  const Task a = task_named("a");
  reporter_->get_status(a);
  reporter_->execute_task(a);
  reporter_->action_output(a, "hello\n", "");
  reporter_->action_output(a, "", "");
  reporter_->action_output(a, "second\n", "e2\n");
  reporter_->add_success(a);
  const Json report = finish_json();
  EXPECT_EQ(text(entry(report, 0), "out"), "hello\n" + kSeparator + "second\n");
  EXPECT_EQ(text(entry(report, 0), "err"), "e2\n");
}

TEST_F(JsonReporterTest, FailureHasItsMessageAndTheOutputOfItsActions) {
  const Task a = task_named("a");
  reporter_->get_status(a);
  reporter_->execute_task(a);
  reporter_->action_output(a, "one\n", "");
  reporter_->action_output(a, "out-before\n", "err-before\n");
  reporter_->add_failure(a, cmd_failure());
  const Json report = finish_json();
  const Json& e = entry(report, 0);
  EXPECT_EQ(text(e, "result"), "fail");
  EXPECT_EQ(text(e, "error"), "Command failed: 'x' returned 3\n");
  EXPECT_EQ(text(e, "out"), "one\n" + kSeparator + "out-before\n");
  EXPECT_EQ(text(e, "err"), "err-before\n");
}

TEST_F(JsonReporterTest, FailureOutputIsUsedWhenActionsWereNotReportedOneByOne) {
  const Task a = task_named("a");
  reporter_->execute_task(a);
  reporter_->add_failure(a, cmd_failure());
  const Json report = finish_json();
  const Json& e = entry(report, 0);
  EXPECT_EQ(text(e, "out"), "out-before\n");
  EXPECT_EQ(text(e, "err"), "err-before\n");
}

TEST_F(JsonReporterTest, FailureNotToBeReportedIsStillRecorded) {
  const Task a = task_named("a");
  Failure f = cmd_failure();
  f.report = false;
  reporter_->add_failure(a, f);
  const Json report = finish_json();
  EXPECT_EQ(text(entry(report, 0), "result"), "fail");
}

TEST_F(JsonReporterTest, SkippedTasksHaveNoStartNorElapsed) {
  const Task up = task_named("up"), ign = task_named("ign"), unmet = task_named("unmet");
  reporter_->get_status(up);
  reporter_->skip_uptodate(up);
  reporter_->get_status(ign);
  reporter_->skip_ignore(ign);
  reporter_->get_status(unmet);
  Failure f;
  f.kind = FailureKind::kUnmetDependency;
  f.message = "up\n";
  reporter_->add_failure(unmet, f);
  const Json report = finish_json();
  const std::vector<std::string> results = {"up-to-date", "ignore", "fail"};
  for (size_t i = 0; i < results.size(); ++i) {
    const Json& e = entry(report, i);
    EXPECT_EQ(text(e, "result"), results[i]);
    EXPECT_EQ(text(e, "out"), "");
    EXPECT_EQ(text(e, "err"), "");
    EXPECT_EQ(text(e, "started"), "<null>");
    EXPECT_EQ(text(e, "elapsed"), "<null>");
  }
  EXPECT_EQ(text(entry(report, 0), "error"), "<null>");
  EXPECT_EQ(text(entry(report, 2), "error"), "up\n");
}

TEST_F(JsonReporterTest, TaskThatNeverFinishedHasNullResultAndOutput) {
  const Task a = task_named("a");
  reporter_->get_status(a);
  reporter_->execute_task(a);
  const Json report = finish_json();
  const Json& e = entry(report, 0);
  for (const char* key : {"result", "out", "err", "error", "elapsed"}) {
    EXPECT_EQ(text(e, key), "<null>") << key;
  }
  EXPECT_NE(text(e, "started"), "<null>");
}

TEST_F(JsonReporterTest, StartIsUtcWithMicrosecondsAndElapsedIsAFloat) {
  const Task a = task_named("a");
  reporter_->get_status(a);
  reporter_->execute_task(a);
  reporter_->add_success(a);
  const Json report = finish_json();
  const Json& e = entry(report, 0);
  EXPECT_TRUE(
      std::regex_match(text(e, "started"), std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6})")))
      << text(e, "started");
  ASSERT_EQ(e.find("elapsed")->type(), Json::Type::kNumber);
  const std::string elapsed = e.find("elapsed")->text();
  EXPECT_NE(elapsed.find_first_of(".e"), std::string::npos) << elapsed;
  EXPECT_GE(std::stod(elapsed), 0.0);
}

TEST_F(JsonReporterTest, ConsoleOutputDuringTheRunGoesIntoTheReport) {
  const Task a = task_named("a");
  reporter_->execute_task(a);
  Output::out().write("live out\n");
  Output::err().write("live err\n");
  flush_console();
  ASSERT_EQ(::write(STDOUT_FILENO, "child out\n", 10), 10);  // as an inheriting child would
  reporter_->add_success(a);
  const Json report = finish_json();
  EXPECT_EQ(text(report, "out"), "live out\nchild out\n");
  EXPECT_EQ(text(report, "err"), "live err\n");
  EXPECT_EQ(out_terminal_.seen(), "");
  EXPECT_EQ(err_terminal_.seen(), "");
}

TEST_F(JsonReporterTest, ConsoleIsGivenBackAfterTheRun) {
  finish();
  Output::out().write("after\n");
  EXPECT_EQ(out_terminal_.seen(), "after\n");
}

TEST_F(JsonReporterTest, ConsoleIsGivenBackWhenTheReporterIsDestroyedEarly) {
  reporter_.reset();
  Output::err().write("after\n");
  EXPECT_EQ(err_terminal_.seen(), "after\n");
}

TEST_F(JsonReporterTest, RuntimeAndTeardownErrorsAreAddedToErr) {
  Output::err().write("task err\n");
  reporter_->runtime_error("Task 'x': invalid 'actions' type.");
  reporter_->cleanup_error("ERROR: task 'y' teardown action\nboom\n");
  EXPECT_EQ(text(finish_json(), "err"),
            "task err\nTask 'x': invalid 'actions' type.\nERROR: task 'y' teardown action\nboom\n");
}

TEST_F(JsonReporterTest, TextIsAsciiJsonAndInvalidUtf8IsReplaced) {
  const Task a = task_named("t\xC3\xA9");
  reporter_->execute_task(a);
  reporter_->action_output(a, "caf\xC3\xA9 \"q\"\n", "bad \xFF\n");
  reporter_->add_success(a);
  const std::string raw = finish();
  for (const char c : raw) ASSERT_GE(static_cast<unsigned char>(c), 0x20) << raw;
  for (const char c : raw) ASSERT_LT(static_cast<unsigned char>(c), 0x80) << raw;
  const Json report = Json::parse(raw);
  const Json& e = entry(report, 0);
  EXPECT_EQ(text(e, "name"), "t\xC3\xA9");
  EXPECT_EQ(text(e, "out"), "caf\xC3\xA9 \"q\"\n");
  EXPECT_EQ(text(e, "err"), "bad \xEF\xBF\xBD\n");
}

}  // namespace
}  // namespace doit

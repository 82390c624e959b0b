#include "doit/reporter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace doit {
namespace {

const std::string kRule = std::string(40, '#') + "\n";
const std::string kCmdFailedMessage =
    "Command failed: 'echo out-before; echo err-before 1>&2; exit 3' returned 3\n";

class FixedTitle : public TitleFunction {
 public:
  std::string title(const Task& task) override { return "built " + task.name; }
};

Task task_named(std::string name, bool with_action = true) {
  Task task;
  task.name = std::move(name);
  if (with_action) {
    CmdAction cmd;
    cmd.command = "true";
    task.actions.push_back(Action{cmd});
  }
  return task;
}

/// The failure of SPEC §11.1's transcript: `echo out-before; echo err-before 1>&2; exit 3`.
Failure cmdfail(int verbosity) {
  Failure f;
  f.kind = FailureKind::kTaskFailed;
  f.message = kCmdFailedMessage;
  f.out = "out-before\n";
  f.err = "err-before\n";
  f.started = true;
  f.verbosity = verbosity;
  return f;
}

Failure unmet(const std::string& failed_deps) {
  Failure f;
  f.kind = FailureKind::kUnmetDependency;
  f.message = failed_deps + "\n";
  return f;
}

/// Restores `fd` after sending it into a pipe; what was written, on finish().
class FdCapture {
 public:
  explicit FdCapture(int fd) : fd_(fd) {
    std::fflush(nullptr);
    flush_console();
    int p[2];
    EXPECT_EQ(::pipe(p), 0);
    read_end_ = p[0];
    saved_ = ::dup(fd_);
    ::dup2(p[1], fd_);
    ::close(p[1]);
  }
  std::string finish() {
    flush_console();
    ::dup2(saved_, fd_);
    ::close(saved_);
    std::string text;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(read_end_, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    ::close(read_end_);
    return text;
  }

 private:
  int fd_;
  int saved_ = -1;
  int read_end_ = -1;
};

/// A reporter writing into a pipe; written() returns the bytes so far.
class ReporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::pipe(fds_), 0);
    ASSERT_EQ(::fcntl(fds_[0], F_SETFL, O_NONBLOCK), 0);
    output_ = std::make_unique<Output>(fds_[1]);
  }
  void TearDown() override {
    output_.reset();
    ::close(fds_[0]);
    ::close(fds_[1]);
  }

  std::unique_ptr<Reporter> make(std::string_view name, int failure_verbosity = 0) {
    std::unique_ptr<Reporter> reporter = make_reporter(name, *output_, failure_verbosity);
    EXPECT_NE(reporter, nullptr) << name;
    return reporter;
  }

  std::string written() {
    output_->flush();
    std::string text;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(fds_[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    return text;
  }

  /// The console output of SPEC §11.1's failing `cmdfail` task.
  std::string cmdfail_run(int verbosity, int failure_verbosity) {
    auto reporter = make("console", failure_verbosity);
    const Task task = task_named("cmdfail");
    reporter->execute_task(task);
    reporter->add_failure(task, cmdfail(verbosity));
    reporter->complete_run();
    return written();
  }

  int fds_[2] = {-1, -1};
  std::unique_ptr<Output> output_;
};

// --- names -------------------------------------------------------------------------

TEST(FailureKindTest, NamesArePydoitExceptionNames) {
  EXPECT_EQ(failure_kind_name(FailureKind::kTaskFailed), "TaskFailed");
  EXPECT_EQ(failure_kind_name(FailureKind::kTaskError), "TaskError");
  EXPECT_EQ(failure_kind_name(FailureKind::kUnmetDependency), "UnmetDependency");
  EXPECT_EQ(failure_kind_name(FailureKind::kDependencyError), "DependencyError");
  EXPECT_EQ(failure_kind_name(FailureKind::kSetupError), "SetupError");
}

TEST_F(ReporterTest, KnowsTheBuiltInReporterNames) {
  EXPECT_EQ(reporter_names(),
            (std::vector<std::string>{"console", "executed-only", "zero", "error-only", "json"}));
  for (const std::string& name : reporter_names())
    EXPECT_NE(make_reporter(name, *output_, 0), nullptr);
  EXPECT_EQ(make_reporter("nope", *output_, 0), nullptr);
}

// --- console: task lines ---------------------------------------------------------------

TEST_F(ReporterTest, ConsolePrintsATaskLinePerEvent) {
  auto reporter = make("console");
  reporter->execute_task(task_named("hello"));
  reporter->add_success(task_named("hello"));
  reporter->skip_uptodate(task_named("done"));
  reporter->skip_ignore(task_named("skipped"));
  reporter->complete_run();
  EXPECT_EQ(written(), ".  hello\n-- done\n!! skipped\n");
}

TEST_F(ReporterTest, ConsoleHasNoDotLineForATaskWithoutActions) {
  auto reporter = make("console");
  reporter->execute_task(task_named("group", /*with_action=*/false));
  EXPECT_EQ(written(), "");
}

TEST_F(ReporterTest, ConsoleHidesPrivateTasksExceptWhenIgnored) {
  auto reporter = make("console");
  reporter->execute_task(task_named("_private"));
  reporter->skip_uptodate(task_named("_private"));
  reporter->skip_ignore(task_named("_private"));
  EXPECT_EQ(written(), "!! _private\n");
}

TEST_F(ReporterTest, ConsoleUsesTheTitleForTaskLinesAndTheNameForFailures) {
  auto reporter = make("console");
  Task task = task_named("t");
  task.set_extras().title_fn = std::make_shared<FixedTitle>();
  reporter->execute_task(task);
  reporter->skip_uptodate(task);
  reporter->skip_ignore(task);
  reporter->add_failure(task, unmet("dep"));
  EXPECT_EQ(written(), ".  built t\n-- built t\n!! built t\nUnmetDependency - taskid:t\ndep\n\n");
}

// --- console: failures and the end-of-run summary (SPEC §11.1) -----------------------------

TEST_F(ReporterTest, ConsoleDefaultVerbosityShowsCapturedStdoutAtTheEnd) {
  EXPECT_EQ(cmdfail_run(/*verbosity=*/1, /*failure_verbosity=*/0),
            ".  cmdfail\n"
            "TaskFailed - taskid:cmdfail\n" +
                kCmdFailedMessage + "\n" + kRule +
                "cmdfail <stdout>:\n"
                "out-before\n"
                "\n");
}

TEST_F(ReporterTest, ConsoleVerbosityZeroAddsTheKindLineAndStderrWithoutMessage) {
  EXPECT_EQ(cmdfail_run(0, 0),
            ".  cmdfail\n"
            "TaskFailed - taskid:cmdfail\n" +
                kCmdFailedMessage + "\n" + kRule +
                "TaskFailed - taskid:cmdfail\n"
                "cmdfail <stderr>:\n"
                "err-before\n"
                "\n"
                "cmdfail <stdout>:\n"
                "out-before\n"
                "\n");
}

TEST_F(ReporterTest, ConsoleVerbosityTwoHasNoSummary) {
  EXPECT_EQ(cmdfail_run(2, 0),
            ".  cmdfail\nTaskFailed - taskid:cmdfail\n" + kCmdFailedMessage + "\n");
}

TEST_F(ReporterTest, ConsoleFailureVerbosityOneRepeatsTheMessageAndBothStreams) {
  EXPECT_EQ(cmdfail_run(1, 1),
            ".  cmdfail\n"
            "TaskFailed - taskid:cmdfail\n" +
                kCmdFailedMessage + "\n" + kRule + "TaskFailed - taskid:cmdfail\n" +
                kCmdFailedMessage + "\n" +
                "cmdfail <stderr>:\n"
                "err-before\n"
                "\n"
                "cmdfail <stdout>:\n"
                "out-before\n"
                "\n");
}

TEST_F(ReporterTest, ConsoleFailureVerbosityOneAtVerbosityTwoShowsOnlyStderr) {
  EXPECT_EQ(cmdfail_run(2, 1),
            ".  cmdfail\n"
            "TaskFailed - taskid:cmdfail\n" +
                kCmdFailedMessage + "\n" + kRule + "TaskFailed - taskid:cmdfail\n" +
                kCmdFailedMessage + "\n" +
                "cmdfail <stderr>:\n"
                "err-before\n"
                "\n");
}

TEST_F(ReporterTest, ConsoleFailureVerbosityTwoShowsEverythingEvenAtVerbosityTwo) {
  EXPECT_EQ(cmdfail_run(2, 2),
            ".  cmdfail\n"
            "TaskFailed - taskid:cmdfail\n" +
                kCmdFailedMessage + "\n" + kRule + "TaskFailed - taskid:cmdfail\n" +
                kCmdFailedMessage + "\n" +
                "cmdfail <stderr>:\n"
                "err-before\n"
                "\n"
                "cmdfail <stdout>:\n"
                "out-before\n"
                "\n");
}

TEST_F(ReporterTest, ConsoleSummarySkipsFailuresOfTasksThatNeverStarted) {
  auto reporter = make("console", 2);
  reporter->add_failure(task_named("after"), unmet("cmdfail"));
  reporter->complete_run();
  EXPECT_EQ(written(), "UnmetDependency - taskid:after\ncmdfail\n\n");
}

TEST_F(ReporterTest, ConsoleSaysNothingAboutAFailureCreatedWithReportFalse) {
  auto reporter = make("console", 2);
  Failure f = cmdfail(0);
  f.report = false;
  reporter->add_failure(task_named("quiet"), f);
  reporter->complete_run();
  EXPECT_EQ(written(), "");
}

TEST_F(ReporterTest, ConsoleSummariesComeAtTheEndInFailureOrder) {
  auto reporter = make("console");
  Failure first = cmdfail(1);
  Failure second = cmdfail(1);
  second.kind = FailureKind::kTaskError;
  second.message = "PythonAction Error\nTraceback...\nValueError: boom\n";
  second.out = "";
  reporter->execute_task(task_named("cmdfail"));
  reporter->add_failure(task_named("cmdfail"), first);
  reporter->add_failure(task_named("after"), unmet("cmdfail"));
  reporter->execute_task(task_named("pyexc"));
  reporter->add_failure(task_named("pyexc"), second);
  reporter->execute_task(task_named("ok"));
  reporter->complete_run();
  EXPECT_EQ(written(),
            ".  cmdfail\n"
            "TaskFailed - taskid:cmdfail\n" +
                kCmdFailedMessage + "\n" +
                "UnmetDependency - taskid:after\n"
                "cmdfail\n"
                "\n"
                ".  pyexc\n"
                "TaskError - taskid:pyexc\n"
                "PythonAction Error\nTraceback...\nValueError: boom\n"
                "\n"
                ".  ok\n" +
                kRule +
                "cmdfail <stdout>:\n"
                "out-before\n"
                "\n" +
                kRule +
                "pyexc <stdout>:\n"
                "\n");
}

TEST_F(ReporterTest, ConsoleRuntimeErrorsAbortAfterTheFailureSummaries) {
  auto reporter = make("console");
  reporter->execute_task(task_named("cmdfail"));
  reporter->add_failure(task_named("cmdfail"), cmdfail(1));
  reporter->runtime_error("Task 'x': invalid 'actions' type. got: 3 <class 'int'>");
  reporter->runtime_error("second");
  EXPECT_EQ(written(), ".  cmdfail\nTaskFailed - taskid:cmdfail\n" + kCmdFailedMessage + "\n");
  reporter->complete_run();
  EXPECT_EQ(written(), kRule +
                           "cmdfail <stdout>:\n"
                           "out-before\n"
                           "\n" +
                           kRule +
                           "Execution aborted.\n"
                           "Task 'x': invalid 'actions' type. got: 3 <class 'int'>\n"
                           "second\n");
}

TEST_F(ReporterTest, ConsoleCleanupErrorGoesToStderr) {
  auto reporter = make("console");
  reporter->execute_task(task_named("a"));
  FdCapture err(STDERR_FILENO);
  reporter->cleanup_error("ERROR: task 'a' teardown action\nCommand failed: 'false' returned 1\n");
  const std::string err_text = err.finish();
  EXPECT_EQ(err_text, "ERROR: task 'a' teardown action\nCommand failed: 'false' returned 1\n");
  EXPECT_EQ(written(), ".  a\n");
}

// --- the other reporters (SPEC §11.2) -------------------------------------------------------

TEST_F(ReporterTest, ExecutedOnlyOmitsUpToDateAndIgnoredLines) {
  auto reporter = make("executed-only");
  reporter->skip_uptodate(task_named("done"));
  reporter->skip_ignore(task_named("skipped"));
  EXPECT_EQ(written(), "");
  reporter->execute_task(task_named("cmdfail"));
  reporter->add_failure(task_named("cmdfail"), cmdfail(1));
  reporter->complete_run();
  EXPECT_EQ(written(), ".  cmdfail\nTaskFailed - taskid:cmdfail\n" + kCmdFailedMessage + "\n" +
                           kRule + "cmdfail <stdout>:\nout-before\n\n");
}

TEST_F(ReporterTest, ZeroPrintsNothingAboutTasks) {
  auto reporter = make("zero", 2);
  reporter->execute_task(task_named("a"));
  reporter->skip_uptodate(task_named("b"));
  reporter->skip_ignore(task_named("c"));
  reporter->add_failure(task_named("a"), cmdfail(0));
  reporter->add_success(task_named("d"));
  reporter->complete_run();
  EXPECT_EQ(written(), "");
}

TEST_F(ReporterTest, ZeroSendsRuntimeErrorsToStderr) {
  auto reporter = make("zero");
  FdCapture err(STDERR_FILENO);
  reporter->runtime_error("Task 'x': invalid 'actions' type.");
  reporter->complete_run();
  const std::string err_text = err.finish();
  EXPECT_EQ(err_text, "Task 'x': invalid 'actions' type.");
  EXPECT_EQ(written(), "");
}

TEST_F(ReporterTest, ErrorOnlyPrintsEachReportedFailureAsItHappens) {
  auto reporter = make("error-only");
  reporter->execute_task(task_named("cmdfail"));
  reporter->skip_uptodate(task_named("b"));
  reporter->skip_ignore(task_named("c"));
  reporter->add_failure(task_named("cmdfail"), cmdfail(1));
  Failure quiet = cmdfail(1);
  quiet.report = false;
  reporter->add_failure(task_named("quiet"), quiet);
  reporter->add_failure(task_named("after"), unmet("cmdfail"));
  reporter->complete_run();
  EXPECT_EQ(written(), "taskid:cmdfail - TaskFailed\n" + kCmdFailedMessage + "\n" +
                           "taskid:after - UnmetDependency\ncmdfail\n\n");
}

}  // namespace
}  // namespace doit

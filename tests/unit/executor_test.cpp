#include "doit/executor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace doit {
namespace {

using Names = std::vector<std::string>;

/// A reporter that appends one line per event to a shared log.
class RecordingReporter : public Reporter {
 public:
  explicit RecordingReporter(Names* log) : log_(log) {}
  void execute_task(const Task& task) override { log_->push_back("execute " + task.name); }
  void skip_uptodate(const Task& task) override { log_->push_back("uptodate " + task.name); }
  void skip_ignore(const Task& task) override { log_->push_back("ignore " + task.name); }
  void add_success(const Task& task) override { log_->push_back("success " + task.name); }
  void add_failure(const Task& task, const Failure& failure) override {
    log_->push_back("failure " + task.name + " " + std::string(failure_kind_name(failure.kind)));
    failures.emplace_back(task.name, failure);
  }
  void runtime_error(const std::string& message) override {
    log_->push_back("runtime_error " + message);
  }
  void cleanup_error(const std::string& message) override {
    log_->push_back("cleanup_error " + message);
  }
  void complete_run() override { log_->push_back("complete"); }

  std::vector<std::pair<std::string, Failure>> failures;

 private:
  Names* log_;
};

/// What a fake callable action saw in its ActionEnv.
struct Call {
  int verbosity = -1;
  Names changed;
  bool live_out = false;
  bool live_err = false;
};

/// A python-action stand-in: logs its label, records the env, runs `body`.
class FakeAction : public CallableAction {
 public:
  using Body = std::function<ActionOutcome(const ActionEnv&)>;
  FakeAction(Names* log, std::string label, Body body)
      : log_(log), label_(std::move(label)), body_(std::move(body)) {}

  ActionOutcome run(const ActionEnv& env) override {
    log_->push_back(label_);
    calls.push_back({env.verbosity, env.changed, env.live_out != nullptr, env.live_err != nullptr});
    return body_ ? body_(env) : ActionOutcome{};
  }
  std::string description() const override { return "Python: function fake"; }

  std::vector<Call> calls;

 private:
  Names* log_;
  std::string label_;
  Body body_;
};

/// Answers for anything the core's own formatter does not handle.
class FakeFormatter : public StringFormatter {
 public:
  std::string format(const std::string& text,
                     const std::vector<std::pair<std::string, std::string>>& mapping,
                     std::string_view style) override {
    texts.push_back(text);
    styles.emplace_back(style);
    keys.clear();
    for (const auto& [key, value] : mapping) keys.push_back(key);
    return "echo from-formatter > formatted.txt";
  }
  Names texts, styles, keys;
};

ActionOutcome failed(std::string message) {
  ActionOutcome outcome;
  outcome.status = ActionOutcome::Status::kFailed;
  outcome.message = std::move(message);
  return outcome;
}

ActionOutcome with_values(std::string json) {
  ActionOutcome outcome;
  outcome.values = Json::parse(json);
  outcome.result = outcome.values;
  return outcome;
}

/// Each test runs in a fresh temporary directory holding its `.doit.db`.
class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char cwd[PATH_MAX];
    ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
    old_cwd_ = cwd;
    std::string pattern = (std::filesystem::temp_directory_path() / "doit-exec-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    ASSERT_EQ(::chdir(dir_.c_str()), 0);
    db_ = StateDb::open(dir_ + "/.doit.db");
  }
  void TearDown() override {
    db_.reset();
    EXPECT_EQ(::chdir(old_cwd_.c_str()), 0);
    std::filesystem::remove_all(dir_);
  }

  /// Builds the graph and runs `selected` with a fresh executor.
  int run(std::deque<Task> tasks, const Names& selected, RunOptions options = {},
          StringFormatter* formatter = nullptr) {
    TaskGraph graph(std::move(tasks));
    Executor executor(graph, *db_, fs_, reporter_, options, formatter);
    return executor.run(selected);
  }

  /// A callable action that logs `label` when it runs.
  Action fake(const std::string& label, FakeAction::Body body = {}) {
    auto action = std::make_shared<FakeAction>(&log_, label, std::move(body));
    fakes_[label] = action;
    return Action{std::shared_ptr<CallableAction>(action)};
  }
  /// The calls the fake action labelled `label` received.
  const std::vector<Call>& calls_of(const std::string& label) { return fakes_.at(label)->calls; }

  /// A task with one fake action labelled "run <name>".
  Task task(const std::string& name, Names task_dep = {}) {
    Task t;
    t.name = name;
    t.task_dep = std::move(task_dep);
    t.actions.push_back(fake("run " + name));
    return t;
  }

  /// A task with one shell command.
  static Task shell_task(const std::string& name, const std::string& command) {
    Task t;
    t.name = name;
    t.actions.push_back(shell(command));
    return t;
  }
  static Action shell(const std::string& command) {
    CmdAction cmd;
    cmd.command = command;
    return Action{cmd};
  }

  /// Task "t" with file_dep `input`, run once successfully.
  Task task_run_once_on(const std::string& input) {
    write_file(input, "data");
    Task t = task("t");
    t.file_dep = {input};
    EXPECT_EQ(run({t}, {"t"}), kRunSuccess);
    return t;
  }

  /// Writes a file with a distinct, increasing mtime (whole seconds apart).
  void write_file(const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
    const timespec times[2] = {{next_mtime_, 0}, {next_mtime_, 0}};
    ++next_mtime_;
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  }
  static std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  /// Log lines with `prefix`, without it.
  Names events(const std::string& prefix) const {
    Names out;
    for (const std::string& line : log_) {
      if (line.rfind(prefix, 0) == 0) out.push_back(line.substr(prefix.size()));
    }
    return out;
  }
  Names executed() const { return events("execute "); }

  const Failure& only_failure() {
    EXPECT_EQ(reporter_.failures.size(), 1u);
    return reporter_.failures.at(0).second;
  }

  std::string old_cwd_;
  std::string dir_;
  std::unique_ptr<StateDb> db_;
  RealFileSystem fs_;
  Names log_;
  RecordingReporter reporter_{&log_};
  std::map<std::string, std::shared_ptr<FakeAction>> fakes_;
  time_t next_mtime_ = 1'600'000'000;
};

// --- order (SPEC §10.3) -----------------------------------------------------------------

class ExecutorOrderTest : public ExecutorTest {
 protected:
  /// SPEC §10.3: A: [B, C], B: [D], D: [E]; X: [Y]; defined A, B, C, D, E, X, Y.
  std::deque<Task> spec_tasks() {
    return {task("A", {"B", "C"}), task("B", {"D"}), task("C"), task("D", {"E"}), task("E"),
            task("X", {"Y"}),      task("Y")};
  }
};

TEST_F(ExecutorOrderTest, RunsDependenciesBreadthFirstLikePydoit) {
  EXPECT_EQ(run(spec_tasks(), {"A"}), kRunSuccess);
  EXPECT_EQ(executed(), (Names{"C", "E", "D", "B", "A"}));
  EXPECT_EQ(events("run "), (Names{"C", "E", "D", "B", "A"}));
}

TEST_F(ExecutorOrderTest, RunsSelectedTasksInCommandLineOrder) {
  EXPECT_EQ(run(spec_tasks(), {"X", "A"}), kRunSuccess);
  EXPECT_EQ(executed(), (Names{"Y", "X", "C", "E", "D", "B", "A"}));
}

TEST_F(ExecutorOrderTest, RunsAllTasksInDefinitionOrderEachOnce) {
  EXPECT_EQ(run(spec_tasks(), {"A", "B", "C", "D", "E", "X", "Y"}), kRunSuccess);
  EXPECT_EQ(executed(), (Names{"C", "E", "D", "B", "A", "Y", "X"}));
  EXPECT_EQ(log_.back(), "complete");
}

TEST_F(ExecutorTest, QueuesNewDependenciesBehindThoseAlreadyReady) {
  // The FIFO of SPEC §10.3: D and F (found by B and C) run before B and C.
  EXPECT_EQ(
      run({task("A", {"B", "C"}), task("B", {"D"}), task("C", {"F"}), task("D"), task("F")}, {"A"}),
      kRunSuccess);
  EXPECT_EQ(executed(), (Names{"D", "F", "B", "C", "A"}));
}

TEST_F(ExecutorTest, RunsASharedDependencyOnce) {
  EXPECT_EQ(run({task("top", {"l", "r"}), task("l", {"base"}), task("r", {"base"}), task("base")},
                {"top"}),
            kRunSuccess);
  EXPECT_EQ(executed(), (Names{"base", "l", "r", "top"}));
}

TEST_F(ExecutorTest, ReportsSuccessAfterEachExecutedTask) {
  EXPECT_EQ(run({task("a"), task("b", {"a"})}, {"b"}), kRunSuccess);
  EXPECT_EQ(log_, (Names{"execute a", "run a", "success a", "execute b", "run b", "success b",
                         "complete"}));
}

// --- cycles -----------------------------------------------------------------------------

TEST_F(ExecutorTest, DetectsACycleAndSpellsItOut) {
  try {
    run({task("x", {"y"}), task("y", {"x"})}, {"x"});
    FAIL() << "no GraphError";
  } catch (const GraphError& e) {
    EXPECT_STREQ(e.what(), "Cyclic/recursive dependencies for task x: [x -> y -> x]");
  }
  EXPECT_TRUE(executed().empty());
  EXPECT_EQ(log_.back(), "complete");  // the summary still comes
}

TEST_F(ExecutorTest, FileDepOnItsOwnTargetIsASelfCycle) {
  Task s = task("s");
  s.file_dep = {"s.out"};
  s.targets = {"s.out"};
  try {
    run({s}, {"s"});
    FAIL() << "no GraphError";
  } catch (const GraphError& e) {
    EXPECT_STREQ(e.what(), "Cyclic/recursive dependencies for task s: [s -> s]");
  }
}

TEST_F(ExecutorTest, DetectsALongerCycleFromTheTaskThatClosesIt) {
  try {
    run({task("a", {"b"}), task("b", {"c"}), task("c", {"a"})}, {"a"});
    FAIL() << "no GraphError";
  } catch (const GraphError& e) {
    EXPECT_STREQ(e.what(), "Cyclic/recursive dependencies for task a: [a -> b -> c -> a]");
  }
}

// Neither sibling is an ancestor of the other in the creation chain, so the
// cycle shows only when both wait on each other with nothing left to run.
// (pydoit crashes here: its dispatcher yields "hold on" to the serial runner.)
TEST_F(ExecutorTest, DetectsACycleBetweenTwoSiblings) {
  int result = -1;
  std::string message;
  try {
    result = run({task("a", {"b", "c"}), task("b", {"c"}), task("c", {"b"})}, {"a"});
  } catch (const GraphError& e) {
    message = e.what();
  }
  EXPECT_EQ(result, -1) << "run() returned instead of throwing";
  EXPECT_EQ(message.rfind("Cyclic/recursive dependencies for task ", 0), 0u) << message;
  EXPECT_TRUE(executed().empty());
}

// --- setup tasks (SPEC §10.4) ----------------------------------------------------------------

TEST_F(ExecutorTest, RunsSetupTasksAfterTheCheckAndBeforeTheTask) {
  Task t = task("t");
  t.setup = {"s"};
  EXPECT_EQ(run({t, task("s")}, {"t"}), kRunSuccess);
  EXPECT_EQ(executed(), (Names{"s", "t"}));
}

TEST_F(ExecutorTest, SkipsSetupTasksWhenTheTaskIsUpToDate) {
  Task t = task("t");
  t.setup = {"s"};
  t.uptodate = {UptodateItem{UptodateItem::Kind::kTrue, "", nullptr}};
  EXPECT_EQ(run({t, task("s")}, {"t"}), kRunSuccess);
  EXPECT_TRUE(executed().empty());
  EXPECT_EQ(events("uptodate "), Names{"t"});
}

TEST_F(ExecutorTest, RunsTheTaskEvenWhenItsSetupTaskIsUpToDate) {
  write_file("s_in", "s");
  Task s = task("s");
  s.file_dep = {"s_in"};
  Task t = task("t");
  t.setup = {"s"};
  EXPECT_EQ(run({t, s}, {"s"}), kRunSuccess);
  log_.clear();
  EXPECT_EQ(run({t, s}, {"t"}), kRunSuccess);
  EXPECT_EQ(events("uptodate "), Names{"s"});
  EXPECT_EQ(executed(), Names{"t"});
}

// The setup task is checked between the task's check and its run; the task
// must still get its own changed files.
TEST_F(ExecutorTest, TaskWithSetupReceivesItsOwnChangedFiles) {
  write_file("a", "1");
  write_file("s_in", "2");
  Task s = task("s");
  s.file_dep = {"s_in"};
  Task t = task("t");
  t.file_dep = {"a"};
  t.setup = {"s"};
  EXPECT_EQ(run({t, s}, {"t"}), kRunSuccess);
  EXPECT_EQ(executed(), (Names{"s", "t"}));
  ASSERT_EQ(calls_of("run t").size(), 1u);
  EXPECT_EQ(calls_of("run t")[0].changed, Names{"a"});
}

TEST_F(ExecutorTest, RunsASetupTaskSharedByTwoTasksOnce) {
  Task a = task("a");
  a.setup = {"s"};
  Task b = task("b");
  b.setup = {"s"};
  EXPECT_EQ(run({a, b, task("s")}, {"a", "b"}), kRunSuccess);
  EXPECT_EQ(executed(), (Names{"s", "a", "b"}));
}

// --- failures (SPEC §7.2, §10.9, §12.1) --------------------------------------------------------

TEST_F(ExecutorTest, CommandFailureStopsTheRunWithExitOne) {
  Task a = task("a", {"b"});
  EXPECT_EQ(run({a, shell_task("b", "echo out; echo err >&2; exit 3"), task("c")}, {"a", "c"}),
            kRunFailure);
  EXPECT_EQ(executed(), Names{"b"});
  const Failure& f = only_failure();
  EXPECT_EQ(f.kind, FailureKind::kTaskFailed);
  EXPECT_EQ(f.message, "Command failed: 'echo out; echo err >&2; exit 3' returned 3\n");
  EXPECT_EQ(f.out, "out\n");
  EXPECT_EQ(f.err, "err\n");
  EXPECT_TRUE(f.started);
  EXPECT_EQ(log_.back(), "complete");
}

TEST_F(ExecutorTest, CommandExitAbove125IsATaskErrorWithExitTwo) {
  EXPECT_EQ(run({shell_task("b", "exit 126")}, {"b"}), kRunError);
  EXPECT_EQ(only_failure().kind, FailureKind::kTaskError);
  EXPECT_EQ(only_failure().message, "Command error: 'exit 126' returned 126\n");
}

TEST_F(ExecutorTest, CommandExit125IsStillATaskFailure) {
  EXPECT_EQ(run({shell_task("b", "exit 125")}, {"b"}), kRunFailure);
  EXPECT_EQ(only_failure().kind, FailureKind::kTaskFailed);
}

TEST_F(ExecutorTest, CommandKilledBySignalIsATaskFailure) {
  EXPECT_EQ(run({shell_task("k", "kill -KILL $$")}, {"k"}), kRunFailure);
  EXPECT_EQ(only_failure().message, "Command failed: 'kill -KILL $$' returned -9\n");
}

TEST_F(ExecutorTest, CommandFailureShowsTheCommandTextBetweenQuotesAsIs) {
  // pydoit formats "Command failed: '%s'", not a repr: inner quotes stay.
  EXPECT_EQ(run({shell_task("q", "echo 'it''s'; exit 5")}, {"q"}), kRunFailure);
  EXPECT_EQ(only_failure().message, "Command failed: 'echo 'it''s'; exit 5' returned 5\n");
}

TEST_F(ExecutorTest, ListCommandFailureShowsTheListRepr) {
  Task t;
  t.name = "l";
  CmdAction cmd;
  cmd.shell = false;
  cmd.argv = {"sh", "-c", "exit 2"};
  t.actions.push_back(Action{cmd});
  EXPECT_EQ(run({t}, {"l"}), kRunFailure);
  EXPECT_EQ(only_failure().message, "Command failed: '['sh', '-c', 'exit 2']' returned 2\n");
}

TEST_F(ExecutorTest, FailedCallableIsATaskFailure) {
  Task t;
  t.name = "py";
  t.actions.push_back(fake("run py", [](const ActionEnv&) {
    return failed("Python Task failed: '<function f>' returned False\n");
  }));
  t.actions.push_back(fake("never"));
  EXPECT_EQ(run({t}, {"py"}), kRunFailure);
  EXPECT_EQ(only_failure().message, "Python Task failed: '<function f>' returned False\n");
  EXPECT_TRUE(events("never").empty());  // later actions do not run
}

TEST_F(ExecutorTest, FailureRemovesTheTaskRecord) {
  EXPECT_EQ(run({shell_task("t", "true")}, {"t"}), kRunSuccess);
  ASSERT_NE(db_->find("t"), nullptr);
  EXPECT_EQ(run({shell_task("t", "false")}, {"t"}), kRunFailure);
  EXPECT_EQ(db_->find("t"), nullptr);
}

TEST_F(ExecutorTest, KeepGoingGivesUnmetDependencyToDependents) {
  RunOptions keep_going;
  keep_going.keep_going = true;
  ASSERT_EQ(run({task("a", {"b"}), shell_task("b", "true"), task("c")}, {"a", "c"}), kRunSuccess);
  ASSERT_NE(db_->find("a"), nullptr);
  log_.clear();

  EXPECT_EQ(run({task("a", {"b"}), shell_task("b", "exit 1"), task("c")}, {"a", "c"}, keep_going),
            kRunError);  // UnmetDependency is a TaskError since 0.36
  EXPECT_EQ(executed(), (Names{"b", "c"}));
  EXPECT_EQ(events("failure "), (Names{"b TaskFailed", "a UnmetDependency"}));
  ASSERT_EQ(reporter_.failures.size(), 2u);
  EXPECT_EQ(reporter_.failures[1].second.message, "b\n");
  EXPECT_FALSE(reporter_.failures[1].second.started);
  EXPECT_EQ(db_->find("a"), nullptr);  // dependents lose their record too
  EXPECT_NE(db_->find("c"), nullptr);
}

TEST_F(ExecutorTest, KeepGoingListsEveryFailedDependency) {
  RunOptions keep_going;
  keep_going.keep_going = true;
  EXPECT_EQ(run({task("a", {"b", "c"}), shell_task("b", "exit 1"), shell_task("c", "exit 1")},
                {"a"}, keep_going),
            kRunError);
  ASSERT_EQ(reporter_.failures.size(), 3u);
  EXPECT_EQ(reporter_.failures[2].first, "a");
  EXPECT_EQ(reporter_.failures[2].second.message, "b c\n");
}

TEST_F(ExecutorTest, OnlyTaskFailuresGiveExitOneEvenWithKeepGoing) {
  RunOptions keep_going;
  keep_going.keep_going = true;
  EXPECT_EQ(run({shell_task("f1", "exit 1"), shell_task("f2", "exit 2")}, {"f1", "f2"}, keep_going),
            kRunFailure);
}

TEST_F(ExecutorTest, ExitStaysTwoOnceAnErrorHappened) {
  RunOptions keep_going;
  keep_going.keep_going = true;
  EXPECT_EQ(run({shell_task("e", "exit 200"), shell_task("f", "exit 1")}, {"e", "f"}, keep_going),
            kRunError);
}

TEST_F(ExecutorTest, ActionDefinitionErrorAbortsTheRun) {
  Task bad;
  bad.name = "bad";
  bad.actions.push_back(fake("run bad", [](const ActionEnv&) -> ActionOutcome {
    throw ActionDefinitionError("Task 'bad': invalid 'actions' type. got: 3 <class 'int'>");
  }));
  EXPECT_EQ(run({bad, task("later")}, {"bad", "later"}), kRunError);
  EXPECT_EQ(events("runtime_error "),
            Names{"Task 'bad': invalid 'actions' type. got: 3 <class 'int'>"});
  EXPECT_EQ(executed(), Names{"bad"});
  EXPECT_TRUE(events("failure ").empty());
  EXPECT_EQ(log_.back(), "complete");
}

// --- missing file_dep (SPEC §8.2, quirk 11)
// -------------------------------------------------------

TEST_F(ExecutorTest, MissingFileDepIsADependencyErrorBeforeRunning) {
  Task t = task("a");
  t.file_dep = {"nofile"};
  EXPECT_EQ(run({t}, {"a"}), kRunError);
  EXPECT_TRUE(executed().empty());
  EXPECT_EQ(only_failure().kind, FailureKind::kDependencyError);
  EXPECT_EQ(only_failure().message,
            "ERROR: Task 'a' checking dependencies: Dependent file 'nofile' does not exist.\n");
  EXPECT_FALSE(only_failure().started);
}

TEST_F(ExecutorTest, MissingFileDepAfterTheActionsFailsWhenSavingSuccess) {
  Task t = task("a");
  t.file_dep = {"nofile"};
  t.uptodate = {UptodateItem{UptodateItem::Kind::kFalse, "", nullptr}};
  EXPECT_EQ(run({t}, {"a"}), kRunError);
  EXPECT_EQ(executed(), Names{"a"});
  EXPECT_EQ(only_failure().kind, FailureKind::kDependencyError);
  EXPECT_EQ(only_failure().message,
            "ERROR: Task 'a' saving success: Dependent file 'nofile' does not exist.\n");
  EXPECT_TRUE(only_failure().started);
  EXPECT_EQ(db_->find("a"), nullptr);
}

// --- up to date, always, ignore ---------------------------------------------------------------

TEST_F(ExecutorTest, UnchangedTaskIsUpToDateOnTheSecondRun) {
  write_file("in.txt", "data");
  Task t = shell_task("copy", "cp in.txt out.txt");
  t.file_dep = {"in.txt"};
  t.targets = {"out.txt"};
  EXPECT_EQ(run({t}, {"copy"}), kRunSuccess);
  EXPECT_EQ(read_file("out.txt"), "data");
  const TaskRecord* record = db_->find("copy");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->checker, "MD5Checker");
  ASSERT_EQ(record->deps.size(), 1u);
  EXPECT_EQ(record->deps.at(0).path, "in.txt");

  log_.clear();
  EXPECT_EQ(run({t}, {"copy"}), kRunSuccess);
  EXPECT_EQ(log_, (Names{"uptodate copy", "complete"}));
}

TEST_F(ExecutorTest, ChangedFileDepRerunsTheTask) {
  const Task t = task_run_once_on("in.txt");
  write_file("in.txt", "other data");
  EXPECT_EQ(run({t}, {"t"}), kRunSuccess);
  EXPECT_EQ(executed(), (Names{"t", "t"}));
}

TEST_F(ExecutorTest, SwitchingTheCheckerRerunsOnceAndStoresTheNewChecker) {
  const Task t = task_run_once_on("in.txt");
  RunOptions timestamp;
  timestamp.checker = Checker::kTimestamp;
  EXPECT_EQ(run({t}, {"t"}, timestamp), kRunSuccess);
  ASSERT_NE(db_->find("t"), nullptr);
  EXPECT_EQ(db_->find("t")->checker, "TimestampChecker");
  EXPECT_EQ(run({t}, {"t"}, timestamp), kRunSuccess);
  EXPECT_EQ(executed(), (Names{"t", "t"}));
  EXPECT_EQ(events("uptodate "), Names{"t"});
}

TEST_F(ExecutorTest, AlwaysRunsUpToDateTasks) {
  const Task t = task_run_once_on("in.txt");
  RunOptions always;
  always.always = true;
  EXPECT_EQ(run({t}, {"t"}, always), kRunSuccess);
  EXPECT_EQ(executed(), (Names{"t", "t"}));
  EXPECT_TRUE(events("uptodate ").empty());
}

TEST_F(ExecutorTest, IgnoredTaskAndItsDependentsAreSkipped) {
  db_->set_ignored("B", true);
  const std::deque<Task> tasks = {task("A", {"B", "C"}), task("B", {"D"}), task("C"),
                                  task("D", {"E"}), task("E")};
  EXPECT_EQ(run(tasks, {"A"}), kRunSuccess);
  EXPECT_EQ(executed(), (Names{"C", "E", "D"}));
  EXPECT_EQ(events("ignore "), (Names{"B", "A"}));
}

TEST_F(ExecutorTest, AlwaysDoesNotRunIgnoredTasks) {
  db_->set_ignored("t", true);
  RunOptions always;
  always.always = true;
  EXPECT_EQ(run({task("t")}, {"t"}, always), kRunSuccess);
  EXPECT_TRUE(executed().empty());
  EXPECT_EQ(events("ignore "), Names{"t"});
}

// --- values
// ---------------------------------------------------------------------------------------

TEST_F(ExecutorTest, SaveOutStoresTheCapturedStdoutInValues) {
  Task t;
  t.name = "v";
  CmdAction cmd;
  cmd.command = "echo save-me; echo not-me >&2";
  cmd.set_options().save_out = "out";
  t.actions.push_back(Action{cmd});
  EXPECT_EQ(run({t}, {"v"}), kRunSuccess);
  const TaskRecord* record = db_->find("v");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(Json::parse(record->values_json), Json::parse(R"({"out": "save-me\n"})"));
}

TEST_F(ExecutorTest, ValuesOfEveryActionAreMergedInActionOrder) {
  Task t;
  t.name = "v";
  t.actions.push_back(
      fake("first", [](const ActionEnv&) { return with_values(R"({"a": 1, "b": 1})"); }));
  t.actions.push_back(fake("second", [](const ActionEnv&) { return with_values(R"({"b": 2})"); }));
  EXPECT_EQ(run({t}, {"v"}), kRunSuccess);
  const TaskRecord* record = db_->find("v");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(Json::parse(record->values_json), Json::parse(R"({"a": 1, "b": 2})"));
}

TEST_F(ExecutorTest, TaskWithoutValuesStoresAnEmptyObject) {
  EXPECT_EQ(run({task("t")}, {"t"}), kRunSuccess);
  ASSERT_NE(db_->find("t"), nullptr);
  EXPECT_EQ(Json::parse(db_->find("t")->values_json), Json::object());
}

TEST_F(ExecutorTest, CalcDepAddsFileDepsAndTheirProducers) {
  Task calc;
  calc.name = "calc";
  calc.actions.push_back(fake(
      "run calc", [](const ActionEnv&) { return with_values(R"({"file_dep": ["gen.txt"]})"); }));
  Task gen = shell_task("gen", "echo generated > gen.txt");
  gen.targets = {"gen.txt"};
  Task use = task("use");
  use.set_extras().calc_dep = {"calc"};
  EXPECT_EQ(run({use, gen, calc}, {"use"}), kRunSuccess);
  EXPECT_EQ(executed(), (Names{"calc", "gen", "use"}));
  ASSERT_EQ(calls_of("run use").size(), 1u);
  EXPECT_EQ(calls_of("run use")[0].changed, Names{"gen.txt"});
  const TaskRecord* record = db_->find("use");
  ASSERT_NE(record, nullptr);
  ASSERT_EQ(record->deps.size(), 1u);
  EXPECT_EQ(record->deps.at(0).path, "gen.txt");
}

TEST_F(ExecutorTest, UpToDateCalcDepTaskGivesItsStoredValues) {
  write_file("config", "c");
  Task calc;
  calc.name = "calc";
  calc.file_dep = {"config"};
  calc.actions.push_back(fake(
      "run calc", [](const ActionEnv&) { return with_values(R"({"file_dep": ["in.txt"]})"); }));
  write_file("in.txt", "i");
  Task use = task("use");
  use.set_extras().calc_dep = {"calc"};
  EXPECT_EQ(run({use, calc}, {"use"}), kRunSuccess);
  EXPECT_EQ(executed(), (Names{"calc", "use"}));
  log_.clear();
  // Without the stored values `use` would lose its file_dep and rerun.
  EXPECT_EQ(run({use, calc}, {"use"}), kRunSuccess);
  EXPECT_EQ(log_, (Names{"uptodate calc", "uptodate use", "complete"}));
}

// --- teardown (SPEC §10.4)
// ---------------------------------------------------------------------------

TEST_F(ExecutorTest, TeardownRunsInReverseStartOrderAfterAllTasks) {
  Task t1 = task("t1");
  t1.set_extras().teardown.push_back(fake("teardown t1"));
  Task t2 = task("t2");
  t2.set_extras().teardown.push_back(fake("teardown t2"));
  EXPECT_EQ(run({t1, t2, task("t3")}, {"t1", "t2", "t3"}), kRunSuccess);
  EXPECT_EQ(log_, (Names{"execute t1", "run t1", "success t1", "execute t2", "run t2", "success t2",
                         "execute t3", "run t3", "success t3", "teardown t2", "teardown t1",
                         "complete"}));
}

TEST_F(ExecutorTest, TeardownRunsForAFailedTaskButNotForAnUpToDateOne) {
  Task done = task("done");
  done.uptodate = {UptodateItem{UptodateItem::Kind::kTrue, "", nullptr}};
  done.set_extras().teardown.push_back(fake("teardown done"));
  Task broken = shell_task("broken", "exit 1");
  broken.set_extras().teardown.push_back(fake("teardown broken"));
  EXPECT_EQ(run({done, broken}, {"done", "broken"}), kRunFailure);
  EXPECT_EQ(events("teardown "), Names{"broken"});
}

TEST_F(ExecutorTest, FailingTeardownSkipsTheRestOfThatTasksTeardownOnly) {
  Task a = task("a");
  a.set_extras().teardown.push_back(fake("teardown a"));
  Task b = task("b");
  b.set_extras().teardown.push_back(shell("echo oops; exit 4"));
  b.set_extras().teardown.push_back(fake("teardown b second"));
  EXPECT_EQ(run({a, b}, {"a", "b"}), kRunSuccess);  // the exit code is not affected
  EXPECT_EQ(
      events("cleanup_error "),
      Names{"ERROR: task 'b' teardown action\nCommand failed: 'echo oops; exit 4' returned 4\n"});
  EXPECT_TRUE(events("teardown b").empty());
  EXPECT_EQ(events("teardown "), Names{"a"});
}

// --- verbosity (SPEC §7.5)
// -------------------------------------------------------------------------

TEST_F(ExecutorTest, ForcedVerbosityOverridesTheTasksOwn) {
  Task t = task("t");
  t.verbosity = 2;
  RunOptions options;
  options.forced_verbosity = 0;
  options.default_verbosity = 2;
  EXPECT_EQ(run({t}, {"t"}, options), kRunSuccess);
  ASSERT_EQ(calls_of("run t").size(), 1u);
  const Call& call = calls_of("run t")[0];
  EXPECT_EQ(call.verbosity, 0);
  EXPECT_FALSE(call.live_out);
  EXPECT_FALSE(call.live_err);
}

TEST_F(ExecutorTest, TaskVerbosityOverridesTheConfiguredDefault) {
  Task t = task("t");
  t.verbosity = 2;
  RunOptions options;
  options.default_verbosity = 0;
  EXPECT_EQ(run({t}, {"t"}, options), kRunSuccess);
  const Call& call = calls_of("run t").at(0);
  EXPECT_EQ(call.verbosity, 2);
  EXPECT_TRUE(call.live_out);
  EXPECT_TRUE(call.live_err);
}

TEST_F(ExecutorTest, DefaultVerbosityAppliesToTasksWithoutOne) {
  RunOptions options;
  options.default_verbosity = 0;
  EXPECT_EQ(run({task("quiet")}, {"quiet"}, options), kRunSuccess);
  EXPECT_EQ(calls_of("run quiet").at(0).verbosity, 0);

  EXPECT_EQ(run({task("normal")}, {"normal"}), kRunSuccess);
  const Call& call = calls_of("run normal").at(0);
  EXPECT_EQ(call.verbosity, 1);
  EXPECT_FALSE(call.live_out);  // verbosity 1: stderr only
  EXPECT_TRUE(call.live_err);
}

TEST_F(ExecutorTest, FailureCarriesTheEffectiveVerbosity) {
  RunOptions options;
  options.forced_verbosity = 2;
  EXPECT_EQ(run({shell_task("f", "exit 1")}, {"f"}, options), kRunFailure);
  EXPECT_EQ(only_failure().verbosity, 2);
}

// --- changed and substitution (SPEC §7.3, §8.2)
// ------------------------------------------------------

TEST_F(ExecutorTest, CallableReceivesTheChangedFileDeps) {
  write_file("a", "1");
  write_file("b", "2");
  Task t = task("t");
  t.file_dep = {"a", "b"};
  EXPECT_EQ(run({t}, {"t"}), kRunSuccess);
  write_file("b", "22");
  EXPECT_EQ(run({t}, {"t"}), kRunSuccess);
  t.uptodate = {UptodateItem{UptodateItem::Kind::kFalse, "", nullptr}};
  write_file("a", "11");
  EXPECT_EQ(run({t}, {"t"}), kRunSuccess);
  const std::vector<Call>& calls = calls_of("run t");
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].changed, (Names{"a", "b"}));
  EXPECT_EQ(calls[1].changed, Names{"b"});
  EXPECT_EQ(calls[2].changed, Names{});  // uptodate False: changed is empty
}

TEST_F(ExecutorTest, SubstitutesTargetsDependenciesAndChangedInCommands) {
  write_file("d1", "1");
  write_file("d2", "2");
  Task t = shell_task("t", "echo '%(targets)s|%(dependencies)s|%(changed)s' > t1 && touch t2");
  t.file_dep = {"d1", "d2"};
  t.targets = {"t1", "t2"};
  EXPECT_EQ(run({t}, {"t"}), kRunSuccess);
  EXPECT_EQ(read_file("t1"), "t1 t2|d1 d2|d1 d2\n");
  write_file("d2", "changed");
  EXPECT_EQ(run({t}, {"t"}), kRunSuccess);
  EXPECT_EQ(read_file("t1"), "t1 t2|d1 d2|d2\n");
}

TEST_F(ExecutorTest, SubstitutesNewStyleWhenConfigured) {
  RunOptions options;
  options.format_style = FormatStyle::kNew;
  Task t = shell_task("t", "echo '{targets} %(targets)s' > out.txt");
  t.targets = {"out.txt"};
  EXPECT_EQ(run({t}, {"t"}, options), kRunSuccess);
  EXPECT_EQ(read_file("out.txt"), "out.txt %(targets)s\n");
}

TEST_F(ExecutorTest, AsksTheFormatterForAnythingNotSimple) {
  FakeFormatter formatter;
  EXPECT_EQ(run({shell_task("t", "echo %(targets)r")}, {"t"}, {}, &formatter), kRunSuccess);
  EXPECT_EQ(formatter.texts, Names{"echo %(targets)r"});
  EXPECT_EQ(formatter.styles, Names{"old"});
  EXPECT_EQ(formatter.keys, (Names{"targets", "dependencies", "changed"}));
  EXPECT_EQ(read_file("formatted.txt"), "from-formatter\n");
}

TEST_F(ExecutorTest, CommandThatCannotBeFormattedIsATaskError) {
  EXPECT_EQ(run({shell_task("t", "echo %(nokey)s")}, {"t"}), kRunError);
  EXPECT_EQ(only_failure().kind, FailureKind::kTaskError);
  EXPECT_EQ(only_failure().message.rfind("CmdAction Error creating command string", 0), 0u);
}

TEST_F(ExecutorTest, ListCommandsAreNotSubstituted) {
  Task t;
  t.name = "l";
  CmdAction cmd;
  cmd.shell = false;
  cmd.argv = {"sh", "-c", "printf '%s' \"$0\" > out.txt", "%(targets)s"};
  t.actions.push_back(Action{cmd});
  t.targets = {"out.txt"};
  EXPECT_EQ(run({t}, {"l"}), kRunSuccess);
  EXPECT_EQ(read_file("out.txt"), "%(targets)s");
}

/// The disk, counting the times the executor asks for what changed.
class RefreshCountingFileSystem : public RealFileSystem {
 public:
  void refresh() const override { ++refreshes; }
  mutable int refreshes = 0;
};

TEST_F(ExecutorTest, LooksForChangesOnlyAfterUserCodeRan) {
  write_file("in", "data");
  std::deque<Task> tasks;
  Names order;
  for (const std::string name : {"a1", "a2", "run", "b1", "b2", "b3", "check", "c1"}) {
    Task t;
    t.name = name;
    t.file_dep = {"in"};
    if (name == "run") t.actions.push_back(fake("run"));
    if (name == "check") t.uptodate.push_back(UptodateItem{UptodateItem::Kind::kShell, "true", {}});
    tasks.push_back(std::move(t));
    order.push_back(name);
  }
  TaskGraph graph(std::move(tasks));
  RefreshCountingFileSystem fs;
  Executor executor(graph, *db_, fs, reporter_, RunOptions{}, nullptr);
  ASSERT_EQ(executor.run(order), kRunSuccess);
  // The first check; saving "run" after its action; the check after the
  // uptodate command. Nothing ran before the other checks and saves.
  EXPECT_EQ(fs.refreshes, 3);
}

// --- parallel runs (SPEC §10.8) ---------------------------------------------------------

class ExecutorParallelTest : public ExecutorTest {
 protected:
  static RunOptions jobs(int n) {
    RunOptions options;
    options.jobs = n;
    return options;
  }
  /// A command that marks `self` started, then waits (at most ~5 s) for
  /// `other` to start: both finish only if they run at the same time.
  static Task rendezvous(const std::string& self, const std::string& other) {
    return shell_task(self, "touch " + self + ".started; for i in $(seq 500); do test -e " + other +
                                ".started && exit 0; sleep 0.01; done; exit 1");
  }
};

TEST_F(ExecutorParallelTest, RunsIndependentTasksAtTheSameTime) {
  EXPECT_EQ(run({rendezvous("a", "b"), rendezvous("b", "a")}, {"a", "b"}, jobs(2)), kRunSuccess);
  EXPECT_EQ(executed(), (Names{"a", "b"}));
  EXPECT_EQ(events("success ").size(), 2u);
}

TEST_F(ExecutorParallelTest, StartsADependentOnlyAfterItsDependenciesFinished) {
  Task a = shell_task("a", "sleep 0.2; touch a.done");
  Task b = shell_task("b", "touch b.done");
  Task c = shell_task("c", "test -e a.done && test -e b.done");
  c.task_dep = {"a", "b"};
  EXPECT_EQ(run({a, b, c}, {"c"}, jobs(3)), kRunSuccess);
  EXPECT_EQ(events("success ").back(), "c");
}

TEST_F(ExecutorParallelTest, ValuesOfAPythonActionInAWorkerAreSaved) {
  Task t = task("t");
  t.actions = {fake("values", [](const ActionEnv&) { return with_values(R"({"v": 42})"); })};
  Task other = shell_task("other", "true");
  EXPECT_EQ(run({t, other}, {"t", "other"}, jobs(2)), kRunSuccess);
  ASSERT_NE(db_->find("t"), nullptr);
  EXPECT_EQ(db_->find("t")->values_json, R"({"v": 42})");
  EXPECT_TRUE(log_.end() == std::find(log_.begin(), log_.end(), "values"));  // ran elsewhere
}

TEST_F(ExecutorParallelTest, ThreadTypeRunsPythonActionsHere) {
  RunOptions options = jobs(2);
  options.python_in_workers = false;
  EXPECT_EQ(run({task("t"), shell_task("other", "true")}, {"t", "other"}, options), kRunSuccess);
  EXPECT_EQ(events("run "), (Names{"t"}));
}

TEST_F(ExecutorParallelTest, AFailureStartsNothingNewAndLetsTheRunningTaskFinish) {
  Task slow = shell_task("slow", "sleep 0.3; touch slow.done");
  Task bad = shell_task("bad", "exit 1");
  Task later = shell_task("later", "touch later.done");
  EXPECT_EQ(run({slow, bad, later}, {"slow", "bad", "later"}, jobs(2)), kRunFailure);
  EXPECT_TRUE(std::filesystem::exists("slow.done"));
  EXPECT_FALSE(std::filesystem::exists("later.done"));
  EXPECT_NE(db_->find("slow"), nullptr);
  EXPECT_EQ(db_->find("bad"), nullptr);
}

TEST_F(ExecutorParallelTest, ContinueRunsTheOthersAfterAFailure) {
  RunOptions options = jobs(2);
  options.keep_going = true;
  Task bad = shell_task("bad", "exit 1");
  Task later = shell_task("later", "touch later.done");
  EXPECT_EQ(run({bad, later}, {"bad", "later"}, options), kRunFailure);
  EXPECT_TRUE(std::filesystem::exists("later.done"));
}

// --- `auto` cycles: servers ------------------------------------------------------------

class ExecutorAutoTest : public ExecutorTest {
 protected:
  /// `auto`'s options with a short grace; `serving` answers whether a group
  /// listens. The hooks log "server <task> up|started", "idle <result>",
  /// "exited <task> <result>".
  RunOptions auto_options(bool serving) {
    RunOptions options;
    options.long_running_grace = std::chrono::milliseconds(50);
    options.serving = [serving](pid_t) { return serving; };
    options.on_long_running = [this](const Task& task, pid_t group, bool up) {
      groups_.push_back(group);
      log_.push_back("server " + task.name + (up ? " up" : " started"));
    };
    options.on_idle = [this](int result) { log_.push_back("idle " + std::to_string(result)); };
    options.on_server_exit = [this](const Task& task, int result) {
      log_.push_back("exited " + task.name + " " + std::to_string(result));
    };
    return options;
  }
  /// A command that runs until `stop` exists.
  static Task runs_until(const std::string& name, const std::string& stop) {
    return shell_task(
        name, "touch " + name + ".started; while [ ! -e " + stop + " ]; do sleep 0.01; done");
  }
  std::vector<pid_t> groups_;
};

TEST_F(ExecutorAutoTest, AServerThatIsUpLetsTheRunGoOnAndItsDependentsStart) {
  Task web = shell_task("web", "test -e api.started");
  web.task_dep = {"api"};
  RunOptions options = auto_options(/*serving=*/true);
  const auto idle = options.on_idle;
  options.on_idle = [idle](int result) {
    idle(result);
    std::ofstream("stop");  // the run waits for its server: end it
  };
  EXPECT_EQ(run({runs_until("api", "stop"), web}, {"web"}, options), kRunSuccess);
  EXPECT_EQ(events("server "), (Names{"api up"}));
  EXPECT_EQ(events("idle "), (Names{"0"}));
  EXPECT_EQ(events("exited "), (Names{"api 0"}));
  EXPECT_EQ(events("success "), (Names{"web", "api"}));
  EXPECT_NE(db_->find("api"), nullptr);
}

TEST_F(ExecutorAutoTest, ASlowCommandThatDoesNotServeIsWaitedForByWhatComesAfter) {
  Task after = shell_task("after", "test -e slow.done");
  after.task_dep = {"slow"};
  EXPECT_EQ(run({shell_task("slow", "sleep 0.3; touch slow.done"), after}, {"after"},
                auto_options(/*serving=*/false)),
            kRunSuccess);
  EXPECT_EQ(events("server "), Names{});
  EXPECT_EQ(events("success "), (Names{"slow", "after"}));
}

TEST_F(ExecutorAutoTest, ATaskWithTargetsIsWaitedForEvenWhenItServes) {
  Task build = shell_task("build", "sleep 0.3; touch out.txt");
  build.targets = {"out.txt"};
  Task after = shell_task("after", "test -e out.txt");
  after.task_dep = {"build"};
  EXPECT_EQ(run({build, after}, {"after"}, auto_options(/*serving=*/true)), kRunSuccess);
  EXPECT_EQ(events("server "), Names{});
}

TEST_F(ExecutorAutoTest, TheLastThingToRunIsAServerAfterTheGraceAndItsEndIsItsResult) {
  RunOptions options = auto_options(/*serving=*/false);
  const auto reported = options.on_long_running;
  options.on_long_running = [reported](const Task& task, pid_t group, bool up) {
    reported(task, group, up);
    std::ofstream("go");  // recognised: now it may end
  };
  EXPECT_EQ(run({shell_task("slow", "while [ ! -e go ]; do sleep 0.01; done; exit 3")}, {"slow"},
                options),
            kRunFailure);
  EXPECT_EQ(events("server "), (Names{"slow started"}));
  EXPECT_EQ(events("exited "), (Names{"slow 1"}));
  EXPECT_EQ(events("failure "), (Names{"slow TaskFailed"}));
  EXPECT_EQ(db_->find("slow"), nullptr);
}

TEST_F(ExecutorAutoTest, AReleasedServerEndsQuietlyAndIsNotRecordedAsDone) {
  int control[2];
  ASSERT_EQ(::pipe(control), 0);
  RunOptions options = auto_options(/*serving=*/true);
  options.control_fd = control[0];
  options.read_released = [&control]() -> std::optional<Names> {
    char byte = 0;
    if (::read(control[0], &byte, 1) != 1) return std::nullopt;
    return Names{"srv"};
  };
  // Whoever stops it says so first, then signals its process group.
  const auto reported = options.on_long_running;
  options.on_long_running = [&](const Task& task, pid_t group, bool up) {
    reported(task, group, up);
    EXPECT_EQ(::write(control[1], "r", 1), 1);
    ::kill(-group, SIGTERM);
  };
  EXPECT_EQ(run({runs_until("srv", "never")}, {"srv"}, options), kRunSuccess);
  EXPECT_EQ(events("server "), (Names{"srv up"}));
  EXPECT_EQ(events("exited "), Names{});
  EXPECT_EQ(events("failure "), Names{});
  EXPECT_EQ(db_->find("srv"), nullptr);
  ::close(control[0]);
  ::close(control[1]);
}

}  // namespace
}  // namespace doit

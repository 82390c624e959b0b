#include "doit/uptodate.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace doit {
namespace {

using Names = std::vector<std::string>;

const std::string kTaskName = "t";
constexpr std::int64_t kFirstMtime = 1'000'000'000;
constexpr std::int64_t kLaterMtime = 2'000'000'000;

/// The commands the recording shell probe was asked to run.
std::vector<std::string> g_probed_commands;

/// A shell probe that runs nothing: "ok" succeeds, anything else fails.
bool recording_probe(const std::string& command) {
  g_probed_commands.push_back(command);
  return command == "ok";
}

/// An uptodate callable with a fixed vote that records what it was given.
class FakeUptodate : public UptodateCallable {
 public:
  explicit FakeUptodate(std::optional<bool> vote, std::string repr = "fake_check")
      : vote_(vote), repr_(std::move(repr)) {}

  std::optional<bool> evaluate(const Task& task, const Json& values) override {
    task_names.push_back(task.name);
    values_seen.push_back(values);
    return vote_;
  }
  std::string repr() const override { return repr_; }

  std::vector<std::string> task_names;
  std::vector<Json> values_seen;

 private:
  std::optional<bool> vote_;
  std::string repr_;
};

/// An uptodate callable that raises.
class ThrowingUptodate : public UptodateCallable {
 public:
  std::optional<bool> evaluate(const Task&, const Json&) override {
    throw UptodateError("Traceback...\nValueError: boom");
  }
  std::string repr() const override { return "boom"; }
};

UptodateItem literal(UptodateItem::Kind kind) {
  UptodateItem item;
  item.kind = kind;
  return item;
}

UptodateItem shell_item(std::string command) {
  UptodateItem item;
  item.kind = UptodateItem::Kind::kShell;
  item.shell = std::move(command);
  return item;
}

UptodateItem callable_item(std::shared_ptr<UptodateCallable> callable) {
  UptodateItem item;
  item.kind = UptodateItem::Kind::kCallable;
  item.callable = std::move(callable);
  return item;
}

class UptodateTest : public ::testing::Test {
 protected:
  void SetUp() override { g_probed_commands.clear(); }

  Task make_task(Names file_dep = {}, Names targets = {}, std::vector<UptodateItem> uptodate = {}) {
    Task task;
    task.name = kTaskName;
    task.file_dep = std::move(file_dep);
    task.targets = std::move(targets);
    task.uptodate = std::move(uptodate);
    return task;
  }

  /// What a successful run would have stored for `files` as they are now.
  TaskRecord record_of(const Names& files, std::string_view checker = "MD5Checker") {
    std::vector<std::pair<std::string, FileSignature>> deps;
    for (const std::string& path : files) {
      deps.emplace_back(path,
                        take_signature(Checker::kContent, fs_, path, fs_.stat(path), nullptr));
    }
    TaskRecord record(checker, deps);
    record.has_success = true;
    return record;
  }

  Status check(const Task& task, const TaskRecord* record, bool explain = false,
               Checker checker = Checker::kContent) {
    return check_status({task, record, checker, fs_, recording_probe, explain});
  }

  FakeFileSystem fs_;
};

// --- uptodate items and "no dependencies" ------------------------------------

TEST_F(UptodateTest, RunsATaskWithoutDependenciesAndSaysSo) {
  const Status st = check(make_task(), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_TRUE(st.no_dependencies);
}

TEST_F(UptodateTest, ExistingTargetsAloneNeverMakeATaskUpToDate) {
  fs_.write("out", "x", kFirstMtime);
  const Status st = check(make_task({}, {"out"}), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_TRUE(st.no_dependencies);
}

TEST_F(UptodateTest, UptodateTrueWithoutDepsIsUpToDateEvenOnTheFirstRun) {
  const Status st = check(make_task({}, {}, {literal(UptodateItem::Kind::kTrue)}), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kUpToDate);
  EXPECT_FALSE(st.no_dependencies);
}

TEST_F(UptodateTest, UptodateTrueStillRunsWhenATargetIsMissing) {
  const Status st = check(make_task({}, {"out"}, {literal(UptodateItem::Kind::kTrue)}), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.missing_targets, Names{"out"});
}

TEST_F(UptodateTest, UptodateFalseRunsWithEmptyChangedEvenIfFilesChanged) {
  fs_.write("in", "new", kFirstMtime);  // never stored: would count as changed
  const Status st = check(make_task({"in"}, {}, {literal(UptodateItem::Kind::kFalse)}), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_TRUE(st.changed.empty());
  EXPECT_EQ(st.uptodate_false, Names{"False (args=None, kwargs=None)"});
  EXPECT_TRUE(st.changed_files.empty());
}

TEST_F(UptodateTest, UptodateNoneIsIgnored) {
  const Status only_none = check(make_task({}, {}, {literal(UptodateItem::Kind::kNone)}), nullptr);
  EXPECT_EQ(only_none.kind, Status::Kind::kRun);
  EXPECT_TRUE(only_none.no_dependencies);

  const Status none_and_true = check(
      make_task({}, {}, {literal(UptodateItem::Kind::kNone), literal(UptodateItem::Kind::kTrue)}),
      nullptr);
  EXPECT_EQ(none_and_true.kind, Status::Kind::kUpToDate);
}

TEST_F(UptodateTest, EvaluatesEveryUptodateItemEvenAfterAFalseOne) {
  auto later = std::make_shared<FakeUptodate>(true);
  const Status st = check(
      make_task({}, {}, {literal(UptodateItem::Kind::kFalse), callable_item(later)}), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(later->task_names, Names{"t"});
}

TEST_F(UptodateTest, ShellItemIsUpToDateWhenTheProbeSucceeds) {
  const Status st = check(make_task({}, {}, {shell_item("ok")}), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kUpToDate);
  EXPECT_EQ(g_probed_commands, Names{"ok"});
}

TEST_F(UptodateTest, ShellItemRunsWhenTheProbeFails) {
  const Status st = check(make_task({}, {}, {shell_item("test -f nothing")}), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.uptodate_false, Names{"test -f nothing (args=[], kwargs={})"});
  EXPECT_EQ(g_probed_commands, Names{"test -f nothing"});
}

TEST_F(UptodateTest, CallableGetsTheTaskAndItsStoredValues) {
  auto check_fn = std::make_shared<FakeUptodate>(true);
  TaskRecord record;
  record.has_success = true;
  record.values_json = R"({"k": 1, "s": "v"})";
  const Status st = check(make_task({}, {}, {callable_item(check_fn)}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kUpToDate);
  ASSERT_EQ(check_fn->values_seen.size(), 1u);
  EXPECT_EQ(check_fn->values_seen[0], Json::parse(R"({"s": "v", "k": 1})"));
  EXPECT_EQ(check_fn->task_names, Names{"t"});
}

TEST_F(UptodateTest, EveryCallableOfATaskGetsTheStoredValues) {
  auto first = std::make_shared<FakeUptodate>(true, "first");
  auto second = std::make_shared<FakeUptodate>(true, "second");
  TaskRecord record;
  record.has_success = true;
  record.values_json = R"({"k": 1})";
  const Status st =
      check(make_task({}, {}, {callable_item(first), callable_item(second)}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kUpToDate);
  ASSERT_EQ(first->values_seen.size(), 1u);
  ASSERT_EQ(second->values_seen.size(), 1u);
  EXPECT_EQ(first->values_seen[0], Json::parse(R"({"k": 1})"));
  EXPECT_EQ(second->values_seen[0], Json::parse(R"({"k": 1})"));
}

TEST_F(UptodateTest, CallableGetsAnEmptyObjectWhenNothingIsStored) {
  auto check_fn = std::make_shared<FakeUptodate>(false, "config_changed(x)");
  const Status st = check(make_task({}, {}, {callable_item(check_fn)}), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.uptodate_false, Names{"config_changed(x)"});
  ASSERT_EQ(check_fn->values_seen.size(), 1u);
  EXPECT_EQ(check_fn->values_seen[0], Json::object());
}

TEST_F(UptodateTest, CallableReturningNoneCountsAsNoDependency) {
  auto check_fn = std::make_shared<FakeUptodate>(std::nullopt);
  const Status st = check(make_task({}, {}, {callable_item(check_fn)}), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_TRUE(st.no_dependencies);
}

TEST_F(UptodateTest, ExceptionInACallablePropagates) {
  const Task task = make_task({}, {}, {callable_item(std::make_shared<ThrowingUptodate>())});
  EXPECT_THROW(check(task, nullptr), UptodateError);
}

// --- targets, checker, dependency set ----------------------------------------

TEST_F(UptodateTest, MissingTargetRunsWithEveryFileDepChanged) {
  fs_.write("a", "1", kFirstMtime);
  fs_.write("b", "2", kFirstMtime);
  const TaskRecord record = record_of({"a", "b"});
  const Status st = check(make_task({"a", "b"}, {"out"}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.changed, (Names{"a", "b"}));
  EXPECT_EQ(st.missing_targets, Names{"out"});
  EXPECT_TRUE(st.changed_files.empty());
}

TEST_F(UptodateTest, ChangedCheckerRunsWithEveryFileDepChanged) {
  fs_.write("a", "1", kFirstMtime);
  const TaskRecord record = record_of({"a"}, "TimestampChecker");
  const Status st = check(make_task({"a"}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.checker_changed_from, "TimestampChecker");
  EXPECT_EQ(st.checker_changed_to, "MD5Checker");
  EXPECT_EQ(st.changed, Names{"a"});
}

TEST_F(UptodateTest, SameCheckerNameIsNotAChange) {
  fs_.write("a", "1", kFirstMtime);
  const TaskRecord record = record_of({"a"}, "TimestampChecker");
  const Status st = check(make_task({"a"}), &record, false, Checker::kTimestamp);
  EXPECT_EQ(st.kind, Status::Kind::kUpToDate);
  EXPECT_EQ(st.checker_changed_from, "");
}

TEST_F(UptodateTest, RecordWithoutCheckerIsNotACheckerChange) {
  fs_.write("a", "1", kFirstMtime);
  TaskRecord record = record_of({"a"});
  record.checker = {};
  const Status st = check(make_task({"a"}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kUpToDate);
  EXPECT_EQ(st.checker_changed_from, "");
}

TEST_F(UptodateTest, ChangedDependencySetRunsAndListsAddedAndRemovedSorted) {
  for (const char* path : {"a", "b", "c", "d", "z"}) fs_.write(path, path, kFirstMtime);
  const TaskRecord record = record_of({"z", "a", "b"});
  const Status st = check(make_task({"d", "a", "c"}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.added_files, (Names{"c", "d"}));
  EXPECT_EQ(st.removed_files, (Names{"b", "z"}));
  EXPECT_EQ(st.changed, (Names{"d", "c"}));  // added files have no stored signature
}

TEST_F(UptodateTest, OnlyRemovingAFileDepStillRuns) {
  fs_.write("a", "1", kFirstMtime);
  fs_.write("b", "2", kFirstMtime);
  const TaskRecord record = record_of({"a", "b"});
  const Status st = check(make_task({"a"}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_TRUE(st.changed.empty());
  EXPECT_EQ(st.removed_files, Names{"b"});
  EXPECT_TRUE(st.added_files.empty());
}

TEST_F(UptodateTest, SameDependencySetInAnotherOrderWithARepeatIsUpToDate) {
  fs_.write("a", "1", kFirstMtime);
  fs_.write("b", "2", kFirstMtime);
  const TaskRecord record = record_of({"a", "b"});
  const Status st = check(make_task({"b", "a", "b"}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kUpToDate);
  EXPECT_TRUE(st.added_files.empty());
  EXPECT_TRUE(st.removed_files.empty());
}

// --- missing file_dep ---------------------------------------------------------

TEST_F(UptodateTest, MissingFileDepIsAnError) {
  fs_.write("a", "1", kFirstMtime);
  const Status st = check(make_task({"a", "x"}), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kError);
  EXPECT_EQ(st.error, "Dependent file 'x' does not exist.");
  EXPECT_EQ(st.missing_files, Names{"x"});
}

TEST_F(UptodateTest, MissingFileDepIsNoErrorWhenAMissingTargetAlreadyDecidedToRun) {
  const Status st = check(make_task({"x"}, {"out"}), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.error, "");
  EXPECT_EQ(st.changed, Names{"x"});
}

TEST_F(UptodateTest, MissingFileDepIsNoErrorWhenUptodateFalseAlreadyDecidedToRun) {
  const Status st = check(make_task({"x"}, {}, {literal(UptodateItem::Kind::kFalse)}), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.error, "");
}

TEST_F(UptodateTest, MissingFileDepIsStillAnErrorAfterADependencySetChange) {
  // pydoit marks "run" for a changed set but keeps checking the files.
  fs_.write("a", "1", kFirstMtime);
  const TaskRecord record = record_of({"a"});
  const Status st = check(make_task({"a", "x"}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kError);
  EXPECT_EQ(st.error, "Dependent file 'x' does not exist.");
}

// --- file_dep that cannot be read ---------------------------------------------

/// A FakeFileSystem where reading "secret" is denied and "locked/" cannot be
/// searched, as the real disk says for a file or folder of another user.
class DenyingFileSystem : public FakeFileSystem {
 public:
  FileStat stat(const std::string& path) const override {
    if (path.starts_with("locked/")) throw FsError(path + ": Permission denied");
    return FakeFileSystem::stat(path);
  }
  Hash128 hash(const std::string& path) const override {
    if (path == "secret") throw FsError(path + ": Permission denied");
    return FakeFileSystem::hash(path);
  }
};

TEST_F(UptodateTest, FileDepThatCannotBeReadIsAnErrorNamingIt) {
  DenyingFileSystem fs;
  fs.write("secret", "1", kFirstMtime);
  TaskRecord record("MD5Checker", {{"secret", FileSignature{kFirstMtime, 1, Hash128{}}}});
  record.has_success = true;
  fs.touch("secret", kLaterMtime);  // same size, new mtime: the content must be read
  const Task task = make_task({"secret"});
  const Status st = check_status({task, &record, Checker::kContent, fs, recording_probe, false});
  EXPECT_EQ(st.kind, Status::Kind::kError);
  EXPECT_EQ(st.error, "Dependent file 'secret' cannot be read: Permission denied.");
  EXPECT_EQ(st.unreadable_files, Names{"secret"});
}

TEST_F(UptodateTest, FileDepInAFolderThatCannotBeSearchedIsAnError) {
  DenyingFileSystem fs;
  const Task task = make_task({"locked/x"});
  const Status st = check_status({task, nullptr, Checker::kContent, fs, recording_probe, false});
  EXPECT_EQ(st.kind, Status::Kind::kError);
  EXPECT_EQ(st.error, "Dependent file 'locked/x' cannot be read: Permission denied.");
}

TEST_F(UptodateTest, TargetWhoseExistenceCannotBeToldCountsAsMissing) {
  DenyingFileSystem fs;
  fs.write("a", "1", kFirstMtime);
  const Task task = make_task({"a"}, {"locked/out"});
  const Status st = check_status({task, nullptr, Checker::kContent, fs, recording_probe, false});
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.missing_targets, Names{"locked/out"});
}

// --- file signatures ------------------------------------------------------------

TEST_F(UptodateTest, UnchangedFilesAreUpToDate) {
  fs_.write("a", "1", kFirstMtime);
  fs_.write("b", "2", kFirstMtime);
  const TaskRecord record = record_of({"a", "b"});
  const Status st = check(make_task({"a", "b"}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kUpToDate);
  EXPECT_TRUE(st.changed.empty());
}

TEST_F(UptodateTest, FileWithUnchangedMtimeIsNotHashed) {
  fs_.write("a", "1", kFirstMtime);
  const TaskRecord record = record_of({"a"});
  fs_.write("a", "2", kFirstMtime);  // same mtime, same size: trusted as unchanged
  const int before = fs_.hash_calls();
  const Status st = check(make_task({"a"}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kUpToDate);
  EXPECT_EQ(fs_.hash_calls(), before);
}

TEST_F(UptodateTest, TouchedFileWithSameContentIsHashedAndUpToDate) {
  fs_.write("a", "same", kFirstMtime);
  const TaskRecord record = record_of({"a"});
  fs_.touch("a", kLaterMtime);
  const int before = fs_.hash_calls();
  const Status st = check(make_task({"a"}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kUpToDate);
  EXPECT_EQ(fs_.hash_calls(), before + 1);
}

TEST_F(UptodateTest, FileWithNewSizeIsChangedWithoutHashing) {
  fs_.write("a", "short", kFirstMtime);
  const TaskRecord record = record_of({"a"});
  fs_.write("a", "much longer", kLaterMtime);
  const int before = fs_.hash_calls();
  const Status st = check(make_task({"a"}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.changed, Names{"a"});
  EXPECT_EQ(st.changed_files, Names{"a"});
  EXPECT_EQ(fs_.hash_calls(), before);
}

TEST_F(UptodateTest, RerunsWhenFileDepContentChanges) {
  fs_.write("a", "1", kFirstMtime);
  fs_.write("b", "x", kFirstMtime);
  const TaskRecord record = record_of({"a", "b"});
  fs_.write("b", "y", kLaterMtime);
  const Status st = check(make_task({"a", "b"}), &record);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.changed, Names{"b"});
}

TEST_F(UptodateTest, TimestampCheckerRerunsOnAnyMtimeChangeWithoutHashing) {
  fs_.write("a", "same", kFirstMtime);
  const TaskRecord record = record_of({"a"}, "TimestampChecker");
  fs_.touch("a", kFirstMtime - 1);  // older counts too
  const int before = fs_.hash_calls();
  const Status st = check(make_task({"a"}), &record, false, Checker::kTimestamp);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.changed, Names{"a"});
  EXPECT_EQ(fs_.hash_calls(), before);
}

TEST_F(UptodateTest, FileDepWithoutStoredSignatureIsChanged) {
  fs_.write("a", "1", kFirstMtime);
  const Status st = check(make_task({"a"}), nullptr);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.changed, Names{"a"});
}

// --- explain mode -----------------------------------------------------------------

TEST_F(UptodateTest, ExplainModeCollectsEveryReason) {
  for (const char* path : {"kept", "new", "gone"}) fs_.write(path, path, kFirstMtime);
  const TaskRecord record = record_of({"kept", "gone"});
  fs_.write("kept", "edited", kLaterMtime);
  auto check_fn = std::make_shared<FakeUptodate>(false, "check_fn");
  const Task task = make_task({"kept", "new", "missing"}, {"out1", "out2"},
                              {literal(UptodateItem::Kind::kFalse), callable_item(check_fn)});
  const Status st = check(task, &record, /*explain=*/true);
  EXPECT_NE(st.kind, Status::Kind::kUpToDate);
  EXPECT_EQ(st.uptodate_false, (Names{"False (args=None, kwargs=None)", "check_fn"}));
  EXPECT_EQ(st.missing_targets, (Names{"out1", "out2"}));
  EXPECT_EQ(st.added_files, (Names{"missing", "new"}));
  EXPECT_EQ(st.removed_files, Names{"gone"});
  EXPECT_EQ(st.missing_files, Names{"missing"});
  EXPECT_EQ(st.changed_files, (Names{"kept", "new"}));
}

TEST_F(UptodateTest, ExplainModeReportsAMissingFileDepAsAnError) {
  const Status st = check(make_task({"missing"}), nullptr, /*explain=*/true);
  EXPECT_EQ(st.kind, Status::Kind::kError);
  EXPECT_EQ(st.error, "Dependent file 'missing' does not exist.");
}

TEST_F(UptodateTest, ExplainModeAfterACheckerChangeTreatsEveryFileAsChanged) {
  fs_.write("a", "1", kFirstMtime);
  fs_.write("b", "2", kFirstMtime);
  const TaskRecord record = record_of({"a", "b"}, "TimestampChecker");
  const Status st = check(make_task({"a", "b"}), &record, /*explain=*/true);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_EQ(st.checker_changed_from, "TimestampChecker");
  EXPECT_EQ(st.changed_files, (Names{"a", "b"}));
}

TEST_F(UptodateTest, ExplainModeStillSaysNoDependencies) {
  const Status st = check(make_task(), nullptr, /*explain=*/true);
  EXPECT_EQ(st.kind, Status::Kind::kRun);
  EXPECT_TRUE(st.no_dependencies);
}

// --- the default shell probe -----------------------------------------------------

TEST(ShellCommandSucceedsTest, IsTrueOnlyForExitStatusZero) {
  EXPECT_TRUE(shell_command_succeeds("exit 0"));
  EXPECT_TRUE(shell_command_succeeds("echo hidden; echo hidden >&2; true"));
  EXPECT_FALSE(shell_command_succeeds("exit 1"));
  EXPECT_FALSE(shell_command_succeeds("no-such-command-anywhere 2>/dev/null"));
}

}  // namespace
}  // namespace doit

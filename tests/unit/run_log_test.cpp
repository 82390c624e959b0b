#include "doit/run_log.h"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "doit/json.h"
#include "doit/state_db.h"

namespace doit {
namespace {

class RunLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "doit-runlog-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/.doit.db";
    StateDb::open(path_);  // our schema, as a run leaves it
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
};

TEST_F(RunLogTest, AStateWithoutTimesHasNoRuns) { EXPECT_TRUE(read_runs(path_).empty()); }

TEST_F(RunLogTest, KeepsEachRunsTasksInStartOrder) {
  {
    const std::unique_ptr<StateDb> state = StateDb::open(path_);
    append_run(*state, 100, {{"b", 120, 5, "success"}, {"a", 110, 30, "failure"}});
    append_run(*state, 200, {{"a", 210, 20, "success"}});
  }
  const std::vector<RunTimes> runs = read_runs(path_);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].start_ns, 100);
  ASSERT_EQ(runs[0].tasks.size(), 2u);
  EXPECT_EQ(runs[0].tasks[0].task, "a");
  EXPECT_EQ(runs[0].tasks[0].duration_ns, 30);
  EXPECT_EQ(runs[0].tasks[0].result, "failure");
  EXPECT_EQ(runs[1].tasks.at(0).start_ns, 210);
  // the state itself is untouched and still opens
  EXPECT_TRUE(StateDb::open(path_)->task_names().empty());
}

TEST_F(RunLogTest, KeepsOnlyTheLastRuns) {
  {
    const std::unique_ptr<StateDb> state = StateDb::open(path_);
    for (int i = 0; i < kKeptRuns + 5; ++i) append_run(*state, i, {{"t", i, 1, "success"}});
  }
  const std::vector<RunTimes> runs = read_runs(path_);
  ASSERT_EQ(runs.size(), static_cast<size_t>(kKeptRuns));
  EXPECT_EQ(runs.front().start_ns, 5);
  EXPECT_EQ(runs.back().start_ns, kKeptRuns + 4);
}

TEST_F(RunLogTest, AppendsThroughTheStatesConnectionAlongsideItsRecords) {
  const std::unique_ptr<StateDb> state = StateDb::open(path_);
  state->save_success("a", "md5", {}, "{}", std::nullopt);
  append_run(*state, 100, {{"a", 110, 30, "success"}});
  EXPECT_EQ(read_runs(path_).size(), 1u);                   // committed: another connection sees it
  state->save_success("b", "md5", {}, "{}", std::nullopt);  // no transaction left open
  state->close();
  EXPECT_THROW(append_run(*state, 200, {{"a", 210, 20, "success"}}), StateDbError);
  EXPECT_EQ(StateDb::open(path_)->task_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(read_runs(path_).size(), 1u);
}

TEST_F(RunLogTest, AnAppendThatFailsHalfwayLeavesNeitherItsRunNorATransaction) {
  {
    // a task_times table of another shape: the run's row goes in, its tasks cannot
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE task_times(x)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  const std::unique_ptr<StateDb> state = StateDb::open(path_);
  EXPECT_THROW(append_run(*state, 100, {{"a", 110, 30, "success"}}), StateDbError);
  state->save_success("a", "md5", {}, "{}", std::nullopt);  // committed on its own
  state->close();
  EXPECT_EQ(StateDb::open(path_)->task_names(), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(read_runs(path_).empty());  // the runs row was rolled back
}

TEST_F(RunLogTest, AStateOpenedForReadingCannotTakeTimes) {
  const std::unique_ptr<StateDb> state = StateDb::open_for_reading(path_);
  EXPECT_THROW(append_run(*state, 100, {{"a", 110, 30, "success"}}), StateDbError);
  EXPECT_TRUE(read_runs(path_).empty());
}

TEST(ChromeTraceTest, OverlappingTasksGetSeparateRowsAndTimesInMicroseconds) {
  const Json trace = Json::parse(chrome_trace({{"a", 1'000'000, 5'000'000, "success"},
                                               {"b", 2'000'000, 1'000'000, "error"},
                                               {"c", 7'000'000, 1'000, "success"}}));
  const Json::Array& events = trace.find("traceEvents")->items();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].find("ts")->text(), "0");
  EXPECT_EQ(events[0].find("dur")->text(), "5000");
  EXPECT_EQ(events[0].find("tid")->text(), "1");
  EXPECT_EQ(events[1].find("tid")->text(), "2");  // while a runs
  EXPECT_EQ(events[2].find("tid")->text(), "1");  // a is over
  EXPECT_EQ(events[1].find("args")->find("result")->text(), "error");
}

}  // namespace
}  // namespace doit

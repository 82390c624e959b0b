#include "doit/task_run.h"

#include <string>

#include <gtest/gtest.h>

namespace doit {
namespace {

ActionOutcome success(std::string out, std::string values_json, std::string result) {
  ActionOutcome outcome;
  outcome.out = std::move(out);
  outcome.values = Json::parse(values_json);
  outcome.result = Json::string(std::move(result));
  return outcome;
}

TEST(TaskRunTest, MergesValuesInActionOrderAndKeepsTheLastResult) {
  TaskRun run;
  EXPECT_TRUE(run.add(success("a\n", R"({"x": 1, "y": 2})", "first")));
  EXPECT_TRUE(run.add(success("b\n", R"({"y": 3})", "second")));
  EXPECT_EQ(run.out, "a\nb\n");
  EXPECT_EQ(run.values.dump(), R"({"x": 1, "y": 3})");
  EXPECT_EQ(run.result->text(), "second");
  EXPECT_TRUE(run.ok());
}

TEST(TaskRunTest, StopsAtAFailureAndKeepsItsOutputInTheRun) {
  TaskRun run;
  ActionOutcome failed;
  failed.status = ActionOutcome::Status::kFailed;
  failed.message = "Command failed";
  failed.err = "oops\n";
  failed.report = false;
  EXPECT_FALSE(run.add(std::move(failed)));
  EXPECT_FALSE(run.ok());
  EXPECT_EQ(run.err, "oops\n");
  EXPECT_EQ(run.failure->message, "Command failed");
  EXPECT_TRUE(run.failure->err.empty());
  EXPECT_FALSE(run.failure->report);
}

TEST(TaskRunTest, RoundTripsThroughJson) {
  TaskRun run;
  run.add(success("out é\n", R"({"k": [1, "two"]})", "res"));
  ActionOutcome error;
  error.status = ActionOutcome::Status::kError;
  error.message = "Traceback\n";
  run.add(std::move(error));
  run.abort_message = "bad action";

  const TaskRun back = TaskRun::from_json(Json::parse(run.to_json().dump()));
  EXPECT_EQ(back.out, run.out);
  EXPECT_EQ(back.values, run.values);
  EXPECT_EQ(*back.result, *run.result);
  ASSERT_TRUE(back.failure);
  EXPECT_EQ(back.failure->status, ActionOutcome::Status::kError);
  EXPECT_EQ(back.failure->message, "Traceback\n");
  EXPECT_EQ(back.abort_message, "bad action");
}

TEST(TaskRunTest, RejectsAMalformedDocument) {
  EXPECT_THROW(TaskRun::from_json(Json::parse(R"({"out": 1})")), std::invalid_argument);
  EXPECT_THROW(TaskRun::from_json(Json::parse(
                   R"({"out": "", "err": "", "values": {}, "failure": {"status": "odd"}})")),
               std::invalid_argument);
}

TEST(OutputBlockTest, KeepsTheOrderOfStdoutAndStderrJoiningNeighbours) {
  OutputBlock block;
  EXPECT_TRUE(block.empty());
  block.out("a");
  block.out("b\n");
  block.err("c\n");
  block.out("d\n");
  EXPECT_EQ(block.to_json().dump(), R"([[false, "ab\n"], [true, "c\n"], [false, "d\n"]])");
  EXPECT_EQ(OutputBlock::from_json(block.to_json()).to_json(), block.to_json());
  EXPECT_THROW(OutputBlock::from_json(Json::parse(R"([[1, "x"]])")), std::invalid_argument);
}

}  // namespace
}  // namespace doit

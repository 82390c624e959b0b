#include "doit/task.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace doit {
namespace {

using Names = std::vector<std::string>;

TEST(TaskTest, ATaskWithoutRareKeysReadsThemEmpty) {
  const Task task;
  EXPECT_TRUE(task.extras().calc_dep.empty());
  EXPECT_TRUE(task.extras().params.empty());
  EXPECT_EQ(task.extras().delayed, nullptr);
  EXPECT_EQ(task.option("x"), nullptr);
}

TEST(TaskTest, TasksWithoutRareKeysShareOneEmptySet) {
  const Task a;
  Task b;
  EXPECT_EQ(&a.extras(), &b.extras());  // nothing allocated for either
  b.set_extras().pos_arg = "words";
  EXPECT_NE(&a.extras(), &b.extras());
  EXPECT_TRUE(a.extras().pos_arg.empty());
}

TEST(TaskTest, ACopyHasItsOwnRareKeys) {
  Task original;
  original.name = "t";
  original.set_extras().calc_dep = {"calc"};
  original.set_extras().options.emplace_back("x", OptionValue{nullptr, Json(), "1"});

  Task copy = original;
  copy.set_extras().calc_dep.push_back("more");
  copy.set_extras().options.clear();
  EXPECT_EQ(original.extras().calc_dep, Names{"calc"});
  ASSERT_NE(original.option("x"), nullptr);
  EXPECT_EQ(original.option("x")->text(), "1");
  EXPECT_EQ(copy.extras().calc_dep, (Names{"calc", "more"}));

  Task assigned;
  assigned = original;
  original.set_extras().calc_dep.clear();
  EXPECT_EQ(assigned.extras().calc_dep, Names{"calc"});

  // Assigning a task without them leaves none.
  assigned = Task();
  EXPECT_TRUE(assigned.extras().calc_dep.empty());
  const Task& same = assigned;
  assigned = same;
  EXPECT_TRUE(assigned.extras().calc_dep.empty());
}

TEST(TaskTest, AMovedTaskTakesItsRareKeysAlong) {
  Task original;
  original.set_extras().watch = {"a.txt"};
  const Task moved = std::move(original);
  EXPECT_EQ(moved.extras().watch, Names{"a.txt"});
}

}  // namespace
}  // namespace doit

#include "doit/graph.h"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace doit {
namespace {

using Names = std::vector<std::string>;

Task make_task(std::string name, Names task_dep = {}, Names file_dep = {}, Names targets = {}) {
  Task task;
  task.name = std::move(name);
  task.task_dep = std::move(task_dep);
  task.file_dep = std::move(file_dep);
  task.targets = std::move(targets);
  return task;
}

Task with_setup(Task task, Names setup) {
  task.setup = std::move(setup);
  return task;
}

/// The GraphError message building the graph throws, or "" if it builds.
std::string graph_error(std::deque<Task> tasks) {
  try {
    TaskGraph graph(std::move(tasks));
  } catch (const GraphError& e) {
    return e.what();
  }
  return "";
}

const Names& task_dep_of(const TaskGraph& graph, const std::string& name) {
  const int index = graph.find(name);
  EXPECT_NE(index, TaskGraph::kNotFound) << name;
  return graph.task(index).task_dep;
}

// --- construction checks (SPEC §10.2, messages from §6.1 / §5.3) ----------

TEST(TaskGraphTest, RejectsDuplicateTaskNames) {
  EXPECT_EQ(graph_error({make_task("a"), make_task("b"), make_task("b")}),
            "Task names must be unique. b");
}

TEST(TaskGraphTest, RejectsUnknownTaskDep) {
  EXPECT_EQ(graph_error({make_task("x", {"nope"})}), "x. Task dependency 'nope' does not exist.");
}

TEST(TaskGraphTest, RejectsUnknownSetupTask) {
  EXPECT_EQ(graph_error({with_setup(make_task("x"), {"nope"})}),
            "Task 'x': invalid setup task 'nope'.");
}

TEST(TaskGraphTest, RejectsTwoTasksWithTheSameTargetNamingTheSecondFirst) {
  EXPECT_EQ(graph_error({make_task("x", {}, {}, {"t"}), make_task("y", {}, {}, {"t"})}),
            "Two different tasks can't have a common target.'t' is a target for y and x.");
}

TEST(TaskGraphTest, ChecksDependencyNamesBeforeTargets) {
  EXPECT_EQ(graph_error({make_task("x", {}, {}, {"t"}), make_task("y", {"nope"}, {}, {"t"})}),
            "y. Task dependency 'nope' does not exist.");
}

TEST(TaskGraphTest, AcceptsAValidGraph) {
  EXPECT_EQ(graph_error({make_task("a", {"b"}), with_setup(make_task("b"), {"c"}),
                         make_task("c", {}, {}, {"out"})}),
            "");
}

// --- wildcard task_dep ----------------------------------------------------

TEST(TaskGraphTest, ExpandsWildcardTaskDepAfterPlainDepsInDefinitionOrder) {
  TaskGraph graph({make_task("a", {"z", "b*", "c"}), make_task("b2"), make_task("z"),
                   make_task("b1"), make_task("c")});
  EXPECT_EQ(task_dep_of(graph, "a"), (Names{"z", "c", "b2", "b1"}));
}

TEST(TaskGraphTest, WildcardTaskDepMatchingNothingAddsNothingAndIsNoError) {
  TaskGraph graph({make_task("a", {"nothing*", "b"}), make_task("b")});
  EXPECT_EQ(task_dep_of(graph, "a"), (Names{"b"}));
}

TEST(TaskGraphTest, WildcardTaskDepMatchesSubTasksByPrefix) {
  TaskGraph graph({make_task("all", {"sub:*"}), make_task("sub"), make_task("sub:1"),
                   make_task("sub:0"), make_task("subway")});
  EXPECT_EQ(task_dep_of(graph, "all"), (Names{"sub:1", "sub:0"}));
}

TEST(TaskGraphTest, OnlyAStarMakesATaskDepAPattern) {
  EXPECT_EQ(graph_error({make_task("x", {"t?"}), make_task("t1")}),
            "x. Task dependency 't?' does not exist.");
}

// --- implicit file_dep -> target dependencies (SPEC §6.2) ------------------

TEST(TaskGraphTest, AddsImplicitTaskDepInFileDepDeclarationOrder) {
  TaskGraph graph({make_task("link", {}, {"y.o", "main.c", "x.o"}),
                   make_task("cx", {}, {}, {"x.o"}), make_task("cy", {}, {}, {"y.o"})});
  EXPECT_EQ(task_dep_of(graph, "link"), (Names{"cy", "cx"}));
}

TEST(TaskGraphTest, ImplicitTaskDepComesAfterExplicitAndWildcardDeps) {
  TaskGraph graph({make_task("t", {"w*", "e"}, {"gen.h"}), make_task("e"), make_task("w1"),
                   make_task("gen", {}, {}, {"gen.h"})});
  EXPECT_EQ(task_dep_of(graph, "t"), (Names{"e", "w1", "gen"}));
}

TEST(TaskGraphTest, ImplicitTaskDepIsNotDuplicated) {
  TaskGraph graph({make_task("use", {"gen"}, {"a.h", "b.h"}),
                   make_task("gen", {}, {}, {"a.h", "b.h"}),
                   make_task("use2", {}, {"a.h", "b.h"})});
  EXPECT_EQ(task_dep_of(graph, "use"), (Names{"gen"}));
  EXPECT_EQ(task_dep_of(graph, "use2"), (Names{"gen"}));
}

TEST(TaskGraphTest, FileDepOnItsOwnTargetGivesASelfDependency) {
  // Allowed here; the executor reports it as a cycle.
  TaskGraph graph({make_task("s", {}, {"s.out"}, {"s.out"})});
  EXPECT_EQ(task_dep_of(graph, "s"), (Names{"s"}));
}

TEST(TaskGraphTest, ImplicitDependencyComparesPathsLiterally) {
  TaskGraph graph({make_task("use", {}, {"./x.o"}), make_task("cx", {}, {}, {"x.o"})});
  EXPECT_TRUE(task_dep_of(graph, "use").empty());
}

TEST(TaskGraphTest, AddImplicitDepsAddsProducersOfLaterFileDeps) {
  TaskGraph graph(
      {make_task("use", {"first"}), make_task("first"), make_task("gen", {}, {}, {"g.txt"})});
  Task& use = graph.task(graph.find("use"));
  graph.add_implicit_deps(use, {"plain.txt", "g.txt", "g.txt"});
  EXPECT_EQ(use.task_dep, (Names{"first", "gen"}));
}

// --- lookups ----------------------------------------------------------------

TEST(TaskGraphTest, FindsTasksByNameInDefinitionOrder) {
  TaskGraph graph({make_task("a"), make_task("b"), make_task("c")});
  EXPECT_EQ(graph.size(), 3);
  EXPECT_EQ(graph.find("a"), 0);
  EXPECT_EQ(graph.find("c"), 2);
  EXPECT_EQ(graph.find("d"), TaskGraph::kNotFound);
  EXPECT_EQ(graph.find("A"), TaskGraph::kNotFound);
  EXPECT_EQ(graph.task(1).name, "b");
}

TEST(TaskGraphTest, FindsTheTaskProducingATarget) {
  TaskGraph graph({make_task("a", {}, {}, {"a.out", "a.log"}), make_task("b", {}, {}, {"b.out"})});
  EXPECT_EQ(graph.task_for_target("a.log"), 0);
  EXPECT_EQ(graph.task_for_target("b.out"), 1);
  EXPECT_EQ(graph.task_for_target("./b.out"), TaskGraph::kNotFound);
  EXPECT_EQ(graph.task_for_target("a"), TaskGraph::kNotFound);
}

TEST(TaskGraphTest, MatchListsNamesInDefinitionOrder) {
  TaskGraph graph({make_task("sub:1"), make_task("other"), make_task("sub"), make_task("sub:0")});
  EXPECT_EQ(graph.match("su*"), (Names{"sub:1", "sub", "sub:0"}));
  EXPECT_EQ(graph.match("sub:*"), (Names{"sub:1", "sub:0"}));
  EXPECT_EQ(graph.match("x*"), Names{});
}

// --- wildcard_match: fnmatch semantics --------------------------------------

TEST(WildcardMatchTest, StarMatchesAnyRunIncludingEmptyAndSlashes) {
  EXPECT_TRUE(wildcard_match("*", ""));
  EXPECT_TRUE(wildcard_match("a*", "a"));
  EXPECT_TRUE(wildcard_match("a*c", "abbbc"));
  EXPECT_TRUE(wildcard_match("*", "dir/file"));
  EXPECT_TRUE(wildcard_match("*", ".hidden"));
  EXPECT_FALSE(wildcard_match("a*c", "abcd"));
}

TEST(WildcardMatchTest, MatchesTheWholeName) {
  EXPECT_FALSE(wildcard_match("b*", "ab"));
  EXPECT_FALSE(wildcard_match("ab", "abc"));
  EXPECT_TRUE(wildcard_match("ab", "ab"));
}

TEST(WildcardMatchTest, QuestionMarkMatchesExactlyOneCharacter) {
  EXPECT_TRUE(wildcard_match("t?", "t1"));
  EXPECT_FALSE(wildcard_match("t?", "t"));
  EXPECT_FALSE(wildcard_match("t?", "t12"));
}

TEST(WildcardMatchTest, BracketsMatchASetRangeOrNegatedSet) {
  EXPECT_TRUE(wildcard_match("t[12]", "t2"));
  EXPECT_FALSE(wildcard_match("t[12]", "t3"));
  EXPECT_TRUE(wildcard_match("t[a-c]", "tb"));
  EXPECT_FALSE(wildcard_match("t[a-c]", "td"));
  EXPECT_TRUE(wildcard_match("t[!a-c]", "td"));
  EXPECT_FALSE(wildcard_match("t[!a-c]", "ta"));
}

TEST(WildcardMatchTest, IsCaseSensitive) {
  EXPECT_FALSE(wildcard_match("A*", "abc"));
  EXPECT_FALSE(wildcard_match("abc", "ABC"));
}

}  // namespace
}  // namespace doit

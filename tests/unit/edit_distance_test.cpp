#include "doit/edit_distance.h"

#include <gtest/gtest.h>

namespace doit {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsAndReplacements) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("build", "build"), 0u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("buld", "build"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(EditDistance, SwappedNeighboursAreOneEdit) {
  EXPECT_EQ(edit_distance("biuld", "build"), 1u);
  EXPECT_EQ(edit_distance("lsit", "list"), 1u);
  EXPECT_EQ(edit_distance("ab", "ba"), 1u);
  EXPECT_EQ(edit_distance("abc", "ca"), 3u);  // no edit of an already swapped pair
}

TEST(ClosestName, PicksTheNearestCandidate) {
  EXPECT_EQ(closest_name("biuld", {"test", "build", "built-in"}), "build");
  EXPECT_EQ(closest_name("tset", {"test", "list"}), "test");
}

TEST(ClosestName, FirstOfEqualCandidatesWins) {
  EXPECT_EQ(closest_name("bat", {"cat", "hat"}), "cat");
}

TEST(ClosestName, NothingWhenTooFar) {
  EXPECT_EQ(closest_name("deploy", {"build", "test"}), "");
  EXPECT_EQ(closest_name("abcdefghijkl", {"abcdefghxxxx"}), "");  // 4 edits
}

TEST(ClosestName, ShortWordsAllowFewerEdits) {
  EXPECT_EQ(closest_name("cleen", {"gen"}), "");         // 3 edits for 5 characters
  EXPECT_EQ(closest_name("cleen", {"clean"}), "clean");  // 1 edit
  EXPECT_EQ(closest_name("ab", {"cd"}), "");
  EXPECT_EQ(closest_name("a", {"b"}), "b");                          // at least one edit
  EXPECT_EQ(closest_name("report_v1", {"report_x2"}), "report_x2");  // 2 of 3 allowed
  EXPECT_EQ(closest_name("", {"a"}), "");
}

TEST(ClosestName, NeverTheWordItself) { EXPECT_EQ(closest_name("build", {"build"}), ""); }

}  // namespace
}  // namespace doit

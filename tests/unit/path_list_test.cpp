#include "doit/path_list.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace doit {
namespace {

using Names = std::vector<std::string>;

TEST(PathListTest, KeepsPathsInOrderWithTheirSizes) {
  PathList list;
  EXPECT_TRUE(list.empty());
  list.push_back("src/a.c");
  list.push_back("");
  list.push_back("a much longer path than any small-string buffer holds/x.h");
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(list.to_vector(),
            (Names{"src/a.c", "", "a much longer path than any small-string buffer holds/x.h"}));
}

TEST(PathListTest, EachPathIsANulTerminatedString) {
  const PathList list = {"one", "two/three"};
  auto it = list.begin();
  EXPECT_STREQ(it.c_str(), "one");
  ++it;
  EXPECT_STREQ(it.c_str(), "two/three");
  EXPECT_EQ(++it, list.end());
}

TEST(PathListTest, AnEmbeddedNulStaysPartOfItsPath) {
  PathList list;
  list.push_back(std::string_view("a\0b", 3));
  list.push_back("c");
  const Names paths = list.to_vector();
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0], std::string("a\0b", 3));
  EXPECT_EQ(paths[1], "c");
}

TEST(PathListTest, WorksWithStandardAlgorithms) {
  const PathList list = Names{"x", "y", "z"};
  EXPECT_NE(std::find(list.begin(), list.end(), "y"), list.end());
  EXPECT_EQ(std::find(list.begin(), list.end(), "w"), list.end());
  EXPECT_TRUE(list.contains("z"));
  EXPECT_FALSE(list.contains("xy"));
  std::vector<std::string_view> views(list.begin(), list.end());
  EXPECT_EQ(views.size(), 3u);
}

TEST(PathListTest, CopiesCompareAndClear) {
  PathList a = {"p", "q"};
  PathList b = a;
  EXPECT_EQ(a, b);
  b.push_back("r");
  EXPECT_NE(a, b);
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.begin(), b.end());
  b = {"p", "q"};
  EXPECT_EQ(a, b);
}

TEST(PathListTest, ReserveMakesRoomForTheWholeList) {
  PathList list;
  list.reserve(2, 10);
  list.push_back("12345");
  const char* first = list.begin().c_str();
  list.push_back("67890");
  EXPECT_EQ(list.begin().c_str(), first);  // no reallocation
}

}  // namespace
}  // namespace doit

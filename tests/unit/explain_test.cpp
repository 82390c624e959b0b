#include "doit/explain.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace doit {
namespace {

using Lines = std::vector<std::string>;

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kNoon = 1'764'158'400 * kSecond;  // 2025-11-26 12:00:00 UTC

class ExplainTest : public ::testing::Test {
 protected:
  ExplainTest() {
    task_.name.assign(1, 't');  // not = "t": a -Wrestrict false positive of GCC 12
    task_.file_dep.emplace_back("a.c");
    task_.file_dep.emplace_back("b.h");
    fs_.write("a.c", "new content", kNoon + kSecond);
    fs_.write("b.h", "same", kNoon);
    record_ = TaskRecord(
        "MD5Checker", {{"a.c", FileSignature{kNoon, 3, {}}}, {"b.h", FileSignature{kNoon, 4, {}}}});
  }
  Lines explain(const Status& st, const TaskRecord* record, bool forced = false) {
    return explain_reasons({task_, st, record, fs_, forced});
  }
  Task task_;
  FakeFileSystem fs_;
  TaskRecord record_;
};

TEST_F(ExplainTest, AChangedFileDepShowsTheSignatureChange) {
  Status st;
  st.kind = Status::Kind::kRun;
  st.changed_files = {"a.c"};
  EXPECT_EQ(explain(st, &record_),
            (Lines{"file_dep 'a.c' changed (mtime 2025-11-26 12:00:00.000000000 -> "
                   "2025-11-26 12:00:01.000000000, size 3 -> 11)"}));
}

TEST_F(ExplainTest, SameMtimeAndSizeMeansTheContentChanged) {
  fs_.write("a.c", "xyz", kNoon);
  Status st;
  st.changed_files = {"a.c"};
  EXPECT_EQ(explain(st, &record_), (Lines{"file_dep 'a.c' changed (content)"}));
}

TEST_F(ExplainTest, WithoutARecordItSaysSoOnceInsteadOfListingEveryFile) {
  Status st;
  st.changed_files = {"a.c", "b.h"};
  EXPECT_EQ(explain(st, nullptr), (Lines{"no record of an earlier run"}));
}

TEST_F(ExplainTest, EveryOtherReasonInOrder) {
  Status st;
  st.no_dependencies = true;
  st.uptodate_false = {"False (args=None, kwargs=None)", "check_x (args=[1], kwargs=None)"};
  st.missing_targets = {"out.o"};
  st.checker_changed_from = "MD5Checker";
  st.checker_changed_to = "TimestampChecker";
  st.added_files = {"c.h"};
  st.removed_files = {"d.h"};
  EXPECT_EQ(explain(st, &record_, /*forced=*/true),
            (Lines{"forced by --always", "no file_dep and no uptodate: it always runs",
                   "uptodate False is false", "uptodate check_x (args=[1], kwargs=None) is false",
                   "target 'out.o' does not exist",
                   "the file_dep checker changed from MD5Checker to TimestampChecker",
                   "file_dep 'c.h' was added", "file_dep 'd.h' was removed"}));
}

TEST_F(ExplainTest, NothingForAnUpToDateTask) { EXPECT_EQ(explain(Status{}, &record_), Lines{}); }

}  // namespace
}  // namespace doit

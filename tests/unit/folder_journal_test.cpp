#include "doit/folder_journal.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace doit {
namespace {

namespace fs = std::filesystem;

/// A fresh folder made the working directory for the test.
class FolderJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "journal-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = fs::canonical(pattern).string();
    previous_ = fs::current_path();
    fs::current_path(root_);
  }
  void TearDown() override {
    fs::current_path(previous_);
    fs::remove_all(root_);
  }

  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  }
  /// Folders d0 .. d(n-1), each with one file f.txt.
  static std::vector<std::string> make_folders(int n) {
    std::vector<std::string> names;
    for (int d = 0; d < n; ++d) {
      names.push_back(fmt::format("d{}", d));
      fs::create_directory(names.back());
      write(names.back() + "/f.txt", "x");
    }
    return names;
  }
  static std::vector<std::string_view> views(const std::vector<std::string>& folders) {
    return {folders.begin(), folders.end()};
  }

  using Changes = std::set<std::pair<size_t, std::string>>;
  /// What the journal read; nullopt when it reported the changes unknown.
  static std::optional<Changes> read(FolderJournal& journal) {
    Changes changes;
    const bool known = journal.read(
        [&](size_t folder, std::string_view name) { changes.emplace(folder, std::string(name)); });
    if (!known) return std::nullopt;
    return changes;
  }

  std::string root_;
  fs::path previous_;
};

TEST_F(FolderJournalTest, ReportsTheNamesChangedInEachWatchedFolder) {
  const std::vector<std::string> folders = make_folders(3);
  std::vector<bool> watched;
  auto journal = FolderJournal::start(views(folders), &watched);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(watched, std::vector<bool>(3, true));
  write("d0/f.txt", "changed");
  write("d2/new.txt", "created");
  const auto changes = read(*journal);
  ASSERT_TRUE(changes);
  EXPECT_EQ(*changes, (Changes{{0, "f.txt"}, {2, "new.txt"}}));
  EXPECT_EQ(read(*journal), Changes{});  // each change once
}

// Enough folders for their watches to be shared between two threads and
// two inotify instances; which instance gets which folder is up to the
// scheduler, so changes are made all over. (Few more: each folder removed
// costs a millisecond or more on some disks.)
TEST_F(FolderJournalTest, WatchesSharedBetweenInstancesReportChangesAndEndWhenAParentMoves) {
  const int count =
      static_cast<int>(FolderJournal::kInstances * FolderJournal::kMinWatchesPerThread) + 8;
  fs::create_directory("top");
  std::vector<std::string> folders;
  for (int d = 0; d < count; ++d) {
    folders.push_back(fmt::format("top/d{}", d));
    fs::create_directory(folders.back());
  }
  std::vector<bool> watched;
  auto journal = FolderJournal::start(views(folders), &watched);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(watched, std::vector<bool>(folders.size(), true));
  Changes want;
  for (int d = 0; d < count; d += 37) {
    write(folders[d] + "/f.txt", "created");
    want.emplace(d, "f.txt");
  }
  write(folders.back() + "/g.txt", "created");
  want.emplace(count - 1, "g.txt");
  EXPECT_EQ(read(*journal), want);

  for (const int moved : {0, count / 2, count - 1, -1}) {  // -1: the folder above all
    const std::string path = moved < 0 ? "top" : folders[moved];
    journal = FolderJournal::start(views(folders), &watched);
    ASSERT_NE(journal, nullptr);
    fs::rename(path, "moved");
    EXPECT_EQ(read(*journal), std::nullopt) << path;
    fs::rename("moved", path);
  }
}

TEST_F(FolderJournalTest, ManyFoldersBelowAMissingOneAreNotWatched) {
  std::vector<std::string> folders;
  for (size_t d = 0; d < FolderJournal::kInstances * FolderJournal::kMinWatchesPerThread; ++d) {
    folders.push_back(fmt::format("missing/d{}", d));
  }
  std::vector<bool> watched;
  auto journal = FolderJournal::start(views(folders), &watched);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(watched, std::vector<bool>(folders.size(), false));
}

TEST_F(FolderJournalTest, AFolderNamedRelativelyOrAbsolutelyIsTheSameFolder) {
  make_folders(1);
  fs::create_directories("a/b");
  const std::vector<std::string> folders = {"d0", root_ + "/d0", "./d0/", "", root_, "a//b"};
  std::vector<bool> watched;
  auto journal = FolderJournal::start(views(folders), &watched);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(watched, std::vector<bool>(folders.size(), true));
  write("d0/f.txt", "changed");
  write("a/b/g.txt", "created");
  write("top.txt", "created");
  const auto changes = read(*journal);
  ASSERT_TRUE(changes);
  EXPECT_EQ(
      *changes,
      (Changes{
          {0, "f.txt"}, {1, "f.txt"}, {2, "f.txt"}, {3, "top.txt"}, {4, "top.txt"}, {5, "g.txt"}}));
}

TEST_F(FolderJournalTest, FoldersOutsideTheWorkingDirectoryAreWatchedByTheirAbsolutePath) {
  make_folders(1);
  fs::create_directory("inner");
  fs::current_path("inner");
  const std::vector<std::string> folders = {root_ + "/d0"};
  std::vector<bool> watched;
  auto journal = FolderJournal::start(views(folders), &watched);
  ASSERT_NE(journal, nullptr);
  EXPECT_TRUE(watched[0]);
  write(root_ + "/d0/f.txt", "changed");
  EXPECT_EQ(read(*journal), (Changes{{0, "f.txt"}}));
  fs::rename(root_ + "/d0", root_ + "/moved");
  EXPECT_EQ(read(*journal), std::nullopt);
}

TEST_F(FolderJournalTest, MissingFilesSymlinksAndDotDotAreNotWatched) {
  make_folders(2);
  fs::create_directory_symlink("d0", "link");
  write("file", "x");
  const std::vector<std::string> folders = {"missing", "missing/below", "link", "link/d",
                                            "file",    "d0/../d1",      "d1"};
  std::vector<bool> watched;
  auto journal = FolderJournal::start(views(folders), &watched);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(watched, (std::vector<bool>{false, false, false, false, false, false, true}));
}

TEST_F(FolderJournalTest, AWatchedFolderOrOneAboveItMovedEndsTheJournal) {
  fs::create_directories("a/b/c");
  fs::create_directories("x/y");
  for (const char* moved : {"a/b/c", "a/b", "a"}) {
    const std::vector<std::string> folders = {"a/b/c", "x/y"};
    std::vector<bool> watched;
    auto journal = FolderJournal::start(views(folders), &watched);
    ASSERT_NE(journal, nullptr);
    fs::rename(moved, "moved");
    EXPECT_EQ(read(*journal), std::nullopt) << moved;
    fs::rename("moved", moved);
  }
}

TEST_F(FolderJournalTest, AFolderAboveReplacedByASymlinkEndsTheJournal) {
  fs::create_directories("a/b");
  fs::create_directories("other/b");
  const std::vector<std::string> folders = {"a/b"};
  std::vector<bool> watched;
  auto journal = FolderJournal::start(views(folders), &watched);
  ASSERT_NE(journal, nullptr);
  fs::rename("a", "old");
  fs::create_directory_symlink("other", "a");
  EXPECT_EQ(read(*journal), std::nullopt);
}

TEST_F(FolderJournalTest, ANameCreatedWhereAWatchedFolderWasEndsTheJournal) {
  fs::create_directories("a/b");
  const std::vector<std::string> folders = {"a", "a/b"};
  std::vector<bool> watched;
  auto journal = FolderJournal::start(views(folders), &watched);
  ASSERT_NE(journal, nullptr);
  write("a/f.txt", "a plain name in a");
  EXPECT_EQ(read(*journal), (Changes{{0, "f.txt"}}));
  // "b" in "a" is the watched folder's own name: whatever happens to it
  // changes what "a/b" resolves to.
  fs::create_directory("elsewhere");
  fs::rename("elsewhere", "a/b");  // replaces the empty folder
  EXPECT_EQ(read(*journal), std::nullopt);
}

}  // namespace
}  // namespace doit

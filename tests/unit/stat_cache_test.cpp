#include "doit/stat_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace doit {
namespace {

/// A fake disk that counts stat calls per path; "bad/..." paths fail.
class CountingFileSystem : public FileSystem {
 public:
  explicit CountingFileSystem(const FakeFileSystem& files) : files_(files) {}
  FileStat stat(const std::string& path) const override {
    ++calls_;
    if (path.starts_with("bad/")) throw FsError(path + ": Permission denied");
    return files_.stat(path);
  }
  Hash128 hash(const std::string& path) const override { return files_.hash(path); }
  int calls() const { return calls_; }

 private:
  const FakeFileSystem& files_;
  mutable std::atomic<int> calls_ = 0;
};

/// Waits until `disk` was asked `n` stat()s (by the streaming thread).
template <typename Disk>
void wait_for_calls(const Disk& disk, int n) {
  while (disk.calls() < n) std::this_thread::yield();
}

std::vector<std::string> many_paths(int n) {
  std::vector<std::string> paths;
  for (int i = 0; i < n; ++i)
    paths.push_back(fmt::format("src/m{:05d}/f{:02d}.txt", i / 10, i % 10));
  return paths;
}

TEST(StatCacheTest, PrefetchStatsEachDistinctPathOnce) {
  FakeFileSystem files;
  files.write("a", "x", 5);
  CountingFileSystem disk(files);
  StatCache cache(disk);
  cache.prefetch({"a", "b", "a", "b", "a"}, 1);
  EXPECT_EQ(disk.calls(), 2);
}

TEST(StatCacheTest, AnswersFromThePrefetchWithoutTheDisk) {
  FakeFileSystem files;
  files.write("a", "xyz", 5);
  CountingFileSystem disk(files);
  StatCache cache(disk);
  cache.prefetch({"a", "missing"}, 1);
  const int after_prefetch = disk.calls();
  const FileStat a = cache.stat("a");
  EXPECT_TRUE(a.exists);
  EXPECT_EQ(a.size, 3);
  EXPECT_EQ(a.mtime_ns, 5);
  EXPECT_FALSE(cache.stat("missing").exists);
  EXPECT_EQ(disk.calls(), after_prefetch);
}

TEST(StatCacheTest, PathNotPrefetchedGoesToTheDisk) {
  FakeFileSystem files;
  files.write("other", "x", 7);
  CountingFileSystem disk(files);
  StatCache cache(disk);
  cache.prefetch({"a"}, 1);
  EXPECT_EQ(cache.stat("other").mtime_ns, 7);
  EXPECT_EQ(disk.calls(), 2);
}

TEST(StatCacheTest, InvalidateSendsEveryLaterStatToTheDisk) {
  FakeFileSystem files;
  files.write("a", "x", 5);
  CountingFileSystem disk(files);
  StatCache cache(disk);
  cache.prefetch({"a"}, 1);
  cache.invalidate();
  files.write("a", "xy", 9);
  EXPECT_EQ(cache.stat("a").mtime_ns, 9);
  EXPECT_EQ(disk.calls(), 2);
}

TEST(StatCacheTest, FailedStatIsReportedWhenAskedAgain) {
  FakeFileSystem files;
  CountingFileSystem disk(files);
  StatCache cache(disk);
  cache.prefetch({"bad/x"}, 1);
  EXPECT_THROW(cache.stat("bad/x"), FsError);
}

TEST(StatCacheTest, ManyPathsOnSeveralThreadsGiveTheDiskAnswers) {
  FakeFileSystem files;
  const std::vector<std::string> paths = many_paths(20000);
  for (size_t i = 0; i < paths.size(); i += 2) {
    files.write(paths[i], std::string(i % 7, 'x'), static_cast<std::int64_t>(i));
  }
  CountingFileSystem disk(files);
  StatCache cache(disk);
  std::vector<std::string> twice = paths;
  twice.insert(twice.end(), paths.begin(), paths.end());
  cache.prefetch(twice, 4);
  EXPECT_EQ(disk.calls(), static_cast<int>(paths.size()));
  for (const std::string& p : paths) {
    const FileStat want = files.stat(p);
    const FileStat got = cache.stat(p);
    ASSERT_EQ(got.exists, want.exists) << p;
    ASSERT_EQ(got.mtime_ns, want.mtime_ns) << p;
    ASSERT_EQ(got.size, want.size) << p;
  }
  EXPECT_EQ(disk.calls(), static_cast<int>(paths.size()));
}

TEST(StatCacheTest, BackgroundPrefetchIsFinishedByTheFirstStat) {
  FakeFileSystem files;
  const std::vector<std::string> paths = many_paths(5000);
  for (size_t i = 0; i < paths.size(); i += 2) files.write(paths[i], "x", 7);
  CountingFileSystem disk(files);
  StatCache cache(disk);
  cache.prefetch_async(paths, 2);
  EXPECT_TRUE(cache.stat(paths[0]).exists);  // waits for the workers
  const int after_prefetch = disk.calls();
  EXPECT_EQ(after_prefetch, 5000);
  for (size_t i = 0; i < paths.size(); ++i) EXPECT_EQ(cache.stat(paths[i]).exists, i % 2 == 0);
  EXPECT_EQ(disk.calls(), after_prefetch);
}

TEST(StatCacheTest, InvalidateDuringABackgroundPrefetchWaitsForIt) {
  FakeFileSystem files;
  files.write("a", "x", 1);
  CountingFileSystem disk(files);
  StatCache cache(disk);
  cache.prefetch_async(many_paths(2000), 2);
  cache.invalidate();
  EXPECT_EQ(disk.calls(), 2000);
  EXPECT_TRUE(cache.stat("a").exists);
  EXPECT_EQ(disk.calls(), 2001);  // from the disk now
}

TEST(StatCacheTest, SecondPrefetchReplacesTheFirst) {
  FakeFileSystem files;
  files.write("a", "x", 5);
  files.write("b", "x", 6);
  CountingFileSystem disk(files);
  StatCache cache(disk);
  cache.prefetch({"a"}, 1);
  cache.prefetch({"b"}, 1);
  EXPECT_EQ(cache.stat("b").mtime_ns, 6);
  EXPECT_EQ(disk.calls(), 2);
  EXPECT_EQ(cache.stat("a").mtime_ns, 5);
  EXPECT_EQ(disk.calls(), 3);
}

// -- Streamed while the tasks are created -----------------------------------

TEST(StatCacheStreamTest, PathsStreamedFirstAreNotStatedAgainByThePrefetch) {
  FakeFileSystem files;
  const std::vector<std::string> paths = many_paths(6000);
  for (size_t i = 0; i < paths.size(); i += 3) files.write(paths[i], "abc", 11);
  CountingFileSystem disk(files);
  StatCache cache(disk);
  // Three batches, with a path repeated across them.
  cache.stream({paths.begin(), paths.begin() + 2000});
  cache.stream({paths.begin() + 1999, paths.begin() + 4000});
  cache.stream({paths[0], paths[1]});
  cache.prefetch(paths, 2);  // the rest: whatever the stream had not reached
  EXPECT_EQ(disk.calls(), 6000);
  for (size_t i = 0; i < paths.size(); ++i) {
    ASSERT_EQ(cache.stat(paths[i]).exists, i % 3 == 0) << paths[i];
  }
  EXPECT_EQ(disk.calls(), 6000);
}

/// The disk, whose stat() calls wait while its gate is closed.
class GatedDisk : public CountingFileSystem {
 public:
  using CountingFileSystem::CountingFileSystem;
  FileStat stat(const std::string& path) const override {
    const FileStat st = CountingFileSystem::stat(path);
    while (!open_.load()) std::this_thread::yield();
    return st;
  }
  void open() { open_.store(true); }

 private:
  std::atomic<bool> open_{false};
};

TEST(StatCacheStreamTest, AStreamNobodyCollectsStopsWithTheCache) {
  FakeFileSystem files;
  GatedDisk disk(files);
  std::atomic<bool> ending{false};
  std::thread opener([&] {
    while (!ending.load()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    disk.open();  // the waiting stat() returns, into a cache being destroyed
  });
  {
    StatCache cache(disk);
    cache.stream(many_paths(50000));
    wait_for_calls(disk, 1);  // the streaming thread waits in its first stat()
    ending.store(true);
  }  // stops the thread, and joins it once that stat() returns
  opener.join();
  const int calls = disk.calls();
  EXPECT_LT(calls, 50000);  // the rest of the stream was left, not drained
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(disk.calls(), calls);  // and nothing stats any more
}

TEST(StatCacheStreamTest, StreamedResultsAreDroppedWhenTheWorkingFolderChanged) {
  FakeFileSystem files;
  files.write("a", "x", 5);
  CountingFileSystem disk(files);
  const std::filesystem::path before = std::filesystem::current_path();
  std::string other = (std::filesystem::temp_directory_path() / "statcache-cd-XXXXXX").string();
  ASSERT_NE(::mkdtemp(other.data()), nullptr);
  StatCache cache(disk);
  cache.stream({"a"});
  wait_for_calls(disk, 1);
  std::filesystem::current_path(other);
  cache.prefetch({"a"}, 1);
  std::filesystem::current_path(before);
  std::filesystem::remove(other);
  EXPECT_EQ(disk.calls(), 2);  // relative paths mean something else now
  EXPECT_TRUE(cache.stat("a").exists);
}

TEST(StatCacheStreamTest, PathsStreamedButNotPrefetchedAreAskedOfTheDisk) {
  FakeFileSystem files;
  files.write("a", "x", 5);
  files.write("b", "yy", 6);
  CountingFileSystem disk(files);
  StatCache cache(disk);
  cache.stream({"a", "b"});
  wait_for_calls(disk, 2);
  cache.prefetch({"a"}, 1);
  EXPECT_EQ(disk.calls(), 2);
  EXPECT_EQ(cache.stat("a").mtime_ns, 5);
  EXPECT_EQ(disk.calls(), 2);
  EXPECT_EQ(cache.stat("b").size, 2);  // not one of the paths of the run
  EXPECT_EQ(disk.calls(), 3);
}

TEST(StatCacheStreamTest, StreamedPathsMissedByTheStreamAreStatedByThePrefetch) {
  FakeFileSystem files;
  files.write("bad/x", "x", 5);
  files.write("c", "x", 5);
  CountingFileSystem disk(files);
  StatCache cache(disk);
  cache.stream({"bad/x", "c"});
  wait_for_calls(disk, 2);
  cache.prefetch({"c", "bad/x", "new"}, 1);
  EXPECT_EQ(disk.calls(), 4);  // the failed one again, and the new one
  EXPECT_THROW(cache.stat("bad/x"), FsError);
  EXPECT_FALSE(cache.stat("new").exists);
  EXPECT_TRUE(cache.stat("c").exists);
  EXPECT_EQ(disk.calls(), 5);
}

// -- Kept across actions: a FolderJournal on the real disk -----------------

/// The real disk, counting stat() calls per path.
class CountingDisk : public FileSystem {
 public:
  FileStat stat(const std::string& path) const override {
    ++calls_;
    return disk_.stat(path);
  }
  Hash128 hash(const std::string& path) const override { return disk_.hash(path); }
  int calls() const { return calls_; }

 private:
  RealFileSystem disk_;
  mutable std::atomic<int> calls_ = 0;
};

/// A folder of 8 sub-folders of 12 files each (f.txt of "folder/fNN.txt" ...).
class KeptCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "statcache-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    for (int d = 0; d < 8; ++d) {
      std::filesystem::create_directories(fmt::format("{}/d{}", root_, d));
      for (int f = 0; f < 12; ++f) {
        const std::string p = fmt::format("{}/d{}/f{:02d}.txt", root_, d, f);
        write(p, "x");
        paths_.push_back(p);
      }
    }
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  }
  std::string path(int d, int f) const { return fmt::format("{}/d{}/f{:02d}.txt", root_, d, f); }
  /// The cache answers as the disk does, for every path.
  void expect_disk_answers(const StatCache& cache) const {
    RealFileSystem disk;
    for (const std::string& p : paths_) {
      const FileStat want = disk.stat(p);
      const FileStat got = cache.stat(p);
      EXPECT_EQ(got.exists, want.exists) << p;
      EXPECT_EQ(got.size, want.size) << p;
      EXPECT_EQ(got.mtime_ns, want.mtime_ns) << p;
    }
  }

  std::string root_;
  std::vector<std::string> paths_;
};

TEST_F(KeptCacheTest, UnchangedFilesAreNotStatedAgainAfterAnAction) {
  CountingDisk disk;
  StatCache cache(disk, /*keep_across_actions=*/true);
  cache.prefetch(paths_, 1);
  cache.invalidate();  // a task is about to run
  ASSERT_TRUE(cache.journal_active());
  write(path(3, 4), "changed by the action");
  cache.refresh();
  const int before = disk.calls();
  expect_disk_answers(cache);
  EXPECT_EQ(disk.calls(), before + 1);  // only the changed file
  EXPECT_EQ(cache.stat(path(3, 4)).size, 21);
}

TEST_F(KeptCacheTest, EveryKindOfChangeIsSeen) {
  CountingDisk disk;
  StatCache cache(disk, true);
  const std::string created = root_ + "/d7/new.txt";
  paths_.push_back(created);
  cache.prefetch(paths_, 2);
  EXPECT_FALSE(cache.stat(created).exists);
  cache.invalidate();
  ASSERT_TRUE(cache.journal_active());
  write(path(0, 0), "written in place");
  write(root_ + "/d1/tmp", "saved by rename");
  std::filesystem::rename(root_ + "/d1/tmp", path(1, 1));
  const timespec times[2] = {{0, UTIME_OMIT}, {12345, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path(2, 2).c_str(), times, 0), 0);  // touch
  std::filesystem::remove(path(3, 3));
  write(created, "created");
  ::truncate(path(4, 4).c_str(), 0);
  write(path(5, 5), "");  // emptied
  cache.refresh();
  EXPECT_TRUE(cache.journal_active());
  expect_disk_answers(cache);
  EXPECT_EQ(cache.stat(path(2, 2)).mtime_ns, 12345LL * 1000000000LL);
  EXPECT_FALSE(cache.stat(path(3, 3)).exists);
  EXPECT_TRUE(cache.stat(created).exists);
  // A change after a stat taken again is seen at the next refresh.
  write(path(0, 0), "and again, longer");
  cache.refresh();
  EXPECT_EQ(cache.stat(path(0, 0)).size, 17);
}

TEST_F(KeptCacheTest, AFolderRenamedOrReplacedEndsTheJournal) {
  CountingDisk disk;
  StatCache cache(disk, true);
  cache.prefetch(paths_, 1);
  cache.invalidate();
  ASSERT_TRUE(cache.journal_active());
  std::filesystem::rename(root_ + "/d6", root_ + "/old");
  std::filesystem::create_directories(root_ + "/d6");
  write(path(6, 0), "a new folder, a new file");
  cache.refresh();
  EXPECT_FALSE(cache.journal_active());  // from now on, the disk
  expect_disk_answers(cache);
  EXPECT_FALSE(cache.stat(path(6, 1)).exists);
}

TEST_F(KeptCacheTest, SymlinksAreAlwaysAskedOfTheDisk) {
  // d0/f00 a symlink to d1/f00; folder l a symlink to d4.
  std::filesystem::remove(path(0, 0));
  std::filesystem::create_symlink(path(1, 0), path(0, 0));
  std::filesystem::create_directory_symlink(root_ + "/d4", root_ + "/l");
  const std::string through_link = root_ + "/l/f05.txt";
  std::vector<std::string> all = paths_;
  all.push_back(through_link);
  // Only the linked names are asked for before the action: the others are
  // the paths to come.
  CountingDisk disk;
  StatCache cache(disk, true);
  cache.prefetch(all, 1);
  cache.invalidate();
  ASSERT_TRUE(cache.journal_active());
  // Changed through their other names: nothing happens in their folders.
  write(path(1, 0), "through the symlink's target");
  write(root_ + "/d4/f05.txt", "through the folder's real name");
  cache.refresh();
  EXPECT_EQ(cache.stat(path(0, 0)).size, 28);
  EXPECT_EQ(cache.stat(through_link).size, 30);
  const int asked = disk.calls();
  EXPECT_EQ(cache.stat(path(0, 0)).size, 28);  // every time
  EXPECT_EQ(disk.calls(), asked + 1);
}

TEST_F(KeptCacheTest, AHardLinkIsWatchedThroughTheNamesTheRunUses) {
  // d2/f00 and d3/f00 are one file; d5/f00 and outside/f00 too. Only
  // outside/ is not one of the run's folders.
  std::filesystem::remove(path(2, 0));
  std::filesystem::create_hard_link(path(3, 0), path(2, 0));
  std::filesystem::create_directories(root_ + "/outside");
  std::filesystem::create_hard_link(path(5, 0), root_ + "/outside/f00.txt");
  CountingDisk disk;
  StatCache cache(disk, true);
  cache.prefetch(paths_, 1);
  cache.invalidate();
  ASSERT_TRUE(cache.journal_active());
  int before = disk.calls();
  // Through a name outside the run: no folder of the run is told. The next
  // run's stat() sees it.
  write(root_ + "/outside/f00.txt", "through a name outside the run");
  cache.refresh();
  EXPECT_EQ(cache.stat(path(5, 0)).size, 1);
  EXPECT_EQ(cache.stat(path(2, 0)).size, 1);
  EXPECT_EQ(disk.calls(), before);
  EXPECT_EQ(RealFileSystem().stat(path(5, 0)).size, 30);
  // Through a name of the run: its folder tells, and every path with other
  // names is asked of the disk again, once.
  write(path(2, 0), "through this name");
  cache.refresh();
  EXPECT_EQ(cache.stat(path(3, 0)).size, 17);
  EXPECT_EQ(cache.stat(path(2, 0)).size, 17);
  EXPECT_EQ(cache.stat(path(5, 0)).size, 30);
  EXPECT_EQ(disk.calls(), before + 3);
  EXPECT_EQ(cache.stat(path(3, 0)).size, 17);
  EXPECT_EQ(cache.stat(path(4, 0)).size, 1);  // one name: never asked again
  EXPECT_EQ(disk.calls(), before + 3);
}

TEST_F(KeptCacheTest, PathsAskedForBeforeTheActionAreNotWatchedForThemselves) {
  CountingDisk disk;
  StatCache cache(disk, true);
  cache.prefetch(paths_, 1);
  for (int f = 0; f < 12; ++f) cache.stat(path(0, f));  // d0: the task that runs
  cache.invalidate();
  ASSERT_TRUE(cache.journal_active());
  write(path(0, 3), "its own output");
  cache.refresh();
  EXPECT_EQ(cache.stat(path(0, 3)).size, 14);  // from the disk
  expect_disk_answers(cache);
}

TEST_F(KeptCacheTest, PathsOnlyStreamedAreNotWatched) {
  CountingDisk disk;
  StatCache cache(disk, /*keep_across_actions=*/true);
  cache.stream(std::vector<std::string>(paths_));
  wait_for_calls(disk, static_cast<int>(paths_.size()));
  // Only the first folder's paths are the run's: too few to be worth a journal.
  cache.prefetch(std::vector<std::string>(paths_.begin(), paths_.begin() + 12), 1);
  cache.invalidate();
  EXPECT_FALSE(cache.journal_active());
}

TEST_F(KeptCacheTest, ReleasedTheCacheAsksTheDisk) {
  for (const bool in_child : {false, true}) {
    SCOPED_TRACE(in_child ? "closed by a child" : "closed on a thread");
    CountingDisk disk;
    StatCache cache(disk, true);
    cache.prefetch(paths_, 1);
    cache.invalidate();
    ASSERT_TRUE(cache.journal_active());
    cache.release_in_background(in_child);
    EXPECT_FALSE(cache.journal_active());
    if (in_child) {  // a child took the instances over, and ended once they were its own
      int status = -1;
      ASSERT_GT(::waitpid(-1, &status, 0), 0);
      ASSERT_TRUE(WIFEXITED(status));
      EXPECT_EQ(WEXITSTATUS(status), 0);
    }
    write(path(1, 2), in_child ? "after the release 2" : "after the release");
    const int before = disk.calls();
    EXPECT_EQ(cache.stat(path(1, 2)).size, in_child ? 19 : 17);
    EXPECT_EQ(disk.calls(), before + 1);
    cache.release_in_background(in_child);  // twice: nothing more to do
  }
}

// -- Started early: a file newer than the state announces the task to run --

/// Every file at `kOld` seconds, `newer` at `kNew`; changes expected after
/// `kExpected`.
constexpr std::int64_t kOld = 1000, kExpected = 1500, kNew = 2000;
constexpr std::int64_t kNanos = 1000000000;

void set_mtime(const std::string& path, std::int64_t seconds) {
  const timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(seconds), 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

TEST_F(KeptCacheTest, AJournalStartedEarlyWatchesThePathsAfterTheNewerFile) {
  for (const std::string& p : paths_) set_mtime(p, kOld);
  set_mtime(path(2, 0), kNew);  // the edited file: its task runs
  CountingDisk disk;
  StatCache cache(disk, true);
  cache.expect_changes_after(kExpected * kNanos);
  cache.prefetch_async(paths_, 2);
  // The checks before the edited file's task, then its own.
  for (int d = 0; d <= 2; ++d) {
    for (int f = 0; f < 12; ++f) cache.stat(path(d, f));
  }
  cache.invalidate();  // its action is about to run
  ASSERT_TRUE(cache.journal_active());
  // The folders before it were not watched: asked of the disk from now on
  // (a journal started now would have watched d0 and d1 too, had they
  // paths still to come).
  const int before = disk.calls();
  EXPECT_EQ(cache.stat(path(1, 5)).mtime_ns, kOld * kNanos);
  EXPECT_EQ(disk.calls(), before + 1);
  // The action's changes, after the newer file and before it, are seen.
  write(path(5, 7), "written by the action");
  write(path(1, 2), "this one too");
  cache.refresh();
  expect_disk_answers(cache);
  EXPECT_EQ(cache.stat(path(5, 7)).size, 21);
  EXPECT_EQ(cache.stat(path(1, 2)).size, 12);
  // Unchanged paths after it are answered without the disk.
  const int after = disk.calls();
  EXPECT_EQ(cache.stat(path(6, 1)).size, 1);
  EXPECT_EQ(disk.calls(), after);
}

TEST_F(KeptCacheTest, AJournalStartedEarlyIsLeftWhenAnotherTaskRunsFirst) {
  // Eight more folders, checked before the first: e0/f00.txt ...
  std::vector<std::string> all;
  for (int d = 0; d < 8; ++d) {
    std::filesystem::create_directories(fmt::format("{}/e{}", root_, d));
    for (int f = 0; f < 12; ++f) {
      all.push_back(fmt::format("{}/e{}/f{:02d}.txt", root_, d, f));
      write(all.back(), "x");
    }
  }
  const auto extra = [&](int d, int f) { return all[static_cast<size_t>(d * 12 + f)]; };
  all.insert(all.end(), paths_.begin(), paths_.end());
  for (const std::string& p : all) set_mtime(p, kOld);
  set_mtime(path(0, 0), kNew);
  CountingDisk disk;
  StatCache cache(disk, true);
  cache.expect_changes_after(kExpected * kNanos);
  cache.prefetch_async(all, 2);
  for (int f = 0; f < 12; ++f) cache.stat(extra(0, f));
  cache.invalidate();  // e0's task runs: e1-e7's paths are still to come
  ASSERT_TRUE(cache.journal_active());
  // The journal of the paths still to come watches e1-e7 as well.
  const int before = disk.calls();
  EXPECT_EQ(cache.stat(extra(4, 4)).size, 1);
  EXPECT_EQ(cache.stat(path(4, 4)).size, 1);
  EXPECT_EQ(disk.calls(), before);
  write(extra(4, 4), "changed in a folder before the edited file");
  write(path(4, 4), "and after it");
  cache.refresh();
  EXPECT_EQ(cache.stat(extra(4, 4)).size, 42);
  EXPECT_EQ(cache.stat(path(4, 4)).size, 12);
  expect_disk_answers(cache);
  cache.release_in_background(/*in_child=*/false);  // both journals go
  EXPECT_FALSE(cache.journal_active());
}

TEST_F(KeptCacheTest, NoFileNewerThanExpectedStartsNothingEarly) {
  for (const std::string& p : paths_) set_mtime(p, kOld);
  CountingDisk disk;
  StatCache cache(disk, true);
  cache.expect_changes_after(kExpected * kNanos);
  cache.prefetch_async(paths_, 2);
  for (int f = 0; f < 12; ++f) cache.stat(path(0, f));
  cache.invalidate();  // the journal starts now, for the paths to come
  ASSERT_TRUE(cache.journal_active());
  const int before = disk.calls();
  EXPECT_EQ(cache.stat(path(1, 0)).size, 1);
  EXPECT_EQ(disk.calls(), before);
  // d0's paths were asked for before: not watched, so from the disk (an
  // early journal, from the first path on, would have watched them).
  EXPECT_EQ(cache.stat(path(0, 3)).size, 1);
  EXPECT_EQ(disk.calls(), before + 1);
}

TEST_F(KeptCacheTest, WithoutKeepingTheFirstActionEndsTheCache) {
  CountingDisk disk;
  StatCache cache(disk);
  cache.prefetch(paths_, 1);
  cache.invalidate();
  EXPECT_FALSE(cache.journal_active());
  const int before = disk.calls();
  expect_disk_answers(cache);
  EXPECT_EQ(disk.calls(), before + static_cast<int>(paths_.size()));
}

}  // namespace
}  // namespace doit

#include "doit/stat_cache.h"

#include <atomic>
#include <string>
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

}  // namespace
}  // namespace doit

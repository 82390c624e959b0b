#include "doit/hash_ahead.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace doit {
namespace {

class HashAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "doit-ahead-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    return path;
  }
  std::string dir_;
  RealFileSystem disk_;
};

TEST_F(HashAheadTest, GivesTheHashOfAFileThatDidNotChangeSinceItWasRead) {
  const std::string a = write("a.txt", "alpha\n");
  const std::string b = write("b.txt", "beta, longer\n");
  HashAhead ahead(disk_);
  ASSERT_TRUE(ahead.add({a, b, a}));
  ahead.wait_until_done();
  EXPECT_EQ(ahead.take(b, disk_.stat(b)), disk_.hash(b));
  EXPECT_EQ(ahead.take(a, disk_.stat(a)), disk_.hash(a));
  EXPECT_EQ(ahead.take(a, disk_.stat(a)), disk_.hash(a));  // asked again: still true
}

TEST_F(HashAheadTest, GivesNothingForAFileChangedSinceOrNotAskedForOrNotAFile) {
  const std::string same_size = write("same.txt", "one\n");
  const std::string other_size = write("other.txt", "one\n");
  const std::string removed = write("removed.txt", "x\n");
  const std::string folder = dir_ + "/sub";
  std::filesystem::create_directory(folder);
  const std::string never = write("never.txt", "n\n");
  HashAhead ahead(disk_);
  ASSERT_TRUE(ahead.add({same_size, other_size, removed, folder, dir_ + "/missing"}));
  ahead.wait_until_done();
  // rewritten with the same size, dated a second later (as an action would)
  write("same.txt", "two\n");
  const auto later = std::filesystem::last_write_time(same_size) + std::chrono::seconds(1);
  std::filesystem::last_write_time(same_size, later);
  write("other.txt", "three\n");
  std::filesystem::remove(removed);
  EXPECT_EQ(ahead.take(same_size, disk_.stat(same_size)), std::nullopt);
  EXPECT_EQ(ahead.take(other_size, disk_.stat(other_size)), std::nullopt);
  EXPECT_EQ(ahead.take(removed, disk_.stat(removed)), std::nullopt);
  EXPECT_EQ(ahead.take(folder, disk_.stat(folder)), std::nullopt);
  EXPECT_EQ(ahead.take(dir_ + "/missing", disk_.stat(dir_ + "/missing")), std::nullopt);
  EXPECT_EQ(ahead.take(never, disk_.stat(never)), std::nullopt);
}

/// A disk whose hash() waits at a gate: the thread is held in a read.
class GatedDisk : public RealFileSystem {
 public:
  Hash128 hash(const std::string& path) const override {
    std::unique_lock lock(mutex_);
    reading_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    return RealFileSystem::hash(path);
  }
  void wait_for_a_read() const {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return reading_; });
  }
  void open() {
    const std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable bool reading_ = false;
  bool open_ = false;
};

TEST_F(HashAheadTest, APathNotReachedIsLeftToTheCallerAndOneBeingReadIsWaitedFor) {
  const std::string a = write("a.txt", "alpha\n");
  const std::string b = write("b.txt", "beta\n");
  GatedDisk gated;
  HashAhead ahead(gated);
  ASSERT_TRUE(ahead.add({a, b}));
  gated.wait_for_a_read();  // the thread is in a's read, b is queued
  EXPECT_EQ(ahead.take(b, disk_.stat(b)), std::nullopt);
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    gated.open();
  });
  EXPECT_EQ(ahead.take(a, disk_.stat(a)), disk_.hash(a));  // waits for the read
  opener.join();
  ahead.wait_until_done();
  EXPECT_EQ(ahead.take(b, disk_.stat(b)), std::nullopt);  // the thread left it to the caller
}

TEST_F(HashAheadTest, LetsGoOfWhatTheThreadAndTheCallerPassedLongAgo) {
  const std::string first = write("first.txt", "first\n");
  HashAhead ahead(disk_);
  ASSERT_TRUE(ahead.add({first}));
  ahead.wait_until_done();
  EXPECT_EQ(ahead.take(first, disk_.stat(first)), disk_.hash(first));
  // A long build: paths given a few at a time, each taken once hashed.
  for (std::size_t i = 0; i < 3 * HashAhead::kKeptBehind; ++i) {
    const std::string path = fmt::format("{}/missing{}", dir_, i);
    ASSERT_TRUE(ahead.add({path}));
    ahead.wait_until_done();
    EXPECT_EQ(ahead.take(path, disk_.stat(path)), std::nullopt);
  }
  EXPECT_LE(ahead.kept(), HashAhead::kKeptBehind + 2);
  EXPECT_EQ(ahead.take(first, disk_.stat(first)), std::nullopt);  // let go: hash it yourself
  const std::string last = write("last.txt", "last\n");
  ASSERT_TRUE(ahead.add({last}));
  ahead.wait_until_done();
  EXPECT_EQ(ahead.take(last, disk_.stat(last)), disk_.hash(last));
}

}  // namespace
}  // namespace doit

#include "doit/signature.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace doit {
namespace {

constexpr std::int64_t kOldMtime = 1'000'000'000'000'000'000;
constexpr std::int64_t kNewMtime = kOldMtime + 1;  // one nanosecond later

/// A file "in" whose signature was taken at kOldMtime, in a fake file system.
class SignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_.write("in", "hello", kOldMtime);
    stored_ = FileSignature{kOldMtime, 5, hash_bytes("hello")};
  }
  bool modified(Checker checker = Checker::kContent) const {
    return is_modified(checker, fs_, "in", fs_.stat("in"), stored_);
  }

  FakeFileSystem fs_;
  FileSignature stored_;
};

TEST(CheckerTest, NamesAreThoseThatPydoitStores) {
  EXPECT_EQ(checker_name(Checker::kContent), "MD5Checker");
  EXPECT_EQ(checker_name(Checker::kTimestamp), "TimestampChecker");
}

TEST(CheckerTest, ParsesOptionValuesAndClassNames) {
  Checker checker = Checker::kTimestamp;
  ASSERT_TRUE(parse_checker("md5", &checker));
  EXPECT_EQ(checker, Checker::kContent);
  ASSERT_TRUE(parse_checker("timestamp", &checker));
  EXPECT_EQ(checker, Checker::kTimestamp);
  ASSERT_TRUE(parse_checker("MD5Checker", &checker));
  EXPECT_EQ(checker, Checker::kContent);
  ASSERT_TRUE(parse_checker("TimestampChecker", &checker));
  EXPECT_EQ(checker, Checker::kTimestamp);
}

TEST(CheckerTest, RejectsUnknownNames) {
  Checker checker = Checker::kContent;
  for (const char* name : {"", "MD5", "sha1", "Timestamp", "md5 "}) {
    EXPECT_FALSE(parse_checker(name, &checker)) << name;
  }
}

TEST_F(SignatureTest, UnchangedMtimeIsUpToDateWithoutReadingTheFile) {
  // Even a content change is missed when the mtime is kept (as in pydoit).
  fs_.write("in", "HELLO", kOldMtime);
  EXPECT_FALSE(modified());
  EXPECT_EQ(fs_.hash_calls(), 0);
}

TEST_F(SignatureTest, SizeChangeIsDetectedWithoutReadingTheFile) {
  fs_.write("in", "hello, world", kNewMtime);
  EXPECT_TRUE(modified());
  EXPECT_EQ(fs_.hash_calls(), 0);
}

TEST_F(SignatureTest, SameSizeDifferentContentIsDetected) {
  fs_.write("in", "jello", kNewMtime);
  EXPECT_TRUE(modified());
  EXPECT_EQ(fs_.hash_calls(), 1);
}

TEST_F(SignatureTest, TouchWithoutChangeStaysUpToDate) {
  fs_.touch("in", kNewMtime);
  EXPECT_FALSE(modified());
  EXPECT_EQ(fs_.hash_calls(), 1);
}

TEST_F(SignatureTest, TimestampCheckerSeesAnyMtimeDifferenceWithoutReading) {
  fs_.touch("in", kNewMtime);
  EXPECT_TRUE(modified(Checker::kTimestamp));
  fs_.touch("in", kOldMtime - 1);  // older counts too
  EXPECT_TRUE(modified(Checker::kTimestamp));
  EXPECT_EQ(fs_.hash_calls(), 0);
}

TEST_F(SignatureTest, TimestampCheckerIgnoresContentWhenMtimeIsKept) {
  fs_.write("in", "other content", kOldMtime);
  EXPECT_FALSE(modified(Checker::kTimestamp));
}

TEST_F(SignatureTest, TakeSignatureKeepsThePreviousOneWhenMtimeIsUnchanged) {
  const FileSignature taken =
      take_signature(Checker::kContent, fs_, "in", fs_.stat("in"), &stored_);
  EXPECT_EQ(taken, stored_);
  EXPECT_EQ(fs_.hash_calls(), 0);
}

TEST_F(SignatureTest, TakeSignatureHashesWhenMtimeChanged) {
  fs_.write("in", "new content", kNewMtime);
  const FileSignature taken =
      take_signature(Checker::kContent, fs_, "in", fs_.stat("in"), &stored_);
  EXPECT_EQ(taken, (FileSignature{kNewMtime, 11, hash_bytes("new content")}));
  EXPECT_EQ(fs_.hash_calls(), 1);
}

TEST_F(SignatureTest, TakeSignatureWithoutPreviousHashes) {
  const FileSignature taken = take_signature(Checker::kContent, fs_, "in", fs_.stat("in"), nullptr);
  EXPECT_EQ(taken, stored_);
  EXPECT_EQ(fs_.hash_calls(), 1);
}

TEST_F(SignatureTest, TimestampCheckerNeverHashes) {
  fs_.touch("in", kNewMtime);
  const FileSignature taken =
      take_signature(Checker::kTimestamp, fs_, "in", fs_.stat("in"), &stored_);
  EXPECT_EQ(taken, (FileSignature{kNewMtime, 5, Hash128{}}));
  EXPECT_EQ(fs_.hash_calls(), 0);
}

TEST(SignatureOnDiskTest, RerunsWhenContentChangesOnARealFile) {
  std::string dir = (std::filesystem::temp_directory_path() / "doit-sig-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string file = dir + "/in.txt";
  const auto write_at = [&](const char* content, std::time_t seconds) {
    std::ofstream(file, std::ios::binary) << content;
    const struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times, 0), 0);
  };
  const RealFileSystem fs;

  write_at("aaaa", 1000);
  const FileSignature stored = take_signature(Checker::kContent, fs, file, fs.stat(file), nullptr);
  write_at("aaaa", 2000);
  EXPECT_FALSE(is_modified(Checker::kContent, fs, file, fs.stat(file), stored));
  write_at("bbbb", 3000);
  EXPECT_TRUE(is_modified(Checker::kContent, fs, file, fs.stat(file), stored));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace doit

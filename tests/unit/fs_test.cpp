#include "doit/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace doit {
namespace {

/// A real directory under /tmp, removed after the test.
class RealFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "doit-fs-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add);
    std::filesystem::remove_all(dir_);
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(path(name), std::ios::binary) << content;
    return path(name);
  }

  std::string dir_;
  RealFileSystem fs_;
};

/// Bytes that differ from block to block, so a wrong block order changes the hash.
std::string patterned_bytes(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + i / 7) & 0xFF);
  return bytes;
}

TEST(Hash128Test, HexIsThirtyTwoLowercaseDigitsHighPartFirst) {
  const Hash128 hash{0x0123456789ABCDEFULL, 0xFEDCBA9876543210ULL};
  EXPECT_EQ(hash.hex(), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(Hash128{}.hex(), std::string(32, '0'));
}

TEST(Hash128Test, FromHexReadsWhatHexWrote) {
  const Hash128 hash{0xDEADBEEF00000001ULL, 0x8000000000000000ULL};
  Hash128 parsed;
  ASSERT_TRUE(Hash128::from_hex(hash.hex(), &parsed));
  EXPECT_EQ(parsed, hash);
  ASSERT_TRUE(Hash128::from_hex("DEADBEEF000000018000000000000000", &parsed));
  EXPECT_EQ(parsed, hash);
}

TEST(Hash128Test, FromHexRejectsMalformedTextAndLeavesTheOutputAlone) {
  const Hash128 untouched{1, 2};
  const std::string malformed[] = {"",
                                   "0123",
                                   std::string(31, 'a'),
                                   std::string(33, 'a'),
                                   "0123456789abcdef0123456789abcdeg",
                                   " 123456789abcdef0123456789abcdef"};
  for (const std::string& bad : malformed) {
    Hash128 out = untouched;
    EXPECT_FALSE(Hash128::from_hex(bad, &out)) << bad;
    EXPECT_EQ(out, untouched);
  }
}

TEST(HashBytesTest, IsXxh3With128Bits) {
  // The reference value of XXH3-128 for no input.
  EXPECT_EQ(hash_bytes("").hex(), "99aa06d3014798d86001c324468d497f");
}

TEST(HashBytesTest, DiffersWhenOneByteDiffers) {
  EXPECT_NE(hash_bytes("hello world"), hash_bytes("hello worle"));
  EXPECT_EQ(hash_bytes("hello world"), hash_bytes(std::string("hello world")));
}

TEST_F(RealFileSystemTest, StatReportsSizeAndNanosecondMtime) {
  const std::string file = write("a.txt", "12345");
  constexpr std::int64_t kSeconds = 1700000000;
  constexpr std::int64_t kNanos = 123456789;
  const struct timespec times[2] = {{kSeconds, kNanos}, {kSeconds, kNanos}};
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times, 0), 0);

  const FileStat st = fs_.stat(file);
  EXPECT_TRUE(st.exists);
  EXPECT_FALSE(st.is_dir);
  EXPECT_EQ(st.size, 5);
  EXPECT_EQ(st.mtime_ns, kSeconds * 1'000'000'000 + kNanos);
}

TEST_F(RealFileSystemTest, StatOfMissingPathSaysItDoesNotExist) {
  EXPECT_FALSE(fs_.stat(path("missing")).exists);
}

TEST_F(RealFileSystemTest, StatBelowARegularFileSaysItDoesNotExist) {
  write("file", "x");
  EXPECT_FALSE(fs_.stat(path("file/child")).exists);  // ENOTDIR
}

TEST_F(RealFileSystemTest, StatOfSymlinkLoopSaysItDoesNotExist) {
  ASSERT_EQ(::symlink(path("loop").c_str(), path("loop").c_str()), 0);
  EXPECT_FALSE(fs_.stat(path("loop")).exists);  // ELOOP
}

TEST_F(RealFileSystemTest, StatFollowsSymlinks) {
  write("target", "123");
  ASSERT_EQ(::symlink(path("target").c_str(), path("link").c_str()), 0);
  const FileStat st = fs_.stat(path("link"));
  EXPECT_TRUE(st.exists);
  EXPECT_EQ(st.size, 3);
}

TEST_F(RealFileSystemTest, StatMarksDirectories) {
  const FileStat st = fs_.stat(dir_);
  EXPECT_TRUE(st.exists);
  EXPECT_TRUE(st.is_dir);
}

TEST_F(RealFileSystemTest, StatThrowsNamingThePathWhenPermissionIsDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root is never denied";
  std::filesystem::create_directory(path("locked"));
  write("locked/file", "x");
  std::filesystem::permissions(path("locked"), std::filesystem::perms::none);
  try {
    fs_.stat(path("locked/file"));
    ADD_FAILURE() << "expected FsError";
  } catch (const FsError& e) {
    EXPECT_EQ(std::string(e.what()), path("locked/file") + ": Permission denied");
  }
  std::filesystem::permissions(path("locked"), std::filesystem::perms::owner_all);
}

TEST_F(RealFileSystemTest, HashOfFileEqualsHashOfItsBytes) {
  EXPECT_EQ(fs_.hash(write("small", "hello")), hash_bytes("hello"));
  EXPECT_EQ(fs_.hash(write("empty", "")), hash_bytes(""));
}

TEST_F(RealFileSystemTest, HashOfFileSpanningSeveralBlocksEqualsHashOfItsBytes) {
  constexpr std::size_t kSize = 3 * 64 * 1024 + 17;  // three full blocks and a tail
  const std::string bytes = patterned_bytes(kSize);
  EXPECT_EQ(fs_.hash(write("large", bytes)), hash_bytes(bytes));
}

TEST_F(RealFileSystemTest, HashOfDirectoryThrowsIsADirectory) {
  try {
    fs_.hash(dir_);
    ADD_FAILURE() << "expected FsError";
  } catch (const FsError& e) {
    EXPECT_EQ(std::string(e.what()), dir_ + ": Is a directory");
  }
}

TEST_F(RealFileSystemTest, HashOfMissingFileThrowsNamingThePath) {
  try {
    fs_.hash(path("missing"));
    ADD_FAILURE() << "expected FsError";
  } catch (const FsError& e) {
    EXPECT_EQ(std::string(e.what()), path("missing") + ": No such file or directory");
  }
}

TEST(FakeFileSystemTest, StatsWrittenFiles) {
  FakeFileSystem fs;
  fs.write("a", "abc", 42);
  const FileStat st = fs.stat("a");
  EXPECT_TRUE(st.exists);
  EXPECT_FALSE(st.is_dir);
  EXPECT_EQ(st.size, 3);
  EXPECT_EQ(st.mtime_ns, 42);
  EXPECT_FALSE(fs.stat("b").exists);
}

TEST(FakeFileSystemTest, TouchChangesOnlyTheMtime) {
  FakeFileSystem fs;
  fs.write("a", "abc", 1);
  fs.touch("a", 2);
  EXPECT_EQ(fs.stat("a").mtime_ns, 2);
  EXPECT_EQ(fs.hash("a"), hash_bytes("abc"));
}

TEST(FakeFileSystemTest, TouchCreatesAnEmptyFile) {
  FakeFileSystem fs;
  fs.touch("new", 7);
  EXPECT_TRUE(fs.stat("new").exists);
  EXPECT_EQ(fs.stat("new").size, 0);
}

TEST(FakeFileSystemTest, RemovedFilesNoLongerExist) {
  FakeFileSystem fs;
  fs.write("a", "abc", 1);
  fs.remove("a");
  EXPECT_FALSE(fs.stat("a").exists);
}

TEST(FakeFileSystemTest, CountsHashReads) {
  FakeFileSystem fs;
  fs.write("a", "abc", 1);
  EXPECT_EQ(fs.hash_calls(), 0);
  EXPECT_EQ(fs.hash("a"), hash_bytes("abc"));
  fs.stat("a");
  EXPECT_EQ(fs.hash_calls(), 1);
}

TEST(FakeFileSystemTest, HashOfMissingFileThrowsLikeTheRealOne) {
  FakeFileSystem fs;
  EXPECT_THROW(fs.hash("missing"), FsError);
}

}  // namespace
}  // namespace doit

namespace doit {
namespace {

TEST(ReadSmallFileTest, ReadsWholeFilesAndSaysWhenAProcessIsGone) {
  std::string text;
  ASSERT_TRUE(read_small_file("/proc/self/stat", &text));
  EXPECT_NE(text.find(')'), std::string::npos);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  text = "stale";
  EXPECT_FALSE(read_small_file("/proc/" + std::to_string(child) + "/stat", &text));
  EXPECT_TRUE(text.empty());
}

}  // namespace
}  // namespace doit

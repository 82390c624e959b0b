#include "doit/output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>

#include <gtest/gtest.h>

namespace doit {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string replaced(int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += kReplacement;
  return out;
}

// --- sanitize_utf8: the expected values are Python's
// bytes.decode('utf-8', errors='replace') re-encoded. ----------------------------

TEST(SanitizeUtf8Test, KeepsAsciiAndEmbeddedNul) {
  EXPECT_EQ(sanitize_utf8(""), "");
  EXPECT_EQ(sanitize_utf8("plain text\n"), "plain text\n");
  EXPECT_EQ(sanitize_utf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(SanitizeUtf8Test, KeepsValidMultibyteSequences) {
  const std::string text =
      "\xC3\xA9"           // é, 2 bytes
      "\xE2\x82\xAC"       // €, 3 bytes
      "\xED\x9F\xBF"       // U+D7FF, last before the surrogates
      "\xF0\x9F\x98\x80"   // 😀, 4 bytes
      "\xF4\x8F\xBF\xBF";  // U+10FFFF, the last code point
  EXPECT_EQ(sanitize_utf8(text), text);
  EXPECT_EQ(sanitize_utf8("a\xF0\x9F\x98\x80"
                          "b"),
            "a\xF0\x9F\x98\x80"
            "b");
}

TEST(SanitizeUtf8Test, InPlaceKeepsValidTextAndItsBufferAndReplacesInvalidBytes) {
  std::string valid = "caf\xC3\xA9 " + std::string(1000, 'x');
  const char* buffer = valid.data();
  sanitize_utf8_in_place(valid);
  EXPECT_EQ(valid.data(), buffer);  // not copied
  EXPECT_EQ(valid.substr(0, 6), "caf\xC3\xA9 ");
  std::string invalid =
      "a\xFF"
      "b";
  sanitize_utf8_in_place(invalid);
  EXPECT_EQ(invalid,
            "a\xEF\xBF\xBD"
            "b");
}

TEST(SanitizeUtf8Test, ReplacesBytesThatCannotStartASequence) {
  EXPECT_EQ(sanitize_utf8("\x80"), replaced(1));
  EXPECT_EQ(sanitize_utf8("\xFF"), replaced(1));
  EXPECT_EQ(sanitize_utf8("\xF5"), replaced(1));
  EXPECT_EQ(sanitize_utf8("\xFFok\n"), kReplacement + "ok\n");
}

TEST(SanitizeUtf8Test, ReplacesEachByteOfAnOverlongForm) {
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), replaced(2));
  EXPECT_EQ(sanitize_utf8("\xE0\x80\xAF"), replaced(3));
  EXPECT_EQ(sanitize_utf8("\xF0\x8F\xBF\xBF"), replaced(4));
}

TEST(SanitizeUtf8Test, ReplacesEachByteOfAnEncodedSurrogate) {
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), replaced(3));
}

TEST(SanitizeUtf8Test, ReplacesEachByteBeyondTheLastCodePoint) {
  EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"), replaced(4));
}

TEST(SanitizeUtf8Test, ReplacesATruncatedSequenceOnce) {
  EXPECT_EQ(sanitize_utf8("\xE2\x82"), replaced(1));
  EXPECT_EQ(sanitize_utf8("\xF0\x9F\x98"), replaced(1));
  EXPECT_EQ(sanitize_utf8("\xC3"), replaced(1));
  EXPECT_EQ(sanitize_utf8("\xE2\x82"
                          "A"),
            kReplacement + "A");
}

TEST(SanitizeUtf8Test, ReplacesAStrayContinuationAfterAValidCharacter) {
  EXPECT_EQ(sanitize_utf8("\xE2\x82\xAC\x80"), "\xE2\x82\xAC" + kReplacement);
}

// --- Output ----------------------------------------------------------------------------

/// A pipe whose read end is non-blocking, to see what has been written so far.
class OutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::pipe(fds_), 0);
    ASSERT_EQ(::fcntl(fds_[0], F_SETFL, O_NONBLOCK), 0);
  }
  void TearDown() override {
    if (fds_[0] >= 0) ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }

  /// Everything currently readable from the pipe.
  std::string written_so_far() {
    std::string out;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(fds_[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }

  int fds_[2] = {-1, -1};
};

TEST_F(OutputTest, KeepsWritesUntilFlushed) {
  Output out(fds_[1]);
  out.write(".  a\n");
  out.write("-- b\n");
  EXPECT_EQ(written_so_far(), "");
  out.flush();
  EXPECT_EQ(written_so_far(), ".  a\n-- b\n");
  EXPECT_EQ(out.fd(), fds_[1]);
}

TEST_F(OutputTest, FlushesOnDestructionWithoutClosingABorrowedFd) {
  {
    Output out(fds_[1]);
    out.write("bye\n");
  }
  EXPECT_EQ(written_so_far(), "bye\n");
  EXPECT_NE(::fcntl(fds_[1], F_GETFD), -1);
}

TEST_F(OutputTest, ClosesAnOwnedFdOnDestruction) {
  {
    Output out(fds_[1], /*owns=*/true);
    out.write("last\n");
  }
  const int closed = fds_[1];
  fds_[1] = -1;
  EXPECT_EQ(written_so_far(), "last\n");
  EXPECT_EQ(::fcntl(closed, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(OutputTest, FlushIgnoresAClosedPipe) {
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &previous), 0);
  ::close(fds_[0]);
  fds_[0] = -1;
  {
    Output out(fds_[1]);
    out.write("nobody reads this\n");
    out.flush();  // EPIPE: dropped, no exception, no retry loop
    out.write("again\n");
  }
  ::sigaction(SIGPIPE, &previous, nullptr);
  SUCCEED();
}

}  // namespace
}  // namespace doit

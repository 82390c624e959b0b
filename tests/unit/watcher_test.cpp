#include "doit/watcher.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace doit {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Paths = std::vector<std::string>;

/// Debounce for tests that do not measure it: short, to keep the suite fast.
constexpr milliseconds kTestDebounce{20};
/// How long to wait for an event that must come (returns as soon as it does).
constexpr milliseconds kEventTimeout{2000};
/// How long to wait to be sure that no change is reported.
constexpr milliseconds kQuietTimeout{150};
/// Longer than one tick of the coarse clock that stamps files (HZ >= 100).
constexpr milliseconds kClockTick{30};
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
/// 2020-09-13 in seconds since 1970: any wall clock today is later.
constexpr std::int64_t kSomeRecentTimeSeconds = 1'600'000'000;
/// The unprivileged user a root test run drops to.
constexpr uid_t kNobody = 65534;

/// A real directory under /tmp, removed after the test.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "doit-watch-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(dir_);
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  /// Writes `content` to `name` (open, write, close: what most programs do).
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(path(name), std::ios::binary) << content;
    return path(name);
  }
  std::string make_dir(const std::string& name) const {
    fs::create_directories(path(name));
    return path(name);
  }

  std::string dir_;
};

class WatcherTest : public TempDirTest {
 protected:
  std::optional<Change> wait_for_change() { return watcher_.wait(kTestDebounce, kEventTimeout); }
  /// Waits for the next change; succeeds when it reports exactly `expected`.
  ::testing::AssertionResult reports(const Paths& expected) {
    const auto change = wait_for_change();
    if (!change) return ::testing::AssertionFailure() << "no change reported";
    if (change->paths == expected && !change->overflow) return ::testing::AssertionSuccess();
    auto failure = ::testing::AssertionFailure() << "reported:";
    for (const std::string& path : change->paths) failure << " " << path;
    return failure;
  }
  bool stays_quiet() { return !watcher_.wait(kTestDebounce, kQuietTimeout).has_value(); }

  Watcher watcher_;
};

TEST_F(WatcherTest, ReportsWriteToWatchedFile) {
  const std::string file = write("a.txt", "one");
  watcher_.watch({file});
  write("a.txt", "two");
  EXPECT_TRUE(reports({file}));
}

TEST_F(WatcherTest, ReportsEditorSaveByRenameIntoPlace) {
  const std::string file = write("a.txt", "one");
  watcher_.watch({file});
  const std::string temp = write(".a.txt.swp", "two");
  ASSERT_EQ(std::rename(temp.c_str(), file.c_str()), 0);
  EXPECT_TRUE(reports({file}));
}

TEST_F(WatcherTest, ReportsTouchWithoutContentChange) {
  const std::string file = write("a.txt", "one");
  watcher_.watch({file});
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), nullptr, 0), 0);
  EXPECT_TRUE(reports({file}));
}

TEST_F(WatcherTest, ReportsDeletion) {
  const std::string file = write("a.txt", "one");
  watcher_.watch({file});
  fs::remove(file);
  EXPECT_TRUE(reports({file}));
}

TEST_F(WatcherTest, ReportsWriteByWriterThatKeepsFileOpen) {
  const std::string file = write("log.txt", "");
  watcher_.watch({file});
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "x", 1), 1);
  EXPECT_TRUE(reports({file}));
  ::close(fd);
}

TEST_F(WatcherTest, ReportsNewFileInWatchedDirectory) {
  const std::string sub = make_dir("sub");
  watcher_.watch({sub});
  write("sub/new.txt", "x");
  EXPECT_TRUE(reports({sub}));
}

TEST_F(WatcherTest, ReportsWriteToEntryOfWatchedDirectory) {
  const std::string sub = make_dir("sub");
  write("sub/old.txt", "one");
  watcher_.watch({sub});
  write("sub/old.txt", "two");
  EXPECT_TRUE(reports({sub}));
}

TEST_F(WatcherTest, ReportsWriteDeepInWatchedDirectory) {
  make_dir("sub/deeper/deepest");
  write("sub/deeper/deepest/f.txt", "one");
  watcher_.watch({path("sub")});
  write("sub/deeper/deepest/f.txt", "two");
  EXPECT_TRUE(reports({path("sub")}));
}

TEST_F(WatcherTest, WatchesSubdirectoriesCreatedLater) {
  const std::string sub = make_dir("sub");
  watcher_.watch({sub});
  make_dir("sub/new/newer");
  EXPECT_TRUE(reports({sub}));
  write("sub/new/newer/f.txt", "x");
  EXPECT_TRUE(reports({sub})) << "the new sub-folders are not watched";
  fs::remove(path("sub/new/newer/f.txt"));
  EXPECT_TRUE(reports({sub}));
}

TEST_F(WatcherTest, WatchesSubdirectoryMovedIntoWatchedDirectory) {
  const std::string sub = make_dir("sub");
  make_dir("outside/inner");
  watcher_.watch({sub});
  fs::rename(path("outside"), path("sub/moved"));
  EXPECT_TRUE(reports({sub}));
  write("sub/moved/inner/f.txt", "x");
  EXPECT_TRUE(reports({sub}));
}

TEST_F(WatcherTest, ReportsBothSidesOfARename) {
  const std::string from_dir = make_dir("from");
  const std::string to_dir = make_dir("to");
  make_dir("from/deep");
  const std::string old_name = write("from/deep/a.txt", "one");
  const std::string new_name = path("elsewhere.txt");
  watcher_.watch({from_dir, to_dir, old_name, new_name});
  fs::rename(old_name, new_name);
  EXPECT_TRUE(reports({new_name, from_dir, old_name}));  // sorted: 'e' < 'f'

  fs::rename(new_name, path("to/a.txt"));
  EXPECT_TRUE(reports({new_name, to_dir}));
}

TEST_F(WatcherTest, IgnoresEditorAndVcsNoiseInWatchedDirectory) {
  const std::string sub = make_dir("sub");
  write("sub/a.txt", "one");
  make_dir("sub/deep");
  make_dir("sub/.git/objects");
  watcher_.watch({sub});
  for (const char* noise : {"sub/.a.txt.swp", "sub/.a.txt.swx", "sub/a.txt~", "sub/4913",
                            "sub/deep/5036", "sub/.#a.txt", "sub/#a.txt#", "sub/.git/index",
                            "sub/.git/objects/ab", "sub/deep/b.txt___jb_tmp___"}) {
    write(noise, "x");
  }
  fs::remove(path("sub/4913"));
  make_dir("sub/.hg/store");
  EXPECT_TRUE(stays_quiet());
  write("sub/deep/4914", "not vim's probe");
  EXPECT_TRUE(reports({sub}));
}

TEST_F(WatcherTest, GitStatusInWatchedDirectoryIsQuiet) {
  if (std::system("git --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no git";
  const std::string repo = make_dir("repo");
  write("repo/a.txt", "one");
  const std::string git = "git -C " + repo + " ";
  ASSERT_EQ(std::system((git + "init -q && " + git + "add a.txt").c_str()), 0);
  watcher_.watch({repo});
  write("repo/a.txt", "two");
  ASSERT_TRUE(reports({repo}));
  // The index is now stale: status and add rewrite it.
  ASSERT_EQ(std::system((git + "status > /dev/null && " + git + "add a.txt").c_str()), 0);
  EXPECT_TRUE(stays_quiet());
}

TEST_F(WatcherTest, IgnoredPathsUnderWatchedDirectoryDoNotCount) {
  const std::string sub = make_dir("sub");
  make_dir("sub/out/deeper");
  watcher_.watch({sub}, {path("sub/out"), path("sub/.doit.db")});
  write("sub/out/deeper/target.o", "x");
  write("sub/.doit.db", "x");
  EXPECT_TRUE(stays_quiet());
  write("sub/.doit.dbx", "not the database");
  EXPECT_TRUE(reports({sub}));
}

TEST_F(WatcherTest, ANamedPathIsWatchedEvenIfItLooksLikeNoise) {
  const std::string backup = write("notes.txt~", "one");
  watcher_.watch({backup});
  write("notes.txt~", "two");
  EXPECT_TRUE(reports({backup}));
}

TEST_F(WatcherTest, ReportsCreationOfFileThatDidNotExist) {
  const std::string file = path("later.txt");
  watcher_.watch({file});
  write("later.txt", "x");
  EXPECT_TRUE(reports({file}));
}

TEST_F(WatcherTest, ReportsCreationUnderDirectoriesThatDidNotExist) {
  const std::string file = path("x/y/later.txt");
  watcher_.watch({file});
  make_dir("x/y");
  EXPECT_TRUE(stays_quiet()) << "the directories on the way are not the watched path";
  write("x/y/later.txt", "x");
  EXPECT_TRUE(reports({file}));
}

TEST_F(WatcherTest, ReportsFileCreatedTogetherWithItsDirectories) {
  const std::string file = path("x/y/later.txt");
  watcher_.watch({file});
  make_dir("x/y");
  write("x/y/later.txt", "x");  // likely before the watch has moved down to x/y
  EXPECT_TRUE(reports({file}));
}

TEST_F(WatcherTest, IgnoresUnrelatedFileInSameDirectory) {
  const std::string file = write("a.txt", "one");
  watcher_.watch({file});
  write("b.txt", "x");
  write("a.txt.tmp", "x");
  fs::remove(path("b.txt"));
  EXPECT_TRUE(stays_quiet());
}

TEST_F(WatcherTest, ReportsPathsSpelledAsGiven) {
  const std::string file = write("a.txt", "one");
  const std::string other_spelling = dir_ + "/./sub/../a.txt";
  make_dir("sub");
  watcher_.watch({other_spelling, file, file});
  write("a.txt", "two");
  EXPECT_TRUE(reports({other_spelling, file}));  // sorted: '.' < 'a'
}

TEST_F(WatcherTest, ResolvesRelativePathsAgainstCurrentDirectoryAtWatch) {
  const fs::path before = fs::current_path();
  fs::current_path(dir_);
  watcher_.watch({"rel.txt"});
  fs::current_path(before);
  write("rel.txt", "x");
  EXPECT_TRUE(reports({"rel.txt"}));
}

TEST_F(WatcherTest, ReportsWriteThroughSymbolicLink) {
  make_dir("real");
  const std::string target = write("real/t.txt", "one");
  const std::string link = path("link.txt");
  fs::create_symlink(target, link);
  watcher_.watch({link});
  write("real/t.txt", "two");
  EXPECT_TRUE(reports({link}));
}

TEST_F(WatcherTest, DebounceCoalescesBurstOfWritesIntoOneChange) {
  constexpr milliseconds kDebounce{150};
  constexpr milliseconds kGap{10};
  constexpr int kWrites = 6;
  const std::string a = write("a.txt", "");
  const std::string b = write("b.txt", "");
  watcher_.watch({b, a});
  const auto start = Clock::now();
  std::thread writer([&] {
    for (int i = 0; i < kWrites; ++i) {
      write(i % 2 == 0 ? "a.txt" : "b.txt", std::to_string(i));
      std::this_thread::sleep_for(kGap);
    }
  });
  const auto change = watcher_.wait(kDebounce, kEventTimeout);
  const auto elapsed = Clock::now() - start;
  writer.join();
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->paths, (Paths{a, b}));
  EXPECT_GE(elapsed, kDebounce + (kWrites - 1) * kGap);
  EXPECT_TRUE(stays_quiet()) << "the burst was reported as more than one change";
}

TEST_F(WatcherTest, ContinuousWritesCannotHoldWaitForEver) {
  constexpr milliseconds kDebounce{20};
  const std::string file = write("a.txt", "");
  watcher_.watch({file});
  std::atomic<bool> stop = false;
  const auto give_up = Clock::now() + kEventTimeout;  // a broken bound fails, not hangs
  std::thread writer([&] {
    for (int i = 0; !stop && Clock::now() < give_up; ++i) {
      write("a.txt", std::to_string(i));
      std::this_thread::sleep_for(kDebounce / 4);
    }
  });
  const auto start = Clock::now();
  const auto change = watcher_.wait(kDebounce, kEventTimeout);
  const auto elapsed = Clock::now() - start;
  stop = true;
  writer.join();
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->paths, Paths{file});
  EXPECT_LT(elapsed, kDebounce * (Watcher::kMaxDebounceFactor + 5));
}

TEST_F(WatcherTest, TimeoutWithoutEventsReturnsNothing) {
  watcher_.watch({write("a.txt", "one")});
  const auto start = Clock::now();
  EXPECT_FALSE(watcher_.wait(kTestDebounce, kQuietTimeout).has_value());
  EXPECT_GE(Clock::now() - start, kQuietTimeout);
}

/// A pipe whose read end stands for the supervisor's signalfd.
class Pipe {
 public:
  Pipe() { EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0); }
  ~Pipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  int read_end() const { return fds_[0]; }
  void poke() const { EXPECT_EQ(::write(fds_[1], "!", 1), 1); }
  void drain() const {
    char byte;
    EXPECT_EQ(::read(fds_[0], &byte, 1), 1);
  }

 private:
  int fds_[2] = {-1, -1};
};

TEST_F(WatcherTest, ReadableExtraFdWakesWait) {
  watcher_.watch({write("a.txt", "one")});
  Pipe wake;
  std::thread poker([&] {
    std::this_thread::sleep_for(kTestDebounce);
    wake.poke();
  });
  const auto start = Clock::now();
  const auto change = watcher_.wait(kTestDebounce, kEventTimeout * 5, wake.read_end());
  const auto elapsed = Clock::now() - start;
  poker.join();
  EXPECT_FALSE(change.has_value());
  EXPECT_LT(elapsed, kEventTimeout);
}

TEST_F(WatcherTest, ChangesSeenBeforeWakeAreReportedByNextWait) {
  const std::string file = write("a.txt", "one");
  watcher_.watch({file});
  write("a.txt", "two");
  Pipe wake;
  wake.poke();
  EXPECT_FALSE(watcher_.wait(kTestDebounce, kEventTimeout, wake.read_end()).has_value());
  wake.drain();
  const auto change = watcher_.wait(kTestDebounce, kQuietTimeout, wake.read_end());
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->paths, Paths{file});
}

TEST_F(WatcherTest, ReplacingTheSetStopsOldNotifications) {
  make_dir("old");
  make_dir("new");
  const std::string old_file = write("old/a.txt", "one");
  const std::string new_file = write("new/b.txt", "one");
  watcher_.watch({old_file});
  write("old/a.txt", "two");  // before the replacement: forgotten with the path
  watcher_.watch({new_file});
  EXPECT_EQ(watcher_.watched_directories(), 1u);
  write("old/a.txt", "three");
  EXPECT_TRUE(stays_quiet());
  write("new/b.txt", "two");
  EXPECT_TRUE(reports({new_file}));
}

TEST_F(WatcherTest, ChangesBeforeRewatchAreKeptForPathsStillWatched) {
  const std::string a = write("a.txt", "one");
  const std::string b = write("b.txt", "one");
  watcher_.watch({a});
  write("a.txt", "two");
  watcher_.watch({a, b});
  EXPECT_TRUE(reports({a}));
}

TEST_F(WatcherTest, WatchedDirectoryDeletedAndRecreatedIsWatchedAgain) {
  const std::string sub = make_dir("sub");
  watcher_.watch({sub});
  fs::remove_all(sub);
  EXPECT_TRUE(reports({sub}));
  make_dir("sub");
  EXPECT_TRUE(reports({sub}));
  write("sub/new.txt", "x");
  EXPECT_TRUE(reports({sub})) << "no watch on the entries of the new directory";
}

TEST_F(WatcherTest, RenamingTheDirectoryOfAWatchedFileIsAChange) {
  make_dir("sub");
  const std::string file = write("sub/a.txt", "one");
  watcher_.watch({file});
  fs::rename(path("sub"), path("moved"));
  EXPECT_TRUE(reports({file}));
  write("moved/a.txt", "two");  // no longer the watched path
  EXPECT_TRUE(stays_quiet());
}

TEST_F(WatcherTest, OverflowReportsEverythingMayHaveChanged) {
  constexpr int kFileBudget = 100'000;
  int max_queued = 0;
  std::ifstream("/proc/sys/fs/inotify/max_queued_events") >> max_queued;
  if (max_queued <= 0 || max_queued > kFileBudget) GTEST_SKIP() << "queue too large to overflow";
  const std::string sub = make_dir("sub");
  const std::string entries[2] = {write("sub/0", ""), write("sub/1", "")};
  const std::string untouched = write("untouched.txt", "one");
  watcher_.watch({sub, untouched});
  // One IN_ATTRIB each; alternating names, so that the kernel merges none.
  for (int i = 0; i <= max_queued; ++i) {
    ASSERT_EQ(::utimensat(AT_FDCWD, entries[i % 2].c_str(), nullptr, 0), 0);
  }
  const auto change = wait_for_change();
  ASSERT_TRUE(change.has_value());
  EXPECT_TRUE(change->overflow);
  EXPECT_EQ(change->paths, (Paths{sub, untouched}));
}

TEST_F(WatcherTest, UnreadableDirectoryThrowsErrorNamingIt) {
  const std::string locked = make_dir("locked");
  const std::string file = write("locked/f.txt", "x");
  // Others may enter both directories, but nobody but root may list `locked`.
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  fs::permissions(locked, fs::perms::owner_write | fs::perms::owner_exec | fs::perms::group_exec |
                              fs::perms::others_exec);
  EXPECT_EXIT(
      {
        if (::geteuid() == 0 && (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0)) std::_Exit(2);
        try {
          Watcher watcher;
          watcher.watch({file});
        } catch (const WatchError& error) {
          const std::string message = error.what();
          const bool named =
              message.find(locked) != std::string::npos && message.find(file) != std::string::npos;
          std::_Exit(named ? 0 : 3);
        }
        std::_Exit(1);
      },
      ::testing::ExitedWithCode(0), "");
  fs::permissions(locked, fs::perms::owner_all, fs::perm_options::add);
}

TEST(EditorOrVcsNoiseTest, NamesEditorAndVcsFilesOnly) {
  for (const char* noise :
       {".git", ".hg", ".svn", ".bzr", "_darcs", "CVS", ".main.c.swp", ".main.c.swo", ".main.c.swx",
        "main.c~", "4913", "5036", ".#main.c", "#main.c#", "main.c___jb_tmp___",
        "main.c___jb_old___", "__pycache__"}) {
    EXPECT_TRUE(is_editor_or_vcs_noise(noise)) << noise;
  }
  for (const char* real : {"main.c", ".gitignore", ".github", "git", "swp", "4912", "4914",
                           "12345678901234", "#", "a#b", ".env", "version~1.txt"}) {
    EXPECT_FALSE(is_editor_or_vcs_noise(real)) << real;
  }
}

/// Polls every kTestPoll instead of inotify.
constexpr milliseconds kTestPoll{20};

class PollingWatcherTest : public WatcherTest {
 protected:
  ::testing::AssertionResult reports(const Paths& expected) {
    const auto change = polling_.wait(kTestDebounce, kEventTimeout);
    if (!change) return ::testing::AssertionFailure() << "no change reported";
    if (change->paths == expected) return ::testing::AssertionSuccess();
    auto failure = ::testing::AssertionFailure() << "reported:";
    for (const std::string& path : change->paths) failure << " " << path;
    return failure;
  }
  bool stays_quiet() { return !polling_.wait(kTestDebounce, kQuietTimeout).has_value(); }

  static WatcherOptions polling_options() {
    WatcherOptions options;
    options.poll_interval = kTestPoll;
    return options;
  }

  Watcher polling_{polling_options()};
};

TEST_F(PollingWatcherTest, UsesNoInotifyDescriptor) {
  EXPECT_TRUE(polling_.polling());
  EXPECT_EQ(polling_.fd(), -1);
  polling_.watch({write("a.txt", "one")});
  EXPECT_LE(polling_.until_next_scan(), kTestPoll);
  EXPECT_FALSE(watcher_.polling());
  EXPECT_EQ(watcher_.until_next_scan(), Watcher::kNoTimeout);
}

TEST_F(PollingWatcherTest, ReportsWriteTouchDeletionAndCreation) {
  const std::string file = write("a.txt", "one");
  const std::string later = path("later/x.txt");
  polling_.watch({file, later});
  write("a.txt", "two!");
  EXPECT_TRUE(reports({file}));
  const timespec times[2] = {{1, 0}, {1, 0}};  // a touch to 1970: only the times change
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times, 0), 0);
  EXPECT_TRUE(reports({file}));
  fs::remove(file);
  EXPECT_TRUE(reports({file}));
  make_dir("later");
  write("later/x.txt", "");
  EXPECT_TRUE(reports({later}));
}

TEST_F(PollingWatcherTest, ReportsChangesDeepInWatchedDirectoryAndIgnoresNoise) {
  const std::string sub = make_dir("sub/deep");
  write("sub/deep/a.txt", "one");
  polling_.watch({path("sub")});
  write("sub/deep/.a.txt.swp", "x");
  make_dir("sub/.git");
  write("sub/.git/index", "x");
  EXPECT_TRUE(stays_quiet());
  make_dir("sub/deep/new");
  write("sub/deep/new/b.txt", "x");
  EXPECT_TRUE(reports({path("sub")}));
  fs::rename(path("sub/deep/a.txt"), path("sub/deep/new/a.txt"));
  EXPECT_TRUE(reports({path("sub")}));
}

TEST_F(PollingWatcherTest, IgnoredPathsUnderWatchedDirectoryDoNotCount) {
  make_dir("sub/out");
  polling_.watch({path("sub")}, {path("sub/out")});
  write("sub/out/target.o", "x");
  EXPECT_TRUE(stays_quiet());
  write("sub/source.c", "x");
  EXPECT_TRUE(reports({path("sub")}));
}

TEST_F(PollingWatcherTest, ReadableExtraFdWakesWait) {
  polling_.watch({write("a.txt", "one")});
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ASSERT_EQ(::write(fds[1], "!", 1), 1);
  EXPECT_FALSE(polling_.wait(kTestDebounce, Watcher::kNoTimeout, fds[0]).has_value());
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(TempDirTest, FallsBackToPollingWhenInotifyRunsOutOfWatches) {
  constexpr int kWatchesLeft = 2;
  int calls = 0;
  std::string notice;
  WatcherOptions options;
  options.on_fallback = [&](const std::string& message) { notice += message + "\n"; };
  // inotify_add_watch as it behaves once fs.inotify.max_user_watches is reached.
  options.add_watch = [&](int fd, const char* dir, std::uint32_t mask) {
    if (++calls > kWatchesLeft) {
      errno = ENOSPC;
      return -1;
    }
    return ::inotify_add_watch(fd, dir, mask);
  };
  Watcher watcher(options);
  EXPECT_FALSE(watcher.polling());
  const std::string sub = make_dir("sub/a/b/c");
  watcher.watch({path("sub")});
  EXPECT_TRUE(watcher.polling());
  EXPECT_EQ(watcher.fd(), -1);
  EXPECT_EQ(watcher.watched_directories(), 0u);
  EXPECT_NE(notice.find("fs.inotify.max_user_watches"), std::string::npos) << notice;
  EXPECT_NE(notice.find("polling"), std::string::npos) << notice;
  EXPECT_EQ(std::count(notice.begin(), notice.end(), '\n'), 1) << notice;
  write("sub/a/b/c/f.txt", "x");
  const auto change = watcher.wait(kTestDebounce, kEventTimeout);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->paths, Paths{path("sub")});
}

TEST_F(TempDirTest, FallsBackToPollingWhenNoInotifyInstanceCanBeOpened) {
  const std::string file = write("a.txt", "one");
  EXPECT_EXIT(
      {
        // No descriptor left for this process: inotify_init1 fails with EMFILE,
        // as it does when fs.inotify.max_user_instances is reached.
        rlimit original{};
        ::getrlimit(RLIMIT_NOFILE, &original);
        const int lowest_free = ::dup(0);
        if (lowest_free < 0) std::_Exit(2);
        ::close(lowest_free);
        rlimit none = original;
        none.rlim_cur = static_cast<rlim_t>(lowest_free);
        if (::setrlimit(RLIMIT_NOFILE, &none) != 0) std::_Exit(2);
        std::string notice;
        WatcherOptions options;
        options.on_fallback = [&](const std::string& message) { notice = message; };
        Watcher watcher(options);
        ::setrlimit(RLIMIT_NOFILE, &original);
        if (!watcher.polling() || notice.find("max_user_instances") == std::string::npos) {
          std::_Exit(3);
        }
        watcher.watch({file});
        std::ofstream(file) << "two";
        const auto change = watcher.wait(kTestDebounce, kEventTimeout);
        std::_Exit(change && change->paths == Paths{file} ? 0 : 4);
      },
      ::testing::ExitedWithCode(0), "");
}

using SnapshotTest = TempDirTest;

TEST_F(SnapshotTest, DiffFindsModifiedCreatedAndDeletedPaths) {
  const std::string modified = write("modified.txt", "one");
  const std::string deleted = write("deleted.txt", "one");
  const std::string created = path("created.txt");
  const std::string same = write("same.txt", "one");
  const Paths paths = {modified, deleted, created, same};
  const Snapshot before = Snapshot::take(paths);
  write("modified.txt", "longer");
  fs::remove(deleted);
  write("created.txt", "new");
  EXPECT_EQ(before.diff(Snapshot::take(paths)), (Paths{created, deleted, modified}));
}

TEST_F(SnapshotTest, UnchangedPathsGiveNoDifference) {
  const Paths paths = {write("a.txt", "one"), make_dir("sub"), path("missing")};
  const Snapshot before = Snapshot::take(paths);
  EXPECT_TRUE(before.diff(Snapshot::take(paths)).empty());
  EXPECT_FALSE(before.states().at(path("missing")).exists);
  EXPECT_TRUE(before.states().at(path("sub")).is_dir);
}

TEST_F(SnapshotTest, TouchWithoutContentChangeIsADifference) {
  const std::string file = write("a.txt", "one");
  const Snapshot before = Snapshot::take({file});
  const timespec times[2] = {{1, 0}, {1, 0}};  // atime, mtime: 1970
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times, 0), 0);
  EXPECT_EQ(before.diff(Snapshot::take({file})), Paths{file});
}

TEST_F(SnapshotTest, ReplacementKeepingSizeAndMtimeIsADifference) {
  const std::string file = write("a.txt", "one");
  const std::string copy = write("copy.txt", "two");
  struct stat original {};
  ASSERT_EQ(::stat(file.c_str(), &original), 0);
  const timespec times[2] = {original.st_atim, original.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, copy.c_str(), times, 0), 0);  // as `cp -p` or `mv`
  const Snapshot before = Snapshot::take({file});
  fs::rename(copy, file);
  EXPECT_EQ(before.diff(Snapshot::take({file})), Paths{file});
}

TEST_F(SnapshotTest, WriteToEntryOfDirectoryIsADifference) {
  const std::string sub = make_dir("sub");
  write("sub/e.txt", "one");
  std::this_thread::sleep_for(kClockTick);
  const Snapshot before = Snapshot::take({sub});
  write("sub/e.txt", "two");
  EXPECT_EQ(before.diff(Snapshot::take({sub})), Paths{sub});
}

TEST_F(SnapshotTest, PathsRecordedInOnlyOneSnapshotAreNotCompared) {
  const std::string a = write("a.txt", "one");
  const std::string b = write("b.txt", "one");
  EXPECT_TRUE(Snapshot::take({a}).diff(Snapshot::take({a, b})).empty());
}

TEST_F(SnapshotTest, IgnoredPathsAndFilesAddedToExistingFoldersAreNotChanges) {
  make_dir("sub/out");
  make_dir("sub/src");
  const std::string sub = path("sub");
  const Paths ignored = {path("sub/out")};
  std::this_thread::sleep_for(kClockTick);
  const Snapshot before = Snapshot::take({sub}, ignored);
  const std::int64_t mark = file_clock_now_ns();
  write("sub/out/target.o", "x");
  write("sub/src/.main.c.swp", "x");
  EXPECT_TRUE(before.diff(Snapshot::take({sub}, ignored)).empty());
  EXPECT_TRUE(changed_since({sub}, mark, ignored).empty());
  make_dir("sub/new");  // a folder created is a change
  EXPECT_EQ(changed_since({sub}, mark, ignored), Paths{sub});
  EXPECT_EQ(before.diff(Snapshot::take({sub}, ignored)), Paths{sub});
}

TEST_F(SnapshotTest, ChangedSinceIgnoresAnMtimeInTheFuture) {
  const std::string file = write("future.txt", "one");
  constexpr std::int64_t kAnHourAhead = 3600;
  timespec times[2] = {{0, UTIME_OMIT}, {0, 0}};
  times[1].tv_sec = ::time(nullptr) + kAnHourAhead;  // as `touch -d` or tar with a skewed clock
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times, 0), 0);
  std::this_thread::sleep_for(kClockTick);
  const std::int64_t mark = file_clock_now_ns();
  EXPECT_TRUE(changed_since({file}, mark).empty());
  write("future.txt", "two");
  EXPECT_EQ(changed_since({file}, mark), Paths{file});
}

TEST(ChangedSinceTest, ReportsPathsChangedAtOrAfterTheMark) {
  std::string pattern = (fs::temp_directory_path() / "doit-watch-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const std::string dir = pattern;
  const std::string old_file = dir + "/old.txt";
  const std::string new_file = dir + "/new.txt";
  const std::string sub = dir + "/sub";
  fs::create_directory(sub);
  std::ofstream(old_file) << "old";
  std::ofstream(new_file) << "one";
  std::ofstream(sub + "/e.txt") << "one";
  std::this_thread::sleep_for(kClockTick);
  const std::int64_t mark = file_clock_now_ns();
  EXPECT_TRUE(changed_since({old_file, new_file, sub}, mark).empty());
  std::ofstream(new_file) << "two";
  std::ofstream(sub + "/e.txt") << "two";
  EXPECT_EQ(changed_since({sub, old_file, new_file, dir + "/missing", new_file}, mark),
            (Paths{new_file, sub}));
  EXPECT_LE(mark, file_clock_now_ns());
  EXPECT_GT(mark, kSomeRecentTimeSeconds * kNanosPerSecond);  // a wall clock, not uptime
  fs::remove_all(dir);
}

}  // namespace
}  // namespace doit

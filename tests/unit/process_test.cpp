#include "doit/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "doit/output.h"

namespace doit {
namespace {

using Clock = std::chrono::steady_clock;

/// Records every live echo call, stdout and stderr apart.
class RecordingLive : public LiveOutput {
 public:
  void out(std::string_view text) override { outs.emplace_back(text); }
  void err(std::string_view text) override { errs.emplace_back(text); }
  std::vector<std::string> outs;
  std::vector<std::string> errs;
};

/// Sends what is written to `fd` (1 or 2) into a pipe until finish().
class FdCapture {
 public:
  explicit FdCapture(int fd) : fd_(fd) {
    std::fflush(nullptr);
    flush_console();
    int p[2];
    EXPECT_EQ(::pipe(p), 0);
    read_end_ = p[0];
    saved_ = ::dup(fd_);
    ::dup2(p[1], fd_);
    ::close(p[1]);
  }
  /// Restores `fd` and returns what was written to it.
  std::string finish() {
    ::dup2(saved_, fd_);
    ::close(saved_);
    std::string text;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(read_end_, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    ::close(read_end_);
    return text;
  }

 private:
  int fd_;
  int saved_ = -1;
  int read_end_ = -1;
};

ProcessResult sh(const std::string& command, LiveOutput* live_out = nullptr,
                 LiveOutput* live_err = nullptr) {
  SpawnSpec spec;
  spec.argv = shell_argv(command);
  return run_process(spec, live_out, live_err);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TEST(ShellArgvTest, RunsTheCommandThroughBinSh) {
  EXPECT_EQ(shell_argv("echo a | wc -l"),
            (std::vector<std::string>{"/bin/sh", "-c", "echo a | wc -l"}));
}

TEST(RunProcessTest, CapturesStdoutAndStderrSeparately) {
  const ProcessResult r = sh("echo out1; echo err1 >&2; echo out2");
  EXPECT_EQ(r.returncode, 0);
  EXPECT_EQ(r.out, "out1\nout2\n");
  EXPECT_EQ(r.err, "err1\n");
  EXPECT_EQ(r.spawn_error, "");
}

TEST(RunProcessTest, ReturnsTheExitStatus) {
  EXPECT_EQ(sh("exit 3").returncode, 3);
  EXPECT_EQ(sh("exit 130").returncode, 130);
}

TEST(RunProcessTest, ReturnsMinusTheSignalForAKilledChild) {
  EXPECT_EQ(sh("kill -TERM $$").returncode, -SIGTERM);
  EXPECT_EQ(sh("echo partial; kill -KILL $$").returncode, -SIGKILL);
}

TEST(RunProcessTest, ReadsBothPipesWithoutDeadlockingOnLargeOutput) {
  const ProcessResult r =
      sh("head -c 200000 /dev/zero | tr '\\0' o; head -c 150000 /dev/zero | tr '\\0' e >&2; "
         "head -c 100000 /dev/zero | tr '\\0' p");
  EXPECT_EQ(r.returncode, 0);
  EXPECT_EQ(r.out, std::string(200000, 'o') + std::string(100000, 'p'));
  EXPECT_EQ(r.err, std::string(150000, 'e'));
}

TEST(RunProcessTest, RunsAnArgvWithoutAShellSearchingThePath) {
  SpawnSpec spec;
  spec.argv = {"printf", "%s|", "a b", "$HOME", "*"};
  const ProcessResult r = run_process(spec, nullptr, nullptr);
  EXPECT_EQ(r.returncode, 0);
  EXPECT_EQ(r.out, "a b|$HOME|*|");
}

TEST(RunProcessTest, ReportsAProgramThatCannotBeStarted) {
  SpawnSpec spec;
  spec.argv = {"/nonexistent/doit-no-such-program"};
  const ProcessResult r = run_process(spec, nullptr, nullptr);
  EXPECT_EQ(r.returncode, 127);
  EXPECT_NE(r.spawn_error, "");
  EXPECT_EQ(r.out, "");
}

TEST(RunProcessTest, RunsInTheGivenDirectory) {
  SpawnSpec spec;
  spec.argv = shell_argv("pwd");
  spec.cwd = "/";
  EXPECT_EQ(run_process(spec, nullptr, nullptr).out, "/\n");
}

TEST(RunProcessTest, ReplacesTheEnvironmentWhenOneIsGiven) {
  SpawnSpec spec;
  spec.argv = shell_argv("echo \"$DOIT_TEST_VAR-${HOME:-nohome}\"");
  spec.env = std::vector<std::string>{"DOIT_TEST_VAR=bar"};
  EXPECT_EQ(run_process(spec, nullptr, nullptr).out, "bar-nohome\n");
}

TEST(RunProcessTest, WaitsForEofWhileABackgroundChildKeepsThePipeOpen) {
  const auto start = Clock::now();
  const ProcessResult r = sh("sleep 0.3 & echo started");
  EXPECT_GE(seconds_since(start), 0.25);
  EXPECT_EQ(r.out, "started\n");
}

TEST(RunProcessTest, DoesNotWaitForABackgroundChildWithRedirectedOutput) {
  const auto start = Clock::now();
  const ProcessResult r = sh("sleep 2 >/dev/null 2>&1 & echo started");
  EXPECT_LT(seconds_since(start), 1.5);
  EXPECT_EQ(r.out, "started\n");
}

TEST(RunProcessTest, EchoesCompleteLinesOnly) {
  RecordingLive live;
  const ProcessResult r = sh("printf 'a\\nb'; sleep 0.2; printf 'c\\n'", &live, nullptr);
  EXPECT_EQ(live.outs, (std::vector<std::string>{"a\n", "bc\n"}));
  EXPECT_EQ(r.out, "a\nbc\n");
}

TEST(RunProcessTest, EchoesAnUnterminatedLastLineAtEof) {
  RecordingLive live;
  sh("printf 'x\\ny'", &live, nullptr);
  EXPECT_EQ(live.outs, (std::vector<std::string>{"x\n", "y"}));
}

TEST(RunProcessTest, EchoesStderrToTheErrSideAndStdoutToTheOutSide) {
  RecordingLive live_out, live_err;
  const ProcessResult r = sh("echo o1; echo e1 >&2", &live_out, &live_err);
  EXPECT_EQ(live_out.outs, std::vector<std::string>{"o1\n"});
  EXPECT_TRUE(live_out.errs.empty());
  EXPECT_EQ(live_err.errs, std::vector<std::string>{"e1\n"});
  EXPECT_TRUE(live_err.outs.empty());
  EXPECT_EQ(r.out, "o1\n");
  EXPECT_EQ(r.err, "e1\n");
}

TEST(RunProcessTest, CapturesWithoutEchoWhenNoLiveOutputIsGiven) {
  RecordingLive live_err;
  const ProcessResult r = sh("echo hidden; echo shown >&2", nullptr, &live_err);
  EXPECT_EQ(live_err.errs, std::vector<std::string>{"shown\n"});
  EXPECT_EQ(r.out, "hidden\n");
}

TEST(RunProcessTest, ReplacesInvalidUtf8InCaptureAndEcho) {
  RecordingLive live;
  const ProcessResult r = sh("printf '\\377ok\\n'", &live, nullptr);
  EXPECT_EQ(r.out, "\xEF\xBF\xBDok\n");
  EXPECT_EQ(live.outs, std::vector<std::string>{"\xEF\xBF\xBDok\n"});
}

TEST(RunProcessTest, WithoutCaptureTheChildWritesToOurOwnStreams) {
  RecordingLive live;
  SpawnSpec spec;
  spec.argv = shell_argv("echo to-stdout; echo to-stderr >&2; exit 4");
  spec.capture = false;
  FdCapture out(STDOUT_FILENO);
  FdCapture err(STDERR_FILENO);
  const ProcessResult r = run_process(spec, &live, &live);
  const std::string err_text = err.finish();
  const std::string out_text = out.finish();
  EXPECT_EQ(r.returncode, 4);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(live.outs.empty());
  EXPECT_TRUE(live.errs.empty());
  EXPECT_EQ(out_text, "to-stdout\n");
  EXPECT_EQ(err_text, "to-stderr\n");
}

/// Drives `child` to its end as the parallel executor does: poll, then read.
ProcessResult drive(ChildProcess& child) {
  std::vector<int> fds;
  while (!child.finished()) {
    fds.clear();
    child.poll_fds(fds);
    std::vector<pollfd> pfds;
    for (int fd : fds) pfds.push_back({fd, POLLIN, 0});
    if (::poll(pfds.data(), pfds.size(), child.poll_timeout_ms()) <= 0) continue;
    for (const pollfd& p : pfds) {
      if (p.revents != 0) child.on_ready(p.fd);
    }
  }
  return child.take_result();
}

/// Polls `child` until it has echoed a line to `live`; false after 5 s.
bool poll_until_a_line(ChildProcess& child, const RecordingLive& live) {
  std::vector<int> fds;
  while (live.outs.empty()) {
    fds.clear();
    child.poll_fds(fds);
    std::vector<pollfd> pfds;
    for (int fd : fds) pfds.push_back({fd, POLLIN, 0});
    if (::poll(pfds.data(), pfds.size(), 5000) <= 0) return false;
    for (const pollfd& p : pfds) {
      if (p.revents != 0) child.on_ready(p.fd);
    }
  }
  return true;
}

bool gone(pid_t pid) {
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    if (::kill(pid, 0) != 0) return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const size_t close = line.rfind(')');
    if (close != std::string::npos && line.substr(close + 2, 1) == "Z") return true;
    ::usleep(10'000);
  }
  return false;
}

TEST(ChildProcessTest, InItsOwnGroupItReadsEndOfFileFromStdin) {
  SpawnSpec spec;
  spec.argv = shell_argv("if read line; then echo got; else echo eof; fi; ps -o pgid= -p $$");
  spec.own_group = true;
  ChildProcess child(spec, nullptr, nullptr);
  const ProcessResult r = drive(child);
  ASSERT_EQ(r.returncode, 0);
  EXPECT_EQ(r.out.substr(0, 4), "eof\n");
  EXPECT_NE(std::stoi(r.out.substr(4)), ::getpgrp());
}

TEST(ChildProcessTest, SignalStopsTheWholeGroup) {
  SpawnSpec spec;
  spec.argv = shell_argv("sleep 30 & echo $!; wait");
  spec.own_group = true;
  RecordingLive live;
  ChildProcess child(spec, &live, &live);
  ASSERT_TRUE(poll_until_a_line(child, live));
  const pid_t background = std::stoi(live.outs.front());
  child.signal(SIGTERM);
  const ProcessResult r = drive(child);
  EXPECT_EQ(r.returncode, -SIGTERM);
  EXPECT_TRUE(gone(background));
}

TEST(ChildProcessTest, EchoesAsItComesWithoutSplittingACharacter) {
  SpawnSpec spec;
  spec.argv = shell_argv("printf 'ab\\303'; sleep 0.3; printf '\\251\\n'");
  spec.echo_as_it_comes = true;
  RecordingLive live;
  ChildProcess child(spec, &live, &live);
  ASSERT_TRUE(poll_until_a_line(child, live));
  EXPECT_EQ(live.outs.front(), "ab");  // the first byte of é waits for the second
  EXPECT_EQ(drive(child).returncode, 0);
  EXPECT_EQ(live.outs.back(), "\xC3\xA9\n");
}

TEST(ChildProcessTest, ReportsTheExitOfAnUncapturedChild) {
  SpawnSpec spec;
  spec.argv = shell_argv("exit 7");
  spec.capture = false;
  ChildProcess child(spec, nullptr, nullptr);
  EXPECT_EQ(drive(child).returncode, 7);
}

TEST(ChildProcessTest, DestroyingARunningChildKillsAndReapsIt) {
  SpawnSpec spec;
  spec.argv = shell_argv("echo $$; exec sleep 30");
  spec.own_group = true;
  RecordingLive live;
  pid_t pid = -1;
  {
    ChildProcess child(spec, &live, &live);
    ASSERT_TRUE(poll_until_a_line(child, live));
    pid = std::stoi(live.outs.front());
  }
  EXPECT_NE(::kill(pid, 0), 0);  // reaped: not even a zombie
}

TEST(RunAsCloserTest, AnyOtherInvocationIsNotTheCloser) {
  char name[] = "doit";
  char closer[] = "doit: closing descriptors";
  char arg[] = "run";
  char* plain[] = {name, nullptr};
  char* with_arg[] = {closer, arg, nullptr};
  EXPECT_EQ(run_as_closer(1, plain), std::nullopt);
  EXPECT_EQ(run_as_closer(2, with_arg), std::nullopt);
}

TEST(RunAsCloserTest, TheCloserWaitsForTheEndOfItsStdin) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  const int saved = ::dup(STDIN_FILENO);
  ::dup2(p[0], STDIN_FILENO);
  ::close(p[0]);
  ASSERT_EQ(::write(p[1], "xy", 2), 2);
  ::close(p[1]);
  std::string name(kCloserName);
  char* argv[] = {name.data(), nullptr};
  EXPECT_EQ(run_as_closer(1, argv), 0);
  char byte;
  EXPECT_EQ(::read(STDIN_FILENO, &byte, 1), 0);  // all read, up to the end
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
}

TEST(CloseInChildTest, AChildTakesTheDescriptorsOverAndEndsOnItsOwn) {
  int first[2], second[2];
  ASSERT_EQ(::pipe2(first, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(second, O_CLOEXEC), 0);
  const int handed[] = {first[1], second[1]};
  const pid_t pid = close_in_child(handed);
  ASSERT_GT(pid, 0);
  for (const int fd : handed) {  // closed here
    errno = 0;
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
    EXPECT_EQ(errno, EBADF);
  }
  EXPECT_EQ(::getpgid(pid), pid);  // in a group of its own: a Ctrl-C is not for it
  // It ends by itself: this process's part is done.
  int status = -1;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  char byte;
  for (const int fd : {first[0], second[0]}) {  // no copy of the write ends is left
    EXPECT_EQ(::read(fd, &byte, 1), 0);
    ::close(fd);
  }
}

}  // namespace
}  // namespace doit

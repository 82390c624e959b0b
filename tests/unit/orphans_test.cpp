#include "doit/orphans.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

namespace doit {
namespace {

/// Runs `body` in a child process (adopting orphans there leaves the test
/// runner as it was) and returns its exit status: the body's return value,
/// or 100 + the signal that killed it.
int in_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int code = 1;
    try {
      code = body();
    } catch (...) {
      code = 2;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

/// Daemonizes as a server would: a child in a new session whose own child
/// (orphaned at once, adopted by us) waits for a signal, or ends at once
/// when `linger` is false. Returns the orphan's pid.
pid_t start_escaped_orphan(bool linger) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  const pid_t middle = ::fork();
  if (middle == 0) {
    ::setsid();
    const pid_t orphan = ::fork();
    if (orphan == 0) {
      if (linger) ::pause();
      ::_exit(0);
    }
    [[maybe_unused]] const ssize_t n = ::write(fds[1], &orphan, sizeof orphan);
    ::_exit(0);
  }
  pid_t orphan = -1;
  [[maybe_unused]] const ssize_t n = ::read(fds[0], &orphan, sizeof orphan);
  ::close(fds[0]);
  ::close(fds[1]);
  ::waitpid(middle, nullptr, 0);
  return orphan;
}

bool exists(pid_t pid) { return std::filesystem::exists("/proc/" + std::to_string(pid)); }

bool is_descendant(pid_t pid) {
  const std::vector<pid_t> all = descendants();
  return std::find(all.begin(), all.end(), pid) != all.end();
}

TEST(OrphansTest, AnOrphanThatLeftTheSessionIsAdoptedAndStopped) {
  EXPECT_EQ(in_child([] {
              if (!adopt_orphans()) return 10;
              const pid_t orphan = start_escaped_orphan(/*linger=*/true);
              if (orphan <= 0 || ::getsid(orphan) == ::getsid(0)) return 11;
              if (!is_descendant(orphan)) return 12;  // adopted: ours, not init's
              if (stop_escaped_descendants(std::chrono::milliseconds(2000)) != 1) return 13;
              return exists(orphan) ? 14 : 0;  // stopped and reaped
            }),
            0);
}

TEST(OrphansTest, WhatATaskThatFinishedStartedIsLeftAlone) {
  EXPECT_EQ(in_child([] {
              adopt_orphans();
              const pid_t orphan = start_escaped_orphan(/*linger=*/true);
              release_descendants();  // the task that started it finished
              const int stopped = stop_escaped_descendants(std::chrono::milliseconds(2000));
              const bool alive = exists(orphan) && is_descendant(orphan);
              ::kill(orphan, SIGKILL);
              ::waitpid(orphan, nullptr, 0);
              return stopped == 0 && alive ? 0 : 20;
            }),
            0);
}

TEST(OrphansTest, AnAdoptedOrphanThatEndsIsReaped) {
  // A zombie still answers kill -0: a pid-file `stop` loop would wait forever.
  EXPECT_EQ(in_child([] {
              adopt_orphans();
              const pid_t orphan = start_escaped_orphan(/*linger=*/false);
              const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
              while (exists(orphan) && std::chrono::steady_clock::now() < deadline) {
                reap_adopted_zombies();
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
              }
              return exists(orphan) ? 30 : 0;
            }),
            0);
}

TEST(OrphansTest, ATrackedChildIsLeftToItsOwner) {
  EXPECT_EQ(in_child([] {
              adopt_orphans();
              const pid_t child = ::fork();
              if (child == 0) ::_exit(7);
              track_child(child);
              std::this_thread::sleep_for(std::chrono::milliseconds(200));  // it ends meanwhile
              reap_adopted_zombies();
              int status = 0;
              const bool ours = ::waitpid(child, &status, 0) == child;  // still there to reap
              untrack_child(child);
              return ours && WEXITSTATUS(status) == 7 ? 0 : 40;
            }),
            0);
}

TEST(OrphansTest, NothingIsAdoptedUnlessAsked) {
  EXPECT_EQ(in_child([] { return adopting_orphans() ? 50 : 0; }), 0);
}

}  // namespace
}  // namespace doit

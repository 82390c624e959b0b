#include "doit/orphans.h"

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include "doit/fs.h"

namespace doit {
namespace {

/// How often reap_adopted_zombies looks at the children at most.
constexpr std::chrono::milliseconds kReapInterval{50};
/// How often stop_escaped_descendants looks whether they are gone.
constexpr std::chrono::milliseconds kStopPoll{20};
/// How long SIGKILLed processes get to go before doit gives up on them (a
/// process stuck in the kernel cannot be killed).
constexpr std::chrono::milliseconds kKillWait{5000};
/// Fields of /proc/PID/stat after the command name: state is the first,
/// starttime the 20th.
constexpr int kStateField = 0;
constexpr int kStartTimeField = 19;

std::atomic<bool> g_adopting{false};
std::atomic<int> g_interrupts{0};
std::mutex g_mutex;
std::set<pid_t> g_tracked;                                  // guarded by g_mutex
std::set<std::pair<pid_t, unsigned long long>> g_released;  // pid, start time; g_mutex
std::chrono::steady_clock::time_point g_last_reap;          // guarded by g_mutex

/// The state letter and start time of `pid`, from /proc/PID/stat; false
/// when it is gone.
bool process_stat(pid_t pid, char* state, unsigned long long* start_time) {
  std::string text;
  if (!read_small_file("/proc/" + std::to_string(pid) + "/stat", &text)) return false;
  const std::size_t close = text.rfind(')');  // the command name may hold spaces and ')'
  if (close == std::string::npos || close + 2 > text.size()) return false;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  for (int i = 0; fields >> field; ++i) {
    if (i == kStateField) *state = field.empty() ? '?' : field[0];
    if (i == kStartTimeField) {
      *start_time = std::stoull(field);
      return true;
    }
  }
  return false;
}

/// The children of `pid` (of each of its threads).
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(tasks.c_str());
  if (dir == nullptr) return out;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::string text;
    if (!read_small_file(tasks + "/" + entry->d_name + "/children", &text)) continue;
    std::istringstream in(text);
    pid_t child = 0;
    while (in >> child) out.push_back(child);
  }
  ::closedir(dir);
  return out;
}

/// Reaps `pid` if it is a child of ours that ended (never blocks).
void reap_if_ended(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) < 0 && errno == EINTR) {
  }
}

using Process = std::pair<pid_t, unsigned long long>;  // pid, start time

bool is_released(const Process& process) {
  std::lock_guard lock(g_mutex);
  return g_released.contains(process);
}

/// Visits the descendants of this process, parents before children;
/// `visit` returns whether to go on into the children of the one it got.
void walk_descendants(const std::function<bool(pid_t)>& visit) {
  std::vector<pid_t> pending = children_of(::getpid());
  std::set<pid_t> seen;
  while (!pending.empty()) {
    const pid_t pid = pending.back();
    pending.pop_back();
    if (!seen.insert(pid).second || !visit(pid)) continue;
    std::vector<pid_t> more = children_of(pid);
    pending.insert(pending.end(), more.begin(), more.end());
  }
}

/// The living descendants that were not released, with their own
/// descendants (but not those of released ones). Zombies met on the way
/// are reaped when they are ours.
std::vector<Process> escaped() {
  std::vector<Process> out;
  walk_descendants([&out](pid_t pid) {
    char state = '?';
    unsigned long long start_time = 0;
    if (!process_stat(pid, &state, &start_time)) return false;
    if (state == 'Z') {
      reap_if_ended(pid);  // ours (adopted); another's is reaped by its parent
      return false;
    }
    if (is_released({pid, start_time})) return false;
    out.emplace_back(pid, start_time);
    return true;
  });
  return out;
}

}  // namespace

bool adopt_orphans() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return false;
  g_adopting = true;
  return true;
}

bool adopting_orphans() { return g_adopting; }

void note_interrupt() { g_interrupts.fetch_add(1); }

bool interrupt_noted() { return g_interrupts.load() != 0; }

std::vector<pid_t> descendants() {
  std::vector<pid_t> out;
  walk_descendants([&out](pid_t pid) {
    out.push_back(pid);
    return true;
  });
  return out;
}

void track_child(pid_t pid) {
  std::lock_guard lock(g_mutex);
  g_tracked.insert(pid);
}

void untrack_child(pid_t pid) {
  std::lock_guard lock(g_mutex);
  g_tracked.erase(pid);
}

void reap_adopted_zombies() {
  if (!g_adopting) return;
  std::vector<pid_t> children;
  {
    std::lock_guard lock(g_mutex);
    const auto now = std::chrono::steady_clock::now();
    if (now - g_last_reap < kReapInterval) return;
    g_last_reap = now;
    for (const pid_t pid : children_of(::getpid())) {
      if (!g_tracked.contains(pid)) children.push_back(pid);
    }
  }
  for (const pid_t pid : children) {
    char state = '?';
    unsigned long long start_time = 0;
    if (process_stat(pid, &state, &start_time) && state == 'Z') reap_if_ended(pid);
  }
}

void release_descendants() {
  if (!g_adopting) return;
  // No child at all (the usual case once a task's commands were reaped):
  // one system call instead of a walk through /proc after every task.
  siginfo_t info{};
  if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 && errno == ECHILD) return;
  std::set<std::pair<pid_t, unsigned long long>> now;
  for (const pid_t pid : descendants()) {
    char state = '?';
    unsigned long long start_time = 0;
    if (process_stat(pid, &state, &start_time)) now.emplace(pid, start_time);
  }
  std::lock_guard lock(g_mutex);
  g_released.insert(now.begin(), now.end());
}

int stop_escaped_descendants(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int interrupts = g_interrupts.load();
  std::set<Process> signalled;
  bool killing = false;
  while (true) {
    const std::vector<Process> alive = escaped();
    if (alive.empty()) break;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline + kKillWait) break;  // e.g. stuck in the kernel: nothing more to do
    // SIGKILL after the timeout, or at once on another Ctrl-C.
    if (now >= deadline || g_interrupts.load() != interrupts) killing = true;
    for (const Process& process : alive) {
      if (killing) {
        ::kill(process.first, SIGKILL);
      } else if (signalled.insert(process).second) {
        ::kill(process.first, SIGTERM);
        ::kill(process.first, SIGCONT);  // a stopped process gets it now
      }
    }
    std::this_thread::sleep_for(kStopPoll);
  }
  return static_cast<int>(signalled.size());
}

}  // namespace doit

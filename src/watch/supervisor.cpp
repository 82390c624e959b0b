// The `doit auto` supervisor. A cycle is a `doit run` child that runs the
// tasks; one runs at a time. A cycle whose tasks include servers (the last
// action of a task, still running: a dev server, a watcher) stays after its
// tasks are done, for as long as any of its servers runs; the servers of
// several cycles run side by side, each in a process group of its own. A
// new cycle runs while the old servers keep serving; only when it is about
// to start a server's task again does it ask us to stop that one server
// ("build, then swap").
#include "doit/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "doit/listening.h"
#include "doit/process.h"
#include "doit/watcher.h"

extern char** environ;

namespace doit {
namespace {

/// Exit code of a cycle that failed before running anything (doit's user error).
constexpr int kUserErrorExit = 3;
constexpr int kSignalExitBase = 128;
/// At most this many changed paths are named in the "why" line.
constexpr size_t kPathsShown = 3;
/// How often a stop checks whether the process group is gone.
constexpr std::chrono::milliseconds kReapPoll{20};
constexpr size_t kReadChunk = 4096;

int g_signal_pipe[2] = {-1, -1};
volatile sig_atomic_t g_stop_signal = 0;

void on_signal(int sig) {
  if (sig != SIGCHLD) g_stop_signal = sig;
  const int saved = errno;
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = ::write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

void install_signals() {
  if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaction(sig, &sa, nullptr);
}

void drain_signal_pipe() {
  char buf[64];
  while (::read(g_signal_pipe[0], buf, sizeof buf) > 0) {
  }
}

void say(const std::string& line) {
  const std::string text = "doit auto: " + line + "\n";
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
}

/// Spawns argv in a new process group, signals back to their defaults, stdin
/// from /dev/null: the group is not the terminal's foreground group, so a
/// read from the terminal would stop it (SIGTTIN) for ever; it reads end of
/// file instead.
pid_t spawn(const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  reset_child_signals(&attr);
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cargv[0], &actions, &attr, cargv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error(fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
  }
  return pid;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return kSignalExitBase + WTERMSIG(status);
  return 1;
}

bool group_alive(pid_t pgid) { return ::killpg(pgid, 0) == 0 || errno == EPERM; }

void run_callback(const std::string& command) {
  if (command.empty()) return;
  const pid_t pid = spawn({"/bin/sh", "-c", command});
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string describe(const std::vector<std::string>& paths) {
  std::string text;
  for (size_t i = 0; i < paths.size() && i < kPathsShown; ++i) text += (i ? ", " : "") + paths[i];
  if (paths.size() > kPathsShown) text += fmt::format(" and {} more", paths.size() - kPathsShown);
  return text + " changed";
}

/// One cycle process and what it reported.
struct Cycle {
  pid_t pid = -1;
  int fd = -1;  // our end of its report socket
  std::string buffer;
  bool loaded = false;
  bool selected = false;
  std::vector<std::string> watch;
  std::vector<std::string> ignore;
  std::set<std::string> reach;  // the tasks it may run
  /// The watch set when the cycle reported it complete, and its state then.
  std::vector<std::string> reported;
  std::optional<Snapshot> at_report;
  std::optional<int> finished;  // "finished <result>": its tasks are done
  std::optional<int> status;    // its exit status, once reaped
};

/// The last action of a task, running on in a process group of its own.
struct Server {
  pid_t group = -1;
  pid_t owner = -1;  // the cycle process that waits on it
  bool up = false;   // declared (LongRunning), or seen listening on a socket
};

/// The success callback of the last cycle, until its servers are up.
struct PendingSuccess {
  std::set<std::string> waiting;  // the tasks whose servers are not up yet
};

/// How often a pending success callback looks whether the servers are up.
constexpr std::chrono::milliseconds kUpPoll{100};

WatcherOptions watcher_options(const AutoOptions& opt) {
  WatcherOptions options;
  options.poll_interval = opt.poll_interval;
  options.on_fallback = say;
  return options;
}

std::vector<std::string> sorted_unique(std::vector<std::string> paths) {
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  return paths;
}

class Supervisor {
 public:
  explicit Supervisor(const AutoOptions& opt)
      : opt_(opt), watcher_(watcher_options(opt)), last_watch_(opt.base_watch) {}

  int run() {
    try {
      return loop();
    } catch (const std::exception& e) {
      say(e.what());
      return shut_down(1);
    }
  }

 private:
  int loop() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    start_cycle();
    while (true) {
      if (g_stop_signal != 0) return shut_down(0);
      std::vector<pollfd> fds = {{g_signal_pipe[0], POLLIN, 0}};
      for (const auto& [pid, c] : cycles_) {
        if (c.fd >= 0) fds.push_back({c.fd, POLLIN, 0});
      }
      if (armed_ && watcher_.fd() >= 0) fds.push_back({watcher_.fd(), POLLIN, 0});
      // A polling watcher has no descriptor: wake up when its next scan is due.
      int timeout_ms = armed_ ? static_cast<int>(watcher_.until_next_scan().count()) : -1;
      if (pending_) {
        const int up_poll = static_cast<int>(kUpPoll.count());
        timeout_ms = timeout_ms < 0 ? up_poll : std::min(timeout_ms, up_poll);
      }
      if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) return shut_down(1);
      drain_signal_pipe();
      if (g_stop_signal != 0) return shut_down(0);
      read_reports();
      collect_exits();
      if (std::optional<int> code = finish_exited_cycles()) return shut_down(*code);
      check_pending_success();
      if (armed_ && current_ < 0) watch_for_changes();
    }
  }

  void start_cycle() {
    // Changes the watcher queued before now, the new cycle sees when it
    // loads; reported after it, they would start a cycle for nothing.
    watcher_.wait(std::chrono::milliseconds(0), std::chrono::milliseconds(0));
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) {
      throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
    }
    ::fcntl(pair[0], F_SETFD, FD_CLOEXEC);
    std::vector<std::string> argv = opt_.cycle_argv;
    argv.insert(argv.begin() + 2, fmt::format("--auto-report={}", pair[1]));
    pending_.reset();  // the last cycle's success is superseded
    std::erase_if(groups_, [](pid_t group) { return !group_alive(group); });
    // The cycle starts on a new tick of the file clock: a file written before
    // (in the tick before) does not count as written while it ran.
    const std::int64_t started = file_clock_next_tick_ns();
    Cycle c;
    c.pid = spawn(argv);
    c.fd = pair[0];
    ::close(pair[1]);
    current_ = c.pid;
    groups_.insert(c.pid);
    cycles_[c.pid] = std::move(c);
    armed_ = false;
    started_ns_ = started;
    previous_watch_ = last_watch_;
    before_ = Snapshot::take(previous_watch_, last_ignore_);
    previous_ignore_ = last_ignore_;
  }

  /// Reads what `c` sent; false at its end.
  bool read_from(Cycle& c) {
    char buf[kReadChunk];
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      ::close(c.fd);
      c.fd = -1;
    } else if (n > 0) {
      c.buffer.append(buf, static_cast<size_t>(n));
    }
    handle_lines(c);
    return n > 0;
  }

  void read_reports() {
    // handle_lines may start a cycle: std::map keeps the iterators valid.
    for (auto& [pid, c] : cycles_) {
      if (c.fd >= 0) read_from(c);
    }
  }

  void handle_lines(Cycle& c) {
    size_t nl;
    while ((nl = c.buffer.find('\n')) != std::string::npos) {
      const std::string line = c.buffer.substr(0, nl);
      c.buffer.erase(0, nl + 1);
      if (line.starts_with(auto_report::kWatch)) {
        c.watch.push_back(line.substr(auto_report::kWatch.size()));
      } else if (line.starts_with(auto_report::kIgnore)) {
        c.ignore.push_back(line.substr(auto_report::kIgnore.size()));
      } else if (line.starts_with(auto_report::kReach)) {
        c.reach.insert(line.substr(auto_report::kReach.size()));
      } else if (line == auto_report::kWatched) {
        watched(c);
      } else if (line == auto_report::kLoaded) {
        c.loaded = true;
      } else if (line == auto_report::kSelected) {
        c.selected = true;
      } else if (line.starts_with(auto_report::kStop)) {
        const std::string task = line.substr(auto_report::kStop.size());
        if (c.pid == current_ && servers_.contains(task)) {
          say("restarting " + task);
          stop_server(task);
        }
        const std::string ok = std::string(auto_report::kOk) + "\n";
        [[maybe_unused]] const ssize_t n = ::send(c.fd, ok.data(), ok.size(), MSG_NOSIGNAL);
      } else if (line.starts_with(auto_report::kGroup)) {
        groups_.insert(static_cast<pid_t>(std::atol(line.c_str() + auto_report::kGroup.size())));
      } else if (line.starts_with(auto_report::kRunning)) {
        running(c, line.substr(auto_report::kRunning.size()));
      } else if (line.starts_with(auto_report::kFinished)) {
        c.finished = std::atoi(line.c_str() + auto_report::kFinished.size());
        if (c.pid == current_) end_of_cycle(c, *c.finished);
      } else if (line.starts_with(auto_report::kExited)) {
        exited(c, line.substr(auto_report::kExited.size()));
      }
    }
  }

  /// The cycle's watch set is complete: what it is now is what the end of
  /// the cycle compares with (a deletion in the first cycle is seen too),
  /// and the servers of tasks it will not run are stopped.
  void watched(Cycle& c) {
    std::vector<std::string> paths = opt_.base_watch;
    paths.insert(paths.end(), c.watch.begin(), c.watch.end());
    c.reported = sorted_unique(std::move(paths));
    c.at_report = Snapshot::take(c.reported, c.ignore);
    std::vector<std::string> gone;
    for (const auto& [task, server] : servers_) {
      if (!c.reach.contains(task)) gone.push_back(task);
    }
    for (const std::string& task : gone) {
      say("stopping " + task + " (no longer one of the tasks)");
      stop_server(task);
    }
  }

  /// "<pgid> up|started <task>": a server of cycle `c`.
  void running(Cycle& c, const std::string& what) {
    const size_t space = what.find(' ');
    const size_t second = space == std::string::npos ? space : what.find(' ', space + 1);
    if (second == std::string::npos) return;
    const std::string task = what.substr(second + 1);
    if (servers_.contains(task)) stop_server(task);  // an older one, still there
    Server server;
    server.group = static_cast<pid_t>(std::atol(what.c_str()));
    server.owner = c.pid;
    server.up = what.substr(space + 1, second - space - 1) == auto_report::kUp;
    servers_[task] = server;
    groups_.insert(server.group);
  }

  /// "<result> <task>": a server of cycle `c` ended on its own.
  void exited(Cycle& c, const std::string& what) {
    const size_t space = what.find(' ');
    if (space == std::string::npos) return;
    const std::string task = what.substr(space + 1);
    auto it = servers_.find(task);
    if (it == servers_.end() || it->second.owner != c.pid) return;  // we stopped it
    servers_.erase(it);
    const int result = std::atoi(what.c_str());
    say(fmt::format("{} exited ({})", task, result));
    if (result != 0) {
      pending_.reset();
      run_callback(opt_.failure_command);
    } else if (pending_ && pending_->waiting.erase(task) && pending_->waiting.empty()) {
      pending_.reset();
      run_callback(opt_.success_command);
    }
  }

  /// The current cycle's tasks are done; its servers (if any) run on.
  void end_of_cycle(Cycle& c, int result) {
    current_ = -1;
    if (result != 0) {
      run_callback(opt_.failure_command);
    } else {
      PendingSuccess pending;
      for (const auto& [task, server] : servers_) {
        if (server.owner == c.pid && !server.up) pending.waiting.insert(task);
      }
      if (pending.waiting.empty()) {
        run_callback(opt_.success_command);
      } else {
        pending_ = std::move(pending);
        check_pending_success();
      }
    }
    watch_or_go_on(c);
  }

  /// A success callback waits until each server of its cycle is up
  /// (listens on a socket) or has ended well.
  void check_pending_success() {
    if (!pending_) return;
    std::erase_if(pending_->waiting, [this](const std::string& task) {
      auto it = servers_.find(task);
      if (it == servers_.end()) return true;
      if (group_listens(it->second.group)) it->second.up = true;
      return it->second.up;
    });
    if (pending_->waiting.empty()) {
      pending_.reset();
      run_callback(opt_.success_command);
    }
  }

  /// Reaps every finished child (cycles, and orphans we are subreaper for);
  /// keeps the statuses of the cycles for collect_exits.
  void reap() {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (cycles_.contains(pid)) exits_[pid] = status;
    }
  }

  void collect_exits() {
    reap();
    for (const auto& [pid, status] : exits_) {
      if (auto it = cycles_.find(pid); it != cycles_.end()) it->second.status = status;
    }
    exits_.clear();
  }

  /// Handles the cycle processes that ended. Returns an exit code when auto
  /// must stop.
  std::optional<int> finish_exited_cycles() {
    std::vector<pid_t> ended;
    for (auto& [pid, c] : cycles_) {
      if (!c.status) continue;
      while (c.fd >= 0 && read_from(c)) {  // what it said before it ended
      }
      if (c.fd >= 0) {  // a process it started holds the socket
        ::close(c.fd);
        c.fd = -1;
      }
      ended.push_back(pid);
    }
    for (const pid_t pid : ended) {
      Cycle done = std::move(cycles_.at(pid));
      cycles_.erase(pid);
      for (auto& [task, server] : servers_) {
        if (server.owner == pid) server.owner = -1;  // stopped by its group only
      }
      if (pid != current_) continue;
      current_ = -1;
      const int code = exit_code(*done.status);
      if (code == kUserErrorExit && done.loaded && !done.selected) return kUserErrorExit;
      run_callback(code == 0 ? opt_.success_command : opt_.failure_command);
      watch_or_go_on(done);
    }
    return std::nullopt;
  }

  /// After a cycle: an edit made while it ran starts the next one at once;
  /// otherwise watch what it reported.
  void watch_or_go_on(const Cycle& done) {
    if (done.loaded) {
      // Written or created since the cycle started, or (of what was watched
      // before, or when the cycle reported its watch set) deleted or replaced.
      const std::vector<std::string> watch = watch_set(done);  // sets last_ignore_
      std::vector<std::string> during = changed_since(watch, started_ns_, last_ignore_);
      for (std::string& p : before_.diff(Snapshot::take(previous_watch_, previous_ignore_))) {
        during.push_back(p);
      }
      if (done.at_report) {
        for (std::string& p : done.at_report->diff(Snapshot::take(done.reported, done.ignore))) {
          during.push_back(p);
        }
      }
      during = sorted_unique(std::move(during));
      if (!during.empty()) {
        say(describe(during) + " while the tasks ran");
        start_cycle();
        return;
      }
    }
    arm(done);
  }

  std::vector<std::string> watch_set(const Cycle& c) {
    std::vector<std::string> watch = opt_.base_watch;
    if (c.loaded) {
      watch.insert(watch.end(), c.watch.begin(), c.watch.end());
      last_watch_ = watch;
      last_ignore_ = c.ignore;
    } else {
      watch = last_watch_;  // a broken dodo.py: wait for the next edit, no busy loop
    }
    return sorted_unique(std::move(watch));
  }

  void arm(const Cycle& c) {
    const std::vector<std::string> watch = watch_set(c);  // sets last_ignore_
    watcher_.watch(watch, last_ignore_);                  // WatchError: run() stops everything
    armed_ = true;
  }

  void watch_for_changes() {
    std::optional<Change> change =
        watcher_.wait(opt_.debounce, std::chrono::milliseconds(0), g_signal_pipe[0]);
    if (!change || g_stop_signal != 0) return;
    say(change->overflow ? "too many changes at once (the event queue overflowed)"
                         : describe(change->paths));
    start_cycle();
  }

  /// Stops the server of `task`: the cycle that waits on it is told first,
  /// so that it ends quietly, not as a failure.
  void stop_server(const std::string& task) {
    auto it = servers_.find(task);
    if (it == servers_.end()) return;
    const Server server = it->second;
    servers_.erase(it);
    if (auto owner = cycles_.find(server.owner); owner != cycles_.end() && owner->second.fd >= 0) {
      const std::string release = std::string(auto_report::kRelease) + task + "\n";
      [[maybe_unused]] const ssize_t n =
          ::send(owner->second.fd, release.data(), release.size(), MSG_NOSIGNAL);
    }
    stop_groups({server.group});
  }

  /// The stop signal to each process group; SIGKILL to those left after the
  /// timeout; waits until no process of them is left.
  void stop_groups(std::vector<pid_t> groups) {
    std::erase_if(groups, [](pid_t group) { return group <= 0; });
    for (const pid_t group : groups) ::killpg(group, opt_.stop_signal);
    const auto deadline = std::chrono::steady_clock::now() + opt_.stop_timeout;
    bool killed = false;
    while (true) {
      reap();
      std::erase_if(groups, [](pid_t group) { return !group_alive(group); });
      if (groups.empty()) break;
      if (!killed && std::chrono::steady_clock::now() >= deadline) {
        for (const pid_t group : groups) ::killpg(group, SIGKILL);
        killed = true;
      }
      std::this_thread::sleep_for(kReapPoll);
    }
    reap();
  }

  int shut_down(int code) {
    // Every cycle, every server, and anything left of earlier cycles (e.g.
    // background processes they started), all at once.
    std::vector<pid_t> groups(groups_.begin(), groups_.end());
    for (const auto& [pid, c] : cycles_) groups.push_back(pid);
    for (const auto& [task, server] : servers_) groups.push_back(server.group);
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    std::erase_if(groups, [](pid_t group) { return !group_alive(group); });
    stop_groups(std::move(groups));
    for (auto& [pid, c] : cycles_) {
      if (c.fd >= 0) ::close(c.fd);
    }
    cycles_.clear();
    servers_.clear();
    return code;
  }

  AutoOptions opt_;
  Watcher watcher_;
  bool armed_ = false;
  std::map<pid_t, Cycle> cycles_;          // the cycle processes alive, by pid
  pid_t current_ = -1;                     // the one running tasks, if any
  std::map<std::string, Server> servers_;  // by task
  std::optional<PendingSuccess> pending_;
  std::set<pid_t> groups_;      // every process group started, to stop at the end
  std::map<pid_t, int> exits_;  // cycles reaped, not yet looked at
  std::vector<std::string> last_watch_;
  std::vector<std::string> last_ignore_;      // the last loaded cycle's "ignore" paths
  std::vector<std::string> previous_watch_;   // the watch set when the cycle started
  std::vector<std::string> previous_ignore_;  // ... what it ignored
  Snapshot before_;                           // ... and its state then
  std::int64_t started_ns_ = 0;
};

}  // namespace

int run_auto(const AutoOptions& options) {
  AutoOptions opt = options;
  if (opt.stop_signal == 0) opt.stop_signal = SIGTERM;
  install_signals();
  return Supervisor(opt).run();
}

}  // namespace doit

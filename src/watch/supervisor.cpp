// The `doit auto` supervisor. States: a cycle may be running (a `doit run`
// child executing tasks), and one cycle may be serving (its last action is
// a long-running process, e.g. a dev server, that goes on while we watch).
// A new cycle runs while the old server keeps serving; only when the new
// cycle is about to start the same task again does it ask us to stop the
// old one ("build, then swap").
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
#include <cstring>
#include <set>
#include <thread>

#include <fmt/format.h>

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

/// Reaps every finished child (cycles, and orphans we are subreaper for);
/// returns the statuses of those in `watched`.
void reap(std::map<pid_t, int>& statuses) {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) statuses[pid] = status;
}

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
  std::string serving;  // the task whose process runs on, once reported
  std::optional<int> status;

  bool running() const { return pid > 0 && !status; }
};

WatcherOptions watcher_options(const AutoOptions& opt) {
  WatcherOptions options;
  options.poll_interval = opt.poll_interval;
  options.on_fallback = say;
  return options;
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
      if (cycle_.fd >= 0) fds.push_back({cycle_.fd, POLLIN, 0});
      if (serving_.fd >= 0) fds.push_back({serving_.fd, POLLIN, 0});
      if (armed_ && watcher_.fd() >= 0) fds.push_back({watcher_.fd(), POLLIN, 0});
      // A polling watcher has no descriptor: wake up when its next scan is due.
      const int timeout_ms = armed_ ? static_cast<int>(watcher_.until_next_scan().count()) : -1;
      if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) return shut_down(1);
      drain_signal_pipe();
      if (g_stop_signal != 0) return shut_down(0);
      read_reports();
      collect_exits();
      if (cycle_.pid > 0 && cycle_.status && cycle_.fd < 0) {
        if (std::optional<int> code = finish_cycle()) return shut_down(*code);
      }
      if (armed_ && !cycle_.running()) watch_for_changes();
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
    cycle_ = Cycle{};
    cycle_.pid = spawn(argv);
    cycle_.fd = pair[0];
    ::close(pair[1]);
    groups_.insert(cycle_.pid);
    armed_ = false;
    started_ns_ = file_clock_now_ns();
    previous_watch_ = last_watch_;
    before_ = Snapshot::take(previous_watch_, last_ignore_);
    previous_ignore_ = last_ignore_;
  }

  void read_reports() {
    for (Cycle* c : {&cycle_, &serving_}) {
      if (c->fd < 0) continue;
      char buf[kReadChunk];
      const ssize_t n = ::recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        ::close(c->fd);
        c->fd = -1;
      } else if (n > 0) {
        c->buffer.append(buf, static_cast<size_t>(n));
      }
      handle_lines(*c);
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
      } else if (line == auto_report::kLoaded) {
        c.loaded = true;
      } else if (line == auto_report::kSelected) {
        c.selected = true;
      } else if (line.starts_with(auto_report::kStop)) {
        const std::string task = line.substr(auto_report::kStop.size());
        if (&c == &cycle_ && !serving_.serving.empty() && serving_.serving == task) {
          say("restarting " + task);
          stop(serving_);
        }
        const std::string ok = std::string(auto_report::kOk) + "\n";
        [[maybe_unused]] const ssize_t n = ::send(c.fd, ok.data(), ok.size(), MSG_NOSIGNAL);
      } else if (line.starts_with(auto_report::kRunning) && &c == &cycle_) {
        c.serving = line.substr(auto_report::kRunning.size());
        become_serving();
      }
    }
  }

  /// The running cycle reached its long-running action: it serves from now
  /// on while we watch; an older server (another task) is stopped.
  void become_serving() {
    if (serving_.pid > 0) stop(serving_);
    serving_ = std::move(cycle_);
    cycle_ = Cycle{};
    run_callback(opt_.success_command);
    watch_or_go_on(serving_);
  }

  void collect_exits() {
    std::map<pid_t, int> statuses;
    reap(statuses);
    for (Cycle* c : {&cycle_, &serving_}) {
      auto it = statuses.find(c->pid);
      if (c->pid > 0 && it != statuses.end()) c->status = it->second;
    }
    if (serving_.pid > 0 && serving_.status) {
      if (serving_.fd >= 0) read_reports();
      say(fmt::format("{} exited ({})", serving_.serving, exit_code(*serving_.status)));
      if (serving_.fd >= 0) ::close(serving_.fd);
      serving_ = Cycle{};
    }
  }

  /// The cycle process ended. Returns an exit code when auto must stop.
  std::optional<int> finish_cycle() {
    const int code = exit_code(*cycle_.status);
    if (code == kUserErrorExit && cycle_.loaded && !cycle_.selected) return kUserErrorExit;
    run_callback(code == 0 ? opt_.success_command : opt_.failure_command);
    Cycle done = std::move(cycle_);
    cycle_ = Cycle{};
    watch_or_go_on(done);
    return std::nullopt;
  }

  /// After a cycle: an edit made while it ran starts the next one at once;
  /// otherwise watch what it reported.
  void watch_or_go_on(const Cycle& done) {
    if (done.loaded) {
      // Written or created since the cycle started, or (of what was watched
      // before) deleted or replaced.
      const std::vector<std::string> watch = watch_set(done);  // sets last_ignore_
      std::vector<std::string> during = changed_since(watch, started_ns_, last_ignore_);
      for (std::string& p : before_.diff(Snapshot::take(previous_watch_, previous_ignore_))) {
        during.push_back(p);
      }
      std::sort(during.begin(), during.end());
      during.erase(std::unique(during.begin(), during.end()), during.end());
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
    std::sort(watch.begin(), watch.end());
    watch.erase(std::unique(watch.begin(), watch.end()), watch.end());
    return watch;
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

  /// The stop signal to the cycle's whole process group; SIGKILL after the
  /// timeout; waits until no process of the group is left.
  void stop(Cycle& c) {
    if (c.pid <= 0) return;
    ::killpg(c.pid, opt_.stop_signal);
    const auto deadline = std::chrono::steady_clock::now() + opt_.stop_timeout;
    std::map<pid_t, int> statuses;
    while (group_alive(c.pid)) {
      reap(statuses);
      if (!group_alive(c.pid)) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        ::killpg(c.pid, SIGKILL);
        reap(statuses);
      }
      std::this_thread::sleep_for(kReapPoll);
    }
    reap(statuses);
    if (c.fd >= 0) ::close(c.fd);
    c = Cycle{};
  }

  int shut_down(int code) {
    stop(cycle_);
    stop(serving_);
    // Anything left of earlier cycles (e.g. background processes they started).
    for (pid_t pgid : groups_) {
      if (group_alive(pgid)) {
        Cycle leftover;
        leftover.pid = pgid;
        stop(leftover);
      }
    }
    std::map<pid_t, int> statuses;
    reap(statuses);
    return code;
  }

  AutoOptions opt_;
  Watcher watcher_;
  bool armed_ = false;
  Cycle cycle_;
  Cycle serving_;
  std::set<pid_t> groups_;
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

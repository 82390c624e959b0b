#include "doit/process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "doit/orphans.h"
#include "doit/output.h"

extern char** environ;

namespace doit {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr int kNotFoundStatus = 127;
/// How often a child's exit is checked when the kernel has no pidfd.
constexpr int kExitPollMs = 10;
/// While doit adopts orphans: how often a wait for a command wakes up to
/// reap the adopted ones that ended.
constexpr int kAdoptedReapPollMs = 50;

int open_exit_fd(pid_t pid) {
#ifdef SYS_pidfd_open
  const long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return static_cast<int>(fd);
  }
#else
  (void)pid;
#endif
  return -1;
}

}  // namespace

void reset_child_signals(void* posix_spawnattr) {
  auto* attr = static_cast<posix_spawnattr_t*>(posix_spawnattr);
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGXFSZ, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) {
    sigaddset(&defaults, sig);
  }
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(attr, &defaults);
  posix_spawnattr_setsigmask(attr, &empty);
  short flags = 0;
  posix_spawnattr_getflags(attr, &flags);
  posix_spawnattr_setflags(attr, flags | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
}

std::vector<std::string> shell_argv(const std::string& command) {
  return {"/bin/sh", "-c", command};
}

namespace {

/// The end of the last whole UTF-8 character of `text` (an incomplete one
/// at the end waits for its other bytes).
size_t whole_characters(std::string_view text) {
  constexpr unsigned char kContinuation = 0xC0, kContinuationBits = 0x80;
  constexpr size_t kLongest = 4;
  size_t back = 0;
  while (back < text.size() && back < kLongest &&
         (static_cast<unsigned char>(text[text.size() - 1 - back]) & kContinuation) ==
             kContinuationBits) {
    ++back;
  }
  if (back == text.size()) return text.size();
  const unsigned char lead = static_cast<unsigned char>(text[text.size() - 1 - back]);
  const size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return length > back + 1 ? text.size() - 1 - back : text.size();
}

}  // namespace

void ChildProcess::Stream::echo_lines(bool at_eof) {
  if (live == nullptr) return;
  size_t end = captured.rfind('\n');
  if (at_eof) {
    end = captured.size();
  } else if (as_it_comes) {
    end = whole_characters(captured);
  } else if (end == std::string::npos || end < echoed) {
    return;
  } else {
    end += 1;
  }
  if (end > echoed) {
    const std::string text = sanitize_utf8(std::string_view(captured).substr(echoed, end - echoed));
    if (to_err) {
      live->err(text);
    } else {
      live->out(text);
    }
    echoed = end;
  }
}

ChildProcess::ChildProcess(const SpawnSpec& spec, LiveOutput* live_out, LiveOutput* live_err)
    : own_group_(spec.own_group) {
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (spec.capture) {
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
      for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
        if (fd >= 0) ::close(fd);
      }
      posix_spawn_file_actions_destroy(&actions);
      reaped_ = true;
      result_.returncode = kNotFoundStatus;
      result_.spawn_error = std::string("pipe: ") + std::strerror(errno);
      return;
    }
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  }
  if (spec.own_group) {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  if (spec.cwd) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd->c_str());

  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (spec.env) {
    for (const std::string& e : *spec.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }

  flush_console();
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  reset_child_signals(&attr);
  if (spec.own_group) {
    short flags = 0;
    posix_spawnattr_getflags(&attr, &flags);
    posix_spawnattr_setflags(&attr, flags | POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
  }
  const int rc =
      posix_spawnp(&pid_, argv[0], &actions, &attr, argv.data(), spec.env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spec.capture) {
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
  }
  if (rc != 0) {
    if (spec.capture) {
      ::close(out_pipe[0]);
      ::close(err_pipe[0]);
    }
    pid_ = -1;
    reaped_ = true;
    result_.returncode = kNotFoundStatus;
    result_.spawn_error = spec.argv[0] + ": " + std::strerror(rc);
    return;
  }
  track_child(pid_);
  exit_fd_ = open_exit_fd(pid_);
  if (spec.capture) {
    streams_[0].fd = out_pipe[0];
    streams_[0].live = live_out;
    streams_[1].fd = err_pipe[0];
    streams_[1].live = live_err;
    streams_[1].to_err = true;
    streams_[0].as_it_comes = streams_[1].as_it_comes = spec.echo_as_it_comes;
  }
}

std::unique_ptr<ChildProcess> ChildProcess::adopt(pid_t pid, int out_fd, bool own_group) {
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = pid;
  track_child(pid);
  child->own_group_ = own_group;
  child->exit_fd_ = open_exit_fd(pid);
  child->streams_[0].fd = out_fd;
  return child;
}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    signal(SIGKILL);
    reap(/*block=*/true);
  }
  for (Stream& s : streams_) {
    if (s.fd >= 0) ::close(s.fd);
  }
  if (exit_fd_ >= 0) ::close(exit_fd_);
}

void ChildProcess::poll_fds(std::vector<int>& fds) const {
  for (const Stream& s : streams_) {
    if (s.fd >= 0) fds.push_back(s.fd);
  }
  if (!reaped_ && exit_fd_ >= 0) fds.push_back(exit_fd_);
}

int ChildProcess::poll_timeout_ms() const {
  if (!reaped_ && adopting_orphans()) return kAdoptedReapPollMs;  // see finished()
  return reaped_ || exit_fd_ >= 0 ? -1 : kExitPollMs;
}

void ChildProcess::read_stream(Stream& s) {
  char buf[kReadChunk];
  const ssize_t n = ::read(s.fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    ::close(s.fd);
    s.fd = -1;
    s.echo_lines(true);
    return;
  }
  s.captured.append(buf, static_cast<size_t>(n));
  s.echo_lines(false);
}

void ChildProcess::on_ready(int fd) {
  for (Stream& s : streams_) {
    if (s.fd >= 0 && s.fd == fd) {
      read_stream(s);
      return;
    }
  }
  if (fd == exit_fd_) reap(/*block=*/false);
}

void ChildProcess::reap(bool block) {
  if (reaped_) return;
  while (true) {
    const pid_t done = ::waitpid(pid_, &status_, block ? 0 : WNOHANG);
    if (done == pid_) break;
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) {  // not our child any more: nothing to wait for
      status_ = 0;
      break;
    }
    return;  // still running
  }
  reaped_ = true;
  untrack_child(pid_);
  if (WIFEXITED(status_)) {
    result_.returncode = WEXITSTATUS(status_);
  } else if (WIFSIGNALED(status_)) {
    result_.returncode = -WTERMSIG(status_);
  }
}

bool ChildProcess::finished() {
  reap_adopted_zombies();  // while a command runs: e.g. a pid-file `stop` waits on one
  if (streams_[0].fd >= 0 || streams_[1].fd >= 0) {
    // Interrupted, the command ended, but a process that escaped its group
    // (`setsid daemon &`) holds the pipe: stop it, or doit waits forever.
    if (adopting_orphans() && interrupt_noted()) {
      reap(/*block=*/false);
      if (reaped_) stop_escaped_descendants(kEscapedStopTimeout);
    }
    return false;
  }
  reap(/*block=*/false);
  return reaped_;
}

void ChildProcess::signal(int sig) {
  if (reaped_ || pid_ <= 0) return;
  ::kill(own_group_ ? -pid_ : pid_, sig);
}

ProcessResult ChildProcess::take_result() {
  sanitize_utf8_in_place(streams_[0].captured);
  sanitize_utf8_in_place(streams_[1].captured);
  result_.out = std::move(streams_[0].captured);
  result_.err = std::move(streams_[1].captured);
  streams_[0].captured.clear();
  streams_[1].captured.clear();
  return std::move(result_);
}

ProcessResult run_process(const SpawnSpec& spec, LiveOutput* live_out, LiveOutput* live_err) {
  ChildProcess child(spec, live_out, live_err);
  std::vector<int> fds;
  std::vector<pollfd> pfds;
  while (!child.finished()) {
    fds.clear();
    child.poll_fds(fds);
    pfds.clear();
    for (int fd : fds) pfds.push_back({fd, POLLIN, 0});
    const int ready = ::poll(pfds.data(), pfds.size(), child.poll_timeout_ms());
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    for (const pollfd& p : pfds) {
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) child.on_ready(p.fd);
    }
  }
  return child.take_result();
}

namespace {
/// Whether this executable's main() handles kCloserName (run_as_closer).
std::atomic<bool> g_can_close_in_child{false};
}  // namespace

pid_t close_in_child(std::span<const int> fds) {
  if (!g_can_close_in_child.load(std::memory_order_relaxed)) return -1;
  // The child gets the read end of a pipe as its stdin, the descriptors as
  // 3, 4, ... and nothing else: it must not hold this process's output
  // open, nor anything this process inherited. Its copies are made from
  // duplicates above every number the child uses, so that no dup2() of the
  // child overwrites a descriptor a later one copies.
  const int first = 3;
  const int above = first + static_cast<int>(fds.size());
  int gate[2] = {-1, -1};
  if (::pipe2(gate, O_CLOEXEC) != 0) return -1;
  std::vector<int> sources;  // the gate's read end, then fds
  sources.reserve(fds.size() + 1);
  sources.push_back(::fcntl(gate[0], F_DUPFD_CLOEXEC, above));
  for (const int fd : fds) sources.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, above));
  const bool ok = std::ranges::all_of(sources, [](int fd) { return fd >= 0; });

  pid_t pid = -1;
  int rc = -1;
  if (ok) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, sources[0], STDIN_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    for (size_t i = 1; i < sources.size(); ++i) {
      posix_spawn_file_actions_adddup2(&actions, sources[i], first + static_cast<int>(i) - 1);
    }
    posix_spawn_file_actions_addclosefrom_np(&actions, first + static_cast<int>(fds.size()));
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    reset_child_signals(&attr);
    short flags = 0;
    posix_spawnattr_getflags(&attr, &flags);
    // Its own process group: a Ctrl-C meant for doit's tasks is not for it.
    posix_spawnattr_setflags(&attr, flags | POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    const std::string name(kCloserName);
    char* argv[] = {const_cast<char*>(name.c_str()), nullptr};
    rc = posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
  }
  for (const int fd : sources) {
    if (fd >= 0) ::close(fd);
  }
  ::close(gate[0]);
  if (rc != 0) {
    ::close(gate[1]);
    return -1;
  }
  // The child holds the descriptors now: closing ours only drops a
  // reference. Then the child may go, and its end waits in the kernel.
  for (const int fd : fds) ::close(fd);
  ::close(gate[1]);
  return pid;
}

std::optional<int> run_as_closer(int argc, char** argv) {
  if (argc != 1 || argv[0] == nullptr || std::string_view(argv[0]) != kCloserName) {
    g_can_close_in_child.store(true, std::memory_order_relaxed);
    return std::nullopt;
  }
  char byte = 0;
  while (true) {
    const ssize_t n = ::read(STDIN_FILENO, &byte, 1);
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  return 0;  // the descriptors close as the process ends
}

}  // namespace doit

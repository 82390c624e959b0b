#include "doit/process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "doit/output.h"

extern char** environ;

namespace doit {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr int kNotFoundStatus = 127;
/// Poll step while waiting for an uncaptured process's grace period.
constexpr int kGraceStepMs = 20;

/// Collects one pipe's bytes and echoes complete lines.
struct Stream {
  int fd = -1;
  std::string captured;  // raw bytes
  size_t echoed = 0;     // bytes of `captured` already echoed
  LiveOutput* live = nullptr;

  void echo_lines(bool at_eof) {
    if (live == nullptr) return;
    size_t end = captured.rfind('\n');
    if (at_eof) {
      end = captured.size();
    } else if (end == std::string::npos || end < echoed) {
      return;
    } else {
      end += 1;
    }
    if (end > echoed) {
      live->out(sanitize_utf8(std::string_view(captured).substr(echoed, end - echoed)));
      echoed = end;
    }
  }
};

/// Adapts a LiveOutput so that stderr lines go to its err() side.
class ErrSide : public LiveOutput {
 public:
  explicit ErrSide(LiveOutput* target) : target_(target) {}
  void out(std::string_view text) override { target_->err(text); }
  void err(std::string_view text) override { target_->err(text); }

 private:
  LiveOutput* target_;
};

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

ProcessResult run_process(const SpawnSpec& spec, LiveOutput* live_out, LiveOutput* live_err) {
  ProcessResult result;
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (spec.capture) {
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
      result.returncode = kNotFoundStatus;
      result.spawn_error = std::string("pipe: ") + std::strerror(errno);
      return result;
    }
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
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
  pid_t pid = 0;
  const int rc =
      posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), spec.env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  // The grace deadline (after_grace), if any.
  const auto started = std::chrono::steady_clock::now();
  bool grace_pending = static_cast<bool>(spec.after_grace);
  const auto poll_timeout = [&]() -> int {
    if (!grace_pending) return -1;
    const auto left = spec.grace - (std::chrono::steady_clock::now() - started);
    return std::max<int>(
        0, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(left).count()));
  };
  const auto check_grace = [&] {
    if (grace_pending && std::chrono::steady_clock::now() - started >= spec.grace) {
      grace_pending = false;
      spec.after_grace();
    }
  };
  if (spec.capture) {
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
  }
  if (rc != 0) {
    if (spec.capture) {
      ::close(out_pipe[0]);
      ::close(err_pipe[0]);
    }
    result.returncode = kNotFoundStatus;
    result.spawn_error = spec.argv[0] + ": " + std::strerror(rc);
    return result;
  }

  if (spec.capture) {
    ErrSide err_side(live_err);
    Stream streams[2];
    streams[0].fd = out_pipe[0];
    streams[0].live = live_out;
    streams[1].fd = err_pipe[0];
    streams[1].live = live_err ? &err_side : nullptr;
    char buf[kReadChunk];
    int open_count = 2;
    while (open_count > 0) {
      pollfd fds[2];
      int nfds = 0;
      int which[2];
      for (int i = 0; i < 2; ++i) {
        if (streams[i].fd < 0) continue;
        fds[nfds] = {streams[i].fd, POLLIN, 0};
        which[nfds++] = i;
      }
      const int ready = ::poll(fds, nfds, poll_timeout());
      if (ready < 0) {
        if (errno == EINTR) continue;
        break;
      }
      check_grace();
      for (int k = 0; k < nfds; ++k) {
        if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        Stream& s = streams[which[k]];
        const ssize_t n = ::read(s.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          ::close(s.fd);
          s.fd = -1;
          --open_count;
          s.echo_lines(true);
          continue;
        }
        s.captured.append(buf, static_cast<size_t>(n));
        s.echo_lines(false);
      }
    }
    result.out = sanitize_utf8(streams[0].captured);
    result.err = sanitize_utf8(streams[1].captured);
  }

  int status = 0;
  bool reaped = false;
  while (grace_pending && !reaped) {  // not capturing: wait in steps until the grace passed
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      reaped = true;
    } else {
      ::poll(nullptr, 0, std::min(poll_timeout(), kGraceStepMs));
      check_grace();
    }
  }
  while (!reaped) {
    if (waitpid(pid, &status, 0) == pid || errno != EINTR) reaped = true;
  }
  if (WIFEXITED(status)) {
    result.returncode = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.returncode = -WTERMSIG(status);
  }
  return result;
}

}  // namespace doit

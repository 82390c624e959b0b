#include "doit/worker.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "doit/output.h"

namespace doit {
namespace {

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

/// The signals that stop a run: blocked across fork() so that none reaches
/// the child before it has put back their default action.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, sig);
  return set;
}

[[noreturn]] void run_child(int fd, const std::function<TaskRun(OutputBlock&)>& body,
                            const ForkHooks& hooks) {
  if (hooks.after_in_child) hooks.after_in_child();
  ::setpgid(0, 0);
  // Killed with doit itself (kill -9): no worker goes on alone.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_DFL);
  sigset_t stops = stop_signals();
  ::sigprocmask(SIG_UNBLOCK, &stops, nullptr);  // what came meanwhile ends it now
  if (const int null = ::open("/dev/null", O_RDONLY); null >= 0) {
    ::dup2(null, STDIN_FILENO);
    if (null != STDIN_FILENO) ::close(null);
  }
  OutputBlock block;
  TaskRun run;
  try {
    run = body(block);
  } catch (const std::exception& e) {
    ActionOutcome failed;
    failed.status = ActionOutcome::Status::kError;
    failed.message = fmt::format("worker process: {}\n", e.what());
    run.add(std::move(failed));
  }
  if (hooks.child_done) hooks.child_done();
  flush_console();
  const std::string message =
      Json::object({{"run", run.to_json()}, {"output", block.to_json()}}).dump();
  write_all(fd, message);
  ::_exit(0);
}

}  // namespace

std::unique_ptr<ChildProcess> fork_worker(const std::function<TaskRun(OutputBlock&)>& body,
                                          const ForkHooks& hooks) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  flush_console();  // the child must not write what the parent holds
  if (hooks.before) hooks.before();
  const sigset_t stops = stop_signals();
  sigset_t old_mask;
  ::sigprocmask(SIG_BLOCK, &stops, &old_mask);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    run_child(fds[1], body, hooks);
  }
  const int fork_errno = errno;
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  if (hooks.after_in_parent) hooks.after_in_parent();
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    throw std::system_error(fork_errno, std::generic_category(), "fork");
  }
  ::setpgid(pid, pid);  // also here: no signal may find it in our group
  return ChildProcess::adopt(pid, fds[0], /*own_group=*/true);
}

std::pair<TaskRun, OutputBlock> decode_worker_result(ProcessResult process) {
  std::string problem;
  if (process.returncode < 0) {
    problem = fmt::format("was killed by signal {}", -process.returncode);
  } else if (process.returncode != 0) {
    problem = fmt::format("exited with status {}", process.returncode);
  } else {
    try {
      const Json message = Json::parse(process.out);
      const Json* run = message.is_object() ? message.find("run") : nullptr;
      const Json* output = message.is_object() ? message.find("output") : nullptr;
      if (run != nullptr && output != nullptr) {
        return {TaskRun::from_json(*run), OutputBlock::from_json(*output)};
      }
      problem = "sent no result";
    } catch (const std::invalid_argument&) {
      problem = "exited without sending its result";
    }
  }
  TaskRun failed;
  ActionOutcome outcome;
  outcome.status = ActionOutcome::Status::kError;
  outcome.message = fmt::format("The worker process running the task {}.\n", problem);
  failed.add(std::move(outcome));
  return {std::move(failed), OutputBlock()};
}

}  // namespace doit

#include "doit/worker.h"

#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace doit {
namespace {

/// Polls the worker until it is finished; what it sent.
std::pair<TaskRun, OutputBlock> wait_for(ChildProcess& worker) {
  std::vector<int> fds;
  while (!worker.finished()) {
    fds.clear();
    worker.poll_fds(fds);
    std::vector<pollfd> pfds;
    for (int fd : fds) pfds.push_back({fd, POLLIN, 0});
    if (::poll(pfds.data(), pfds.size(), worker.poll_timeout_ms()) <= 0) continue;
    for (const pollfd& p : pfds) {
      if (p.revents != 0) worker.on_ready(p.fd);
    }
  }
  return decode_worker_result(worker.take_result());
}

TEST(WorkerTest, SendsBackWhatItsBodyProducedAndPrinted) {
  const auto worker = fork_worker(
      [](OutputBlock& output) {
        output.out("hello\n");
        output.err("warning\n");
        TaskRun run;
        ActionOutcome outcome;
        outcome.out = "captured\n";
        outcome.values = Json::object({{"pid", Json::number(std::to_string(::getpid()))}});
        run.add(std::move(outcome));
        return run;
      },
      {});
  const auto [run, output] = wait_for(*worker);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run.out, "captured\n");
  EXPECT_NE(run.values.find("pid")->text(), std::to_string(::getpid()));
  EXPECT_EQ(output.to_json().dump(), R"([[false, "hello\n"], [true, "warning\n"]])");
}

TEST(WorkerTest, LeadsAGroupOfItsOwnWithStdinAtEndOfFile) {
  const auto worker = fork_worker(
      [](OutputBlock&) {
        char c;
        TaskRun run;
        ActionOutcome outcome;
        outcome.values = Json::object({{"leader", Json::boolean(::getpgrp() == ::getpid())},
                                       {"stdin_eof", Json::boolean(::read(0, &c, 1) == 0)}});
        run.add(std::move(outcome));
        return run;
      },
      {});
  const auto [run, output] = wait_for(*worker);
  EXPECT_TRUE(run.values.find("leader")->as_bool());
  EXPECT_TRUE(run.values.find("stdin_eof")->as_bool());
}

TEST(WorkerTest, CallsTheForkHooksOnEachSide) {
  int before = 0, parent = 0;
  ForkHooks hooks;
  hooks.before = [&] { ++before; };
  hooks.after_in_parent = [&] { ++parent; };
  bool child_hook = false;
  hooks.after_in_child = [&] { child_hook = true; };
  const auto worker = fork_worker(
      [&](OutputBlock&) {
        TaskRun run;
        ActionOutcome outcome;
        outcome.values = Json::object({{"child_hook", Json::boolean(child_hook)}});
        run.add(std::move(outcome));
        return run;
      },
      hooks);
  const auto [run, output] = wait_for(*worker);
  EXPECT_EQ(before, 1);
  EXPECT_EQ(parent, 1);
  EXPECT_FALSE(child_hook);  // set in the child only
  EXPECT_TRUE(run.values.find("child_hook")->as_bool());
}

TEST(WorkerTest, AWorkerKilledBeforeItAnswersIsATaskError) {
  const auto worker = fork_worker(
      [](OutputBlock&) -> TaskRun {
        ::raise(SIGKILL);
        return {};
      },
      {});
  const auto [run, output] = wait_for(*worker);
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->status, ActionOutcome::Status::kError);
  EXPECT_EQ(run.failure->message, "The worker process running the task was killed by signal 9.\n");
}

TEST(WorkerTest, AnExceptionInTheBodyIsATaskError) {
  const auto worker =
      fork_worker([](OutputBlock&) -> TaskRun { throw std::runtime_error("no luck"); }, {});
  const auto [run, output] = wait_for(*worker);
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->message, "worker process: no luck\n");
}

TEST(WorkerTest, SignalStopsTheWholeGroup) {
  const auto worker = fork_worker(
      [](OutputBlock&) -> TaskRun {
        ::pause();
        return {};
      },
      {});
  worker->signal(SIGTERM);
  const auto [run, output] = wait_for(*worker);
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->message, "The worker process running the task was killed by signal 15.\n");
}

}  // namespace
}  // namespace doit

// The scheduler reproduces pydoit's dispatcher (SPEC §10.3): one node per
// task, each a small state machine; new dependency nodes go to the back of a
// FIFO and the dependent waits, which gives pydoit's breadth-first-like order.
#include "doit/executor.h"

#include "doit/cmd_action.h"
#include "doit/explain.h"
#include "doit/hash_ahead.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "doit/orphans.h"
#include "doit/process.h"
#include "doit/task_run.h"
#include "doit/text.h"
#include "doit/worker.h"

namespace doit {
namespace {

std::atomic<int> g_interrupt_signal{0};
std::atomic<int> g_interrupt_count{0};
/// Written to by the signal handler, so that a parallel run waiting in
/// poll() wakes up whatever the moment the signal arrives.
std::atomic<int> g_wake_fd{-1};
/// The signal doit passed on to its own group (it comes back to doit).
std::atomic<int> g_forwarded{0};

/// Read by the signal handler: atomic, so that clearing it (before the
/// interpreter is finalized) is seen by a signal arriving right after.
std::atomic<InterruptHook> g_hook{nullptr};

void on_interrupt(int sig) {
  int none = 0;
  const bool first = g_interrupt_signal.compare_exchange_strong(none, sig);
  if (g_forwarded.exchange(0) == sig) return;  // our own pass-on, back to us
  g_interrupt_count.fetch_add(1);
  note_interrupt();
  if (const int fd = g_wake_fd.load(); fd >= 0) {
    const char byte = 0;
    [[maybe_unused]] const ssize_t written = ::write(fd, &byte, 1);
  }
  // A terminal's Ctrl-C or hang-up reaches the whole process group, but a
  // `kill` of doit alone does not reach the running command: pass SIGTERM
  // and SIGHUP on, once, when doit leads its group (a group led by another
  // process, e.g. the script that started doit, is left alone). doit gets
  // it back: that one is not counted as a second signal.
  if (first && sig != SIGINT && ::getpgrp() == ::getpid()) {
    g_forwarded.store(sig);
    ::kill(0, sig);
  }
  if (const InterruptHook hook = g_hook.load(); hook != nullptr) hook();
}

bool has_python_action(const Task& task) {
  return std::any_of(task.actions.begin(), task.actions.end(),
                     [](const Action& a) { return !a.is_cmd(); });
}

/// Echoes to the console as it comes. A Python action and the thread that
/// reads the servers beside it (ServerReader) may echo at the same time.
class ConsoleLive : public LiveOutput {
 public:
  void out(std::string_view text) override {
    const std::lock_guard lock(mutex_);
    Output::out().write(text);
    Output::out().flush();
  }
  void err(std::string_view text) override {
    const std::lock_guard lock(mutex_);
    Output::err().write(text);
    Output::err().flush();
  }

 private:
  std::mutex mutex_;
};

/// `auto`: while a Python action runs on the main thread, which reads
/// nothing else until it returns, the servers the cycle started are read
/// on another thread, so that one writing more than a pipe holds is not
/// held up. Until it is destroyed, only that thread touches them.
class ServerReader {
 public:
  explicit ServerReader(std::vector<ChildProcess*> servers) : servers_(std::move(servers)) {
    if (servers_.empty() || ::pipe2(stop_, O_CLOEXEC) != 0) return;
    try {
      thread_ = std::thread([this] { read_until_stopped(); });
    } catch (const std::system_error&) {
      // read when the action has returned, as without
    }
  }
  ~ServerReader() {
    if (thread_.joinable()) {
      const char byte = 0;
      [[maybe_unused]] const ssize_t written = ::write(stop_[1], &byte, 1);
      thread_.join();
    }
    for (const int fd : stop_) {
      if (fd >= 0) ::close(fd);
    }
  }
  ServerReader(const ServerReader&) = delete;
  ServerReader& operator=(const ServerReader&) = delete;

 private:
  void read_until_stopped() {
    std::vector<pollfd> pfds;
    std::vector<ChildProcess*> owners;
    std::vector<int> fds;
    for (;;) {
      pfds.assign(1, {stop_[0], POLLIN, 0});
      owners.clear();
      int timeout = -1;
      for (ChildProcess* server : servers_) {
        fds.clear();
        server->poll_fds(fds);
        for (const int fd : fds) {
          pfds.push_back({fd, POLLIN, 0});
          owners.push_back(server);
        }
        if (fds.empty()) continue;
        const int limit = server->poll_timeout_ms();
        if (limit >= 0 && (timeout < 0 || limit < timeout)) timeout = limit;
      }
      if (::poll(pfds.data(), pfds.size(), timeout) < 0 && errno != EINTR) return;
      if (pfds[0].revents != 0) return;
      for (size_t i = 1; i < pfds.size(); ++i) {
        if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) owners[i - 1]->on_ready(pfds[i].fd);
      }
    }
  }

  std::vector<ChildProcess*> servers_;
  int stop_[2] = {-1, -1};
  std::thread thread_;
};

std::string digest_of(const std::string& text) { return hash_bytes(text).hex(); }

using Signatures = std::vector<std::pair<std::string, FileSignature>>;

/// How long a wait for running jobs may sleep between checks of a stop.
constexpr int kStopPollMs = 50;
/// `auto`: how often a command that may be a server is looked at, after
/// the grace, until it is one or ends.
constexpr std::chrono::milliseconds kServerLook{100};

}  // namespace

void set_interrupt_hook(InterruptHook hook) { g_hook = hook; }
InterruptHook interrupt_hook() { return g_hook.load(); }

bool interrupt_requested() { return g_interrupt_signal.load() != 0; }
int interrupt_signal() { return g_interrupt_signal.load(); }
int interrupt_count() { return g_interrupt_count.load(); }

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll/waitpid see EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
}

// ---------------------------------------------------------------------------

namespace {

/// The tasks a node still waits for: task indexes, sorted. One or two as a
/// rule (half the size of a std::set, one allocation instead of one per
/// index), but every sub-task for a group: a task that finished is marked
/// in place (its bits flipped) rather than erased, so that a group whose
/// sub-tasks finish one by one does not move the rest each time, and the
/// marks go once they outnumber the rest.
class WaitSet {
 public:
  bool empty() const { return live_ == 0; }
  /// The smallest index (not empty()).
  int first() const {
    for (const int t : tasks_) {
      if (t >= 0) return t;
    }
    return -1;
  }
  /// False when it was there already.
  bool insert(int task) {
    const auto at = find(task);
    if (at != tasks_.end() && unmarked(*at) == task) {
      if (*at >= 0) return false;
      *at = task;
    } else {
      tasks_.insert(at, task);
    }
    ++live_;
    return true;
  }
  /// False when it was not there.
  bool erase(int task) {
    const auto at = find(task);
    if (at == tasks_.end() || *at != task) return false;
    *at = ~task;
    --live_;
    if (live_ == 0) {
      tasks_.clear();
    } else if (tasks_.size() > 2 * static_cast<std::size_t>(live_) + kMarksKept) {
      std::erase_if(tasks_, [](int t) { return t < 0; });
    }
    return true;
  }

 private:
  /// Marks a set may hold beyond as many as its live indexes.
  static constexpr std::size_t kMarksKept = 8;
  static int unmarked(int t) { return t < 0 ? ~t : t; }
  std::vector<int>::iterator find(int task) {
    return std::lower_bound(tasks_.begin(), tasks_.end(), task,
                            [](int t, int wanted) { return unmarked(t) < wanted; });
  }

  std::vector<int> tasks_;  // a finished task's index as ~index
  std::uint32_t live_ = 0;
};

/// The entries of `list` from `*taken` on, copied; `*taken` becomes its size.
std::vector<std::string> take_new(const std::vector<std::string>& list, std::uint32_t* taken) {
  std::vector<std::string> entries(list.begin() + *taken, list.end());
  *taken = static_cast<std::uint32_t>(list.size());
  return entries;
}

}  // namespace

/// pydoit's ExecNode.
struct Executor::Node {
  enum class RunStatus : std::uint8_t { kNone, kRun, kIgnore, kUpToDate, kFailure, kSuccessful };
  enum class Stage : std::uint8_t { kDeps, kSelected, kSetupScheduled, kFinished };

  int task = -1;
  int parent = -1;  // the node that created this one (for cycle messages)
  RunStatus run_status = RunStatus::kNone;
  Stage stage = Stage::kDeps;
  bool wait_select = false;
  bool in_waiting = false;
  bool started = false;  // step() was called once
  // How many of the task's task_dep and calc_dep entries (which a calc_dep's
  // values may extend while it waits) this node took into account.
  std::uint32_t task_deps_taken = 0;
  std::uint32_t calc_deps_taken = 0;
  WaitSet wait_run, wait_run_calc;          // task indexes
  std::vector<int> waiting_me;              // node indexes, in the order they started waiting
  std::vector<int> bad_deps, ignored_deps;  // task indexes
  // The task's values once it finished or was skipped; null when it has
  // none (most tasks).
  std::unique_ptr<Json> values;
  std::vector<std::string> changed;  // file_deps the check found changed

  /// The value `key` of the task's values, or nullptr.
  const Json* value(std::string_view key) const { return values ? values->find(key) : nullptr; }
};

/// A task whose actions run in the background (parallel runs): its
/// commands one after the other as child processes of ours, or all of its
/// actions in a forked worker.
struct Executor::Job {
  int node = -1;
  int task = -1;
  int verbosity = 1;
  std::vector<std::string> changed;  // for the actions' substitutions
  Signatures before;                 // file_dep signatures before the actions
  TaskRun run;
  OutputBlock output;
  bool worker = false;
  size_t next_action = 0;                  // commands: the one to start next
  std::optional<PreparedCommand> command;  // commands: the running one
  std::unique_ptr<ChildProcess> process;   // the running command, or the worker
  bool released = false;                   // `auto`: a server someone else stops
};

class Executor::Impl {
 public:
  Impl(Executor& ex)
      : ex_(ex),
        graph_(ex.graph_),
        node_of_(graph_.size(), -1),
        parallel_(ex.options_.jobs > 1 && ex.options_.long_running_grace.count() == 0 &&
                  !ex.options_.dry_run),
        auto_(ex.options_.long_running_grace.count() > 0 && !ex.options_.dry_run) {
    // Serial runs: a python-action leaves a core idle (a parallel run's
    // workers and a command's process use them).
    if (!parallel_ && !ex.options_.dry_run && ex.options_.checker == Checker::kContent &&
        !ex.options_.signatures_before_actions) {
      hash_ahead_disk_ = ex.fs_.concurrent();
    }
  }
  ~Impl();

  int run(const std::vector<std::string>& selected);

 private:
  void loop();
  /// Nothing is left to schedule but the task being run.
  bool nothing_else_to_run() const;
  enum class Step { kTask, kWait, kDone };

  int gen_node(int parent, const std::string& name);
  std::string cycle_message(int parent, const std::string& name) const;
  std::string waiting_cycle_message() const;
  Step step(int n);
  void add_waits(int n, const std::vector<std::string>& names, bool calc);
  void update_waiting(int n);
  /// Runs a placeholder's delayed creator (once) and turns the node into
  /// the task it created (SPEC §5.8).
  void create_delayed(int n);
  void parent_status(Node& waiting, const Node& dep);
  void merge_calc_results(const Node& dep, const Node& waiting);
  /// Checks the task and runs it if needed. True when it was started in the
  /// background (a parallel run), false when it is finished.
  bool process(int n);
  bool select(int n);
  bool execute(int n);
  /// --dry-run: a task that would run is announced and counted, not run.
  void pretend_execute(int n);
  /// --dry-run: the file_deps of `task` that a task that would run produces,
  /// as "file_dep 'x' would be built by 'y'".
  std::vector<std::string> would_be_built(const Task& task) const;
  void explain(const Task& task, const std::vector<std::string>& reasons) const;
  /// Adds the task's time (started in begin_execute) to Executor::times().
  void record_time(int n, std::string result);
  /// Announces the task; false if the run was aborted instead.
  bool begin_execute(int n, Signatures& before);
  /// Records the end of the task's actions: a failure, or its success.
  void finish_execute(int n, TaskRun run, const Signatures& before);
  ActionEnv action_env(const Task& task, const std::vector<std::string>& changed, int verbosity,
                       LiveOutput* live) const;
  CommandRun command_run(bool capture) const;

  // Parallel runs:
  enum class JobStart { kStarted, kFinished, kRunHere };
  /// Starts the task in the background. kFinished: it could not start (and
  /// is recorded as failed); kRunHere: python-actions with -P thread.
  JobStart start_job(int n, Signatures& before);
  /// Starts the job's next command; false when none is left or one could
  /// not be computed.
  bool start_next_command(Job& job);
  /// Waits (or only looks, when !block) for running jobs; finishes those
  /// that ended.
  void collect_jobs(bool block);
  /// The job's process ended: starts its next command, or returns true when
  /// the job is over.
  bool advance_job(Job& job);
  void complete_job(Job& job);
  /// Waits until fewer than `jobs` tasks run; false if the run stops instead.
  bool wait_for_slot();
  /// After the loop: lets running jobs finish, or stops them on an interrupt.
  void drain_jobs();
  void stop_jobs();
  void handle_failure(int n, Failure failure);
  /// Puts the getargs values into the task's options; false (a failure
  /// reported) if one is missing.
  bool fetch_getargs(int n);
  /// The current signature of each existing file_dep of `task`.
  std::vector<std::pair<std::string, FileSignature>> signatures_now(const Task& task) const;
  /// The tasks whose file_deps to hash ahead when task `first` is the first
  /// to run that has python-actions and no record (see HashAhead).
  std::vector<int> tasks_to_hash_ahead(int first) const;
  /// Gives the hashing thread the file_deps of the next of those tasks,
  /// when less than a batch of what it was given is ahead of the tasks
  /// saved.
  void feed_hash_ahead();
  /// Before a task's files are looked at: takes in what user code that ran
  /// since the last look (actions, uptodate checks, delayed creators) or
  /// that runs now (jobs, servers) may have changed. Reading the file
  /// system's journal is a syscall: a no-op stretch of checks skips it.
  void take_in_changes() const;
  /// An invalid definition found while running: "Execution aborted.", exit 2.
  void abort_run(int n, const std::string& message);
  void teardown();
  int effective_verbosity(const Task& task) const;

  ActionOutcome run_action(const Action& action, const ActionEnv& env, bool capture);

  // `auto` cycles: servers (RunOptions::long_running_grace).
  /// Runs a command action of node `n` while the servers go on. A
  /// `detachable` one still running after the grace becomes a server:
  /// nullopt, with `run` (its task's earlier actions) kept with it.
  std::optional<ActionOutcome> run_auto_cmd(int n, const CmdAction& cmd, const ActionEnv& env,
                                            bool capture, bool detachable, TaskRun& run,
                                            const Signatures& before);
  /// Whether the last action of `task` may become a server.
  bool may_become_server(const Task& task) const;
  /// Whether the `detachable` command of task `t` running in `group` is a
  /// server now.
  bool is_server(int t, const CmdAction& cmd, pid_t group, bool last, bool& up) const;
  /// Whether a task still to run in this cycle depends on task `t`
  /// (task_dep, setup, calc_dep, through any number of tasks).
  bool wanted_later(int t) const;
  /// Waits until something happens to `running` (may be null), the servers,
  /// the control descriptor or an interrupt, at the latest until `until`.
  void wait_for_processes(ChildProcess* running,
                          std::optional<std::chrono::steady_clock::time_point> until);
  /// Finishes the servers that ended, and marks the released ones.
  void collect_servers();
  void end_server(Job& job);
  /// After the last task: tells on_idle, then waits until no server runs.
  void wait_for_servers();
  /// Interrupt: stops the servers; their tasks are not recorded as done.
  void stop_servers();
  /// The control descriptor is readable: marks the servers it releases.
  void read_control();

  Executor& ex_;
  TaskGraph& graph_;
  std::vector<Node> nodes_;
  std::vector<int> node_of_;  // task index → node index
  std::deque<int> ready_;
  std::vector<std::string> to_run_;  // selected names not reached yet, last first
  bool stop_ = false;
  int result_ = kRunSuccess;
  std::vector<int> teardown_list_;  // task indexes, in start order
  ConsoleLive live_;
  const bool parallel_;
  const bool auto_;
  std::vector<std::unique_ptr<Job>> servers_;  // `auto`: detached, in start order
  /// What HashAhead reads through, when this run may hash ahead.
  const FileSystem* hash_ahead_disk_ = nullptr;
  /// Hashes the file_deps of tasks with python-actions while they run;
  /// made by the first such task without a record.
  std::unique_ptr<HashAhead> hash_ahead_;
  std::vector<int> tasks_to_hash_ahead_;  // task indexes
  std::size_t next_task_to_hash_ahead_ = 0;
  bool control_open_ = true;
  std::vector<std::unique_ptr<Job>> jobs_;  // in start order
  std::vector<bool> would_run_;             // --dry-run, by task index
  /// When each running task started (by node): wall clock, and steady.
  std::unordered_map<int, std::pair<std::int64_t, std::chrono::steady_clock::time_point>>
      started_at_;
  int would_run_count_ = 0;
  int wake_pipe_[2] = {-1, -1};
  /// User code ran since the file system's journal was last read.
  mutable bool user_code_ran_ = true;
};

Executor::Impl::~Impl() {
  if (wake_pipe_[0] >= 0) {
    g_wake_fd.store(-1);
    ::close(wake_pipe_[0]);
    ::close(wake_pipe_[1]);
  }
}

int Executor::Impl::gen_node(int parent, const std::string& name) {
  const int t = graph_.find(name);
  if (node_of_[t] < 0) {
    Node node;
    node.task = t;
    node.parent = parent;
    nodes_.push_back(std::move(node));
    node_of_[t] = static_cast<int>(nodes_.size()) - 1;
    return node_of_[t];
  }
  // An existing node: a cycle if it is one of the parent's ancestors.
  for (int a = parent; a >= 0; a = nodes_[a].parent) {
    if (nodes_[a].task == t) throw GraphError(cycle_message(parent, name));
  }
  return -1;
}

std::string Executor::Impl::waiting_cycle_message() const {
  // Nodes wait on each other in a circle: follow the waits until one repeats.
  int n = 0;
  while (!nodes_[n].in_waiting) ++n;
  std::vector<int> path;
  while (std::find(path.begin(), path.end(), n) == path.end()) {
    path.push_back(n);
    const Node& node = nodes_[n];
    const WaitSet& waits = node.wait_run.empty() ? node.wait_run_calc : node.wait_run;
    if (waits.empty()) break;
    n = node_of_[waits.first()];
  }
  std::vector<std::string> chain;
  for (auto it = std::find(path.begin(), path.end(), n); it != path.end(); ++it) {
    chain.push_back(graph_.task(nodes_[*it].task).name);
  }
  chain.push_back(graph_.task(nodes_[n].task).name);
  return fmt::format("Cyclic/recursive dependencies for task {}: [{}]", chain.front(),
                     join(chain, " -> "));
}

std::string Executor::Impl::cycle_message(int parent, const std::string& name) const {
  std::vector<std::string> chain;
  for (int a = parent; a >= 0; a = nodes_[a].parent)
    chain.push_back(graph_.task(nodes_[a].task).name);
  std::reverse(chain.begin(), chain.end());
  chain.push_back(name);
  return fmt::format("Cyclic/recursive dependencies for task {}: [{}]", name, join(chain, " -> "));
}

void Executor::Impl::parent_status(Node& waiting, const Node& dep) {
  if (dep.run_status == Node::RunStatus::kFailure) waiting.bad_deps.push_back(dep.task);
  if (dep.run_status == Node::RunStatus::kIgnore) waiting.ignored_deps.push_back(dep.task);
}

void Executor::Impl::add_waits(int n, const std::vector<std::string>& names, bool calc) {
  for (const std::string& name : names) {
    const int t = graph_.find(name);
    Node& dep = nodes_[node_of_[t]];
    const bool unfinished =
        dep.run_status == Node::RunStatus::kNone || dep.run_status == Node::RunStatus::kRun;
    if (unfinished) {
      WaitSet& waits = calc ? nodes_[n].wait_run_calc : nodes_[n].wait_run;
      if (waits.insert(t)) dep.waiting_me.push_back(n);
    } else {
      parent_status(nodes_[n], dep);
      if (calc) merge_calc_results(dep, nodes_[n]);
    }
  }
}

void Executor::Impl::merge_calc_results(const Node& dep, const Node& waiting) {
  Task& task = graph_.task(waiting.task);
  const auto strings = [](const Json* list) {
    std::vector<std::string> out;
    if (list == nullptr || list->type() != Json::Type::kArray) return out;
    for (const Json& item : list->items()) {
      if (item.type() == Json::Type::kString) out.push_back(item.text());
    }
    return out;
  };
  const size_t old_task_dep = task.task_dep.size();
  for (const std::string& f : strings(dep.value("file_dep"))) {
    if (std::find(task.file_dep.begin(), task.file_dep.end(), f) == task.file_dep.end()) {
      task.file_dep.push_back(f);
    }
  }
  for (const std::string& d : strings(dep.value("task_dep"))) {
    if (std::find(task.task_dep.begin(), task.task_dep.end(), d) == task.task_dep.end()) {
      task.task_dep.push_back(d);
    }
  }
  graph_.add_implicit_deps(task, strings(dep.value("file_dep")));
  for (size_t i = old_task_dep; i < task.task_dep.size(); ++i) {
    if (graph_.find(task.task_dep[i]) == TaskGraph::kNotFound) {
      throw GraphError(
          fmt::format("{}. Task dependency '{}' does not exist.", task.name, task.task_dep[i]));
    }
  }
  for (const std::string& c : strings(dep.value("calc_dep"))) {
    std::vector<std::string>& calc_dep = task.set_extras().calc_dep;  // it has one: `dep`
    if (std::find(calc_dep.begin(), calc_dep.end(), c) != calc_dep.end()) continue;
    if (graph_.find(c) == TaskGraph::kNotFound) {
      throw GraphError(fmt::format("{}. Task dependency '{}' does not exist.", task.name, c));
    }
    calc_dep.push_back(c);
  }
}

Executor::Impl::Step Executor::Impl::step(int n) {
  switch (nodes_[n].stage) {
    case Node::Stage::kDeps: {
      if (!nodes_[n].started) {
        nodes_[n].started = true;
        // A placeholder for a command-line target that another one found.
        const auto& group = graph_.task(nodes_[n].task).extras().regex_group;
        if (group && group->found) {
          nodes_[n].stage = Node::Stage::kFinished;
          return Step::kDone;
        }
      }
      while (true) {
        // The entries not taken yet (copies: a calc_dep's values extend the lists).
        const Task& pending = graph_.task(nodes_[n].task);
        const std::vector<std::string> calc =
            take_new(pending.extras().calc_dep, &nodes_[n].calc_deps_taken);
        const std::vector<std::string> deps =
            take_new(pending.task_dep, &nodes_[n].task_deps_taken);
        for (const std::string& c : calc) {
          const int created = gen_node(n, c);
          if (created >= 0) ready_.push_back(created);
        }
        add_waits(n, calc, true);
        for (const std::string& d : deps) {
          const int created = gen_node(n, d);
          if (created >= 0) ready_.push_back(created);
        }
        add_waits(n, deps, false);
        Node& node = nodes_[n];
        const Task& task = graph_.task(node.task);
        if (node.calc_deps_taken < task.extras().calc_dep.size() ||
            node.task_deps_taken < task.task_dep.size()) {
          continue;
        }
        if (!node.wait_run.empty() || !node.wait_run_calc.empty()) return Step::kWait;
        if (task.extras().delayed) {
          create_delayed(n);  // the node now stands for the created task
          continue;
        }
        break;
      }
      nodes_[n].stage = Node::Stage::kSelected;
      return Step::kTask;
    }
    case Node::Stage::kSelected: {
      Node& node = nodes_[n];
      const Task& task = graph_.task(node.task);
      if (task.setup.empty()) break;
      if (node.run_status == Node::RunStatus::kNone) {
        node.wait_select = true;
        return Step::kWait;
      }
      if (node.run_status != Node::RunStatus::kRun) break;
      const std::vector<std::string> setup = task.setup;
      for (const std::string& s : setup) {
        const int created = gen_node(n, s);
        if (created >= 0) ready_.push_back(created);
      }
      add_waits(n, setup, false);
      nodes_[n].stage = Node::Stage::kSetupScheduled;
      if (!nodes_[n].wait_run.empty()) return Step::kWait;
      [[fallthrough]];
    }
    case Node::Stage::kSetupScheduled:
      nodes_[n].stage = Node::Stage::kFinished;
      return Step::kTask;
    case Node::Stage::kFinished:
      break;
  }
  nodes_[n].stage = Node::Stage::kFinished;
  return Step::kDone;
}

void Executor::Impl::create_delayed(int n) {
  const Task& placeholder = graph_.task(nodes_[n].task);
  const std::string name = placeholder.name;
  const std::string base =
      placeholder.extras().delayed_base.empty() ? name : placeholder.extras().delayed_base;
  const std::shared_ptr<DelayedCreation> delayed = placeholder.extras().delayed;
  const std::shared_ptr<RegexGroup> group = placeholder.extras().regex_group;
  const PathList file_dep = placeholder.file_dep;
  if (!delayed->created) {
    delayed->created = true;
    user_code_ran_ = true;
    if (ex_.delayed_creator_ == nullptr) throw GraphError("delayed tasks cannot be created here");
    graph_.add_tasks(ex_.delayed_creator_->create(delayed->creator, base));
    node_of_.resize(graph_.size(), -1);
    would_run_.resize(static_cast<size_t>(graph_.size()), false);
  }
  Task& task = graph_.task(nodes_[n].task);
  if (task.extras().delayed == delayed) {
    // Not replaced by a created task: an empty task from now on.
    if (!task.extras().delayed_base.empty() && !group) throw UnknownNameError(name);
    task.set_extras().delayed.reset();
  }
  graph_.add_implicit_deps(task, file_dep);
  if (group) {
    task.file_dep.clear();
    if (graph_.task_for_target(group->target) != TaskGraph::kNotFound) {
      group->found = true;
    } else {
      std::erase(group->placeholders, name);
      if (group->placeholders.empty()) throw UnknownNameError(group->target);
    }
  }
  // The node now stands for this task: its lists from the start.
  nodes_[n].task_deps_taken = 0;
  nodes_[n].calc_deps_taken = 0;
}

void Executor::Impl::update_waiting(int n) {
  Node& node = nodes_[n];
  if (node.wait_select) {
    node.wait_select = false;
    node.in_waiting = false;
    ready_.push_back(n);
  }
  if (node.run_status == Node::RunStatus::kRun) return;
  const int t = node.task;
  for (int w : node.waiting_me) {
    Node& waiting = nodes_[w];
    parent_status(waiting, nodes_[n]);
    bool is_ready = false;
    if (waiting.wait_run.erase(t)) {
      is_ready = waiting.wait_run.empty() && waiting.wait_run_calc.empty();
    } else {
      waiting.wait_run_calc.erase(t);
      is_ready = true;
      merge_calc_results(nodes_[n], waiting);
    }
    if (is_ready && waiting.in_waiting) {
      waiting.in_waiting = false;
      ready_.push_back(w);
    }
  }
  nodes_[n].waiting_me.clear();
}

int Executor::Impl::effective_verbosity(const Task& task) const {
  if (ex_.options_.forced_verbosity) return *ex_.options_.forced_verbosity;
  if (task.verbosity) return *task.verbosity;
  return ex_.options_.default_verbosity;
}

void Executor::Impl::handle_failure(int n, Failure failure) {
  Node& node = nodes_[n];
  const Task& task = graph_.task(node.task);
  node.run_status = Node::RunStatus::kFailure;
  if (!ex_.options_.dry_run) ex_.db_.remove(task.name);
  ex_.reporter_.add_failure(task, failure);
  if (failure.kind == FailureKind::kTaskFailed && result_ != kRunError) {
    result_ = kRunFailure;
  } else {
    result_ = kRunError;
  }
  if (!ex_.options_.keep_going) stop_ = true;
}

bool Executor::Impl::select(int n) {
  Node& node = nodes_[n];
  const Task& task = graph_.task(node.task);
  if (node.run_status != Node::RunStatus::kNone) return true;  // second pass after setup
  ex_.reporter_.get_status(task);

  const TaskRecord* record = ex_.db_.find(task.name);
  if (!node.ignored_deps.empty() || (record != nullptr && record->ignored)) {
    node.run_status = Node::RunStatus::kIgnore;
    ex_.reporter_.skip_ignore(task);
    return false;
  }
  if (!node.bad_deps.empty()) {
    std::vector<std::string> names;
    for (int t : node.bad_deps) names.push_back(graph_.task(t).name);
    Failure f;
    f.kind = FailureKind::kUnmetDependency;
    f.message = join(names, " ") + "\n";
    f.verbosity = effective_verbosity(task);
    handle_failure(n, std::move(f));
    return false;
  }
  const bool dry_run = ex_.options_.dry_run;
  const bool explaining = ex_.options_.explain || dry_run;
  Status status;
  take_in_changes();                                  // what the tasks that ran so far changed
  if (!task.uptodate.empty()) user_code_ran_ = true;  // its callables and commands
  try {
    status = check_status({task, record, ex_.options_.checker, ex_.fs_, shell_command_succeeds,
                           /*explain=*/explaining});
  } catch (const UptodateError& e) {
    throw UptodateError(fmt::format("ERROR: Task '{}': an uptodate check raised an exception.\n{}",
                                    task.name, e.what()));
  }
  std::vector<std::string> built;  // --dry-run: file_deps that would be built first
  if (dry_run) {
    built = would_be_built(task);
    std::erase_if(status.missing_files, [&](const std::string& f) {
      const int producer = graph_.task_for_target(f);
      return producer != TaskGraph::kNotFound && would_run_[producer];
    });
    if (status.kind == Status::Kind::kError && status.missing_files.empty() &&
        status.unreadable_files.empty()) {
      status.kind = Status::Kind::kRun;
    }
    if (status.kind == Status::Kind::kError) {
      status.error = fmt::format("Dependent file '{}' does not exist.",
                                 status.missing_files.empty() ? status.unreadable_files.front()
                                                              : status.missing_files.front());
    }
  }
  if (status.kind == Status::Kind::kError) {
    Failure f;
    f.kind = FailureKind::kDependencyError;
    f.message =
        fmt::format("ERROR: Task '{}' checking dependencies: {}\n", task.name, status.error);
    f.verbosity = effective_verbosity(task);
    handle_failure(n, std::move(f));
    return false;
  }
  if (!status.checker_changed_from.empty() && !dry_run) ex_.db_.remove(task.name);
  node.changed = status.changed;
  const bool run = ex_.options_.always || status.kind == Status::Kind::kRun || !built.empty();
  node.run_status = run ? Node::RunStatus::kRun : Node::RunStatus::kUpToDate;
  if (!run) {
    ex_.reporter_.skip_uptodate(task);
    // The values a calc_dep dependent may merge (most tasks have none).
    if (const TaskRecord* r = ex_.db_.find(task.name); r != nullptr && r->values_json != "{}") {
      node.values = std::make_unique<Json>(Json::parse(r->values_json));
    }
    return false;
  }
  if (explaining && !task.actions.empty()) {
    std::vector<std::string> reasons = explain_reasons(
        {task, status, record, ex_.fs_, ex_.options_.always && status.kind != Status::Kind::kRun});
    reasons.insert(reasons.end(), built.begin(), built.end());
    explain(task, reasons);
  }
  return task.setup.empty();
}

CommandRun Executor::Impl::command_run(bool capture) const {
  return CommandRun{.style = ex_.options_.format_style,
                    .formatter = ex_.formatter_,
                    .capture = capture,
                    .with_changed = true,
                    .own_group = false};
}

ActionEnv Executor::Impl::action_env(const Task& task, const std::vector<std::string>& changed,
                                     int verbosity, LiveOutput* live) const {
  ActionEnv env{.task = task,
                .changed = changed,
                .verbosity = verbosity,
                .live_out = verbosity >= 2 ? live : nullptr,
                .live_err = verbosity >= 1 ? live : nullptr,
                .dryrun = std::nullopt};
  if (!task.capture) {
    env.live_out = live;
    env.live_err = live;
  }
  return env;
}

ActionOutcome Executor::Impl::run_action(const Action& action, const ActionEnv& env, bool capture) {
  if (action.is_cmd()) return run_command(action.cmd(), env, command_run(capture));
  flush_console();
  std::vector<ChildProcess*> servers;
  for (const auto& server : servers_) servers.push_back(server->process.get());
  const ServerReader reader(std::move(servers));
  return action.callable().run(env);
}

bool Executor::Impl::begin_execute(int n, Signatures& before) {
  const Task& task = graph_.task(nodes_[n].task);
  if (!task.extras().teardown.empty()) teardown_list_.push_back(nodes_[n].task);
  try {
    for (const Action& action : task.actions) {
      if (!action.is_cmd()) action.callable().validate();
    }
  } catch (const ActionDefinitionError& e) {
    abort_run(n, e.what());
    return false;
  }
  if (ex_.options_.before_execute) ex_.options_.before_execute(task);
  ex_.reporter_.execute_task(task);
  started_at_[n] = {std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count(),
                    std::chrono::steady_clock::now()};
  if (hash_ahead_disk_ != nullptr && has_python_action(task)) {
    if (!hash_ahead_ && ex_.db_.find(task.name) == nullptr) {
      // Most likely a first build: the tasks after it will need their hashes too.
      hash_ahead_ = std::make_unique<HashAhead>(*hash_ahead_disk_);
      tasks_to_hash_ahead_ = tasks_to_hash_ahead(nodes_[n].task);
    }
    if (hash_ahead_) feed_hash_ahead();
  }
  if (!task.actions.empty()) {
    ex_.fs_.invalidate();  // its actions may change any file
    user_code_ran_ = true;
  }
  if (ex_.options_.signatures_before_actions) before = signatures_now(task);
  return true;
}

bool Executor::Impl::execute(int n) {
  Signatures before;
  if (!begin_execute(n, before)) return false;
  if (parallel_) {
    switch (start_job(n, before)) {
      case JobStart::kStarted:
        return true;
      case JobStart::kFinished:
        return false;
      case JobStart::kRunHere:
        break;
    }
  }

  const Task& task = graph_.task(nodes_[n].task);
  const ActionEnv env = action_env(task, nodes_[n].changed, effective_verbosity(task), &live_);
  TaskRun run;
  for (const Action& action : task.actions) {
    ActionOutcome outcome;
    try {
      if (auto_ && action.is_cmd()) {
        const bool detachable = &action == &task.actions.back() && may_become_server(task);
        std::optional<ActionOutcome> ended =
            run_auto_cmd(n, action.cmd(), env, task.capture, detachable, run, before);
        if (!ended) return false;  // a server: the run goes on
        outcome = std::move(*ended);
      } else {
        outcome = run_action(action, env, task.capture);
      }
    } catch (const ActionDefinitionError& e) {
      run.abort_message = e.what();
      break;
    }
    ex_.reporter_.action_output(task, outcome.out, outcome.err);
    if (interrupt_requested()) {  // the interrupted task is not recorded
      stop_ = true;
      ex_.interrupted_ = true;
      return false;
    }
    if (!run.add(std::move(outcome))) break;
  }
  finish_execute(n, std::move(run), before);
  return false;
}

void Executor::Impl::finish_execute(int n, TaskRun run, const Signatures& before) {
  // What the task started and left running (a server it daemonized) is its
  // business now: an interrupt later does not stop it. (A task ended by the
  // interrupt itself releases nothing.)
  if (!interrupt_requested()) release_descendants();
  Node& node = nodes_[n];
  const Task& task = graph_.task(node.task);
  const int verbosity = effective_verbosity(task);
  if (run.abort_message) {
    record_time(n, "error");
    abort_run(n, *run.abort_message);
    return;
  }
  std::string& out = run.out;
  std::string& err = run.err;
  if (run.failure) {
    record_time(n, run.failure->status == ActionOutcome::Status::kFailed ? "failure" : "error");
    Failure f;
    f.kind = run.failure->status == ActionOutcome::Status::kFailed ? FailureKind::kTaskFailed
                                                                   : FailureKind::kTaskError;
    f.message = std::move(run.failure->message);
    f.out = std::move(out);
    f.err = std::move(err);
    f.started = true;
    f.verbosity = verbosity;
    f.report = run.failure->report;
    handle_failure(n, std::move(f));
    return;
  }
  Json& values = run.values;
  std::optional<Json>& result = run.result;

  // Save: signatures of every file_dep, taken after the actions ran.
  std::vector<std::pair<std::string, FileSignature>> deps;
  deps.reserve(task.file_dep.size());
  const TaskRecord* previous = ex_.db_.find(task.name);
  const auto fail_saving = [&](const std::string& problem) {
    record_time(n, "error");
    Failure f;
    f.kind = FailureKind::kDependencyError;
    f.message = fmt::format("ERROR: Task '{}' saving success: {}\n", task.name, problem);
    f.out = std::move(out);
    f.err = std::move(err);
    f.started = true;
    f.verbosity = verbosity;
    handle_failure(n, std::move(f));
  };
  take_in_changes();
  for (const std::string_view dep_view : task.file_dep) {
    const std::string dep(dep_view);
    FileStat st;
    try {
      st = ex_.fs_.stat(dep);
    } catch (const FsError& e) {  // e.g. permission denied on its folder
      fail_saving(unreadable_dep_message(dep, e));
      return;
    }
    if (!st.exists) {
      fail_saving(fmt::format("Dependent file '{}' does not exist.", dep));
      return;
    }
    const auto early = std::find_if(before.begin(), before.end(),
                                    [&](const auto& entry) { return entry.first == dep; });
    if (early != before.end()) {
      deps.push_back(*early);
      continue;
    }
    const FileSignature* old = previous ? previous->find_dep(dep) : nullptr;
    try {
      std::optional<Hash128> ahead;
      if (hash_ahead_ && (old == nullptr || old->mtime_ns != st.mtime_ns)) {
        ahead = hash_ahead_->take(dep, st);
      }
      deps.emplace_back(dep, ahead ? FileSignature{st.mtime_ns, st.size, *ahead}
                                   : take_signature(ex_.options_.checker, ex_.fs_, dep, st, old));
    } catch (const FsError& e) {  // unreadable, or a folder
      fail_saving(unreadable_dep_message(dep, e));
      return;
    }
  }
  if (task.extension) {
    if (std::optional<Json> extra = task.extension->extra_values(task);
        extra && extra->is_object()) {
      for (const auto& [k, v] : extra->members()) values.set(k, v);
    }
  }
  std::optional<std::string> result_json;
  if (result) {
    if (result->type() == Json::Type::kString) {
      if (!result->text().empty()) result_json = Json::string(digest_of(result->text())).dump();
    } else if (result->is_object() && !result->members().empty()) {
      result_json = result->dump();
    }
  }
  ex_.db_.save_success(task.name, std::string(checker_name(ex_.options_.checker)), std::move(deps),
                       values.dump(), std::move(result_json));
  node.values = std::make_unique<Json>(std::move(values));
  node.run_status = Node::RunStatus::kSuccessful;
  record_time(n, "success");
  ex_.reporter_.add_success(task);
}

void Executor::Impl::record_time(int n, std::string result) {
  const auto it = started_at_.find(n);
  if (it == started_at_.end()) return;
  if (graph_.task(nodes_[n].task).actions.empty()) {  // a group: nothing ran
    started_at_.erase(it);
    return;
  }
  const auto took = std::chrono::steady_clock::now() - it->second.second;
  ex_.times_.push_back({graph_.task(nodes_[n].task).name, it->second.first,
                        std::chrono::duration_cast<std::chrono::nanoseconds>(took).count(),
                        std::move(result)});
  started_at_.erase(it);
}

bool Executor::Impl::fetch_getargs(int n) {
  Task& task = graph_.task(nodes_[n].task);
  if (task.extras().getargs.empty()) return true;
  TaskExtras& extras = task.set_extras();
  const auto value_of = [&](const std::string& source,
                            const std::optional<std::string>& key) -> Json {
    const TaskRecord* record = ex_.db_.find(source);
    if (!key) return record ? Json::parse(record->values_json) : Json::object();
    if (record == nullptr || !record->has_success) {
      throw std::runtime_error(fmt::format("taskid '{}' has no computed value!", source));
    }
    const Json values = Json::parse(record->values_json);
    const Json* v = values.find(*key);
    if (v == nullptr) {
      throw std::runtime_error(
          fmt::format("Invalid arg name. Task '{}' has no value for '{}'.", source, *key));
    }
    return *v;
  };
  try {
    for (const GetArg& g : extras.getargs) {
      const Task& source = graph_.task(graph_.find(g.task));
      Json value;
      if (source.is_group) {
        value = Json::object();
        const std::string prefix = source.name + ":";
        for (const std::string& sub : source.task_dep) {
          if (sub.starts_with(prefix)) value.set(sub.substr(prefix.size()), value_of(sub, g.key));
        }
      } else {
        value = value_of(g.task, g.key);
      }
      std::erase_if(extras.options, [&](const auto& o) { return o.first == g.arg; });
      extras.options.emplace_back(g.arg, OptionValue{nullptr, std::move(value), std::nullopt});
    }
  } catch (const std::exception& e) {
    Failure f;
    f.kind = FailureKind::kDependencyError;
    f.message = std::string("ERROR getting value for argument\n") + e.what() + "\n";
    f.verbosity = effective_verbosity(task);
    handle_failure(n, std::move(f));
    return false;
  }
  return true;
}

void Executor::Impl::abort_run(int n, const std::string& message) {
  ex_.reporter_.runtime_error(message);
  result_ = kRunError;
  stop_ = true;
  nodes_[n].run_status = Node::RunStatus::kFailure;
  ex_.db_.remove(graph_.task(nodes_[n].task).name);
}

std::vector<int> Executor::Impl::tasks_to_hash_ahead(int first) const {
  // Tasks without a record hash every file_dep when they are saved: those
  // with python-actions, from this one on in the graph's order (mostly the
  // order they run in), then those before it.
  std::vector<int> tasks;
  const int count = graph_.size();
  for (int k = 0; k < count; ++k) {
    const int t = (first + k) % count;
    const Task& task = graph_.task(t);
    if (!task.file_dep.empty() && has_python_action(task) && ex_.db_.find(task.name) == nullptr) {
      tasks.push_back(t);
    }
  }
  return tasks;
}

void Executor::Impl::feed_hash_ahead() {
  // A batch at a time, at most two batches ahead of the tasks saved: the
  // paths are copied (another thread reads them while this one may change
  // the tasks), and only so many.
  constexpr std::size_t kBatch = 4096;
  if (hash_ahead_->ahead() >= kBatch) return;
  std::vector<std::string> paths;
  while (paths.size() < kBatch && next_task_to_hash_ahead_ < tasks_to_hash_ahead_.size()) {
    const Task& task = graph_.task(tasks_to_hash_ahead_[next_task_to_hash_ahead_++]);
    if (ex_.db_.find(task.name) != nullptr) continue;  // ran already
    for (const std::string_view dep : task.file_dep) paths.emplace_back(dep);
  }
  if (!paths.empty()) hash_ahead_->add(std::move(paths));
}

std::vector<std::pair<std::string, FileSignature>> Executor::Impl::signatures_now(
    const Task& task) const {
  std::vector<std::pair<std::string, FileSignature>> out;
  const TaskRecord* previous = ex_.db_.find(task.name);
  take_in_changes();
  for (const std::string_view dep_view : task.file_dep) {
    const std::string dep(dep_view);
    const FileStat st = ex_.fs_.stat(dep);
    if (!st.exists) continue;
    const FileSignature* old = previous ? previous->find_dep(dep) : nullptr;
    out.emplace_back(dep, take_signature(ex_.options_.checker, ex_.fs_, dep, st, old));
  }
  return out;
}

void Executor::Impl::take_in_changes() const {
  if (!user_code_ran_) return;
  ex_.fs_.refresh();
  user_code_ran_ = !jobs_.empty() || !servers_.empty();  // still running: look every time
}

bool Executor::Impl::process(int n) {
  if (!select(n)) return false;
  if (ex_.options_.dry_run) {
    pretend_execute(n);
    return false;
  }
  if (!fetch_getargs(n)) return false;
  if (parallel_ && !wait_for_slot()) return false;
  return execute(n);
}

// --- explain and dry runs -----------------------------------------------------

void Executor::Impl::explain(const Task& task, const std::vector<std::string>& reasons) const {
  Output::out().flush();  // after the lines about earlier tasks
  Output& err = Output::err();
  for (const std::string& reason : reasons) {
    err.write(fmt::format("doit explain: {}: {}\n", task.name, reason));
  }
  err.flush();
}

std::vector<std::string> Executor::Impl::would_be_built(const Task& task) const {
  std::vector<std::string> out;
  for (const std::string_view dep : task.file_dep) {
    const int producer = graph_.task_for_target(dep);
    if (producer != TaskGraph::kNotFound && would_run_[producer]) {
      out.push_back(fmt::format("file_dep {} would be built by {}", python_repr(dep),
                                python_repr(graph_.task(producer).name)));
    }
  }
  return out;
}

void Executor::Impl::pretend_execute(int n) {
  Node& node = nodes_[n];
  const Task& task = graph_.task(node.task);
  ex_.reporter_.execute_task(task);
  would_run_[node.task] = true;
  if (!task.actions.empty()) ++would_run_count_;
  // Dependents see the values of the last real run (calc_dep, getargs).
  if (const TaskRecord* r = ex_.db_.find(task.name)) {
    node.values = std::make_unique<Json>(Json::parse(r->values_json));
  }
  node.run_status = Node::RunStatus::kSuccessful;
  ex_.reporter_.add_success(task);
}

// --- `auto` cycles: servers --------------------------------------------------

bool Executor::Impl::may_become_server(const Task& task) const {
  // A task that makes files is a build step: what runs after it needs its
  // end. The last thing to run has nothing after it.
  return task.targets.empty() || nothing_else_to_run();
}

bool Executor::Impl::is_server(int t, const CmdAction& cmd, pid_t group, bool last,
                               bool& up) const {
  // A slow step (a migration) must end before what depends on it starts; a
  // server never ends, and shows it is one by listening. A command nothing
  // left in the cycle waits for (a file watcher) runs beside the rest.
  up = (cmd.ignore_status && cmd.inherit_output) ||  // LongRunning
       (ex_.options_.serving && ex_.options_.serving(group));
  return up || last || !wanted_later(t);
}

bool Executor::Impl::wanted_later(int t) const {
  std::vector<char> seen(static_cast<size_t>(graph_.size()), 0);
  std::vector<int> stack;
  for (const std::string& name : to_run_) {
    if (const int i = graph_.find(name); i != TaskGraph::kNotFound) stack.push_back(i);
  }
  for (const Node& node : nodes_) {
    const bool pending =
        node.run_status == Node::RunStatus::kNone || node.run_status == Node::RunStatus::kRun;
    if (pending && node.task != t) stack.push_back(node.task);
  }
  seen[static_cast<size_t>(t)] = 1;  // reached again only through a dependency
  while (!stack.empty()) {
    const Task& task = graph_.task(stack.back());
    stack.pop_back();
    for (const auto* deps : {&task.task_dep, &task.setup, &task.extras().calc_dep}) {
      for (const std::string& d : *deps) {
        const int i = graph_.find(d);
        if (i == t) return true;
        if (i == TaskGraph::kNotFound || seen[static_cast<size_t>(i)]) continue;
        seen[static_cast<size_t>(i)] = 1;
        stack.push_back(i);
      }
    }
  }
  return false;
}

std::optional<ActionOutcome> Executor::Impl::run_auto_cmd(int n, const CmdAction& cmd,
                                                          const ActionEnv& env, bool capture,
                                                          bool detachable, TaskRun& run,
                                                          const Signatures& before) {
  CommandRun how = command_run(capture);
  how.own_group = detachable;  // a server is stopped on its own, the cycle goes on
  std::variant<PreparedCommand, ActionOutcome> prepared = prepare_command(cmd, env, how);
  if (auto* failed = std::get_if<ActionOutcome>(&prepared)) return std::move(*failed);
  auto job = std::make_unique<Job>();
  job->node = n;
  job->task = nodes_[n].task;
  job->command = std::move(std::get<PreparedCommand>(prepared));
  job->process = std::make_unique<ChildProcess>(job->command->spec, env.live_out, env.live_err);
  const pid_t group = job->process->pid();
  if (detachable && group > 0 && ex_.options_.on_process_group) {
    ex_.options_.on_process_group(group);
  }
  const bool last = nothing_else_to_run();
  // When to look whether it is a server: after the grace, then every so often.
  auto look_at = std::chrono::steady_clock::now() + ex_.options_.long_running_grace;
  bool passed_on = false;
  while (!job->process->finished()) {
    if (interrupt_requested()) {
      // In a group of its own, out of reach of the signal: pass it on.
      if (detachable && !passed_on) {
        job->process->signal(interrupt_signal());
        passed_on = true;
      }
      wait_for_processes(job->process.get(), std::nullopt);
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    bool up = false;
    if (detachable && now >= look_at && is_server(job->task, cmd, group, last, up)) {
      // Recorded as started (signatures from before its actions), so that
      // the next cycle keeps it unless what it depends on changed.
      const Task& task = graph_.task(job->task);
      ex_.db_.save_success(task.name, std::string(checker_name(ex_.options_.checker)), before, "{}",
                           std::nullopt);
      job->before = before;
      job->run = std::move(run);
      nodes_[n].run_status = Node::RunStatus::kSuccessful;
      servers_.push_back(std::move(job));
      if (ex_.options_.on_long_running) ex_.options_.on_long_running(task, group, up);
      return std::nullopt;
    }
    if (detachable && now >= look_at) look_at = now + kServerLook;
    wait_for_processes(job->process.get(), detachable ? std::optional(look_at) : std::nullopt);
  }
  return command_outcome(cmd, *job->command, job->process->take_result());
}

void Executor::Impl::wait_for_processes(
    ChildProcess* running, std::optional<std::chrono::steady_clock::time_point> until) {
  std::vector<pollfd> pfds;
  std::vector<ChildProcess*> owners;
  std::vector<int> fds;
  int timeout = -1;
  const auto add = [&](ChildProcess& process) {
    fds.clear();
    process.poll_fds(fds);
    for (int fd : fds) {
      pfds.push_back({fd, POLLIN, 0});
      owners.push_back(&process);
    }
    const int limit = process.poll_timeout_ms();
    if (limit >= 0 && (timeout < 0 || limit < timeout)) timeout = limit;
  };
  if (running != nullptr) add(*running);
  for (const auto& server : servers_) add(*server->process);
  const size_t processes = pfds.size();
  if (wake_pipe_[0] >= 0) pfds.push_back({wake_pipe_[0], POLLIN, 0});
  const bool control = control_open_ && ex_.options_.control_fd >= 0 && !servers_.empty();
  if (control) pfds.push_back({ex_.options_.control_fd, POLLIN, 0});
  if (until) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(*until - std::chrono::steady_clock::now());
    const int left_ms = static_cast<int>(std::max<std::int64_t>(0, left.count()));
    timeout = timeout < 0 ? left_ms : std::min(timeout, left_ms);
  }
  if (::poll(pfds.data(), pfds.size(), timeout) > 0) {
    // The control descriptor first: a server released before it was
    // stopped ends quietly.
    if (control && (pfds.back().revents & (POLLIN | POLLHUP | POLLERR))) read_control();
    for (size_t i = 0; i < processes; ++i) {
      if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) owners[i]->on_ready(pfds[i].fd);
    }
    if (wake_pipe_[0] >= 0) {
      char drain[64];
      while (::read(wake_pipe_[0], drain, sizeof drain) > 0) {
      }
    }
  }
  collect_servers();
}

void Executor::Impl::read_control() {
  std::optional<std::vector<std::string>> released = ex_.options_.read_released();
  if (!released) {
    control_open_ = false;  // nobody will release anything any more
    return;
  }
  for (const std::string& name : *released) {
    for (const auto& server : servers_) {
      if (server->released || graph_.task(server->task).name != name) continue;
      server->released = true;
      ex_.db_.remove(name);  // stopped by someone else: not done
    }
  }
}

void Executor::Impl::collect_servers() {
  for (size_t i = 0; i < servers_.size();) {
    if (!servers_[i]->process->finished()) {
      ++i;
      continue;
    }
    const std::unique_ptr<Job> done = std::move(servers_[i]);
    servers_.erase(servers_.begin() + static_cast<std::ptrdiff_t>(i));
    end_server(*done);
  }
}

void Executor::Impl::end_server(Job& job) {
  if (job.released) return;
  const Task& task = graph_.task(job.task);
  if (interrupt_requested()) {  // stopped with the run: not done
    ex_.db_.remove(task.name);
    return;
  }
  ActionOutcome outcome =
      command_outcome(task.actions.back().cmd(), *job.command, job.process->take_result());
  ex_.reporter_.action_output(task, outcome.out, outcome.err);
  job.run.add(std::move(outcome));
  int result = kRunSuccess;
  if (job.run.failure) {
    result = job.run.failure->status == ActionOutcome::Status::kFailed ? kRunFailure : kRunError;
  }
  finish_execute(job.node, std::move(job.run), job.before);
  if (ex_.options_.on_server_exit) ex_.options_.on_server_exit(task, result);
}

void Executor::Impl::wait_for_servers() {
  if (servers_.empty()) return;
  if (!interrupt_requested() && ex_.options_.on_idle) ex_.options_.on_idle(result_);
  while (!servers_.empty() && !interrupt_requested()) wait_for_processes(nullptr, std::nullopt);
  if (!servers_.empty()) {
    ex_.interrupted_ = true;
    stop_servers();
  }
}

void Executor::Impl::stop_servers() {
  if (servers_.empty()) return;
  const int sig = interrupt_signal() != 0 ? interrupt_signal() : SIGTERM;
  for (const auto& server : servers_) {
    if (!server->released) ex_.db_.remove(graph_.task(server->task).name);
    server->released = true;  // it ends quietly
    server->process->signal(sig);
  }
  const auto deadline = std::chrono::steady_clock::now() + ex_.options_.stop_timeout;
  const int count = interrupt_count();
  while (!servers_.empty() && std::chrono::steady_clock::now() < deadline &&
         interrupt_count() == count) {
    wait_for_processes(nullptr, deadline);
  }
  servers_.clear();  // what still runs is killed (SIGKILL to its group) and reaped
}

// --- parallel runs ----------------------------------------------------------

bool Executor::Impl::wait_for_slot() {
  while (static_cast<int>(jobs_.size()) >= ex_.options_.jobs) {
    if (stop_ || interrupt_requested()) break;
    collect_jobs(/*block=*/true);
  }
  return !stop_ && !interrupt_requested();
}

Executor::Impl::JobStart Executor::Impl::start_job(int n, Signatures& before) {
  const int t = nodes_[n].task;
  const Task& task = graph_.task(t);
  const bool python = std::any_of(task.actions.begin(), task.actions.end(),
                                  [](const Action& a) { return !a.is_cmd(); });
  if (python && !ex_.options_.python_in_workers) return JobStart::kRunHere;  // -P thread

  auto job = std::make_unique<Job>();
  job->node = n;
  job->task = t;
  job->verbosity = effective_verbosity(task);
  job->changed = nodes_[n].changed;
  job->before = std::move(before);
  if (python) {
    job->worker = true;
    Job& j = *job;
    const auto body = [this, &j](OutputBlock& output) {
      // In the forked child: the task's actions, one after the other.
      const Task& task = graph_.task(j.task);
      const ActionEnv env = action_env(task, j.changed, j.verbosity, &output);
      TaskRun run;
      for (const Action& action : task.actions) {
        ActionOutcome outcome;
        try {
          outcome = action.is_cmd() ? run_command(action.cmd(), env, command_run(task.capture))
                                    : action.callable().run(env);
        } catch (const ActionDefinitionError& e) {
          run.abort_message = e.what();
          break;
        }
        if (!run.add(std::move(outcome))) break;
      }
      return run;
    };
    try {
      job->process = fork_worker(body, ex_.options_.fork_hooks);
    } catch (const std::system_error& e) {
      ActionOutcome failed;
      failed.status = ActionOutcome::Status::kError;
      failed.message = fmt::format("Could not start a worker process: {}\n", e.what());
      job->run.add(std::move(failed));
    }
  } else {
    start_next_command(*job);
  }
  if (!job->process) {  // nothing started: over already
    complete_job(*job);
    return JobStart::kFinished;
  }
  jobs_.push_back(std::move(job));
  return JobStart::kStarted;
}

bool Executor::Impl::start_next_command(Job& job) {
  const Task& task = graph_.task(job.task);
  if (job.next_action >= task.actions.size()) return false;
  const CmdAction& cmd = task.actions[job.next_action++].cmd();
  const ActionEnv env = action_env(task, job.changed, job.verbosity, &job.output);
  CommandRun how = command_run(task.capture);
  how.own_group = true;
  std::variant<PreparedCommand, ActionOutcome> prepared = prepare_command(cmd, env, how);
  if (auto* failed = std::get_if<ActionOutcome>(&prepared)) {
    ex_.reporter_.action_output(task, failed->out, failed->err);
    job.run.add(std::move(*failed));
    return false;
  }
  job.command = std::move(std::get<PreparedCommand>(prepared));
  job.process = std::make_unique<ChildProcess>(job.command->spec, env.live_out, env.live_err);
  return true;
}

bool Executor::Impl::advance_job(Job& job) {
  const Task& task = graph_.task(job.task);
  if (job.worker) {
    auto [run, output] = decode_worker_result(job.process->take_result());
    job.run = std::move(run);
    job.output = std::move(output);
    ex_.reporter_.action_output(task, job.run.out, job.run.err);
    job.process.reset();
    return true;
  }
  const CmdAction& cmd = task.actions[job.next_action - 1].cmd();
  ActionOutcome outcome = command_outcome(cmd, *job.command, job.process->take_result());
  job.process.reset();
  ex_.reporter_.action_output(task, outcome.out, outcome.err);
  if (job.run.add(std::move(outcome)) && start_next_command(job)) return false;
  return true;
}

void Executor::Impl::complete_job(Job& job) {
  job.output.print();
  finish_execute(job.node, std::move(job.run), job.before);
}

void Executor::Impl::collect_jobs(bool block) {
  std::vector<pollfd> pfds;
  std::vector<Job*> owners;
  std::vector<int> fds;
  int timeout = block ? -1 : 0;
  for (const auto& job : jobs_) {
    if (job->process->finished()) timeout = 0;
    fds.clear();
    job->process->poll_fds(fds);
    for (int fd : fds) {
      pfds.push_back({fd, POLLIN, 0});
      owners.push_back(job.get());
    }
    const int limit = job->process->poll_timeout_ms();
    if (limit >= 0 && (timeout < 0 || limit < timeout)) timeout = limit;
  }
  if (wake_pipe_[0] >= 0) {
    pfds.push_back({wake_pipe_[0], POLLIN, 0});
    owners.push_back(nullptr);
  }
  if (::poll(pfds.data(), pfds.size(), timeout) > 0) {
    for (size_t i = 0; i < pfds.size(); ++i) {
      if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (owners[i] != nullptr) {
        owners[i]->process->on_ready(pfds[i].fd);
      } else {
        char drain[64];
        while (::read(wake_pipe_[0], drain, sizeof drain) > 0) {
        }
      }
    }
  }
  for (size_t i = 0; i < jobs_.size();) {
    Job& job = *jobs_[i];
    if (!job.process->finished() || !advance_job(job)) {
      ++i;
      continue;
    }
    const std::unique_ptr<Job> done = std::move(jobs_[i]);
    jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(i));
    complete_job(*done);
    update_waiting(done->node);
  }
}

void Executor::Impl::drain_jobs() {
  while (!jobs_.empty() && !interrupt_requested()) collect_jobs(/*block=*/true);
  if (!jobs_.empty()) {
    ex_.interrupted_ = true;
    stop_jobs();
  }
}

void Executor::Impl::stop_jobs() {
  // Each job runs in a process group of its own, out of the terminal's
  // reach: pass the signal on, as the terminal would have.
  const int sig = interrupt_signal() != 0 ? interrupt_signal() : SIGTERM;
  for (const auto& job : jobs_) job->process->signal(sig);
  const int count = interrupt_count();
  const auto deadline = std::chrono::steady_clock::now() + ex_.options_.stop_timeout;
  std::vector<pollfd> pfds;
  std::vector<int> fds;
  while (std::chrono::steady_clock::now() < deadline && interrupt_count() == count) {
    std::erase_if(jobs_, [](const auto& job) { return job->process->finished(); });
    if (jobs_.empty()) break;
    pfds.clear();
    std::vector<ChildProcess*> owners;
    for (const auto& job : jobs_) {
      fds.clear();
      job->process->poll_fds(fds);
      for (int fd : fds) {
        pfds.push_back({fd, POLLIN, 0});
        owners.push_back(job->process.get());
      }
    }
    if (::poll(pfds.data(), pfds.size(), kStopPollMs) <= 0) continue;
    for (size_t i = 0; i < pfds.size(); ++i) {
      if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) owners[i]->on_ready(pfds[i].fd);
    }
  }
  jobs_.clear();  // what still runs is killed (SIGKILL to its group) and reaped
}

void Executor::Impl::teardown() {
  for (auto it = teardown_list_.rbegin(); it != teardown_list_.rend(); ++it) {
    const Task& task = graph_.task(*it);
    const int verbosity = effective_verbosity(task);
    const std::vector<std::string> none;
    ActionEnv env{.task = task,
                  .changed = none,
                  .verbosity = verbosity,
                  .live_out = verbosity >= 2 ? &live_ : nullptr,
                  .live_err = verbosity >= 1 ? &live_ : nullptr,
                  .dryrun = std::nullopt};
    ex_.reporter_.teardown_task(task);
    for (const Action& action : task.extras().teardown) {
      ActionOutcome outcome;
      try {
        outcome = run_action(action, env, task.capture);
      } catch (const ActionDefinitionError& e) {
        outcome.status = ActionOutcome::Status::kError;
        outcome.message = e.what();
      }
      if (outcome.status != ActionOutcome::Status::kSuccess) {
        ex_.reporter_.cleanup_error(
            fmt::format("ERROR: task '{}' teardown action\n{}", task.name, outcome.message));
        break;
      }
    }
  }
}

int Executor::Impl::run(const std::vector<std::string>& selected) {
  to_run_.assign(selected.rbegin(), selected.rend());
  would_run_.assign(static_cast<size_t>(graph_.size()), false);
  nodes_.reserve(static_cast<size_t>(graph_.size()));
  if ((parallel_ || auto_) && ::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) == 0) {
    g_wake_fd.store(wake_pipe_[1]);
  }
  std::exception_ptr error;
  try {
    loop();
  } catch (...) {
    error = std::current_exception();
  }
  try {
    drain_jobs();
    if (error) stop_servers();
    wait_for_servers();
  } catch (...) {
    if (!error) error = std::current_exception();
  }
  flush_console();
  if (!ex_.options_.dry_run) teardown();
  ex_.reporter_.complete_run();
  flush_console();
  if (ex_.options_.dry_run) {
    Output::err().write(
        fmt::format("doit: dry run: {} task{} would run; nothing was run or "
                    "recorded\n",
                    would_run_count_, would_run_count_ == 1 ? "" : "s"));
    Output::err().flush();
  }
  if (error) std::rethrow_exception(error);
  return result_;
}

bool Executor::Impl::nothing_else_to_run() const {
  if (!ready_.empty()) return false;
  for (const std::string& name : to_run_) {
    const int t = graph_.find(name);
    if (t != TaskGraph::kNotFound && node_of_[t] < 0) return false;
  }
  return std::none_of(nodes_.begin(), nodes_.end(), [](const Node& n) { return n.in_waiting; });
}

void Executor::Impl::loop() {
  std::vector<std::string>& to_run = to_run_;
  int current = -1;
  while (true) {
    if (!jobs_.empty()) collect_jobs(/*block=*/false);
    if (stop_) break;
    if (interrupt_requested()) {
      ex_.interrupted_ = true;
      break;
    }
    if (current < 0) {
      if (!ready_.empty()) {
        current = ready_.front();
        ready_.pop_front();
      } else {
        while (!to_run.empty() && current < 0) {
          const std::string name = std::move(to_run.back());
          to_run.pop_back();
          current = gen_node(-1, name);
        }
        if (current < 0 && !jobs_.empty()) {  // what is left waits for them
          collect_jobs(/*block=*/true);
          continue;
        }
        if (current < 0) {
          if (std::any_of(nodes_.begin(), nodes_.end(),
                          [](const Node& n) { return n.in_waiting; })) {
            throw GraphError(waiting_cycle_message());
          }
          break;
        }
      }
    }
    switch (step(current)) {
      case Step::kDone:
        current = -1;
        break;
      case Step::kWait:
        nodes_[current].in_waiting = true;
        current = -1;
        break;
      case Step::kTask:
        if (process(current)) {  // running in the background
          nodes_[current].stage = Node::Stage::kFinished;
          current = -1;
          break;
        }
        if (stop_) break;
        update_waiting(current);
        break;
    }
  }
}

Executor::Executor(TaskGraph& graph, StateDb& db, const FileSystem& fs, Reporter& reporter,
                   RunOptions options, StringFormatter* formatter)
    : graph_(graph),
      db_(db),
      fs_(fs),
      reporter_(reporter),
      options_(options),
      formatter_(formatter) {}

int Executor::run(const std::vector<std::string>& selected) {
  Impl impl(*this);
  return impl.run(selected);
}

}  // namespace doit

// `doit run` (the default command): select tasks (SPEC §10.1) and run them.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <thread>
#include "cli/command.h"
#include "cli/dodo_session.h"
#include "cli/task_options.h"

#include <filesystem>
#include <optional>
#include <set>

#include "doit/executor.h"
#include "doit/listening.h"
#include "doit/orphans.h"
#include "doit/output.h"
#include "doit/stat_cache.h"
#include "doit/status_line.h"
#include "doit/supervisor.h"
#include "doit/text.h"
#include "python/adapters.h"
#include "python/py_reporter.h"

namespace doit::cli {
namespace {

/// Names of the placeholders made for a command-line target (private: `_`).
constexpr std::string_view kRegexTargetPrefix = "_regex_target_";
/// More tasks at once than this is a typo, not a machine.
constexpr long long kMaxJobs = 1024;

/// Parses the words after a task's name as its options (SPEC §10.1);
/// returns how many words were consumed.
size_t apply_task_options(Task& task, const std::vector<std::string>& words) {
  ParamValues parsed = parse_params(task.extras().params, words);
  for (auto& [name, value] : parsed.values) set_option(task, name, std::move(value));
  if (const std::string pos_arg = task.extras().pos_arg; !pos_arg.empty()) {
    std::vector<Json> items;
    for (const std::string& w : parsed.rest) items.push_back(Json::string(w));
    set_option(task, pos_arg,
               OptionValue{nullptr, Json::array(std::move(items)), join(parsed.rest, " ")});
    return words.size();
  }
  return words.size() - parsed.rest.size();
}

UserError unknown_name(const Invocation& inv, const std::string& word) {
  // An auto cycle (`doit run --auto-report=FD`) says what pydoit's auto says.
  const bool auto_cycle = std::ranges::any_of(
      inv.argv, [](const std::string& arg) { return arg.starts_with("--auto-report="); });
  if (inv.command_named && !auto_cycle) {
    return UserError(
        fmt::format("command `run` invalid parameter: \"{}\". Must be a task, or a target.\n"
                    "Type \"{} list\" to see available tasks",
                    word, inv.bin));
  }
  return UserError(
      fmt::format("Invalid parameter: \"{}\". Must be a command, task, or a target.\n"
                  "Type \"{} help\" to see available commands.\n"
                  "Type \"{} list\" to see available tasks.\n",
                  word, inv.bin, inv.bin));
}

/// `base:sub` where `base` is a delayed placeholder: a placeholder for the
/// sub-task, created when the creator runs (SPEC §5.8). "" if not that case.
std::string delayed_subtask(TaskGraph& graph, const std::string& word) {
  const size_t colon = word.find(':');
  if (colon == std::string::npos) return {};
  const int base = graph.find(word.substr(0, colon));
  if (base == TaskGraph::kNotFound || !graph.task(base).extras().delayed) return {};
  Task placeholder;
  placeholder.name = word;
  placeholder.has_action_list = false;
  TaskExtras& extras = placeholder.set_extras();
  extras.delayed = graph.task(base).extras().delayed;
  extras.delayed_base = graph.task(base).name;
  placeholder.task_dep = graph.task(base).task_dep;
  graph.add_tasks({std::move(placeholder)});
  return word;
}

/// A target no task has yet: placeholders for the delayed creators whose
/// target_regex matches it (or, with --auto-delayed-regex, that have none).
std::vector<std::string> delayed_for_target(TaskGraph& graph, const std::string& target,
                                            bool auto_regex) {
  auto group = std::make_shared<RegexGroup>();
  group->target = target;
  std::vector<Task> placeholders;
  for (const Task& t : graph.tasks()) {
    const std::shared_ptr<DelayedCreation>& delayed = t.extras().delayed;
    if (!delayed || t.name.starts_with(kRegexTargetPrefix)) continue;
    const bool match =
        delayed->target_regex ? python::regex_match(*delayed->target_regex, target) : auto_regex;
    if (!match) continue;
    Task placeholder;
    placeholder.name = std::string(kRegexTargetPrefix) + target + ":" + t.name;
    placeholder.has_action_list = false;
    TaskExtras& extras = placeholder.set_extras();
    extras.delayed = delayed;
    extras.delayed_base = t.name;
    extras.regex_group = group;
    placeholder.task_dep = t.task_dep;
    placeholder.file_dep = {target};
    group->placeholders.push_back(placeholder.name);
    placeholders.push_back(std::move(placeholder));
  }
  std::vector<std::string> names = group->placeholders;
  graph.add_tasks(std::move(placeholders));
  return names;
}

/// Resolves command-line words (or default_tasks) into task names.
std::vector<std::string> select_tasks(const Invocation& inv, DodoSession& session,
                                      const std::vector<std::string>& words, bool from_defaults) {
  TaskGraph& graph = *session.graph;
  std::vector<std::string> selected;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word.find('*') != std::string::npos) {
      for (std::string& name : graph.match(word)) selected.push_back(std::move(name));
      continue;
    }
    const int t = graph.find(word);
    if (t != TaskGraph::kNotFound) {
      selected.push_back(word);
      if (from_defaults) continue;
      const std::vector<std::string> rest(words.begin() + static_cast<long>(i) + 1, words.end());
      i += apply_task_options(graph.task(t), rest);
      continue;
    }
    const int producer = graph.task_for_target(word);
    if (producer != TaskGraph::kNotFound) {
      selected.push_back(graph.task(producer).name);
      continue;
    }
    if (std::string name = delayed_subtask(graph, word); !name.empty()) {
      selected.push_back(std::move(name));
      continue;
    }
    std::vector<std::string> placeholders =
        delayed_for_target(graph, word, session.options.get_bool("auto_delayed_regex"));
    if (placeholders.empty()) throw unknown_name(inv, word);
    selected.insert(selected.end(), placeholders.begin(), placeholders.end());
  }
  return selected;
}

/// -s: the selected tasks run without their task_dep (a group keeps its
/// sub-tasks, which lose theirs).
void drop_task_deps(TaskGraph& graph, const std::vector<std::string>& selected) {
  for (const std::string& name : selected) {
    Task& task = graph.task(graph.find(name));
    if (task.is_group) {
      for (const std::string& sub : task.task_dep) {
        const int s = graph.find(sub);
        if (graph.task(s).subtask_of == task.name) graph.task(s).task_dep.clear();
      }
    } else {
      task.task_dep.clear();
    }
  }
}

/// The report a `doit auto` cycle writes for its supervisor (supervisor.h).
class AutoReport {
 public:
  explicit AutoReport(int fd) : fd_(fd) {
    if (fd_ >= 0) ::fcntl(fd_, F_SETFD, FD_CLOEXEC);  // not for the actions
  }
  ~AutoReport() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool active() const { return fd_ >= 0; }
  void line(std::string_view text) {
    if (fd_ < 0) return;
    std::string out(text);
    out += '\n';
    [[maybe_unused]] const ssize_t n = ::write(fd_, out.data(), out.size());
  }
  void watch(const std::string& path) { line(std::string(auto_report::kWatch) + path); }
  void ignore(const std::string& path) { line(std::string(auto_report::kIgnore) + path); }
  /// Asks the supervisor to stop `task`'s old server and waits until it did.
  void stop_before(const std::string& task) {
    if (fd_ < 0) return;
    line(std::string(auto_report::kStop) + task);
    std::string reply;
    char c;
    while (::read(fd_, &c, 1) == 1 && c != '\n') reply += c;
  }
  int fd() const { return fd_; }
  /// What the supervisor sent (without waiting): the tasks whose servers
  /// it stops itself; nullopt once it is gone.
  std::optional<std::vector<std::string>> released() {
    char buf[kReadChunk];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      return std::nullopt;
    }
    if (n > 0) incoming_.append(buf, static_cast<size_t>(n));
    std::vector<std::string> tasks;
    size_t nl;
    while ((nl = incoming_.find('\n')) != std::string::npos) {
      const std::string text = incoming_.substr(0, nl);
      incoming_.erase(0, nl + 1);
      if (text.starts_with(auto_report::kRelease)) {
        tasks.push_back(text.substr(auto_report::kRelease.size()));
      }
    }
    return tasks;
  }

 private:
  static constexpr size_t kReadChunk = 4096;
  int fd_;
  std::string incoming_;
};

/// The tasks a run of `selected` may check: them and everything they depend
/// on (task_dep, setup, calc_dep), as indexes.
std::vector<int> tasks_in_reach(const TaskGraph& graph, const std::vector<std::string>& selected) {
  std::vector<char> seen(static_cast<size_t>(graph.size()), 0);
  std::vector<int> stack;
  for (const std::string& name : selected) {
    if (const int t = graph.find(name); t != TaskGraph::kNotFound) stack.push_back(t);
  }
  std::vector<int> reached;
  while (!stack.empty()) {
    const int t = stack.back();
    stack.pop_back();
    if (seen[static_cast<size_t>(t)]) continue;
    seen[static_cast<size_t>(t)] = 1;
    reached.push_back(t);
    const Task& task = graph.task(t);
    for (const auto* deps : {&task.task_dep, &task.setup, &task.extras().calc_dep}) {
      for (const std::string& d : *deps) {
        if (const int i = graph.find(d); i != TaskGraph::kNotFound) stack.push_back(i);
      }
    }
  }
  return reached;
}

/// What a cycle watches: dodo.py, the local modules it imported, the config
/// files, and the file_dep and `watch` of the selected tasks and everything
/// they depend on, but no task's target.
void report_watch_set(AutoReport& report, const Invocation& inv, const DodoSession& session,
                      const std::vector<std::string>& selected) {
  namespace fs = std::filesystem;
  const TaskGraph& graph = *session.graph;
  std::set<std::string> paths;
  for (const int t : tasks_in_reach(graph, selected)) {
    const Task& task = graph.task(t);
    report.line(std::string(auto_report::kReach) + task.name);
    paths.insert(task.file_dep.begin(), task.file_dep.end());
    paths.insert(task.extras().watch.begin(), task.extras().watch.end());
  }
  for (const std::string& p : paths) {
    if (graph.task_for_target(p) == TaskGraph::kNotFound) report.watch(fs::absolute(p).string());
  }
  for (const Task& task : graph.tasks()) {
    for (const std::string_view target : task.targets) report.ignore(fs::absolute(target).string());
  }
  const std::string db = fs::absolute(session.options.get_string("dep_file", ".doit.db")).string();
  for (const char* side : {"", "-wal", "-shm", "-journal"}) report.ignore(db + side);
  report.watch(session.dodo_path);
  for (const std::string& m :
       python::local_module_files(fs::path(session.dodo_path).parent_path().string())) {
    report.watch(m);
  }
  for (const char* name : {"doit.cfg", "pyproject.toml"}) {
    report.watch((fs::path(inv.initial_workdir) / name).string());
  }
  report.line(auto_report::kWatched);
}

namespace fs = std::filesystem;

/// Passes every event on, and keeps the terminal's status line up to date.
class StatusReporter : public Reporter {
 public:
  StatusReporter(Reporter& inner, StatusLine& line) : inner_(inner), line_(line) {}
  void get_status(const Task& task) override { inner_.get_status(task); }
  void execute_task(const Task& task) override {
    inner_.execute_task(task);
    if (task.actions.empty()) return;
    line_.started(task.name);
    if (!task.capture) line_.suspend(true);  // it writes to the terminal itself
  }
  void action_output(const Task& task, std::string_view out, std::string_view err) override {
    inner_.action_output(task, out, err);
  }
  void skip_uptodate(const Task& task) override {
    inner_.skip_uptodate(task);
    line_.finished(task.name, false);
  }
  void skip_ignore(const Task& task) override {
    inner_.skip_ignore(task);
    line_.finished(task.name, false);
  }
  void add_success(const Task& task) override {
    if (!task.capture) line_.suspend(false);
    inner_.add_success(task);
    line_.finished(task.name, false);
  }
  void add_failure(const Task& task, const Failure& failure) override {
    if (!task.capture) line_.suspend(false);
    inner_.add_failure(task, failure);
    line_.finished(task.name, true);
  }
  void runtime_error(const std::string& message) override { inner_.runtime_error(message); }
  void teardown_task(const Task& task) override { inner_.teardown_task(task); }
  void cleanup_error(const std::string& message) override { inner_.cleanup_error(message); }
  void complete_run() override { inner_.complete_run(); }

 private:
  Reporter& inner_;
  StatusLine& line_;
};

/// Keeps the run's task times in the state (for `doit stats`) and writes
/// them to the --profile file. A problem is reported on stderr; the run's
/// exit code stays.
void record_times(const OptionValues& opt, const RunOptions& ro, StateDb& db,
                  std::int64_t started_ns, const std::vector<TaskTime>& times) {
  if (ro.dry_run) return;
  if (!times.empty()) {
    try {
      append_run(db, started_ns, times);
    } catch (const StateDbError& e) {
      fmt::print(stderr, "doit: {}\n", e.what());
    }
  }
  const std::string profile = opt.get_string("profile");
  if (profile.empty()) return;
  const std::string trace = chrome_trace(times);
  const int fd = ::open(profile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    fmt::print(stderr, "doit: cannot write the profile '{}': {}\n", profile, std::strerror(errno));
    return;
  }
  Output file(fd, /*owns=*/true);
  file.write(trace);
}

/// A temporary folder, removed with what it holds.
class ScratchDir {
 public:
  ScratchDir() = default;
  ~ScratchDir() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& create() {
    std::string pattern = (fs::temp_directory_path() / "doit-dry-run-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw UserError("Cannot create a temporary folder for the dry run.");
    }
    path_ = pattern;
    return path_;
  }

 private:
  std::string path_;
};

/// --dry-run: a copy of the state (or an empty one) in `scratch`, so that
/// nothing the run does reaches the real file, not even a schema or a WAL.
std::unique_ptr<StateDb> open_state_copy(const DodoSession& session, ScratchDir& scratch) {
  const std::string path = session.options.get_string("dep_file", ".doit.db");
  // pydoit's state (imported by the first real run) is read where it is:
  // pydoit's dbm files beside a missing `path`, or (below) `path` itself.
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) {
    if (auto found = python::find_pydoit_state(path)) return read_from_pydoit(*found);
  }
  const std::string copy = scratch.create() + "/state.db";
  if (fs::exists(path, ec)) {
    for (const char* suffix : {"", "-wal"}) {
      if (fs::exists(path + suffix, ec)) fs::copy_file(path + suffix, copy + suffix, ec);
    }
  }
  try {
    return StateDb::open(copy);
  } catch (const StateDbError&) {
    if (auto found = python::find_pydoit_state(path)) return read_from_pydoit(*found);
    // Not ours, nor pydoit's: start from nothing.
    fmt::print(stderr,
               "doit: dry run: '{}' is not doit-cpp's state; every task counts as "
               "never run\n",
               path);
    fs::remove(copy, ec);
    fs::remove(copy + "-wal", ec);
    try {
      return StateDb::open(copy);
    } catch (const StateDbError& e) {
      throw UserError(e.what());
    }
  }
}

}  // namespace

int execute_run(const Invocation& inv, const Parsed& parsed) {
  const Command& cmd = *find_command("run");
  AutoReport report(parsed.values.contains("auto_report")
                        ? static_cast<int>(std::get<long long>(parsed.values.at("auto_report")))
                        : -1);
  // Every file_dep and target is stat()ed in the background: while the
  // creators run (the paths of the tasks made so far), then while the
  // options, the selection and the state are read.
  RealFileSystem disk;
  StatCache fs(disk, /*keep_across_actions=*/true);
  DodoSession session = open_dodo(
      inv, cmd, parsed, [&fs](std::vector<std::string>&& paths) { fs.stream(std::move(paths)); });
  {
    std::vector<std::string_view> paths;
    std::size_t count = 0;
    for (const Task& t : session.graph->tasks()) count += t.file_dep.size() + t.targets.size();
    paths.reserve(count);
    for (const Task& t : session.graph->tasks()) {  // in the order the checks ask
      paths.insert(paths.end(), t.targets.begin(), t.targets.end());
      paths.insert(paths.end(), t.file_dep.begin(), t.file_dep.end());
    }
    // A file written since the state was (an edit) announces a task to run.
    if (const std::optional<std::int64_t> written =
            StateDb::last_written(session.options.get_string("dep_file", ".doit.db"))) {
      fs.expect_changes_after(*written);
    }
    fs.prefetch_async(paths, std::max(1u, std::thread::hardware_concurrency()));
  }
  report.line(auto_report::kLoaded);
  const OptionValues& opt = session.options;

  RunOptions ro;
  ro.always = opt.get_bool("always");
  ro.keep_going = opt.get_bool("continue");
  if (opt.is_explicit("verbosity")) {
    ro.forced_verbosity = static_cast<int>(opt.get_int("verbosity", 1));
  } else {
    ro.default_verbosity = static_cast<int>(opt.get_int("verbosity", 1));
  }
  if (!parse_checker(opt.get_string("check_file_uptodate", "md5"), &ro.checker)) {
    throw UserError(fmt::format(
        "No check_file_uptodate named '{}'. Type '{} help run' to see a list of available "
        "checkers.",
        opt.get_string("check_file_uptodate"), inv.bin));
  }
  if (auto it = session.config.find("action_string_formatting"); it != session.config.end()) {
    parse_format_style(std::get<std::string>(it->second.value), &ro.format_style);
  }
  const std::string par_type = opt.get_string("par_type", "process");
  const long long num_process = opt.get_int("num_process", 0);
  if (num_process > 0 && par_type != "process" && par_type != "thread") {
    throw UserError("Invalid parallel type " + par_type);
  }
  ro.jobs = static_cast<int>(std::clamp<long long>(num_process, 1, kMaxJobs));
  ro.python_in_workers = par_type == "process";
  ro.fork_hooks = python::fork_hooks();

  std::vector<std::string> selected;
  if (!parsed.rest.empty()) {
    selected = select_tasks(inv, session, parsed.rest, false);
  } else if (auto defaults = default_tasks(session)) {
    selected = select_tasks(inv, session, *defaults, true);
  } else {
    for (const Task& t : session.graph->tasks()) selected.push_back(t.name);
  }
  if (opt.get_bool("single")) drop_task_deps(*session.graph, selected);
  if (report.active()) {
    report.line(auto_report::kSelected);
    report_watch_set(report, inv, session, selected);
    ro.signatures_before_actions = true;
    ro.before_execute = [&report](const Task& task) { report.stop_before(task.name); };
    ro.long_running_grace = kLongRunningGrace;
    ro.on_process_group = [&report](pid_t group) {
      report.line(fmt::format("{}{}", auto_report::kGroup, group));
    };
    ro.serving = group_listens;
    ro.on_long_running = [&report](const Task& task, pid_t group, bool up) {
      report.line(fmt::format("{}{} {} {}", auto_report::kRunning, group,
                              up ? auto_report::kUp : auto_report::kStarted, task.name));
    };
    ro.on_idle = [&report](int result) {
      report.line(fmt::format("{}{}", auto_report::kFinished, result));
    };
    ro.on_server_exit = [&report](const Task& task, int result) {
      report.line(fmt::format("{}{} {}", auto_report::kExited, result, task.name));
    };
    ro.control_fd = report.fd();
    ro.read_released = [&report] { return report.released(); };
  }

  ro.explain = opt.get_bool("explain");
  ro.dry_run = opt.get_bool("dry_run");
  if (ro.dry_run && report.active()) throw UserError("`auto` cannot do a dry run.");
  ScratchDir scratch;
  std::unique_ptr<StateDb> db =
      ro.dry_run ? open_state_copy(session, scratch) : open_state(session);

  std::unique_ptr<Output> outfile;
  const std::string outfile_path = opt.get_string("outfile");
  if (!outfile_path.empty()) {
    const int fd = ::open(outfile_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) throw UserError(fmt::format("Cannot open output file '{}'.", outfile_path));
    outfile = std::make_unique<Output>(fd, /*owns=*/true);
  }
  Output& report_to = outfile ? *outfile : Output::out();
  // An `auto` cycle reports with executed-only unless a reporter was chosen.
  const std::string reporter_name = report.active() && !opt.is_configured("reporter")
                                        ? "executed-only"
                                        : opt.get_string("reporter", "console");
  const int failure_verbosity = static_cast<int>(opt.get_int("failure_verbosity"));
  std::unique_ptr<Reporter> reporter;
  if (auto it = session.config.find("reporter");
      it != session.config.end() && it->second.is_object && !opt.is_explicit("reporter")) {
    reporter = python::make_config_reporter(report_to, failure_verbosity);
  }
  if (!reporter) reporter = make_reporter(reporter_name, report_to, failure_verbosity);
  if (!reporter) {
    throw UserError(
        fmt::format("No reporter named '{}'. Type '{} help run' to see a list of "
                    "available reporters.",
                    reporter_name, inv.bin));
  }

  python::PyFormatter formatter;
  set_interrupt_hook(python::interrupt_python);
  install_interrupt_handlers();
  adopt_orphans();  // an interrupt stops the processes that escaped (orphans.h)
  python::set_state_for_python(db.get(), session.graph.get());
  SessionDelayedCreator delayed_creator(session);
  python::initialize_reporter(*reporter, *session.graph, selected);
  // The live status line: on a terminal, when the report goes there.
  std::unique_ptr<StatusLine> status_line;
  std::unique_ptr<StatusReporter> with_status;
  if (!outfile && !report.active() && StatusLine::wanted(opt.get_bool("no_color"))) {
    status_line = std::make_unique<StatusLine>(
        static_cast<int>(tasks_in_reach(*session.graph, selected).size()));
    with_status = std::make_unique<StatusReporter>(*reporter, *status_line);
  }
  Reporter& reporting = with_status ? static_cast<Reporter&>(*with_status) : *reporter;
  Executor executor(*session.graph, *db, fs, reporting, ro, &formatter);
  executor.set_delayed_creator(&delayed_creator);
  const std::int64_t started_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
  int result = 0;
  try {
    result = executor.run(selected);
  } catch (const GraphError& e) {
    report_to.flush();
    throw UserError(e.what());
  } catch (const UnknownNameError& e) {
    report_to.flush();
    throw unknown_name(inv, e.name());
  } catch (const UptodateError& e) {
    report_to.flush();
    throw python::PythonTraceback(e.what());
  }
  // Not through a child after an interrupt: the descendants still there
  // are stopped then, and it would be one of them.
  fs.release_in_background(/*in_child=*/!executor.interrupted());
  report_to.flush();
  with_status.reset();
  status_line.reset();  // taken down before doit ends
  record_times(opt, ro, *db, started_ns, executor.times());
  db->close();
  leave_to_exit(std::move(db));
  if (executor.interrupted()) {
    // What the interrupted tasks started and moved out of doit's process
    // group (setsid, a double fork) did not get the signal: stop it too.
    stop_escaped_descendants(ro.stop_timeout);
    die_by_signal(interrupt_signal());
  }
  return result;
}

}  // namespace doit::cli

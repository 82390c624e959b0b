// `doit strace TASK` (SPEC §4.8): runs one task's cmd-actions under the real
// strace, then reports the files they read (`R path`) and wrote (`W path`),
// in the order they were first touched.
//
// Unlike pydoit (whose regex misses most lines of current strace output),
// the trace is parsed syscall by syscall: open/openat/openat2/creat (R for a
// read-only open, W when opened for writing, created or truncated), execve
// (R), rename/link/symlink (W for the new name), mkdir (W), truncate (W).
// `strace -y` prints the path behind each descriptor, so paths opened
// relative to another directory, or after a chdir, come out absolute.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "doit/cmd_format.h"
#include "doit/executor.h"
#include "doit/output.h"
#include "doit/stat_cache.h"
#include "python/adapters.h"

namespace doit::cli {
namespace {

namespace fs = std::filesystem;

/// The trace file, in the dodo file's folder (as pydoit).
constexpr char kTraceFile[] = "strace.txt";
/// The task that prints the report.
constexpr char kReportTask[] = "strace_report";
/// The strace program, found on PATH.
constexpr char kStraceProgram[] = "strace";
constexpr char kShell[] = "/bin/sh";

/// What a traced syscall did to a file.
enum class Access { kRead, kWrite };

struct FileAccess {
  std::string path;  ///< absolute
  Access access;
};

/// The first executable `name` on PATH, or "".
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) return "";
    dirs.remove_prefix(colon + 1);
  }
}

/// The strace command line that prefixes a traced command.
std::vector<std::string> strace_prefix(const std::string& strace, const std::string& trace_file) {
  return {strace, "-f", "-y", "-e", "trace=file", "-A", "-o", trace_file, "--"};
}

/// Makes every cmd-action of `task` run under strace. Commands computed by
/// a callable, and python-actions, are left as they are (not traced).
void wrap_actions(Task& task, const std::string& strace, const std::string& trace_file) {
  const std::vector<std::string> prefix = strace_prefix(strace, trace_file);
  for (Action& action : task.actions) {
    if (!action.is_cmd()) continue;
    auto& cmd = std::get<CmdAction>(action.impl);
    if (cmd.options().source) continue;
    if (cmd.shell) {
      std::string wrapped = "exec";
      for (const std::string& word : prefix) wrapped += " " + shell_quoted(word);
      // %-formatting and format() leave quotes and backslashes alone, so the
      // original text is substituted as before, inside the quotes.
      wrapped += std::string(" ") + kShell + " -c " + shell_quoted(cmd.command);
      cmd.command = std::move(wrapped);
    } else {
      std::vector<std::string> argv = prefix;
      argv.insert(argv.end(), cmd.argv.begin(), cmd.argv.end());
      cmd.argv = std::move(argv);
    }
  }
  task.uptodate.push_back(UptodateItem{UptodateItem::Kind::kFalse, {}, {}});
}

// ----- reading the trace ------------------------------------------------------

/// One syscall line: name, arguments (as text), return value text.
struct Syscall {
  std::string name;
  std::vector<std::string> args;
  std::string result;
};

/// Decodes a C string as strace prints it (starting after the opening quote);
/// `pos` ends after the closing quote.
std::string decode_string(std::string_view text, size_t& pos) {
  std::string out;
  while (pos < text.size() && text[pos] != '"') {
    char c = text[pos++];
    if (c != '\\' || pos >= text.size()) {
      out += c;
      continue;
    }
    const char e = text[pos++];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'v':
        out += '\v';
        break;
      case 'f':
        out += '\f';
        break;
      case 'x': {
        int value = 0;
        for (int i = 0;
             i < 2 && pos < text.size() && std::isxdigit(static_cast<unsigned char>(text[pos]));
             ++i) {
          const char h = static_cast<char>(std::tolower(static_cast<unsigned char>(text[pos++])));
          value = value * 16 + (h <= '9' ? h - '0' : h - 'a' + 10);
        }
        out += static_cast<char>(value);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int value = e - '0';
          for (int i = 0; i < 2 && pos < text.size() && text[pos] >= '0' && text[pos] <= '7'; ++i) {
            value = value * 8 + (text[pos++] - '0');
          }
          out += static_cast<char>(value);
        } else {
          out += e;
        }
    }
  }
  if (pos < text.size()) ++pos;  // the closing quote
  return out;
}

/// Splits the argument list (text after '(') at top-level commas, decoding
/// quoted strings; `pos` ends after the closing ')'. False if unbalanced.
bool split_args(std::string_view text, size_t& pos, std::vector<std::string>* args) {
  int depth = 0;
  std::string current;
  bool any = false;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '"') {
      ++pos;
      current += decode_string(text, pos);
      if (pos < text.size() && text[pos] == '.' && text.substr(pos, 3) == "...") pos += 3;
      any = true;
      continue;
    }
    ++pos;
    if (c == '(' || c == '[' || c == '{') ++depth;
    if ((c == ']' || c == '}') && depth > 0) --depth;
    if (c == ')') {
      if (depth == 0) {
        if (any || !current.empty()) args->push_back(current);
        return true;
      }
      --depth;
    }
    if (c == ',' && depth == 0) {
      args->push_back(current);
      current.clear();
      // strace puts one space after a comma
      if (pos < text.size() && text[pos] == ' ') ++pos;
      continue;
    }
    current += c;
    any = true;
  }
  return false;
}

/// The path inside `fd</path>` (strace -y), or "".
std::string fd_path(const std::string& arg) {
  const size_t open = arg.find('<');
  if (open == std::string::npos || arg.back() != '>') return "";
  return arg.substr(open + 1, arg.size() - open - 2);
}

/// Parses one complete syscall line (without pid prefix). False if it is not one.
bool parse_syscall(std::string_view line, Syscall* out) {
  size_t pos = 0;
  while (pos < line.size() &&
         (std::isalnum(static_cast<unsigned char>(line[pos])) || line[pos] == '_'))
    ++pos;
  if (pos == 0 || pos >= line.size() || line[pos] != '(') return false;
  out->name = std::string(line.substr(0, pos));
  ++pos;
  if (!split_args(line, pos, &out->args)) return false;
  const size_t eq = line.find('=', pos);
  if (eq == std::string_view::npos) return false;
  size_t start = eq + 1;
  while (start < line.size() && line[start] == ' ') ++start;
  out->result = std::string(line.substr(start));
  return true;
}

/// Lexically normal absolute form of `path`, relative ones resolved in `dir`.
std::string absolute_in(const std::string& dir, const std::string& path) {
  fs::path p(path);
  if (p.is_relative()) p = fs::path(dir) / p;
  std::string out = p.lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

/// The directory a `*at` syscall's path is relative to.
std::string dir_of(const std::string& dirfd, const std::string& cwd) {
  const std::string p = fd_path(dirfd);
  return p.empty() ? cwd : p;
}

bool writes(const std::string& flags) {
  for (const char* flag : {"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"}) {
    if (flags.find(flag) != std::string::npos) return true;
  }
  return false;
}

/// What one successful syscall did, appended to `out`.
void accesses_of(const Syscall& s, const std::string& cwd, std::vector<FileAccess>* out) {
  if (s.result.empty() || s.result[0] == '-' || s.result[0] == '?') return;  // failed
  const auto& a = s.args;
  const auto open_like = [&](const std::string& path, const std::string& dir,
                             const std::string& flags) {
    if (flags.find("O_DIRECTORY") != std::string::npos) return;
    // `= 3</abs/path>`: the file actually opened.
    std::string opened = fd_path(s.result);
    if (opened.empty()) opened = absolute_in(dir, path);
    out->push_back({opened, writes(flags) ? Access::kWrite : Access::kRead});
  };
  if (s.name == "open" && a.size() >= 2) {
    open_like(a[0], cwd, a[1]);
  } else if (s.name == "openat" && a.size() >= 3) {
    open_like(a[1], dir_of(a[0], cwd), a[2]);
  } else if (s.name == "openat2" && a.size() >= 3) {
    open_like(a[1], dir_of(a[0], cwd), a[2]);
  } else if (s.name == "creat" && !a.empty()) {
    out->push_back({absolute_in(cwd, a[0]), Access::kWrite});
  } else if (s.name == "execve" && !a.empty()) {
    out->push_back({absolute_in(cwd, a[0]), Access::kRead});
  } else if ((s.name == "rename" || s.name == "link" || s.name == "symlink") && a.size() >= 2) {
    out->push_back({absolute_in(cwd, a[1]), Access::kWrite});
  } else if ((s.name == "renameat" || s.name == "renameat2" || s.name == "linkat") &&
             a.size() >= 4) {
    out->push_back({absolute_in(dir_of(a[2], cwd), a[3]), Access::kWrite});
  } else if (s.name == "symlinkat" && a.size() >= 3) {
    out->push_back({absolute_in(dir_of(a[1], cwd), a[2]), Access::kWrite});
  } else if ((s.name == "mkdir" || s.name == "truncate") && !a.empty()) {
    out->push_back({absolute_in(cwd, a[0]), Access::kWrite});
  } else if (s.name == "mkdirat" && a.size() >= 2) {
    out->push_back({absolute_in(dir_of(a[0], cwd), a[1]), Access::kWrite});
  }
}

/// Every file access in the trace, in order. Lines of different processes
/// split by strace (`<unfinished ...>` / `<... NAME resumed>`) are joined.
std::vector<FileAccess> read_trace(const std::string& trace_file, const std::string& cwd) {
  std::vector<FileAccess> out;
  std::ifstream in(trace_file);
  std::map<std::string, std::string> unfinished;  // pid -> start of the line
  std::string line;
  constexpr std::string_view kUnfinished = " <unfinished ...>";
  constexpr std::string_view kResumed = " resumed>";
  while (std::getline(in, line)) {
    std::string_view rest = line;
    std::string pid;
    if (rest.starts_with("[pid ")) rest.remove_prefix(5);
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    if (digits > 0 && digits < rest.size() && (rest[digits] == ' ' || rest[digits] == ']')) {
      pid = std::string(rest.substr(0, digits));
      rest.remove_prefix(digits);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == ']')) rest.remove_prefix(1);
    }
    std::string text(rest);
    if (text.ends_with(kUnfinished)) {
      unfinished[pid] = text.substr(0, text.size() - kUnfinished.size());
      continue;
    }
    if (text.starts_with("<... ")) {
      const size_t end = text.find(kResumed);
      auto it = unfinished.find(pid);
      if (end == std::string::npos || it == unfinished.end()) continue;
      text = it->second + text.substr(end + kResumed.size());
      unfinished.erase(it);
    }
    Syscall s;
    if (parse_syscall(text, &s)) accesses_of(s, cwd, &out);
  }
  return out;
}

/// The report task's action: prints `R path` / `W path` lines.
class StraceReport : public CallableAction {
 public:
  StraceReport(std::string trace_file, std::string cwd, bool show_all)
      : trace_file_(std::move(trace_file)), cwd_(std::move(cwd)), show_all_(show_all) {}

  ActionOutcome run(const ActionEnv& env) override {
    ActionOutcome outcome;
    std::set<std::string> read, written;
    for (const FileAccess& f : read_trace(trace_file_, cwd_)) {
      if (!show_all_ && !f.path.starts_with(cwd_ + "/")) continue;
      if (f.path == trace_file_) continue;
      auto& seen = f.access == Access::kWrite ? written : read;
      if (!seen.insert(f.path).second) continue;
      const std::string text = (f.access == Access::kWrite ? "W " : "R ") + f.path + "\n";
      outcome.out += text;
      if (env.live_out != nullptr) env.live_out->out(text);
    }
    return outcome;
  }
  std::string description() const override { return "Python: function find_deps"; }

 private:
  std::string trace_file_;
  std::string cwd_;
  bool show_all_;
};

}  // namespace

std::string strace_description() {
  return "The output is a list of files prefixed with 'R' for open in read mode\n"
         "or 'W' for open in write mode (written, created, truncated, or the new\n"
         "name of a rename). The files are listed in chronological order.\n"
         "\n"
         "This is a debugging feature with limitations:\n"
         "  * can strace only one task at a time\n"
         "  * can only strace cmd-actions (python-actions are not traced)\n"
         "  * the process being traced might have some kind of cache,\n"
         "    that means it might not write a target file if it exists\n";
}

int execute_strace(const Invocation& inv, const Parsed& parsed) {
  const Command& cmd = *find_command("strace");
  if (parsed.rest.size() != 1) {
    throw UserError(fmt::format(
        "strace failed, must select *one* task to strace.\nCheck `{} help strace`.", inv.bin));
  }
  DodoSession session = open_dodo(inv, cmd, parsed);
  const OptionValues& opt = session.options;
  const std::string strace = find_on_path(kStraceProgram);
  if (strace.empty()) {
    throw UserError(
        "strace failed: the `strace` program is not installed (or not on PATH).\n"
        "Install it (Debian: apt-get install strace) to use this command.");
  }
  const std::string& selected = parsed.rest.front();
  int index = session.graph->find(selected);
  if (index < 0) index = session.graph->task_for_target(selected);
  if (index < 0) {
    throw UserError(
        fmt::format("command `strace` invalid parameter: \"{}\". Must be a task, or a target.\n"
                    "Type \"{} list\" to see available tasks",
                    selected, inv.bin));
  }
  const std::string task_name = session.graph->task(index).name;

  const std::string cwd = fs::current_path().string();
  const std::string trace_file = (fs::path(cwd) / kTraceFile).string();
  ::unlink(trace_file.c_str());
  wrap_actions(session.graph->task(index), strace, trace_file);

  // The report task's name, unless the dodo file has a task of that name.
  std::string report_name = kReportTask;
  while (session.graph->find(report_name) != TaskGraph::kNotFound) report_name += '_';
  Task report;
  report.name = report_name;
  std::shared_ptr<CallableAction> report_action =
      std::make_shared<StraceReport>(trace_file, cwd, opt.get_bool("show_all"));
  report.actions.push_back(Action{report_action});
  report.verbosity = 2;
  report.task_dep = {task_name};
  report.uptodate.push_back(UptodateItem{UptodateItem::Kind::kFalse, {}, {}});
  std::vector<Task> added;
  added.push_back(std::move(report));
  session.graph->add_tasks(std::move(added));

  RunOptions ro;
  ro.default_verbosity = static_cast<int>(opt.get_int("verbosity", 1));
  parse_checker(opt.get_string("check_file_uptodate", "md5"), &ro.checker);
  if (auto it = session.config.find("action_string_formatting"); it != session.config.end()) {
    parse_format_style(std::get<std::string>(it->second.value), &ro.format_style);
  }

  std::unique_ptr<StateDb> db = open_state(session);
  std::unique_ptr<Reporter> reporter = make_reporter(
      "console", Output::out(), static_cast<int>(opt.get_int("failure_verbosity", 0)));
  RealFileSystem disk;
  StatCache fs(disk);
  python::PyFormatter formatter;
  set_interrupt_hook(python::interrupt_python);
  install_interrupt_handlers();
  python::set_state_for_python(db.get(), session.graph.get());
  Executor executor(*session.graph, *db, fs, *reporter, ro, &formatter);
  int result = 0;
  try {
    result = executor.run({task_name, report_name});
  } catch (const GraphError& e) {
    Output::out().flush();
    throw UserError(e.what());
  }
  Output::out().flush();
  if (!opt.get_bool("keep_trace")) ::unlink(trace_file.c_str());
  if (executor.interrupted()) die_by_signal(interrupt_signal());
  return result;
}

}  // namespace doit::cli

// The options of the commands whose tables need nothing but the core: the
// loader and DB options every dodo-reading command takes, and those of run,
// list, clean, dumpdb, strace and tabcompletion (the others are beside their
// command). The command-line fuzzer (tests/fuzz) parses with these.
#include "cli/command.h"
#include "doit/reporter.h"

namespace doit::cli {

std::vector<OptionDef> no_options() { return {}; }

std::vector<OptionDef> strace_options() {
  return {option_flag("show_all", 'a', "all", "display all files (not only from within CWD path)"),
          option_flag("keep_trace", 0, "keep", "save strace command output into strace.txt")};
}

std::vector<OptionDef> tabcompletion_options() {
  OptionDef shell =
      option_value("shell", 's', "shell", OptType::kString, "Completion code for SHELL.", "bash");
  shell.choices = {"bash", "zsh"};
  return {shell, option_flag("hardcode_tasks", 0, "hardcode-tasks",
                             "Hardcode tasks from current task list.")};
}

std::vector<OptionDef> dodo_options() {
  std::vector<OptionDef> defs;
  defs.push_back(option_value("dep_file", 0, "db-file", OptType::kString,
                              "file used to save successful runs", kDefaultDepFile, "DB backend"));
  OptionDef backend = option_value("backend", 0, "backend", OptType::kString,
                                   "Select dependency file backend.", "sqlite3", "DB backend");
  backend.choices = {"dbm", "json", "sqlite3"};
  defs.push_back(backend);
  defs.push_back(option_value("check_file_uptodate", 0, "check_file_uptodate", OptType::kString,
                              "Choose how to check if files have been modified: 'md5' (content) or "
                              "'timestamp'.",
                              "md5", "DB backend"));
  OptionDef file = option_value("dodoFile", 'f', "file", OptType::kString,
                                "load task from dodo FILE", "dodo.py", "task loader");
  file.env_var = "DOIT_FILE";
  defs.push_back(file);
  defs.push_back(option_value("cwdPath", 'd', "dir", OptType::kString,
                              "set path to be used as cwd directory (file paths on dodo file are "
                              "relative to dodo.py location).",
                              "", "task loader"));
  OptionDef seek =
      option_flag("seek_file", 'k', "seek-file", "seek dodo file on parent folders", "task loader");
  seek.env_var = "DOIT_SEEK_FILE";
  defs.push_back(seek);
  return defs;
}

std::vector<OptionDef> early_loader_options() {
  std::vector<OptionDef> out;
  for (const OptionDef& d : dodo_options()) {
    if (d.name == "dodoFile" || d.name == "cwdPath" || d.name == "seek_file") out.push_back(d);
  }
  return out;
}

std::vector<OptionDef> run_options() {
  std::vector<OptionDef> defs;
  defs.push_back(
      option_flag("always", 'a', "always-execute", "always execute tasks even if up-to-date"));
  OptionDef cont =
      option_flag("continue", 'c', "continue", "continue executing tasks even after a failure");
  cont.inverse = "no-continue";
  defs.push_back(cont);
  defs.push_back(option_value("verbosity", 'v', "verbosity", OptType::kInt,
                              "0 capture (do not print) stdout/stderr from task.\n"
                              "1 capture stdout only.\n2 do not capture anything (print everything "
                              "immediately).",
                              "1"));
  OptionDef reporter = option_value("reporter", 'r', "reporter", OptType::kString,
                                    "Choose output reporter.", "console");
  reporter.choices = reporter_names();
  defs.push_back(reporter);
  defs.push_back(option_value("outfile", 'o', "output-file", OptType::kString,
                              "write the reporter's output to a file", "stdout"));
  defs.push_back(
      option_value("num_process", 'n', "process", OptType::kInt, "number of subprocesses", "0"));
  defs.push_back(option_value("par_type", 'P', "parallel-type", OptType::kString,
                              "type of parallelism: process or thread", "process"));
  defs.push_back(option_flag("pdb", 0, "pdb", "get into the debugger (pdb) on an exception"));
  defs.push_back(option_flag("single", 's', "single",
                             "execute only the specified tasks, ignoring "
                             "their task_dep"));
  defs.push_back(option_flag("auto_delayed_regex", 0, "auto-delayed-regex",
                             "use the default regex \".*\" for delayed creators without one"));
  defs.push_back(option_flag("explain", 0, "explain",
                             "say on stderr why each task runs (changed file_dep with its old "
                             "and new signature, missing target, uptodate false...)"));
  defs.push_back(option_flag("dry_run", 0, "dry-run",
                             "check the tasks and say what would run and why, without running "
                             "anything or recording any state"));
  defs.push_back(option_value("profile", 0, "profile", OptType::kString,
                              "write when each task ran and how long it took to FILE, as a "
                              "Chrome trace (for Perfetto or chrome://tracing)",
                              ""));
  defs.push_back(option_flag("no_color", 0, "no-color",
                             "no status line and no colour on a terminal (as NO_COLOR does)"));
  defs.push_back(
      option_value("failure_verbosity", 0, "failure-verbosity", OptType::kInt,
                   "show the error message (1) and the task's output (2) again at the end "
                   "of the run",
                   "0"));
  OptionDef report = option_value("auto_report", 0, "auto-report", OptType::kInt,
                                  "internal: where a `doit auto` cycle reports what to watch", "");
  report.hidden = true;
  defs.push_back(report);
  return defs;
}

std::vector<OptionDef> clean_options() {
  std::vector<OptionDef> defs;
  defs.push_back(option_flag("cleandep", 'c', "clean-dep", "clean task dependencies too"));
  defs.push_back(option_flag("cleanall", 'a', "clean-all", "clean all task"));
  defs.push_back(
      option_flag("dryrun", 'n', "dry-run", "print actions without really executing them"));
  defs.push_back(option_flag("cleanforget", 0, "forget", "also forget tasks after cleaning"));
  return defs;
}

std::vector<OptionDef> dumpdb_options() {
  return {option_value("dep_file", 0, "db-file", OptType::kString,
                       "file used to save successful runs", kDefaultDepFile)};
}

std::vector<OptionDef> list_options() {
  std::vector<OptionDef> defs;
  defs.push_back(option_flag("subtasks", 0, "all", "list include all sub-tasks from dodo file"));
  defs.push_back(
      option_flag("quiet", 'q', "quiet", "print just the task name (less verbose than default)"));
  defs.push_back(option_flag("status", 's', "status",
                             "print task status (R)un, (U)p-to-date, (I)gnored, (E)rror"));
  defs.push_back(option_flag("private", 'p', "private", "print private tasks (start with '_')"));
  defs.push_back(
      option_flag("list_deps", 0, "deps", "print list of dependencies (file dependencies only)"));
  defs.push_back(option_value("template", 0, "template", OptType::kString,
                              "display entries with template", ""));
  OptionDef sort =
      option_value("sort", 0, "sort", OptType::kString,
                   "choose the order: 'name' or 'definition' (as in the dodo file)", "name");
  sort.choices = {"name", "definition"};
  defs.push_back(sort);
  return defs;
}

}  // namespace doit::cli

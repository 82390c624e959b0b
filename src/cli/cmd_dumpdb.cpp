// `doit dumpdb` (SPEC §4.7, decision 20): print the state database readably.
// It does not load the dodo file; --db-file is relative to the current folder.
#include <fmt/format.h>
#include <sys/stat.h>
#include <cerrno>
#include <cstring>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "doit/output.h"
#include "doit/state_db.h"
#include "doit/text.h"

namespace doit::cli {
namespace {

constexpr int kNanosecondDigits = 9;

/// A name or path as printed: as it is, unless it holds control characters
/// (then as a quoted Python string, so that every entry stays on one line).
std::string shown(const std::string& text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return python_repr(text);
  }
  return text;
}

/// "2026-11-25 20:06:03.945081123 UTC"
std::string utc_time(std::int64_t mtime_ns) {
  return utc_timestamp(mtime_ns, kNanosecondDigits) + " UTC";
}

std::string task_block(const std::string& name, const TaskRecord& record) {
  std::string text = fmt::format("{}\n  checker: {}\n", shown(name),
                                 record.checker.empty() ? "none" : record.checker);
  if (record.deps.empty()) {
    text += "  file_dep: none\n";
  } else {
    const bool hashed = record.checker != checker_name(Checker::kTimestamp);
    text += "  file_dep:\n";
    for (const auto& [path, sig] : record.deps) {
      text += fmt::format("    {}: mtime {}, size {}, hash {}\n", shown(path),
                          utc_time(sig.mtime_ns), sig.size, hashed ? sig.hash.hex() : "-");
    }
  }
  text += fmt::format("  values: {}\n  result: {}\n  ignored: {}\n", record.values_json,
                      record.result_json.value_or("none"), record.ignored ? "yes" : "no");
  return text;
}

}  // namespace

std::string dumpdb_description() {
  return "Prints doit-cpp's state database (--db-file, relative to the current folder; the dodo "
         "file is not read). The first line names the file and the number of tasks it holds. "
         "Then, for each task in name order, an empty line and a block: the task's name on its "
         "own line, then these indented lines:\n"
         "checker: the file checker of the last success (MD5Checker, TimestampChecker; none if "
         "the task never succeeded);\n"
         "file_dep: none, or one line per file: 'PATH: mtime YYYY-MM-DD HH:MM:SS.NNNNNNNNN UTC, "
         "size BYTES, hash HEX' (the XXH3-128 of the content; - under TimestampChecker);\n"
         "values: the saved values, as JSON;\n"
         "result: the saved result as JSON (the digest of a string result, or the dict), or "
         "none;\n"
         "ignored: yes or no (set by `ignore`).\n"
         "Names and paths with control characters are printed as quoted Python strings. "
         "A missing file, or one that is not a doit-cpp state database, is an error.";
}

int execute_dumpdb(const Invocation& inv, const Parsed& parsed) {
  const OptionValues options = command_options(inv, *find_command("dumpdb"), parsed);
  const std::string path = options.get_string("dep_file", kDefaultDepFile);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int error = errno;
    if (error == ENOENT) {
      throw UserError(fmt::format(
          "'{}' does not exist: no state has been saved there (choose the file with --db-file).",
          path));
    }
    throw UserError(fmt::format("'{}': {}", path, std::strerror(error)));
  }

  std::string text;
  if (st.st_size == 0) {  // nothing yet; opening it would write a schema
    text = fmt::format("{}: doit-cpp state database, 0 tasks\n", path);
  } else {
    std::unique_ptr<StateDb> db;
    try {
      db = StateDb::open_for_reading(path);
    } catch (const ForeignStateError& e) {
      if (!e.pydoit()) throw UserError(e.what());
      throw UserError(fmt::format(
          "'{}' holds pydoit's state, not imported yet: doit-cpp imports it (keeping pydoit's "
          "file as '{}.pydoit') the first time a command that reads dodo.py runs here, e.g. "
          "`doit list`; dumpdb shows it then. Or choose another file with --db-file.",
          path, path));
    } catch (const StateDbError& e) {
      throw UserError(e.what());
    }
    const std::vector<std::string> names = db->task_names();
    text = fmt::format("{}: doit-cpp state database, {} task{}\n", path, names.size(),
                       names.size() == 1 ? "" : "s");
    for (const std::string& name : names) {
      text += '\n';
      text += task_block(name, *db->find(name));
    }
  }
  Output::out().write(text);
  return 0;
}

}  // namespace doit::cli

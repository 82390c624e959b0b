// `doit dumpdb` (SPEC §4.7, decision 20): print the state database readably.
// It does not load the dodo file; --db-file is relative to the current folder.
#include <fmt/format.h>
#include <sys/stat.h>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

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
std::string shown(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return python_repr(text);
  }
  return std::string(text);
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
         "pydoit's state, not imported yet, is shown as doit-cpp will import it (file_dep "
         "signatures taken now, for the files pydoit's record still describes), and left "
         "as it is. A missing file, or one that is neither doit-cpp's nor pydoit's state, "
         "is an error.";
}

namespace {

/// Every record of `db`, after a header line.
std::string dump(const StateDb& db, const std::string& header) {
  const std::vector<std::string> names = db.task_names();
  std::string text =
      fmt::format("{}, {} task{}\n", header, names.size(), names.size() == 1 ? "" : "s");
  for (const std::string& name : names) {
    text += '\n';
    text += task_block(name, *db.find(name));
  }
  return text;
}

/// pydoit's state at `path`, read where it is (Python is started for its
/// dbm modules unless the config files already did), or nullopt when
/// `path` does not hold it.
std::optional<std::string> dump_pydoit(const Invocation& inv, const std::string& path,
                                       std::unique_ptr<python::Interpreter>& interpreter) {
  if (!interpreter) interpreter = std::make_unique<python::Interpreter>(inv.argv);
  const std::optional<python::PydoitState> found = python::find_pydoit_state(path);
  if (!found) return std::nullopt;
  const std::unique_ptr<StateDb> db = read_from_pydoit(*found);
  return dump(
      *db, fmt::format("{}: pydoit's state ({}), as doit-cpp will import it", path, found->format));
}

/// Whether pydoit's dbm.dumb or dbm.ndbm files are beside a missing `path`.
bool pydoit_files_beside(const std::string& path) {
  struct stat st {};
  for (const char* suffix : {".db", ".dat", ".dir"}) {
    if (::stat((path + suffix).c_str(), &st) == 0) return true;
  }
  return false;
}

}  // namespace

int execute_dumpdb(const Invocation& inv, const Parsed& parsed) {
  std::unique_ptr<python::Interpreter> interpreter;  // first: stops after everything it read
  const OptionValues options = command_options(inv, *find_command("dumpdb"), parsed, &interpreter);
  const std::string path = options.get_string("dep_file", kDefaultDepFile);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int error = errno;
    if (error == ENOENT && pydoit_files_beside(path)) {
      if (std::optional<std::string> text = dump_pydoit(inv, path, interpreter)) {
        Output::out().write(*text);
        return 0;
      }
    }
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
      std::optional<std::string> pydoit = dump_pydoit(inv, path, interpreter);
      if (!pydoit) throw UserError(e.what());
      text = std::move(*pydoit);
    } catch (const StateDbError& e) {
      // pydoit's dbm.gnu or json file is not SQLite: ask Python.
      std::optional<std::string> pydoit = dump_pydoit(inv, path, interpreter);
      if (!pydoit) throw UserError(e.what());
      text = std::move(*pydoit);
    }
    if (db) text = dump(*db, fmt::format("{}: doit-cpp state database", path));
  }
  Output::out().write(text);
  return 0;
}

}  // namespace doit::cli

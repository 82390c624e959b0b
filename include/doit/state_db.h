// The state database (.doit.db): what doit remembers about each task between
// runs. A SQLite file with our own schema; everything is read at open, and each
// change is its own short transaction, so a crash never loses a finished task
// and never records a half-run one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "doit/signature.h"

struct sqlite3;

namespace doit {

/// Everything remembered about one task.
struct TaskRecord {
  /// Checker name at the last success ("MD5Checker"...); empty if never run.
  std::string checker;
  /// The file_dep list at the last success, each with its signature.
  std::vector<std::pair<std::string, FileSignature>> deps;
  /// JSON object of the task's saved values ("{}" if none).
  std::string values_json = "{}";
  /// JSON of the last truthy result (a string digest or an object), if any.
  std::optional<std::string> result_json;
  /// Marked by `doit ignore`.
  bool ignored = false;
  /// True once a successful run (or reset-dep) was recorded.
  bool has_success = false;

  /// The stored signature of `path`, or nullptr. A binary search once
  /// index_deps() has been called (StateDb does for every record it holds),
  /// else a linear scan.
  const FileSignature* find_dep(const std::string& path) const;
  /// Builds the lookup index of `deps`; call it again after changing `deps`.
  void index_deps();

  /// Internal to find_dep: positions in `deps` sorted by path (empty when the
  /// list is short enough to scan).
  std::vector<std::uint32_t> dep_order;
};

/// A database problem the user must act on; the message says what and how.
class StateDbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The file belongs to another program (never written): pydoit's state, or
/// something else.
class ForeignStateError : public StateDbError {
 public:
  ForeignStateError(const std::string& message, bool pydoit)
      : StateDbError(message), pydoit_(pydoit) {}
  /// It looks like pydoit's state (which a command that loads dodo.py imports).
  bool pydoit() const { return pydoit_; }

 private:
  bool pydoit_;
};

/// The open database. Not thread-safe: use it from one thread at a time.
class StateDb {
 public:
  /// Current schema version written in new files.
  static constexpr int kSchemaVersion = 1;

  /// Opens (creating if missing) the database at `path` and loads every
  /// record. Throws StateDbError when the file is not ours (e.g. pydoit's
  /// dbm/json/sqlite3 state), is corrupt, or has a newer schema.
  static std::unique_ptr<StateDb> open(const std::string& path);
  /// Opens the database at `path` to read it only (list, info, dumpdb): never
  /// creates it, never changes it. A missing or empty file has no records.
  /// In a folder it may not write, a WAL database (whose readers need a
  /// `-shm` file beside it) is read as it is on disk, when no write-ahead log
  /// or rollback journal beside it holds changes. Throws StateDbError as
  /// open() does; the writing methods then throw StateDbError.
  static std::unique_ptr<StateDb> open_for_reading(const std::string& path);
  /// A database held in memory, never on disk, that `name` (e.g. the
  /// file whose state it holds) stands for in messages; empty at first, and
  /// written like any other (pydoit's state read for a reading command).
  static std::unique_ptr<StateDb> open_in_memory(const std::string& name);
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  const std::string& path() const { return path_; }

  /// The record of `task`, or nullptr if nothing is stored.
  const TaskRecord* find(const std::string& task) const;

  /// Records a success: checker, deps, values; `result_json` replaces the
  /// stored result only when present. The ignore flag is kept. One transaction.
  void save_success(const std::string& task, const std::string& checker,
                    std::vector<std::pair<std::string, FileSignature>> deps,
                    std::string values_json, std::optional<std::string> result_json);
  /// Deletes the task's whole record (failure, forget). One transaction.
  void remove(const std::string& task);
  /// Sets the ignore flag, creating an empty record if needed.
  void set_ignored(const std::string& task, bool ignored);
  /// Deletes every record.
  void remove_all();

  /// All task names with a record, sorted.
  std::vector<std::string> task_names() const;

 private:
  struct Statements;  // the prepared statements, kept for the object's life

  StateDb(std::string path, sqlite3* db);
  void load();
  /// Prepares the statements that write (a database opened for writing).
  void prepare_writes();
  /// Throws StateDbError when opened for reading only.
  void require_writable() const;

  std::string path_;
  sqlite3* db_;
  std::unique_ptr<Statements> statements_;
  std::unordered_map<std::string, TaskRecord> records_;
};

}  // namespace doit

// The state database (.doit.db): what doit remembers about each task between
// runs. A SQLite file with our own schema; everything is read at open, and each
// change is its own short transaction, so a crash never loses a finished task
// and never records a half-run one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "doit/signature.h"

struct sqlite3;

namespace doit {

/// The file_dep list of a task's record, each path with its signature, in
/// the order it was saved: a view of the record's storage, valid as long as
/// the record.
class DepList {
 public:
  /// One file_dep.
  struct Entry {
    std::string_view path;
    const FileSignature& signature;
  };

  /// An empty list.
  DepList() = default;

  class iterator {
   public:
    using value_type = Entry;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    Entry operator*() const { return list_->at(index_); }
    iterator& operator++() {
      ++index_;
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++index_;
      return old;
    }
    friend bool operator==(const iterator&, const iterator&) = default;

   private:
    friend class DepList;
    iterator(const DepList* list, std::uint32_t index) : list_(list), index_(index) {}
    const DepList* list_ = nullptr;
    std::uint32_t index_ = 0;
  };

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, count_}; }
  /// The `index`th file_dep (index < size()).
  Entry at(std::uint32_t index) const {
    const std::uint32_t start = index == 0 ? 0 : path_ends()[index - 1];
    return {std::string_view(text() + start, path_ends()[index] - start), signatures_[index]};
  }
  /// The stored signature of `path`, or nullptr. A binary search in a long
  /// list, a scan of a short one.
  const FileSignature* find(std::string_view path) const;

 private:
  // The storage: the signatures, then the end of each path in the text,
  // then (long lists only) the entries' positions sorted by path, then the
  // paths one after the other.
  const std::uint32_t* path_ends() const {
    return reinterpret_cast<const std::uint32_t*>(signatures_ + count_);
  }
  bool indexed() const { return count_ > kLinearLookupLimit; }
  const std::uint32_t* order() const { return path_ends() + count_; }
  const char* text() const {
    return reinterpret_cast<const char*>(path_ends() + (indexed() ? 2 * count_ : count_));
  }
  friend struct TaskRecord;
  /// Lists of at most this many entries are searched linearly.
  static constexpr std::uint32_t kLinearLookupLimit = 16;
  DepList(const FileSignature* signatures, std::uint32_t count)
      : signatures_(signatures), count_(count) {}

  const FileSignature* signatures_ = nullptr;
  std::uint32_t count_ = 0;
};

/// Everything remembered about one task. The texts are views of storage the
/// record owns (or of constants): moving a record keeps them valid; the
/// StateDb's records stay valid until that task's record is written again.
struct TaskRecord {
  /// An empty record: never run, not ignored.
  TaskRecord() = default;
  /// A record holding copies of these (in one block of storage).
  TaskRecord(std::string_view checker,
             const std::vector<std::pair<std::string, FileSignature>>& deps,
             std::string_view values_json = kNoValues,
             std::optional<std::string_view> result_json = std::nullopt);

  /// Checker name at the last success ("MD5Checker"...); empty if never run.
  std::string_view checker;
  /// The file_dep list at the last success, each with its signature.
  DepList deps;
  /// JSON object of the task's saved values ("{}" if none).
  std::string_view values_json = kNoValues;
  /// JSON of the last truthy result (a string digest or an object), if any.
  std::optional<std::string_view> result_json;
  /// Marked by `doit ignore`.
  bool ignored = false;
  /// True once a successful run (or reset-dep) was recorded.
  bool has_success = false;

  /// The stored signature of `path`, or nullptr.
  const FileSignature* find_dep(std::string_view path) const { return deps.find(path); }

  static constexpr std::string_view kNoValues = "{}";

 private:
  friend class StateDb;
  /// A record of the deps blob the database holds (see state_db.cpp) and
  /// these texts, copied; nullopt when the blob is malformed.
  static std::optional<TaskRecord> decode(std::string_view deps_blob, std::string_view checker,
                                          std::string_view values_json,
                                          std::optional<std::string_view> result_json);

  /// The deps and the texts that are not constants, in one block.
  std::unique_ptr<std::byte[]> storage_;
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
  /// When the state at `path` was last written (the file, or its
  /// write-ahead log), in nanoseconds since the epoch; nullopt when neither
  /// exists.
  static std::optional<std::int64_t> last_written(const std::string& path);
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  const std::string& path() const { return path_; }

  /// The record of `task`, or nullptr if nothing is stored. Valid until the
  /// task's record is written or removed.
  const TaskRecord* find(const std::string& task) const;

  /// Records a success: checker, deps, values; `result_json` replaces the
  /// stored result only when present. The ignore flag is kept. One transaction.
  void save_success(const std::string& task, std::string_view checker,
                    const std::vector<std::pair<std::string, FileSignature>>& deps,
                    std::string_view values_json, std::optional<std::string_view> result_json);
  /// Deletes the task's whole record (failure, forget). One transaction.
  void remove(const std::string& task);
  /// Sets the ignore flag, creating an empty record if needed.
  void set_ignored(const std::string& task, bool ignored);
  /// Deletes every record.
  void remove_all();

  /// All task names with a record, sorted.
  std::vector<std::string> task_names() const;

  /// Closes the file now (the write-ahead log goes back into it); the
  /// records stay readable, and writing throws StateDbError. The destructor
  /// does it otherwise.
  void close();
  /// Whether it may be written: opened for writing, and not closed.
  bool writable() const;
  /// The connection, for the tables other modules keep in the same file
  /// (run_log.h), under the same rules (write only when writable()); null
  /// once closed.
  sqlite3* connection() const { return db_; }

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

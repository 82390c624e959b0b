#include "doit/run_log.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>

#include <fmt/format.h>

#include "doit/json.h"
#include "doit/state_db.h"
#include "doit/work_counters.h"

namespace doit {
namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr std::int64_t kNanosPerMicro = 1000;

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct Finalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;
using Statement = std::unique_ptr<sqlite3_stmt, Finalize>;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, start_ns INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS task_times("
    "  run INTEGER NOT NULL, task TEXT NOT NULL, start_ns INTEGER NOT NULL,"
    "  duration_ns INTEGER NOT NULL, result TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS task_times_run ON task_times(run);";

[[noreturn]] void fail(sqlite3* db, const std::string& path, std::string_view doing) {
  throw StateDbError(fmt::format("'{}': cannot {} the task times: {}", path, doing,
                                 db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

Db open(const std::string& path, int flags, std::string_view doing) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) fail(db.get(), path, doing);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  work::count_statements(db.get());
  return db;
}

Statement prepare(sqlite3* db, const std::string& path, const char* sql, std::string_view doing) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) fail(db, path, doing);
  return Statement(raw);
}

void exec(sqlite3* db, const std::string& path, const char* sql, std::string_view doing) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(db, path, doing);
}

std::string text_column(sqlite3_stmt* s, int column) {
  const unsigned char* text = sqlite3_column_text(s, column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(s, column)));
}

}  // namespace

void append_run(StateDb& state, std::int64_t start_ns, const std::vector<TaskTime>& tasks) {
  constexpr std::string_view kDoing = "save";
  const std::string& db_path = state.path();
  if (!state.writable()) {
    throw StateDbError(
        fmt::format("'{}': cannot {} the task times: {}", db_path, kDoing,
                    state.connection() == nullptr ? "closed" : "opened for reading"));
  }
  sqlite3* db = state.connection();
  exec(db, db_path, "BEGIN IMMEDIATE", kDoing);
  try {
    exec(db, db_path, kSchema, kDoing);
    Statement run = prepare(db, db_path, "INSERT INTO runs(start_ns) VALUES(?)", kDoing);
    sqlite3_bind_int64(run.get(), 1, start_ns);
    if (sqlite3_step(run.get()) != SQLITE_DONE) fail(db, db_path, kDoing);
    const std::int64_t id = sqlite3_last_insert_rowid(db);
    Statement task = prepare(db, db_path,
                             "INSERT INTO task_times(run, task, start_ns, duration_ns, result) "
                             "VALUES(?, ?, ?, ?, ?)",
                             kDoing);
    for (const TaskTime& t : tasks) {
      sqlite3_reset(task.get());
      sqlite3_bind_int64(task.get(), 1, id);
      sqlite3_bind_text(task.get(), 2, t.task.data(), static_cast<int>(t.task.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(task.get(), 3, t.start_ns);
      sqlite3_bind_int64(task.get(), 4, t.duration_ns);
      sqlite3_bind_text(task.get(), 5, t.result.data(), static_cast<int>(t.result.size()),
                        SQLITE_STATIC);
      if (sqlite3_step(task.get()) != SQLITE_DONE) fail(db, db_path, kDoing);
    }
    // Only the last kKeptRuns runs are kept.
    Statement prune_times = prepare(db, db_path, "DELETE FROM task_times WHERE run <= ?1", kDoing);
    Statement prune_runs = prepare(db, db_path, "DELETE FROM runs WHERE id <= ?1", kDoing);
    for (const Statement& prune : {std::cref(prune_times), std::cref(prune_runs)}) {
      sqlite3_bind_int64(prune.get(), 1, id - kKeptRuns);
      if (sqlite3_step(prune.get()) != SQLITE_DONE) fail(db, db_path, kDoing);
    }
    exec(db, db_path, "COMMIT", kDoing);
  } catch (const StateDbError&) {
    // The state's own connection: no transaction of this may stay open (a
    // COMMIT that failed on a busy database leaves it open too).
    if (sqlite3_get_autocommit(db) == 0) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<RunTimes> read_runs(const std::string& db_path) {
  constexpr std::string_view kDoing = "read";
  // A read-only connection to a WAL database leaves -wal and -shm files
  // behind; a read-write one that only reads does not (where it may write).
  const int flags =
      ::access(db_path.c_str(), W_OK) == 0 ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
  Db db = open(db_path, flags, kDoing);
  std::vector<RunTimes> runs;
  Statement exists =
      prepare(db.get(), db_path,
              "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'", kDoing);
  if (sqlite3_step(exists.get()) != SQLITE_ROW) return runs;
  Statement all = prepare(db.get(), db_path, "SELECT id, start_ns FROM runs ORDER BY id", kDoing);
  while (sqlite3_step(all.get()) == SQLITE_ROW) {
    runs.push_back({sqlite3_column_int64(all.get(), 0), sqlite3_column_int64(all.get(), 1), {}});
  }
  Statement tasks = prepare(db.get(), db_path,
                            "SELECT run, task, start_ns, duration_ns, result FROM task_times "
                            "ORDER BY run, start_ns",
                            kDoing);
  size_t at = 0;
  while (sqlite3_step(tasks.get()) == SQLITE_ROW) {
    const std::int64_t run = sqlite3_column_int64(tasks.get(), 0);
    while (at < runs.size() && runs[at].id < run) ++at;
    if (at == runs.size() || runs[at].id != run) continue;
    runs[at].tasks.push_back({text_column(tasks.get(), 1), sqlite3_column_int64(tasks.get(), 2),
                              sqlite3_column_int64(tasks.get(), 3), text_column(tasks.get(), 4)});
  }
  return runs;
}

std::string chrome_trace(const std::vector<TaskTime>& tasks) {
  std::vector<const TaskTime*> order;
  for (const TaskTime& t : tasks) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(),
                   [](const TaskTime* a, const TaskTime* b) { return a->start_ns < b->start_ns; });
  const std::int64_t origin = order.empty() ? 0 : order.front()->start_ns;
  std::vector<std::int64_t> row_free_at;  // end of the last task on each row
  Json::Array events;
  for (const TaskTime* t : order) {
    size_t row = 0;
    while (row < row_free_at.size() && row_free_at[row] > t->start_ns) ++row;
    if (row == row_free_at.size()) row_free_at.push_back(0);
    row_free_at[row] = t->start_ns + t->duration_ns;
    events.push_back(Json::object({
        {"name", Json::string(t->task)},
        {"cat", Json::string("task")},
        {"ph", Json::string("X")},
        {"ts", Json::number(std::to_string((t->start_ns - origin) / kNanosPerMicro))},
        {"dur", Json::number(std::to_string(t->duration_ns / kNanosPerMicro))},
        {"pid", Json::number("1")},
        {"tid", Json::number(std::to_string(row + 1))},
        {"args", Json::object({{"result", Json::string(t->result)}})},
    }));
  }
  return Json::object({{"traceEvents", Json::array(std::move(events))},
                       {"displayTimeUnit", Json::string("ms")}})
             .dump() +
         "\n";
}

}  // namespace doit

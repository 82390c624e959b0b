// How long tasks took: every run appends, for each task whose actions ran,
// when it started, how long it took and how it ended, to a table of the
// state database (the last kKeptRuns runs are kept). `doit stats` reads it;
// `run --profile` writes one run as a Chrome trace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace doit {

struct TaskTime {
  std::string task;
  /// Wall-clock start, nanoseconds since the epoch.
  std::int64_t start_ns = 0;
  std::int64_t duration_ns = 0;
  /// "success", "failure" (TaskFailed) or "error" (any other failure).
  std::string result;
};

struct RunTimes {
  std::int64_t id = 0;
  /// When the run started, nanoseconds since the epoch.
  std::int64_t start_ns = 0;
  /// Its tasks, in start order.
  std::vector<TaskTime> tasks;
};

/// How many runs the database keeps.
constexpr int kKeptRuns = 50;

class StateDb;

/// Appends a run to the state database, through its connection, dropping
/// the oldest beyond kKeptRuns; one transaction. Throws StateDbError when it
/// cannot be written (opened for reading, closed).
void append_run(StateDb& state, std::int64_t start_ns, const std::vector<TaskTime>& tasks);

/// Every run kept, oldest first (none when the table does not exist yet).
/// Opens the file read-only. Throws StateDbError.
std::vector<RunTimes> read_runs(const std::string& db_path);

/// The tasks as a Chrome trace (Trace Event Format, JSON), for Perfetto or
/// chrome://tracing: one complete event per task, tasks that ran at the
/// same time on separate rows.
std::string chrome_trace(const std::vector<TaskTime>& tasks);

}  // namespace doit

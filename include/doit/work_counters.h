// Counts of the work a process does: stat() calls, file hashes, SQLite
// statements, Python function calls. Off unless DOIT_COUNT_WORK=1 is in the
// environment; then printed on stderr at exit, one line. The performance
// guard tests (tests/functional/test_performance.py) compare them across
// project sizes: counting work, unlike timing it, cannot flake.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

struct sqlite3;

namespace doit::work {

enum class Counter { kStat, kHash, kSqlStatement, kPythonCall, kCount };

namespace detail {
inline bool g_enabled = false;
inline std::atomic<std::uint64_t> g_counts[static_cast<int>(Counter::kCount)];
}  // namespace detail

/// Reads DOIT_COUNT_WORK once, at start-up, before any thread exists.
void init_from_environment();
inline bool enabled() { return detail::g_enabled; }
/// One unit of `c` (free when counting is off: one predictable branch).
inline void add(Counter c) {
  if (detail::g_enabled) {
    detail::g_counts[static_cast<int>(c)].fetch_add(1, std::memory_order_relaxed);
  }
}
/// Counts the statements `db` runs (when counting is on).
void count_statements(sqlite3* db);
std::uint64_t get(Counter c);
/// "doit: work: stat=N hash=N sql=N python_calls=N\n" (empty when off).
std::string summary();

}  // namespace doit::work

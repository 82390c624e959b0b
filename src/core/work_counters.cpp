#include "doit/work_counters.h"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <sqlite3.h>

namespace doit::work {

void init_from_environment() {
  const char* value = std::getenv("DOIT_COUNT_WORK");
  detail::g_enabled = value != nullptr && std::strcmp(value, "1") == 0;
}

void count_statements(sqlite3* db) {
  if (!enabled() || db == nullptr) return;
  sqlite3_trace_v2(
      db, SQLITE_TRACE_STMT,
      [](unsigned, void*, void*, void*) {
        add(Counter::kSqlStatement);
        return 0;
      },
      nullptr);
}

std::uint64_t get(Counter c) {
  return detail::g_counts[static_cast<int>(c)].load(std::memory_order_relaxed);
}

std::string summary() {
  if (!enabled()) return {};
  return fmt::format("doit: work: stat={} hash={} sql={} python_calls={}\n", get(Counter::kStat),
                     get(Counter::kHash), get(Counter::kSqlStatement), get(Counter::kPythonCall));
}

}  // namespace doit::work

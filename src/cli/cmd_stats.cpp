// `doit stats` (doit-cpp's own): the slowest tasks of the last run and how
// their time compares with the earlier runs, from the task times every run
// keeps in the state database (doit/run_log.h). Like dumpdb it does not load
// the dodo file; --db-file is relative to the current folder.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "doit/output.h"
#include "doit/run_log.h"
#include "doit/state_db.h"
#include "doit/text.h"

namespace doit::cli {
namespace {

constexpr int kSecondDigits = 0;
constexpr double kNanosPerSecond = 1e9;
constexpr double kPercent = 100.0;
constexpr double kHalf = 0.5;  // a change that rounds to 0% prints as +0%
constexpr long long kDefaultLimit = 10;

double seconds(std::int64_t ns) { return static_cast<double>(ns) / kNanosPerSecond; }

std::int64_t median(std::vector<std::int64_t> values) {
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace

std::vector<OptionDef> stats_options() {
  return {option_value("dep_file", 0, "db-file", OptType::kString,
                       "file used to save successful runs", kDefaultDepFile),
          option_value("limit", 0, "limit", OptType::kInt, "how many tasks to show", "10")};
}

std::string stats_description() {
  return "Shows the tasks that took longest in the last run (of those whose actions ran), "
         "each with the median of its time in the earlier runs kept (the last " +
         std::to_string(kKeptRuns) +
         ") and the change. Every run that runs tasks keeps their times in the state "
         "database; `run --profile FILE` writes a run's times as a Chrome trace.";
}

int execute_stats(const Invocation& inv, const Parsed& parsed) {
  const OptionValues options = command_options(inv, *find_command("stats"), parsed);
  const std::string path = options.get_string("dep_file", kDefaultDepFile);
  const long long limit = options.get_int("limit", kDefaultLimit);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw UserError(
        fmt::format("'{}': {} (choose the file with --db-file).", path,
                    errno == ENOENT ? "no state has been saved there" : std::strerror(errno)));
  }
  std::vector<RunTimes> runs;
  try {
    StateDb::open_for_reading(path);  // is it ours? (a clear error if not; nothing written)
    runs = read_runs(path);
  } catch (const StateDbError& e) {
    throw UserError(e.what());
  }
  Output& out = Output::out();
  if (runs.empty()) {
    out.write(fmt::format("{}: no run has been timed yet\n", path));
    return 0;
  }
  const RunTimes& last = runs.back();
  std::int64_t total = 0;
  for (const TaskTime& t : last.tasks) total += t.duration_ns;
  out.write(fmt::format("{}: {} run{} kept; the last started {} UTC\n", path, runs.size(),
                        runs.size() == 1 ? "" : "s", utc_timestamp(last.start_ns, kSecondDigits)));
  out.write(fmt::format("last run: {} task{} ran, {:.3f} s in tasks\n\n", last.tasks.size(),
                        last.tasks.size() == 1 ? "" : "s", seconds(total)));

  std::map<std::string, std::vector<std::int64_t>> earlier;
  for (size_t i = 0; i + 1 < runs.size(); ++i) {
    for (const TaskTime& t : runs[i].tasks) earlier[t.task].push_back(t.duration_ns);
  }
  std::vector<const TaskTime*> slowest;
  for (const TaskTime& t : last.tasks) slowest.push_back(&t);
  std::stable_sort(slowest.begin(), slowest.end(), [](const TaskTime* a, const TaskTime* b) {
    return a->duration_ns > b->duration_ns;
  });
  if (limit >= 0 && slowest.size() > static_cast<size_t>(limit)) slowest.resize(limit);
  size_t width = 0;
  for (const TaskTime* t : slowest) width = std::max(width, t->task.size());
  out.write("slowest tasks of the last run (median of the earlier runs, change):\n");
  for (const TaskTime* t : slowest) {
    std::string trend = "first run";
    if (auto it = earlier.find(t->task); it != earlier.end()) {
      const std::int64_t before = median(it->second);
      const double change =
          before > 0
              ? (static_cast<double>(t->duration_ns) / static_cast<double>(before) - 1.0) * kPercent
              : 0.0;
      trend =
          fmt::format("{:.3f} s over {} run{}, {:+.0f}%", seconds(before), it->second.size(),
                      it->second.size() == 1 ? "" : "s", std::abs(change) < kHalf ? 0.0 : change);
    }
    const std::string failed = t->result == "success" ? "" : " [" + t->result + "]";
    out.write(fmt::format("  {:8.3f} s  {:<{}}  ({}){}\n", seconds(t->duration_ns), t->task, width,
                          trend, failed));
  }
  return 0;
}

}  // namespace doit::cli

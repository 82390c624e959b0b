#include "doit/stat_cache.h"

#include <algorithm>
#include <thread>
#include <unordered_set>

namespace doit {
namespace {

/// Below this, threads cost more than they save.
constexpr size_t kMinPathsPerThread = 2048;

}  // namespace

void StatCache::prefetch(const std::vector<std::string>& paths, unsigned threads) {
  std::vector<const std::string*> unique;
  unique.reserve(paths.size());
  {
    std::unordered_set<std::string_view> seen;
    seen.reserve(paths.size());
    for (const std::string& p : paths) {
      if (seen.insert(p).second) unique.push_back(&p);
    }
  }
  std::vector<FileStat> results(unique.size());
  std::vector<char> ok(unique.size(), 0);
  const auto work = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      try {
        results[i] = base_.stat(*unique[i]);
        ok[i] = 1;
      } catch (const FsError&) {
        // asked again later, it reports the error then
      }
    }
  };
  const size_t n = unique.size();
  const size_t workers = std::max<size_t>(1, std::min<size_t>(threads, n / kMinPathsPerThread));
  if (workers <= 1) {
    work(0, n);
  } else {
    std::vector<std::thread> pool;
    const size_t chunk = (n + workers - 1) / workers;
    for (size_t w = 1; w < workers; ++w) {
      pool.emplace_back(work, std::min(n, w * chunk), std::min(n, (w + 1) * chunk));
    }
    work(0, std::min(n, chunk));
    for (std::thread& t : pool) t.join();
  }
  stats_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (ok[i]) stats_.emplace(*unique[i], results[i]);
  }
  valid_ = true;
}

FileStat StatCache::stat(const std::string& path) const {
  if (valid_) {
    auto it = stats_.find(path);
    if (it != stats_.end()) return it->second;
  }
  return base_.stat(path);
}

}  // namespace doit

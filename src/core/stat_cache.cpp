#include "doit/stat_cache.h"

#include <algorithm>
#include <bit>
#include <thread>

#include <xxhash.h>

namespace doit {
namespace {

/// Below this, threads cost more than they save.
constexpr size_t kMinPathsPerThread = 2048;
/// The table has at least this many slots per entry (load factor <= 1/2).
constexpr size_t kSlotsPerEntry = 2;

std::uint64_t hash_path(std::string_view path) { return XXH3_64bits(path.data(), path.size()); }

}  // namespace

std::size_t StatCache::probe(std::string_view path, std::uint64_t h) const {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const std::uint32_t slot = slots_[i];
    if (slot == kEmptySlot) return i;
    const Entry& e = entries_[slot];
    if (e.hash == h && text_of(e) == path) return i;
  }
}

void StatCache::prefetch(const std::vector<std::string>& paths, unsigned threads) {
  text_.clear();
  entries_.clear();
  slots_.assign(std::bit_ceil(std::max<size_t>(1, paths.size() * kSlotsPerEntry)), kEmptySlot);
  size_t text_size = 0;
  for (const std::string& p : paths) text_size += p.size();
  text_.reserve(text_size);
  entries_.reserve(paths.size());
  for (const std::string& p : paths) {
    const std::uint64_t h = hash_path(p);
    const std::size_t i = probe(p, h);
    if (slots_[i] != kEmptySlot) continue;
    slots_[i] = static_cast<std::uint32_t>(entries_.size());
    entries_.push_back(Entry{h, static_cast<std::uint32_t>(text_.size()),
                             static_cast<std::uint32_t>(p.size()), FileStat{}, false});
    text_.append(p);
  }

  // stat() wants NUL-terminated paths: each worker copies into its own buffer.
  const auto work = [&](size_t begin, size_t end) {
    std::string path;
    for (size_t i = begin; i < end; ++i) {
      Entry& e = entries_[i];
      path.assign(text_of(e));
      try {
        e.stat = base_.stat(path);
        e.ok = true;
      } catch (const FsError&) {
        // asked again later, it reports the error then
      }
    }
  };
  const size_t n = entries_.size();
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
  valid_ = true;
}

FileStat StatCache::stat(const std::string& path) const {
  if (valid_) {
    const std::uint32_t slot = slots_[probe(path, hash_path(path))];
    if (slot != kEmptySlot && entries_[slot].ok) return entries_[slot].stat;
  }
  return base_.stat(path);
}

}  // namespace doit

#include "doit/stat_cache.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <thread>

#include <xxhash.h>

namespace doit {
namespace {

/// Below this, threads cost more than they save.
constexpr size_t kMinPathsPerThread = 2048;
/// Paths a worker takes at a time.
constexpr size_t kPathsPerBlock = 256;
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

void StatCache::index(const std::vector<std::string>& paths) {
  finish();
  valid_ = false;
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
  next_hint_.store(0, std::memory_order_relaxed);
  next_block_.store(0, std::memory_order_relaxed);
}

// Workers take blocks of entries from a shared counter, so that a worker the
// scheduler delays (the machine is shared) holds back no one. stat() wants
// NUL-terminated paths: each worker copies into its own buffer.
void StatCache::work() {
  const size_t n = entries_.size();
  std::string path;
  for (;;) {
    const size_t begin = next_block_.fetch_add(kPathsPerBlock, std::memory_order_relaxed);
    if (begin >= n) return;
    const size_t end = std::min(n, begin + kPathsPerBlock);
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
  }
}

void StatCache::prefetch(const std::vector<std::string>& paths, unsigned threads) {
  index(paths);
  const size_t workers =
      std::max<size_t>(1, std::min<size_t>(threads, entries_.size() / kMinPathsPerThread));
  for (size_t w = 1; w < workers; ++w) workers_.emplace_back([this] { work(); });
  work();  // this thread too
  finish();
  valid_ = true;
}

void StatCache::prefetch_async(const std::vector<std::string>& paths, unsigned threads) {
  index(paths);
  const size_t workers =
      std::max<size_t>(1, std::min<size_t>(threads, entries_.size() / kMinPathsPerThread));
  for (size_t w = 0; w < workers; ++w) workers_.emplace_back([this] { work(); });
  valid_ = true;  // stat() finishes the work first
}

void StatCache::finish() const {
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

StatCache::~StatCache() { finish(); }

FileStat StatCache::stat(const std::string& path) const {
  if (!workers_.empty()) finish();
  if (valid_) {
    // Checks ask for the paths mostly in the order they were prefetched:
    // try the entry after the last one found before hashing.
    std::uint32_t slot = next_hint_.load(std::memory_order_relaxed);
    if (slot >= entries_.size() || text_of(entries_[slot]) != path) {
      slot = slots_[probe(path, hash_path(path))];
    }
    if (slot != kEmptySlot) {
      next_hint_.store(slot + 1, std::memory_order_relaxed);
      if (entries_[slot].ok) return entries_[slot].stat;
    }
  }
  return base_.stat(path);
}

}  // namespace doit

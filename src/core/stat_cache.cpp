#include "doit/stat_cache.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <filesystem>
#include <thread>
#include <unordered_map>

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
                             static_cast<std::uint32_t>(p.size()), FileStat{}, false, false,
                             false});
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

void StatCache::invalidate() const {
  finish();
  if (!valid_ || journal_) return;  // the journal tells what changes
  if (keep_across_actions_ && start_journal()) return;
  valid_ = false;
}

namespace {

/// Below this many paths still to be asked for, the disk is as quick.
constexpr size_t kMinPathsForJournal = 64;
/// A watch costs about as much as a few stat() calls (and its removal at
/// exit one more): only folders holding at least this many of the paths
/// still to be asked for, on average, are worth it.
constexpr size_t kMinPathsPerFolder = 2;

std::string_view folder_of(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {};
  return slash == 0 ? path.substr(0, 1) : path.substr(0, slash);
}

/// Names whose stat() a change in their folder cannot be read from.
bool plain_name(std::string_view path) {
  const size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return !name.empty() && name != "." && name != "..";
}

}  // namespace

bool StatCache::start_journal() const {
  // The folders of the paths not asked for yet (paths of tasks to come);
  // consecutive paths share their folder most of the time.
  std::unordered_map<std::string_view, std::uint32_t> index;
  std::vector<std::uint32_t> folder_of_entry(entries_.size(), UINT32_MAX);
  std::string_view last;
  std::uint32_t last_index = UINT32_MAX;
  size_t pending = 0;
  folders_.clear();
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (!e.ok || e.stat.is_dir || e.stat.aliased) continue;
    const std::string_view path = text_of(e);
    if (!plain_name(path)) continue;
    const std::string_view folder = folder_of(path);
    if (last_index == UINT32_MAX || folder != last) {
      auto [it, added] = index.try_emplace(folder, static_cast<std::uint32_t>(folders_.size()));
      if (added) folders_.push_back(folder);
      last = folder;
      last_index = it->second;
    }
    folder_of_entry[i] = last_index;
    if (!e.used) ++pending;
  }
  // Only the folders of paths to come are watched.
  std::vector<bool> wanted(folders_.size(), false);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (folder_of_entry[i] != UINT32_MAX && !entries_[i].used) wanted[folder_of_entry[i]] = true;
  }
  std::vector<std::string_view> watch;
  std::vector<std::uint32_t> renumber(folders_.size(), UINT32_MAX);
  for (size_t f = 0; f < folders_.size(); ++f) {
    if (!wanted[f]) continue;
    renumber[f] = static_cast<std::uint32_t>(watch.size());
    watch.push_back(folders_[f]);
  }
  if (pending < kMinPathsForJournal || pending < kMinPathsPerFolder * watch.size()) return false;

  std::error_code ec;
  const std::string cwd = std::filesystem::current_path(ec).string();
  if (ec) return false;
  std::vector<bool> watched;
  journal_ = FolderJournal::start(cwd, watch, &watched);
  if (!journal_) return false;
  folders_ = std::move(watch);
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    const std::uint32_t f =
        folder_of_entry[i] == UINT32_MAX ? UINT32_MAX : renumber[folder_of_entry[i]];
    e.tracked = f != UINT32_MAX && watched[f];
    if (!e.tracked) e.ok = false;  // its changes would not be seen: ask the disk
  }
  return true;
}

void StatCache::refresh() const {
  if (!journal_) return;
  std::string path;
  const bool known = journal_->read([&](size_t folder, std::string_view name) {
    const std::string_view f = folders_[folder];
    path.assign(f);
    if (!f.empty() && f != "/") path += '/';
    path.append(name);
    const std::uint32_t slot = slots_[probe(path, hash_path(path))];
    if (slot != kEmptySlot) entries_[slot].ok = false;
  });
  if (!known) {
    journal_.reset();
    valid_ = false;
  }
}

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
      Entry& e = entries_[slot];
      e.used = true;
      if (e.ok) return e.stat;
      if (e.tracked) {  // changed since: the journal will tell of the next change
        e.stat = base_.stat(path);
        e.ok = true;
        if (e.stat.aliased || e.stat.is_dir) e.tracked = e.ok = false;
        return e.stat;
      }
    }
  }
  return base_.stat(path);
}

}  // namespace doit

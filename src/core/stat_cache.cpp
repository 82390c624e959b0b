#include "doit/stat_cache.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
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

/// A set of 64-bit hashes: open addressing in one array (0 marks a free
/// slot; hash 0 is stored as 1), at most half full.
class HashSet {
 public:
  /// false when `h` was there already.
  bool insert(std::uint64_t h) {
    if (h == 0) h = 1;
    if ((size_ + 1) * 2 > slots_.size()) grow();
    if (!place(slots_, h)) return false;
    ++size_;
    return true;
  }

 private:
  static bool place(std::vector<std::uint64_t>& slots, std::uint64_t h) {
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots[i] == h) return false;
      if (slots[i] == 0) {
        slots[i] = h;
        return true;
      }
    }
  }
  void grow() {
    std::vector<std::uint64_t> bigger(std::max<std::size_t>(1024, slots_.size() * 2), 0);
    for (std::uint64_t h : slots_) {
      if (h != 0) place(bigger, h);
    }
    slots_ = std::move(bigger);
  }
  std::vector<std::uint64_t> slots_;
  std::size_t size_ = 0;
};

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

void StatCache::index(std::span<const std::string_view> paths) {
  finish();
  valid_ = false;
  text_.clear();
  entries_.clear();
  slots_.assign(std::bit_ceil(std::max<size_t>(1, paths.size() * kSlotsPerEntry)), kEmptySlot);
  size_t text_size = 0;
  for (const std::string_view p : paths) text_size += p.size();
  text_.reserve(text_size);
  entries_.reserve(paths.size());
  for (const std::string_view p : paths) {
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
      if (e.ok) continue;  // stat()ed while the tasks were created
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

struct StatCache::Streamer {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::vector<std::string>> queue;  // guarded by mutex
  bool stop = false;                           // guarded by mutex
  std::atomic<bool> stopping{false};           // read without the lock, per path
  /// The working directory the paths are relative to, when streaming began.
  dev_t dir_dev = 0;
  ino_t dir_ino = 0;
  /// Written by the thread only; read after it is joined. The paths stay
  /// in their batches (a deque: nothing moves as it grows).
  struct Result {
    const std::string* path;
    std::uint64_t hash;
    FileStat stat;
  };
  std::deque<std::vector<std::string>> batches;
  std::deque<Result> results;
  std::thread thread;

  /// Ends the thread: it leaves what it has not reached.
  void stop_and_join() {
    stopping.store(true, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex);
      stop = true;
    }
    ready.notify_one();
    thread.join();
  }

  void run(const FileSystem& base) {
    HashSet seen;  // a collision skips a path: asked again by the prefetch
    for (;;) {
      std::vector<std::string> batch;
      {
        std::unique_lock lock(mutex);
        ready.wait(lock, [&] { return stop || !queue.empty(); });
        if (stop) return;
        batch = std::move(queue.front());
        queue.pop_front();
      }
      const std::vector<std::string>& kept = batches.emplace_back(std::move(batch));
      for (const std::string& path : kept) {
        if (stopping.load(std::memory_order_relaxed)) return;
        const std::uint64_t h = hash_path(path);
        if (!seen.insert(h)) continue;
        try {
          results.push_back(Result{&path, h, base.stat(path)});
        } catch (const FsError&) {
          // asked again by the prefetch, which leaves the error for stat()
        }
      }
    }
  }
};

void StatCache::stream(std::vector<std::string>&& batch) {
  if (!streamer_) {
    struct ::stat dir;
    if (::stat(".", &dir) != 0) return;
    streamer_ = std::make_unique<Streamer>();
    streamer_->dir_dev = dir.st_dev;
    streamer_->dir_ino = dir.st_ino;
    Streamer* streamer = streamer_.get();  // take_streamed() moves streamer_ away
    streamer->thread = std::thread([streamer, this] { streamer->run(base_); });
  }
  {
    std::lock_guard lock(streamer_->mutex);
    streamer_->queue.push_back(std::move(batch));
  }
  streamer_->ready.notify_one();
}

void StatCache::take_streamed() {
  if (!streamer_) return;
  std::unique_ptr<Streamer> s = std::move(streamer_);
  s->stop_and_join();
  // Relative paths were stat()ed from the folder streaming began in.
  struct ::stat dir;
  if (::stat(".", &dir) != 0 || dir.st_dev != s->dir_dev || dir.st_ino != s->dir_ino) return;
  for (const Streamer::Result& r : s->results) {
    const std::uint32_t slot = slots_[probe(*r.path, r.hash)];
    if (slot == kEmptySlot) continue;
    entries_[slot].stat = r.stat;
    entries_[slot].ok = true;
  }
}

void StatCache::prefetch(std::span<const std::string_view> paths, unsigned threads) {
  index(paths);
  take_streamed();
  const size_t workers =
      std::max<size_t>(1, std::min<size_t>(threads, entries_.size() / kMinPathsPerThread));
  for (size_t w = 1; w < workers; ++w) workers_.emplace_back([this] { work(); });
  work();  // this thread too
  finish();
  valid_ = true;
}

void StatCache::prefetch_async(std::span<const std::string_view> paths, unsigned threads) {
  index(paths);
  take_streamed();
  const size_t workers =
      std::max<size_t>(1, std::min<size_t>(threads, entries_.size() / kMinPathsPerThread));
  for (size_t w = 0; w < workers; ++w) workers_.emplace_back([this] { work(); });
  valid_ = true;  // stat() finishes the work first
}

void StatCache::finish() const {
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

StatCache::StatCache(const FileSystem& base, bool keep_across_actions)
    : base_(base), keep_across_actions_(keep_across_actions) {}

void StatCache::release_in_background() {
  finish();
  valid_ = false;
  if (!journal_ || releasing_.joinable()) return;
  releasing_ = std::thread([journal = std::move(journal_)]() mutable { journal.reset(); });
}

StatCache::~StatCache() {
  if (releasing_.joinable()) releasing_.join();
  if (streamer_) streamer_->stop_and_join();
  finish();
}

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
  std::vector<std::string_view> folders;
  std::vector<bool> wanted;  // per folder: holds a path to come
  std::vector<std::uint32_t> folder_of_entry(entries_.size(), UINT32_MAX);
  std::string_view last;
  std::uint32_t last_index = UINT32_MAX;
  size_t pending = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (!e.ok || e.stat.is_dir || e.stat.aliased) continue;
    const std::string_view path = text_of(e);
    if (!plain_name(path)) continue;
    const std::string_view folder = folder_of(path);
    if (last_index == UINT32_MAX || folder != last) {
      auto [it, added] = index.try_emplace(folder, static_cast<std::uint32_t>(folders.size()));
      if (added) {
        folders.push_back(folder);
        wanted.push_back(false);
      }
      last = folder;
      last_index = it->second;
    }
    folder_of_entry[i] = last_index;
    if (!e.used) {
      ++pending;
      wanted[last_index] = true;
    }
  }
  // Only the folders of paths to come are watched.
  std::vector<std::string_view> watch;
  std::vector<std::uint32_t> renumber(folders.size(), UINT32_MAX);
  for (size_t f = 0; f < folders.size(); ++f) {
    if (!wanted[f]) continue;
    renumber[f] = static_cast<std::uint32_t>(watch.size());
    watch.push_back(folders[f]);
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

#include "doit/stat_cache.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
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
/// The table's entries keep at most 1/this of their number as room to grow.
constexpr size_t kMaxSlackFraction = 8;
/// Entries the streaming table has room for at first.
constexpr size_t kFirstEntries = 512;

/// The hash the table keeps of a path (the low half of XXH3's).
std::uint32_t hash_path(std::string_view path) {
  return static_cast<std::uint32_t>(XXH3_64bits(path.data(), path.size()));
}

}  // namespace

struct StatCache::EarlyJournal {
  /// The first entry newer than expected: the journal is for those after.
  std::size_t from = 0;
  /// Written by the thread: the plan until `planned`, which the entries'
  /// owner waits for before it changes them; the rest until it ends.
  JournalPlan plan;
  std::atomic<bool> planned{false};
  std::vector<bool> watched;
  std::unique_ptr<FolderJournal> journal;
  std::thread thread;
};

std::size_t StatCache::Table::probe(std::string_view path, std::uint32_t h) const {
  const std::size_t mask = slots.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const std::uint32_t slot = slots[i];
    if (slot == kEmptySlot) return i;
    const Entry& e = entries[slot];
    if (e.hash == h && text_of(e) == path) return i;
  }
}

void StatCache::Table::reserve(std::size_t count) {
  const std::size_t wanted = std::bit_ceil(std::max(count, entries.size()) * kSlotsPerEntry);
  if (wanted <= slots.size()) return;
  slots.assign(wanted, kEmptySlot);
  const std::size_t mask = slots.size() - 1;
  for (std::uint32_t n = 0; n < entries.size(); ++n) {
    std::size_t i = entries[n].hash & mask;
    while (slots[i] != kEmptySlot) i = (i + 1) & mask;
    slots[i] = n;
  }
}

std::uint32_t StatCache::Table::insert(std::string_view path, std::uint32_t h, bool* added) {
  if ((entries.size() + 1) * kSlotsPerEntry > slots.size()) {
    reserve(std::max<std::size_t>(kFirstEntries, 2 * entries.size()));
  }
  const std::size_t i = probe(path, h);
  *added = slots[i] == kEmptySlot;
  if (!*added) return slots[i];
  slots[i] = static_cast<std::uint32_t>(entries.size());
  Entry& e = entries.emplace_back();
  e.offset = static_cast<std::uint32_t>(text.size());
  e.length = static_cast<std::uint32_t>(path.size());
  e.hash = h;
  text.append(path);
  return slots[i];
}

void StatCache::index(std::span<const std::string_view> paths) {
  finish();
  drop_early_journal(/*in_child=*/false);  // started for the paths this call replaces
  valid_ = false;
  table_ = take_streamed();
  Table& t = table_;
  // Streaming saw nearly all of them, if it ran: room for the rest as needed.
  t.reserve(paths.size());
  if (t.entries.empty()) {
    std::size_t text_size = 0;
    for (const std::string_view p : paths) text_size += p.size();
    t.text.reserve(text_size);
    t.entries.reserve(paths.size());
  }
  for (const std::string_view p : paths) {
    bool added = false;
    t.entries[t.insert(p, hash_path(p), &added)].bits |= Entry::kWanted;
  }
  // The room the table grew by while streaming would be kept for the whole run.
  if (t.entries.capacity() - t.entries.size() > t.entries.size() / kMaxSlackFraction) {
    t.entries.shrink_to_fit();
  }
  if (t.text.capacity() - t.text.size() > t.text.size() / kMaxSlackFraction) t.text.shrink_to_fit();
  first_newer_.store(SIZE_MAX, std::memory_order_relaxed);
  next_hint_.store(0, std::memory_order_relaxed);
  next_block_.store(0, std::memory_order_relaxed);
}

// Workers take blocks of entries from a shared counter, so that a worker the
// scheduler delays (the machine is shared) holds back no one. stat() wants
// NUL-terminated paths: each worker copies into its own buffer.
void StatCache::work() {
  std::vector<Entry>& entries = table_.entries;
  const size_t n = entries.size();
  // A worker's blocks come in increasing order: the first newer file it
  // sees is the first of its own.
  size_t first_newer = SIZE_MAX;
  std::string path;
  for (;;) {
    const size_t begin = next_block_.fetch_add(kPathsPerBlock, std::memory_order_relaxed);
    if (begin >= n) break;
    const size_t end = std::min(n, begin + kPathsPerBlock);
    for (size_t i = begin; i < end; ++i) {
      Entry& e = entries[i];
      if (!e.wanted()) continue;  // not a path of this run
      if (!e.ok) {                // not stat()ed while the tasks were created
        path.assign(text_of(e));
        try {
          e.set_stat(base_.stat(path));
          e.ok = true;
        } catch (const FsError&) {
          // asked again later, it reports the error then
        }
      }
      if (i < first_newer && e.ok && e.mtime_ns > changed_after_ns_ &&
          (e.bits & (Entry::kExists | Entry::kIsDir)) == Entry::kExists) {
        first_newer = i;
      }
    }
  }
  size_t seen = first_newer_.load(std::memory_order_relaxed);
  while (first_newer < seen &&
         !first_newer_.compare_exchange_weak(seen, first_newer, std::memory_order_relaxed)) {
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
  /// Written by the thread only; read after it is joined. Each batch is
  /// dropped once its paths are in.
  Table table;
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
    for (;;) {
      std::vector<std::string> batch;
      {
        std::unique_lock lock(mutex);
        ready.wait(lock, [&] { return stop || !queue.empty(); });
        if (stop) return;
        batch = std::move(queue.front());
        queue.pop_front();
      }
      for (const std::string& path : batch) {
        if (stopping.load(std::memory_order_relaxed)) return;
        bool added = false;
        const std::uint32_t n = table.insert(path, hash_path(path), &added);
        if (!added) continue;
        try {
          table.entries[n].set_stat(base.stat(path));
          table.entries[n].ok = true;
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

StatCache::Table StatCache::take_streamed() {
  if (!streamer_) return {};
  std::unique_ptr<Streamer> s = std::move(streamer_);
  s->stop_and_join();
  Table table = std::move(s->table);
  // Relative paths were stat()ed from the folder streaming began in.
  struct ::stat dir;
  if (::stat(".", &dir) != 0 || dir.st_dev != s->dir_dev || dir.st_ino != s->dir_ino) {
    for (Entry& e : table.entries) e.ok = false;
  }
  return table;
}

void StatCache::prefetch(std::span<const std::string_view> paths, unsigned threads) {
  index(paths);
  const size_t workers =
      std::max<size_t>(1, std::min<size_t>(threads, table_.entries.size() / kMinPathsPerThread));
  for (size_t w = 1; w < workers; ++w) workers_.emplace_back([this] { work(); });
  work();  // this thread too
  finish();
  valid_ = true;
}

void StatCache::prefetch_async(std::span<const std::string_view> paths, unsigned threads) {
  index(paths);
  const size_t workers =
      std::max<size_t>(1, std::min<size_t>(threads, table_.entries.size() / kMinPathsPerThread));
  for (size_t w = 0; w < workers; ++w) workers_.emplace_back([this] { work(); });
  valid_ = true;  // stat() finishes the work first
}

void StatCache::finish() const {
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

StatCache::StatCache(const FileSystem& base, bool keep_across_actions)
    : base_(base), keep_across_actions_(keep_across_actions) {}

void StatCache::release_in_background(bool in_child) {
  finish();
  valid_ = false;
  drop_early_journal(in_child);  // not needed (no task ran), or not taken
  if (journal_) release(std::move(journal_), in_child);
}

void StatCache::drop_early_journal(bool in_child) {
  if (!early_) return;
  if (early_->thread.joinable()) early_->thread.join();
  std::unique_ptr<FolderJournal> journal = std::move(early_->journal);
  early_.reset();
  if (journal) release(std::move(journal), in_child);
}

void StatCache::release(std::unique_ptr<FolderJournal> journal, bool in_child) {
  if (in_child && journal->close_in_child()) return;
  if (releasing_.joinable()) releasing_.join();
  releasing_ = std::thread([journal = std::move(journal)]() mutable { journal.reset(); });
}

StatCache::~StatCache() {
  if (early_ && early_->thread.joinable()) early_->thread.join();
  if (releasing_.joinable()) releasing_.join();
  if (streamer_) streamer_->stop_and_join();
  finish();
}

void StatCache::invalidate() const {
  finish();
  if (!valid_ || journal_) return;  // the journal tells what changes
  if (keep_across_actions_ && (adopt_early_journal() || start_journal())) return;
  valid_ = false;
}

namespace {

/// Below this many paths still to be asked for, the disk is as quick.
constexpr size_t kMinPathsForJournal = 64;
/// A watch costs about as much as a few stat() calls (and its removal at
/// exit one more): only folders holding at least this many of the paths
/// still to be asked for, on average, are worth it.
constexpr size_t kMinPathsPerFolder = 2;

/// The folders of a run's paths, each once, numbered in the order first
/// seen.
class FolderIndex {
 public:
  explicit FolderIndex(size_t expected)
      : slots_(std::bit_ceil(std::max<size_t>(expected, kFirstEntries) * kSlotsPerEntry),
               kEmptySlot) {}

  /// The number of `folder`, added if new.
  std::uint32_t add(std::string_view folder) {
    if ((folders_.size() + 1) * kSlotsPerEntry > slots_.size()) grow();
    std::uint32_t& slot = find(folder, hash_path(folder));
    if (slot == kEmptySlot) {
      slot = static_cast<std::uint32_t>(folders_.size());
      folders_.push_back(folder);
    }
    return slot;
  }
  const std::vector<std::string_view>& folders() const { return folders_; }

 private:
  static constexpr std::uint32_t kEmptySlot = UINT32_MAX;

  std::uint32_t& find(std::string_view folder, std::uint32_t h) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots_[i] == kEmptySlot || folders_[slots_[i]] == folder) return slots_[i];
    }
  }
  void grow() {
    slots_.assign(slots_.size() * 2, kEmptySlot);
    for (std::uint32_t n = 0; n < folders_.size(); ++n) {
      find(folders_[n], hash_path(folders_[n])) = n;
    }
  }

  std::vector<std::uint32_t> slots_;
  std::vector<std::string_view> folders_;
};

/// Paths per folder, at least, expected when the folder table is sized.
constexpr size_t kPathsPerFolderGuess = 8;

}  // namespace

StatCache::JournalPlan StatCache::plan_journal(size_t from, bool unused_only) const {
  // The folders of the paths to come; consecutive paths share their folder
  // most of the time. Names whose stat() a change in their folder cannot be
  // read from ("", ".", "..") are left out.
  const std::vector<Entry>& entries = table_.entries;
  FolderIndex index(entries.size() / kPathsPerFolderGuess);
  std::vector<std::uint8_t> wanted;  // per folder: holds a path to come
  JournalPlan plan;
  plan.folder_of_entry.assign(entries.size(), JournalPlan::kNoFolder);
  std::string_view last;
  std::uint32_t last_index = UINT32_MAX;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (!e.ok || !e.wanted() || (e.bits & (Entry::kIsDir | Entry::kViaSymlink)) != 0) continue;
    const char* text = table_.text.data() + e.offset;
    const auto* slash = static_cast<const char*>(::memrchr(text, '/', e.length));
    const char* name = slash == nullptr ? text : slash + 1;
    const size_t name_length = e.length - static_cast<size_t>(name - text);
    if (name_length == 0 ||
        (name[0] == '.' && (name_length == 1 || (name_length == 2 && name[1] == '.')))) {
      continue;
    }
    const std::string_view folder =
        slash == nullptr
            ? std::string_view()
            : std::string_view(text, slash == text ? 1 : static_cast<size_t>(slash - text));
    if (last_index == UINT32_MAX || folder != last) {
      last = folder;
      last_index = index.add(folder);
      if (last_index == wanted.size()) wanted.push_back(0);
    }
    plan.folder_of_entry[i] = last_index;
    if (i >= from && !(unused_only && e.used)) {
      ++plan.pending;
      wanted[last_index] = 1;
    }
  }
  // Only the folders of paths to come are watched.
  const std::vector<std::string_view>& folders = index.folders();
  std::vector<std::uint32_t> renumber(folders.size(), JournalPlan::kNoFolder);
  for (size_t f = 0; f < folders.size(); ++f) {
    if (wanted[f] == 0) continue;
    renumber[f] = static_cast<std::uint32_t>(plan.folders.size());
    plan.folders.push_back(folders[f]);
  }
  for (std::uint32_t& f : plan.folder_of_entry) {
    if (f != JournalPlan::kNoFolder) f = renumber[f];
  }
  return plan;
}

bool StatCache::JournalPlan::worth_watching() const {
  return pending >= kMinPathsForJournal && pending >= kMinPathsPerFolder * folders.size();
}

void StatCache::adopt(std::unique_ptr<FolderJournal> journal, JournalPlan&& plan,
                      const std::vector<bool>& watched) const {
  journal_ = std::move(journal);
  for (size_t i = 0; i < table_.entries.size(); ++i) {
    Entry& e = table_.entries[i];
    const std::uint32_t f = plan.folder_of_entry[i];
    e.tracked = f != JournalPlan::kNoFolder && watched[f];
    if (!e.tracked) e.ok = false;  // its changes would not be seen: ask the disk
  }
  folders_ = std::move(plan.folders);
}

bool StatCache::start_journal() const {
  JournalPlan plan = plan_journal(0, /*unused_only=*/true);
  if (!plan.worth_watching()) return false;
  std::vector<bool> watched;
  std::unique_ptr<FolderJournal> journal = FolderJournal::start(plan.folders, &watched);
  if (!journal) return false;
  adopt(std::move(journal), std::move(plan), watched);
  return true;
}

void StatCache::start_journal_early() const {
  const size_t from = first_newer_.load(std::memory_order_relaxed);
  if (!keep_across_actions_ || early_ || journal_ || from >= table_.entries.size()) return;
  early_ = std::make_unique<EarlyJournal>();
  early_->from = from;
  // Until it is joined, the thread reads the entries' paths and stats,
  // which only a journal's changes rewrite, and stat() (this thread) marks
  // them used, which the thread does not read.
  early_->thread = std::thread([this, early = early_.get()] {
    early->plan = plan_journal(early->from, /*unused_only=*/false);
    const bool worth = early->plan.worth_watching();
    early->planned.store(true, std::memory_order_release);
    early->planned.notify_one();
    if (worth) early->journal = FolderJournal::start(early->plan.folders, &early->watched);
  });
}

bool StatCache::adopt_early_journal() const {
  if (!early_ || !early_->thread.joinable()) return false;
  // The plan is read here, and the entries change once a journal is taken:
  // the plan must be done. Its watches need not be, yet.
  early_->planned.wait(false, std::memory_order_acquire);
  // Paths still to be asked for outside its folders: when the checks went
  // elsewhere first (a task before the changed file's runs), the journal
  // of the paths not asked for yet is started instead, without waiting for
  // this one (let go at the end).
  size_t uncovered = 0;
  for (size_t i = 0; i < early_->from; ++i) {
    const Entry& e = table_.entries[i];
    if (e.used || !e.ok || !e.wanted()) continue;
    if (early_->plan.folder_of_entry[i] == JournalPlan::kNoFolder) ++uncovered;
  }
  if (uncovered >= kMinPathsForJournal) return false;
  early_->thread.join();
  if (!early_->journal) {
    early_.reset();
    return false;
  }
  adopt(std::move(early_->journal), std::move(early_->plan), early_->watched);
  early_.reset();
  return true;
}

void StatCache::refresh() const {
  if (!journal_) return;
  std::string path;
  bool hard_link_changed = false;
  const bool known = journal_->read([&](size_t folder, std::string_view name) {
    const std::string_view f = folders_[folder];
    path.assign(f);
    if (!f.empty() && f != "/") path += '/';
    path.append(name);
    const std::uint32_t slot = table_.slots[table_.probe(path, hash_path(path))];
    if (slot == kEmptySlot) return;
    Entry& e = table_.entries[slot];
    e.ok = false;
    if ((e.bits & Entry::kHardLinked) != 0) hard_link_changed = true;
  });
  if (!known) {
    journal_.reset();
    valid_ = false;
    return;
  }
  // The file may be another path of the run too, in a folder that was told
  // nothing: every path with other names asks the disk once more.
  if (hard_link_changed) {
    for (Entry& e : table_.entries) {
      if ((e.bits & Entry::kHardLinked) != 0) e.ok = false;
    }
  }
}

FileStat StatCache::stat(const std::string& path) const {
  if (!workers_.empty()) {
    finish();
    start_journal_early();
  }
  if (valid_) {
    std::vector<Entry>& entries = table_.entries;
    // Checks ask for the paths mostly in the order they were prefetched:
    // try the entry after the last one found before hashing.
    std::uint32_t slot = next_hint_.load(std::memory_order_relaxed);
    if (slot >= entries.size() || text_of(entries[slot]) != path) {
      slot = table_.slots[table_.probe(path, hash_path(path))];
    }
    if (slot != kEmptySlot && entries[slot].wanted()) {
      next_hint_.store(slot + 1, std::memory_order_relaxed);
      Entry& e = entries[slot];
      e.used = true;
      if (e.ok) return e.stat();
      if (e.tracked) {  // changed since: the journal will tell of the next change
        e.set_stat(base_.stat(path));
        e.ok = true;
        if ((e.bits & (Entry::kIsDir | Entry::kViaSymlink)) != 0) e.tracked = e.ok = false;
        return e.stat();
      }
    }
  }
  return base_.stat(path);
}

}  // namespace doit

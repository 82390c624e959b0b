// stat() results taken up front, in parallel, for the up-to-date checks of a
// run. Valid until something may have changed the files: when the first
// action is about to run, either the cache ends (every later stat goes to
// the disk again), or, when it was made to keep its results across actions,
// a FolderJournal starts watching the folders of the paths not asked for
// yet, and refresh() forgets just the names that changed.
//
// A file with several hard links is watched through the names the run
// uses, like any other file; a change through one of them makes every such
// file be asked of the disk again. A change an action makes through a name
// in a folder not watched is seen by the next run, not by this one (make
// and ninja see no change an earlier command made to an input). Stat()ing
// such files again after each action would mean, in a tree of hard-linked
// copies (cp -al, a pnpm store), stat()ing nearly every file again. A file
// reached through a symlink is always asked of the disk.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "doit/folder_journal.h"
#include "doit/fs.h"

namespace doit {

class StatCache : public FileSystem {
 public:
  /// `keep_across_actions`: watch the folders (on the real disk only).
  explicit StatCache(const FileSystem& base, bool keep_across_actions = false);

  /// Early stats, while the tasks are still being created: each batch of
  /// paths is stat()ed by one background thread, in the order given, so
  /// that prefetch()/prefetch_async() find most of their work done. A path
  /// given twice is stat()ed once.
  void stream(std::vector<std::string>&& batch);

  /// Stats every distinct path of `paths` once, with up to `threads`
  /// workers, and keeps the results. A path whose stat fails (other than
  /// "missing") is left out, so that asking for it reports the error then.
  /// Replaces what an earlier call kept.
  void prefetch(std::span<const std::string_view> paths, unsigned threads);
  void prefetch(const std::vector<std::string>& paths, unsigned threads) {
    prefetch(views_of(paths), threads);
  }
  /// A file modified after `mtime_ns` (the state's last write) will likely
  /// make a task run: when the next prefetch finds one, the journal starts
  /// on another thread as soon as the stats are in, for the folders of the
  /// paths after it in the prefetch's order (the checks before that file's
  /// task run meanwhile). Call before the prefetch.
  void expect_changes_after(std::int64_t mtime_ns) { changed_after_ns_ = mtime_ns; }
  /// The same in the background: returns once the paths are indexed; the
  /// first stat() (or invalidate()) waits for the workers to finish.
  void prefetch_async(std::span<const std::string_view> paths, unsigned threads);
  void prefetch_async(const std::vector<std::string>& paths, unsigned threads) {
    prefetch_async(views_of(paths), threads);
  }
  ~StatCache() override;
  /// From now on every call goes to the disk; or the journal starts.
  void invalidate() const override;
  void refresh() const override;
  /// No more stats to come: the journal's watches go. Taking them down
  /// waits in the kernel (tens of milliseconds for thousands of folders,
  /// mostly a grace period), and so does a process that ends holding them:
  /// with `in_child`, a child process takes the wait over (close_in_child)
  /// and this one need not wait at all; otherwise, or when no child can be
  /// started, another thread closes them while the process finishes its
  /// work, and the destructor waits for it.
  void release_in_background(bool in_child);
  /// Whether a journal keeps the results across actions (for tests).
  bool journal_active() const { return journal_ != nullptr; }

  FileStat stat(const std::string& path) const override;
  Hash128 hash(const std::string& path) const override { return base_.hash(path); }
  /// The disk behind the cache (the cache itself is for one thread).
  const FileSystem* concurrent() const override { return base_.concurrent(); }

 private:
  /// One distinct path: its text lives in the table's `text`. 32 bytes: a
  /// run holds one per file_dep and target.
  struct Entry {
    std::int64_t mtime_ns = 0;
    std::int64_t size = 0;
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    std::uint32_t hash = 0;  ///< hash_path() of the text
    // One byte each: threads may write different ones of the same entry.
    std::uint8_t bits = 0;  ///< the FileStat flags, and kWanted
    bool ok = false;        ///< false: the stat failed or is stale, ask the disk again
    bool used = false;      ///< stat() was asked for it
    bool tracked = false;   ///< the journal sees its changes: a new stat is kept

    static constexpr std::uint8_t kExists = 1, kIsDir = 2, kViaSymlink = 4;
    /// One of the paths of the last prefetch (not only streamed).
    static constexpr std::uint8_t kWanted = 8;
    static constexpr std::uint8_t kHardLinked = 16;
    bool wanted() const { return (bits & kWanted) != 0; }
    FileStat stat() const {
      return FileStat{mtime_ns,
                      size,
                      (bits & kExists) != 0,
                      (bits & kIsDir) != 0,
                      (bits & kViaSymlink) != 0,
                      (bits & kHardLinked) != 0};
    }
    void set_stat(const FileStat& st) {
      mtime_ns = st.mtime_ns;
      size = st.size;
      bits = static_cast<std::uint8_t>(
          (bits & kWanted) | (st.exists ? kExists : 0) | (st.is_dir ? kIsDir : 0) |
          (st.via_symlink ? kViaSymlink : 0) | (st.hard_linked ? kHardLinked : 0));
    }
  };
  static_assert(sizeof(Entry) == 32, "one per path of a run: keep it small");
  static constexpr std::uint32_t kEmptySlot = UINT32_MAX;

  /// The distinct paths, each once, in the order first seen.
  struct Table {
    /// Every distinct path, one after the other.
    std::string text;
    std::vector<Entry> entries;
    /// Open addressing (linear probing): indexes into entries, or
    /// kEmptySlot. Its size is a power of two, at least twice the number of
    /// entries.
    std::vector<std::uint32_t> slots;

    std::string_view text_of(const Entry& e) const { return {text.data() + e.offset, e.length}; }
    /// The slot holding `path` (hash `h`), or the empty slot where it belongs.
    std::size_t probe(std::string_view path, std::uint32_t h) const;
    /// The index of the entry of `path`; a new entry (nothing known) when
    /// `added` is set.
    std::uint32_t insert(std::string_view path, std::uint32_t h, bool* added);
    /// Slots for `count` distinct paths in all, without growing.
    void reserve(std::size_t count);
  };

  std::string_view text_of(const Entry& e) const { return table_.text_of(e); }

  static std::vector<std::string_view> views_of(const std::vector<std::string>& paths) {
    return {paths.begin(), paths.end()};
  }
  /// Indexes the distinct paths of `paths`, keeping what the streaming
  /// thread found of them (the rest not stat()ed yet).
  void index(std::span<const std::string_view> paths);
  /// A worker's loop: takes blocks of entries until none is left.
  void work();
  /// Waits for the background workers, if any.
  void finish() const;
  /// Stops the streaming thread (it leaves what it has not reached) and
  /// returns its table (stats dropped if the working folder changed), or
  /// an empty one.
  Table take_streamed();
  /// The folders a journal would watch: those of the entries from `from` on
  /// (with `unused_only`, of those stat() was not asked for yet), and the
  /// entries each folder stands for.
  struct JournalPlan {
    std::vector<std::string_view> folders;
    /// By entry: its folder in `folders`, or kNoFolder.
    std::vector<std::uint32_t> folder_of_entry;
    /// The entries the folders were chosen for.
    std::size_t pending = 0;
    /// Whether a journal on these folders is worth its watches.
    bool worth_watching() const;
    static constexpr std::uint32_t kNoFolder = UINT32_MAX;
  };
  JournalPlan plan_journal(std::size_t from, bool unused_only) const;
  /// Starts the journal on the folders of the paths not asked for yet;
  /// false when it is not worth it or not possible.
  bool start_journal() const;
  /// The journal and plan started early (expect_changes_after), on their
  /// thread.
  struct EarlyJournal;
  /// Starts it, when a prefetched file is newer than expect_changes_after.
  void start_journal_early() const;
  /// Adopts the early journal (waiting for its start); false when there is
  /// none, or when too many paths still to be asked for are outside its
  /// folders (a task before the changed file's runs first).
  bool adopt_early_journal() const;
  /// Waits for the early journal's thread and lets its journal go, if any.
  void drop_early_journal(bool in_child);
  /// Makes `journal` the one refresh() reads, tracking the entries in its
  /// watched folders; the others are asked of the disk from now on.
  void adopt(std::unique_ptr<FolderJournal> journal, JournalPlan&& plan,
             const std::vector<bool>& watched) const;
  /// Lets `journal` go as release_in_background says.
  void release(std::unique_ptr<FolderJournal> journal, bool in_child);

  const FileSystem& base_;
  /// The streaming thread and what it shares with stream() and
  /// take_streamed(); null until the first batch.
  struct Streamer;
  std::unique_ptr<Streamer> streamer_;
  std::atomic<size_t> next_block_{0};
  mutable std::vector<std::thread> workers_;
  /// The paths of the last prefetch (and those streamed before it).
  mutable Table table_;
  /// Where stat() looks first: the entry after the last one it found. Only
  /// a guess (threads may race on it), always checked against the path.
  mutable std::atomic<std::uint32_t> next_hint_{0};
  mutable bool valid_ = false;
  const bool keep_across_actions_;
  mutable std::unique_ptr<FolderJournal> journal_;
  std::int64_t changed_after_ns_ = INT64_MAX;
  /// The first entry of the last prefetch newer than changed_after_ns_
  /// (SIZE_MAX when none is).
  std::atomic<std::size_t> first_newer_{SIZE_MAX};
  mutable std::unique_ptr<EarlyJournal> early_;
  std::thread releasing_;
  /// The journal's folders, as the paths name them ("" for the working one).
  mutable std::vector<std::string_view> folders_;
};

}  // namespace doit

// stat() results taken up front, in parallel, for the up-to-date checks of a
// run. Valid until something may have changed the files: the first action
// that runs ends it (every later stat goes to the disk again).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "doit/fs.h"

namespace doit {

class StatCache : public FileSystem {
 public:
  explicit StatCache(const FileSystem& base) : base_(base) {}

  /// Stats every distinct path of `paths` once, with up to `threads`
  /// workers, and keeps the results. A path whose stat fails (other than
  /// "missing") is left out, so that asking for it reports the error then.
  /// Replaces what an earlier call kept.
  void prefetch(const std::vector<std::string>& paths, unsigned threads);
  /// The same in the background: returns once the paths are indexed; the
  /// first stat() (or invalidate()) waits for the workers to finish.
  void prefetch_async(const std::vector<std::string>& paths, unsigned threads);
  ~StatCache() override;
  /// From now on every call goes to the disk.
  void invalidate() const override {
    finish();
    valid_ = false;
  }

  FileStat stat(const std::string& path) const override;
  Hash128 hash(const std::string& path) const override { return base_.hash(path); }

 private:
  /// One distinct path: its text lives in `text_`.
  struct Entry {
    std::uint64_t hash;
    std::uint32_t offset;
    std::uint32_t length;
    FileStat stat;
    bool ok;  ///< false: the stat failed, ask the disk again
  };
  static constexpr std::uint32_t kEmptySlot = UINT32_MAX;

  std::string_view text_of(const Entry& e) const { return {text_.data() + e.offset, e.length}; }
  /// The slot holding `path` (hash `h`), or the empty slot where it belongs.
  std::size_t probe(std::string_view path, std::uint64_t h) const;

  /// Indexes the distinct paths of `paths` (nothing stated yet).
  void index(const std::vector<std::string>& paths);
  /// A worker's loop: takes blocks of entries until none is left.
  void work();
  /// Waits for the background workers, if any.
  void finish() const;

  const FileSystem& base_;
  std::atomic<size_t> next_block_{0};
  mutable std::vector<std::thread> workers_;
  /// Every distinct path, one after the other.
  std::string text_;
  /// In first-seen order.
  std::vector<Entry> entries_;
  /// Open addressing (linear probing): indexes into entries_, or kEmptySlot.
  /// Its size is a power of two, at least twice the number of entries.
  std::vector<std::uint32_t> slots_;
  /// Where stat() looks first: the entry after the last one it found. Only
  /// a guess (threads may race on it), always checked against the path.
  mutable std::atomic<std::uint32_t> next_hint_{0};
  mutable bool valid_ = false;
};

}  // namespace doit

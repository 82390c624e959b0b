// stat() results taken up front, in parallel, for the up-to-date checks of a
// run. Valid until something may have changed the files: the first action
// that runs ends it (every later stat goes to the disk again).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "doit/fs.h"

namespace doit {

class StatCache : public FileSystem {
 public:
  explicit StatCache(const FileSystem& base) : base_(base) {}

  /// Stats every distinct path of `paths` with `threads` workers and keeps
  /// the results. A path whose stat fails (other than "missing") is left
  /// out, so that asking for it reports the error then.
  void prefetch(const std::vector<std::string>& paths, unsigned threads);
  /// From now on every call goes to the disk.
  void invalidate() const override { valid_ = false; }

  FileStat stat(const std::string& path) const override;
  Hash128 hash(const std::string& path) const override { return base_.hash(path); }

 private:
  const FileSystem& base_;
  std::unordered_map<std::string, FileStat> stats_;
  mutable bool valid_ = false;
};

}  // namespace doit

// Which names in a set of folders may have changed since a moment: inotify
// watches on the folders, and on the folders above them up to the working
// directory (so that a folder renamed, deleted or replaced by a symlink is
// noticed too). The stat cache keeps its results across actions with it:
// after a task ran, only the files the journal names are stat()ed again.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace doit {

class FolderJournal {
 public:
  /// Watches `folders` (as paths name them: relative to the working
  /// directory `cwd`, or absolute; "" is `cwd` itself). `watched[i]` tells
  /// whether folder i is watched: not when it is missing, goes through a
  /// symlink or "..", or is not a folder. Returns nullptr when inotify cannot
  /// be used at all (no instance or no watch left): then nothing is known.
  static std::unique_ptr<FolderJournal> start(const std::string& cwd,
                                              const std::vector<std::string_view>& folders,
                                              std::vector<bool>* watched);
  ~FolderJournal();
  FolderJournal(const FolderJournal&) = delete;
  FolderJournal& operator=(const FolderJournal&) = delete;

  /// Reads what happened since the last call (or since start), without
  /// waiting: `changed(i, name)` for each name that changed in watched
  /// folder i. Returns false when anything may have changed (a watched
  /// folder or one above it moved or deleted, the event queue overflowed);
  /// the journal is of no further use then.
  bool read(const std::function<void(size_t folder, std::string_view name)>& changed);

 private:
  FolderJournal() = default;

  int fd_ = -1;
  /// For each watch: the folders of the caller it stands for (a folder can
  /// be named twice, "src" and "./src"), and its absolute path.
  struct Watch {
    std::vector<size_t> folders;
    std::string path;
  };
  std::unordered_map<int, Watch> watches_;
  /// The absolute path of every watched folder and of every folder above
  /// one: a change of one of these names changes what the paths resolve to.
  std::unordered_set<std::string> resolving_;
};

}  // namespace doit

// Which names in a set of folders may have changed since a moment: inotify
// watches on the folders, and on the folders above them up to the working
// directory (so that a folder renamed, deleted or replaced by a symlink is
// noticed too). The stat cache keeps its results across actions with it:
// after a task ran, only the files the journal names are stat()ed again.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace doit {

class FolderJournal {
 public:
  /// The watches are split across this many inotify instances, added by as
  /// many threads: the kernel adds the watches of one instance one at a
  /// time.
  static constexpr std::size_t kInstances = 2;
  /// Fewer folders (with those above them) than kInstances times this many
  /// are watched by the calling thread alone: starting a thread costs about
  /// as much as a few dozen watches.
  static constexpr std::size_t kMinWatchesPerThread = 256;

  /// Watches `folders` (as paths name them: relative to the process's
  /// working directory, or absolute; "" is the working directory itself).
  /// `watched[i]` tells whether folder i is watched: not when it is missing,
  /// goes through a symlink or "..", or is not a folder. Returns nullptr
  /// when inotify cannot be used at all (no instance or no watch left): then
  /// nothing is known. The working directory must not change while the
  /// journal is used.
  static std::unique_ptr<FolderJournal> start(std::span<const std::string_view> folders,
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

  /// Lets go of the watches without waiting for the kernel to take them
  /// down (close_in_child): the journal tells nothing more. False when that
  /// could not be done; the destructor then closes the instances, and waits.
  bool close_in_child();

 private:
  FolderJournal() = default;
  struct Builder;

  static constexpr std::uint32_t kNone = UINT32_MAX;
  /// The inotify instances (-1: not open).
  std::array<int, kInstances> fds_{-1, -1};
  /// A watch: its descriptor and instance, as one number.
  static std::uint32_t watch_id(int wd, std::size_t instance) {
    return static_cast<std::uint32_t>(wd) * kInstances + static_cast<std::uint32_t>(instance);
  }
  /// One watched path (a folder of the caller's, or one above one).
  struct Node {
    std::uint32_t name_offset = 0;  ///< its last component, in names_
    std::uint32_t name_length = 0;
    std::uint32_t parent_watch = kNone;     ///< watch_id() of the folder above; kNone at the top
    std::uint32_t first_folder = kNone;     ///< the caller's folders it stands for (next_folder_)
    std::uint32_t next_same_watch = kNone;  ///< another path of the same folder
  };
  std::vector<Node> nodes_;
  /// The last component of every node's path.
  std::string names_;
  /// By watch_id(): its first node, or kNone.
  std::vector<std::uint32_t> node_of_watch_;
  /// The caller's folders of a node (a folder can be named twice, "src" and
  /// "./src"): the next one, or kNone.
  std::vector<std::uint32_t> next_folder_;
  /// The watched nodes below a watched node, by (parent_watch, name): a change
  /// of one of these names changes what the paths resolve to. Open
  /// addressing over node indexes (kNone: empty), a power of two in size.
  std::vector<std::uint32_t> resolving_;

  std::string_view name_of(const Node& n) const {
    return {names_.data() + n.name_offset, n.name_length};
  }
  /// Whether `name` in the folder of `watch` (a watch_id()) is a watched
  /// path.
  bool resolves(std::uint32_t watch, std::string_view name) const;
  /// read() for one instance.
  bool read(std::size_t instance,
            const std::function<void(size_t folder, std::string_view name)>& changed);
};

}  // namespace doit

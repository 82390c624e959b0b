// Noticing that files changed: an inotify watcher with debounce for `doit
// auto`, and stat snapshots that catch what happened while nothing watched.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace doit {

/// How long a burst of events must stay quiet before it counts as one change.
inline constexpr std::chrono::milliseconds kDefaultDebounce{100};

/// How often a polling watcher looks at the files when inotify is not available.
inline constexpr std::chrono::milliseconds kDefaultPollInterval{500};

/// True for names that editors and version control systems write next to the
/// files they handle, and that never make a change by themselves: VCS folders
/// (.git, .hg, .svn, .bzr, _darcs, CVS, .jj) and Python's __pycache__, vim's
/// swap and probe files
/// (.x.swp, .x.swo, .x.swn, .x.swx, 4913), backups (x~), emacs' lock and
/// auto-save files (.#x, #x#) and JetBrains' save files (x___jb_tmp___).
bool is_editor_or_vcs_noise(std::string_view name);

/// How a Watcher is set up.
struct WatcherOptions {
  /// Poll (stat the files every interval) instead of using inotify.
  std::optional<std::chrono::milliseconds> poll_interval;
  /// The poll interval used after a fall back from inotify.
  std::chrono::milliseconds fallback_poll_interval = kDefaultPollInterval;
  /// Called once with a one-line message when inotify is not available (its
  /// instances or watches are exhausted) and the watcher falls back to polling.
  std::function<void(const std::string&)> on_fallback;
  /// inotify_add_watch(2), or a stand-in with the same contract (tests inject
  /// one that fails with ENOSPC to exercise the fall back).
  std::function<int(int fd, const char* path, std::uint32_t mask)> add_watch;
};

/// The watcher could not be set up (inotify_init1 or inotify_add_watch failed).
/// The message names the path and, for exhausted kernel limits, the sysctl to raise.
class WatchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What one Watcher::wait() saw.
struct Change {
  /// The watched paths that changed: spelled as given to watch(), sorted, without
  /// duplicates. On overflow: every watched path.
  std::vector<std::string> paths;
  /// The kernel dropped events (IN_Q_OVERFLOW): anything may have changed.
  bool overflow = false;
};

/// Watches a set of paths with Linux inotify. Not thread-safe: one thread calls it.
///
/// What is watched, per path (relative paths are resolved against the current
/// directory when watch() is called):
/// - an existing file: the file itself, through its parent directory, so that
///   writes, truncation, touch (attributes), deletion and replacement by rename
///   (editors' save) are all seen;
/// - an existing directory: the directory itself (touch, deletion, rename) and
///   every entry inside it, at any depth (created, written, touched, deleted,
///   renamed from or to), sub-directories created later included; names for
///   which is_editor_or_vcs_noise() holds are skipped, and so is everything
///   under a VCS folder;
/// - a path that does not exist yet: its creation, even under directories that
///   do not exist yet either (the nearest existing ancestor is watched and the
///   watch moves down as the directories appear);
/// - a symbolic link: the link and what it points to.
/// Events on other names in the same directories are ignored. Renaming or
/// deleting an ancestor above a watched path's parent directory is not seen
/// (inotify does not report it); the path's own directory is.
///
/// Only directories take inotify watches (one per distinct directory), so the
/// fs.inotify.max_user_watches limit counts directories, not files.
///
/// Polling: when asked to (WatcherOptions::poll_interval), or when inotify runs
/// out of instances (EMFILE, ENFILE), watches (ENOSPC) or memory (ENOMEM), or
/// is not there (ENOSYS), the watcher stats the same paths (and the trees of
/// watched directories) every interval and reports what differs (mtime, ctime,
/// size, inode, existence; not a directory's own times, which change with
/// any entry, noise included), with the same debounce. The fall back is for
/// good: on_fallback is told why, once.
class Watcher {
 public:
  /// wait() with this timeout waits for ever.
  static constexpr std::chrono::milliseconds kNoTimeout{-1};
  /// The bound of wait()'s debounce phase, in debounce periods.
  static constexpr int kMaxDebounceFactor = 20;

  /// Opens an inotify instance (non-blocking, close-on-exec) watching nothing,
  /// or polls (see above). Throws WatchError when inotify fails otherwise.
  explicit Watcher(WatcherOptions options = {});
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  /// Replaces the watch set with `paths` (empty strings are skipped). Changes
  /// already observed, queued or not yet reported, to paths that stay in the set
  /// are kept and reported by the next wait(); those to dropped paths are
  /// forgotten, and nothing about dropped paths is reported afterwards.
  /// Under watched directories, changes to `ignored` paths (and to everything
  /// under them) do not count: the state database, the targets.
  /// Throws WatchError when a directory cannot be watched (permission denied);
  /// the watcher then watches nothing. fs.inotify.max_user_watches reached: the
  /// watcher falls back to polling.
  void watch(const std::vector<std::string>& paths, const std::vector<std::string>& ignored = {});

  /// Blocks until a watched path changes, then goes on collecting until
  /// `debounce` passes without a further relevant event (at most
  /// kMaxDebounceFactor * debounce in all, so that a file rewritten without
  /// pause cannot hold it for ever) and returns everything that changed.
  /// Changes observed since the last wait() (even before watch()) count at once.
  ///
  /// Returns nullopt when `timeout` passes with no relevant event (kNoTimeout:
  /// never), or as soon as `extra_fd` (when >= 0) is readable or hung up: the
  /// supervisor passes a signalfd or self-pipe so that SIGINT/SIGCHLD wake it.
  /// extra_fd is only polled, never read. Changes collected before such a wake
  /// stay pending for the next wait(). Throws WatchError when a directory that
  /// appeared cannot be watched.
  std::optional<Change> wait(std::chrono::milliseconds debounce, std::chrono::milliseconds timeout,
                             int extra_fd = -1);

  /// The inotify descriptor: readable when events are queued, for a caller that
  /// polls it with its own descriptors (then calls wait()). Owned by the watcher.
  /// -1 when polling: see until_next_scan().
  int fd() const;

  /// When polling: how long until the files are due to be looked at again (0
  /// when due), for a caller that polls its own descriptors with this timeout
  /// and then calls wait(). kNoTimeout with inotify.
  std::chrono::milliseconds until_next_scan() const;

  /// Whether the watcher polls (forced, or after a fall back) instead of inotify.
  bool polling() const;

  /// How many directories carry an inotify watch now.
  std::size_t watched_directories() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// What stat(2) (following symbolic links) tells about one path in a Snapshot.
/// For a directory, what lies under it at any depth, editor and VCS noise
/// skipped (is_editor_or_vcs_noise), rather than its own times.
struct PathState {
  bool exists = false;
  bool is_dir = false;
  /// 0 for a directory (they change with any entry, noise included).
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::int64_t size = 0;
  /// Changes when the path is replaced by a rename, even with the old mtime (mv, cp -p).
  std::uint64_t inode = 0;
  /// For a directory: the newest ctime of the files under it (writes, touches,
  /// renames change it) or birth time of the folders under it, 0 when none; 0
  /// for a file.
  std::int64_t entries_ctime_ns = 0;
  /// For a directory: a hash of the names, inodes, times and sizes of everything
  /// under it (any entry created, deleted, renamed or changed changes it).
  std::uint64_t entries_digest = 0;
  friend bool operator==(const PathState&, const PathState&) = default;
};

/// The stat states of a set of paths at one moment. The supervisor takes one
/// when it starts watching and compares it with a later one, so that an edit
/// made while nothing watched (between two watch sets) is not lost.
class Snapshot {
 public:
  /// Stats every path (empty strings are skipped). A path that cannot be stat'ed
  /// (missing, permission denied) is recorded as not existing; never throws.
  /// Under directories, `ignored` paths and everything under them are skipped.
  static Snapshot take(const std::vector<std::string>& paths,
                       const std::vector<std::string>& ignored = {});

  /// The paths recorded in both snapshots whose state differs (modified,
  /// touched, created, deleted, replaced; for a directory also its entries),
  /// sorted, as given to take(). Paths recorded in only one are not compared:
  /// take both over the same list.
  std::vector<std::string> diff(const Snapshot& later) const;

  /// Path (as given) → state.
  const std::map<std::string, PathState>& states() const { return states_; }

 private:
  std::map<std::string, PathState> states_;
};

/// Now, on the clock that the kernel stamps files with (CLOCK_REALTIME_COARSE):
/// a file written after this call has an mtime/ctime >= the value returned,
/// which a finer clock does not promise. Pass it to changed_since().
std::int64_t file_clock_now_ns();
/// The start of the file clock's next tick, once it has come (waits at
/// most one tick, 1 to 4 ms): a file written before this call has a ctime
/// below the value returned, one written after it a ctime at or above it.
/// file_clock_now_ns() cannot tell the two apart within its tick.
std::int64_t file_clock_next_tick_ns();

/// The existing paths whose ctime (for a directory: an entry's ctime) is at or
/// after `since_ns` (from file_clock_now_ns()), sorted, without duplicates, as
/// given. Not the mtime, which may lie in the future. Missing paths are not
/// reported: a Snapshot sees deletions. A clock stepped backwards can hide a
/// change.
/// Under directories, `ignored` paths and everything under them are skipped.
std::vector<std::string> changed_since(const std::vector<std::string>& paths, std::int64_t since_ns,
                                       const std::vector<std::string>& ignored = {});

}  // namespace doit

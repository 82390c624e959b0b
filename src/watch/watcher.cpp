#include "doit/watcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

namespace doit {

bool is_editor_or_vcs_noise(std::string_view name) {
  // Version control, and Python's byte-code cache (written when a cycle
  // imports a module that lies in a watch folder).
  static constexpr std::string_view kFolders[] = {".git",   ".hg", ".svn", ".bzr",
                                                  "_darcs", "CVS", ".jj",  "__pycache__"};
  static constexpr std::string_view kSuffixes[] = {".swp", ".swo",         ".swn",        ".swx",
                                                   "~",    "___jb_tmp___", "___jb_old___"};
  // vim probes whether it may write a folder with a file named 4913 (then
  // 5036, 5159, ... while the name is taken).
  constexpr unsigned long kVimProbeFirst = 4913;
  constexpr unsigned long kVimProbeStep = 123;
  for (std::string_view folder : kFolders) {
    if (name == folder) return true;
  }
  for (std::string_view suffix : kSuffixes) {
    if (name.ends_with(suffix)) return true;
  }
  if (name.starts_with(".#")) return true;                                        // emacs lock
  if (name.size() > 2 && name.front() == '#' && name.back() == '#') return true;  // emacs auto-save
  if (!name.empty() && name.size() < 10 &&
      std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    const unsigned long n = std::stoul(std::string(name));
    return n >= kVimProbeFirst && (n - kVimProbeFirst) % kVimProbeStep == 0;
  }
  return false;
}

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

/// Events that mean "this name changed". IN_MODIFY too: a writer that keeps the
/// file open never sends IN_CLOSE_WRITE.
constexpr std::uint32_t kContentEvents = IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB;
/// Events that add or remove a name in a directory.
constexpr std::uint32_t kStructureEvents = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;
/// Events about the watched directory itself.
constexpr std::uint32_t kSelfGoneEvents = IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT;
/// Every watch is on a directory. IN_EXCL_UNLINK: nothing about entries once unlinked.
constexpr std::uint32_t kWatchMask =
    kContentEvents | kStructureEvents | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK;

/// Room for many events per read(2); each is sizeof(inotify_event) + name.
constexpr std::size_t kEventBufferSize = 64 * 1024;

std::int64_t to_ns(const timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * kNanosPerSecond + t.tv_nsec;
}

/// "/a/b/../c/" given relative to the current directory → "/a/c".
std::string normalize(const std::string& path) {
  std::error_code error;  // no current directory: keep the path as given
  fs::path p = fs::absolute(fs::path(path), error);
  p = (error ? fs::path(path) : p).lexically_normal();
  if (!p.has_filename() && p != p.root_path()) p = p.parent_path();
  return p.string();
}

/// The errors after which inotify cannot serve but polling can.
bool inotify_unavailable(int error) {
  return error == ENOSPC || error == EMFILE || error == ENFILE || error == ENOMEM ||
         error == ENOSYS;
}

/// inotify cannot take more watches (or none at all): the caller polls instead.
struct InotifyExhausted {
  std::string message;
};

std::string advice_for(int error) {
  switch (error) {
    case ENOSPC:
      return " (the limit of inotify watches per user is reached: raise it with "
             "`sudo sysctl fs.inotify.max_user_watches=524288`, or watch fewer directories)";
    case EMFILE:
      return " (the limit of inotify instances per user is reached: raise it with "
             "`sudo sysctl fs.inotify.max_user_instances=1024`, or stop other watchers)";
    case ENOMEM:
      return " (the kernel is out of memory for inotify watches)";
    default:
      return "";
  }
}

[[noreturn]] void throw_watch_error(const std::string& what, int error) {
  throw WatchError(what + ": " + std::strerror(error) + advice_for(error));
}

/// lstat, then stat through a symlink. Missing or unreadable → exists = false.
struct Probe {
  bool exists = false;
  bool is_dir = false;
  bool is_symlink = false;
};

Probe probe(const std::string& path) {
  Probe result;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return result;
  result.exists = true;
  result.is_symlink = S_ISLNK(st.st_mode);
  if (result.is_symlink && ::stat(path.c_str(), &st) != 0) return result;  // dangling link
  result.is_dir = S_ISDIR(st.st_mode);
  return result;
}

/// Normalized paths whose changes never count: each, and everything under it.
using Ignored = std::set<std::string>;

Ignored normalized(const std::vector<std::string>& paths) {
  Ignored result;
  for (const std::string& path : paths) {
    if (!path.empty()) result.insert(normalize(path));
  }
  return result;
}

/// Whether normalized `path` is in `ignored` or under a path that is.
bool is_ignored(const Ignored& ignored, std::string path) {
  while (!ignored.empty()) {
    if (ignored.contains(path)) return true;
    const std::size_t slash = path.rfind('/');
    if (slash == 0 || slash == std::string::npos) return false;
    path.resize(slash);
  }
  return false;
}

/// Calls visit(relative name, full path, lstat) for every entry under `dir`
/// (normalized), at any depth, skipping editor and VCS noise and `ignored`;
/// descends into real directories only (not through symbolic links, so it
/// cannot loop).
using Visit = std::function<void(const std::string&, const std::string&, const struct stat&)>;
void walk(const std::string& dir, const std::string& relative, const Visit& visit,
          const Ignored& ignored) {
  // Closed also when `visit` throws (e.g. the watches ran out).
  std::unique_ptr<DIR, int (*)(DIR*)> handle(::opendir(dir.c_str()), &::closedir);
  if (handle == nullptr) return;
  std::vector<std::string> subdirs;
  while (const dirent* entry = ::readdir(handle.get())) {
    const std::string name = entry->d_name;
    if (name == "." || name == ".." || is_editor_or_vcs_noise(name)) continue;
    if (is_ignored(ignored, dir + "/" + name)) continue;
    struct stat st {};
    if (::fstatat(::dirfd(handle.get()), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const std::string rel = relative.empty() ? name : relative + "/" + name;
    visit(rel, dir + "/" + name, st);
    if (S_ISDIR(st.st_mode)) subdirs.push_back(name);
  }
  handle.reset();  // before descending: one open handle per level at most
  for (const std::string& name : subdirs) {
    walk(dir + "/" + name, relative.empty() ? name : relative + "/" + name, visit, ignored);
  }
}

/// The state of one path. A directory's times and size are left out (0): they
/// change whenever an entry is added or removed, noise included; its entries
/// are compared one by one instead.
PathState from_stat(const struct stat& st) {
  PathState state;
  state.exists = true;
  state.is_dir = S_ISDIR(st.st_mode);
  state.inode = static_cast<std::uint64_t>(st.st_ino);
  if (state.is_dir) return state;
  state.mtime_ns = to_ns(st.st_mtim);
  state.ctime_ns = to_ns(st.st_ctim);
  state.size = static_cast<std::int64_t>(st.st_size);
  return state;
}

/// When the entry `full` (lstat `st`) last changed, for changed_since(): a
/// file's ctime; a folder's birth time, so that a folder created counts but a
/// file added to an existing one (a target, an editor's swap file) does not
/// count for the folder (the file itself does, unless ignored). The ctime
/// where the file system keeps no birth time.
std::int64_t entry_change_ns(const std::string& full, const struct stat& st) {
  if (!S_ISDIR(st.st_mode)) return to_ns(st.st_ctim);
  struct statx sx {};
  if (::statx(AT_FDCWD, full.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) == 0 &&
      (sx.stx_mask & STATX_BTIME) != 0) {
    return static_cast<std::int64_t>(sx.stx_btime.tv_sec) * kNanosPerSecond + sx.stx_btime.tv_nsec;
  }
  return to_ns(st.st_ctim);
}

/// Fills the entries_* fields of a directory's state from its tree.
void add_entries(const std::string& dir, PathState& state, const Ignored& ignored) {
  std::string listing;
  const Visit visit = [&](const std::string& rel, const std::string& full, const struct stat& st) {
    const PathState entry = from_stat(st);
    state.entries_ctime_ns = std::max(state.entries_ctime_ns, entry_change_ns(full, st));
    listing += fmt::format("{}//{} {} {} {}\n", rel, entry.inode, entry.mtime_ns, entry.ctime_ns,
                           entry.size);
  };
  walk(normalize(dir), "", visit, ignored);
  state.entries_digest = std::hash<std::string>{}(listing);
}

/// What polling compares for one watched path: "" → the path itself (through
/// a symbolic link), and for a directory each entry under it by relative name.
using TreeState = std::map<std::string, PathState>;

TreeState tree_state(const std::string& path, const Ignored& ignored) {
  TreeState tree;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    tree[""] = PathState{};
    return tree;
  }
  tree[""] = from_stat(st);
  if (S_ISDIR(st.st_mode)) {
    const Visit visit = [&](const std::string& rel, const std::string&, const struct stat& entry) {
      tree[rel] = from_stat(entry);
    };
    walk(path, "", visit, ignored);
  }
  return tree;
}

PathState state_of(const std::string& path, const Ignored& ignored) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return PathState{};
  PathState state = from_stat(st);
  if (state.is_dir) add_entries(path, state, ignored);
  return state;
}

std::vector<std::string> sorted_unique(std::vector<std::string> paths) {
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  return paths;
}

/// Milliseconds from now until `deadline` for poll(2), rounded up, never negative.
int poll_timeout(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<milliseconds::rep>(left.count(), 0));
}

}  // namespace

struct Watcher::State {
  /// Why a name in a watched directory matters.
  enum class Role {
    kTarget,    ///< the name is the watched path: any event is a change
    kAncestor,  ///< the name is a missing directory on the way to a watched path
  };
  struct Interest {
    std::string key;  ///< normalized watched path
    Role role;
  };
  /// One inotify watch (one directory inode).
  struct DirWatch {
    std::string dir;
    std::unordered_map<std::string, std::vector<Interest>> names;
    /// Watched directories whose entries all matter: this very directory, or
    /// one it lies under.
    std::vector<std::string> whole;
  };

  WatcherOptions options;
  int fd = -1;
  /// Normalized path → spellings given to watch().
  std::map<std::string, std::vector<std::string>> given;
  /// Normalized path → whether it existed when last armed.
  std::map<std::string, bool> existed;
  std::unordered_map<int, DirWatch> watches;
  /// Normalized paths changed and not yet reported.
  std::set<std::string> pending;
  /// Paths under watched directories whose changes do not count (watch()).
  Ignored ignored;
  bool overflow = false;
  bool need_rearm = false;

  /// Polling (forced, or after a fall back): the interval, when the next scan
  /// is due, and each watched path's state at the last scan.
  std::optional<milliseconds> poll_interval;
  Clock::time_point next_scan;
  std::map<std::string, TreeState> scanned;

  bool polling() const { return poll_interval.has_value(); }

  /// From now on, polls: inotify is closed, its watches gone.
  void fall_back(const std::string& why) {
    for (const auto& [wd, watch] : watches) ::inotify_rm_watch(fd, wd);
    watches.clear();
    if (fd >= 0) ::close(fd);
    fd = -1;
    poll_interval = options.fallback_poll_interval;
    if (options.on_fallback) {
      options.on_fallback(
          fmt::format("{}; polling the files every {} ms instead", why, poll_interval->count()));
    }
  }

  /// Sets up what watches `given`: inotify watches, or the polling baseline.
  /// Existence changes since the last arm are pending changes when
  /// `report_existence`.
  void arm(bool report_existence) {
    if (!polling()) {
      try {
        arm_inotify(report_existence);
        return;
      } catch (const InotifyExhausted& exhausted) {
        fall_back(exhausted.message);
      }
    }
    scanned.clear();
    for (const auto& [key, spellings] : given) scanned[key] = tree_state(key, ignored);
    next_scan = Clock::now() + *poll_interval;
    need_rearm = false;
  }

  /// The inotify watches for `given`. On failure removes every watch; when
  /// inotify is exhausted throws InotifyExhausted and keeps `given`.
  void arm_inotify(bool report_existence) {
    std::unordered_map<int, DirWatch> fresh;
    std::unordered_map<std::string, int> wd_of;  // this arm's add_watch results
    std::map<std::string, bool> now_existed;

    // The wd of directory `dir`, or -1 when it is missing or not a directory.
    auto add_dir = [&](const std::string& dir, const std::string& key) {
      if (auto it = wd_of.find(dir); it != wd_of.end()) return it->second;
      int wd = options.add_watch(fd, dir.c_str(), kWatchMask);
      if (wd < 0) {
        const int error = errno;
        const std::string what = "cannot watch directory " + dir + " (to watch " + key + ")";
        if (inotify_unavailable(error)) {
          throw InotifyExhausted{what + ": " + std::strerror(error) + advice_for(error)};
        }
        if (error != ENOENT && error != ENOTDIR && error != ELOOP) throw_watch_error(what, error);
      } else {
        fresh[wd].dir = dir;
      }
      wd_of[dir] = wd;
      return wd;
    };
    // Watches the name of `target` in its nearest existing ancestor directory.
    auto anchor = [&](const fs::path& target, const std::string& key) {
      fs::path child = target;
      Role role = Role::kTarget;
      while (child.has_parent_path() && child != child.root_path()) {
        const fs::path dir = child.parent_path();
        const int wd = add_dir(dir.string(), key);
        if (wd >= 0) {
          fresh[wd].names[child.filename().string()].push_back({key, role});
          return;
        }
        child = dir;
        role = Role::kAncestor;
      }
    };
    // The directory `key` and every directory under it: all their entries matter.
    auto whole_tree = [&](const std::string& key) {
      if (const int wd = add_dir(key, key); wd >= 0) fresh[wd].whole.push_back(key);
      const Visit visit = [&](const std::string&, const std::string& full, const struct stat& st) {
        if (!S_ISDIR(st.st_mode)) return;
        if (const int wd = add_dir(full, key); wd >= 0) fresh[wd].whole.push_back(key);
      };
      walk(key, "", visit, ignored);
    };

    try {
      for (const auto& [key, spellings] : given) {
        const Probe found = probe(key);
        now_existed[key] = found.exists;
        anchor(fs::path(key), key);
        if (found.is_symlink) {
          std::error_code unresolved;  // a dangling link: anchor the link only
          const fs::path resolved = fs::weakly_canonical(key, unresolved);
          if (!resolved.empty() && resolved != fs::path(key)) anchor(resolved, key);
        }
        if (found.is_dir) whole_tree(key);
      }
    } catch (const InotifyExhausted&) {
      for (const auto& [wd, watch] : fresh) ::inotify_rm_watch(fd, wd);
      throw;
    } catch (...) {
      for (const auto& [wd, watch] : fresh) ::inotify_rm_watch(fd, wd);
      for (const auto& [wd, watch] : watches) ::inotify_rm_watch(fd, wd);
      watches.clear();
      given.clear();
      existed.clear();
      pending.clear();
      throw;
    }
    for (const auto& [wd, watch] : watches) {
      // Fails harmlessly for a watch the kernel already dropped (IN_IGNORED).
      if (!fresh.contains(wd)) ::inotify_rm_watch(fd, wd);
    }
    if (report_existence) {
      for (const auto& [key, exists] : now_existed) {
        auto before = existed.find(key);
        if (before != existed.end() && before->second != exists) pending.insert(key);
      }
    }
    watches = std::move(fresh);
    existed = std::move(now_existed);
    need_rearm = false;
  }

  /// Marks what `event` changed; true when it is relevant to the watch set.
  bool handle(const inotify_event& event) {
    if ((event.mask & IN_Q_OVERFLOW) != 0) {
      overflow = true;
      need_rearm = true;
      return true;
    }
    auto it = watches.find(event.wd);
    if (it == watches.end()) return false;  // a watch already replaced
    const DirWatch& watch = it->second;
    if ((event.mask & (IN_IGNORED | kSelfGoneEvents)) != 0) need_rearm = true;
    if (event.len == 0) {  // about the directory itself
      const bool counts = (event.mask & (IN_ATTRIB | kSelfGoneEvents)) != 0;
      if (counts) pending.insert(watch.whole.begin(), watch.whole.end());
      return counts && !watch.whole.empty();
    }
    const bool structural = (event.mask & kStructureEvents) != 0;
    bool relevant = false;
    if (!watch.whole.empty() && !is_editor_or_vcs_noise(event.name) &&
        !is_ignored(ignored, watch.dir + "/" + event.name)) {
      pending.insert(watch.whole.begin(), watch.whole.end());
      relevant = true;
      // A directory appeared in a watched tree (created, moved in): watch it too.
      if ((event.mask & (IN_CREATE | IN_MOVED_TO)) != 0 && (event.mask & IN_ISDIR) != 0) {
        need_rearm = true;
      }
    }
    auto named = watch.names.find(event.name);
    if (named == watch.names.end()) return relevant;
    for (const Interest& interest : named->second) {
      if (interest.role == Role::kTarget) {
        pending.insert(interest.key);
        relevant = true;
        // A directory appeared or went: its entries need (or lose) a watch.
        if (structural && (event.mask & IN_ISDIR) != 0) need_rearm = true;
      } else if (structural) {
        need_rearm = true;  // the watch moves down (or up) the missing path
      }
    }
    return relevant;
  }

  /// Polling: when a scan is due, compares every watched path with the last
  /// scan; true when one differs.
  bool scan() {
    if (Clock::now() < next_scan) return false;
    bool relevant = false;
    for (auto& [key, before] : scanned) {
      TreeState now = tree_state(key, ignored);
      if (now != before) {
        pending.insert(key);
        relevant = true;
        before = std::move(now);
      }
    }
    next_scan = Clock::now() + *poll_interval;
    return relevant;
  }

  /// Reads every queued event (polling: scans when due); true when one was
  /// relevant (or a re-arm found a watched path appearing or disappearing).
  bool drain() {
    if (polling()) return scan();
    alignas(inotify_event) char buffer[kEventBufferSize];
    bool relevant = false;
    for (;;) {
      const ssize_t got = ::read(fd, buffer, sizeof buffer);
      if (got < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        throw_watch_error("cannot read inotify events", errno);
      }
      if (got == 0) break;
      for (ssize_t offset = 0; offset < got;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
        relevant = handle(*event) || relevant;
        offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
    if (need_rearm) {
      const std::size_t before = pending.size();
      arm(/*report_existence=*/true);
      relevant = relevant || pending.size() != before;
    }
    return relevant;
  }

  bool has_news() const { return overflow || !pending.empty(); }

  Change take_change() {
    Change change;
    change.overflow = overflow;
    for (const auto& [key, spellings] : given) {
      if (overflow || pending.contains(key)) {
        change.paths.insert(change.paths.end(), spellings.begin(), spellings.end());
      }
    }
    change.paths = sorted_unique(std::move(change.paths));
    // Reported: a later re-arm compares existence with the state as of now.
    for (const std::string& key : pending) {
      if (auto it = existed.find(key); it != existed.end()) it->second = probe(key).exists;
    }
    pending.clear();
    overflow = false;
    return change;
  }
};

Watcher::Watcher(WatcherOptions options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.options = std::move(options);
  if (!s.options.add_watch) {
    s.options.add_watch = [](int fd, const char* path, std::uint32_t mask) {
      return ::inotify_add_watch(fd, path, mask);
    };
  }
  if (s.options.poll_interval) {
    s.poll_interval = s.options.poll_interval;
    return;
  }
  s.fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (s.fd >= 0) return;
  const int error = errno;
  const std::string what = "cannot start watching files (inotify_init1)";
  if (!inotify_unavailable(error)) throw_watch_error(what, error);
  s.fall_back(what + ": " + std::strerror(error) + advice_for(error));
}

Watcher::~Watcher() {
  if (state_->fd >= 0) ::close(state_->fd);
}

int Watcher::fd() const { return state_->fd; }

bool Watcher::polling() const { return state_->polling(); }

milliseconds Watcher::until_next_scan() const {
  if (!state_->polling()) return kNoTimeout;
  const auto left = std::chrono::ceil<milliseconds>(state_->next_scan - Clock::now());
  return std::max(left, milliseconds::zero());
}

std::size_t Watcher::watched_directories() const { return state_->watches.size(); }

void Watcher::watch(const std::vector<std::string>& paths,
                    const std::vector<std::string>& ignored) {
  State& s = *state_;
  if (s.polling()) s.next_scan = Clock::now();  // a last look with the old set
  s.drain();                                    // what happened so far, by the old set's watches
  std::map<std::string, std::vector<std::string>> given;
  for (const std::string& path : paths) {
    if (!path.empty()) given[normalize(path)].push_back(path);
  }
  std::erase_if(s.pending, [&](const std::string& key) { return !given.contains(key); });
  s.given = std::move(given);
  s.ignored = normalized(ignored);
  s.arm(/*report_existence=*/false);
}

std::optional<Change> Watcher::wait(milliseconds debounce, milliseconds timeout, int extra_fd) {
  State& s = *state_;
  // Polls until `deadline` (none: for ever) or, when polling, the next scan;
  // false when extra_fd woke it.
  auto poll_until = [&](std::optional<Clock::time_point> deadline) {
    if (s.polling()) deadline = deadline ? std::min(*deadline, s.next_scan) : s.next_scan;
    pollfd fds[2];
    nfds_t nfds = 0;
    if (s.fd >= 0) fds[nfds++] = {s.fd, POLLIN, 0};
    const nfds_t extra = nfds;
    if (extra_fd >= 0) fds[nfds++] = {extra_fd, POLLIN, 0};
    for (;;) {
      const int wait_ms = deadline ? poll_timeout(*deadline) : -1;
      const int ready = ::poll(fds, nfds, wait_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) throw_watch_error("cannot wait for file events (poll)", errno);
      return !(extra_fd >= 0 && fds[extra].revents != 0);
    }
  };

  std::optional<Clock::time_point> deadline;
  if (timeout >= milliseconds::zero()) deadline = Clock::now() + timeout;
  s.drain();
  while (!s.has_news()) {
    if (deadline && Clock::now() >= *deadline) return std::nullopt;
    if (!poll_until(deadline)) return std::nullopt;
    s.drain();
  }

  const Clock::time_point limit = Clock::now() + debounce * kMaxDebounceFactor;
  Clock::time_point quiet_until = Clock::now() + debounce;
  for (;;) {
    const Clock::time_point until = std::min(quiet_until, limit);
    if (Clock::now() >= until) break;
    if (!poll_until(until)) return std::nullopt;
    if (s.drain()) quiet_until = Clock::now() + debounce;
  }
  return s.take_change();
}

Snapshot Snapshot::take(const std::vector<std::string>& paths,
                        const std::vector<std::string>& ignored) {
  const Ignored skipped = normalized(ignored);
  Snapshot snapshot;
  for (const std::string& path : paths) {
    if (!path.empty()) snapshot.states_[path] = state_of(path, skipped);
  }
  return snapshot;
}

std::vector<std::string> Snapshot::diff(const Snapshot& later) const {
  std::vector<std::string> changed;
  for (const auto& [path, state] : states_) {
    auto other = later.states_.find(path);
    if (other != later.states_.end() && other->second != state) changed.push_back(path);
  }
  return changed;  // std::map keeps them sorted
}

std::int64_t file_clock_now_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return to_ns(now);
}

std::int64_t file_clock_next_tick_ns() {
  const std::int64_t start = file_clock_now_ns();
  timespec resolution{};
  ::clock_getres(CLOCK_REALTIME_COARSE, &resolution);
  // Sleep a tenth of a tick at a time: the tick comes within one tick. A
  // clock stepped back also ends the wait (not waiting for it to catch up).
  const timespec step{0, std::max<long>(resolution.tv_nsec / 10, 50'000)};
  for (;;) {
    const std::int64_t now = file_clock_now_ns();
    if (now != start) return now;
    ::nanosleep(&step, nullptr);
  }
}

std::vector<std::string> changed_since(const std::vector<std::string>& paths, std::int64_t since_ns,
                                       const std::vector<std::string>& ignored) {
  const Ignored skipped = normalized(ignored);
  std::vector<std::string> changed;
  for (const std::string& path : paths) {
    if (path.empty()) continue;
    const PathState state = state_of(path, skipped);
    // Not the mtime: anyone may set it to the future (touch -d, tar, a skewed
    // clock), and it would count as changed in every cycle until then. Any
    // write, touch or rename sets the ctime to now.
    const std::int64_t newest = std::max(state.ctime_ns, state.entries_ctime_ns);
    if (state.exists && newest >= since_ns) changed.push_back(path);
  }
  return sorted_unique(std::move(changed));
}

}  // namespace doit

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
#include <set>
#include <unordered_map>

namespace doit {

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

/// Newest ctime of the direct entries of `dir` (not following links), 0 when none.
std::int64_t newest_entry_ctime(const std::string& dir) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return 0;
  std::int64_t newest = 0;
  while (const dirent* entry = ::readdir(handle)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(::dirfd(handle), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      newest = std::max(newest, to_ns(st.st_ctim));
    }
  }
  ::closedir(handle);
  return newest;
}

PathState state_of(const std::string& path) {
  PathState state;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return state;
  state.exists = true;
  state.is_dir = S_ISDIR(st.st_mode);
  state.mtime_ns = to_ns(st.st_mtim);
  state.ctime_ns = to_ns(st.st_ctim);
  state.size = static_cast<std::int64_t>(st.st_size);
  state.inode = static_cast<std::uint64_t>(st.st_ino);
  if (state.is_dir) state.entries_ctime_ns = newest_entry_ctime(path);
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
    /// Watched directories whose entries all matter (this very directory).
    std::vector<std::string> whole;
  };

  int fd = -1;
  /// Normalized path → spellings given to watch().
  std::map<std::string, std::vector<std::string>> given;
  /// Normalized path → whether it existed when last armed.
  std::map<std::string, bool> existed;
  std::unordered_map<int, DirWatch> watches;
  /// Normalized paths changed and not yet reported.
  std::set<std::string> pending;
  bool overflow = false;
  bool need_rearm = false;

  /// Sets up the watches for `given`. Existence changes since the last arm are
  /// pending changes when `report_existence`. On failure removes every watch.
  void arm(bool report_existence) {
    std::unordered_map<int, DirWatch> fresh;
    std::unordered_map<std::string, int> wd_of;  // this arm's add_watch results
    std::map<std::string, bool> now_existed;

    // The wd of directory `dir`, or -1 when it is missing or not a directory.
    auto add_dir = [&](const std::string& dir, const std::string& key) {
      if (auto it = wd_of.find(dir); it != wd_of.end()) return it->second;
      int wd = ::inotify_add_watch(fd, dir.c_str(), kWatchMask);
      if (wd < 0) {
        const int error = errno;
        if (error != ENOENT && error != ENOTDIR && error != ELOOP) {
          throw_watch_error("cannot watch directory " + dir + " (to watch " + key + ")", error);
        }
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

    try {
      for (const auto& [key, spellings] : given) {
        const Probe found = probe(key);
        now_existed[key] = found.exists;
        anchor(fs::path(key), key);
        if (found.is_symlink) {
          std::error_code ignored;
          const fs::path resolved = fs::weakly_canonical(key, ignored);
          if (!resolved.empty() && resolved != fs::path(key)) anchor(resolved, key);
        }
        if (found.is_dir) {
          if (const int wd = add_dir(key, key); wd >= 0) fresh[wd].whole.push_back(key);
        }
      }
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
    pending.insert(watch.whole.begin(), watch.whole.end());
    bool relevant = !watch.whole.empty();
    auto named = watch.names.find(event.name);
    if (named == watch.names.end()) return relevant;
    const bool structural = (event.mask & kStructureEvents) != 0;
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

  /// Reads every queued event; true when one was relevant (or a re-arm found
  /// a watched path appearing or disappearing).
  bool drain() {
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

Watcher::Watcher() : state_(std::make_unique<State>()) {
  state_->fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (state_->fd < 0) throw_watch_error("cannot start watching files (inotify_init1)", errno);
}

Watcher::~Watcher() { ::close(state_->fd); }

int Watcher::fd() const { return state_->fd; }

std::size_t Watcher::watched_directories() const { return state_->watches.size(); }

void Watcher::watch(const std::vector<std::string>& paths) {
  State& s = *state_;
  s.drain();  // what happened so far, by the old set's watches
  std::map<std::string, std::vector<std::string>> given;
  for (const std::string& path : paths) {
    if (!path.empty()) given[normalize(path)].push_back(path);
  }
  std::erase_if(s.pending, [&](const std::string& key) { return !given.contains(key); });
  s.given = std::move(given);
  s.arm(/*report_existence=*/false);
}

std::optional<Change> Watcher::wait(milliseconds debounce, milliseconds timeout, int extra_fd) {
  State& s = *state_;
  pollfd fds[2] = {{s.fd, POLLIN, 0}, {extra_fd, POLLIN, 0}};
  const nfds_t nfds = extra_fd >= 0 ? 2 : 1;
  // Polls until `deadline` (none: for ever); false when extra_fd woke it.
  auto poll_until = [&](std::optional<Clock::time_point> deadline) {
    for (;;) {
      const int wait_ms = deadline ? poll_timeout(*deadline) : -1;
      const int ready = ::poll(fds, nfds, wait_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) throw_watch_error("cannot wait for file events (poll)", errno);
      return !(nfds == 2 && fds[1].revents != 0);
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

Snapshot Snapshot::take(const std::vector<std::string>& paths) {
  Snapshot snapshot;
  for (const std::string& path : paths) {
    if (!path.empty()) snapshot.states_[path] = state_of(path);
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

std::vector<std::string> changed_since(const std::vector<std::string>& paths,
                                       std::int64_t since_ns) {
  std::vector<std::string> changed;
  for (const std::string& path : paths) {
    if (path.empty()) continue;
    const PathState state = state_of(path);
    // Not the mtime: anyone may set it to the future (touch -d, tar, a skewed
    // clock), and it would count as changed in every cycle until then. Any
    // write, touch or rename sets the ctime to now.
    const std::int64_t newest = std::max(state.ctime_ns, state.entries_ctime_ns);
    if (state.exists && newest >= since_ns) changed.push_back(path);
  }
  return sorted_unique(std::move(changed));
}

}  // namespace doit

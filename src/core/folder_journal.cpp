#include "doit/folder_journal.h"

#include <limits.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <system_error>
#include <thread>

#include "doit/process.h"

namespace doit {
namespace {

/// What can change the stat() of a name in a folder.
constexpr std::uint32_t kNameEvents =
    IN_ATTRIB | IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;
/// What can change what a path through a folder resolves to.
constexpr std::uint32_t kFolderEvents =
    IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;
/// A watch only on a real folder reached without a symlink in its last
/// component (the components before were checked by their own watch);
/// masks add up when two paths are the same folder.
constexpr std::uint32_t kWatchFlags = IN_ONLYDIR | IN_DONT_FOLLOW | IN_MASK_ADD;
/// After one of these the journal can no longer tell what changed.
constexpr std::uint32_t kLost =
    IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT;
/// The path tables have at least this many slots per path (load <= 1/2).
constexpr size_t kSlotsPerPath = 2;
/// The path table first has room for this many paths per folder of the
/// caller's (with the folders above them); it grows if need be.
constexpr size_t kPathsPerFolder = 2;
/// Fibonacci hashing's multiplier: spreads a watch's number over the bits.
constexpr std::uint64_t kGoldenRatio64 = 0x9E3779B97F4A7C15ULL;
/// Watches a thread adds at a time, when two share the work.
constexpr size_t kWatchesPerBlock = 64;

/// Whether `path` is in the form the journal watches: no "." or empty
/// component, no trailing "/" (but "/" itself), no "..".
bool is_clean(std::string_view path) {
  if (path.empty() || path == "/") return true;
  for (size_t i = path.starts_with('/') ? 1 : 0; i <= path.size();) {
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(i, end - i);
    if (part.empty() || part == "." || part == "..") return false;
    i = end + 1;
  }
  return true;
}

/// `path` without "." or empty components; nullopt when it has a ".."
/// (which a symlink before it would make ambiguous).
std::optional<std::string> cleaned(std::string_view path) {
  std::string out = path.starts_with('/') ? "/" : "";
  for (size_t i = 0; i <= path.size();) {
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(i, end - i);
    i = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return std::nullopt;
    if (!out.empty() && out.back() != '/') out += '/';
    out.append(part);
  }
  return out;
}

/// The folder above a clean path; nullopt at the top ("" the working
/// directory, or "/").
std::optional<std::string_view> parent_of(std::string_view path) {
  if (path.empty() || path == "/") return std::nullopt;
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return std::string_view();
  return path.substr(0, slash == 0 ? 1 : slash);
}

/// How many folders a clean path is below its top.
std::uint32_t depth_of(std::string_view path) {
  if (path.empty() || path == "/") return 0;
  const auto slashes = static_cast<std::uint32_t>(std::count(path.begin(), path.end(), '/'));
  return path.starts_with('/') ? slashes : slashes + 1;
}

std::string_view last_component(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::size_t hash_child(std::uint32_t parent_watch, std::string_view name) {
  return std::hash<std::string_view>{}(name) ^ (parent_watch * kGoldenRatio64);
}

}  // namespace

/// The paths to watch, each once, with the folders above them.
struct FolderJournal::Builder {
  struct Path {
    std::string_view text;  ///< clean; relative to the working directory, or absolute
    std::uint32_t parent = kNone;
    std::uint32_t first_folder = kNone;  ///< the caller's folders (next_folder)
    int wd = -1;                         ///< -1: not watched (kPending: not yet)
    std::uint8_t instance = 0;           ///< of the watch
  };
  std::vector<Path> paths;
  /// Open addressing over `paths` by text (kNone: empty).
  std::vector<std::uint32_t> slots;
  /// The texts of paths the caller did not name in clean form.
  std::deque<std::string> texts;

  explicit Builder(size_t folders) {
    paths.reserve(folders * kPathsPerFolder);
    slots.assign(std::bit_ceil(std::max<size_t>(folders, 1) * kPathsPerFolder * kSlotsPerPath),
                 kNone);
  }

  /// The path of `text`, added with the folders above it if new.
  std::uint32_t add(std::string_view text) {
    std::uint32_t first = kNone;
    std::uint32_t child = kNone;
    for (std::optional<std::string_view> p = text; p; p = parent_of(*p)) {
      if ((paths.size() + 1) * kSlotsPerPath > slots.size()) grow();
      std::uint32_t& slot = find(*p);
      const bool known = slot != kNone;
      if (!known) {
        slot = static_cast<std::uint32_t>(paths.size());
        paths.push_back(Path{*p});
      }
      if (child == kNone) {
        first = slot;
      } else {
        paths[child].parent = slot;
      }
      if (known) break;
      child = slot;
    }
    return first;
  }

  std::uint32_t& find(std::string_view text) {
    const size_t mask = slots.size() - 1;
    const size_t h = std::hash<std::string_view>{}(text);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots[i] == kNone || paths[slots[i]].text == text) return slots[i];
    }
  }

  void grow() {
    slots.assign(slots.size() * 2, kNone);
    for (std::uint32_t n = 0; n < paths.size(); ++n) find(paths[n].text) = n;
  }

  /// Watches the paths of `order` (parents before children) on `fds`,
  /// with a second thread when there are enough of them and a second
  /// instance. False when no watch is left.
  bool watch(const std::array<int, kInstances>& fds, std::span<const std::uint32_t> order) {
    for (Path& p : paths) p.wd = kPending;
    std::atomic<size_t> next{0};
    std::atomic<bool> full{false};
    std::thread other;
    if (fds[1] >= 0 && order.size() >= kInstances * kMinWatchesPerThread) {
      try {
        other = std::thread([&] { take_blocks(fds, 1, order, next, full); });
      } catch (const std::system_error&) {
        // this thread does it all
      }
    }
    take_blocks(fds, 0, order, next, full);
    if (other.joinable()) other.join();
    return !full;
  }

 private:
  /// Path::wd while no thread has watched the path yet.
  static constexpr int kPending = -2;

  /// Takes blocks of `order` from `next` until none is left (or `full`):
  /// a thread the scheduler delays (the machine is shared) holds back no
  /// one. A path whose parent the other thread has not watched yet waits
  /// for it: the parent comes earlier in `order`, so the other thread is at
  /// it or before it, and waits for nothing this thread has still to do.
  void take_blocks(const std::array<int, kInstances>& fds, size_t instance,
                   std::span<const std::uint32_t> order, std::atomic<size_t>& next,
                   std::atomic<bool>& full) {
    std::string buffer;
    for (;;) {
      const size_t begin = next.fetch_add(kWatchesPerBlock, std::memory_order_relaxed);
      if (begin >= order.size() || full.load(std::memory_order_relaxed)) return;
      const size_t end = std::min(order.size(), begin + kWatchesPerBlock);
      for (size_t i = begin; i < end; ++i) {
        Path& p = paths[order[i]];
        int wd = -1;
        if (p.parent == kNone || parent_watched(paths[p.parent], full)) {
          const std::uint32_t mask = kFolderEvents | (p.first_folder != kNone ? kNameEvents : 0);
          buffer.assign(p.text.empty() ? std::string_view(".") : p.text);
          wd = ::inotify_add_watch(fds[instance], buffer.c_str(), mask | kWatchFlags);
          if (wd < 0 && (errno == ENOSPC || errno == ENOMEM || errno == EMFILE)) {
            full.store(true, std::memory_order_relaxed);
            return;
          }
        }
        p.instance = static_cast<std::uint8_t>(instance);
        std::atomic_ref<int>(p.wd).store(wd, std::memory_order_release);
      }
    }
  }

  /// Whether `parent` is watched, once a thread has tried; false when no
  /// watch is left.
  static bool parent_watched(Path& parent, const std::atomic<bool>& full) {
    const std::atomic_ref<int> wd(parent.wd);
    for (;;) {
      const int v = wd.load(std::memory_order_acquire);
      if (v != kPending) return v >= 0;
      if (full.load(std::memory_order_relaxed)) return false;
      std::this_thread::yield();
    }
  }
};

std::unique_ptr<FolderJournal> FolderJournal::start(std::span<const std::string_view> folders,
                                                    std::vector<bool>* watched) {
  watched->assign(folders.size(), false);
  char cwd_buffer[PATH_MAX];
  if (::getcwd(cwd_buffer, sizeof cwd_buffer) == nullptr) return nullptr;
  const std::string_view cwd(cwd_buffer);

  // Every folder, relative to the working directory when it is below it
  // (fewer components for the kernel to walk), and the folders above them.
  Builder b(folders.size());
  std::vector<std::uint32_t> next_folder(folders.size(), kNone);
  for (size_t i = 0; i < folders.size(); ++i) {
    std::string_view text = folders[i];
    if (!is_clean(text)) {
      std::optional<std::string> clean = cleaned(text);
      if (!clean) continue;
      text = b.texts.emplace_back(std::move(*clean));
    }
    if (text.starts_with('/') && cwd != "/" && text.starts_with(cwd)) {
      if (text.size() == cwd.size()) {
        text = {};
      } else if (text[cwd.size()] == '/') {
        text.remove_prefix(cwd.size() + 1);
      }
    }
    Builder::Path& p = b.paths[b.add(text)];
    next_folder[i] = p.first_folder;
    p.first_folder = static_cast<std::uint32_t>(i);
  }

  // Shallower first: a folder is watched only when every folder above it is.
  std::vector<std::uint32_t> depth(b.paths.size());
  std::uint32_t deepest = 0;
  for (size_t n = 0; n < b.paths.size(); ++n) {
    depth[n] = depth_of(b.paths[n].text);
    deepest = std::max(deepest, depth[n]);
  }
  std::vector<std::uint32_t> level_start(deepest + 2, 0);
  for (const std::uint32_t d : depth) ++level_start[d + 1];
  for (size_t d = 1; d < level_start.size(); ++d) level_start[d] += level_start[d - 1];
  std::vector<std::uint32_t> order(b.paths.size());
  {
    std::vector<std::uint32_t> at(level_start.begin(), level_start.end() - 1);
    for (std::uint32_t n = 0; n < b.paths.size(); ++n) order[at[depth[n]]++] = n;
  }

  // Without a second instance (none left), one thread does all.
  std::unique_ptr<FolderJournal> journal(new FolderJournal());
  for (int& fd : journal->fds_) fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (journal->fds_[0] < 0) return nullptr;
  if (!b.watch(journal->fds_, order)) return nullptr;

  // What read() needs: the watched paths by watch, their names, and which
  // names are watched paths.
  FolderJournal& j = *journal;
  size_t watches = 0;
  size_t names_size = 0;
  std::uint32_t max_watch = 0;
  for (const Builder::Path& p : b.paths) {
    if (p.wd < 0) continue;
    ++watches;
    names_size += last_component(p.text).size();
    max_watch = std::max(max_watch, watch_id(p.wd, p.instance));
  }
  j.nodes_.reserve(watches);
  j.names_.reserve(names_size);
  j.node_of_watch_.assign(static_cast<size_t>(max_watch) + 1, kNone);
  j.resolving_.assign(std::bit_ceil((watches + 1) * kSlotsPerPath), kNone);
  for (const Builder::Path& p : b.paths) {
    if (p.wd < 0) continue;
    const std::string_view name = last_component(p.text);
    const auto n = static_cast<std::uint32_t>(j.nodes_.size());
    Node& node = j.nodes_.emplace_back();
    node.name_offset = static_cast<std::uint32_t>(j.names_.size());
    node.name_length = static_cast<std::uint32_t>(name.size());
    j.names_.append(name);
    node.first_folder = p.first_folder;
    std::uint32_t& first_of_watch = j.node_of_watch_[watch_id(p.wd, p.instance)];
    node.next_same_watch = first_of_watch;
    first_of_watch = n;
    for (std::uint32_t f = p.first_folder; f != kNone; f = next_folder[f]) (*watched)[f] = true;
    if (p.parent == kNone) continue;
    const Builder::Path& parent = b.paths[p.parent];
    node.parent_watch = watch_id(parent.wd, parent.instance);
    const size_t mask = j.resolving_.size() - 1;
    size_t i = hash_child(node.parent_watch, name) & mask;
    while (j.resolving_[i] != kNone) i = (i + 1) & mask;
    j.resolving_[i] = n;
  }
  j.next_folder_ = std::move(next_folder);
  return journal;
}

// Closing an instance waits for the kernel to free its watches, mostly a
// grace period of several milliseconds: the instances are closed at the
// same time, so that they wait together, not one after the other.
FolderJournal::~FolderJournal() {
  std::thread other;
  if (fds_[1] >= 0) {
    try {
      other = std::thread([fd = fds_[1]] { ::close(fd); });
    } catch (const std::system_error&) {
      ::close(fds_[1]);
    }
  }
  if (fds_[0] >= 0) ::close(fds_[0]);
  if (other.joinable()) other.join();
}

bool FolderJournal::close_in_child() {
  std::vector<int> open;
  for (const int fd : fds_) {
    if (fd >= 0) open.push_back(fd);
  }
  if (doit::close_in_child(open) < 0) return false;
  fds_.fill(-1);
  return true;
}

bool FolderJournal::resolves(std::uint32_t watch, std::string_view name) const {
  const size_t mask = resolving_.size() - 1;
  for (size_t i = hash_child(watch, name) & mask; resolving_[i] != kNone; i = (i + 1) & mask) {
    const Node& n = nodes_[resolving_[i]];
    if (n.parent_watch == watch && name_of(n) == name) return true;
  }
  return false;
}

bool FolderJournal::read(const std::function<void(size_t, std::string_view)>& changed) {
  // Called before every check: one syscall asks both instances whether
  // anything happened.
  std::array<pollfd, kInstances> polled{};
  for (size_t instance = 0; instance < kInstances; ++instance) {
    polled[instance] = pollfd{fds_[instance], POLLIN, 0};  // fd -1: ignored
  }
  int ready;
  do {
    ready = ::poll(polled.data(), polled.size(), 0);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return false;
  for (size_t instance = 0; instance < kInstances && ready > 0; ++instance) {
    if (polled[instance].revents == 0) continue;
    --ready;
    if ((polled[instance].revents & ~POLLIN) != 0 || !read(instance, changed)) return false;
  }
  return true;
}

bool FolderJournal::read(size_t instance,
                         const std::function<void(size_t, std::string_view)>& changed) {
  alignas(inotify_event) char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fds_[instance], buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;
    }
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if ((event->mask & kLost) != 0) return false;
      if (event->len == 0 || event->wd < 0) continue;
      const std::uint32_t watch = watch_id(event->wd, instance);
      if (watch >= node_of_watch_.size() || node_of_watch_[watch] == kNone) continue;
      const std::string_view name(event->name, ::strnlen(event->name, event->len));
      if (resolves(watch, name)) return false;
      for (std::uint32_t node = node_of_watch_[watch]; node != kNone;
           node = nodes_[node].next_same_watch) {
        for (std::uint32_t f = nodes_[node].first_folder; f != kNone; f = next_folder_[f]) {
          changed(f, name);
        }
      }
    }
  }
}

}  // namespace doit

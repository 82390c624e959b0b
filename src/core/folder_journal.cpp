#include "doit/folder_journal.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

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

/// `folder` as an absolute path without "." or empty components; nullopt
/// when it has a ".." (which a symlink before it would make ambiguous).
std::optional<std::string> absolute(const std::string& cwd, std::string_view folder) {
  std::string out = folder.starts_with('/') ? std::string() : cwd;
  size_t i = 0;
  while (i <= folder.size()) {
    size_t end = folder.find('/', i);
    if (end == std::string_view::npos) end = folder.size();
    const std::string_view part = folder.substr(i, end - i);
    i = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return std::nullopt;
    if (out != "/") out += '/';
    out.append(part);
  }
  if (out.empty()) out.push_back('/');
  return out;
}

std::string parent_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? std::string("/") : path.substr(0, slash);
}

}  // namespace

std::unique_ptr<FolderJournal> FolderJournal::start(const std::string& cwd,
                                                    const std::vector<std::string_view>& folders,
                                                    std::vector<bool>* watched) {
  watched->assign(folders.size(), false);
  // Every absolute folder, with the caller's folders it stands for; and the
  // folders above them, up to the working directory (or to / for a path
  // outside it).
  std::unordered_map<std::string, std::vector<size_t>> wanted;
  for (size_t i = 0; i < folders.size(); ++i) {
    if (std::optional<std::string> abs = absolute(cwd, folders[i])) wanted[*abs].push_back(i);
  }
  std::vector<std::string> paths;
  std::unordered_set<std::string> seen;
  for (const auto& [abs, unused] : wanted) {
    for (std::string p = abs;; p = parent_of(p)) {
      if (!seen.insert(p).second) break;
      paths.push_back(p);
      if (p == cwd || p == "/") break;
    }
  }
  // Shorter first: a folder is watched only when every folder above it was.
  std::sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });

  std::unique_ptr<FolderJournal> journal(new FolderJournal());
  journal->fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (journal->fd_ < 0) return nullptr;
  std::unordered_set<std::string> failed;
  for (const std::string& p : paths) {
    if (p != "/" && failed.contains(parent_of(p))) {
      failed.insert(p);
      continue;
    }
    const auto folder = wanted.find(p);
    const std::uint32_t mask = kFolderEvents | (folder != wanted.end() ? kNameEvents : 0);
    const int wd = ::inotify_add_watch(journal->fd_, p.c_str(), mask | kWatchFlags);
    if (wd < 0) {
      if (errno == ENOSPC || errno == ENOMEM || errno == EMFILE) return nullptr;
      failed.insert(p);
      continue;
    }
    Watch& w = journal->watches_[wd];
    if (w.path.empty()) w.path = p;
    journal->resolving_.insert(p);
    if (folder != wanted.end()) {
      for (size_t i : folder->second) {
        w.folders.push_back(i);
        (*watched)[i] = true;
      }
    }
  }
  return journal;
}

FolderJournal::~FolderJournal() {
  if (fd_ >= 0) ::close(fd_);
}

bool FolderJournal::read(const std::function<void(size_t, std::string_view)>& changed) {
  alignas(inotify_event) char buffer[64 * 1024];
  std::string child;
  for (;;) {
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;
    }
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if ((event->mask & kLost) != 0) return false;
      if (event->len == 0) continue;
      const auto w = watches_.find(event->wd);
      if (w == watches_.end()) continue;
      const std::string_view name(event->name, ::strnlen(event->name, event->len));
      child.assign(w->second.path);
      if (child != "/") child += '/';
      child.append(name);
      if (resolving_.contains(child)) return false;
      for (size_t folder : w->second.folders) changed(folder, name);
    }
  }
}

}  // namespace doit

#include "doit/hash_ahead.h"

#include <exception>
#include <system_error>
#include <utility>

namespace doit {
namespace {

/// `path`'s stat and hash, when its modification time and size were the
/// same before and after the read; nullopt otherwise, or for no file.
std::optional<std::pair<FileStat, Hash128>> stable_hash(const FileSystem& fs,
                                                        const std::string& path) {
  const FileStat before = fs.stat(path);
  if (!before.exists || before.is_dir) return std::nullopt;
  const Hash128 hash = fs.hash(path);
  const FileStat after = fs.stat(path);
  if (after.mtime_ns != before.mtime_ns || after.size != before.size) return std::nullopt;
  return std::pair{before, hash};
}

}  // namespace

HashAhead::~HashAhead() {
  {
    const std::lock_guard lock(mutex_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool HashAhead::start(std::vector<std::string> paths) {
  const std::lock_guard lock(mutex_);
  if (thread_.joinable() || paths.empty()) return false;
  items_.reserve(paths.size());
  for (std::string& path : paths) {
    Item& item = items_.emplace_back();
    item.path = std::move(path);
  }
  index_.reserve(items_.size());
  for (std::uint32_t i = 0; i < items_.size(); ++i) {
    if (!index_.emplace(items_[i].path, i).second) items_[i].state = Item::State::kSkipped;
  }
  try {
    thread_ = std::thread([this] { work(); });
  } catch (const std::system_error&) {
    items_.clear();
    index_.clear();
    return false;
  }
  return true;
}

void HashAhead::work() {
  std::unique_lock lock(mutex_);
  while (!stop_ && next_ < items_.size()) {
    Item& item = items_[next_++];
    if (item.state != Item::State::kQueued) continue;  // take() came first
    item.state = Item::State::kReading;
    const std::string& path = item.path;  // items_ is not resized: safe unlocked
    lock.unlock();
    std::optional<std::pair<FileStat, Hash128>> hashed;
    try {
      hashed = stable_hash(fs_, path);
    } catch (const std::exception&) {
      // unreadable (or no memory): hashed after the actions, which report it
    }
    lock.lock();
    if (hashed) {
      item.stat = hashed->first;
      item.hash = hashed->second;
      item.state = Item::State::kHashed;
    } else {
      item.state = Item::State::kSkipped;
    }
    read_.notify_all();
  }
  done_ = true;
  read_.notify_all();
}

void HashAhead::wait_until_done() {
  std::unique_lock lock(mutex_);
  if (thread_.joinable()) read_.wait(lock, [&] { return done_; });
}

std::optional<Hash128> HashAhead::take(const std::string& path, const FileStat& now) {
  std::unique_lock lock(mutex_);
  const auto it = index_.find(path);
  if (it == index_.end()) return std::nullopt;
  Item& item = items_[it->second];
  if (item.state == Item::State::kQueued) {
    item.state = Item::State::kSkipped;  // read by the caller now; the thread goes on
    return std::nullopt;
  }
  read_.wait(lock, [&] { return item.state != Item::State::kReading; });
  if (item.state != Item::State::kHashed || item.stat.mtime_ns != now.mtime_ns ||
      item.stat.size != now.size || !now.exists || now.is_dir) {
    return std::nullopt;
  }
  return item.hash;
}

}  // namespace doit

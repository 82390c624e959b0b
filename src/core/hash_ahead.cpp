#include "doit/hash_ahead.h"

#include <algorithm>
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
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

bool HashAhead::add(std::vector<std::string> paths) {
  {
    const std::lock_guard lock(mutex_);
    let_go_of_old_items();
    for (std::string& path : paths) {
      Item& item = items_.emplace_back();
      item.path = std::move(path);
      const std::uint64_t seq = first_ + items_.size() - 1;
      // Deque elements stay where they are when others are added or removed
      // at either end: the index keeps views of their paths.
      if (!index_.emplace(item.path, seq).second) item.state = Item::State::kSkipped;
    }
    if (!thread_.joinable()) {
      try {
        thread_ = std::thread([this] { work(); });
      } catch (const std::system_error&) {
        index_.clear();
        items_.clear();
        return false;
      }
    }
  }
  wake_.notify_one();
  return true;
}

void HashAhead::let_go_of_old_items() {
  const std::uint64_t behind = std::min(next_, taken_);
  while (!items_.empty() && first_ + kKeptBehind < behind &&
         items_.front().state != Item::State::kReading) {
    const auto it = index_.find(items_.front().path);
    if (it != index_.end() && it->second == first_) index_.erase(it);
    items_.pop_front();
    ++first_;
  }
}

std::size_t HashAhead::ahead() const {
  const std::lock_guard lock(mutex_);
  const std::uint64_t end = first_ + items_.size();
  return static_cast<std::size_t>(end - std::min(end, taken_));
}

std::size_t HashAhead::kept() const {
  const std::lock_guard lock(mutex_);
  return items_.size();
}

void HashAhead::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || next_ < first_ + items_.size(); });
    if (stop_) return;
    Item& item = at(next_++);
    if (item.state != Item::State::kQueued) continue;  // take() came first
    item.state = Item::State::kReading;                // kept while it reads
    const std::string& path = item.path;
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
}

void HashAhead::wait_until_done() {
  std::unique_lock lock(mutex_);
  read_.wait(lock, [&] {
    return next_ == first_ + items_.size() &&
           (items_.empty() || items_.back().state != Item::State::kReading);
  });
}

std::optional<Hash128> HashAhead::take(const std::string& path, const FileStat& now) {
  std::unique_lock lock(mutex_);
  const auto it = index_.find(path);
  if (it == index_.end()) return std::nullopt;
  const std::uint64_t seq = it->second;
  taken_ = std::max(taken_, seq + 1);
  Item& item = at(seq);
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

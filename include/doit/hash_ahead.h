// Hashing file_deps ahead of the tasks that will need their hashes. The
// content checker stores each file_dep's hash after its task ran; in a
// serial run a python-action keeps doit's own thread busy and leaves a core
// idle. A file hashed there needs no read afterwards when its modification
// time and size did not change in between: the rule the checker trusts.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "doit/fs.h"

namespace doit {

class HashAhead {
 public:
  /// Hashes through `fs`, which must allow calls from another thread.
  explicit HashAhead(const FileSystem& fs) : fs_(fs) {}
  /// Stops the thread (after the file it is reading).
  ~HashAhead();
  HashAhead(const HashAhead&) = delete;
  HashAhead& operator=(const HashAhead&) = delete;

  /// Adds `paths` to hash, in order, after those given before (one still
  /// kept is not hashed again); the first call starts the thread. False
  /// when no thread could start. Paths the thread and take() have both
  /// passed long ago are let go: memory stays bounded in a long build.
  bool add(std::vector<std::string> paths);
  /// How many of the paths given come after the furthest one take() found:
  /// how far ahead of its caller it is given work.
  std::size_t ahead() const;
  /// The hash of `path` as `now` (its stat now) describes it: when it was
  /// hashed ahead and its modification time and size were `now`'s before
  /// and after the read. nullopt otherwise (not given, let go, unreadable,
  /// changed since): hash it yourself. Waits while the thread reads it. A
  /// path the thread has not reached yet is left to the caller.
  std::optional<Hash128> take(const std::string& path, const FileStat& now);
  /// Waits until the thread has reached every path given (tests).
  void wait_until_done();
  /// How many paths are kept (tests).
  std::size_t kept() const;

  /// Paths kept behind both the thread and take(), for a take() of a task
  /// that ran out of the graph's order.
  static constexpr std::size_t kKeptBehind = 4096;

 private:
  struct Item {
    std::string path;
    enum class State : std::uint8_t { kQueued, kReading, kHashed, kSkipped } state = State::kQueued;
    FileStat stat;  // during the read, when hashed
    Hash128 hash{};
  };
  void work();
  void let_go_of_old_items();
  Item& at(std::uint64_t seq) { return items_[static_cast<std::size_t>(seq - first_)]; }

  const FileSystem& fs_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;  // for the thread: a path to hash, or stop
  std::condition_variable read_;  // an item was read
  std::deque<Item> items_;        // sequence numbers first_, first_ + 1, ...
  std::unordered_map<std::string_view, std::uint64_t> index_;  // path → sequence number
  std::uint64_t first_ = 0;  // the sequence number of items_.front()
  std::uint64_t next_ = 0;   // the first item the thread has not taken
  std::uint64_t taken_ = 0;  // one past the furthest item take() found
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace doit

// Hashing file_deps ahead of the tasks that will need their hashes. The
// content checker stores each file_dep's hash after its task ran; in a
// serial run a python-action keeps doit's own thread busy and leaves a core
// idle. A file hashed there needs no read afterwards when its modification
// time and size did not change in between: the rule the checker trusts.
#pragma once

#include <condition_variable>
#include <cstdint>
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

  /// Starts hashing `paths` on a thread of its own, in order (a path given
  /// twice is hashed once). Once only; false when no thread could start.
  bool start(std::vector<std::string> paths);
  /// The hash of `path` as `now` (its stat now) describes it: when it was
  /// hashed ahead and its modification time and size were `now`'s before
  /// and after the read. nullopt otherwise (not asked for, not reached yet,
  /// unreadable, changed since): hash it yourself. Waits while the thread
  /// reads it. A path not reached yet is left to the caller.
  std::optional<Hash128> take(const std::string& path, const FileStat& now);
  /// Waits until the thread has gone through the whole list (tests).
  void wait_until_done();

 private:
  struct Item {
    std::string path;
    enum class State : std::uint8_t { kQueued, kReading, kHashed, kSkipped } state = State::kQueued;
    FileStat stat;  // during the read, when hashed
    Hash128 hash{};
  };
  void work();

  const FileSystem& fs_;
  std::mutex mutex_;
  std::condition_variable read_;  // an item was read, or the list is done
  std::vector<Item> items_;       // not resized once the thread runs
  std::unordered_map<std::string_view, std::uint32_t> index_;  // path → item
  std::size_t next_ = 0;  // the first item the thread has not taken
  bool stop_ = false;
  bool done_ = false;  // the thread went through the list
  std::thread thread_;
};

}  // namespace doit

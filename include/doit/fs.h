// The file system as the core sees it: stat and content hash. An interface so
// that the up-to-date logic can be tested without touching the disk.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

namespace doit {

/// A 128-bit content hash (XXH3-128).
struct Hash128 {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  friend bool operator==(const Hash128&, const Hash128&) = default;
  /// 32 lowercase hex digits, high part first.
  std::string hex() const;
  /// Parses hex(); returns false on malformed text.
  static bool from_hex(const std::string& text, Hash128* out);
};

/// What stat() tells about a path.
struct FileStat {
  std::int64_t mtime_ns = 0;
  std::int64_t size = 0;
  bool exists = false;
  bool is_dir = false;
  /// Reached through a symlink: a change made to the file it names is not
  /// seen in this path's folder.
  bool via_symlink = false;
  /// A file with other names (hard links): a change made through one of
  /// them is not seen in this path's folder either.
  bool hard_linked = false;
};

/// A file-system error that names the path (e.g. permission denied).
class FsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  /// stat(2) following symlinks. A missing path (ENOENT, ENOTDIR, ELOOP) gives
  /// exists=false; other failures throw FsError.
  virtual FileStat stat(const std::string& path) const = 0;
  /// XXH3-128 of the file's content, streamed. Throws FsError when the file
  /// cannot be read (missing, a directory, permission denied).
  virtual Hash128 hash(const std::string& path) const = 0;
  /// Files may change from now on (a task is about to run): forget anything
  /// cached, or start watching for changes.
  virtual void invalidate() const {}
  /// Take in the changes made so far (by the actions that ran), before a
  /// task's files are looked at.
  virtual void refresh() const {}
  /// The same files through an object another thread may call (stat and
  /// hash only); nullptr when there is none.
  virtual const FileSystem* concurrent() const { return nullptr; }
};

/// The real disk.
class RealFileSystem : public FileSystem {
 public:
  FileStat stat(const std::string& path) const override;
  Hash128 hash(const std::string& path) const override;
  const FileSystem* concurrent() const override { return this; }
};

/// An in-memory file system for tests: files with content and an mtime.
class FakeFileSystem : public FileSystem {
 public:
  void write(const std::string& path, const std::string& content, std::int64_t mtime_ns);
  void touch(const std::string& path, std::int64_t mtime_ns);
  void remove(const std::string& path);
  FileStat stat(const std::string& path) const override;
  Hash128 hash(const std::string& path) const override;
  /// How many times hash() read a file (to prove that unchanged files are not read).
  int hash_calls() const { return hash_calls_; }

 private:
  struct Entry {
    std::string content;
    std::int64_t mtime_ns;
  };
  std::map<std::string, Entry> files_;
  mutable int hash_calls_ = 0;
};

/// The whole content of a small file, read with read(2); false when it
/// cannot be opened or read (for /proc files: the process is gone, even
/// half-way through the read, ESRCH). Never throws.
bool read_small_file(const std::string& path, std::string* out);

/// XXH3-128 of a byte string.
Hash128 hash_bytes(const std::string& data);

}  // namespace doit

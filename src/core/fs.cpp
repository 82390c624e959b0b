#include "doit/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <span>

#include <xxhash.h>

#include "doit/work_counters.h"

namespace doit {

namespace {

/// Files are hashed in blocks of this size.
constexpr std::size_t kHashBlockSize = 64 * 1024;
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
/// Hex digits in one 64-bit half of a Hash128.
constexpr std::size_t kHexDigitsPerHalf = 16;
constexpr int kBitsPerHexDigit = 4;
constexpr char kHexDigits[] = "0123456789abcdef";
/// The value of the hex digit 'a'.
constexpr int kFirstHexLetterValue = 10;

[[noreturn]] void throw_errno(const std::string& path, int error) {
  throw FsError(path + ": " + std::strerror(error));
}

Hash128 from_xxh(XXH128_hash_t h) { return Hash128{h.high64, h.low64}; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + kFirstHexLetterValue;
  if (c >= 'A' && c <= 'F') return c - 'A' + kFirstHexLetterValue;
  return -1;
}

void append_hex(std::string& out, std::uint64_t value) {
  for (int shift = static_cast<int>(kHexDigitsPerHalf - 1) * kBitsPerHexDigit; shift >= 0;
       shift -= kBitsPerHexDigit) {
    out.push_back(kHexDigits[(value >> shift) & 0xF]);
  }
}

bool parse_hex_half(const char* text, std::uint64_t* out) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < kHexDigitsPerHalf; ++i) {
    const int digit = hex_value(text[i]);
    if (digit < 0) return false;
    value = (value << kBitsPerHexDigit) | static_cast<std::uint64_t>(digit);
  }
  *out = value;
  return true;
}

/// Closes a file descriptor when it goes out of scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

struct XxhStateDeleter {
  void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
};

}  // namespace

std::string Hash128::hex() const {
  std::string out;
  out.reserve(2 * kHexDigitsPerHalf);
  append_hex(out, high);
  append_hex(out, low);
  return out;
}

bool Hash128::from_hex(const std::string& text, Hash128* out) {
  if (text.size() != 2 * kHexDigitsPerHalf) return false;
  Hash128 parsed;
  if (!parse_hex_half(text.data(), &parsed.high) ||
      !parse_hex_half(text.data() + kHexDigitsPerHalf, &parsed.low)) {
    return false;
  }
  *out = parsed;
  return true;
}

bool read_small_file(const std::string& path, std::string* out) {
  out->clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  FdCloser closer(fd);
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out->append(buffer, static_cast<size_t>(n));
  }
}

FileStat RealFileSystem::stat(const std::string& path) const {
  work::add(work::Counter::kStat);
  // lstat() first: as cheap as stat(), and it tells a symlink (then stat()
  // follows it).
  struct ::stat st;
  bool symlink = false;
  int rc = ::lstat(path.c_str(), &st);
  if (rc == 0 && S_ISLNK(st.st_mode)) {
    symlink = true;
    rc = ::stat(path.c_str(), &st);
  }
  if (rc != 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR || error == ELOOP) return FileStat{};
    throw_errno(path, error);
  }
  FileStat result;
  result.exists = true;
  result.via_symlink = symlink;
  result.hard_linked = st.st_nlink > 1 && !S_ISDIR(st.st_mode);
  result.is_dir = S_ISDIR(st.st_mode);
  result.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * kNanosPerSecond +
                    static_cast<std::int64_t>(st.st_mtim.tv_nsec);
  result.size = static_cast<std::int64_t>(st.st_size);
  return result;
}

Hash128 RealFileSystem::hash(const std::string& path) const {
  work::add(work::Counter::kHash);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno(path, errno);
  FdCloser closer(fd);

  // One state and one block a thread, kept: a build hashes each file_dep
  // of each task that ran, mostly small files, and zeroing a new 64 KiB
  // block for each cost more than hashing the file.
  thread_local const std::unique_ptr<XXH3_state_t, XxhStateDeleter> state(XXH3_createState());
  thread_local const std::unique_ptr<char[]> buffer(new char[kHashBlockSize]);
  if (!state || XXH3_128bits_reset(state.get()) != XXH_OK) {
    throw FsError(path + ": cannot allocate the hash state");
  }
  const std::span<char> block(buffer.get(), kHashBlockSize);
  for (;;) {
    const ssize_t n = ::read(fd, block.data(), block.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(path, errno);  // a directory gives EISDIR here
    }
    if (n == 0) break;
    XXH3_128bits_update(state.get(), block.data(), static_cast<std::size_t>(n));
  }
  return from_xxh(XXH3_128bits_digest(state.get()));
}

void FakeFileSystem::write(const std::string& path, const std::string& content,
                           std::int64_t mtime_ns) {
  files_[path] = Entry{content, mtime_ns};
}

void FakeFileSystem::touch(const std::string& path, std::int64_t mtime_ns) {
  files_[path].mtime_ns = mtime_ns;  // creates an empty file if missing
}

void FakeFileSystem::remove(const std::string& path) { files_.erase(path); }

FileStat FakeFileSystem::stat(const std::string& path) const {
  const auto it = files_.find(path);
  if (it == files_.end()) return FileStat{};
  FileStat result;
  result.exists = true;
  result.mtime_ns = it->second.mtime_ns;
  result.size = static_cast<std::int64_t>(it->second.content.size());
  return result;
}

Hash128 FakeFileSystem::hash(const std::string& path) const {
  const auto it = files_.find(path);
  if (it == files_.end()) throw_errno(path, ENOENT);
  ++hash_calls_;
  return hash_bytes(it->second.content);
}

Hash128 hash_bytes(const std::string& data) {
  return from_xxh(XXH3_128bits(data.data(), data.size()));
}

}  // namespace doit

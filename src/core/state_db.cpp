#include "doit/state_db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <new>
#include <numeric>
#include <set>
#include <string_view>
#include <thread>

#include <sqlite3.h>

#include "doit/fs.h"
#include "doit/json.h"
#include "doit/work_counters.h"

// Schema (version 1):
//   doit_meta(key TEXT PRIMARY KEY, value TEXT)   -- ('schema_version', '1')
//   tasks(name TEXT PRIMARY KEY, checker TEXT NOT NULL, deps BLOB,
//         values_json TEXT NOT NULL, result_json TEXT,
//         ignored INTEGER NOT NULL DEFAULT 0,
//         has_success INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID
//
// tasks.deps holds the (path, signature) list in a compact binary form, all
// integers little-endian, so that 100,000 entries decode in a few
// milliseconds:
//   u32 count
//   count times: u32 path_length, path bytes (UTF-8, no terminator),
//                i64 mtime_ns, i64 size, u64 hash.high, u64 hash.low
// NULL or an empty blob is the empty list.

namespace doit {

namespace {

/// Every SQLite 3 file starts with these 16 bytes (the last one is NUL).
constexpr std::string_view kSqliteHeader{"SQLite format 3\0", 16};
/// How much of an unknown file is read to tell what it is.
constexpr std::size_t kProbeBytes = 4096;
/// The SQLite file header (https://www.sqlite.org/fileformat.html): its
/// size, and the big-endian fields that tell how long the file must be.
constexpr std::size_t kSqliteHeaderBytes = 100;
constexpr std::size_t kPageSizeOffset = 16;  // u16; 1 means 65536
constexpr std::size_t kPageSizeBytes = 2;
constexpr std::size_t kChangeCounterOffset = 24;    // u32
constexpr std::size_t kPageCountOffset = 28;        // u32, valid if the next two agree
constexpr std::size_t kVersionValidForOffset = 92;  // u32
constexpr std::uint32_t kPageSizeOneMeans = 65536;
/// How long a write waits for another process holding the database.
constexpr int kBusyTimeoutMs = 5000;
/// Pauses between the retries of exec_waiting, doubling up to the longest.
constexpr std::chrono::milliseconds kFirstBusyPause{2};
constexpr std::chrono::milliseconds kLongestBusyPause{100};
/// gdbm's magic numbers (old, 32-bit, 64-bit, and the numsync variants).
constexpr std::uint32_t kGdbmMagics[] = {0x13579ace, 0x13579acd, 0x13579acf, 0x13579ad0,
                                         0x13579ad1};
constexpr int kBitsPerByte = 8;
constexpr std::size_t kU32Bytes = 4;
constexpr std::size_t kU64Bytes = 8;
/// mtime, size, hash.high, hash.low.
constexpr std::size_t kSignatureBytes = 4 * kU64Bytes;
constexpr unsigned kByteMask = 0xFF;

using Deps = std::vector<std::pair<std::string, FileSignature>>;
/// A record's paths are at most this long in all (offsets are 32-bit).
constexpr std::size_t kMaxRecordText = std::numeric_limits<std::uint32_t>::max();

// ----- messages --------------------------------------------------------------

std::string quoted(const std::string& path) { return "'" + path + "'"; }

std::string foreign_message(const std::string& path, std::string_view kind) {
  return quoted(path) + " is not a doit-cpp state database (it looks like " + std::string(kind) +
         "). doit-cpp keeps its own state; it will not overwrite this file.\n"
         "Move it aside, or choose another file with --db-file.";
}

std::string corrupt_message(const std::string& path, std::string_view detail) {
  return quoted(path) + " is damaged (" + std::string(detail) +
         "); doit-cpp cannot read its state.\nMove it aside (doit-cpp will start a fresh one, "
         "and every task will run again), or choose another file with --db-file.";
}

std::string permission_message(const std::string& path, std::string_view doing,
                               std::string_view detail) {
  return quoted(path) + ": cannot " + std::string(doing) + " (" + std::string(detail) +
         ").\ndoit-cpp must be able to write the state file and the folder that holds it "
         "(SQLite keeps " +
         quoted(path + "-wal") + " and " + quoted(path + "-shm") +
         " beside it).\nFix the permissions, or choose another file with --db-file.";
}

/// The folder that holds `path`.
std::string folder_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

/// SQLite could not open the file or the files beside it: says which of
/// the likely causes it is (its errno is often that of its last attempt).
std::string cannot_open_message(const std::string& path, std::string_view doing,
                                const std::string& detail, int system_errno) {
  const std::string folder = folder_of(path);
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return quoted(path) + ": cannot " + std::string(doing) + " (" + detail + "): the folder " +
           quoted(folder) + " does not exist.\nCreate it, or choose another file with --db-file.";
  }
  if (system_errno == EACCES || system_errno == EPERM || system_errno == EROFS) {
    return permission_message(path, doing, detail);
  }
  if (::access(folder.c_str(), W_OK | X_OK) != 0 ||
      (::access(path.c_str(), F_OK) == 0 && ::access(path.c_str(), R_OK | W_OK) != 0)) {
    return permission_message(path, doing, std::strerror(EACCES));
  }
  return quoted(path) + ": cannot " + std::string(doing) + " (" + detail +
         ").\nChoose another file with --db-file if this persists.";
}

/// Turns a SQLite failure into the error the user sees. `system_errno` is
/// the OS error behind it, if any.
[[noreturn]] void fail(const std::string& path, int rc, const std::string& sqlite_message,
                       std::string_view doing, int system_errno = 0) {
  std::string detail = sqlite_message;
  if (system_errno != 0) detail += std::string(": ") + std::strerror(system_errno);
  switch (rc & kByteMask) {  // the primary result code
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      throw StateDbError(corrupt_message(path, sqlite_message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw StateDbError(quoted(path) + " is locked by another process (waited " +
                         std::to_string(kBusyTimeoutMs) + " ms to " + std::string(doing) + ": " +
                         sqlite_message +
                         ").\nLet the other doit finish, or choose another file with --db-file.");
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      throw StateDbError(permission_message(path, doing, detail));
    case SQLITE_CANTOPEN:
      throw StateDbError(cannot_open_message(path, doing, detail, system_errno));
    case SQLITE_FULL:
      throw StateDbError(quoted(path) + ": cannot " + std::string(doing) + " (" + detail +
                         ").\nFree some space, or choose another file with --db-file.");
    default:
      throw StateDbError(quoted(path) + ": cannot " + std::string(doing) + " (" + detail +
                         ").\nChoose another file with --db-file if this persists.");
  }
}

[[noreturn]] void fail(sqlite3* db, const std::string& path, int rc, std::string_view doing) {
  if (db == nullptr) fail(path, rc, sqlite3_errstr(rc), doing);
  fail(path, rc, sqlite3_errmsg(db), doing, sqlite3_system_errno(db));
}

// ----- small RAII wrappers ---------------------------------------------------

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

Connection open_connection(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) fail(raw, path, rc, "open it");
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  work::count_statements(db.get());
  return db;
}

Statement prepare(sqlite3* db, const std::string& path, std::string_view sql, unsigned flags = 0) {
  sqlite3_stmt* raw = nullptr;
  const int rc =
      sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), flags, &raw, nullptr);
  Statement statement(raw);
  if (rc != SQLITE_OK) fail(db, path, rc, "read it");
  return statement;
}

void exec(sqlite3* db, const std::string& path, const char* sql, std::string_view doing) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(db, path, rc, doing);
}

/// exec() that retries SQLITE_BUSY for up to kBusyTimeoutMs. SQLite's busy
/// handler does not cover every lock: switching a new file to WAL, or
/// another process doing so at the same moment, fails at once. A
/// transaction `sql` began is rolled back before the next try.
void exec_waiting(sqlite3* db, const std::string& path, const char* sql, std::string_view doing) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  std::chrono::milliseconds pause = kFirstBusyPause;
  for (;;) {
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return;
    if (sqlite3_get_autocommit(db) == 0) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    if ((rc & kByteMask) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) {
      fail(db, path, rc, doing);
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, kLongestBusyPause);
  }
}

/// Steps a statement that returns no rows, then resets it for the next use.
void step_to_done(sqlite3* db, const std::string& path, sqlite3_stmt* statement,
                  std::string_view doing) {
  const int rc = sqlite3_step(statement);
  const std::string message = rc == SQLITE_DONE ? std::string() : sqlite3_errmsg(db);
  const int system_errno = rc == SQLITE_DONE ? 0 : sqlite3_system_errno(db);
  sqlite3_reset(statement);
  sqlite3_clear_bindings(statement);
  if (rc != SQLITE_DONE) fail(path, rc, message, doing, system_errno);
}

std::string column_string(sqlite3_stmt* statement, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
  if (text == nullptr) return std::string();
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(statement, column)));
}

/// The text of a column, valid until the row changes.
std::string_view column_view(sqlite3_stmt* statement, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
  if (text == nullptr) return {};
  return {text, static_cast<std::size_t>(sqlite3_column_bytes(statement, column))};
}

/// The bytes of a BLOB column, valid until the row changes.
std::string_view column_blob(sqlite3_stmt* statement, int column) {
  const auto* blob = static_cast<const char*>(sqlite3_column_blob(statement, column));
  if (blob == nullptr) return {};
  return {blob, static_cast<std::size_t>(sqlite3_column_bytes(statement, column))};
}

void bind_text(sqlite3_stmt* statement, int index, std::string_view text) {
  sqlite3_bind_text64(statement, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

// ----- the deps blob ---------------------------------------------------------

void put_u32(std::string& out, std::uint32_t value) {
  for (std::size_t i = 0; i < kU32Bytes; ++i) {
    out.push_back(static_cast<char>((value >> (i * kBitsPerByte)) & kByteMask));
  }
}

void put_u64(std::string& out, std::uint64_t value) {
  for (std::size_t i = 0; i < kU64Bytes; ++i) {
    out.push_back(static_cast<char>((value >> (i * kBitsPerByte)) & kByteMask));
  }
}

std::string encode_deps(const std::string& path, const Deps& deps) {
  constexpr std::size_t kMaxCount = std::numeric_limits<std::uint32_t>::max();
  if (deps.size() > kMaxCount) throw StateDbError(quoted(path) + ": too many file_dep entries");
  std::size_t total = kU32Bytes;
  std::size_t text_bytes = 0;
  for (const auto& [dep, signature] : deps) {
    text_bytes += dep.size();
    total += kU32Bytes + dep.size() + kSignatureBytes;
  }
  if (text_bytes > kMaxRecordText) throw StateDbError(quoted(path) + ": file_dep paths too long");
  std::string out;
  out.reserve(total);
  put_u32(out, static_cast<std::uint32_t>(deps.size()));
  for (const auto& [dep, signature] : deps) {
    put_u32(out, static_cast<std::uint32_t>(dep.size()));
    out += dep;
    put_u64(out, static_cast<std::uint64_t>(signature.mtime_ns));
    put_u64(out, static_cast<std::uint64_t>(signature.size));
    put_u64(out, signature.hash.high);
    put_u64(out, signature.hash.low);
  }
  return out;
}

/// Reads the deps blob: first its shape (how many entries, how many bytes
/// of paths), then its entries.
class DepsReader {
 public:
  explicit DepsReader(std::string_view blob)
      : data_(reinterpret_cast<const unsigned char*>(blob.data())), size_(blob.size()) {}

  /// Walks the whole blob; false when it is truncated or too long, or its
  /// paths too long for one record.
  bool measure(std::uint32_t* count, std::size_t* text_bytes) {
    *count = 0;
    *text_bytes = 0;
    if (size_ == 0) return true;
    if (!u32(count)) return false;
    // Each entry takes at least its length and signature: a bad count fails early.
    if (*count > (size_ - pos_) / (kU32Bytes + kSignatureBytes)) return false;
    for (std::uint32_t i = 0; i < *count; ++i) {
      std::uint32_t length = 0;
      if (!u32(&length) || size_ - pos_ < length + kSignatureBytes) return false;
      pos_ += length + kSignatureBytes;
      *text_bytes += length;
    }
    const bool whole = pos_ == size_ && *text_bytes <= kMaxRecordText;
    pos_ = 0;
    return whole;
  }

  /// The next entry of a blob measure() accepted (the count read first).
  std::string_view next(FileSignature* signature) {
    if (pos_ == 0) pos_ = kU32Bytes;
    std::uint32_t length = 0;
    u32(&length);
    const std::string_view path(reinterpret_cast<const char*>(data_ + pos_), length);
    pos_ += length;
    std::uint64_t mtime = 0, size = 0;
    u64(&mtime);
    u64(&size);
    u64(&signature->hash.high);
    u64(&signature->hash.low);
    signature->mtime_ns = static_cast<std::int64_t>(mtime);
    signature->size = static_cast<std::int64_t>(size);
    return path;
  }

 private:
  template <typename T>
  bool little_endian(T* out) {
    if (size_ - pos_ < sizeof(T)) return false;
    T value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      value |= static_cast<T>(data_[pos_ + i]) << (i * kBitsPerByte);
    }
    pos_ += sizeof(T);
    *out = value;
    return true;
  }
  bool u32(std::uint32_t* out) { return little_endian(out); }
  bool u64(std::uint64_t* out) { return little_endian(out); }

  const unsigned char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// ----- telling our files from others -----------------------------------------

bool is_gdbm(std::string_view bytes) {
  if (bytes.size() < kU32Bytes) return false;
  std::uint32_t little = 0, big = 0;
  for (std::size_t i = 0; i < kU32Bytes; ++i) {
    const auto byte = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
    little |= byte << (i * kBitsPerByte);
    big = (big << kBitsPerByte) | byte;
  }
  return std::any_of(std::begin(kGdbmMagics), std::end(kGdbmMagics),
                     [&](std::uint32_t magic) { return magic == little || magic == big; });
}

std::string_view foreign_kind(std::string_view bytes) {
  if (is_gdbm(bytes)) return "pydoit's dbm (gdbm) format";
  const auto first = bytes.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && bytes[first] == '{') return "pydoit's json format";
  return "an unknown format";
}

std::uint32_t big_endian(std::string_view bytes, std::size_t offset, std::size_t size) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < size; ++i) {
    value = (value << kBitsPerByte) | static_cast<unsigned char>(bytes[offset + i]);
  }
  return value;
}

/// Throws if a SQLite file is shorter than its header says (SQLite itself
/// would read the missing end as empty pages and lose records silently).
/// `bytes` is the start of the file, `file_size` its size.
void check_not_truncated(const std::string& path, std::string_view bytes, off_t file_size) {
  if (bytes.size() < kSqliteHeaderBytes) {
    throw StateDbError(corrupt_message(
        path, "truncated: " + std::to_string(file_size) + " bytes, shorter than its header"));
  }
  // The page count in the header is only kept up to date when these agree.
  if (big_endian(bytes, kChangeCounterOffset, kU32Bytes) !=
      big_endian(bytes, kVersionValidForOffset, kU32Bytes)) {
    return;
  }
  std::uint64_t page_size = big_endian(bytes, kPageSizeOffset, kPageSizeBytes);
  if (page_size == 1) page_size = kPageSizeOneMeans;
  const std::uint64_t expected = page_size * big_endian(bytes, kPageCountOffset, kU32Bytes);
  if (static_cast<std::uint64_t>(file_size) >= expected) return;
  // After a crash the newest pages may still be in the write-ahead log only,
  // or a rollback journal may be about to restore an older, shorter file.
  for (const char* beside : {"-wal", "-journal"}) {
    struct stat log {};
    if (::stat((path + beside).c_str(), &log) == 0 && log.st_size > 0) return;
  }
  throw StateDbError(corrupt_message(path, "truncated: " + std::to_string(file_size) + " of the " +
                                               std::to_string(expected) +
                                               " bytes its header announces"));
}

/// Reads the start of `path`: false if it is missing or empty (a new
/// database), true if it is a SQLite file; throws if it is anything else.
bool probe_is_sqlite(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) return false;
    if (error == EACCES || error == EPERM) {
      throw StateDbError(permission_message(path, "read it", std::strerror(error)));
    }
    throw StateDbError(quoted(path) + ": cannot read it: " + std::strerror(error));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) st.st_size = 0;
  std::string bytes(kProbeBytes, '\0');
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + filled, bytes.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      throw StateDbError(quoted(path) + ": cannot read it: " + std::strerror(error));
    }
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  ::close(fd);
  bytes.resize(filled);
  if (bytes.empty()) return false;
  if (bytes.starts_with(kSqliteHeader) || kSqliteHeader.starts_with(bytes)) {
    check_not_truncated(path, bytes, st.st_size);
    return true;
  }
  const std::string_view kind = foreign_kind(bytes);
  throw ForeignStateError(foreign_message(path, kind), kind.starts_with("pydoit"));
}

void check_schema_version(const std::string& path, const std::string& text) {
  int version = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (error != std::errc() || end != text.data() + text.size() || version < 1) {
    throw StateDbError(corrupt_message(path, "unreadable schema version '" + text + "'"));
  }
  if (version > StateDb::kSchemaVersion) {
    throw StateDbError(
        quoted(path) + " was written by a newer doit-cpp (schema " + std::to_string(version) +
        "; this one reads " + std::to_string(StateDb::kSchemaVersion) +
        ").\nUse that doit-cpp, move the file aside to start a fresh one (every task "
        "will run again), or choose another file with --db-file.");
  }
}

/// Adds the names of the tables in `db` to `tables`; returns SQLITE_DONE or
/// the error code.
int read_table_names(sqlite3* db, std::set<std::string>* tables) {
  constexpr std::string_view kSql = "SELECT name FROM sqlite_master WHERE type = 'table'";
  sqlite3_stmt* raw = nullptr;
  const int prepared =
      sqlite3_prepare_v2(db, kSql.data(), static_cast<int>(kSql.size()), &raw, nullptr);
  Statement list(raw);
  if (prepared != SQLITE_OK) return prepared;
  int rc;
  while ((rc = sqlite3_step(list.get())) == SQLITE_ROW) {
    tables->insert(column_string(list.get(), 0));
  }
  return rc;
}

/// Whether this process may write `path` and create files beside it.
bool may_write_beside(const std::string& path) {
  return ::access(path.c_str(), W_OK) == 0 && ::access(folder_of(path).c_str(), W_OK | X_OK) == 0;
}

/// Whether the file on disk holds every commit: no write-ahead log with pages
/// not yet copied back, no rollback journal to play back.
bool complete_on_disk(const std::string& path) {
  for (const char* beside : {"-wal", "-journal"}) {
    struct stat st {};
    if (::stat((path + beside).c_str(), &st) == 0 && st.st_size > 0) return false;
  }
  return true;
}

/// `path` as an SQLite URI that reads the file as it is, without locks or a
/// `-shm` file (only for a file nobody may change: see complete_on_disk).
std::string immutable_uri(const std::string& path) {
  std::string uri = "file:";
  for (const char c : std::filesystem::absolute(path).string()) {
    if (c == '?' || c == '#' || c == '%') {
      constexpr char kHex[] = "0123456789ABCDEF";
      constexpr unsigned kNibble = 4;
      constexpr unsigned kLowNibble = 0xF;
      const auto byte = static_cast<unsigned char>(c);
      uri += '%';
      uri += kHex[byte >> kNibble];
      uri += kHex[byte & kLowNibble];
    } else {
      uri += c;
    }
  }
  return uri + "?immutable=1";
}

/// Looks inside an existing SQLite file without writing to it: true if it
/// holds our schema, false if it is empty; throws if it belongs to someone else.
/// Except after a crash in the middle of a write (a hot rollback journal, a
/// write-ahead log to replay): only a writer may recover the file, and SQLite
/// then restores its last committed state before anything is read.
/// With `reader`, the connection that read it is kept there, to read the rest:
/// a read-write one when this process may write (only a writer removes the
/// `-wal` and `-shm` files when it closes), else a read-only one, or, when
/// SQLite cannot read so (no `-shm` can be made), the file as it is on disk.
bool probe_has_our_schema(const std::string& path, Connection* reader = nullptr) {
  const bool may_write = reader == nullptr || may_write_beside(path);
  Connection db =
      open_connection(path, may_write && reader ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY);
  std::set<std::string> tables;
  int rc = read_table_names(db.get(), &tables);
  const int primary = rc & kByteMask;
  if (!may_write && (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN) &&
      complete_on_disk(path)) {
    db = open_connection(immutable_uri(path), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
    tables.clear();
    rc = read_table_names(db.get(), &tables);
  } else if (primary == SQLITE_READONLY) {
    db = open_connection(path, SQLITE_OPEN_READWRITE);
    tables.clear();
    rc = read_table_names(db.get(), &tables);
  }
  if (rc != SQLITE_DONE) fail(db.get(), path, rc, "read it");

  if (tables.contains("doit_meta")) {
    Statement version =
        prepare(db.get(), path, "SELECT value FROM doit_meta WHERE key = 'schema_version'");
    rc = sqlite3_step(version.get());
    if (rc == SQLITE_DONE) throw StateDbError(corrupt_message(path, "no schema version"));
    if (rc != SQLITE_ROW) fail(db.get(), path, rc, "read it");
    check_schema_version(path, column_string(version.get(), 0));
    version.reset();
    if (reader != nullptr) *reader = std::move(db);
    return true;
  }
  if (tables.contains("doit")) {
    throw ForeignStateError(foreign_message(path, "pydoit's sqlite3 format"), true);
  }
  if (tables.contains("Dict")) {  // Python 3.13's dbm.sqlite3, pydoit's default dbm there
    throw ForeignStateError(foreign_message(path, "pydoit's dbm (sqlite3) format"), true);
  }
  if (!tables.empty()) {
    throw ForeignStateError(foreign_message(path, "the SQLite database of another program"), false);
  }
  return false;
}

/// The schema of a new file; its version is StateDb::kSchemaVersion.
constexpr const char* kSchemaSql =
    "BEGIN IMMEDIATE;"
    "CREATE TABLE IF NOT EXISTS doit_meta(key TEXT PRIMARY KEY, value TEXT);"
    "INSERT OR IGNORE INTO doit_meta(key, value) VALUES('schema_version', '1');"
    "CREATE TABLE IF NOT EXISTS tasks("
    "  name TEXT PRIMARY KEY,"
    "  checker TEXT NOT NULL,"
    "  deps BLOB,"
    "  values_json TEXT NOT NULL,"
    "  result_json TEXT,"
    "  ignored INTEGER NOT NULL DEFAULT 0,"
    "  has_success INTEGER NOT NULL DEFAULT 0"
    ") WITHOUT ROWID;"
    "COMMIT;";
static_assert(StateDb::kSchemaVersion == 1, "kSchemaSql writes schema_version '1'");

/// Creates a missing `path` as an empty file with the mode new files get
/// (0666 less the umask, as pydoit's files and `touch`). SQLite would create
/// it 0644 less the umask, and gives its -wal and -shm files the database's
/// mode. When this fails, SQLite's own attempt reports why.
void create_with_umask(const std::string& path) {
  constexpr mode_t kNewFileMode = 0666;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 || errno != ENOENT) return;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kNewFileMode);
  if (fd >= 0) ::close(fd);
}

/// Whether `text` is valid JSON.
bool is_json(std::string_view text) {
  try {
    Json::parse(text);
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

/// Whether `text` is a JSON object (what every task's values are).
bool is_json_object(std::string_view text) {
  if (text == "{}") return true;  // nearly every task: no need to parse
  try {
    return Json::parse(text).is_object();
  } catch (const std::invalid_argument&) {
    return false;
  }
}

/// Columns of the SELECT in StateDb::load, in order.
enum LoadColumn { kName, kChecker, kDeps, kValuesJson, kResultJson, kIgnored, kHasSuccess };
constexpr std::string_view kLoadSql =
    "SELECT name, checker, deps, values_json, result_json, ignored, has_success FROM tasks";

/// Every statement that names a task takes the name as ?1.
constexpr int kNameParameter = 1;
/// The other parameters of kSaveSuccessSql.
enum SaveParameter {
  kSaveChecker = kNameParameter + 1,
  kSaveDeps,
  kSaveValuesJson,
  kSaveResultJson
};
constexpr std::string_view kSaveSuccessSql =
    "INSERT INTO tasks(name, checker, deps, values_json, result_json, has_success)"
    " VALUES(?1, ?2, ?3, ?4, ?5, 1)"
    " ON CONFLICT(name) DO UPDATE SET checker = excluded.checker, deps = excluded.deps,"
    " values_json = excluded.values_json,"
    " result_json = coalesce(excluded.result_json, tasks.result_json), has_success = 1";
/// The other parameter of kSetIgnoredSql.
constexpr int kIgnoreFlagParameter = kNameParameter + 1;
constexpr std::string_view kSetIgnoredSql =
    "INSERT INTO tasks(name, checker, values_json, ignored) VALUES(?1, '', '{}', ?2)"
    " ON CONFLICT(name) DO UPDATE SET ignored = excluded.ignored";

}  // namespace

// ----- DepList and TaskRecord ----------------------------------------------------

const FileSignature* DepList::find(std::string_view path) const {
  const char* paths = text();
  const std::uint32_t* ends = path_ends();
  if (indexed()) {
    const std::uint32_t* first = order();
    const std::uint32_t* last = first + count_;
    const std::uint32_t* it = std::lower_bound(
        first, last, path,
        [this](std::uint32_t index, std::string_view key) { return at(index).path < key; });
    if (it != last && at(*it).path == path) return &signatures_[*it];
    return nullptr;
  }
  std::uint32_t start = 0;
  for (std::uint32_t i = 0; i < count_; ++i) {
    const std::uint32_t end = ends[i];
    if (end - start == path.size() && std::memcmp(paths + start, path.data(), path.size()) == 0) {
      return &signatures_[i];
    }
    start = end;
  }
  return nullptr;
}

TaskRecord::TaskRecord(std::string_view checker, const Deps& deps, std::string_view values_json,
                       std::optional<std::string_view> result_json)
    : TaskRecord(*decode(encode_deps("", deps), checker, values_json, result_json)) {}

std::optional<TaskRecord> TaskRecord::decode(std::string_view deps_blob, std::string_view checker,
                                             std::string_view values_json,
                                             std::optional<std::string_view> result_json) {
  DepsReader reader(deps_blob);
  std::uint32_t count = 0;
  std::size_t path_bytes = 0;
  if (!reader.measure(&count, &path_bytes)) return std::nullopt;

  // The usual texts are constants: nothing to copy.
  TaskRecord record;
  for (const Checker known : {Checker::kContent, Checker::kTimestamp}) {
    if (checker == checker_name(known)) record.checker = checker_name(known);
  }
  const bool own_checker = !checker.empty() && record.checker.empty();
  const bool own_values = values_json != kNoValues;
  const bool indexed = count > DepList::kLinearLookupLimit;
  const std::size_t signature_bytes = count * sizeof(FileSignature);
  const std::size_t index_bytes = (indexed ? 2 : 1) * count * sizeof(std::uint32_t);
  const std::size_t text_bytes = path_bytes + (own_checker ? checker.size() : 0) +
                                 (own_values ? values_json.size() : 0) +
                                 (result_json ? result_json->size() : 0);
  if (signature_bytes + index_bytes + text_bytes == 0) {
    record.result_json = result_json;  // empty: no need to own it
    return record;
  }
  record.storage_ =
      std::make_unique_for_overwrite<std::byte[]>(signature_bytes + index_bytes + text_bytes);
  std::byte* storage = record.storage_.get();
  // The signatures come first: the block is aligned for them.
  auto* signatures = reinterpret_cast<FileSignature*>(storage);
  auto* ends = reinterpret_cast<std::uint32_t*>(storage + signature_bytes);
  char* text = reinterpret_cast<char*>(storage + signature_bytes + index_bytes);
  std::uint32_t end = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    FileSignature signature;
    const std::string_view path = reader.next(&signature);
    new (&signatures[i]) FileSignature(signature);
    std::memcpy(text + end, path.data(), path.size());
    end += static_cast<std::uint32_t>(path.size());
    ends[i] = end;
  }
  record.deps = DepList(signatures, count);
  if (indexed) {
    std::uint32_t* order = ends + count;
    std::iota(order, order + count, 0U);
    const DepList& deps = record.deps;
    std::stable_sort(order, order + count, [&deps](std::uint32_t a, std::uint32_t b) {
      return deps.at(a).path < deps.at(b).path;
    });
  }
  char* next = text + end;
  auto own = [&next](std::string_view source) {
    std::memcpy(next, source.data(), source.size());
    const std::string_view copy(next, source.size());
    next += source.size();
    return copy;
  };
  if (own_checker) record.checker = own(checker);
  if (own_values) record.values_json = own(values_json);
  if (result_json) record.result_json = own(*result_json);
  return record;
}

// ----- StateDb -----------------------------------------------------------------

struct StateDb::Statements {
  Statement begin;
  Statement commit;
  Statement rollback;
  Statement save_success;
  Statement remove;
  Statement set_ignored;
  Statement remove_all;

  /// Runs `mutation` (already bound) in its own short write transaction.
  void run_in_transaction(sqlite3* db, const std::string& path, sqlite3_stmt* mutation) {
    constexpr std::string_view kDoing = "write to it";
    step_to_done(db, path, begin.get(), kDoing);
    try {
      step_to_done(db, path, mutation, kDoing);
      step_to_done(db, path, commit.get(), kDoing);
    } catch (...) {
      sqlite3_step(rollback.get());
      sqlite3_reset(rollback.get());
      throw;
    }
  }
};

std::unique_ptr<StateDb> StateDb::open(const std::string& path) {
  // Look before touching: a foreign file is never opened for writing.
  const bool has_schema = probe_is_sqlite(path) && probe_has_our_schema(path);
  create_with_umask(path);

  Connection connection =
      open_connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  std::unique_ptr<StateDb> state(new StateDb(path, connection.get()));
  connection.release();  // now closed by ~StateDb
  sqlite3* db = state->db_;
  // SQLite opens a file it may not write read-only, and would fail only at
  // the first record, after a task ran: fail now.
  if (sqlite3_db_readonly(db, "main") == 1) {
    throw StateDbError(permission_message(path, "write to it", std::strerror(EACCES)));
  }
  exec_waiting(db, path, "PRAGMA journal_mode = WAL", "set it up");
  exec(db, path, "PRAGMA synchronous = NORMAL", "set it up");
  if (!has_schema) exec_waiting(db, path, kSchemaSql, "create it");
  state->prepare_writes();
  state->load();
  return state;
}

std::optional<std::int64_t> StateDb::last_written(const std::string& path) {
  const RealFileSystem disk;
  std::optional<std::int64_t> newest;
  for (const char* beside : {"", "-wal"}) {
    try {
      const FileStat st = disk.stat(path + beside);
      if (st.exists && (!newest || st.mtime_ns > *newest)) newest = st.mtime_ns;
    } catch (const FsError&) {  // opening the state reports the problem
    }
  }
  return newest;
}

std::unique_ptr<StateDb> StateDb::open_in_memory(const std::string& name) {
  Connection connection = open_connection(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                                          SQLITE_OPEN_MEMORY | SQLITE_OPEN_NOMUTEX);
  std::unique_ptr<StateDb> state(new StateDb(name, connection.get()));
  connection.release();  // now closed by ~StateDb
  exec(state->db_, name, kSchemaSql, "create it");
  state->prepare_writes();
  return state;
}

void StateDb::prepare_writes() {
  sqlite3* db = db_;
  const std::string& path = path_;
  Statements& s = *statements_;
  auto prepare_kept = [&](std::string_view sql) {
    return prepare(db, path, sql, SQLITE_PREPARE_PERSISTENT);
  };
  s.begin = prepare_kept("BEGIN IMMEDIATE");
  s.commit = prepare_kept("COMMIT");
  s.rollback = prepare_kept("ROLLBACK");
  s.save_success = prepare_kept(kSaveSuccessSql);
  s.remove = prepare_kept("DELETE FROM tasks WHERE name = ?1");
  s.set_ignored = prepare_kept(kSetIgnoredSql);
  s.remove_all = prepare_kept("DELETE FROM tasks");
}

std::unique_ptr<StateDb> StateDb::open_for_reading(const std::string& path) {
  std::unique_ptr<StateDb> state(new StateDb(path, nullptr));
  Connection reader;
  if (probe_is_sqlite(path) && probe_has_our_schema(path, &reader)) {
    state->db_ = reader.release();  // now closed by ~StateDb
    state->load();
  }
  return state;
}

bool StateDb::writable() const { return db_ != nullptr && statements_->begin; }

void StateDb::require_writable() const {
  if (db_ == nullptr) throw StateDbError(quoted(path_) + ": closed; cannot write to it.");
  if (!statements_->begin) {
    throw StateDbError(quoted(path_) + ": opened for reading only; cannot write to it.");
  }
}

StateDb::StateDb(std::string path, sqlite3* db)
    : path_(std::move(path)), db_(db), statements_(std::make_unique<Statements>()) {}

StateDb::~StateDb() { close(); }

void StateDb::close() {
  if (db_ == nullptr) return;
  // A connection closes only once its statements are finalized.
  statements_ = std::make_unique<Statements>();
  sqlite3_close(db_);
  db_ = nullptr;
}

void StateDb::load() {
  Statement select = prepare(db_, path_, kLoadSql);
  sqlite3_stmt* row = select.get();
  int rc;
  while ((rc = sqlite3_step(row)) == SQLITE_ROW) {
    // doit writes names as TEXT; SQLite keeps a BLOB 'x' apart from the
    // TEXT 'x', so such a row would be one record here but two in the file
    // (and `forget` would leave one of them).
    if (sqlite3_column_type(row, kName) != SQLITE_TEXT) {
      throw StateDbError(corrupt_message(path_, "a task name is not text"));
    }
    std::string name = column_string(row, kName);
    const std::string_view checker = column_view(row, kChecker);
    const std::string_view blob = column_blob(row, kDeps);
    const std::string_view values_json = column_view(row, kValuesJson);
    std::optional<std::string_view> result_json;
    if (sqlite3_column_type(row, kResultJson) != SQLITE_NULL) {
      result_json = column_view(row, kResultJson);
    }
    std::optional<TaskRecord> record = TaskRecord::decode(blob, checker, values_json, result_json);
    if (!record) {
      throw StateDbError(
          corrupt_message(path_, "the file_dep list of task '" + name + "' is malformed"));
    }
    if (!is_json_object(values_json)) {
      throw StateDbError(
          corrupt_message(path_, "the values of task '" + name + "' are not a JSON object"));
    }
    if (result_json && !is_json(*result_json)) {
      throw StateDbError(corrupt_message(path_, "the result of task '" + name + "' is not JSON"));
    }
    record->ignored = sqlite3_column_int(row, kIgnored) != 0;
    record->has_success = sqlite3_column_int(row, kHasSuccess) != 0;
    records_.insert_or_assign(std::move(name), std::move(*record));
  }
  if (rc != SQLITE_DONE) fail(db_, path_, rc, "read it");
  // Everything is in memory now: SQLite's page cache is not needed until a
  // write, which reads the few pages it changes again.
  sqlite3_db_release_memory(db_);
}

const TaskRecord* StateDb::find(const std::string& task) const {
  const auto it = records_.find(task);
  return it == records_.end() ? nullptr : &it->second;
}

void StateDb::save_success(const std::string& task, std::string_view checker, const Deps& deps,
                           std::string_view values_json,
                           std::optional<std::string_view> result_json) {
  require_writable();
  const auto old = records_.find(task);
  const std::string blob = encode_deps(path_, deps);
  sqlite3_stmt* save = statements_->save_success.get();
  bind_text(save, kNameParameter, task);
  bind_text(save, kSaveChecker, checker);
  sqlite3_bind_blob64(save, kSaveDeps, blob.data(), blob.size(), SQLITE_STATIC);
  bind_text(save, kSaveValuesJson, values_json);
  if (result_json) {
    bind_text(save, kSaveResultJson, *result_json);
  } else {  // a NULL keeps the result the file holds
    sqlite3_bind_null(save, kSaveResultJson);
  }
  statements_->run_in_transaction(db_, path_, save);

  // The texts may be views of the old record: copied before it goes.
  if (!result_json && old != records_.end()) result_json = old->second.result_json;
  std::optional<TaskRecord> record = TaskRecord::decode(blob, checker, values_json, result_json);
  if (!record) throw std::logic_error("StateDb::save_success: unreadable deps blob");
  record->ignored = old != records_.end() && old->second.ignored;
  record->has_success = true;
  if (old != records_.end()) {
    old->second = std::move(*record);
  } else {
    records_.emplace(task, std::move(*record));
  }
}

void StateDb::remove(const std::string& task) {
  require_writable();
  sqlite3_stmt* remove = statements_->remove.get();
  bind_text(remove, kNameParameter, task);
  statements_->run_in_transaction(db_, path_, remove);
  records_.erase(task);
}

void StateDb::set_ignored(const std::string& task, bool ignored) {
  require_writable();
  const auto it = records_.find(task);
  if (it == records_.end() && !ignored) return;  // nothing to clear
  sqlite3_stmt* set = statements_->set_ignored.get();
  bind_text(set, kNameParameter, task);
  sqlite3_bind_int(set, kIgnoreFlagParameter, ignored ? 1 : 0);
  statements_->run_in_transaction(db_, path_, set);
  records_[task].ignored = ignored;
}

void StateDb::remove_all() {
  require_writable();
  statements_->run_in_transaction(db_, path_, statements_->remove_all.get());
  records_.clear();
}

std::vector<std::string> StateDb::task_names() const {
  std::vector<std::string> names;
  names.reserve(records_.size());
  for (const auto& [name, record] : records_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace doit

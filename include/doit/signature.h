// File signatures and the two checkers of doit's `check_file_uptodate`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "doit/fs.h"

namespace doit {

/// What is remembered about a file_dep after a successful run.
struct FileSignature {
  std::int64_t mtime_ns = 0;
  std::int64_t size = 0;
  Hash128 hash;
  friend bool operator==(const FileSignature&, const FileSignature&) = default;
};

/// `md5` (content: the default, whatever the hash) or `timestamp` (mtime only).
enum class Checker { kContent, kTimestamp };

/// The class name pydoit stores for the checker ("MD5Checker", "TimestampChecker").
std::string_view checker_name(Checker checker);

/// Parses the `check_file_uptodate` option value; returns false if unknown.
bool parse_checker(std::string_view name, Checker* out);

/// Whether the file changed since `stored` was taken. Content checker: same
/// mtime → unchanged without reading; different size → changed; else compare
/// content hashes. Timestamp checker: any mtime difference.
bool is_modified(Checker checker, const FileSystem& fs, const std::string& path,
                 const FileStat& now, const FileSignature& stored);

/// The signature to store after success. If `previous` has the same mtime it is
/// kept as is (no re-hash). The timestamp checker does not hash.
FileSignature take_signature(Checker checker, const FileSystem& fs, const std::string& path,
                             const FileStat& now, const FileSignature* previous);

}  // namespace doit

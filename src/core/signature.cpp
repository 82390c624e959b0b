#include "doit/signature.h"

namespace doit {

namespace {

constexpr std::string_view kContentCheckerName = "MD5Checker";
constexpr std::string_view kTimestampCheckerName = "TimestampChecker";

}  // namespace

std::string_view checker_name(Checker checker) {
  switch (checker) {
    case Checker::kContent:
      return kContentCheckerName;
    case Checker::kTimestamp:
      return kTimestampCheckerName;
  }
  return kContentCheckerName;
}

bool parse_checker(std::string_view name, Checker* out) {
  if (name == "md5" || name == kContentCheckerName) {
    *out = Checker::kContent;
    return true;
  }
  if (name == "timestamp" || name == kTimestampCheckerName) {
    *out = Checker::kTimestamp;
    return true;
  }
  return false;
}

bool is_modified(Checker checker, const FileSystem& fs, const std::string& path,
                 const FileStat& now, const FileSignature& stored) {
  if (now.mtime_ns == stored.mtime_ns) return false;
  if (checker == Checker::kTimestamp) return true;
  if (now.size != stored.size) return true;
  return fs.hash(path) != stored.hash;
}

FileSignature take_signature(Checker checker, const FileSystem& fs, const std::string& path,
                             const FileStat& now, const FileSignature* previous) {
  if (checker == Checker::kTimestamp) return FileSignature{now.mtime_ns, now.size, Hash128{}};
  if (previous != nullptr && previous->mtime_ns == now.mtime_ns) return *previous;
  return FileSignature{now.mtime_ns, now.size, fs.hash(path)};
}

}  // namespace doit

#include "doit/explain.h"

#include <fmt/format.h>

#include "doit/text.h"

namespace doit {
namespace {

constexpr int kTimestampDigits = 9;

std::string quoted(const std::string& path) { return python_repr(path); }

/// "mtime 2026-... -> 2026-..., size 10 -> 12", the parts that differ.
std::string signature_change(const FileSignature& old, const FileStat& now) {
  std::vector<std::string> parts;
  if (old.mtime_ns != now.mtime_ns) {
    parts.push_back(fmt::format("mtime {} -> {}", utc_timestamp(old.mtime_ns, kTimestampDigits),
                                utc_timestamp(now.mtime_ns, kTimestampDigits)));
  }
  if (old.size != now.size) parts.push_back(fmt::format("size {} -> {}", old.size, now.size));
  if (parts.empty()) parts.emplace_back("content");
  return join(parts, ", ");
}

}  // namespace

std::vector<std::string> explain_reasons(const ExplainInputs& in) {
  const Status& st = in.status;
  std::vector<std::string> out;
  if (in.forced) out.emplace_back("forced by --always");
  if (st.no_dependencies) out.emplace_back("no file_dep and no uptodate: it always runs");
  for (std::string u : st.uptodate_false) {
    constexpr std::string_view kNoArguments = " (args=None, kwargs=None)";
    if (u.ends_with(kNoArguments)) u.resize(u.size() - kNoArguments.size());
    out.push_back("uptodate " + u + " is false");
  }
  for (const std::string& t : st.missing_targets) {
    out.push_back(fmt::format("target {} does not exist", quoted(t)));
  }
  if (!st.checker_changed_from.empty()) {
    out.push_back(fmt::format("the file_dep checker changed from {} to {}", st.checker_changed_from,
                              st.checker_changed_to));
  }
  for (const std::string& f : st.added_files) {
    out.push_back(fmt::format("file_dep {} was added", quoted(f)));
  }
  for (const std::string& f : st.removed_files) {
    out.push_back(fmt::format("file_dep {} was removed", quoted(f)));
  }
  for (const std::string& f : st.missing_files) {
    out.push_back(fmt::format("file_dep {} does not exist", quoted(f)));
  }
  for (const std::string& f : st.unreadable_files) {
    out.push_back(fmt::format("file_dep {} cannot be read", quoted(f)));
  }
  const bool never_ran = in.record == nullptr || in.record->deps.empty();
  if (never_ran && !st.changed_files.empty()) {
    out.emplace_back(in.record == nullptr ? "no record of an earlier run"
                                          : "no file_dep signatures from an earlier run");
    return out;
  }
  for (const std::string& f : st.changed_files) {
    const FileSignature* old = in.record->find_dep(f);
    if (old == nullptr) continue;  // an added file, said above
    FileStat now;
    try {
      now = in.fs.stat(f);
    } catch (const FsError&) {
      now.exists = false;
    }
    out.push_back(
        now.exists ? fmt::format("file_dep {} changed ({})", quoted(f), signature_change(*old, now))
                   : fmt::format("file_dep {} changed", quoted(f)));
  }
  return out;
}

}  // namespace doit

// Fuzzes what doit reads back from .doit.db: arbitrary bytes are written
// into the rows of a real state database (task names, checker, the deps
// blob, values and result JSON, the flags, the schema version), then the
// file is opened for reading and for writing, and every record goes through
// the read paths of a run (the up-to-date check with its explanation, the
// saved values). A bad file must be a StateDbError; a record that opened
// must be saved and read back intact.
#include <fuzzer/FuzzedDataProvider.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "doit/explain.h"
#include "doit/fs.h"
#include "doit/json.h"
#include "doit/state_db.h"
#include "doit/task.h"
#include "doit/uptodate.h"

namespace {

using namespace doit;

/// A fresh state file in a private temporary folder, created once.
const std::string& state_path() {
  static const std::string path = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/doit-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    const std::string file = pattern + "/.doit.db";
    StateDb::open(file);  // our schema
    return file;
  }();
  return path;
}

/// A connection of our own that writes the rows as the fuzzer says.
sqlite3* raw_connection() {
  static sqlite3* db = [] {
    sqlite3* opened = nullptr;
    if (sqlite3_open(state_path().c_str(), &opened) != SQLITE_OK) std::abort();
    return opened;
  }();
  return db;
}

void exec(const char* sql) {
  if (sqlite3_exec(raw_connection(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) std::abort();
}

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

/// A deps blob: mostly well-formed (to reach what is behind the decoding),
/// with a count or a length the fuzzer may get wrong, or raw bytes.
std::string deps_blob(FuzzedDataProvider& in) {
  if (in.ConsumeBool()) return in.ConsumeRandomLengthString(256);
  std::string blob;
  const auto count = in.ConsumeIntegralInRange<std::uint32_t>(0, 6);
  put_le(blob, in.ConsumeBool() ? count : in.ConsumeIntegral<std::uint32_t>(), 4);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::string path = in.ConsumeRandomLengthString(40);
    put_le(blob, in.ConsumeBool() ? path.size() : in.ConsumeIntegral<std::uint32_t>(), 4);
    blob += path;
    for (int field = 0; field < 4; ++field) put_le(blob, in.ConsumeIntegral<std::uint64_t>(), 8);
  }
  return blob;
}

/// Binds `bytes` as TEXT or as a BLOB (a file written by another program may hold either).
void bind_bytes(sqlite3_stmt* s, int index, const std::string& bytes, bool as_blob) {
  if (as_blob) {
    sqlite3_bind_blob64(s, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_text64(s, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
}

void write_rows(FuzzedDataProvider& in) {
  exec("DELETE FROM tasks");
  exec("INSERT OR REPLACE INTO doit_meta(key, value) VALUES('schema_version', '1')");
  if (in.ConsumeBool() && in.ConsumeBool()) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(raw_connection(), "UPDATE doit_meta SET value = ?1", -1, &s, nullptr);
    bind_bytes(s, 1, in.ConsumeRandomLengthString(12), in.ConsumeBool());
    sqlite3_step(s);
    sqlite3_finalize(s);
  }
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(raw_connection(),
                     "INSERT OR REPLACE INTO tasks(name, checker, deps, values_json, result_json,"
                     " ignored, has_success) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                     -1, &s, nullptr);
  const int rows = in.ConsumeIntegralInRange(1, 3);
  for (int row = 0; row < rows; ++row) {
    bind_bytes(s, 1, in.ConsumeRandomLengthString(24), in.ConsumeBool());
    bind_bytes(s, 2, in.ConsumeBool() ? "MD5Checker" : in.ConsumeRandomLengthString(16),
               in.ConsumeBool());
    const std::string blob = deps_blob(in);
    if (in.ConsumeBool()) {
      sqlite3_bind_null(s, 3);
    } else {
      bind_bytes(s, 3, blob, !in.ConsumeBool());
    }
    bind_bytes(s, 4, in.ConsumeBool() ? "{}" : in.ConsumeRandomLengthString(64), in.ConsumeBool());
    if (in.ConsumeBool()) {
      sqlite3_bind_null(s, 5);
    } else {
      bind_bytes(s, 5, in.ConsumeRandomLengthString(64), in.ConsumeBool());
    }
    sqlite3_bind_int64(s, 6, in.ConsumeIntegral<std::int64_t>());
    sqlite3_bind_int64(s, 7, in.ConsumeIntegral<std::int64_t>());
    sqlite3_step(s);
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
}

/// What a run and `info` do with a record: the up-to-date check (explained)
/// against files that exist, changed or are missing, and the saved values.
void use_record(const std::string& name, const TaskRecord& record) {
  FakeFileSystem fs;
  Task task;
  task.name = name;
  int i = 0;
  for (const auto& [dep, signature] : record.deps) {
    const std::string path(dep);
    task.file_dep.emplace_back(path);
    if (i % 3 == 0) fs.write(path, "content", signature.mtime_ns);
    if (i % 3 == 1) fs.write(path, "other", signature.mtime_ns + 1);
    ++i;
  }
  task.file_dep.push_back("added.txt");
  fs.write("added.txt", "x", 1);
  for (const Checker checker : {Checker::kContent, Checker::kTimestamp}) {
    const Status status =
        check_status({task, &record, checker, fs, [](const std::string&) { return true; }, true});
    explain_reasons({task, status, &record, fs, false});
  }
  record.find_dep("added.txt");
  const Json values = Json::parse(record.values_json);  // checked JSON object at open
  if (!values.is_object()) __builtin_trap();
  if (record.result_json) Json::parse(*record.result_json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  write_rows(in);
  std::unique_ptr<StateDb> reading;
  try {
    reading = StateDb::open_for_reading(state_path());
  } catch (const StateDbError&) {
    return 0;
  }
  for (const std::string& name : reading->task_names()) use_record(name, *reading->find(name));
  reading.reset();

  // Written back by a writer, each record reads back as it was.
  std::unique_ptr<StateDb> writing = StateDb::open(state_path());
  for (const std::string& name : writing->task_names()) {
    const TaskRecord& record = *writing->find(name);
    const std::string checker(record.checker), values(record.values_json);
    const std::optional<std::string> result(record.result_json);
    const bool ignored = record.ignored;
    std::vector<std::pair<std::string, FileSignature>> deps;
    for (const DepList::Entry& dep : record.deps) deps.emplace_back(dep.path, dep.signature);
    writing->remove(name);  // `record` is gone
    writing->save_success(name, checker, deps, values, result);
    writing->set_ignored(name, ignored);
  }
  writing.reset();
  const std::unique_ptr<StateDb> again = StateDb::open_for_reading(state_path());
  for (const std::string& name : again->task_names()) {
    const TaskRecord& record = *again->find(name);
    if (record.values_json.empty() || !record.has_success) __builtin_trap();
  }
  return 0;
}

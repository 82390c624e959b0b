#include "doit/state_db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <sqlite3.h>

namespace doit {
namespace {

using Deps = std::vector<std::pair<std::string, FileSignature>>;

/// A fresh directory with a `.doit.db` path in it, removed after the test.
class StateDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "doit-db-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    db_path_ = dir_ + "/.doit.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<StateDb> open() const { return StateDb::open(db_path_); }

  /// The message of the StateDbError that opening throws, or "" if it opens.
  std::string open_error() const {
    try {
      open();
    } catch (const StateDbError& e) {
      return e.what();
    }
    return "";
  }

  void write_file(const std::string& bytes) const {
    std::ofstream(db_path_, std::ios::binary) << bytes;
  }
  std::string read_file() const {
    std::ifstream in(db_path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::set<std::string> files_in_dir() const {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

  /// Runs SQL on the database file directly, bypassing StateDb.
  std::string run_sql(const std::string& sql) const {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    std::string first_value;
    char* error = nullptr;
    const int rc = sqlite3_exec(
        db, sql.c_str(),
        [](void* out, int columns, char** values, char**) {
          if (columns > 0 && values[0] != nullptr) *static_cast<std::string*>(out) = values[0];
          return 0;
        },
        &first_value, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
    return first_value;
  }

  /// Checks that opening fails as foreign `kind`, leaving the file as it was.
  void expect_refused_as(const std::string& kind) const {
    const std::string before = read_file();
    const std::set<std::string> files_before = files_in_dir();
    EXPECT_EQ(open_error(),
              "'" + db_path_ + "' is not a doit-cpp state database (it looks like " + kind +
                  "). doit-cpp keeps its own state; it will not overwrite this file.\n"
                  "Move it aside, or choose another file with --db-file.");
    EXPECT_EQ(read_file(), before);
    EXPECT_EQ(files_in_dir(), files_before);
  }

  std::string dir_;
  std::string db_path_;
};

/// The record's file_deps, copied out.
Deps deps_of(const TaskRecord& record) {
  Deps deps;
  for (const DepList::Entry& dep : record.deps) deps.emplace_back(dep.path, dep.signature);
  return deps;
}

Deps sample_deps() {
  return {
      {"in.txt", FileSignature{1'795'637'188'497'765'000, 5, Hash128{0x0123456789abcdefULL, 1}}},
      {"dir/b.c", FileSignature{-1, 0, Hash128{~0ULL, ~0ULL}}},
      {"\xC3\xA9t\xC3\xA9 \xFF.txt", FileSignature{0, 1LL << 40, Hash128{}}}};
}

TEST_F(StateDbTest, NewDatabaseIsEmpty) {
  auto db = open();
  EXPECT_EQ(db->path(), db_path_);
  EXPECT_EQ(db->find("a"), nullptr);
  EXPECT_TRUE(db->task_names().empty());
}

TEST_F(StateDbTest, LastWrittenIsTheNewestOfTheFileAndItsLog) {
  EXPECT_FALSE(StateDb::last_written(db_path_));
  const auto set_mtime = [](const std::string& path, time_t seconds) {
    const timespec times[2] = {{0, UTIME_OMIT}, {seconds, 0}};
    return ::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0;
  };
  write_file("");
  ASSERT_TRUE(set_mtime(db_path_, 1000));
  EXPECT_EQ(StateDb::last_written(db_path_), 1000LL * 1000000000LL);
  std::ofstream(db_path_ + "-wal") << "";
  ASSERT_TRUE(set_mtime(db_path_ + "-wal", 2000));
  EXPECT_EQ(StateDb::last_written(db_path_), 2000LL * 1000000000LL);
  ASSERT_TRUE(set_mtime(db_path_, 3000));
  EXPECT_EQ(StateDb::last_written(db_path_), 3000LL * 1000000000LL);
}

TEST_F(StateDbTest, RecordsSurviveCloseAndReopen) {
  open()->save_success("a", "MD5Checker", sample_deps(), R"({"x": 1})", "\"d41d8c\"");

  auto db = open();
  const TaskRecord* record = db->find("a");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->checker, "MD5Checker");
  EXPECT_EQ(deps_of(*record), sample_deps());
  EXPECT_EQ(record->values_json, R"({"x": 1})");
  EXPECT_EQ(record->result_json, "\"d41d8c\"");
  EXPECT_FALSE(record->ignored);
  EXPECT_TRUE(record->has_success);
}

TEST_F(StateDbTest, SuccessWithoutResultKeepsTheOlderResult) {
  {
    auto db = open();
    db->save_success("a", "MD5Checker", {}, "{}", "\"first\"");
    db->save_success("a", "MD5Checker", sample_deps(), R"({"v": 2})", std::nullopt);
    EXPECT_EQ(db->find("a")->result_json, "\"first\"");
  }
  auto db = open();
  EXPECT_EQ(db->find("a")->result_json, "\"first\"");
  EXPECT_EQ(db->find("a")->values_json, R"({"v": 2})");
  EXPECT_EQ(deps_of(*db->find("a")), sample_deps());
}

TEST_F(StateDbTest, SuccessWithResultReplacesIt) {
  open()->save_success("a", "MD5Checker", {}, "{}", "\"first\"");
  open()->save_success("a", "MD5Checker", {}, "{}", R"({"k": [1]})");
  EXPECT_EQ(open()->find("a")->result_json, R"({"k": [1]})");
}

TEST_F(StateDbTest, NoResultIsStoredAsNone) {
  open()->save_success("a", "TimestampChecker", {}, "{}", std::nullopt);
  auto db = open();
  EXPECT_EQ(db->find("a")->result_json, std::nullopt);
  EXPECT_EQ(db->find("a")->checker, "TimestampChecker");
}

TEST_F(StateDbTest, RemoveForgetsTheWholeRecord) {
  {
    auto db = open();
    db->save_success("a", "MD5Checker", sample_deps(), "{}", "\"r\"");
    db->save_success("b", "MD5Checker", {}, "{}", std::nullopt);
    db->remove("a");
    db->remove("never-stored");
    EXPECT_EQ(db->find("a"), nullptr);
  }
  auto db = open();
  EXPECT_EQ(db->find("a"), nullptr);
  EXPECT_EQ(db->task_names(), std::vector<std::string>{"b"});
}

TEST_F(StateDbTest, SetIgnoredKeepsDepsValuesAndResult) {
  {
    auto db = open();
    db->save_success("a", "MD5Checker", sample_deps(), R"({"x": 1})", "\"r\"");
    db->set_ignored("a", true);
    EXPECT_TRUE(db->find("a")->ignored);
    EXPECT_EQ(deps_of(*db->find("a")), sample_deps());
  }
  auto db = open();
  const TaskRecord* record = db->find("a");
  ASSERT_NE(record, nullptr);
  EXPECT_TRUE(record->ignored);
  EXPECT_TRUE(record->has_success);
  EXPECT_EQ(deps_of(*record), sample_deps());
  EXPECT_EQ(record->values_json, R"({"x": 1})");
  EXPECT_EQ(record->result_json, "\"r\"");
}

TEST_F(StateDbTest, SetIgnoredOnAnUnknownTaskCreatesAnEmptyRecord) {
  open()->set_ignored("new", true);
  auto db = open();
  const TaskRecord* record = db->find("new");
  ASSERT_NE(record, nullptr);
  EXPECT_TRUE(record->ignored);
  EXPECT_FALSE(record->has_success);
  EXPECT_TRUE(record->checker.empty());
  EXPECT_TRUE(record->deps.empty());
  EXPECT_EQ(record->values_json, "{}");
}

TEST_F(StateDbTest, ClearingIgnoreOnAnUnknownTaskStoresNothing) {
  open()->set_ignored("new", false);
  EXPECT_EQ(open()->find("new"), nullptr);
}

TEST_F(StateDbTest, SuccessKeepsTheIgnoreFlag) {
  {
    auto db = open();
    db->set_ignored("a", true);
    db->save_success("a", "MD5Checker", {}, "{}", std::nullopt);
    EXPECT_TRUE(db->find("a")->ignored);
  }
  EXPECT_TRUE(open()->find("a")->ignored);
  auto db = open();
  db->set_ignored("a", false);
  EXPECT_FALSE(open()->find("a")->ignored);
}

TEST_F(StateDbTest, RemoveAllForgetsEveryTask) {
  {
    auto db = open();
    db->save_success("a", "MD5Checker", {}, "{}", std::nullopt);
    db->set_ignored("b", true);
    db->remove_all();
    EXPECT_TRUE(db->task_names().empty());
  }
  EXPECT_TRUE(open()->task_names().empty());
}

TEST_F(StateDbTest, TaskNamesAreSorted) {
  auto db = open();
  for (const char* name : {"zeta", "alpha", "mid:sub", "Beta"}) {
    db->save_success(name, "MD5Checker", {}, "{}", std::nullopt);
  }
  EXPECT_EQ(db->task_names(), (std::vector<std::string>{"Beta", "alpha", "mid:sub", "zeta"}));
}

TEST_F(StateDbTest, FindDepLooksUpByPath) {
  auto db = open();
  db->save_success("a", "MD5Checker", sample_deps(), "{}", std::nullopt);
  const TaskRecord* record = db->find("a");
  ASSERT_NE(record->find_dep("dir/b.c"), nullptr);
  EXPECT_EQ(*record->find_dep("dir/b.c"), sample_deps()[1].second);
  EXPECT_EQ(record->find_dep("other"), nullptr);
}

TEST_F(StateDbTest, RoundTripsAHundredThousandDeps) {
  constexpr int kDeps = 100000;
  Deps deps;
  for (int i = kDeps; i > 0; --i) {  // not in path order
    deps.emplace_back("src/file" + std::to_string(i) + ".c",
                      FileSignature{i, i * 2LL, Hash128{static_cast<std::uint64_t>(i), 7}});
  }
  open()->save_success("big", "MD5Checker", deps, "{}", std::nullopt);

  auto db = open();
  const TaskRecord* record = db->find("big");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(deps_of(*record), deps);
  for (int i = 1; i <= kDeps; i += 997) {
    const FileSignature* signature = record->find_dep("src/file" + std::to_string(i) + ".c");
    ASSERT_NE(signature, nullptr) << i;
    EXPECT_EQ(signature->mtime_ns, i);
  }
  EXPECT_EQ(record->find_dep("src/file0.c"), nullptr);
  EXPECT_EQ(record->find_dep("src/file100001.c"), nullptr);
}

TEST(TaskRecordTest, FindDepScansAShortList) {
  Deps deps;
  for (int i = 0; i < 3; ++i) {
    std::string name = "f";  // (not "f" + ...: GCC 12 warns falsely about -Wrestrict there)
    name += std::to_string(i);
    deps.emplace_back(name, FileSignature{i, 0, {}});
  }
  deps.emplace_back("f", FileSignature{7, 0, {}});  // a prefix of the others
  const TaskRecord record("MD5Checker", deps);
  ASSERT_NE(record.find_dep("f1"), nullptr);
  EXPECT_EQ(record.find_dep("f1")->mtime_ns, 1);
  ASSERT_NE(record.find_dep("f"), nullptr);
  EXPECT_EQ(record.find_dep("f")->mtime_ns, 7);
  EXPECT_EQ(record.find_dep("f3"), nullptr);
  EXPECT_EQ(record.find_dep(""), nullptr);
  EXPECT_EQ(deps_of(record), deps);
}

TEST(TaskRecordTest, FindDepSearchesALongList) {
  Deps deps;
  for (int i = 0; i < 40; ++i) {
    std::string name = "f";  // (not "f" + ...: GCC 12 warns falsely about -Wrestrict there)
    name += std::to_string(39 - i);
    deps.emplace_back(name, FileSignature{i, 0, Hash128{}});
  }
  deps.emplace_back("", FileSignature{-1, 0, {}});  // an empty path is a path too
  const TaskRecord record("MD5Checker", deps);
  for (int i = 0; i < 40; ++i) {
    std::string name = "f";
    name += std::to_string(39 - i);
    const FileSignature* signature = record.find_dep(name);
    ASSERT_NE(signature, nullptr) << i;
    EXPECT_EQ(signature->mtime_ns, i);
  }
  ASSERT_NE(record.find_dep(""), nullptr);
  EXPECT_EQ(record.find_dep("")->mtime_ns, -1);
  EXPECT_EQ(record.find_dep("f40"), nullptr);
  EXPECT_EQ(record.find_dep("f"), nullptr);
  EXPECT_EQ(record.find_dep("g"), nullptr);
  EXPECT_EQ(deps_of(record), deps);  // in the order saved
}

TEST(TaskRecordTest, UsualTextsNeedNoStorage) {
  const TaskRecord record("MD5Checker", {});
  EXPECT_EQ(record.checker, "MD5Checker");
  EXPECT_EQ(record.checker.data(), checker_name(Checker::kContent).data());
  EXPECT_EQ(record.values_json, "{}");
  EXPECT_TRUE(record.deps.empty());
  EXPECT_EQ(record.deps.begin(), record.deps.end());
}

TEST(TaskRecordTest, KeepsItsTextsWhenMoved) {
  std::string checker = "MyChecker", values = R"({"v": 1})", result = R"("r")";
  TaskRecord record(checker, {{"a", FileSignature{1, 2, {3, 4}}}}, values, result);
  checker.assign("x");
  values.assign("{}");
  result.assign("y");
  std::vector<TaskRecord> records;
  records.push_back(std::move(record));
  records.resize(100);  // moved again as the vector grows
  EXPECT_EQ(records[0].checker, "MyChecker");
  EXPECT_EQ(records[0].values_json, R"({"v": 1})");
  EXPECT_EQ(records[0].result_json, R"("r")");
  EXPECT_EQ(deps_of(records[0]), (Deps{{"a", FileSignature{1, 2, {3, 4}}}}));
}

TEST_F(StateDbTest, UsesWriteAheadLogging) {
  open();
  EXPECT_EQ(run_sql("PRAGMA journal_mode"), "wal");
}

TEST_F(StateDbTest, WritesItsSchemaVersion) {
  open();
  EXPECT_EQ(run_sql("SELECT value FROM doit_meta WHERE key = 'schema_version'"), "1");
}

TEST_F(StateDbTest, KeepsEveryFinishedTaskWhenTheProcessDies) {
  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {  // saves, then dies without closing anything
    auto db = StateDb::open(db_path_);
    db->save_success("a", "MD5Checker", sample_deps(), "{}", std::nullopt);
    db->save_success("b", "MD5Checker", {}, "{}", "\"r\"");
    std::_Exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  auto db = open();
  EXPECT_EQ(db->task_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(deps_of(*db->find("a")), sample_deps());
}

TEST_F(StateDbTest, TwoOpenDatabasesOnOneFileBothWrite) {
  auto first = open();
  auto second = open();
  first->save_success("a", "MD5Checker", {}, "{}", std::nullopt);
  second->save_success("b", "MD5Checker", {}, "{}", std::nullopt);
  first.reset();
  second.reset();
  EXPECT_EQ(open()->task_names(), (std::vector<std::string>{"a", "b"}));
}

TEST_F(StateDbTest, RefusesARealGdbmFile) {
  const std::string command = "/usr/bin/python3 -c \"import dbm.gnu; d = dbm.gnu.open('" +
                              db_path_ + "', 'c'); d['a'] = '{}'; d.close()\" 2>/dev/null";
  if (std::system(command.c_str()) != 0) GTEST_SKIP() << "no python3 with dbm.gnu";
  expect_refused_as("pydoit's dbm (gdbm) format");
}

TEST_F(StateDbTest, RefusesGdbmMagicInEitherByteOrder) {
  for (const std::string& magic : {std::string("\xce\x9a\x57\x13", 4),  // little-endian
                                   std::string("\x13\x57\x9a\xcd", 4),  // big-endian
                                   std::string("\xcf\x9a\x57\x13", 4)}) {
    write_file(magic + std::string(100, '\0'));
    expect_refused_as("pydoit's dbm (gdbm) format");
  }
}

TEST_F(StateDbTest, RefusesAPydoitJsonFile) {
  write_file("\n  {\"a\": {\"_values_:\": {}, \"checker:\": \"MD5Checker\", \"deps:\": []}}");
  expect_refused_as("pydoit's json format");
}

TEST_F(StateDbTest, RefusesAPydoitSqlite3File) {
  run_sql(
      "CREATE TABLE doit (task_id text not null primary key, task_data json);"
      "INSERT INTO doit VALUES('a', '{\"checker:\": \"MD5Checker\"}');");
  expect_refused_as("pydoit's sqlite3 format");
}

TEST_F(StateDbTest, RefusesAnotherProgramsSqliteDatabase) {
  run_sql("CREATE TABLE notes(text TEXT);");
  expect_refused_as("the SQLite database of another program");
}

TEST_F(StateDbTest, RefusesAnUnknownFile) {
  write_file("#!/bin/sh\necho not a database\n");
  expect_refused_as("an unknown format");
}

TEST_F(StateDbTest, AnEmptyFileBecomesANewDatabase) {
  write_file("");
  open()->save_success("a", "MD5Checker", {}, "{}", std::nullopt);
  EXPECT_NE(open()->find("a"), nullptr);
}

TEST_F(StateDbTest, ReadingAMissingOrEmptyFileCreatesNothing) {
  EXPECT_TRUE(StateDb::open_for_reading(db_path_)->task_names().empty());
  EXPECT_TRUE(files_in_dir().empty());
  write_file("");
  EXPECT_TRUE(StateDb::open_for_reading(db_path_)->task_names().empty());
  EXPECT_EQ(read_file(), "");
}

TEST_F(StateDbTest, ReadingFindsEveryRecordAndRefusesToWrite) {
  open()->save_success("a", "MD5Checker", sample_deps(), R"({"x": 1})", std::nullopt);
  const std::string before = read_file();
  auto db = StateDb::open_for_reading(db_path_);
  ASSERT_NE(db->find("a"), nullptr);
  EXPECT_EQ(deps_of(*db->find("a")), sample_deps());
  EXPECT_THROW(db->save_success("b", "MD5Checker", {}, "{}", std::nullopt), StateDbError);
  EXPECT_THROW(db->remove("a"), StateDbError);
  EXPECT_THROW(db->set_ignored("a", true), StateDbError);
  EXPECT_THROW(db->remove_all(), StateDbError);
  db.reset();
  EXPECT_EQ(read_file(), before);
  EXPECT_EQ(files_in_dir(), std::set<std::string>{".doit.db"});
}

TEST_F(StateDbTest, ReadingRefusesAForeignFileToo) {
  run_sql("CREATE TABLE notes(text TEXT);");
  EXPECT_THROW(StateDb::open_for_reading(db_path_), StateDbError);
}

TEST_F(StateDbTest, RefusesADatabaseFromANewerVersion) {
  open();
  run_sql("UPDATE doit_meta SET value = '2' WHERE key = 'schema_version'");
  const std::string before = read_file();
  EXPECT_EQ(open_error(), "'" + db_path_ +
                              "' was written by a newer doit-cpp (schema 2; this one reads 1).\n"
                              "Use that doit-cpp, move the file aside to start a fresh one (every "
                              "task will run again), or choose another file with --db-file.");
  EXPECT_EQ(read_file(), before);
}

TEST_F(StateDbTest, ReportsACorruptFileWithAWayOut) {
  std::mt19937 random(12345);
  std::string bytes("SQLite format 3\0", 16);
  for (int i = 0; i < 8192; ++i) bytes.push_back(static_cast<char>(random()));
  write_file(bytes);
  const std::string error = open_error();
  EXPECT_TRUE(error.starts_with("'" + db_path_ + "' is damaged (")) << error;
  EXPECT_NE(error.find("Move it aside (doit-cpp will start a fresh one"), std::string::npos);
  EXPECT_EQ(read_file(), bytes);
}

/// One entry of the deps blob, in hex: length 1, "a"; mtime 2, size 3, hash
/// (4, 5); all little-endian.
const std::string kHexEntry =
    "0100000061"
    "0200000000000000"
    "0300000000000000"
    "0400000000000000"
    "0500000000000000";

TEST_F(StateDbTest, ReadsADepsListWrittenByHand) {
  const std::string entry = kHexEntry;  // after a count of 1
  open()->save_success("a", "MD5Checker", {}, "{}", std::nullopt);
  run_sql("UPDATE tasks SET deps = x'01000000" + entry + "' WHERE name = 'a'");
  auto db = open();
  EXPECT_EQ(deps_of(*db->find("a")), (Deps{{"a", FileSignature{2, 3, Hash128{4, 5}}}}));
  ASSERT_NE(db->find("a")->find_dep("a"), nullptr);
  EXPECT_EQ(db->find("a")->find_dep("a")->size, 3);
}

TEST_F(StateDbTest, ReportsEveryKindOfDamagedDepsList) {
  const std::string entry = kHexEntry;
  for (const std::string& hex : std::vector<std::string>{
           "01",                                            // a count cut short
           "02000000" + entry,                              // fewer entries than counted
           "01000000" + entry + "00",                       // a byte after the last entry
           "01000000" + entry.substr(0, entry.size() - 2),  // a signature cut short
           std::string("0100000009000000") + "61",          // a path longer than the rest
           std::string("00000000") + "00",                  // no entry, yet a byte
       }) {
    open()->save_success("a", "MD5Checker", sample_deps(), "{}", std::nullopt);
    run_sql("UPDATE tasks SET deps = x'" + hex + "' WHERE name = 'a'");
    const std::string error = open_error();
    EXPECT_NE(error.find("the file_dep list of task 'a' is malformed"), std::string::npos)
        << hex << ": " << error;
    run_sql("DELETE FROM tasks");
  }
}

TEST_F(StateDbTest, AnEmptyOrNullDepsListIsNoDeps) {
  open()->save_success("a", "MD5Checker", sample_deps(), "{}", std::nullopt);
  open()->save_success("b", "MD5Checker", sample_deps(), "{}", std::nullopt);
  run_sql("UPDATE tasks SET deps = x'' WHERE name = 'a'");
  run_sql("UPDATE tasks SET deps = NULL WHERE name = 'b'");
  auto db = open();
  EXPECT_TRUE(db->find("a")->deps.empty());
  EXPECT_TRUE(db->find("b")->deps.empty());
  EXPECT_EQ(db->find("b")->find_dep("in.txt"), nullptr);
}

TEST_F(StateDbTest, SavingATaskFromItsOwnRecordKeepsItsTexts) {
  open()->save_success("a", "OtherChecker", sample_deps(), R"({"x": [1, 2]})", R"("digest")");
  auto db = open();
  const TaskRecord* record = db->find("a");
  db->save_success("a", record->checker, deps_of(*record), record->values_json,
                   record->result_json);  // as reset-dep does: views of the record replaced
  db->save_success("a", db->find("a")->checker, sample_deps(), db->find("a")->values_json,
                   std::nullopt);  // the result kept from the record replaced
  for (const auto& reopened : {std::move(db), open()}) {
    const TaskRecord* again = reopened->find("a");
    EXPECT_EQ(again->checker, "OtherChecker");
    EXPECT_EQ(deps_of(*again), sample_deps());
    EXPECT_EQ(again->values_json, R"({"x": [1, 2]})");
    EXPECT_EQ(again->result_json, R"("digest")");
  }
}

TEST_F(StateDbTest, ReportsAMalformedDepsList) {
  open()->save_success("a", "MD5Checker", sample_deps(), "{}", std::nullopt);
  run_sql("UPDATE tasks SET deps = x'0300000001' WHERE name = 'a'");
  const std::string error = open_error();
  EXPECT_NE(error.find("the file_dep list of task 'a' is malformed"), std::string::npos) << error;
}

TEST_F(StateDbTest, ReportsAnUnopenablePath) {
  db_path_ = dir_ + "/no/such/dir/.doit.db";
  const std::string error = open_error();
  EXPECT_TRUE(error.starts_with("'" + db_path_ + "': cannot open it (")) << error;
  EXPECT_TRUE(error.ends_with("the folder '" + dir_ +
                              "/no/such/dir' does not exist.\n"
                              "Create it, or choose another file with --db-file."))
      << error;
}

TEST_F(StateDbTest, RefusesAFileItMayNotWrite) {
  if (::geteuid() == 0) GTEST_SKIP() << "root may write any file";
  open()->save_success("a", "MD5Checker", {}, "{}", std::nullopt);
  std::filesystem::permissions(db_path_, std::filesystem::perms::owner_read);
  const std::string error = open_error();
  EXPECT_TRUE(error.starts_with("'" + db_path_ + "': cannot write to it (")) << error;
  EXPECT_TRUE(error.ends_with("Fix the permissions, or choose another file with --db-file."))
      << error;
}

TEST_F(StateDbTest, RefusesATruncatedFile) {
  {
    auto db = open();
    for (int i = 0; i < 200; ++i) {
      db->save_success("task" + std::to_string(i), "MD5Checker", sample_deps(), "{}", "\"r\"");
    }
  }
  const std::string whole = read_file();
  // Inside the header, at a page boundary, and inside the last page (where
  // SQLite alone would read the missing end as free space and lose records).
  for (const std::size_t size : {std::size_t{10}, std::size_t{99}, std::size_t{4096},
                                 whole.size() / 2, whole.size() - 100}) {
    write_file(whole.substr(0, size));
    const std::string error = open_error();
    EXPECT_TRUE(error.starts_with("'" + db_path_ + "' is damaged (truncated: ")) << size << error;
    EXPECT_EQ(read_file(), whole.substr(0, size));
  }
}

TEST_F(StateDbTest, ReportsValuesThatAreNotAJsonObject) {
  open()->save_success("a", "MD5Checker", {}, "{\"x\": 1}", std::nullopt);
  for (const char* values : {"{\"x\": ", "[1]", ""}) {
    run_sql(std::string("UPDATE tasks SET values_json = '") + values + "' WHERE name = 'a'");
    const std::string error = open_error();
    EXPECT_NE(error.find("the values of task 'a' are not a JSON object"), std::string::npos)
        << values << error;
  }
}

TEST_F(StateDbTest, ReportsAResultThatIsNotJson) {
  open()->save_success("a", "MD5Checker", {}, "{}", "\"digest\"");
  run_sql("UPDATE tasks SET result_json = '\"dig' WHERE name = 'a'");
  const std::string error = open_error();
  EXPECT_NE(error.find("the result of task 'a' is not JSON"), std::string::npos) << error;
}

// Found by tests/fuzz/state_db_fuzz.cpp: SQLite keeps a BLOB name apart
// from the same TEXT name, so the two rows were one record for doit, and
// forgetting it left the other row behind.
TEST_F(StateDbTest, RefusesATaskNameThatIsNotText) {
  open()->save_success("a", "MD5Checker", {}, "{}", std::nullopt);
  run_sql("INSERT INTO tasks(name, checker, values_json) VALUES(CAST('a' AS BLOB), '', '{}')");
  const std::string error = open_error();
  EXPECT_NE(error.find("a task name is not text"), std::string::npos) << error;
}

// Names and values with quotes, SQL, NUL bytes and invalid UTF-8 are stored
// and read back byte for byte: SQL is built from constants only, every
// value is bound to a prepared statement (docs/reliability.md, Security).
TEST_F(StateDbTest, StoresHostileNamesAndValuesIntact) {
  const std::vector<std::string> names = {"it's",
                                          "\"quoted\"",
                                          "'; DROP TABLE tasks; --",
                                          std::string("nul\0inside", 10),
                                          "\xff\xfe",
                                          "%s%n%x",
                                          "?1 ?2",
                                          "a'); DELETE FROM tasks; --"};
  const std::string values = "{\"k'\": \"'; DROP TABLE doit_meta; --\"}";
  const std::string result = "\"';\"";
  {
    const std::unique_ptr<StateDb> db = open();
    for (const std::string& name : names) {
      db->save_success(name, "MD5Checker'--", {{name + "'.txt", FileSignature{1, 2, {3, 4}}}},
                       values, result);
      db->set_ignored(name, true);
    }
  }
  const std::unique_ptr<StateDb> db = open();
  ASSERT_EQ(db->task_names().size(), names.size());
  for (const std::string& name : names) {
    const TaskRecord* record = db->find(name);
    ASSERT_NE(record, nullptr) << name;
    EXPECT_EQ(record->checker, "MD5Checker'--");
    ASSERT_EQ(record->deps.size(), 1u);
    EXPECT_EQ(record->deps.at(0).path, name + "'.txt");
    EXPECT_EQ(record->values_json, values);
    EXPECT_EQ(record->result_json, result);
    EXPECT_TRUE(record->ignored);
  }
  db->remove(names[2]);
  EXPECT_EQ(db->task_names().size(), names.size() - 1);
  EXPECT_EQ(open()->task_names().size(), names.size() - 1);
}

TEST_F(StateDbTest, ReportsADirectoryInThePlaceOfTheFile) {
  std::filesystem::create_directory(db_path_);
  EXPECT_EQ(open_error(), "'" + db_path_ + "': cannot read it: Is a directory");
}

}  // namespace
}  // namespace doit

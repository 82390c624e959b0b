#include "python/pydoit_state.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include <pybind11/embed.h>
#include <pybind11/stl.h>

#include "doit/fs.h"
#include "doit/signature.h"

namespace py = pybind11;

namespace doit::python {
namespace {

/// Suffixes of the files dbm.ndbm (Berkeley DB) and dbm.dumb add to the name.
constexpr std::string_view kSiblingSuffixes[] = {".db", ".dat", ".dir"};
/// What pydoit's moved-aside files are named after: `<dep_file>.pydoit`.
constexpr std::string_view kAsideSuffix = ".pydoit";
/// How many `.pydoit-N` names are tried before giving up.
constexpr int kMaxAsideAttempts = 100;
/// Files SQLite may keep beside our database.
constexpr std::string_view kSqliteSidecars[] = {"-wal", "-shm", "-journal"};

// _find(path) -> None or (format, [files]): is `path` pydoit's state?
// _read(format, path) -> [(task, checker|None, values_json, result_json|None,
//                          ignored, [file_deps whose mtime and size match])]
// Comparing os.stat().st_mtime with the stored float is exactly pydoit's test.
constexpr const char* kSource = R"PY(
import json as _json, os as _os, stat as _stat

_GDBM_MAGICS = {0x13579ace, 0x13579acd, 0x13579acf, 0x13579ad0, 0x13579ad1}

def _connect_ro(path):
    import sqlite3, urllib.parse
    uri = 'file:' + urllib.parse.quote(_os.path.abspath(path)) + '?mode=ro'
    return sqlite3.connect(uri, uri=True)

def _find(path):
    if not _os.path.exists(path):
        dumb = [path + s for s in ('.dat', '.dir', '.bak')]
        if _os.path.isfile(dumb[0]) and _os.path.isfile(dumb[1]):
            return ('dbm.dumb', [p for p in dumb if _os.path.exists(p)])
        if _os.path.isfile(path + '.db'):
            import dbm
            if dbm.whichdb(path) == 'dbm.ndbm':
                return ('dbm.ndbm', [path + '.db'])
        return None
    if not _os.path.isfile(path):
        return None
    with open(path, 'rb') as f:
        head = f.read(4096)
    if head.startswith(b'SQLite format 3\x00'):
        conn = _connect_ro(path)
        try:
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
        if 'doit_meta' in tables:
            return None
        if 'doit' in tables:
            return ('sqlite3', [path])
        if 'Dict' in tables:
            return ('dbm.sqlite3', [path])
        return None
    if len(head) >= 4:
        if (int.from_bytes(head[:4], 'little') in _GDBM_MAGICS
                or int.from_bytes(head[:4], 'big') in _GDBM_MAGICS):
            return ('dbm.gnu', [path])
    if head.lstrip()[:1] == b'{':
        return ('json', [path])
    return None

def _records(fmt, path):
    if fmt == 'json':
        with open(path, encoding='utf-8') as f:
            return list(_json.load(f).items())
    if fmt == 'sqlite3':
        conn = _connect_ro(path)
        try:
            rows = conn.execute('SELECT task_id, task_data FROM doit').fetchall()
        finally:
            conn.close()
        return [(k, _json.loads(v.decode('utf-8') if isinstance(v, bytes) else v))
                for k, v in rows]
    import importlib
    module = importlib.import_module(fmt)
    db = module.open(path, 'r')
    try:
        return [(k.decode('utf-8') if isinstance(k, bytes) else k,
                 _json.loads(db[k].decode('utf-8'))) for k in db.keys()]
    finally:
        db.close()

def _same_file(checker, state, st):
    if checker == 'MD5Checker':
        return (isinstance(state, list) and len(state) == 3
                and state[0] == st.st_mtime and state[1] == st.st_size)
    if checker == 'TimestampChecker':
        return isinstance(state, float) and state == st.st_mtime
    return False

def _read(fmt, path):
    out = []
    for name, rec in _records(fmt, path):
        if not isinstance(rec, dict):
            continue
        checker = rec.get('checker:')
        checker = checker if isinstance(checker, str) else None
        matched = []
        deps = rec.get('deps:')
        if checker is not None and isinstance(deps, list):
            for dep in deps:
                if not isinstance(dep, str):
                    continue
                try:
                    st = _os.stat(dep)
                except (OSError, ValueError):
                    continue
                if _stat.S_ISREG(st.st_mode) and _same_file(checker, rec.get(dep), st):
                    matched.append(dep)
        values = rec.get('_values_:')
        result = rec.get('result:')
        out.append((str(name), checker,
                    _json.dumps(values if isinstance(values, dict) else {}),
                    None if result is None else _json.dumps(result),
                    rec.get('ignore:') == '1', matched))
    return out
)PY";

struct Record {
  std::string task;
  std::optional<std::string> checker;
  std::string values_json;
  std::optional<std::string> result_json;
  bool ignored = false;
  std::vector<std::string> matched_deps;
};

/// A fresh namespace holding kSource's functions (not cached: an
/// interpreter may be stopped and another started in the same process).
py::dict scope() {
  py::dict d;
  d["__builtins__"] = py::module_::import("builtins");
  py::exec(kSource, d);
  return d;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::vector<Record> read_records(const PydoitState& found) {
  try {
    py::list rows = scope()["_read"](found.format, found.dep_file);
    std::vector<Record> out;
    out.reserve(rows.size());
    for (py::handle row : rows) {
      py::tuple t = row.cast<py::tuple>();
      Record r;
      r.task = t[0].cast<std::string>();
      if (!t[1].is_none()) r.checker = t[1].cast<std::string>();
      r.values_json = t[2].cast<std::string>();
      if (!t[3].is_none()) r.result_json = t[3].cast<std::string>();
      r.ignored = t[4].cast<bool>();
      r.matched_deps = t[5].cast<std::vector<std::string>>();
      out.push_back(std::move(r));
    }
    return out;
  } catch (const py::error_already_set& e) {
    throw PydoitStateError("cannot read pydoit's state in '" + found.files.front() + "' (" +
                           found.format + "): " + e.what() +
                           "\nRun doit-cpp with --db-file OTHER to start a fresh state (every "
                           "task runs once), or move the file aside.");
  }
}

/// The names the files are moved to: `<dep_file>.pydoit<their suffix>`, or
/// `.pydoit-2`... when one of them is taken.
std::vector<std::string> aside_names(const PydoitState& found) {
  for (int attempt = 1; attempt <= kMaxAsideAttempts; ++attempt) {
    std::string base = found.dep_file + std::string(kAsideSuffix);
    if (attempt > 1) base += "-" + std::to_string(attempt);
    std::vector<std::string> names;
    bool free = true;
    for (const std::string& file : found.files) {
      names.push_back(base + file.substr(found.dep_file.size()));
      free = free && !exists(names.back());
    }
    if (free) return names;
  }
  throw PydoitStateError("cannot move pydoit's state aside: '" + found.dep_file +
                         std::string(kAsideSuffix) + "' and the next names are taken");
}

void move_back(const std::vector<std::string>& from, const std::vector<std::string>& to,
               std::size_t count) {
  for (std::size_t i = count; i-- > 0;) ::rename(to[i].c_str(), from[i].c_str());
}

/// Our file_dep signatures for the files pydoit's record still describes.
std::vector<std::pair<std::string, FileSignature>> signatures(const Record& r) {
  std::vector<std::pair<std::string, FileSignature>> deps;
  Checker checker;
  if (r.checker == "MD5Checker") {
    checker = Checker::kContent;
  } else if (r.checker == "TimestampChecker") {
    checker = Checker::kTimestamp;
  } else {
    return deps;  // a custom checker: its task runs again
  }
  RealFileSystem fs;
  for (const std::string& dep : r.matched_deps) {
    try {
      const FileStat now = fs.stat(dep);
      if (!now.exists || now.is_dir) continue;
      deps.emplace_back(dep, take_signature(checker, fs, dep, now, nullptr));
    } catch (const FsError&) {
      // unreadable now: left out, the task runs again
    }
  }
  return deps;
}

/// Saves `records` into `db`; returns how many tasks it recorded.
int save_records(const std::vector<Record>& records, StateDb& db) {
  int tasks = 0;
  for (const Record& r : records) {
    if (r.checker) db.save_success(r.task, *r.checker, signatures(r), r.values_json, r.result_json);
    if (r.ignored) db.set_ignored(r.task, true);
    if (r.checker || r.ignored) ++tasks;
  }
  return tasks;
}

void remove_ours(const std::string& dep_file) {
  ::unlink(dep_file.c_str());
  for (std::string_view sidecar : kSqliteSidecars) {
    ::unlink((dep_file + std::string(sidecar)).c_str());
  }
}

}  // namespace

std::optional<PydoitState> find_pydoit_state(const std::string& dep_file) {
  if (!exists(dep_file)) {
    bool sibling = false;
    for (std::string_view suffix : kSiblingSuffixes) {
      sibling = sibling || exists(dep_file + std::string(suffix));
    }
    if (!sibling) return std::nullopt;
  }
  try {
    py::object result = scope()["_find"](dep_file);
    if (result.is_none()) return std::nullopt;
    py::tuple t = result.cast<py::tuple>();
    PydoitState found;
    found.format = t[0].cast<std::string>();
    found.dep_file = dep_file;
    found.files = t[1].cast<std::vector<std::string>>();
    return found;
  } catch (const py::error_already_set&) {
    return std::nullopt;  // unreadable: not recognisably pydoit's
  }
}

PydoitImport import_pydoit_state(const PydoitState& found) {
  const std::vector<Record> records = read_records(found);
  PydoitImport done;
  done.moved_from = found.files;
  done.moved_to = aside_names(found);
  for (std::size_t i = 0; i < found.files.size(); ++i) {
    if (::rename(found.files[i].c_str(), done.moved_to[i].c_str()) != 0) {
      const int error = errno;
      move_back(done.moved_from, done.moved_to, i);
      throw PydoitStateError("cannot move pydoit's '" + found.files[i] + "' to '" +
                             done.moved_to[i] + "': " + std::strerror(error));
    }
  }
  try {
    std::unique_ptr<StateDb> db = StateDb::open(found.dep_file);
    done.tasks = save_records(records, *db);
  } catch (...) {
    remove_ours(found.dep_file);
    move_back(done.moved_from, done.moved_to, done.moved_from.size());
    throw;
  }
  return done;
}

PydoitRead read_pydoit_state(const PydoitState& found) {
  const std::vector<Record> records = read_records(found);
  PydoitRead read;
  read.db = StateDb::open_in_memory(found.dep_file);
  read.tasks = save_records(records, *read.db);
  return read;
}

}  // namespace doit::python

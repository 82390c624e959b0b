// Switching from pydoit: a `.doit.db` that pydoit wrote (dbm, json or sqlite3
// backend, SPEC §9.1) is imported once into our own state database, so a
// project that pydoit already built is not rebuilt. pydoit's file(s) are moved
// aside unchanged (renamed, never written). Commands that only read the
// state read it where it is, into memory, and change nothing.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "doit/state_db.h"

namespace doit::python {

/// pydoit's state found at a dep_file path.
struct PydoitState {
  /// Python's name of the format: "dbm.gnu", "dbm.ndbm", "dbm.dumb",
  /// "dbm.sqlite3", "json" or "sqlite3".
  std::string format;
  /// The dep_file path it was found for (as given).
  std::string dep_file;
  /// Every file that holds it (`dep_file` itself, or `dep_file` + ".db",
  /// ".dat", ".dir", ".bak"), in that order.
  std::vector<std::string> files;
};

/// What an import did.
struct PydoitImport {
  /// Tasks whose record was imported.
  int tasks = 0;
  /// `files` of the PydoitState, and the names they were moved to.
  std::vector<std::string> moved_from;
  std::vector<std::string> moved_to;
};

/// Reading pydoit's state failed (unreadable, corrupt, a dbm module missing
/// from the interpreter). Nothing was changed; the message says what to do.
class PydoitStateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Whether `dep_file` (or its dbm.ndbm/dbm.dumb siblings, when `dep_file`
/// itself is missing) holds pydoit's state. Needs a running Interpreter, but
/// calls Python only when such a file exists; a missing `dep_file` without
/// siblings, and our own database, cost a stat or two.
std::optional<PydoitState> find_pydoit_state(const std::string& dep_file);

/// Imports `found` (from find_pydoit_state): reads every record through
/// Python's dbm/json/sqlite3 modules, moves pydoit's files aside (to
/// `<dep_file>.pydoit` plus their own suffix; `.pydoit-2`... when taken),
/// creates our database at `dep_file`, and saves each task: a file_dep whose
/// current mtime and size equal the recorded ones gets our signature taken
/// now; any other is left out, so its task runs again. Values, results and
/// ignore flags are kept as pydoit stored them. Throws PydoitStateError
/// (nothing changed) or StateDbError; on any failure after the move pydoit's
/// files are moved back and ours is removed.
PydoitImport import_pydoit_state(const PydoitState& found);

/// pydoit's state as read for a command that only reads (list, info,
/// graph, dumpdb, a dry run): nothing on disk changes.
struct PydoitRead {
  /// The records, as import_pydoit_state() would save them, in memory.
  std::unique_ptr<StateDb> db;
  /// Tasks with a record.
  int tasks = 0;
};

/// Reads `found` (from find_pydoit_state) as import_pydoit_state() does,
/// without moving or writing anything. Throws PydoitStateError.
PydoitRead read_pydoit_state(const PydoitState& found);

}  // namespace doit::python

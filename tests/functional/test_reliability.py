"""Nothing lost, nothing hangs (issue 8): doit-cpp's state survives kill -9,
damaged or foreign state files are refused with a way out, two doit
processes can share one state file, and hostile actions neither crash nor
hang doit. docs/reliability.md lists each promise and the test holding it.
"""

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import COMMAND_TIMEOUT, Project, Result, clean_env, doit_command

pytestmark = pytest.mark.cpp_only

DB = ".doit.db"


def names_with_prefix(out, prefix):
    """Task names of the report lines starting with `prefix` ('.  ', '-- ')."""
    return [line[len(prefix):] for line in out.splitlines() if line.startswith(prefix)]


def finish(proc, timeout=COMMAND_TIMEOUT):
    """Waits for a doit started with Project.start; returns its Result."""
    out, err = proc.communicate(timeout=timeout)
    return Result(proc.args, proc.returncode, out.decode("utf-8", "replace"),
                  err.decode("utf-8", "replace"))


def recorded_tasks(project):
    """The task names `dumpdb` shows, i.e. those with a row in the database
    (none when there is no database: e.g. a run killed before creating it)."""
    if not project.exists(DB):
        return set()
    r = project.run("dumpdb")
    assert r.rc == 0, r
    assert r.err == "", r
    # Each task block starts with its name, unindented, after an empty line.
    lines = r.out.splitlines()
    return {lines[i + 1] for i, line in enumerate(lines[:-1]) if line == ""}


TWO_TASKS = """
def task_a():
    return {'actions': ['echo a > a.out'], 'file_dep': ['in.txt'], 'targets': ['a.out']}

def task_b():
    return {'actions': ['cat a.out > b.out'], 'file_dep': ['a.out'], 'targets': ['b.out']}
"""


@pytest.fixture
def built(project):
    """A project whose two tasks ran once: .doit.db holds both records."""
    project.dodo(TWO_TASKS)
    project.write("in.txt", "x\n")
    r = project.run()
    assert r.rc == 0 and r.out == ".  a\n.  b\n", r
    project.built_mtimes = {name: project.mtime_ns(name) for name in ("a.out", "b.out")}
    return project


def sql(project, statement):
    """Runs one SQL statement on the project's state file, bypassing doit."""
    with sqlite3.connect(project.path / DB) as db:
        db.execute(statement)
    db.close()


# ---------------------------------------------------------------------------
# Crash safety: kill -9 at random moments.
# ---------------------------------------------------------------------------

#: Tasks in the crash project.
CRASH_TASKS = 200
#: Every CRASH_CHAIN-th task starts a chain: the others take the previous
#: task's target as a file_dep (an implicit task dependency).
CRASH_CHAIN = 10
#: Trials by default. Measured on 2 cores, a trial costs about 0.45 s with the
#: release build and 0.7 s under the sanitizers: 30 keep the test near 15 s
#: and 20 s (the issue's 50: 22 s and 34 s, too much of CI's budget for one
#: test). Each trial kills one run, at start-up (dodo.py loading, the
#: database being created) or at a random point of a random task, and every
#: trial checks every promise. More trials reach rarer windows (a kill inside
#: a commit): DOIT_TEST_CRASH_TRIALS=200 asks for them, DOIT_TEST_CRASH_SEED
#: for another sequence of kill moments.
DEFAULT_CRASH_TRIALS = 30
DEFAULT_CRASH_SEED = 8

CRASH_DODO = f"""
N = {CRASH_TASKS}

def task_generate():
    for i in range(N):
        deps = ['in/%03d.txt' % i]
        if i % {CRASH_CHAIN}:
            deps.append('out/%03d.txt' % (i - 1))
        # The target is written in two steps: a task recorded as done must
        # have both lines.
        yield {{'basename': 't%03d' % i,
               'actions': ['echo start > out/%03d.txt; echo done >> out/%03d.txt' % (i, i)],
               'file_dep': deps,
               'targets': ['out/%03d.txt' % i]}}
"""

COMPLETE_TARGET = "start\ndone\n"
ALL_CRASH_TASKS = {"t%03d" % i for i in range(CRASH_TASKS)}


def make_crash_project(project):
    project.dodo(CRASH_DODO)
    (project.path / "out").mkdir()
    for i in range(CRASH_TASKS):
        project.write("in/%03d.txt" % i, "input %d\n" % i)


def kill_run(project, after_tasks, delay):
    """Starts `doit`, waits until `after_tasks` tasks have started (0: not
    at all), then `delay` seconds, then SIGKILLs its whole process group;
    returns what it printed (all of it if it finished first)."""
    proc = project.start()
    # Each line is flushed as its task starts.
    seen = b"".join(proc.stdout.readline() for _ in range(after_tasks))
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    # Read the rest through the same buffered file (not communicate(), which
    # would skip what readline() buffered); stderr stays small here.
    out = seen + proc.stdout.read()
    err = proc.stderr.read()
    proc.wait()
    return Result(proc.args, proc.returncode, out.decode(), err.decode())


def check_after_kill(project, killed, where):
    """Every promise of crash safety, for one project whose run was killed."""
    started = names_with_prefix(killed.out, ".  ")
    # The database opens (`list --status` does not create it if the kill
    # came first).
    listed = project.run("list", "--status")
    assert listed.rc == 0, (where, listed)
    recorded = recorded_tasks(project)

    # Tasks run one at a time and each is recorded before the next starts,
    # so every started task but the last one had finished.
    finished = set(started[:-1])
    assert finished <= recorded, (where, "finished but not recorded", finished - recorded)
    # Nothing is recorded that had not finished: never started, or cut short.
    assert recorded <= set(started), (where, "recorded, never started", recorded - set(started))
    for name in recorded:
        target = project.path / ("out/%s.txt" % name[1:])
        content = target.read_text() if target.exists() else "(missing)"
        assert content == COMPLETE_TARGET, (where, name, "recorded with its target", content)

    # Exactly the recorded tasks are up to date.
    status = [line.split() for line in listed.out.splitlines()]
    assert {name for letter, name in status} == ALL_CRASH_TASKS, (where, listed)
    uptodate = {name for letter, name in status if letter == "U"}
    assert uptodate == recorded, (where, uptodate ^ recorded)

    # The next run completes, running exactly what was not recorded...
    r = project.run()
    assert r.rc == 0, (where, r)
    assert set(names_with_prefix(r.out, "-- ")) == recorded, (where, r)
    assert set(names_with_prefix(r.out, ".  ")) == ALL_CRASH_TASKS - recorded, (where, r)
    # ... and the one after runs nothing.
    r = project.run()
    assert r.rc == 0, (where, r)
    assert set(names_with_prefix(r.out, "-- ")) == ALL_CRASH_TASKS, (where, r)


#: The share of kills aimed at start-up rather than at the tasks.
KILLS_DURING_STARTUP = 0.15


def time_a_whole_run(folder):
    """Runs the crash project once: seconds until the first task started, and
    until the last one did."""
    project = Project(folder)
    project.path.mkdir()
    make_crash_project(project)
    begin = time.monotonic()
    proc = project.start()
    started = []  # each line is flushed as its task starts
    for line in proc.stdout:
        started.append(time.monotonic() - begin)
    rest = finish(proc)
    assert rest.rc == 0 and len(started) == CRASH_TASKS, rest
    return started[0], started[-1]


def test_kill_9_at_random_moments_loses_no_finished_task(tmp_path):
    trials = int(os.environ.get("DOIT_TEST_CRASH_TRIALS", DEFAULT_CRASH_TRIALS))
    seed = int(os.environ.get("DOIT_TEST_CRASH_SEED", DEFAULT_CRASH_SEED))
    rng = random.Random(seed)

    first_task, last_task = time_a_whole_run(tmp_path / "calibration")
    per_task = (last_task - first_task) / (CRASH_TASKS - 1)

    kills_mid_run = 0
    for trial in range(trials):
        project = Project(tmp_path / ("trial%02d" % trial))
        project.path.mkdir()
        make_crash_project(project)
        # Some kills during start-up, when the dodo file loads and the
        # database is created; most at a random point of a random task (its
        # action, its record being written, the next one starting).
        if rng.random() < KILLS_DURING_STARTUP:
            after_tasks, delay = 0, rng.uniform(0, first_task)
        else:
            after_tasks, delay = rng.randrange(1, CRASH_TASKS), rng.uniform(0, 2 * per_task)
        where = (f"seed {seed}, trial {trial}: killed {delay * 1000:.1f} ms after "
                 f"{after_tasks} tasks started (about {per_task * 1000:.1f} ms a task)")
        killed = kill_run(project, after_tasks, delay)
        started = len(names_with_prefix(killed.out, ".  "))
        if 0 < started < CRASH_TASKS:
            kills_mid_run += 1
        check_after_kill(project, killed, where)
    # Most kills must land while tasks run, or the test proves little.
    assert kills_mid_run >= trials // 2, (kills_mid_run, trials)


CRASH_IN_A_WRITE = """
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA cache_size = 1")  # spill pages to the file before the commit
db.execute("BEGIN")
for i in range(2000):
    db.execute("INSERT INTO tasks(name, checker, values_json) VALUES(?, 'x', '{}')",
               ("half-written %d" % i,))
os._exit(0)  # no commit, no rollback: the journal is left hot
"""


def test_a_database_left_mid_write_by_a_crash_opens_with_its_last_commit(built):
    # What a kill during the database's creation leaves (before it is in WAL
    # mode): a rollback journal that only a writer may play back.
    sql(built, "PRAGMA journal_mode = DELETE")
    subprocess.run(["/usr/bin/python3", "-c", CRASH_IN_A_WRITE, str(built.path / DB)],
                   check=True, timeout=COMMAND_TIMEOUT)
    assert built.exists(DB + "-journal")
    r = built.run("list", "--status")
    assert (r.rc, r.out.split()) == (0, ["U", "a", "U", "b"]), r
    assert recorded_tasks(built) == {"a", "b"}
    assert built.run().out == "-- a\n-- b\n"


# ---------------------------------------------------------------------------
# A damaged, foreign or unwritable state file: a clear error naming it, with a
# way out, exit 3; never a crash, never a silent rebuild, the file untouched.
# ---------------------------------------------------------------------------

#: Every command that opens the state file.
STATE_COMMANDS = [("run",), ("list", "--status"), ("info", "a"), ("dumpdb",), ("forget", "a")]
#: What a refused command still prints: `info` names the task first. No task
#: runs, nothing is listed.
REFUSED_OUT = {"info": "\na\n"}


def assert_refused(project, result, db=DB, reason=None):
    """`result` is a clean refusal of `db`: one ERROR naming it with a way out."""
    assert result.rc == 3, result
    assert result.out == REFUSED_OUT.get(result.args[0] if result.args else "", ""), result
    assert result.err.startswith("ERROR: ") and f"'{db}'" in result.err.split("\n")[0], result
    assert result.err.count("ERROR") == 1, result
    assert "--db-file" in result.err, result  # every message offers another file
    assert "Traceback" not in result.err and "internal error" not in result.err, result
    assert "Sanitizer" not in result.err, result
    if reason is not None:
        assert reason in result.err, result


def assert_refused_everywhere(project, reason=None):
    """Every command refuses the file and leaves it, and the targets, alone."""
    before = project.read_bytes(DB)
    for command in STATE_COMMANDS:
        assert_refused(project, project.run(*command), reason=reason)
        assert project.read_bytes(DB) == before, command
    for name, mtime in getattr(project, "built_mtimes", {}).items():
        assert project.mtime_ns(name) == mtime, f"{name} was rebuilt"


@pytest.mark.parametrize("keep", [10, 16, 99, 100, 4096, "half", "all but 100"])
def test_a_truncated_database_is_refused(built, keep):
    data = built.read_bytes(DB)
    size = {"half": len(data) // 2, "all but 100": len(data) - 100}.get(keep, keep)
    (built.path / DB).write_bytes(data[:size])
    assert_refused_everywhere(built, reason="is damaged (truncated:")
    assert "Move it aside" in built.run().err


@pytest.mark.parametrize("start", [16, 100, 4096])
def test_random_bytes_after_the_header_are_refused(built, start):
    data = bytearray(built.read_bytes(DB))
    rng = random.Random(start)
    data[start:] = bytes(rng.randrange(256) for _ in range(len(data) - start))
    (built.path / DB).write_bytes(bytes(data))
    assert_refused_everywhere(built, reason="is damaged (")


@pytest.mark.parametrize("seed", range(8))
def test_scattered_damage_never_crashes(built, seed):
    # Bytes changed inside the pages: SQLite keeps no checksums, so some
    # damage goes unseen (a changed digest makes a task run again); the
    # promise is a clean answer every time, never a crash.
    data = bytearray(built.read_bytes(DB))
    rng = random.Random(seed)
    for _ in range(16):
        data[rng.randrange(100, len(data))] = rng.randrange(256)
    (built.path / DB).write_bytes(bytes(data))
    for command in STATE_COMMANDS:
        r = built.run(*command)
        assert "Traceback" not in r.err and "internal error" not in r.err, (command, r)
        assert "Sanitizer" not in r.err, (command, r)
        if r.rc == 3:
            assert_refused(built, r)
        else:
            assert r.rc in (0, 1), (command, r)


def test_a_database_from_a_newer_doit_cpp_is_refused(built):
    sql(built, "UPDATE doit_meta SET value = '2' WHERE key = 'schema_version'")
    assert_refused_everywhere(built, reason="was written by a newer doit-cpp (schema 2;")


def test_an_unreadable_schema_version_is_refused(built):
    sql(built, "UPDATE doit_meta SET value = 'two' WHERE key = 'schema_version'")
    assert_refused_everywhere(built, reason="is damaged (unreadable schema version 'two')")


@pytest.mark.parametrize("column, value, reason", [
    ("values_json", "'{\"x\": '", "the values of task 'a' are not a JSON object"),
    ("result_json", "'\"digest'", "the result of task 'a' is not JSON"),
    ("deps", "x'0100000005'", "the file_dep list of task 'a' is malformed"),
])
def test_a_damaged_record_is_refused(built, column, value, reason):
    sql(built, f"UPDATE tasks SET {column} = {value} WHERE name = 'a'")
    assert_refused_everywhere(built, reason=reason)


def test_a_damaged_pydoit_json_file_is_refused(project):
    # pydoit's json backend, cut short: neither imported nor overwritten.
    project.dodo(TWO_TASKS)
    project.write("in.txt", "x\n")
    project.write(DB, '{"a": {"checker:": "MD5Checker", "deps:"')
    assert_refused_everywhere(project)


def test_a_database_that_is_a_folder_is_refused(project):
    project.dodo(TWO_TASKS)
    project.write("in.txt", "x\n")
    (project.path / DB).mkdir()
    for command in STATE_COMMANDS:
        r = project.run(*command)
        assert r.rc == 3 and r.err.startswith(f"ERROR: '{DB}'"), r
        assert "Traceback" not in r.err and "internal error" not in r.err, r


# --- permissions: root bypasses them, so these run as `nobody` when root ---

NOBODY = 65534


@pytest.fixture
def shared_project():
    """A project in a folder every user can enter (pytest's own are 0700)."""
    root = Path(tempfile.mkdtemp(prefix="doit-reliability-"))
    root.chmod(0o755)
    yield Project(root)
    for path in root.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o700)  # e.g. a file_dep made unreadable
    shutil.rmtree(root)


def as_other_user():
    """preexec_fn that drops root to `nobody` (None when not root: the
    permissions apply to us already)."""
    if os.geteuid() != 0:
        return None

    def demote():
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    try:  # can this container drop privileges at all?
        subprocess.run(["true"], preexec_fn=demote, check=True)
    except (subprocess.SubprocessError, OSError) as e:
        pytest.skip(f"cannot run a process as nobody here ({e}); root bypasses permissions")
    return demote


def run_unprivileged(project, *args):
    """Runs doit in `project` as a user the permission bits apply to."""
    env = clean_env()
    # Sanitizer reports go to stderr (the log folder is root's): the
    # assertions on stderr then fail on them.
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if var in env:
            env[var] = ":".join(o for o in env[var].split(":") if not o.startswith("log_path="))
    proc = subprocess.run(
        doit_command() + [str(a) for a in args], cwd=project.path, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=as_other_user(), timeout=COMMAND_TIMEOUT)
    return Result(args, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                  proc.stderr.decode("utf-8", "replace"))


def give_to_other_user(path):
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)


def files_beside_the_database(project):
    return sorted(p.name for p in project.path.iterdir() if p.name.startswith(DB))


def test_a_read_only_folder_without_a_database_refuses_run_but_lists(shared_project):
    p = shared_project
    p.dodo(TWO_TASKS)
    p.write("in.txt", "x\n")
    as_other_user()
    assert_refused(p, run_unprivileged(p, "run"), reason="Fix the permissions")
    # Reading commands create nothing: everything is to run.
    r = run_unprivileged(p, "list", "--status")
    assert (r.rc, r.out.split(), r.err) == (0, ["R", "a", "R", "b"], ""), r
    r = run_unprivileged(p, "info", "a")
    assert (r.rc, r.err) == (1, ""), r
    assert "status     : run" in r.out
    assert files_beside_the_database(p) == [] and not p.exists("a.out")


def test_a_database_in_a_read_only_folder_is_read_but_not_written(shared_project):
    p = shared_project
    p.dodo(TWO_TASKS)
    p.write("in.txt", "x\n")
    assert p.run().rc == 0  # written by its owner; the folder is not ours
    (p.path / DB).chmod(0o666)
    before = p.read_bytes(DB)
    as_other_user()
    # Writing needs '.doit.db-wal' and '.doit.db-shm' beside the file.
    for command in [("run",), ("forget", "a")]:
        r = run_unprivileged(p, *command)
        assert_refused(p, r, reason="'.doit.db-wal' and '.doit.db-shm'")
    # Reading does not: the file is read as it is.
    r = run_unprivileged(p, "list", "--status")
    assert (r.rc, r.out.split(), r.err) == (0, ["U", "a", "U", "b"], ""), r
    r = run_unprivileged(p, "info", "b")
    assert (r.rc, r.err) == (0, ""), r
    assert "status     : up-to-date" in r.out
    r = run_unprivileged(p, "dumpdb")
    assert (r.rc, r.err) == (0, ""), r
    assert r.out.startswith(f"{DB}: doit-cpp state database, 2 tasks\n")
    assert p.read_bytes(DB) == before
    assert files_beside_the_database(p) == [DB]


def test_reading_commands_never_create_or_change_the_database(project):
    project.dodo(TWO_TASKS)
    project.write("in.txt", "x\n")
    for command in [("list", "--status"), ("info", "a")]:
        project.run(*command)
        assert files_beside_the_database(project) == [], command
    assert project.run().rc == 0
    project.write("in.txt", "changed\n")  # a task to run: nothing to record
    before = (project.read_bytes(DB), project.mtime_ns(DB))
    for command in [("list", "--status"), ("info", "a"), ("dumpdb",)]:
        r = project.run(*command)
        assert r.err == "", (command, r)
        assert (project.read_bytes(DB), project.mtime_ns(DB)) == before, command
        assert files_beside_the_database(project) == [DB], command


def test_a_read_only_database_is_refused_before_any_task_runs(shared_project):
    p = shared_project
    p.dodo(TWO_TASKS)
    p.write("in.txt", "x\n")
    assert p.run().rc == 0
    (p.path / DB).chmod(0o644)
    p.write("in.txt", "changed\n")  # `a` is out of date
    built_at = p.mtime_ns("a.out")
    give_to_other_user(p.path)
    as_other_user()
    r = run_unprivileged(p)
    assert_refused(p, r, reason="cannot write to it (Permission denied)")
    assert p.mtime_ns("a.out") == built_at, "`a` ran, its record could not be written"


# ---------------------------------------------------------------------------
# Two doit processes on one state file.
# ---------------------------------------------------------------------------

#: Tasks of the concurrency project; `first` selects the first 30, `second`
#: the last 30, so 20 are wanted by both.
SHARED_TASKS = 40

SHARED_DODO = f"""
def task_t():
    for i in range({SHARED_TASKS}):
        deps = ['in.txt'] + (['out/%02d.txt' % (i - 1)] if i % 5 else [])
        # Written whole (a temporary file renamed): the other doit may be
        # reading it at any moment.
        yield {{'name': '%02d' % i,
               'actions': ['sleep 0.01; echo %d > out/%02d.$$ && mv out/%02d.$$ out/%02d.txt'
                           % (i, i, i, i)],
               'file_dep': deps, 'targets': ['out/%02d.txt' % i]}}

def task_first():
    return {{'actions': None, 'task_dep': ['t:%02d' % i for i in range(30)]}}

def task_second():
    return {{'actions': None, 'task_dep': ['t:%02d' % i for i in range(10, {SHARED_TASKS})]}}
"""

ALL_SHARED = {"t:%02d" % i for i in range(SHARED_TASKS)}


#: Each round starts these at once on a fresh project: they also race to
#: create the state file and switch it to WAL, where SQLite's busy handler
#: does not wait (without the retry in state_db.cpp about one round in ten
#: failed with "database is locked"). DOIT_TEST_CONCURRENT_ROUNDS asks for
#: more rounds than the default.
CONCURRENT_COMMANDS = [
    (), ("first",), ("second",), (), ("list", "--status"), ("first",), ("second",), ()]
CONCURRENT_ROUNDS = int(os.environ.get("DOIT_TEST_CONCURRENT_ROUNDS", 6))


@pytest.mark.parametrize("round_", range(CONCURRENT_ROUNDS))
def test_overlapping_runs_at_once_all_finish_and_agree(project, round_):
    project.dodo(SHARED_DODO)
    project.write("in.txt", "x\n")
    (project.path / "out").mkdir()
    procs = [project.start(*command) for command in CONCURRENT_COMMANDS]
    results = [finish(p) for p in procs]
    for r in results:
        assert r.rc == 0, r
        assert "ERROR" not in r.err, r
    # Every task ran at least once, and now all are recorded and up to date.
    ran = set()
    for r in results:
        ran |= set(names_with_prefix(r.out, ".  "))
    assert ALL_SHARED <= ran
    assert ALL_SHARED <= recorded_tasks(project)
    r = project.run()
    assert r.rc == 0, r
    assert set(names_with_prefix(r.out, "-- ")) == ALL_SHARED, r
    for i in range(SHARED_TASKS):
        assert project.read("out/%02d.txt" % i) == "%d\n" % i


SLOW_DODO = """
def task_slow():
    return {'actions': ['touch started; sleep 2; echo slow > slow.out'],
            'file_dep': ['in.txt'], 'targets': ['slow.out']}

def task_quick():
    return {'actions': ['echo quick > quick.out'], 'file_dep': ['in.txt'],
            'targets': ['quick.out']}
"""

#: Seconds a command may take while the other doit holds its task: well under
#: the busy timeout (5 s), so a wait on a lock would show.
WHILE_BUSY_LIMIT = 4


def test_other_commands_work_while_a_long_run_holds_a_task(project):
    project.dodo(SLOW_DODO)
    project.write("in.txt", "x\n")
    assert project.run("quick").rc == 0
    slow = project.start("slow")
    try:
        assert project.wait_for_file("started"), "slow never started"
        checks = [
            (("list",), lambda r: r.out.split() == ["quick", "slow"]),
            (("list", "--status"), lambda r: r.out.split() == ["U", "quick", "R", "slow"]),
            (("info", "quick"), lambda r: "status     : up-to-date" in r.out),
            (("dumpdb",), lambda r: "\nquick\n" in r.out),
            (("run", "quick"), lambda r: r.out == "-- quick\n"),
            (("forget", "quick"), lambda r: "forgetting quick" in r.out),
            (("run", "quick"), lambda r: r.out == ".  quick\n"),
        ]
        for args, expected in checks:
            begin = time.monotonic()
            r = project.run(*args)
            took = time.monotonic() - begin
            assert r.rc == 0 and expected(r), r
            assert took < WHILE_BUSY_LIMIT, (args, took)
        assert slow.poll() is None, "the slow task ended before the checks did"
        r = finish(slow)
    finally:
        if slow.poll() is None:
            os.killpg(slow.pid, signal.SIGKILL)
            slow.wait()
    assert r.rc == 0 and r.out == ".  slow\n", r
    assert recorded_tasks(project) == {"quick", "slow"}
    assert project.run().out == "-- slow\n-- quick\n"


# ---------------------------------------------------------------------------
# Hostile actions.
# ---------------------------------------------------------------------------

#: The size of the big outputs.
BIG = 100_000_000
#: doit's own peak RSS on a small project is ~20 MB; a 100 MB output is held
#: about three times (captured, the failure report's copy, the result whose
#: digest is saved). More than this means another copy crept in.
BIG_OUTPUT_MAX_RSS = 3 * BIG + 100_000_000


def sanitized_build():
    """True when the suite runs the sanitizer build (tests/CMakeLists.txt sets
    ASAN_OPTIONS for it)."""
    return "ASAN_OPTIONS" in os.environ


def run_measured(project, *args):
    """Runs doit in a fresh Python that reports its children's peak RSS."""
    probe = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
        "sys.stdout.buffer.write(b'%d %d %d\\n' % (r.returncode, len(r.stdout), len(r.stderr)))\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)\n"
    )
    proc = subprocess.run(
        ["/usr/bin/python3", "-c", probe] + doit_command() + list(args), cwd=project.path,
        env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        timeout=COMMAND_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    codes, rss = proc.stdout.decode().splitlines()
    rc, out_len, err_len = map(int, codes.split())
    return rc, out_len, err_len, int(rss)


@pytest.mark.parametrize("command", [
    f"yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c {BIG}",
    f"head -c {BIG} /dev/zero | tr '\\\\0' x",  # one line, no newline
    f"yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c {BIG} >&2",
])
def test_a_100_mb_output_is_captured_in_bounded_memory(project, command):
    project.dodo(f"""
        def task_big():
            return {{'actions': [{command!r}], 'verbosity': 0}}
        """)
    begin = time.monotonic()
    rc, out_len, err_len, rss = run_measured(project)
    took = time.monotonic() - begin
    assert (rc, out_len, err_len) == (0, len(".  big\n"), 0)
    if not sanitized_build():  # AddressSanitizer's own memory dwarfs ours
        assert rss < BIG_OUTPUT_MAX_RSS, f"peak RSS {rss / 1e6:.0f} MB"
    assert took < COMMAND_TIMEOUT
    assert project.run().out == ".  big\n"  # recorded: it has no file_dep


def test_non_utf8_output_is_shown_with_replacement_characters(project):
    project.dodo(r"""
        def task_bytes():
            return {'actions': ["printf 'caf\\351 \\377\\376 ok\\n'"], 'verbosity': 2,
                    'file_dep': ['dodo.py']}
        def task_saved():
            return {'actions': [CmdAction("printf '\\377x'", save_out='raw')],
                    'file_dep': ['dodo.py']}
        from doit.action import CmdAction
        """)
    proc = subprocess.run(doit_command(), cwd=project.path, env=clean_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=COMMAND_TIMEOUT)
    assert proc.returncode == 0, proc
    assert proc.stdout == ".  bytes\ncaf\ufffd \ufffd\ufffd ok\n.  saved\n".encode(), proc
    # The saved value went through the state file and reads back.
    dump = project.run("dumpdb")
    assert dump.rc == 0 and 'values: {"raw": "\\ufffdx"}' in dump.out, dump
    assert project.run().out == "-- bytes\n-- saved\n"


def test_a_background_child_holding_the_pipe_delays_but_does_not_hang(project):
    # As pydoit: the output is read until every writer has closed it.
    project.dodo("""
        def task_bg():
            return {'actions': ['(sleep 1; echo late) & echo early'], 'verbosity': 2}
        """)
    begin = time.monotonic()
    r = project.run()
    took = time.monotonic() - begin
    assert r.rc == 0 and r.out == ".  bg\nearly\nlate\n", r
    assert 0.9 < took < 10


def test_a_command_closing_its_output_early_is_read_to_the_end(project):
    project.dodo("""
        def task_close():
            return {'actions': ['exec >&-; sleep 0.2; echo still-here >&2'], 'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  close\n", "still-here\n"), r


@pytest.mark.parametrize("command, rc, message", [
    ("kill -9 $$", 1, "Command failed: 'kill -9 $$' returned -9"),
    ("kill -TERM $$", 1, "Command failed: 'kill -TERM $$' returned -15"),
    ("sh -c 'kill -SEGV $$'", 2, "Command error: 'sh -c 'kill -SEGV $$'' returned 139"),
])
def test_a_command_killed_by_a_signal_fails_with_its_status(project, command, rc, message):
    project.dodo(f"""
        def task_sig():
            return {{'actions': [{command!r}], 'file_dep': ['dodo.py']}}
        """)
    r = project.run()
    assert r.rc == rc, r
    assert message in r.out, r  # the failure report goes to stdout, as pydoit's
    assert "sig" not in recorded_tasks(project)


#: File names that break naive quoting, as file_dep and as targets.
STRANGE_NAMES = [
    "with space.txt",
    "quote'single.txt",
    'quote"double.txt',
    "new\nline.txt",
    "ünïcødé ✓.txt",
    "$(touch pwned).txt",
    "-starts-with-dash.txt",
]


def test_file_names_with_spaces_quotes_newlines_and_unicode(project):
    project.dodo(f"""
        NAMES = {STRANGE_NAMES!r}
        def task_copy():
            for i, name in enumerate(NAMES):
                yield {{'name': str(i), 'actions': [['cp', '--', 'in/' + name, 'out/' + name]],
                       'file_dep': ['in/' + name], 'targets': ['out/' + name], 'clean': True}}
        """)
    (project.path / "out").mkdir()
    for i, name in enumerate(STRANGE_NAMES):
        project.write("in/" + name, f"content {i}\n")
    copies = {f"copy:{i}" for i in range(len(STRANGE_NAMES))}
    r = project.run()
    assert r.rc == 0 and set(names_with_prefix(r.out, ".  ")) == copies, r
    for i, name in enumerate(STRANGE_NAMES):
        assert project.read("out/" + name) == f"content {i}\n"
    assert not project.exists("pwned")
    assert set(names_with_prefix(project.run().out, "-- ")) == copies

    project.write("in/" + STRANGE_NAMES[3], "changed\n")  # the one with a newline
    r = project.run()
    assert names_with_prefix(r.out, ".  ") == ["copy:3"], r
    assert project.read("out/" + STRANGE_NAMES[3]) == "changed\n"

    dump = project.run("dumpdb")
    assert dump.rc == 0 and "    'in/new\\nline.txt': mtime " in dump.out, dump
    listed = project.run("list", "--status", "--all")
    assert listed.rc == 0 and listed.out.count("U copy:") == len(STRANGE_NAMES), listed
    r = project.run("clean")
    assert r.rc == 0, r
    assert not any(project.exists("out/" + name) for name in STRANGE_NAMES)


def test_a_folder_as_target_is_made_once(project):
    project.dodo("""
        def task_tree():
            return {'actions': ['mkdir -p tree/sub && echo x > tree/sub/f'],
                    'file_dep': ['in.txt'], 'targets': ['tree']}
        """)
    project.write("in.txt", "x\n")
    assert project.run().out == ".  tree\n"
    assert project.run().out == "-- tree\n"


def test_a_folder_as_file_dep_is_a_clear_error(project):
    project.dodo("""
        def task_reads_a_folder():
            return {'actions': ['true'], 'file_dep': ['folder']}
        """)
    (project.path / "folder").mkdir()
    r = project.run()
    assert r.rc == 2, r
    assert ("ERROR: Task 'reads_a_folder' saving success: "
            "Dependent file 'folder' cannot be read: Is a directory.") in r.out, r
    assert "internal error" not in r.err
    assert "reads_a_folder" not in recorded_tasks(project)


def test_a_symlink_loop_as_file_dep_is_a_missing_file(project):
    project.dodo("""
        def task_loop():
            return {'actions': ['true'], 'file_dep': ['loop-a']}
        """)
    os.symlink("loop-b", project.path / "loop-a")
    os.symlink("loop-a", project.path / "loop-b")
    r = project.run()
    assert r.rc == 2, r
    assert "ERROR: Task 'loop' checking dependencies: Dependent file 'loop-a' does not exist." \
        in r.out, r
    r = project.run("list", "--status")
    assert (r.rc, r.out.split()) == (0, ["E", "loop"]), r


def test_an_unreadable_file_dep_is_a_clear_error(shared_project):
    p = shared_project
    p.dodo("""
        def task_secret():
            return {'actions': ['echo ran > out.txt'], 'file_dep': ['secret.txt'],
                    'targets': ['out.txt']}
        """)
    p.write("secret.txt", "s\n")
    give_to_other_user(p.path)
    as_other_user()
    # Readable: it runs and is recorded.
    assert run_unprivileged(p).out == ".  secret\n"
    # Unreadable, with a changed mtime (the content must be read to compare).
    (p.path / "secret.txt").chmod(0)
    p.touch("secret.txt")
    r = run_unprivileged(p)
    assert r.rc == 2, r
    assert ("ERROR: Task 'secret' checking dependencies: "
            "Dependent file 'secret.txt' cannot be read: Permission denied.") in r.out, r
    # Unreadable from the start: the task runs, its record cannot be taken.
    r = run_unprivileged(p)
    assert r.rc == 2, r
    assert ("ERROR: Task 'secret' saving success: "
            "Dependent file 'secret.txt' cannot be read: Permission denied.") in r.out, r
    r = run_unprivileged(p, "list", "--status")
    assert (r.rc, r.out.split()) == (0, ["R", "secret"]), r


# ---------------------------------------------------------------------------
# Hostile dodo.py (the rest is in test_loading.py and test_validation.py).
# ---------------------------------------------------------------------------

#: Sub-tasks yielded by one creator. The issue asks for 10^6 (release build,
#: 2 cores: `list` 16 s, 1.1 GB peak RSS; docs/reliability.md); 100k keeps
#: the test short, also under the sanitizers. DOIT_TEST_MANY_SUBTASKS asks
#: for more.
MANY_SUBTASKS = int(os.environ.get("DOIT_TEST_MANY_SUBTASKS", 100_000))
#: Peak RSS allowed per sub-task (measured: about 1.1 KB, the Python dicts
#: included); more means a copy per task crept in.
MAX_RSS_PER_SUBTASK = 3_000


def test_a_creator_yielding_many_sub_tasks_works_in_bounded_memory(project):
    n = MANY_SUBTASKS
    project.dodo(f"""
        def task_many():
            for i in range({n}):
                yield {{'name': str(i), 'actions': None}}
        def task_last():
            return {{'actions': ['touch last.txt'], 'task_dep': ['many:{n - 1}']}}
        """)
    rc, out_len, err_len, rss = run_measured(project, "list", "--all")
    assert (rc, err_len) == (0, 0)
    if not sanitized_build():
        assert rss < 50_000_000 + n * MAX_RSS_PER_SUBTASK, f"peak RSS {rss / 1e6:.0f} MB"
    r = project.run("list", "--all")
    names = [line.rstrip() for line in r.out.splitlines()]
    assert len(names) == n + 2
    assert set(names) == {"last", "many"} | {f"many:{i}" for i in range(n)}
    # Run one task at the end of the group: every task is loaded, one runs.
    r = project.run("last")
    assert (r.rc, r.out, r.err) == (0, ".  last\n", "")
    assert project.exists("last.txt")
    assert f"many:{n - 1}" in recorded_tasks(project)

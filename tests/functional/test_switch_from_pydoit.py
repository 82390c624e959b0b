"""Switching from pydoit: a project built by the real pydoit 0.31.1 (Debian's
python3-doit) is not rebuilt by doit-cpp's first run. pydoit's state is
imported once and its file(s) moved aside unchanged.

These tests run pydoit itself (`/usr/bin/python3 -m doit`) to build the
project, so they need python3-doit installed (.ci/packages lists it).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import clean_env

PYDOIT_DIR = Path("/usr/lib/python3/dist-packages/doit")
SYSTEM_PYTHON = "/usr/bin/python3"

pytestmark = [
    pytest.mark.cpp_only,
    pytest.mark.skipif(
        not PYDOIT_DIR.is_dir() or not os.path.exists(SYSTEM_PYTHON),
        reason="pydoit 0.31.1 is not installed (apt-get install python3-doit; "
        ".ci/packages lists it)",
    ),
]

# Runs pydoit with Python's default dbm module forced to `argv[1]`, so the
# dbm.dumb and dbm.ndbm file layouts can be produced too.
FORCED_DBM = """
import dbm, importlib, sys
dbm._defaultmod = importlib.import_module(sys.argv.pop(1))
from doit.doit_cmd import DoitMain
sys.exit(DoitMain().run(sys.argv[1:]))
"""

DODO = """
def task_a():
    return {'actions': ['cp in.txt a.out'], 'file_dep': ['in.txt'],
            'targets': ['a.out']}

def task_b():
    return {'actions': ['cat a.out > b.out'], 'file_dep': ['a.out'],
            'targets': ['b.out']}

def task_c():
    return {'actions': ['echo c > c.out'], 'file_dep': ['other.txt'],
            'targets': ['c.out']}
"""

#: backend name -> (pydoit command-line prefix, files pydoit writes)
BACKENDS = {
    "dbm.gnu": ([], [".doit.db"]),
    "json": (["--backend", "json"], [".doit.db"]),
    "sqlite3": (["--backend", "sqlite3"], [".doit.db"]),
    "dbm.dumb": (["FORCE", "dbm.dumb"], [".doit.db.dat", ".doit.db.dir", ".doit.db.bak"]),
    "dbm.ndbm": (["FORCE", "dbm.ndbm"], [".doit.db.db"]),
}


def pydoit(project, *args, backend="dbm.gnu"):
    """Runs the real pydoit 0.31.1 in the project; fails the test if it fails."""
    extra, _ = BACKENDS[backend]
    if extra[:1] == ["FORCE"]:
        argv = [SYSTEM_PYTHON, "-c", FORCED_DBM, extra[1], *args]
    else:
        argv = [SYSTEM_PYTHON, "-m", "doit", *args]
        if args and args[0] in ("run", "ignore", "forget"):
            argv = argv[:3] + [args[0], *extra, *args[1:]]
        else:
            argv += extra
    proc = subprocess.run(argv, cwd=project.path, env=clean_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=60)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    return proc


def snapshot(project, names):
    return {name: project.read_bytes(name) for name in names}


def aside(name):
    """Where a pydoit file is moved to: .doit.db -> .doit.db.pydoit,
    .doit.db.dat -> .doit.db.pydoit.dat."""
    return ".doit.db.pydoit" + name[len(".doit.db"):]


def build_with_pydoit(project, backend="dbm.gnu"):
    project.dodo(DODO)
    project.write("in.txt", "hello\n")
    project.write("other.txt", "x\n")
    r = pydoit(project, backend=backend)
    assert r.stdout.splitlines() == [".  a", ".  b", ".  c"]


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_project_built_by_pydoit_is_not_rebuilt(project, backend):
    if backend.startswith("dbm."):
        pytest.importorskip(backend)  # Debian: dbm.gnu is python3-gdbm
    build_with_pydoit(project, backend)
    files = BACKENDS[backend][1]
    before = snapshot(project, files)

    r = project.run()
    assert r.rc == 0, r
    assert r.out.splitlines() == ["-- a", "-- b", "-- c"]
    moved = [aside(f) for f in files]
    assert r.err == (
        "doit-cpp: imported the state of 3 tasks from pydoit's "
        f"{', '.join(files)} (kept as {', '.join(moved)})\n"
    )
    # pydoit's file(s) moved aside byte for byte; ours now at .doit.db.
    assert snapshot(project, moved) == {aside(k): v for k, v in before.items()}
    assert project.read_bytes(".doit.db").startswith(b"SQLite format 3\0")

    # Imported once: the next run says nothing, and still runs nothing.
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, "-- a\n-- b\n-- c\n", "")

    # Then our own state works: an edit reruns only what depends on it.
    project.write("other.txt", "changed\n")
    r = project.run()
    assert (r.rc, r.out) == (0, "-- a\n-- b\n.  c\n"), r


def test_file_changed_since_pydoit_ran_reruns_its_task(project):
    build_with_pydoit(project)
    project.write("in.txt", "new content\n")  # a new mtime (and size)
    r = project.run()
    assert r.rc == 0, r
    assert r.out.splitlines() == [".  a", ".  b", "-- c"]


def test_touched_file_is_not_trusted(project):
    # Same size, other mtime: pydoit would compare the MD5; we do not read
    # pydoit's hash, so the task runs once (and is recorded with our own).
    build_with_pydoit(project)
    project.touch("other.txt")
    r = project.run()
    assert r.out.splitlines() == ["-- a", "-- b", ".  c"]
    r = project.run()
    assert r.out.splitlines() == ["-- a", "-- b", "-- c"]


def test_ignore_values_and_config_changed_carry_over(project):
    project.dodo("""
        from doit.tools import config_changed

        def task_ignored():
            return {'actions': ['echo i > i.out'], 'file_dep': ['in.txt']}

        def task_conf():
            return {'actions': ['echo conf'], 'file_dep': ['in.txt'],
                    'uptodate': [config_changed({'level': 2})]}

        def produce():
            return {'answer': 42}

        def task_producer():
            return {'actions': [produce], 'file_dep': ['in.txt']}

        def show(answer):
            print('answer', answer)

        def task_consumer():
            return {'actions': [show], 'getargs': {'answer': ('producer', 'answer')},
                    'file_dep': ['in.txt']}
        """)
    project.write("in.txt", "hello\n")
    pydoit(project)
    pydoit(project, "ignore", "ignored")
    r = project.run()
    assert r.rc == 0, r
    assert r.out.splitlines() == ["!! ignored", "-- conf", "-- producer", "-- consumer"]
    assert "imported the state of 4 tasks" in r.err


def test_timestamp_checker_is_imported(project):
    project.dodo("""
        DOIT_CONFIG = {'check_file_uptodate': 'timestamp'}

        def task_a():
            return {'actions': ['cp in.txt a.out'], 'file_dep': ['in.txt'],
                    'targets': ['a.out']}
        """)
    project.write("in.txt", "hello\n")
    pydoit(project)
    r = project.run()
    assert (r.rc, r.out) == (0, "-- a\n"), r
    project.touch("in.txt")
    assert project.run().out == ".  a\n"


def test_existing_aside_name_is_not_overwritten(project):
    build_with_pydoit(project)
    project.write(".doit.db.pydoit", "an older copy\n")
    before = project.read_bytes(".doit.db")
    r = project.run()
    assert r.out.splitlines() == ["-- a", "-- b", "-- c"]
    assert "(kept as .doit.db.pydoit-2)" in r.err
    assert project.read(".doit.db.pydoit") == "an older copy\n"
    assert project.read_bytes(".doit.db.pydoit-2") == before


def test_db_file_option_names_the_file_to_import(project):
    project.dodo(DODO)
    project.write("in.txt", "hello\n")
    project.write("other.txt", "x\n")
    pydoit(project, "--db-file", "state.db")
    r = project.run("--db-file", "state.db")
    assert r.out.splitlines() == ["-- a", "-- b", "-- c"]
    assert "from pydoit's state.db (kept as state.db.pydoit)" in r.err
    assert not project.exists(".doit.db")


def folder_snapshot(project):
    """Every file of the project folder: name -> (bytes, mtime_ns)."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(project.path.iterdir()) if p.is_file()}


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_reading_commands_read_pydoit_state_where_it_is(project, backend):
    # list, info, graph, dumpdb and a dry run answer from pydoit's state and
    # change nothing on disk: the first command that writes imports it.
    if backend.startswith("dbm."):
        pytest.importorskip(backend)
    build_with_pydoit(project, backend)
    project.write("other.txt", "changed since pydoit ran\n")
    files = BACKENDS[backend][1]
    note = (f"doit-cpp: read the state of 3 tasks from pydoit's {', '.join(files)} as it is "
            "(not imported yet: the first command that writes the state imports it)\n")
    before = folder_snapshot(project)

    r = project.run("list", "--status")
    assert (r.rc, r.err) == (0, note), r
    assert [line.rstrip() for line in r.out.splitlines()] == ["U a", "U b", "R c"]
    r = project.run("info", "a")
    assert (r.rc, r.err) == (0, note), r
    assert "status     : up-to-date" in r.out
    r = project.run("graph")
    assert (r.rc, r.err) == (0, note), r
    r = project.run("run", "--dry-run")
    assert (r.rc, r.out) == (0, "-- a\n-- b\n.  c\n"), r
    r = project.run("dumpdb")
    assert r.rc == 0, r
    assert r.out.startswith(
        f".doit.db: pydoit's state ({backend}), as doit-cpp will import it, 3 tasks\n"), r
    assert "\na\n  checker: MD5Checker\n  file_dep:\n    in.txt: mtime " in r.out
    assert "\nc\n  checker: MD5Checker\n  file_dep: none\n" in r.out  # other.txt changed
    assert folder_snapshot(project) == before

    # The first run imports it, and agrees with what list said.
    r = project.run()
    assert r.rc == 0, r
    assert r.out.splitlines() == ["-- a", "-- b", ".  c"]
    assert "imported the state of 3 tasks" in r.err


def test_unreadable_pydoit_file_is_left_alone(project):
    # A gdbm header with nothing behind it: recognised, but unreadable.
    project.dodo(DODO)
    project.write("in.txt", "hello\n")
    project.write("other.txt", "x\n")
    data = bytes.fromhex("cd9a5713") + b"\0" * 60
    (project.path / ".doit.db").write_bytes(data)
    r = project.run()
    assert r.rc == 3, r
    assert r.out == ""
    assert r.err.startswith("ERROR: ")
    assert (project.path / ".doit.db").read_bytes() == data
    assert not project.exists(".doit.db.pydoit")

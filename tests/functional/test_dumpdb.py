"""The `dumpdb` command (SPEC §4.7, decision 20): our state database, printed
readably. The format is documented in `doit help dumpdb`; pydoit prints its
own dbm records, so the format tests are cpp_only."""

import re

import pytest

TASKS = '''
def make():
    return {'answer': 42, 'text': 'h\\u00e9'}
def say():
    return 'hello'
def task_values():
    return {'actions': [make], 'file_dep': ['in.txt', 'sub/other.txt']}
def task_result():
    return {'actions': [say]}
def task_g():
    for i in range(2):
        yield {'name': i, 'actions': ['echo %d' % i], 'file_dep': ['in.txt']}
'''

SIGNATURE = (
    r"mtime \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} UTC, size (\d+), hash ([0-9a-f]{32}|-)"
)


@pytest.fixture
def ran(project):
    project.dodo(TASKS)
    project.write("in.txt", "12345\n")
    project.write("sub/other.txt", "")
    r = project.run()
    assert r.rc == 0, r
    return project


def test_dumpdb_succeeds_after_a_run(ran):
    r = ran.run("dumpdb")
    assert r.rc == 0
    assert r.out


def test_dumpdb_does_not_load_the_dodo_file(ran):
    ran.dodo("raise SystemExit('dodo.py was imported')\n")
    r = ran.run("dumpdb")
    assert r.rc == 0
    assert "imported" not in r.out + r.err


def test_db_file_is_relative_to_the_current_folder(project):
    project.write("sub/dodo.py", "def task_t():\n    return {'actions': ['echo t']}\n")
    assert project.run("--db-file", "state.db", cwd="sub").rc == 0
    assert project.run("dumpdb", "--db-file", "sub/state.db").rc == 0


def test_db_file_from_the_config_file(project):
    project.dodo("def task_t():\n    return {'actions': ['echo t']}\n")
    project.write("doit.cfg", "[GLOBAL]\ndep_file = state.db\n")
    assert project.run().rc == 0
    assert project.run("dumpdb").rc == 0
    assert not project.exists(".doit.db")


def test_missing_database_is_an_error_and_is_not_created(project):
    r = project.run("dumpdb", "--db-file", "nothing.db")
    assert r.rc == 3
    assert not project.exists("nothing.db")


def test_dumpdb_takes_no_loader_options(ran):
    r = ran.run("dumpdb", "-f", "dodo.py")
    assert r.rc == 3
    assert r.err.startswith("ERROR: Error parsing Command: option -f not recognized")


@pytest.mark.cpp_only
def test_missing_database_message(project):
    r = project.run("dumpdb")
    assert (r.rc, r.out) == (3, "")
    assert r.err == (
        "ERROR: '.doit.db' does not exist: no state has been saved there "
        "(choose the file with --db-file).\n"
    )


@pytest.mark.cpp_only
def test_one_block_per_task_in_name_order(ran):
    r = ran.run("dumpdb")
    assert (r.rc, r.err) == (0, "")
    text = r.out
    assert text.startswith(".doit.db: doit-cpp state database, 5 tasks\n\n")
    blocks = text.split("\n\n")[1:]
    assert [b.splitlines()[0] for b in blocks] == ["g", "g:0", "g:1", "result", "values"]
    for block in blocks:
        keys = [line.split(":")[0].strip() for line in block.splitlines()[1:]
                if not line.startswith("    ")]
        assert keys == ["checker", "file_dep", "values", "result", "ignored"]
    assert not text.endswith("\n\n")


@pytest.mark.cpp_only
def test_block_shows_signatures_values_result_and_ignore_flag(ran):
    assert ran.run("ignore", "g:1").rc == 0
    blocks = {b.splitlines()[0]: b for b in ran.run("dumpdb").out.split("\n\n")[1:]}

    values = blocks["values"].splitlines()
    assert values[1] == "  checker: MD5Checker"
    assert values[2] == "  file_dep:"
    assert re.fullmatch(r"    in\.txt: " + SIGNATURE, values[3])
    assert re.fullmatch(r"    in\.txt: " + SIGNATURE, values[3]).group(1) == "6"
    assert re.fullmatch(r"    sub/other\.txt: " + SIGNATURE, values[4]).group(1) == "0"
    assert values[5:] == [
        '  values: {"answer": 42, "text": "h\\u00e9"}',
        '  result: {"answer": 42, "text": "h\\u00e9"}',  # a dict result is kept as is
        "  ignored: no",
    ]

    result = blocks["result"].splitlines()
    assert result[2] == "  file_dep: none"
    assert re.fullmatch(r'  result: "[0-9a-f]+"', result[4])

    assert blocks["g:1"].splitlines()[-1] == "  ignored: yes"
    assert blocks["g:0"].splitlines()[-1] == "  ignored: no"


@pytest.mark.cpp_only
def test_a_task_only_ignored_never_succeeded(project):
    project.dodo("def task_t():\n    return {'actions': ['echo t']}\n")
    assert project.run("ignore", "t").rc == 0
    r = project.run("dumpdb")
    assert r.out == (
        ".doit.db: doit-cpp state database, 1 task\n"
        "\n"
        "t\n"
        "  checker: none\n"
        "  file_dep: none\n"
        "  values: {}\n"
        "  result: none\n"
        "  ignored: yes\n"
    )


@pytest.mark.cpp_only
def test_timestamp_checker_stores_no_hash(ran):
    assert ran.run("--check_file_uptodate", "timestamp", "g:0").rc == 0
    block = [b for b in ran.run("dumpdb").out.split("\n\n") if b.startswith("g:0\n")][0]
    assert "  checker: TimestampChecker" in block
    assert re.search(r"    in\.txt: mtime .*, size 6, hash -$", block, re.M)


@pytest.mark.cpp_only
def test_an_unreadable_pydoit_database_is_refused_and_left_alone(project):
    # The first bytes of a gdbm file (pydoit's default dbm backend), and
    # nothing behind them. A readable one is shown as doit-cpp will import it
    # (test_switch_from_pydoit.py).
    data = b"\xce\x9a\x57\x13" + b"\0" * 60
    (project.path / ".doit.db").write_bytes(data)
    r = project.run("dumpdb")
    assert (r.rc, r.out) == (3, "")
    assert r.err.startswith("ERROR: cannot read pydoit's state in '.doit.db' (dbm.gnu): "), r
    assert (project.path / ".doit.db").read_bytes() == data
    assert sorted(p.name for p in project.path.iterdir()) == [".doit.db"]


@pytest.mark.cpp_only
def test_another_programs_database_is_refused(project):
    import sqlite3
    with sqlite3.connect(project.path / ".doit.db") as db:
        db.execute("CREATE TABLE other(x)")
    r = project.run("dumpdb")
    assert (r.rc, r.out) == (3, "")
    assert r.err.startswith("ERROR: '.doit.db' is not a doit-cpp state database (it looks "
                            "like the SQLite database of another program)")


@pytest.mark.cpp_only
def test_help_describes_the_format(project):
    r = project.run("help", "dumpdb")
    assert r.rc == 0
    assert "file_dep" in r.out and "ignored" in r.out and "mtime" in r.out

"""Up-to-date decisions (SPEC §8) and the state file (§9)."""

import dbm
import json
import os
import sqlite3

import pytest

from conftest import SEP, is_reference, traceback_shape

COPY = """
def task_copy():
    return {'actions': ['cat in.txt > out.txt'], 'file_dep': ['in.txt'],
            'targets': ['out.txt']}
"""


def ran(name):
    return f".  {name}\n"


def skipped(name):
    return f"-- {name}\n"


def test_first_run_executes_and_second_run_is_up_to_date(project):
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("copy"), "")
    assert project.read("out.txt") == "v1\n"
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("copy"), "")


def test_content_change_of_a_file_dep_reruns(project):
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    project.run()
    project.write("in.txt", "v2\n")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("copy"), "")
    assert project.read("out.txt") == "v2\n"
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("copy"), "")


def test_same_size_content_change_reruns(project):
    project.dodo(COPY)
    project.write("in.txt", "aaaa\n")
    project.run()
    project.write("in.txt", "bbbb\n")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("copy"), "")


def test_touch_without_change_stays_up_to_date(project):
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    project.run()
    project.touch("in.txt", 5)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("copy"), "")
    # Still up to date on the next run (nothing stored, hash compared again).
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("copy"), "")


def test_rewrite_with_identical_content_stays_up_to_date(project):
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    project.run()
    project.write("in.txt", "v1\n")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("copy"), "")


def test_timestamp_checker_reruns_on_touch(project):
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    r = project.run("--check_file_uptodate=timestamp")
    assert r.out == ran("copy")
    r = project.run("--check_file_uptodate=timestamp")
    assert (r.rc, r.out, r.err) == (0, skipped("copy"), "")
    project.touch("in.txt", 5)
    r = project.run("--check_file_uptodate=timestamp")
    assert (r.rc, r.out, r.err) == (0, ran("copy"), "")


def test_timestamp_checker_reruns_when_mtime_goes_back(project):
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    project.run("--check_file_uptodate", "timestamp")
    project.touch("in.txt", -3600)
    r = project.run("--check_file_uptodate", "timestamp")
    assert (r.rc, r.out, r.err) == (0, ran("copy"), "")


def test_check_file_uptodate_from_doit_config(project):
    project.dodo("DOIT_CONFIG = {'check_file_uptodate': 'timestamp'}\n" + COPY)
    project.write("in.txt", "v1\n")
    project.run()
    project.touch("in.txt", 5)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("copy"), "")


def test_switching_the_checker_reruns_once(project):
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    project.run()
    r = project.run("--check_file_uptodate=timestamp")
    assert (r.rc, r.out, r.err) == (0, ran("copy"), "")
    r = project.run("--check_file_uptodate=timestamp")
    assert (r.rc, r.out, r.err) == (0, skipped("copy"), "")


def test_missing_target_reruns(project):
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    project.run()
    project.remove("out.txt")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("copy"), "")
    assert project.read("out.txt") == "v1\n"


def test_task_without_dependencies_always_runs(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo x > t.out'], 'targets': ['t.out']}
        """)
    for _ in range(3):
        r = project.run()
        assert (r.rc, r.out, r.err) == (0, ran("t"), "")


def test_always_execute_runs_up_to_date_tasks(project):
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    project.run()
    r = project.run("-a")
    assert (r.rc, r.out, r.err) == (0, ran("copy"), "")
    r = project.run("--always-execute")
    assert (r.rc, r.out, r.err) == (0, ran("copy"), "")


def test_added_file_dep_reruns(project):
    project.write("a.txt", "a\n")
    project.write("b.txt", "b\n")
    project.dodo("""
        def task_t():
            return {'actions': ['echo t'], 'file_dep': ['a.txt']}
        """)
    project.run()
    project.dodo("""
        def task_t():
            return {'actions': ['echo t'], 'file_dep': ['a.txt', 'b.txt']}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("t"), "")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("t"), "")


def test_removed_file_dep_reruns(project):
    project.write("a.txt", "a\n")
    project.write("b.txt", "b\n")
    project.dodo("""
        def task_t():
            return {'actions': ['echo t'], 'file_dep': ['a.txt', 'b.txt']}
        """)
    project.run()
    project.dodo("""
        def task_t():
            return {'actions': ['echo t'], 'file_dep': ['a.txt']}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("t"), "")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("t"), "")


def test_dependent_stays_up_to_date_when_upstream_rewrites_same_content(project):
    project.dodo("""
        def task_modify():
            return {'actions': ['cat gen.txt > mod.txt'], 'file_dep': ['gen.txt'],
                    'targets': ['mod.txt']}
        def task_create():
            return {'actions': ['echo same > gen.txt'], 'targets': ['gen.txt']}
        """)
    r = project.run()
    assert r.out == ran("create") + ran("modify")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("create") + skipped("modify"), "")


def test_dependent_reruns_when_upstream_output_changes(project):
    project.dodo("""
        def task_modify():
            return {'actions': ['cat gen.txt > mod.txt'], 'file_dep': ['gen.txt'],
                    'targets': ['mod.txt']}
        def task_create():
            return {'actions': ['cat src.txt > gen.txt'], 'targets': ['gen.txt'],
                    'file_dep': ['src.txt']}
        """)
    project.write("src.txt", "one\n")
    project.run()
    project.write("src.txt", "two\n")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("create") + ran("modify"), "")
    assert project.read("mod.txt") == "two\n"


# -- failures and the state ---------------------------------------------------

def test_failed_task_reruns_next_time(project):
    project.dodo("""
        def task_t():
            return {'actions': ['test ! -e fail.flag'], 'file_dep': ['in.txt']}
        """)
    project.write("in.txt", "v1\n")
    r = project.run()
    assert (r.rc, r.out) == (0, ran("t"))
    project.write("fail.flag", "")
    r = project.run("-a")
    assert r.rc == 1
    project.remove("fail.flag")
    # Nothing changed since the failure, but the record was removed.
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("t"), "")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("t"), "")


def test_missing_file_dep_is_a_dependency_error(project):
    project.dodo("""
        def task_missing():
            return {'actions': ['echo m > m.txt'], 'file_dep': ['nofile.txt']}
        """)
    r = project.run()
    assert (r.rc, r.err) == (2, "")
    assert r.out == (
        "DependencyError - taskid:missing\n"
        "ERROR: Task 'missing' checking dependencies: Dependent file 'nofile.txt' does not exist.\n"
        "\n"
    )
    assert not project.exists("m.txt")


def test_missing_file_dep_with_missing_target_runs_then_fails_to_save(project):
    project.dodo("""
        def task_savefail():
            return {'actions': ['echo s'], 'file_dep': ['nofile.txt'], 'targets': ['t.out']}
        """)
    r = project.run()
    assert (r.rc, r.err) == (2, "")
    # pydoit 0.37 ends the message with a period, 0.31.1 does not.
    assert r.out.replace("exist.\n", "exist\n") == (
        ".  savefail\n"
        "DependencyError - taskid:savefail\n"
        "ERROR: Task 'savefail' saving success: Dependent file 'nofile.txt' does not exist\n"
        "\n"
        f"{SEP}\n"
        "savefail <stdout>:\n"
        "s\n"
        "\n"
    )


@pytest.mark.cpp_only
def test_saving_success_error_message_ends_with_a_period(project):
    project.dodo("""
        def task_savefail():
            return {'actions': ['echo s'], 'file_dep': ['nofile.txt'], 'targets': ['t.out']}
        """)
    r = project.run()
    assert r.rc == 2
    assert ("ERROR: Task 'savefail' saving success: Dependent file 'nofile.txt' "
            "does not exist.\n") in r.out.splitlines(keepends=True)


def test_exception_in_uptodate_callable_prints_traceback_and_exits_3(project):
    dodo = project.dodo("""
        def bad(task):
            raise ValueError('uptodate broke')
        def task_upexc():
            return {'actions': ['echo u > u.txt'], 'uptodate': [bad]}
        """)
    r = project.run()
    assert (r.rc, r.out) == (3, "")
    err = r.err
    if not is_reference():  # doit-cpp names the task first
        header = "ERROR: Task 'upexc': an uptodate check raised an exception.\n"
        assert err.startswith(header)
        err = err[len(header):]
    assert traceback_shape(err, project.path) == (
        "Traceback (most recent call last):\n"
        f'  File "{dodo}", line 2, in bad\n'
        "    raise ValueError('uptodate broke')\n"
        "ValueError: uptodate broke\n"
    )
    assert not project.exists("u.txt")


# -- uptodate items -------------------------------------------------------------

def test_uptodate_true_without_deps_never_runs(project):
    project.dodo("""
        def task_ok():
            return {'actions': ['echo x > ok.txt'], 'uptodate': [True]}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("ok"), "")
    assert not project.exists("ok.txt")


def test_uptodate_true_with_target_runs_only_when_target_is_missing(project):
    project.dodo("""
        def task_touch():
            return {'actions': ['echo x > t.txt'], 'targets': ['t.txt'], 'uptodate': [True]}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("touch"), "")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("touch"), "")
    project.remove("t.txt")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("touch"), "")


def test_uptodate_false_always_runs_even_with_unchanged_file_dep(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo t'], 'file_dep': ['in.txt'], 'uptodate': [False]}
        """)
    project.write("in.txt", "v\n")
    for _ in range(2):
        r = project.run()
        assert (r.rc, r.out, r.err) == (0, ran("t"), "")


def test_uptodate_none_alone_counts_as_no_dependencies(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo t'], 'uptodate': [None]}
        """)
    for _ in range(2):
        r = project.run()
        assert (r.rc, r.out, r.err) == (0, ran("t"), "")


def test_uptodate_none_leaves_the_decision_to_file_dep(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo t'], 'file_dep': ['in.txt'], 'uptodate': [None]}
        """)
    project.write("in.txt", "v\n")
    assert project.run().out == ran("t")
    assert project.run().out == skipped("t")


def test_uptodate_false_item_wins_over_true_item(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo t'], 'uptodate': [True, False]}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("t"), "")


def test_uptodate_callable_returning_true_or_false(project):
    project.dodo("""
        import os
        def flag_exists():
            return os.path.exists('flag')
        def task_t():
            return {'actions': ['echo t'], 'uptodate': [flag_exists]}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("t"), "")
    project.write("flag", "")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("t"), "")


def test_uptodate_callable_gets_the_task_as_first_argument(project):
    project.dodo("""
        def check(task):
            print('checking ' + task.name + ' ' + ','.join(task.targets))
            return False
        def task_t():
            return {'actions': ['echo t'], 'targets': ['x.out'], 'uptodate': [check]}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, "checking t x.out\n" + ran("t"), "")


def test_uptodate_callable_gets_the_saved_values_as_second_argument(project):
    project.dodo("""
        def save():
            return {'stamp': 'v1'}
        def check(task, values):
            print('values: %r' % (values,))
            return values.get('stamp') == 'v1'
        def task_t():
            return {'actions': [save], 'uptodate': [check]}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, "values: {}\n" + ran("t"), "")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, "values: {'stamp': 'v1'}\n" + skipped("t"), "")


def test_saved_values_come_back_as_json_made_them(project):
    # Every JSON type, big and small numbers, text beyond ASCII: the values
    # an uptodate callable gets are what json.loads makes of the saved text.
    saved = {"int": 12345678901234567890, "neg": -7, "float": 1.5, "tiny": 1e-7,
             "big": 1e300, "text": "é☃\U0001F600 \"q\"\n",
             "none": None, "yes": True, "no": False, "list": [1, [2.0, "x"], {}],
             "dict": {"k": {"nested": [None]}}, "tuple": (1, 2), "zero": -0.0}
    project.dodo(f"""
        def save():
            return {saved!r}
        def check(task, values):
            with open('got.txt', 'w', encoding='utf-8') as f:
                f.write(repr(sorted((k, repr(v), type(v).__name__) for k, v in values.items())))
            return bool(values)  # run once, to save them
        def task_t():
            return {{'actions': [save], 'uptodate': [check]}}
        """)
    assert project.run().out == ran("t")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("t"), "")
    want = json.loads(json.dumps(saved))
    assert project.read("got.txt") == repr(
        sorted((k, repr(v), type(v).__name__) for k, v in want.items()))


def test_uptodate_tuple_passes_args_and_kwargs(project):
    project.dodo("""
        def check(a, b, c=None):
            print('args %s %s %s' % (a, b, c))
            return c == 'yes'
        def task_t():
            return {'actions': ['echo t'], 'uptodate': [(check, [1, 2], {'c': 'yes'})]}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, "args 1 2 yes\n" + skipped("t"), "")


def test_uptodate_tuple_with_task_magic_argument_then_args(project):
    project.dodo("""
        def check(task, values, word):
            print('%s %r %s' % (task.name, values, word))
            return False
        def task_t():
            return {'actions': ['echo t'], 'uptodate': [(check, ('w',), {})]}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, "t {} w\n" + ran("t"), "")


def test_uptodate_shell_command_exit_status_decides(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo t'], 'uptodate': ['test -e flag']}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("t"), "")
    project.write("flag", "")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("t"), "")


def test_uptodate_shell_command_output_is_hidden(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo t'], 'uptodate': ['echo noise; echo noise >&2; true']}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("t"), "")


def test_all_uptodate_items_are_evaluated(project):
    project.dodo("""
        def first():
            print('first')
            return False
        def second():
            print('second')
            return True
        def task_t():
            return {'actions': ['echo t'], 'uptodate': [first, second]}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, "first\nsecond\n" + ran("t"), "")


def test_run_once_runs_only_the_first_time(project):
    project.dodo("""
        from doit.tools import run_once
        def task_t():
            return {'actions': ['echo t'], 'uptodate': [run_once]}
        """)
    assert project.run().out == ran("t")
    assert project.run().out == skipped("t")


def test_config_changed_with_a_string(project):
    project.dodo("""
        from doit.tools import config_changed
        from doit import get_var
        def task_t():
            return {'actions': ['echo t'], 'uptodate': [config_changed(get_var('cfg', 'a'))]}
        """)
    assert project.run().out == ran("t")
    assert project.run().out == skipped("t")
    assert project.run("cfg=b").out == ran("t")
    assert project.run("cfg=b").out == skipped("t")


def test_uptodate_task_keeps_its_values_for_getargs(project):
    project.dodo("""
        def produce():
            return {'word': 'kept'}
        def task_src():
            return {'actions': [produce], 'file_dep': ['in.txt']}
        def task_use():
            return {'actions': ['echo got %(w)s'], 'getargs': {'w': ('src', 'word')},
                    'verbosity': 2}
        """)
    project.write("in.txt", "v\n")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("src") + ran("use") + "got kept\n", "")
    r = project.run("use")
    assert (r.rc, r.out, r.err) == (0, skipped("use"), "")


# -- where the state lives ------------------------------------------------------

def test_db_file_option_keeps_state_in_another_file(project):
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    r = project.run("--db-file=other.db")
    assert r.out == ran("copy")
    assert not project.exists(".doit.db")
    r = project.run("--db-file", "other.db")
    assert (r.rc, r.out, r.err) == (0, skipped("copy"), "")
    # The default state file knows nothing about it.
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ran("copy"), "")


def test_dep_file_in_doit_config(project):
    project.dodo("DOIT_CONFIG = {'dep_file': 'state.db'}\n" + COPY)
    project.write("in.txt", "v1\n")
    assert project.run().out == ran("copy")
    assert not project.exists(".doit.db")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, skipped("copy"), "")


def test_relative_db_file_is_relative_to_the_dodo_folder(project):
    project.write("sub/dodo.py", COPY)
    project.write("sub/in.txt", "v1\n")
    r = project.run("-f", "sub/dodo.py", "--db-file=my.db")
    assert r.rc == 0
    assert not project.exists("my.db")
    r = project.run("--db-file=my.db", cwd="sub")
    assert (r.rc, r.out, r.err) == (0, skipped("copy"), "")


# -- our state file (SQLite, own schema) ------------------------------------------

SQLITE_MAGIC = b"SQLite format 3\x00"


@pytest.mark.cpp_only
def test_state_file_is_a_sqlite_database(project):
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    assert project.run().rc == 0
    assert project.read_bytes(".doit.db")[:16] == SQLITE_MAGIC


@pytest.mark.cpp_only
def test_state_file_is_written_at_the_db_file_path_exactly(project):
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    assert project.run("--db-file=state").rc == 0
    assert sorted(p.name for p in project.path.iterdir()) == [
        "dodo.py", "in.txt", "out.txt", "state"]
    assert project.read_bytes("state")[:16] == SQLITE_MAGIC


PYDOIT_RECORD = {
    "_values_:": {}, "checker:": "MD5Checker", "deps:": ["in.txt"],
    "in.txt": [1795637188.497765, 3, "b2a9f7d45a4c2f1e4f1c0e5a2ee4e1b8"],
}


def make_pydoit_dbm(path):
    with dbm.open(str(path), "c") as db:
        db[b"copy"] = json.dumps(PYDOIT_RECORD).encode()


def make_pydoit_json(path):
    path.write_text(json.dumps({"copy": PYDOIT_RECORD}))


def make_pydoit_sqlite(path):
    conn = sqlite3.connect(str(path))
    conn.execute("CREATE TABLE doit (task_id text not null primary key, task_data json)")
    conn.execute("INSERT INTO doit VALUES (?, ?)", ("copy", json.dumps(PYDOIT_RECORD)))
    conn.commit()
    conn.close()


@pytest.mark.cpp_only
@pytest.mark.parametrize("make", [make_pydoit_dbm, make_pydoit_json, make_pydoit_sqlite],
                         ids=["dbm", "json", "sqlite3"])
def test_pydoit_state_file_is_imported_and_kept_unchanged(project, make):
    # The recorded mtime is not in.txt's: the task runs (test_switch_from_pydoit
    # covers a real pydoit build that is not rebuilt).
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    make(project.path / ".doit.db")
    before = project.read_bytes(".doit.db")
    r = project.run()
    assert (r.rc, r.out) == (0, ".  copy\n"), r
    assert r.err == ("doit-cpp: imported the state of 1 task from pydoit's .doit.db "
                     "(kept as .doit.db.pydoit)\n")
    assert project.read_bytes(".doit.db.pydoit") == before
    assert project.read_bytes(".doit.db")[:16] == SQLITE_MAGIC


@pytest.mark.cpp_only
def test_pydoit_state_file_given_with_db_file_is_imported(project):
    project.dodo(COPY)
    project.write("in.txt", "v1\n")
    make_pydoit_json(project.path / "old-state.json")
    before = project.read_bytes("old-state.json")
    r = project.run("--db-file=old-state.json")
    assert (r.rc, r.out) == (0, ".  copy\n"), r
    assert "from pydoit's old-state.json (kept as old-state.json.pydoit)" in r.err
    assert project.read_bytes("old-state.json.pydoit") == before
    assert not project.exists(".doit.db")


# -- a file changed by an earlier task of the same run, without being its
# target, is seen by the tasks checked after it (as pydoit, which stats when
# it checks). With enough files to come, doit-cpp keeps its stat cache across
# actions and watches their folders: these projects are big enough for that.

UNDECLARED_WRITE = """
from pathlib import Path

DATA = ['data/d%d/f%02d.txt' % (d, f) for d in range(8) for f in range(10)]

def stamp():
    with open('data/d3/f03.txt', 'a') as f:
        f.write('stamped\\n')

def task_stamp():
    return {'actions': [stamp], 'uptodate': [False], 'verbosity': 2}

def task_use():
    def use():
        Path('sizes.txt').write_text(' '.join(str(Path(p).stat().st_size) for p in DATA))
    return {'actions': [use], 'task_dep': ['stamp'], 'file_dep': DATA}
"""


def undeclared_write_project(project):
    project.dodo(UNDECLARED_WRITE)
    for d in range(8):
        for f in range(10):
            project.write(f"data/d{d}/f{f:02d}.txt", "x\n")
    return project


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_an_earlier_task_changed_is_seen_in_the_same_run(project, jobs):
    undeclared_write_project(project)
    r = project.run("-n", jobs)
    assert (r.rc, r.out) == (0, ".  stamp\n.  use\n"), r
    r = project.run("-n", jobs)
    assert (r.rc, r.out) == (0, ".  stamp\n.  use\n"), r  # f03 grew: use runs again
    sizes = project.read("sizes.txt").split()
    assert sizes[33] == str(len("x\n") + 2 * len("stamped\n"))
    # What use saved is the file as stamp left it: only stamp's next write
    # makes it run again, nothing else.
    project.dodo(UNDECLARED_WRITE.replace("'uptodate': [False]", "'uptodate': [True]"))
    r = project.run("-n", jobs)
    assert (r.rc, r.out) == (0, "-- stamp\n-- use\n"), r


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_an_edited_task_changed_is_seen_in_the_same_run(project, jobs):
    # stamp runs because its file_dep was edited since the last run (a file
    # newer than the state: doit-cpp starts watching the folders of the
    # paths after it while the checks before stamp run).
    undeclared_write_project(project)
    project.write("trigger.txt", "1\n")
    project.dodo(UNDECLARED_WRITE.replace("'uptodate': [False]", "'file_dep': ['trigger.txt']"))
    r = project.run("-n", jobs)
    assert (r.rc, r.out) == (0, ".  stamp\n.  use\n"), r
    r = project.run("-n", jobs)
    assert (r.rc, r.out) == (0, "-- stamp\n-- use\n"), r
    project.write("trigger.txt", "2\n")
    state = max(project.mtime_ns(p) for p in (".doit.db", ".doit.db-wal") if project.exists(p))
    later = (state + 10**9) / 10**9  # newer than the state, whatever the clock's tick
    os.utime(project.path / "trigger.txt", (later, later))
    r = project.run("-n", jobs)
    assert (r.rc, r.out) == (0, ".  stamp\n.  use\n"), r
    sizes = project.read("sizes.txt").split()
    assert sizes[33] == str(len("x\n") + 2 * len("stamped\n"))
    r = project.run("-n", jobs)
    assert (r.rc, r.out) == (0, "-- stamp\n-- use\n"), r


def test_a_folder_an_earlier_task_replaced_is_seen_in_the_same_run(project):
    undeclared_write_project(project)
    project.dodo(UNDECLARED_WRITE.replace(
        "def stamp():\n    with open('data/d3/f03.txt', 'a') as f:\n        f.write('stamped\\n')",
        "def stamp():\n    import os, shutil\n"
        "    shutil.copytree('data/d5', 'data/new')\n"
        "    with open('data/new/f07.txt', 'w') as f:\n"
        "        f.write('replaced %d\\n' % len(os.listdir('data')))\n"
        "    os.rename('data/d5', 'data/old%d' % len(os.listdir('data')))\n"
        "    os.rename('data/new', 'data/d5')"))
    assert project.run().rc == 0
    r = project.run()
    assert (r.rc, r.out) == (0, ".  stamp\n.  use\n"), r
    assert project.read("sizes.txt").split()[57] == str(len("replaced 10\n"))


def test_a_hard_linked_file_an_earlier_task_changed_is_seen_in_the_same_run(project):
    # data/d6/f03.txt is a second name of data/d3/f03.txt: the write through
    # one name is seen through the other, both being the run's paths.
    undeclared_write_project(project)
    os.remove(project.path / "data/d6/f03.txt")
    os.link(project.path / "data/d3/f03.txt", project.path / "data/d6/f03.txt")
    assert project.run().rc == 0
    r = project.run()
    assert (r.rc, r.out) == (0, ".  stamp\n.  use\n"), r
    sizes = project.read("sizes.txt").split()
    assert sizes[33] == sizes[63] == str(len("x\n") + 2 * len("stamped\n"))


@pytest.mark.cpp_only
def test_a_change_through_a_hard_link_outside_the_run_is_seen_by_the_next_run(project):
    # The documented limit (docs/architecture.md): stamp writes through a
    # name in a folder that is none of the run's, which no watch sees. The
    # task checked after it is up to date in this run (pydoit would run it
    # now); the next run sees the change.
    undeclared_write_project(project)
    (project.path / "elsewhere").mkdir()
    os.link(project.path / "data/d3/f03.txt", project.path / "elsewhere/f03.txt")
    assert project.run().rc == 0
    project.dodo(UNDECLARED_WRITE.replace("open('data/d3/f03.txt', 'a')",
                                          "open('elsewhere/f03.txt', 'a')"))
    r = project.run()
    assert (r.rc, r.out) == (0, ".  stamp\n-- use\n"), r
    project.dodo(UNDECLARED_WRITE.replace("'uptodate': [False]", "'uptodate': [True]"))
    r = project.run()
    assert (r.rc, r.out) == (0, "-- stamp\n.  use\n"), r
    assert project.read("sizes.txt").split()[33] == str(len("x\n") + 2 * len("stamped\n"))


def test_a_file_an_earlier_task_rewrites_is_recorded_as_it_is_after_the_rewrite(project):
    # A first build: doit-cpp hashes the file_deps of the tasks to come on a
    # second thread while `a` runs; `a` rewrites x.txt after that. `b` must
    # record the new content: `a` rewrites it on every run, and `b` stays
    # up to date only if the hash it stored is of the new content.
    project.write("x.txt", "old\n")
    project.dodo("""
import time

def rewrite_x():
    time.sleep(0.3)
    with open('x.txt', 'w') as f:
        f.write('new content\\n')

def use_x():
    pass

def task_a():
    return {'actions': [rewrite_x]}

def task_b():
    return {'actions': [use_x], 'file_dep': ['x.txt'], 'task_dep': ['a']}
""")
    r = project.run()
    assert (r.rc, r.out) == (0, ".  a\n.  b\n"), r
    r = project.run()
    assert (r.rc, r.out) == (0, ".  a\n-- b\n"), r

"""The `reset-dep` command (SPEC §4.9): save the current file_dep state as
if the tasks had run, without running them."""

import re

import pytest

TASKS = '''
def task_a():
    return {'actions': ['echo A > a.out'], 'file_dep': ['in1', 'in2'],
            'targets': ['a.out']}
def task_b():
    return {'actions': ['echo b'], 'file_dep': ['in1', 'nofile']}
def task_c():
    return {'actions': ['echo c']}
def task_g():
    for i in range(2):
        yield {'name': i, 'actions': ['echo %d > g%d.out' % (i, i)], 'file_dep': ['in1']}
'''


@pytest.fixture
def tasks(project):
    project.dodo(TASKS)
    project.write("in1", "1\n")
    project.write("in2", "2\n")
    return project


def test_reset_dep_processes_every_task(tasks):
    r = tasks.run("reset-dep")
    assert (r.rc, r.err) == (0, "")
    assert r.out.splitlines() == [
        "processed a",
        "failed b (Dependent file 'nofile' does not exist.)",
        "processed c",
        "processed g",
        "processed g:0",
        "processed g:1",
    ]


def test_second_reset_dep_skips_what_is_up_to_date(tasks):
    tasks.run("reset-dep")
    r = tasks.run("reset-dep")
    assert r.rc == 0
    assert r.out.splitlines() == [
        "processed a",  # its target is missing
        "failed b (Dependent file 'nofile' does not exist.)",
        "processed c",  # no dependencies: never up to date
        "processed g",
        "skip g:0",
        "skip g:1",
    ]


def test_tasks_are_up_to_date_afterwards_without_having_run(tasks):
    assert tasks.run("reset-dep", "g").rc == 0
    r = tasks.run("g")
    assert (r.rc, r.out) == (0, "-- g:0\n-- g:1\n")
    assert not tasks.exists("g0.out")


def test_changed_file_dep_is_accepted_as_is(tasks):
    assert tasks.run("g").out == ".  g:0\n.  g:1\n"
    tasks.write("in1", "changed\n")
    r = tasks.run("reset-dep", "g:0")
    assert (r.rc, r.out) == (0, "processed g:0\n")
    assert tasks.run("g").out == "-- g:0\n.  g:1\n"


def test_named_group_includes_its_subtasks(tasks):
    r = tasks.run("reset-dep", "g", "c")
    assert r.rc == 0
    assert r.out == "processed g\nprocessed g:0\nprocessed g:1\nprocessed c\n"


def test_unknown_task_is_an_error(tasks):
    r = tasks.run("reset-dep", "c", "nope")
    assert (r.rc, r.out, r.err) == (3, "", "ERROR: 'nope' is not a task.\n")


def test_reset_dep_with_another_checker_rebuilds_the_state(tasks):
    assert tasks.run("g").rc == 0
    assert tasks.run("--check_file_uptodate", "timestamp", "g").out == ".  g:0\n.  g:1\n"
    assert tasks.run("g").out == ".  g:0\n.  g:1\n"
    r = tasks.run("reset-dep", "--check_file_uptodate", "timestamp", "g")
    assert r.out == "processed g\nprocessed g:0\nprocessed g:1\n"
    r = tasks.run("--check_file_uptodate", "timestamp", "g")
    assert r.out == "-- g:0\n-- g:1\n"


@pytest.mark.cpp_only
def test_missing_files_are_listed_in_declaration_order(project):
    # pydoit lists them in set order (random); we keep the file_dep order.
    project.dodo('''
        def task_t():
            return {'actions': [], 'file_dep': ['zz', 'present', 'aa']}
    ''')
    project.write("present", "")
    r = project.run("reset-dep")
    assert r.out == "failed t (Dependent file 'zz', 'aa' does not exist.)\n"


@pytest.mark.cpp_only
def test_values_and_result_are_kept(project):
    project.dodo('''
        def make():
            return {'answer': 42}
        def say():
            return 'hello'
        def task_v():
            return {'actions': [make], 'file_dep': ['in.txt']}
        def task_r():
            return {'actions': [say], 'file_dep': ['in.txt']}
    ''')
    project.write("in.txt", "1\n")
    assert project.run().rc == 0
    before = project.run("dumpdb").out
    project.write("in.txt", "longer\n")
    r = project.run("reset-dep")
    assert r.out == "processed v\nprocessed r\n"
    after = project.run("dumpdb").out

    def kept(text):
        return re.findall(r"^  (?:values|result): .*$", text, re.M)

    assert kept(after) == kept(before)
    assert '  values: {"answer": 42}' in after
    assert "    in.txt: mtime " in after and ", size 7, hash " in after
    assert project.run().out == "-- v\n-- r\n"

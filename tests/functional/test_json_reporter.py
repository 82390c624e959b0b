"""The `json` reporter (SPEC §11.2): nothing while tasks run, then one JSON
object (no newline after it) with an entry per checked task and everything
printed meanwhile."""

import json
import re

import pytest

SEPARATOR = "\n<------------------------------------------------>\n"
STARTED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")

TASKS = '''
import sys
def py():
    print("py out")
    sys.stderr.write("py err\\n")
def task_loud():
    return {'actions': ['echo hello', 'echo second; echo e2 >&2', 'true'], 'verbosity': 2}
def task_pyt():
    return {'actions': [py, 'echo x']}
def task_cmdfail():
    return {'actions': ['echo out-before; echo err-before 1>&2; exit 3']}
def task_after():
    return {'actions': ['echo after'], 'task_dep': ['cmdfail']}
def task_missing():
    return {'actions': ['echo m'], 'file_dep': ['nofile']}
def task_up():
    return {'actions': ['echo up'], 'uptodate': [True]}
def task_grp():
    return {'actions': None, 'task_dep': ['up']}
'''


@pytest.fixture
def tasks(project):
    project.dodo(TASKS)
    return project


def report(result):
    """The JSON object of a run; stdout must hold nothing else."""
    assert not result.out.endswith("\n"), result
    return json.loads(result.out)


def by_name(data):
    return {t["name"]: t for t in data["tasks"]}


def test_one_json_object_and_nothing_else(tasks):
    r = tasks.run("--reporter", "json", "-c")
    assert (r.rc, r.err) == (2, "")
    data = report(r)
    assert list(data) == ["tasks", "out", "err"]
    assert [t["name"] for t in data["tasks"]] == [
        "loud", "pyt", "cmdfail", "after", "missing", "up", "grp"]
    for entry in data["tasks"]:
        assert list(entry) == ["name", "result", "out", "err", "error", "started", "elapsed"]


def test_results_and_errors(tasks):
    tasks_ = by_name(report(tasks.run("--reporter", "json", "-c")))
    assert {name: t["result"] for name, t in tasks_.items()} == {
        "loud": "success", "pyt": "success", "cmdfail": "fail", "after": "fail",
        "missing": "fail", "up": "up-to-date", "grp": "success"}
    assert tasks_["cmdfail"]["error"] == (
        "Command failed: 'echo out-before; echo err-before 1>&2; exit 3' returned 3\n")
    assert tasks_["after"]["error"] == "cmdfail\n"
    assert tasks_["missing"]["error"] == (
        "ERROR: Task 'missing' checking dependencies: "
        "Dependent file 'nofile' does not exist.\n")
    for name in ("loud", "pyt", "up", "grp"):
        assert tasks_[name]["error"] is None


def test_start_time_and_elapsed_only_for_tasks_that_ran(tasks):
    tasks_ = by_name(report(tasks.run("--reporter", "json", "-c")))
    for name in ("loud", "pyt", "cmdfail", "grp"):
        assert STARTED.fullmatch(tasks_[name]["started"]), tasks_[name]
        assert isinstance(tasks_[name]["elapsed"], float)
        assert tasks_[name]["elapsed"] >= 0
    for name in ("after", "missing", "up"):
        assert (tasks_[name]["started"], tasks_[name]["elapsed"]) == (None, None)


def test_live_output_goes_into_the_report_not_the_terminal(tasks):
    data = report(tasks.run("--reporter", "json", "-c"))
    # verbosity 2 output of `loud`, and the stderr shown live at verbosity 1
    assert data["out"] == "hello\nsecond\n"
    assert data["err"] == "e2\npy err\nerr-before\n"


def test_failed_task_keeps_its_captured_output(tasks):
    tasks_ = by_name(report(tasks.run("--reporter", "json", "cmdfail")))
    assert tasks_["cmdfail"]["out"] == "out-before\n"
    assert tasks_["cmdfail"]["err"] == "err-before\n"


def test_skipped_tasks_have_empty_output(tasks):
    tasks_ = by_name(report(tasks.run("--reporter", "json", "-c")))
    for name in ("up", "after", "missing"):
        assert (tasks_[name]["out"], tasks_[name]["err"]) == ("", "")


def test_output_of_each_action_is_joined_with_a_separator(tasks):
    tasks_ = by_name(report(tasks.run("--reporter", "json", "loud", "pyt")))
    assert tasks_["loud"]["out"] == "hello\n" + SEPARATOR + "second\n"
    assert tasks_["loud"]["err"] == "e2\n"
    assert tasks_["pyt"]["out"] == "py out\n" + SEPARATOR + "x\n"
    assert tasks_["pyt"]["err"] == "py err\n"


def test_tasks_are_listed_in_the_order_they_were_checked(project):
    # `main` is checked before its setup task runs.
    project.dodo('''
        def task_prep():
            return {'actions': ['echo prep']}
        def task_main():
            return {'actions': ['echo main'], 'setup': ['prep']}
    ''')
    data = report(project.run("--reporter", "json", "main"))
    assert [t["name"] for t in data["tasks"]] == ["main", "prep"]


def test_up_to_date_and_ignored_tasks(project):
    project.dodo('''
        def task_a():
            return {'actions': ['echo a'], 'file_dep': ['in.txt']}
        def task_b():
            return {'actions': ['echo b']}
    ''')
    project.write("in.txt", "x\n")
    assert project.run().rc == 0
    assert project.run("ignore", "b").rc == 0
    r = project.run("--reporter", "json")
    assert r.rc == 0
    tasks_ = by_name(report(r))
    assert tasks_["a"]["result"] == "up-to-date"
    assert tasks_["b"]["result"] == "ignore"


def test_report_goes_to_the_output_file(tasks):
    r = tasks.run("--reporter", "json", "-o", "report.json", "loud")
    assert (r.rc, r.out, r.err) == (0, "", "")
    text = tasks.read("report.json")
    assert not text.endswith("\n")
    data = json.loads(text)
    assert [t["name"] for t in data["tasks"]] == ["loud"]
    assert data["out"] == "hello\nsecond\n"


def test_teardown_errors_are_added_to_err(project):
    project.dodo('''
        def task_td():
            return {'actions': ['echo td'], 'teardown': ['exit 1']}
    ''')
    r = project.run("--reporter", "json")
    assert (r.rc, r.err) == (0, "")
    data = report(r)
    assert data["err"].startswith("ERROR: task 'td' teardown action\n")


def test_non_ascii_output_is_escaped(project):
    project.dodo('''
        def task_u():
            return {'actions': ['echo h\\u00e9'], 'verbosity': 2}
    ''')
    r = project.run("--reporter", "json")
    assert r.rc == 0
    assert r.out.isascii()
    assert "\\u00e9" in r.out
    assert report(r)["out"] == "h\u00e9\n"


@pytest.mark.cpp_only
def test_help_lists_the_json_reporter(project):
    r = project.run("help", "run")
    assert "json" in r.out

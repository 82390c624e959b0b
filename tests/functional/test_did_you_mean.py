"""Did-you-mean (issue #9): an unknown task, target or command name gets
pydoit's error, unchanged (exit code, empty stdout, the same stderr text),
and then, on stderr only, the closest known name when one is a few edits
away. Against pydoit the tests check only pydoit's part."""

import pytest

from conftest import is_reference

DODO = '''
def task_build():
    return {'actions': ['echo built > out.txt'], 'targets': ['out/report.txt']}

def task_test():
    return {'actions': ['echo tested']}

def task_gen():
    for n in ['alpha', 'beta']:
        yield {'name': n, 'actions': ['echo ' + n]}
'''

INVALID = ('ERROR: Invalid parameter: "{0}". Must be a command, task, or a target.\n'
           'Type "doit help" to see available commands.\n'
           'Type "doit list" to see available tasks.\n\n')
RUN_INVALID = ('ERROR: command `run` invalid parameter: "{0}". Must be a task, or a target.\n'
               'Type "doit list" to see available tasks\n')


@pytest.fixture
def proj(project):
    project.dodo(DODO)
    return project


def check(r, pydoit_err, suggestion):
    """pydoit's result, then our suggestion line (or none)."""
    assert r.rc == 3
    assert r.out == ""
    if is_reference():
        assert r.err == pydoit_err
        return
    expected = pydoit_err + (f'Did you mean "{suggestion}"?\n' if suggestion else "")
    assert r.err == expected


def test_misspelt_task_without_command(proj):
    check(proj.run("biuld"), INVALID.format("biuld"), "build")


def test_misspelt_task_after_run(proj):
    check(proj.run("run", "tset"), RUN_INVALID.format("tset"), "test")


def test_misspelt_subtask(proj):
    check(proj.run("gen:alpah"), INVALID.format("gen:alpah"), "gen:alpha")


def test_misspelt_target(proj):
    check(proj.run("run", "out/reprot.txt"), RUN_INVALID.format("out/reprot.txt"),
          "out/report.txt")


def test_misspelt_command(proj):
    check(proj.run("lsit"), INVALID.format("lsit"), "list")


def test_run_never_suggests_a_command(proj):
    # `doit run` takes tasks and targets only
    check(proj.run("run", "cleen"), RUN_INVALID.format("cleen"), None)


def test_nothing_close_means_no_suggestion(proj):
    check(proj.run("deploy"), INVALID.format("deploy"), None)


def test_a_later_word_is_the_one_suggested_for(proj):
    check(proj.run("build", "tets"), INVALID.format("tets"), "test")


def test_not_a_task_in_list(proj):
    check(proj.run("list", "biuld"), "ERROR: 'biuld' is not a task.\n", "build")


@pytest.mark.cpp_only
def test_not_a_task_in_info(proj):
    # pydoit 0.31.1 prints a KeyError traceback here
    check(proj.run("info", "biuld"), "ERROR: 'biuld' is not a task.\n", "build")


def test_nothing_runs(proj):
    r = proj.run("biuld")
    assert r.rc == 3
    assert not proj.exists("out.txt")


def test_help_on_a_misspelt_topic(proj):
    # pydoit prints the general help (exit 0) and nothing on stderr
    r = proj.run("help", "biuld")
    assert r.rc == 0
    assert r.out == proj.run("help").out
    if not is_reference():
        assert r.err == 'No command or task named "biuld". Did you mean "build"?\n'
    else:
        assert r.err == ""


def test_help_on_a_far_topic_adds_nothing(proj):
    r = proj.run("help", "deploy")
    assert (r.rc, r.err) == (0, "")
    assert r.out == proj.run("help").out

"""The `clean` command (SPEC §4.4): which tasks, in which order, what
`clean: True` removes, and how clean actions run."""

import pytest

from conftest import traceback_shape

# `top` depends on `mid` (task_dep) and `g` (a group); `mid` reads `low`'s
# target (an implicit task_dep); `low` has a setup task `s`.
CHAIN = '''
def task_g():
    for i in range(3):
        yield {'name': i, 'actions': ['touch g%d' % i], 'targets': ['g%d' % i],
               'clean': True}
def task_top():
    return {'actions': ['touch top'], 'targets': ['top'], 'task_dep': ['mid', 'g'],
            'clean': True}
def task_mid():
    return {'actions': ['touch mid'], 'targets': ['mid'], 'file_dep': ['low.out'],
            'clean': True}
def task_low():
    return {'actions': ['touch low.out'], 'targets': ['low.out'], 'clean': True,
            'setup': ['s']}
def task_s():
    return {'actions': ['touch s'], 'targets': ['s'], 'clean': True}
'''

ALL_IN_ORDER = [
    "top - removing file 'top'",
    "mid - removing file 'mid'",
    "low - removing file 'low.out'",
    "s - removing file 's'",
    "g:2 - removing file 'g2'",
    "g:1 - removing file 'g1'",
    "g:0 - removing file 'g0'",
]


@pytest.fixture
def chain(project):
    project.dodo(CHAIN)
    r = project.run()
    assert r.rc == 0, r
    return project


def lines(text):
    return text.splitlines()


# --- which tasks, in which order --------------------------------------------------

def test_clean_without_names_cleans_every_task_dependents_first(chain):
    r = chain.run("clean")
    assert (r.rc, r.err) == (0, "")
    assert lines(r.out) == ALL_IN_ORDER
    for name in ("top", "mid", "low.out", "s", "g0", "g1", "g2"):
        assert not chain.exists(name)


def test_clean_without_names_cleans_default_tasks_and_their_dependencies(project):
    project.dodo('''
        DOIT_CONFIG = {'default_tasks': ['top']}
        def task_top():
            return {'actions': ['touch top'], 'targets': ['top'], 'task_dep': ['mid'],
                    'clean': True}
        def task_mid():
            return {'actions': ['touch mid'], 'targets': ['mid'], 'file_dep': ['low.out'],
                    'clean': True}
        def task_low():
            return {'actions': ['touch low.out'], 'targets': ['low.out'], 'clean': True}
        def task_other():
            return {'actions': ['touch other'], 'targets': ['other'], 'clean': True}
    ''')
    assert project.run("top", "other").rc == 0
    r = project.run("clean")
    assert (r.rc, r.err) == (0, "")
    assert lines(r.out) == [
        "top - removing file 'top'",
        "mid - removing file 'mid'",
        "low - removing file 'low.out'",
    ]
    assert project.exists("other")


def test_named_task_is_cleaned_without_its_dependencies(chain):
    r = chain.run("clean", "top")
    assert (r.rc, r.out) == (0, "top - removing file 'top'\n")
    assert chain.exists("mid")


def test_named_group_cleans_its_subtasks(chain):
    r = chain.run("clean", "g")
    assert r.rc == 0
    assert lines(r.out) == ALL_IN_ORDER[4:]
    assert chain.exists("top")


def test_clean_dep_cleans_dependents_before_dependencies(chain):
    r = chain.run("clean", "-c", "top")
    assert r.rc == 0
    assert lines(r.out) == [
        "top - removing file 'top'",
        "g:2 - removing file 'g2'",
        "g:1 - removing file 'g1'",
        "g:0 - removing file 'g0'",
        "mid - removing file 'mid'",
        "low - removing file 'low.out'",
        "s - removing file 's'",
    ]


def test_each_task_is_cleaned_once(chain):
    r = chain.run("clean", "-c", "low", "top", "g:1")
    assert r.rc == 0
    assert lines(r.out) == ALL_IN_ORDER


@pytest.mark.cpp_only
def test_clean_all_ignores_default_tasks(project):
    # 0.37 (#444); pydoit 0.31.1 cleaned only the default tasks.
    project.dodo('''
        DOIT_CONFIG = {'default_tasks': ['a']}
        def task_a():
            return {'actions': ['touch a'], 'targets': ['a'], 'clean': True}
        def task_b():
            return {'actions': ['touch b'], 'targets': ['b'], 'clean': True}
    ''')
    assert project.run("a", "b").rc == 0
    r = project.run("clean", "-a")
    assert (r.rc, r.out) == (0, "b - removing file 'b'\na - removing file 'a'\n")


@pytest.mark.cpp_only
def test_clean_all_with_names_still_cleans_everything(chain):
    r = chain.run("clean", "--clean-all", "g")
    assert r.rc == 0
    assert lines(r.out) == ALL_IN_ORDER


@pytest.mark.cpp_only
def test_wildcard_names_select_matching_tasks(chain):
    # 0.35+: `*` patterns over task names.
    r = chain.run("clean", "g:*", "to*")
    assert r.rc == 0
    assert lines(r.out) == [
        "g:0 - removing file 'g0'",
        "g:1 - removing file 'g1'",
        "g:2 - removing file 'g2'",
        "top - removing file 'top'",
    ]


@pytest.mark.cpp_only
def test_wildcard_matching_nothing_cleans_nothing(chain):
    r = chain.run("clean", "zz*")
    assert (r.rc, r.out, r.err) == (0, "", "")


def test_unknown_task_is_an_error(chain):
    r = chain.run("clean", "top", "nope")
    assert (r.rc, r.out) == (3, "")
    assert r.err == "ERROR: 'nope' is not a task.\n"
    assert chain.exists("top")


# --- clean: True ------------------------------------------------------------------

def test_missing_targets_are_skipped_silently(project):
    project.dodo('''
        def task_t():
            return {'actions': [], 'targets': ['never-made'], 'clean': True}
    ''')
    r = project.run("clean", "t")
    assert (r.rc, r.out, r.err) == (0, "", "")


def test_empty_directory_is_removed_but_not_a_full_one(project):
    project.dodo('''
        def task_t():
            return {'actions': [], 'targets': ['full', 'empty'], 'clean': True}
    ''')
    (project.path / "empty").mkdir()
    project.write("full/keep.txt", "x")
    r = project.run("clean", "t")
    assert r.rc == 0
    assert lines(r.out) == [
        "t - cannot remove (it is not empty) 'full'",
        "t - removing dir 'empty'",
    ]
    assert not project.exists("empty")
    assert project.exists("full/keep.txt")


@pytest.mark.cpp_only
def test_targets_are_removed_in_reverse_lexical_order(project):
    # 0.32+: a directory's files go before it; 0.31.1 removed files in target
    # order, then directories.
    project.dodo('''
        def task_t():
            return {'actions': [], 'targets': ['a.txt', 'd', 'd/f'], 'clean': True}
    ''')
    project.write("a.txt", "x")
    project.write("d/f", "x")
    r = project.run("clean", "t")
    assert r.rc == 0
    assert lines(r.out) == [
        "t - removing file 'd/f'",
        "t - removing dir 'd'",
        "t - removing file 'a.txt'",
    ]
    assert not project.exists("d")


def test_dry_run_only_tells(project):
    project.dodo('''
        def task_t():
            return {'actions': [], 'targets': ['f.txt', 'd'], 'clean': True}
    ''')
    project.write("f.txt", "x")
    project.write("d/inner", "x")
    r = project.run("clean", "-n", "t")
    assert r.rc == 0
    assert lines(r.out) == [
        "t - removing file 'f.txt'",
        "t - cannot remove (it is not empty) 'd'",
    ]
    assert project.exists("f.txt")


def test_task_without_clean_prints_nothing(project):
    project.dodo('''
        def task_t():
            return {'actions': ['touch out'], 'targets': ['out']}
    ''')
    assert project.run().rc == 0
    r = project.run("clean")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert project.exists("out")


# --- clean actions ----------------------------------------------------------------

ACTIONS = '''
import sys
from doit.task import clean_targets

def with_dryrun(dryrun):
    print("with_dryrun dryrun=%s" % dryrun)
    sys.stderr.write("dropped py err\\n")

def plain():
    print("plain ran")

def explode():
    raise ValueError("boom")

def task_t():
    return {'actions': ['touch t.out'], 'targets': ['t.out'],
            'clean': [clean_targets,
                      'echo c1; echo dropped-err >&2; exit 2',
                      (with_dryrun,),
                      plain,
                      explode,
                      'echo %(targets)s after']}
'''


@pytest.fixture
def actions(project):
    project.dodo(ACTIONS)
    assert project.run().rc == 0
    return project


def test_clean_actions_run_in_order_and_failures_do_not_stop_cleaning(actions):
    r = actions.run("clean", "t")
    assert r.rc == 0
    assert lines(r.out) == [
        "t - executing 'Python: function clean_targets'",
        "t - removing file 't.out'",
        "t - executing 'Cmd: echo c1; echo dropped-err >&2; exit 2'",
        "c1",
        "t - executing 'Python: function with_dryrun'",
        "with_dryrun dryrun=False",
        "t - executing 'Python: function plain'",
        "plain ran",
        "t - executing 'Python: function explode'",
        "t - executing 'Cmd: echo %(targets)s after'",
        "t.out after",
    ]
    assert not actions.exists("t.out")


def test_failing_clean_actions_are_reported_on_stderr(actions):
    r = actions.run("clean", "t")
    assert "dropped-err\n" not in r.err
    assert "dropped py err" not in r.err
    err = traceback_shape(r.err, actions.path)
    assert err == (
        "TaskFailed\n"
        "Command failed: 'echo c1; echo dropped-err >&2; exit 2' returned 2\n"
        "TaskError\n"
        "PythonAction Error\n"
        "Traceback (most recent call last):\n"
        f'  File "{actions.path}/dodo.py", line 12, in explode\n'
        '    raise ValueError("boom")\n'
        "ValueError: boom\n"
    )


def test_dry_run_runs_only_python_actions_taking_dryrun(actions):
    r = actions.run("clean", "--dry-run", "t")
    assert (r.rc, r.err) == (0, "")
    assert lines(r.out) == [
        "t - executing 'Python: function clean_targets'",
        "t - removing file 't.out'",
        "t - executing 'Cmd: echo c1; echo dropped-err >&2; exit 2'",
        "t - executing 'Python: function with_dryrun'",
        "with_dryrun dryrun=True",
        "t - executing 'Python: function plain'",
        "t - executing 'Python: function explode'",
        "t - executing 'Cmd: echo %(targets)s after'",
    ]
    assert actions.exists("t.out")


def test_clean_cmd_action_gets_no_changed_keyword(project):
    project.dodo('''
        def task_t():
            return {'actions': [], 'clean': ['echo %(changed)s', 'echo next']}
    ''')
    r = project.run("clean", "t")
    assert r.rc == 0
    assert lines(r.out) == [
        "t - executing 'Cmd: echo %(changed)s'",
        "t - executing 'Cmd: echo next'",
        "next",
    ]
    assert r.err.startswith("TaskError\nCmdAction Error creating command string\n")
    assert r.err.endswith("KeyError: 'changed'\n")


def test_clean_cmd_action_sees_task_params(project):
    project.dodo('''
        def task_t():
            return {'actions': [], 'params': [{'name': 'flag', 'default': 'dflt'}],
                    'clean': ['echo flag=%(flag)s']}
    ''')
    r = project.run("clean", "t")
    assert (r.rc, r.out) == (0, "t - executing 'Cmd: echo flag=%(flag)s'\nflag=dflt\n")


# --- --forget ---------------------------------------------------------------------

FORGETFUL = '''
def task_t():
    return {'actions': ['echo run'], 'file_dep': ['in.txt'], 'clean': ['echo cleaned']}
'''


@pytest.fixture
def forgetful(project):
    project.dodo(FORGETFUL)
    project.write("in.txt", "x\n")
    assert project.run().out == ".  t\n"
    return project


def test_clean_keeps_the_state_by_default(forgetful):
    assert forgetful.run("clean").rc == 0
    assert forgetful.run().out == "-- t\n"


def test_forget_removes_the_state_of_cleaned_tasks(forgetful):
    r = forgetful.run("clean", "--forget")
    assert (r.rc, r.out) == (0, "t - executing 'Cmd: echo cleaned'\ncleaned\n")
    assert forgetful.run().out == ".  t\n"


def test_forget_is_not_done_in_a_dry_run(forgetful):
    r = forgetful.run("clean", "--forget", "-n")
    assert (r.rc, r.out) == (0, "t - executing 'Cmd: echo cleaned'\n")
    assert forgetful.run().out == "-- t\n"


def test_invalid_clean_item_is_an_error_before_anything_is_cleaned(project):
    project.dodo('''
        def task_a():
            return {'actions': [], 'clean': ['echo first', 42]}
    ''')
    r = project.run("clean")
    assert (r.rc, r.out) == (3, "")
    assert r.err == "ERROR: Task 'a': invalid 'clean' type. got: 42 <class 'int'>\n"

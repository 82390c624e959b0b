"""Misuse of what a dodo.py can say: each a clear message naming the task and
the key (the task-model issue's list)."""

import pytest

pytestmark = pytest.mark.cpp_only


def test_getargs_naming_a_missing_task(project):
    project.dodo("""
        def task_a():
            return {'actions': ['echo %(x)s'], 'getargs': {'x': ('nosuch', 'k')}}
        """)
    r = project.run()
    assert (r.rc, r.out) == (3, "")
    assert r.err == "ERROR: Task 'a': getargs 'x' names the task 'nosuch', which does not exist.\n"


def test_getargs_naming_a_missing_key(project):
    project.dodo("""
        def task_b():
            return {'actions': [lambda: {'v': 1}]}
        def task_c():
            return {'actions': ['echo %(x)s'], 'getargs': {'x': ('b', 'nokey')}}
        """)
    r = project.run("c")
    assert r.rc == 2
    assert r.out == (".  b\nDependencyError - taskid:c\nERROR getting value for argument\n"
                     "Invalid arg name. Task 'b' has no value for 'nokey'.\n\n")


def test_param_value_of_the_wrong_type(project):
    project.dodo("""
        def task_p():
            return {'actions': ['echo %(n)s'],
                    'params': [{'name': 'n', 'long': 'n', 'default': 1, 'type': int}]}
        """)
    r = project.run("p", "--n", "x")
    assert (r.rc, r.out) == (3, "")
    assert r.err == ("ERROR: Error parsing parameter 'n' <class 'int'>.\n"
                     "invalid literal for int() with base 10: 'x'\n\n")


def test_config_changed_on_something_json_cannot_encode(project):
    project.dodo("""
        from doit.tools import config_changed
        def task_cc():
            return {'actions': ['true'], 'uptodate': [config_changed({'x': object()})]}
        """)
    r = project.run()
    assert (r.rc, r.out) == (3, "")
    assert r.err.startswith("ERROR: Task 'cc': an uptodate check raised an exception.\n"
                            "Traceback (most recent call last):\n")
    assert r.err.endswith("TypeError: Object of type object is not JSON serializable\n")


def test_create_after_naming_an_unknown_task(project):
    project.dodo("""
        from doit import create_after
        @create_after(executed='ghost')
        def task_late():
            return {'actions': ['true']}
        """)
    r = project.run()
    assert (r.rc, r.out) == (3, "")
    assert r.err == "ERROR: late. Task dependency 'ghost' does not exist.\n"

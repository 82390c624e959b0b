"""@create_after delayed task creation (SPEC §5.8) and @task_params (§5.7)."""

import pytest

DELAYED = """
import glob
from doit import create_after

def task_early():
    return {'actions': ['echo a > a.in', 'echo b > b.in'], 'targets': ['a.in', 'b.in']}

@create_after(executed='early', target_regex='.*\\\\.out')
def task_build():
    \"\"\"build every .in file that exists when it runs\"\"\"
    for inp in sorted(glob.glob('*.in')):
        yield {'name': inp, 'actions': ['cp %(dependencies)s %(targets)s'],
               'file_dep': [inp], 'targets': [inp[:-3] + '.out'], 'clean': True}
"""


def test_delayed_creator_runs_after_the_task_it_waits_for(project):
    project.dodo(DELAYED)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  early\n.  build:a.in\n.  build:b.in\n", "")
    assert project.read("b.out") == "b\n"
    r = project.run()
    assert (r.rc, r.out) == (0, ".  early\n-- build:a.in\n-- build:b.in\n")


def test_target_of_a_delayed_task_selects_its_creator_by_regex(project):
    project.dodo(DELAYED)
    r = project.run("b.out")
    assert (r.rc, r.out, r.err) == (0, ".  early\n.  build:b.in\n", "")
    assert not project.exists("a.out")


def test_not_yet_created_subtask_can_be_selected(project):
    project.dodo(DELAYED)
    r = project.run("build:a.in")
    assert (r.rc, r.out, r.err) == (0, ".  early\n.  build:a.in\n", "")


def test_target_no_delayed_creator_produces_is_an_error(project):
    project.dodo(DELAYED)
    r = project.run("nothing.txt")
    assert r.rc == 3
    assert r.err.startswith('ERROR: Invalid parameter: "nothing.txt".')


def test_list_runs_delayed_creators_at_once(project):
    project.dodo(DELAYED)
    project.write("x.in", "x\n")
    r = project.run("list", "--all")
    assert (r.rc, r.err) == (0, "")
    assert r.out == ("build        build every .in file that exists when it runs\n"
                     "build:x.in   \n"
                     "early        \n")


def test_creates_names_the_tasks_a_delayed_creator_makes(project):
    project.dodo("""
        from doit import create_after
        def task_first():
            return {'actions': ['echo first'], 'verbosity': 2}
        @create_after(executed='first', creates=['made'])
        def task_maker():
            yield {'basename': 'made', 'actions': ['echo made'], 'verbosity': 2}
        """)
    r = project.run("made")
    assert (r.rc, r.out, r.err) == (0, ".  first\nfirst\n.  made\nmade\n", "")
    r = project.run("list")
    assert r.out == "first   \nmade    \n"


@pytest.mark.cpp_only
def test_auto_delayed_regex_tries_creators_without_a_regex(project):
    project.dodo("""
        from doit import create_after
        def task_early():
            return {'actions': ['echo early']}
        @create_after(executed='early')
        def task_gen():
            yield {'name': 'x', 'actions': ['echo x > x.out'], 'targets': ['x.out']}
        """)
    assert project.run("x.out").rc == 3
    r = project.run("--auto-delayed-regex", "x.out")
    assert (r.rc, r.out, r.err) == (0, ".  early\n.  gen:x\n", "")


TASK_PARAMS = """
from doit import task_params

@task_params([{'name': 'howmany', 'default': 2, 'type': int, 'long': 'howmany'}])
def task_subtasks(howmany):
    \"\"\"make sub-tasks\"\"\"
    for i in range(howmany):
        yield {'name': i, 'actions': ['echo %d' % i], 'verbosity': 2}
"""


@pytest.mark.cpp_only
def test_task_params_creator_gets_the_command_line_values(project):
    project.dodo(TASK_PARAMS)
    r = project.run("subtasks", "--howmany", "3")
    assert (r.rc, r.err) == (0, "")
    assert r.out == ".  subtasks:0\n0\n.  subtasks:1\n1\n.  subtasks:2\n2\n"


@pytest.mark.cpp_only
def test_task_params_creator_uses_defaults_when_not_named(project):
    project.dodo(TASK_PARAMS)
    r = project.run("list", "--all", "-q")
    assert r.out == "subtasks     \nsubtasks:0   \nsubtasks:1   \n"


@pytest.mark.cpp_only
def test_task_params_and_params_together_is_an_error(project):
    project.dodo("""
        from doit import task_params
        @task_params([{'name': 'p', 'default': 1}])
        def task_x(p):
            return {'actions': ['echo'], 'params': [{'name': 'q', 'default': 2}]}
        """)
    r = project.run()
    assert (r.rc, r.out) == (3, "")
    assert r.err == ("ERROR: Task 'x'. `params` attribute can not be used in conjuction "
                     "with `@task_params`\n")

"""The `list` command (SPEC §4.2). Padding is byte-exact: names are padded to
the longest printed name + 3, even when no doc follows."""

import pytest

from conftest import traceback_shape

TASKS = '''
def task_nodeps():
    return {'actions': ['echo n']}
def task_hello():
    """say hello

    more text"""
    return {'actions': ['echo h'], 'file_dep': ['in.txt']}
def task_group():
    return {'actions': None, 'task_dep': ['hello']}
def task_sub():
    """sub doc"""
    for i in range(2):
        yield {'name': i, 'actions': ['echo %d' % i], 'uptodate': [True]}
def task__private():
    return {'actions': ['echo p']}
def task_missing():
    return {'actions': ['echo m'], 'file_dep': ['nofile']}
'''


@pytest.fixture
def tasks(project):
    project.dodo(TASKS)
    project.write("in.txt", "x\n")
    return project


def test_list_shows_public_tasks_sorted_by_name_with_docs(tasks):
    r = tasks.run("list")
    assert (r.rc, r.err) == (0, "")
    assert r.out == (
        "group     \n"
        "hello     say hello\n"
        "missing   \n"
        "nodeps    \n"
        "sub       sub doc\n"
    )


def test_list_does_not_run_anything(tasks):
    tasks.dodo(TASKS.replace("'echo n'", "'echo n > ran.txt'"))
    r = tasks.run("list")
    assert r.rc == 0
    assert not tasks.exists("ran.txt")


def test_list_all_includes_subtasks(tasks):
    r = tasks.run("list", "--all")
    assert (r.rc, r.err) == (0, "")
    assert r.out == (
        "group     \n"
        "hello     say hello\n"
        "missing   \n"
        "nodeps    \n"
        "sub       sub doc\n"
        "sub:0     \n"
        "sub:1     \n"
    )


def test_list_private_includes_underscore_tasks(tasks):
    r = tasks.run("list", "--private")
    assert (r.rc, r.err) == (0, "")
    assert r.out == (
        "_private   \n"
        "group      \n"
        "hello      say hello\n"
        "missing    \n"
        "nodeps     \n"
        "sub        sub doc\n"
    )


def test_list_quiet_omits_docs_but_keeps_padding(tasks):
    for flag in ("-q", "--quiet"):
        r = tasks.run("list", flag)
        assert (r.rc, r.err) == (0, "")
        assert r.out == "group     \nhello     \nmissing   \nnodeps    \nsub       \n"


def test_list_status_letters(tasks):
    assert tasks.run("hello").rc == 0
    r = tasks.run("list", "--all", "-p", "-s")
    assert (r.rc, r.err) == (0, "")
    assert r.out == (
        "R _private   \n"
        "R group      \n"
        "U hello      say hello\n"
        "E missing    \n"
        "R nodeps     \n"
        "R sub        sub doc\n"
        "U sub:0      \n"
        "U sub:1      \n"
    )


def test_list_status_shows_run_after_a_change(tasks):
    tasks.run("hello")
    tasks.write("in.txt", "changed\n")
    r = tasks.run("list", "--status", "hello")
    assert (r.rc, r.out, r.err) == (0, "R hello   say hello\n", "")


def test_list_deps_prints_file_deps_after_each_task(tasks):
    r = tasks.run("list", "-q", "--deps")
    assert (r.rc, r.err) == (0, "")
    assert r.out == (
        "group     \n"
        "\n"
        "hello     \n"
        " -  in.txt\n"
        "\n"
        "missing   \n"
        " -  nofile\n"
        "\n"
        "nodeps    \n"
        "\n"
        "sub       \n"
        "\n"
    )


@pytest.mark.cpp_only
def test_list_deps_keeps_declaration_order(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo'], 'file_dep': ['z.txt', 'a.txt', 'm.txt']}
        """)
    r = project.run("list", "--deps")
    assert (r.rc, r.out, r.err) == (0, "t   \n -  z.txt\n -  a.txt\n -  m.txt\n\n", "")


def test_list_template(tasks):
    r = tasks.run("list", "--template", "{name}::{doc}")
    assert (r.rc, r.err) == (0, "")
    assert r.out == "group::\nhello::say hello\nmissing::\nnodeps::\nsub::sub doc\n"


def test_list_template_with_status(tasks):
    tasks.run("hello")
    r = tasks.run("list", "-s", "--template={status}|{name}")
    assert (r.rc, r.err) == (0, "")
    assert r.out == "R|group\nU|hello\nE|missing\nR|nodeps\nR|sub\n"


def test_list_named_tasks_only_with_their_own_padding(tasks):
    r = tasks.run("list", "sub", "hello")
    assert (r.rc, r.out, r.err) == (0, "hello   say hello\nsub     sub doc\n", "")


def test_list_named_group_with_all_adds_its_subtasks(tasks):
    r = tasks.run("list", "--all", "sub")
    assert (r.rc, r.out, r.err) == (0, "sub     sub doc\nsub:0   \nsub:1   \n", "")


def test_list_unknown_task_exits_3(tasks):
    r = tasks.run("list", "nope")
    assert (r.rc, r.out, r.err) == (3, "", "ERROR: 'nope' is not a task.\n")


def test_list_doc_is_first_non_blank_line_stripped(project):
    project.dodo('''
        def task_a():
            """

               indented first line
            second line
            """
            return {'actions': ['echo']}
        def task_b():
            return {'actions': ['echo'], 'doc': '  explicit doc  \\nmore'}
        ''')
    r = project.run("list")
    assert (r.rc, r.out, r.err) == (0, "a   indented first line\nb   explicit doc\n", "")


def test_list_subtask_has_no_doc_unless_given(project):
    project.dodo('''
        def task_g():
            """group doc"""
            yield {'name': 'x', 'actions': ['echo']}
            yield {'name': 'y', 'actions': ['echo'], 'doc': 'y doc'}
        ''')
    r = project.run("list", "--all")
    assert (r.rc, r.out, r.err) == (0, "g     group doc\ng:x   \ng:y   y doc\n", "")


def test_list_of_an_empty_dodo_prints_nothing(project):
    project.dodo("X = 1\n")
    r = project.run("list")
    assert (r.rc, r.out, r.err) == (0, "", "")


@pytest.mark.cpp_only
def test_list_sort_by_definition(tasks):
    r = tasks.run("list", "--sort=definition", "-p")
    assert (r.rc, r.err) == (0, "")
    assert r.out == (
        "nodeps     \n"
        "hello      say hello\n"
        "group      \n"
        "sub        sub doc\n"
        "_private   \n"
        "missing    \n"
    )


@pytest.mark.cpp_only
def test_list_sort_by_name_is_the_default(tasks):
    r1 = tasks.run("list", "--sort", "name")
    r2 = tasks.run("list")
    assert (r1.rc, r1.err) == (0, "")
    assert r1.out == r2.out


@pytest.mark.cpp_only
def test_list_sort_rejects_unknown_value(tasks):
    r = tasks.run("list", "--sort=size")
    assert (r.rc, r.out) == (3, "")
    assert r.err == ("ERROR: Error parsing parameter 'sort'. Provided 'size' but "
                     "available choices are: 'name', 'definition'.\n")


def test_list_status_with_an_uptodate_exception_prints_its_traceback(project):
    dodo = project.dodo("""
        def bad(task):
            raise ValueError('uptodate broke')
        def task_upexc():
            return {'actions': ['echo u > u.txt'], 'uptodate': [bad]}
        """)
    r = project.run("list", "--status")
    assert (r.rc, r.out) == (3, "")
    assert traceback_shape(r.err, project.path) == (
        "Traceback (most recent call last):\n"
        f'  File "{dodo}", line 2, in bad\n'
        "    raise ValueError('uptodate broke')\n"
        "ValueError: uptodate broke\n"
    )


def test_list_reads_the_tasks_without_checking_their_dependencies(project):
    # As pydoit's list: a task_dep naming no task, two tasks with one target
    # and a name made twice are errors for the commands that run tasks only.
    project.dodo("""
        def task_a():
            return {'actions': ['echo a'], 'basename': 'b', 'doc': 'first',
                    'targets': ['x']}
        def task_b():
            return {'actions': ['echo b'], 'doc': 'second', 'targets': ['x']}
        def task_c():
            return {'actions': ['echo c'], 'task_dep': ['nothing', '*']}
        """)
    r = project.run("list")
    assert (r.rc, r.out, r.err) == (0, "b   first\nb   second\nc   \n", "")
    r = project.run("list", "--status", "c")
    assert (r.rc, r.out, r.err) == (0, "R c   \n", "")
    r = project.run()
    assert r.rc == 3
    assert r.err == "ERROR: Task names must be unique. b\n"

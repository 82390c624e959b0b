"""Loading the dodo file (SPEC §2, §3.1) and creating tasks from it (§5)."""

import pytest

from conftest import traceback_shape

MISSING_DODO = "ERROR: Could not find dodo file '{}'.\nPlease use '-f' to specify file name.\n\n"

HELLO = """
def task_hello():
    return {'actions': ['echo hello']}
"""

# Writes the task's working directory (basename) to where.txt.
WHERE = """
def task_where():
    return {'actions': ['basename "$(pwd)" > where.txt']}
"""


# -- finding the dodo file -------------------------------------------------

def test_runs_dodo_py_of_the_current_folder(project):
    project.dodo(HELLO)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  hello\n", "")


def test_missing_dodo_file_names_its_absolute_path_and_exits_3(project):
    r = project.run()
    assert r.rc == 3
    assert r.out == ""
    assert r.err == MISSING_DODO.format(project.path / "dodo.py")


def test_file_option_loads_another_file(project):
    project.write("tasks.py", HELLO)
    r = project.run("-f", "tasks.py")
    assert (r.rc, r.out, r.err) == (0, ".  hello\n", "")


def test_long_file_option_loads_another_file(project):
    project.write("tasks.py", HELLO)
    r = project.run("--file=tasks.py")
    assert (r.rc, r.out, r.err) == (0, ".  hello\n", "")


def test_file_option_with_missing_file_exits_3(project):
    project.dodo(HELLO)
    r = project.run("-f", "nope.py")
    assert (r.rc, r.out) == (3, "")
    assert r.err == MISSING_DODO.format(project.path / "nope.py")


def test_file_option_with_absolute_path_from_another_folder(project):
    project.write("proj/dodo.py", HELLO)
    project.write("elsewhere/.keep", "")
    r = project.run("-f", project.path / "proj" / "dodo.py", cwd="elsewhere")
    assert (r.rc, r.out, r.err) == (0, ".  hello\n", "")


def test_actions_run_in_the_folder_of_the_dodo_file(project):
    project.write("sub/dodo.py", WHERE)
    r = project.run("-f", "sub/dodo.py")
    assert (r.rc, r.out, r.err) == (0, ".  where\n", "")
    assert project.read("sub/where.txt") == "sub\n"
    assert not project.exists("where.txt")


def test_state_file_is_created_in_the_folder_of_the_dodo_file(project):
    project.write("sub/dodo.py", HELLO)
    r = project.run("-f", "sub/dodo.py")
    assert r.rc == 0
    assert project.exists("sub/.doit.db")
    assert not project.exists(".doit.db")


def test_dir_option_changes_the_working_folder(project):
    project.dodo(WHERE)
    (project.path / "out").mkdir()
    r = project.run("-d", "out")
    assert (r.rc, r.out, r.err) == (0, ".  where\n", "")
    assert project.read("out/where.txt") == "out\n"
    assert not project.exists("where.txt")


def test_long_dir_option_changes_the_working_folder(project):
    project.dodo(WHERE)
    (project.path / "out").mkdir()
    r = project.run("--dir=out")
    assert (r.rc, r.out, r.err) == (0, ".  where\n", "")
    assert project.read("out/where.txt") == "out\n"


def test_dir_option_that_is_not_a_folder_exits_3(project):
    project.dodo(HELLO)
    r = project.run("-d", "nodir")
    assert (r.rc, r.out) == (3, "")
    assert r.err == (
        "ERROR: Specified 'dir' path must be a directory.\n"
        f"Got 'nodir'({project.path / 'nodir'}).\n"
    )


def test_seek_file_finds_dodo_in_a_parent_folder(project):
    project.dodo(WHERE)
    (project.path / "a" / "b").mkdir(parents=True)
    r = project.run("-k", cwd="a/b")
    assert (r.rc, r.out, r.err) == (0, ".  where\n", "")
    assert project.read("where.txt") == "work\n"


def test_long_seek_file_option_finds_dodo_in_a_parent_folder(project):
    project.dodo(HELLO)
    (project.path / "a").mkdir()
    r = project.run("--seek-file", cwd="a")
    assert (r.rc, r.out, r.err) == (0, ".  hello\n", "")


def test_seek_file_from_environment_variable(project):
    project.dodo(HELLO)
    (project.path / "a").mkdir()
    r = project.run(cwd="a", env={"DOIT_SEEK_FILE": "1"})
    assert (r.rc, r.out, r.err) == (0, ".  hello\n", "")


def test_without_seek_file_a_dodo_in_the_parent_is_not_found(project):
    project.dodo(HELLO)
    (project.path / "a").mkdir()
    r = project.run(cwd="a")
    assert (r.rc, r.out) == (3, "")
    assert r.err == MISSING_DODO.format(project.path / "a" / "dodo.py")


def test_seek_file_that_finds_nothing_names_the_bare_file(project):
    (project.path / "a").mkdir()
    r = project.run("-k", "-f", "nothere.py", cwd="a")
    assert (r.rc, r.out) == (3, "")
    assert r.err == MISSING_DODO.format("nothere.py")


@pytest.mark.cpp_only
def test_doit_file_environment_variable_selects_the_dodo_file(project):
    project.write("tasks.py", HELLO)
    r = project.run(env={"DOIT_FILE": "tasks.py"})
    assert (r.rc, r.out, r.err) == (0, ".  hello\n", "")


@pytest.mark.cpp_only
def test_file_option_beats_doit_file_environment_variable(project):
    project.write("tasks.py", HELLO)
    project.write("other.py", "def task_other():\n    return {'actions': ['echo o']}\n")
    r = project.run("-f", "other.py", env={"DOIT_FILE": "tasks.py"})
    assert (r.rc, r.out, r.err) == (0, ".  other\n", "")


@pytest.mark.cpp_only
def test_loader_options_may_come_before_the_command(project):
    project.write("tasks.py", HELLO)
    r = project.run("-f", "tasks.py", "list")
    assert (r.rc, r.out, r.err) == (0, "hello   \n", "")


# -- importing the dodo file -----------------------------------------------

def test_dodo_folder_is_on_the_import_path(project):
    project.write("sub/helper.py", "WORD = 'from-helper'\n")
    project.write("sub/dodo.py", """
        import helper
        def task_h():
            return {'actions': ['echo ' + helper.WORD]}
        """)
    r = project.run("-v", "2", "-f", "sub/dodo.py")
    assert (r.rc, r.out, r.err) == (0, ".  h\nfrom-helper\n", "")


def test_dodo_module_code_runs_in_the_dodo_folder(project):
    project.write("sub/data.txt", "payload\n")
    project.write("sub/dodo.py", """
        CONTENT = open('data.txt').read().strip()
        def task_h():
            return {'actions': ['echo ' + CONTENT]}
        """)
    r = project.run("-v", "2", "-f", "sub/dodo.py")
    assert (r.rc, r.out, r.err) == (0, ".  h\npayload\n", "")


def test_dodo_module_is_named_after_the_file(project):
    project.write("build_tasks.py", """
        def task_name():
            return {'actions': ['echo ' + __name__]}
        """)
    r = project.run("-v", "2", "-f", "build_tasks.py")
    assert (r.rc, r.out, r.err) == (0, ".  name\nbuild_tasks\n", "")


def test_exception_in_dodo_prints_traceback_and_exits_3(project):
    dodo = project.dodo("""
        x = 1
        y = x / 0
        """)
    r = project.run()
    assert (r.rc, r.out) == (3, "")
    assert traceback_shape(r.err, project.path) == (
        "Traceback (most recent call last):\n"
        f'  File "{dodo}", line 2, in <module>\n'
        "    y = x / 0\n"
        "ZeroDivisionError: division by zero\n"
    )


def test_exception_in_a_task_creator_prints_traceback_and_exits_3(project):
    dodo = project.dodo("""
        def task_bad():
            raise RuntimeError('creator broke')
        """)
    r = project.run()
    assert (r.rc, r.out) == (3, "")
    assert traceback_shape(r.err, project.path) == (
        "Traceback (most recent call last):\n"
        f'  File "{dodo}", line 2, in task_bad\n'
        "    raise RuntimeError('creator broke')\n"
        "RuntimeError: creator broke\n"
    )


def test_a_generator_raising_half_way_creates_no_task_and_exits_3(project):
    # The sub-tasks yielded before the exception do not run either.
    dodo = project.dodo("""
        def task_gen():
            for i in range(3):
                if i == 2:
                    raise ValueError('broke after %d sub-tasks' % i)
                yield {'name': str(i), 'actions': ['touch ran%d.txt' % i]}
        """)
    r = project.run()
    assert (r.rc, r.out) == (3, "")
    assert traceback_shape(r.err, project.path) == (
        "Traceback (most recent call last):\n"
        f'  File "{dodo}", line 4, in task_gen\n'
        "    raise ValueError('broke after %d sub-tasks' % i)\n"
        "ValueError: broke after 2 sub-tasks\n"
    )
    assert not project.exists("ran0.txt") and not project.exists("ran1.txt")


@pytest.mark.parametrize("creator, frame", [
    # a creator calling itself for ever
    ("def deep(n):\n    return deep(n + 1)\ndef task_rec():\n    return deep(0)\n",
     "line 2, in deep"),
    # a generator yielding itself: sub-generators are flattened recursively
    ("def task_rec():\n    yield task_rec()\n", "line 2, in task_rec"),
])
def test_infinite_recursion_in_a_creator_is_a_recursion_error_and_exits_3(project, creator, frame):
    dodo = project.dodo(creator)
    r = project.run()
    assert (r.rc, r.out) == (3, "")
    assert r.err.startswith("Traceback (most recent call last):\n")
    assert f'File "{dodo}", {frame}' in r.err
    assert r.err.endswith("RecursionError: maximum recursion depth exceeded\n")
    assert "internal error" not in r.err


def test_import_error_in_dodo_exits_3(project):
    dodo = project.dodo("import no_such_module_xyz\n")
    r = project.run()
    assert (r.rc, r.out) == (3, "")
    assert traceback_shape(r.err, project.path) == (
        "Traceback (most recent call last):\n"
        f'  File "{dodo}", line 1, in <module>\n'
        "    import no_such_module_xyz\n"
        "ModuleNotFoundError: No module named 'no_such_module_xyz'\n"
    )


def test_syntax_error_in_dodo_exits_3(project):
    project.dodo("def task_x(:\n    pass\n")
    r = project.run()
    assert (r.rc, r.out) == (3, "")
    assert r.err.startswith("Traceback (most recent call last):\n")
    assert r.err.splitlines()[-1].startswith("SyntaxError: ")


def test_dodo_without_tasks_prints_nothing_and_succeeds(project):
    project.dodo("X = 1\n")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, "", "")


def test_doit_config_must_be_a_dict(project):
    project.dodo("DOIT_CONFIG = 3\n" + HELLO)
    r = project.run()
    assert (r.rc, r.out) == (3, "")
    assert r.err == "ERROR: DOIT_CONFIG  must be a dict. got:'3'<class 'int'>\n"


def test_minversion_newer_than_doit_exits_3(project):
    project.dodo("DOIT_CONFIG = {'minversion': '99.0.0'}\n" + HELLO)
    r = project.run()
    assert (r.rc, r.out) == (3, "")
    head = "ERROR: Please update doit. Minimum version required is 99.0.0. You are using ("
    assert r.err.startswith(head)
    assert r.err.endswith("). \n")


def test_minversion_older_than_doit_is_accepted(project):
    project.dodo("DOIT_CONFIG = {'minversion': '0.1.0'}\n" + HELLO)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  hello\n", "")


# -- task creators -----------------------------------------------------------

def test_dict_creator_makes_one_task_named_after_the_function(project):
    project.dodo("""
        def task_compile():
            '''Compile it.'''
            return {'actions': ['echo c']}
        """)
    r = project.run("list")
    assert (r.rc, r.out, r.err) == (0, "compile   Compile it.\n", "")
    r = project.run("compile")
    assert (r.rc, r.out, r.err) == (0, ".  compile\n", "")


def test_generator_creator_makes_subtasks_and_a_silent_group(project):
    project.dodo("""
        def task_gen():
            '''the group'''
            for n in ['a', 'b']:
                yield {'name': n, 'actions': ['echo ' + n]}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  gen:a\n.  gen:b\n", "")
    r = project.run("list", "--all")
    assert (r.rc, r.out) == (0, "gen     the group\ngen:a   \ngen:b   \n")


def test_subtask_names_are_formatted_with_str(project):
    project.dodo("""
        def task_n():
            for i in range(2):
                yield {'name': i, 'actions': ['echo %d' % i]}
        """)
    r = project.run("n:1")
    assert (r.rc, r.out, r.err) == (0, ".  n:1\n", "")


def test_basename_replaces_the_creator_name(project):
    project.dodo("""
        def task_whatever():
            return {'basename': 'real', 'actions': ['echo r']}
        """)
    r = project.run("real")
    assert (r.rc, r.out, r.err) == (0, ".  real\n", "")
    r = project.run("list")
    assert r.out == "real   \n"


def test_generator_yielding_basenames_makes_independent_tasks(project):
    project.dodo("""
        def task_many():
            '''shared doc'''
            yield {'basename': 'one', 'actions': ['echo 1']}
            yield {'basename': 'two', 'actions': ['echo 2'], 'doc': 'own doc'}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  one\n.  two\n", "")
    r = project.run("list")
    assert r.out == "one   shared doc\ntwo   own doc\n"


def test_empty_generator_makes_an_empty_group(project):
    project.dodo("""
        def task_empty():
            '''nothing inside'''
            return
            yield
        """)
    r = project.run("list", "--all")
    assert (r.rc, r.out, r.err) == (0, "empty   nothing inside\n", "")
    r = project.run("empty")
    assert (r.rc, r.out, r.err) == (0, "", "")


def test_subtask_named_none_defines_the_group(project):
    project.dodo("""
        def task_grp():
            yield {'name': None, 'doc': 'group doc from None'}
            yield {'name': 'x', 'actions': ['echo x']}
        """)
    r = project.run("list", "--all")
    assert (r.rc, r.out, r.err) == (0, "grp     group doc from None\ngrp:x   \n", "")
    r = project.run("grp")
    assert (r.rc, r.out, r.err) == (0, ".  grp:x\n", "")


def test_nested_generators_are_flattened(project):
    project.dodo("""
        def inner():
            yield {'name': 'i1', 'actions': ['echo i1']}
            yield {'name': 'i2', 'actions': ['echo i2']}
        def task_outer():
            yield {'name': 'o1', 'actions': ['echo o1']}
            yield inner()
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  outer:o1\n.  outer:i1\n.  outer:i2\n", "")


def test_creator_returning_none_makes_no_task(project):
    project.dodo("""
        def task_nothing():
            return None
        def task_some():
            return {'actions': ['echo s']}
        """)
    r = project.run("list")
    assert (r.rc, r.out, r.err) == (0, "some   \n", "")


def test_private_task_from_double_underscore_creator(project):
    project.dodo("""
        def task__hidden():
            return {'actions': ['echo h > hidden.txt']}
        """)
    r = project.run("_hidden")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert project.read("hidden.txt") == "h\n"


def test_create_doit_tasks_on_an_instance(project):
    project.dodo("""
        class Maker:
            def create_doit_tasks(self):
                return {'actions': ['echo made']}
        builder = Maker()
        """)
    r = project.run("-v", "2")
    assert (r.rc, r.out, r.err) == (0, ".  builder\nmade\n", "")


def test_create_doit_tasks_on_a_decorated_function(project):
    project.dodo("""
        def as_task(func):
            func.create_doit_tasks = func
            return func
        @as_task
        def sample():
            return {'actions': ['echo sampled'], 'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  sample\nsampled\n", "")


def test_task_prefixed_names_that_are_not_functions_are_ignored(project):
    project.dodo("""
        task_number = 3
        class task_klass:
            pass
        def task_real():
            return {'actions': ['echo r']}
        """)
    r = project.run("list")
    assert (r.rc, r.out, r.err) == (0, "real   \n", "")


def test_lambda_assigned_to_a_task_name_is_a_creator(project):
    project.dodo("task_lam = lambda: {'actions': ['echo l']}\n")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  lam\n", "")


def test_tasks_run_in_definition_order_not_alphabetical(project):
    project.dodo("""
        def task_zeta():
            return {'actions': ['echo z']}
        def task_alpha():
            return {'actions': ['echo a']}
        def task_mid():
            return {'actions': ['echo m']}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  zeta\n.  alpha\n.  mid\n", "")


def test_imported_creators_are_ordered_by_their_own_line_number(project):
    project.write("lib_tasks.py", """
        def task_imported():
            return {'actions': ['echo i']}
        """)
    project.dodo("""
        # a comment
        # another comment
        def task_local():
            return {'actions': ['echo l']}
        from lib_tasks import task_imported
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  imported\n.  local\n", "")


def test_default_tasks_select_what_runs_without_arguments(project):
    project.dodo("""
        DOIT_CONFIG = {'default_tasks': ['b']}
        def task_a():
            return {'actions': ['echo a']}
        def task_b():
            return {'actions': ['echo b']}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  b\n", "")
    r = project.run("a")
    assert (r.rc, r.out, r.err) == (0, ".  a\n", "")


def test_empty_default_tasks_runs_nothing(project):
    project.dodo("""
        DOIT_CONFIG = {'default_tasks': []}
        def task_a():
            return {'actions': ['echo a']}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, "", "")


def test_doit_config_verbosity_is_the_default_for_tasks(project):
    project.dodo("""
        DOIT_CONFIG = {'verbosity': 2}
        def task_a():
            return {'actions': ['echo shown']}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  a\nshown\n", "")


def test_get_var_reads_command_line_variables(project):
    project.dodo("""
        from doit import get_var
        WHO = get_var('who', 'nobody')
        def task_greet():
            return {'actions': ['echo hi ' + WHO], 'verbosity': 2}
        """)
    r = project.run("who=me")
    assert (r.rc, r.out, r.err) == (0, ".  greet\nhi me\n", "")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  greet\nhi nobody\n", "")


def test_file_and_dir_options_together(project):
    project.write("sub/dodo.py", WHERE)
    (project.path / "other").mkdir()
    r = project.run("-f", "sub/dodo.py", "-d", "other")
    assert (r.rc, r.out, r.err) == (0, ".  where\n", "")
    assert project.read("other/where.txt") == "other\n"


def test_initial_workdir_is_where_doit_was_started(project):
    project.dodo("""
        import os
        from doit import get_initial_workdir
        def task_w():
            return {'actions': ['echo ' + os.path.basename(get_initial_workdir())],
                    'verbosity': 2}
        """)
    (project.path / "deep").mkdir()
    r = project.run("-k", cwd="deep")
    assert (r.rc, r.out, r.err) == (0, ".  w\ndeep\n", "")


def test_pathlib_paths_in_file_dep_and_targets(project):
    project.dodo("""
        from pathlib import Path
        def task_p():
            return {'actions': ['cat %(dependencies)s > %(targets)s'],
                    'file_dep': [Path('in.txt')], 'targets': [Path('out') / 'res.txt']}
        """)
    project.write("in.txt", "data\n")
    (project.path / "out").mkdir()
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  p\n", "")
    assert project.read("out/res.txt") == "data\n"
    r = project.run("out/res.txt")
    assert (r.rc, r.out, r.err) == (0, "-- p\n", "")


@pytest.mark.cpp_only
def test_the_task_dicts_of_a_generator_are_not_kept_once_converted(project):
    # A path object weakly referenced: once its sub-task is converted, no
    # dict, list or str of it stays alive (pydoit keeps them in its Task).
    project.dodo("""
        import gc, weakref
        class P(str):
            pass
        refs = []
        def task_gen():
            for i in range(3):
                path = P('in%d.txt' % i)
                refs.append(weakref.ref(path))
                yield {'name': str(i), 'actions': ['true'], 'file_dep': [path],
                       'targets': [P('out%d' % i)]}
        def check():
            gc.collect()
            print('alive: %d' % sum(r() is not None for r in refs))
        def task_zcheck():
            return {'actions': [check], 'task_dep': ['gen'], 'verbosity': 2}
        """)
    for i in range(3):
        project.write(f"in{i}.txt", "x")
    r = project.run()
    assert r.rc == 0, r.err
    assert "alive: 0\n" in r.out


def test_a_command_task_seen_from_python_has_its_actions_and_clean(project):
    # The task object handed to Python code is rebuilt from what the core
    # holds when the dict had only command strings and clean=True.
    project.dodo("""
        def show(task):
            return '%s | %s | %r' % (task.name, ', '.join(str(a) for a in task.actions),
                                     task._remove_targets)
        def task_gen():
            for i in range(2):
                yield {'name': str(i), 'actions': ['echo a%d' % i, 'echo b'],
                       'clean': True, 'title': show}
        """)
    r = project.run()
    assert (r.rc, r.err) == (0, "")
    assert r.out == (".  gen:0 | Cmd: echo a0, Cmd: echo b | True\n"
                     ".  gen:1 | Cmd: echo a1, Cmd: echo b | True\n")

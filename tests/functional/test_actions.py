"""Actions: kinds, results, keyword injection, substitution (SPEC §7)."""

import os
import signal

import pytest

from conftest import SEP, no_addr, traceback_shape


def test_string_action_runs_through_sh(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo $0; echo abc | tr a-c x-z; X=1; echo "x=$X"'],
                    'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\n/bin/sh\nxyz\nx=1\n", "")


def test_list_action_runs_without_a_shell(project):
    project.dodo("""
        def task_t():
            return {'actions': [['echo', '$HOME', 'a  b', '%(targets)s']], 'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\n$HOME a  b %(targets)s\n", "")


def test_list_action_accepts_pathlib_paths(project):
    project.dodo("""
        from pathlib import Path
        def task_t():
            return {'actions': [['cat', Path('sub') / 'f.txt']], 'verbosity': 2}
        """)
    project.write("sub/f.txt", "inside\n")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\ninside\n", "")


def test_actions_run_in_order_and_stop_at_the_first_failure(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo one >> log', 'echo two >> log; exit 1',
                                'echo three >> log']}
        """)
    r = project.run()
    assert r.rc == 1
    assert project.read("log") == "one\ntwo\n"


def test_python_action_callable(project):
    project.dodo("""
        def write():
            with open('py.txt', 'w') as f:
                f.write('from python')
        def task_t():
            return {'actions': [write]}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\n", "")
    assert project.read("py.txt") == "from python"


def test_python_action_tuple_with_args_and_kwargs(project):
    project.dodo("""
        def show(a, b, sep='-', end='!'):
            print(a + sep + b + end)
        def task_t():
            return {'actions': [(show, ['x', 'y'], {'sep': '+'}), (show, ('p', 'q')), (show, ['m', 'n'])],
                    'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\nx+y!\np-q!\nm-n!\n", "")


def test_python_action_may_be_a_lambda_or_a_method(project):
    project.dodo("""
        class Tool:
            def run(self):
                print('method')
        def task_t():
            return {'actions': [lambda: print('lambda'), Tool().run], 'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\nlambda\nmethod\n", "")


@pytest.mark.parametrize("value", ["None", "True", "{'a': 1}", "'text'"])
def test_python_action_successful_return_values(project, value):
    project.dodo(f"""
        def act():
            return {value}
        def task_t():
            return {{'actions': [act]}}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\n", "")


def test_python_action_returning_false_is_task_failed_exit_1(project):
    project.dodo("""
        def pyfalse():
            print('pf-out')
            return False
        def task_pyfalse():
            return {'actions': [pyfalse]}
        """)
    r = project.run()
    assert (r.rc, r.err) == (1, "")
    assert no_addr(r.out) == (
        ".  pyfalse\n"
        "TaskFailed - taskid:pyfalse\n"
        "Python Task failed: '<function pyfalse at 0x?>' returned False\n"
        "\n"
        f"{SEP}\n"
        "pyfalse <stdout>:\n"
        "pf-out\n"
        "\n"
    )


def test_python_action_raising_is_task_error_exit_2(project):
    dodo = project.dodo("""
        def pyexc():
            raise ValueError("boom")
        def task_pyexc():
            return {'actions': [pyexc]}
        """)
    r = project.run()
    assert (r.rc, r.err) == (2, "")
    assert traceback_shape(r.out, project.path) == (
        ".  pyexc\n"
        "TaskError - taskid:pyexc\n"
        "PythonAction Error\n"
        "Traceback (most recent call last):\n"
        f'  File "{dodo}", line 2, in pyexc\n'
        '    raise ValueError("boom")\n'
        "ValueError: boom\n"
        "\n"
        f"{SEP}\n"
        "pyexc <stdout>:\n"
        "\n"
    )


def test_python_action_returning_other_value_is_task_error(project):
    project.dodo("""
        def r42():
            return 42
        def task_r42():
            return {'actions': [r42]}
        """)
    r = project.run()
    assert (r.rc, r.err) == (2, "")
    assert no_addr(r.out) == (
        ".  r42\n"
        "TaskError - taskid:r42\n"
        "Python Task error: '<function r42 at 0x?>'. It must return:\n"
        "False for failed task.\n"
        "True, None, string or dict for successful task\n"
        "returned 42 (<class 'int'>)\n"
        "\n"
        f"{SEP}\n"
        "r42 <stdout>:\n"
        "\n"
    )


def test_python_action_returning_task_failed_instance(project):
    project.dodo("""
        from doit.exceptions import TaskFailed
        def act():
            return TaskFailed('custom failure')
        def task_t():
            return {'actions': [act]}
        """)
    r = project.run()
    assert (r.rc, r.err) == (1, "")
    assert r.out == (
        ".  t\nTaskFailed - taskid:t\ncustom failure\n\n"
        f"{SEP}\nt <stdout>:\n\n"
    )


@pytest.mark.parametrize("code", [1, 125])
def test_command_exit_1_to_125_is_task_failed_exit_1(project, code):
    project.dodo(f"""
        def task_t():
            return {{'actions': ['exit {code}']}}
        """)
    r = project.run()
    assert (r.rc, r.err) == (1, "")
    assert r.out == (
        f".  t\nTaskFailed - taskid:t\nCommand failed: 'exit {code}' returned {code}\n\n"
        f"{SEP}\nt <stdout>:\n\n"
    )


@pytest.mark.parametrize("code", [126, 127, 200])
def test_command_exit_above_125_is_task_error_exit_2(project, code):
    project.dodo(f"""
        def task_t():
            return {{'actions': ['echo before; exit {code}']}}
        """)
    r = project.run()
    assert (r.rc, r.err) == (2, "")
    assert r.out == (
        f".  t\nTaskError - taskid:t\nCommand error: 'echo before; exit {code}' returned {code}\n\n"
        f"{SEP}\nt <stdout>:\nbefore\n\n"
    )


def test_failing_list_action_shows_the_list(project):
    project.dodo("""
        def task_t():
            return {'actions': [['sh', '-c', 'exit 3']]}
        """)
    r = project.run()
    assert (r.rc, r.err) == (1, "")
    assert r.out == (
        ".  t\nTaskFailed - taskid:t\nCommand failed: '['sh', '-c', 'exit 3']' returned 3\n\n"
        f"{SEP}\nt <stdout>:\n\n"
    )


def test_failure_message_shows_the_expanded_command(project):
    project.dodo("""
        def task_t():
            return {'actions': ['test -e %(targets)s'], 'targets': ['nothing.txt']}
        """)
    r = project.run()
    assert r.rc == 1
    assert r.out.splitlines()[2] == "Command failed: 'test -e nothing.txt' returned 1"


def test_unknown_format_key_in_command_is_task_error(project):
    project.dodo("""
        def task_nokey():
            return {'actions': ['echo %(nokey)s']}
        """)
    r = project.run()
    assert (r.rc, r.err) == (2, "")
    assert traceback_shape(r.out, project.path) == (
        ".  nokey\n"
        "TaskError - taskid:nokey\n"
        "CmdAction Error creating command string\n"
        "Traceback (most recent call last):\n"
        "KeyError: 'nokey'\n"
        "\n"
        f"{SEP}\n"
        "nokey <stdout>:\n"
        "\n"
    )


# -- CmdAction ---------------------------------------------------------------

def test_cmd_action_object_with_popen_cwd(project):
    project.dodo("""
        from doit.action import CmdAction
        def task_t():
            return {'actions': [CmdAction('basename "$(pwd)"', cwd='sub')], 'verbosity': 2}
        """)
    (project.path / "sub").mkdir()
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\nsub\n", "")


def test_cmd_action_from_a_callable_returning_the_command(project):
    project.dodo("""
        from doit.action import CmdAction
        def build(targets):
            return 'echo building %s' % ' '.join(targets)
        def task_t():
            return {'actions': [CmdAction(build)], 'targets': ['a.o', 'b.o'],
                    'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\nbuilding a.o b.o\n", "")


def test_cmd_action_save_out_stores_stdout_as_a_value(project):
    project.dodo("""
        from doit.action import CmdAction
        def task_src():
            return {'actions': [CmdAction('echo save-me', save_out='out')]}
        def show(out):
            print('got %r' % out)
        def task_use():
            return {'actions': [show], 'getargs': {'out': ('src', 'out')}, 'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  src\n.  use\ngot 'save-me\\n'\n", "")


# -- keyword injection into python-actions ---------------------------------------

def test_python_action_gets_targets_dependencies_and_task(project):
    project.dodo("""
        def act(targets, dependencies, task):
            print(targets, sorted(dependencies), task.name)
        def task_t():
            return {'actions': [act], 'file_dep': ['in.txt'], 'targets': ['o1', 'o2'],
                    'verbosity': 2}
        """)
    project.write("in.txt", "x")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\n['o1', 'o2'] ['in.txt'] t\n", "")


def test_python_action_gets_only_the_changed_file_deps(project):
    project.dodo("""
        def act(changed):
            print(sorted(changed))
        def task_t():
            return {'actions': [act], 'file_dep': ['a.txt', 'b.txt'], 'verbosity': 2}
        """)
    project.write("a.txt", "a")
    project.write("b.txt", "b")
    r = project.run()
    assert r.out == ".  t\n['a.txt', 'b.txt']\n"
    project.write("b.txt", "b2")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\n['b.txt']\n", "")


def test_options_reach_callables_with_and_without_the_task(project):
    # One callable takes the task (its options are set, without `changed`),
    # the other only the param; both see the value given on the command line.
    project.dodo("""
        def with_task(task, size):
            print('task', sorted(task.options.items()), size)
        def without(size, changed):
            print('plain', size, sorted(changed))
        def task_t():
            return {'actions': [with_task, without], 'file_dep': ['a.txt'],
                    'params': [{'name': 'size', 'long': 'size', 'default': 1,
                                'type': int}],
                    'verbosity': 2}
        """)
    project.write("a.txt", "a")
    r = project.run("t", "--size", "3")
    assert (r.rc, r.out, r.err) == (
        0, ".  t\ntask [('size', 3)] 3\nplain 3 ['a.txt']\n", ""), r


def test_changed_is_empty_when_an_uptodate_item_is_false(project):
    project.dodo("""
        def act(changed):
            print(changed)
        def task_t():
            return {'actions': [act], 'file_dep': ['a.txt'], 'uptodate': [False],
                    'verbosity': 2}
        """)
    project.write("a.txt", "a")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\n[]\n", "")


def test_changed_is_all_file_deps_when_a_target_is_missing(project):
    project.dodo("""
        def act(changed):
            print(list(changed))
        def task_t():
            return {'actions': [act], 'file_dep': ['a.txt'], 'targets': ['never.out'],
                    'verbosity': 2}
        """)
    project.write("a.txt", "a")
    project.run()
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\n['a.txt']\n", "")


def test_keyword_bound_positionally_is_not_injected(project):
    project.dodo("""
        def act(targets):
            print('targets=%r' % (targets,))
        def task_t():
            return {'actions': [(act, ['mine'])], 'targets': ['real'], 'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\ntargets='mine'\n", "")


@pytest.mark.cpp_only
def test_dependencies_and_changed_are_lists_in_declaration_order(project):
    project.dodo("""
        def act(dependencies, changed):
            print(type(dependencies).__name__, dependencies, changed)
        def task_t():
            return {'actions': [act], 'file_dep': ['c.txt', 'a.txt', 'b.txt'],
                    'verbosity': 2}
        """)
    for f in ("a.txt", "b.txt", "c.txt"):
        project.write(f, f)
    r = project.run()
    assert (r.rc, r.out, r.err) == (
        0, ".  t\nlist ['c.txt', 'a.txt', 'b.txt'] ['c.txt', 'a.txt', 'b.txt']\n", "")


def test_reserved_keyword_with_a_default_aborts_execution(project):
    project.dodo("""
        def dflt(targets=None):
            pass
        def task_dflt():
            return {'actions': [dflt]}
        """)
    r = project.run()
    assert (r.rc, r.err) == (2, "")
    lines = r.out.splitlines()
    assert lines[:3] == [".  dflt", SEP, "Execution aborted."]
    assert len(lines) == 4
    # The wording differs between pydoit versions; see the cpp_only test.
    assert lines[3].startswith("Task dflt, action dflt():")
    assert lines[3].endswith("value (reserved by doit)")


@pytest.mark.cpp_only
def test_reserved_keyword_with_a_default_message(project):
    project.dodo("""
        def dflt(targets=None):
            pass
        def task_dflt():
            return {'actions': [dflt]}
        """)
    r = project.run()
    assert (r.rc, r.err) == (2, "")
    assert r.out == (
        f".  dflt\n{SEP}\nExecution aborted.\n"
        "Task dflt, action dflt():The argument 'targets' is not allowed to have a "
        "default value (reserved by doit)\n"
    )


# -- substitution in command strings -------------------------------------------------

def test_targets_and_dependencies_substitution(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo T=%(targets)s D=%(dependencies)s'],
                    'file_dep': ['in.txt'], 'targets': ['o1', 'o2'], 'verbosity': 2}
        """)
    project.write("in.txt", "x")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\nT=o1 o2 D=in.txt\n", "")


def test_changed_substitution(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo C=[%(changed)s]'], 'file_dep': ['a.txt', 'b.txt'],
                    'verbosity': 2}
        """)
    project.write("a.txt", "a")
    project.write("b.txt", "b")
    project.run()
    project.write("a.txt", "a2")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\nC=[a.txt]\n", "")
    r = project.run("-a")
    assert (r.rc, r.out, r.err) == (0, ".  t\nC=[]\n", "")


@pytest.mark.cpp_only
def test_dependencies_substitution_keeps_declaration_order(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo %(dependencies)s / %(changed)s'],
                    'file_dep': ['z.txt', 'a.txt', 'm.txt'], 'verbosity': 2}
        """)
    for f in ("z.txt", "a.txt", "m.txt"):
        project.write(f, f)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\nz.txt a.txt m.txt / z.txt a.txt m.txt\n", "")


def test_double_percent_is_a_literal_percent(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo 100%% done'], 'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\n100% done\n", "")


def test_substitution_applies_even_without_placeholders(project):
    project.dodo("""
        def task_t():
            return {'actions': ["printf '%%s\\\\n' a b"], 'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\na\nb\n", "")


def test_task_params_are_substituted_and_injected(project):
    project.dodo("""
        def show(num, names):
            print('py', num + 1, names)
        def task_t():
            return {'actions': ['echo cmd %(num)s', show], 'verbosity': 2,
                    'params': [{'name': 'num', 'short': 'n', 'type': int, 'default': 1},
                               {'name': 'names', 'long': 'name', 'type': list, 'default': []}]}
        """)
    r = project.run("t", "-n", "41", "--name", "a", "--name", "b")
    assert (r.rc, r.out, r.err) == (0, ".  t\ncmd 41\npy 42 ['a', 'b']\n", "")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\ncmd 1\npy 2 []\n", "")


def test_pos_arg_receives_the_remaining_words(project):
    project.dodo("""
        def show(pos):
            print('pos=%r' % (pos,))
        def task_p():
            return {'actions': [show, 'echo "cmd=[%(pos)s]"'], 'pos_arg': 'pos', 'verbosity': 2}
        """)
    r = project.run("p", "a", "b", "c")
    assert (r.rc, r.out, r.err) == (0, ".  p\npos=['a', 'b', 'c']\ncmd=[a b c]\n", "")


# -- values between tasks ------------------------------------------------------------

def test_getargs_passes_a_returned_value_to_another_task(project):
    project.dodo("""
        def produce():
            return {'version': '1.2'}
        def task_version():
            return {'actions': [produce]}
        def task_show():
            return {'actions': ['echo v=%(v)s'], 'getargs': {'v': ('version', 'version')},
                    'verbosity': 2}
        """)
    r = project.run("show")
    assert (r.rc, r.out, r.err) == (0, ".  version\n.  show\nv=1.2\n", "")


def test_getargs_from_a_group_is_a_dict_by_subtask(project):
    project.dodo("""
        def make(n):
            return {'x': n}
        def task_src():
            for n in [5, 7]:
                yield {'name': str(n), 'actions': [(make, [n])]}
        def show(vals):
            print(sorted(vals.items()))
        def task_use():
            return {'actions': [show], 'getargs': {'vals': ('src', 'x')}, 'verbosity': 2}
        """)
    r = project.run("use")
    assert (r.rc, r.out, r.err) == (0, ".  src:5\n.  src:7\n.  use\n[('5', 5), ('7', 7)]\n", "")


# -- teardown --------------------------------------------------------------------------

def test_teardown_runs_after_all_tasks_in_reverse_start_order(project):
    project.dodo("""
        def task_a():
            return {'actions': ['echo a'], 'teardown': ['echo teardown-a']}
        def task_b():
            return {'actions': ['echo b'], 'teardown': ['echo teardown-b']}
        def task_c():
            return {'actions': ['echo c']}
        """)
    r = project.run("-v", "2")
    assert (r.rc, r.out, r.err) == (
        0, ".  a\na\n.  b\nb\n.  c\nc\nteardown-b\nteardown-a\n", "")


def test_teardown_runs_even_when_the_task_failed(project):
    project.dodo("""
        def task_a():
            return {'actions': ['exit 1'], 'teardown': ['echo td > td.txt']}
        """)
    r = project.run()
    assert r.rc == 1
    assert project.read("td.txt") == "td\n"


def test_teardown_of_an_up_to_date_task_does_not_run(project):
    project.dodo("""
        def task_a():
            return {'actions': ['echo a'], 'uptodate': [True], 'teardown': ['echo td > td.txt']}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, "-- a\n", "")
    assert not project.exists("td.txt")


def test_newly_added_file_dep_is_in_changed(project):
    project.write("a.txt", "a")
    project.write("b.txt", "b")
    project.dodo("""
        def task_t():
            return {'actions': ['echo C=%(changed)s'], 'file_dep': ['a.txt'], 'verbosity': 2}
        """)
    project.run()
    project.dodo("""
        def task_t():
            return {'actions': ['echo C=%(changed)s'], 'file_dep': ['a.txt', 'b.txt'],
                    'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\nC=b.txt\n", "")


def test_actions_see_the_environment(project):
    project.dodo("""
        import os
        def task_t():
            return {'actions': ['echo cmd=$MY_VAR', lambda: print('py=' + os.environ['MY_VAR'])],
                    'verbosity': 2}
        """)
    r = project.run(env={"MY_VAR": "hello-env"})
    assert (r.rc, r.out, r.err) == (0, ".  t\ncmd=hello-env\npy=hello-env\n", "")


@pytest.mark.parametrize("verbosity", ["0", "2"])
def test_large_output_does_not_block(project, verbosity):
    project.dodo("""
        def task_big():
            return {'actions': ['seq 1 200000; seq 1 100000 >&2',
                                lambda: print('x' * 300000)]}
        """)
    r = project.run("-v", verbosity)
    assert r.rc == 0
    if verbosity == "2":
        lines = r.out.splitlines()
        assert lines[0] == ".  big"
        assert lines[1:200001] == [str(i) for i in range(1, 200001)]
        assert lines[200001:] == ["x" * 300000]
        assert r.err.splitlines() == [str(i) for i in range(1, 100001)]
    else:
        assert (r.out, r.err) == (".  big\n", "")


def test_python_action_returning_what_sys_stdout_write_returned_succeeds(project):
    # pydoit's capture stream returns None from write(), so this common
    # idiom is a successful action, not "returned 3 (<class 'int'>)".
    project.dodo("""
        import sys
        def task_t():
            return {'actions': [lambda: sys.stdout.write('hi\\n'),
                                lambda: sys.stderr.write('eh\\n')], 'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\nhi\n", "eh\n")


def test_cmd_action_stdin_is_inherited(project):
    project.dodo("""
        def task_t():
            return {'actions': ['cat; echo after-cat'], 'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\nafter-cat\n", "")


def test_result_dep_reruns_when_the_other_result_changes(project):
    project.dodo("""
        from doit.tools import result_dep
        def task_version():
            return {'actions': ['cat version.txt']}
        def task_build():
            return {'actions': ['echo build'], 'uptodate': [result_dep('version')]}
        """)
    project.write("version.txt", "1.0\n")
    r = project.run("build")
    assert (r.rc, r.out, r.err) == (0, ".  version\n.  build\n", "")
    r = project.run("build")
    assert (r.rc, r.out, r.err) == (0, ".  version\n-- build\n", "")
    project.write("version.txt", "2.0\n")
    r = project.run("build")
    assert (r.rc, r.out, r.err) == (0, ".  version\n.  build\n", "")


# -- CmdAction(buffering=N): live output as it comes, not line by line ------------

BUFFERING_DODO = """
from doit.action import CmdAction
def task_progress():
    command = "printf 'working...'; while [ ! -e go ]; do sleep 0.05; done; echo done"
    return {'actions': [CmdAction(command, buffering=BUFFERING)], 'verbosity': 2}
"""


def read_for(stream, seconds, until=None):
    """What `stream` gives within `seconds` (or as soon as `until` shows)."""
    import select
    import time
    got = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (until is None or until not in got):
        ready, _, _ = select.select([stream], [], [], 0.05)
        if ready:
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                break
            got += chunk
    return got


@pytest.mark.parametrize("buffering", [1, 0])
def test_cmd_action_buffering_shows_a_partial_line_at_once(project, buffering):
    project.dodo(BUFFERING_DODO.replace("BUFFERING", str(buffering)))
    proc = project.start()
    try:
        seen = read_for(proc.stdout, 20 if buffering else 1, until=b"working...")
        project.write("go", "")
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:  # doit leads its group: its command goes too
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if buffering:
        assert seen == b".  progress\nworking..."
    else:  # line by line: nothing of the line before it ends
        assert seen == b".  progress\n"
    assert (seen + out).decode() == ".  progress\nworking...done\n"
    assert proc.returncode == 0

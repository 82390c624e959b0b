"""Task selection and execution order (SPEC §10.1–§10.6)."""

import pytest

from conftest import is_reference


def dots(*names):
    """The console lines of tasks that executed, in order."""
    return "".join(f".  {n}\n" for n in names)


# The example of SPEC §10.3: A -> [B, C], B -> [D], D -> [E]; X -> [Y].
ORDER = """
def task_A(): return {'actions': ['echo A'], 'task_dep': ['B', 'C']}
def task_B(): return {'actions': ['echo B'], 'task_dep': ['D']}
def task_C(): return {'actions': ['echo C']}
def task_D(): return {'actions': ['echo D'], 'task_dep': ['E']}
def task_E(): return {'actions': ['echo E']}
def task_X(): return {'actions': ['echo X'], 'task_dep': ['Y']}
def task_Y(): return {'actions': ['echo Y']}
"""

INVALID_RUN_NOT_NAMED = (
    'ERROR: Invalid parameter: "{}". Must be a command, task, or a target.\n'
    'Type "doit help" to see available commands.\n'
    'Type "doit list" to see available tasks.\n\n'
)
INVALID_RUN_NAMED = (
    'ERROR: command `run` invalid parameter: "{}". Must be a task, or a target.\n'
    'Type "doit list" to see available tasks\n'
)


# -- order ----------------------------------------------------------------------

def test_task_dep_order_is_breadth_first_like(project):
    project.dodo(ORDER)
    r = project.run("A")
    assert (r.rc, r.out, r.err) == (0, dots("C", "E", "D", "B", "A"), "")


def test_selection_order_is_kept_and_each_task_runs_once(project):
    project.dodo(ORDER)
    r = project.run("X", "A")
    assert (r.rc, r.out, r.err) == (0, dots("Y", "X", "C", "E", "D", "B", "A"), "")


def test_no_selection_runs_all_tasks_in_definition_order(project):
    project.dodo(ORDER)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, dots("C", "E", "D", "B", "A", "Y", "X"), "")


def test_explicit_run_command_selects_the_same_way(project):
    project.dodo(ORDER)
    r = project.run("run", "A")
    assert (r.rc, r.out, r.err) == (0, dots("C", "E", "D", "B", "A"), "")


def test_dependency_selected_first_is_not_run_again(project):
    project.dodo(ORDER)
    r = project.run("D", "A")
    assert (r.rc, r.out, r.err) == (0, dots("E", "D", "B", "C", "A"), "")


def test_several_tasks_on_the_command_line_all_run(project):
    project.dodo(ORDER)
    r = project.run("E", "C", "Y")
    assert (r.rc, r.out, r.err) == (0, dots("E", "C", "Y"), "")


def test_group_of_groups_runs_breadth_first(project):
    project.dodo("""
        def task_everything(): return {'actions': None, 'task_dep': ['check', 'docs']}
        def task_check(): return {'actions': None, 'task_dep': ['lint', 'unit']}
        def task_lint(): return {'actions': ['echo lint']}
        def task_unit(): return {'actions': ['echo unit']}
        def task_docs(): return {'actions': ['echo docs']}
        """)
    r = project.run("everything")
    assert (r.rc, r.out, r.err) == (0, dots("docs", "lint", "unit"), "")


def test_task_dep_wildcard_matches_in_definition_order(project):
    project.dodo("""
        def task_all(): return {'actions': ['echo all'], 'task_dep': ['t_*']}
        def task_t_b(): return {'actions': ['echo b']}
        def task_t_a(): return {'actions': ['echo a']}
        def task_other(): return {'actions': ['echo o']}
        """)
    r = project.run("all")
    assert (r.rc, r.out, r.err) == (0, dots("t_b", "t_a", "all"), "")


def test_file_dep_on_another_tasks_target_runs_that_task_first(project):
    project.dodo("""
        def task_use():
            return {'actions': ['cat gen.txt > used.txt'], 'file_dep': ['gen.txt'],
                    'targets': ['used.txt']}
        def task_make():
            return {'actions': ['echo made > gen.txt'], 'targets': ['gen.txt']}
        """)
    r = project.run("use")
    assert (r.rc, r.out, r.err) == (0, dots("make", "use"), "")
    assert project.read("used.txt") == "made\n"


@pytest.mark.cpp_only
def test_implicit_deps_follow_file_dep_declaration_order(project):
    # pydoit follows set order here (random per process).
    project.dodo("""
        def task_z(): return {'actions': ['echo z > z.txt'], 'targets': ['z.txt']}
        def task_y(): return {'actions': ['echo y > y.txt'], 'targets': ['y.txt']}
        def task_x(): return {'actions': ['echo x > x.txt'], 'targets': ['x.txt']}
        def task_all():
            return {'actions': ['cat x.txt y.txt z.txt'],
                    'file_dep': ['x.txt', 'y.txt', 'z.txt']}
        """)
    for _ in range(3):
        r = project.run("-a", "all")
        assert (r.rc, r.out, r.err) == (0, dots("x", "y", "z", "all"), "")


@pytest.mark.cpp_only
def test_tasks_waiting_on_the_same_task_resume_in_waiting_order(project):
    # pydoit releases them in set order (random per process).
    project.dodo("""
        def task_A(): return {'actions': ['echo A'], 'task_dep': ['B', 'C', 'F']}
        def task_B(): return {'actions': ['echo B'], 'task_dep': ['D']}
        def task_C(): return {'actions': ['echo C'], 'task_dep': ['D']}
        def task_F(): return {'actions': ['echo F'], 'task_dep': ['D']}
        def task_D(): return {'actions': ['echo D']}
        """)
    for _ in range(3):
        r = project.run("A")
        assert (r.rc, r.out, r.err) == (0, dots("D", "B", "C", "F", "A"), "")


# -- setup ------------------------------------------------------------------------

SETUP = """
def task_prepare():
    return {'actions': ['echo prepared']}
def task_work():
    return {'actions': ['cat in.txt > out.txt'], 'file_dep': ['in.txt'],
            'targets': ['out.txt'], 'setup': ['prepare']}
"""


def test_setup_task_runs_before_a_task_that_runs(project):
    project.dodo(SETUP)
    project.write("in.txt", "x\n")
    r = project.run("work")
    assert (r.rc, r.out, r.err) == (0, dots("prepare", "work"), "")


def test_setup_task_does_not_run_when_the_task_is_up_to_date(project):
    project.dodo(SETUP)
    project.write("in.txt", "x\n")
    project.run("work")
    r = project.run("work")
    assert (r.rc, r.out, r.err) == (0, "-- work\n", "")


def test_setup_task_shared_by_two_tasks_runs_once(project):
    project.dodo("""
        def task_s(): return {'actions': ['echo s']}
        def task_t1(): return {'actions': ['echo 1'], 'setup': ['s']}
        def task_t2(): return {'actions': ['echo 2'], 'setup': ['s']}
        """)
    r = project.run("t1", "t2")
    assert (r.rc, r.out, r.err) == (0, dots("s", "t1", "t2"), "")


# -- names, sub-tasks, targets, wildcards -------------------------------------------

SUBTASKS = """
def task_sub():
    for n in ['a', 'b', 'c']:
        yield {'name': n, 'actions': ['echo ' + n]}
def task_subway():
    return {'actions': ['echo w']}
def task_other():
    return {'actions': ['echo o'], 'targets': ['other.out']}
"""


def test_group_name_runs_all_its_subtasks(project):
    project.dodo(SUBTASKS)
    r = project.run("sub")
    assert (r.rc, r.out, r.err) == (0, dots("sub:a", "sub:b", "sub:c"), "")


def test_subtask_can_be_selected_by_full_name(project):
    project.dodo(SUBTASKS)
    r = project.run("sub:b")
    assert (r.rc, r.out, r.err) == (0, dots("sub:b"), "")


def test_wildcard_over_subtasks(project):
    project.dodo(SUBTASKS)
    r = project.run("sub:*")
    assert (r.rc, r.out, r.err) == (0, dots("sub:a", "sub:b", "sub:c"), "")


def test_wildcard_matches_groups_subtasks_and_plain_tasks(project):
    project.dodo(SUBTASKS)
    r = project.run("su*")
    assert (r.rc, r.out, r.err) == (0, dots("sub:a", "sub:b", "sub:c", "subway"), "")


def test_wildcard_with_no_match_runs_nothing(project):
    project.dodo(SUBTASKS)
    r = project.run("zz*")
    assert (r.rc, r.out, r.err) == (0, "", "")


def test_target_on_the_command_line_selects_its_task(project):
    project.dodo(SUBTASKS)
    r = project.run("other.out")
    assert (r.rc, r.out, r.err) == (0, dots("other"), "")


def test_private_task_runs_without_a_status_line(project):
    project.dodo("""
        def task__prep(): return {'actions': ['echo p > p.txt']}
        def task_main(): return {'actions': ['cat p.txt'], 'task_dep': ['_prep']}
        """)
    r = project.run("main")
    assert (r.rc, r.out, r.err) == (0, dots("main"), "")
    assert project.read("p.txt") == "p\n"


# -- unknown names -------------------------------------------------------------------

def test_unknown_task_without_run_command_exits_3(project):
    project.dodo(SUBTASKS)
    r = project.run("nope")
    assert (r.rc, r.out, r.err) == (3, "", INVALID_RUN_NOT_NAMED.format("nope"))


def test_unknown_task_after_run_command_exits_3(project):
    project.dodo(SUBTASKS)
    r = project.run("run", "nope")
    assert (r.rc, r.out, r.err) == (3, "", INVALID_RUN_NAMED.format("nope"))


def test_unknown_subtask_exits_3(project):
    project.dodo(SUBTASKS)
    r = project.run("sub:zz")
    # doit-cpp adds a did-you-mean line on stderr (test_did_you_mean.py)
    hint = "" if is_reference() else 'Did you mean "sub:a"?\n'
    assert (r.rc, r.out, r.err) == (3, "", INVALID_RUN_NOT_NAMED.format("sub:zz") + hint)


def test_unknown_name_after_a_good_one_runs_nothing(project):
    project.dodo(SUBTASKS)
    r = project.run("subway", "nope")
    assert (r.rc, r.out, r.err) == (3, "", INVALID_RUN_NOT_NAMED.format("nope"))


# -- cycles ---------------------------------------------------------------------------

CYCLES = """
def task_x(): return {'actions': ['echo x'], 'task_dep': ['y']}
def task_y(): return {'actions': ['echo y'], 'task_dep': ['z']}
def task_z(): return {'actions': ['echo z'], 'task_dep': ['x']}
def task_s(): return {'actions': ['echo s'], 'task_dep': ['s']}
def task_f(): return {'actions': ['echo f'], 'file_dep': ['f.txt'], 'targets': ['f.txt']}
"""


@pytest.mark.parametrize("start,path", [
    ("x", "x -> y -> z -> x"),
    ("y", "y -> z -> x -> y"),
    ("s", "s -> s"),
    ("f", "f -> f"),
])
def test_cycle_is_spelled_out_and_exits_3(project, start, path):
    project.dodo(CYCLES)
    r = project.run(start)
    assert (r.rc, r.out) == (3, "")
    assert r.err == f"ERROR: Cyclic/recursive dependencies for task {start}: [{path}]\n"


# -- -s / --single ----------------------------------------------------------------------

def test_single_runs_the_task_without_its_task_dep(project):
    project.dodo(ORDER)
    r = project.run("-s", "A")
    assert (r.rc, r.out, r.err) == (0, dots("A"), "")


def test_long_single_option(project):
    project.dodo(ORDER)
    r = project.run("--single", "B")
    assert (r.rc, r.out, r.err) == (0, dots("B"), "")


def test_single_with_several_tasks_runs_them_all(project):
    # SPEC §17 decision 1 (0.37 runs only the first one).
    project.dodo(ORDER)
    r = project.run("-s", "B", "X")
    assert (r.rc, r.out, r.err) == (0, dots("B", "X"), "")


def test_single_on_a_group_runs_its_subtasks_but_not_their_deps(project):
    project.dodo("""
        def task_dep(): return {'actions': ['echo dep']}
        def task_g():
            for n in ['a', 'b']:
                yield {'name': n, 'actions': ['echo ' + n], 'task_dep': ['dep']}
        """)
    r = project.run("-s", "g")
    assert (r.rc, r.out, r.err) == (0, dots("g:a", "g:b"), "")


def test_single_keeps_setup_tasks(project):
    project.dodo("""
        def task_s(): return {'actions': ['echo s']}
        def task_d(): return {'actions': ['echo d']}
        def task_t(): return {'actions': ['echo t'], 'setup': ['s'], 'task_dep': ['d']}
        """)
    r = project.run("-s", "t")
    assert (r.rc, r.out, r.err) == (0, dots("s", "t"), "")


# -- task options on the command line ---------------------------------------------------

PARAMS = """
def task_p():
    return {'actions': ['echo p=%(p)s'], 'verbosity': 2,
            'params': [{'name': 'p', 'short': 'p', 'default': 'dflt'}]}
def task_c():
    return {'actions': ['echo c'], 'verbosity': 2}
"""


def test_task_options_follow_the_task_name(project):
    project.dodo(PARAMS)
    r = project.run("p", "-p", "X", "c")
    assert (r.rc, r.out, r.err) == (0, ".  p\np=X\n.  c\nc\n", "")


def test_task_named_twice_uses_the_last_options_and_keeps_the_rest(project):
    # SPEC §17 decision 23 (0.31.1 behaviour; 0.37 drops the rest of the line).
    project.dodo(PARAMS)
    r = project.run("p", "-p", "X", "p", "-p", "Y", "c")
    assert (r.rc, r.out, r.err) == (0, ".  p\np=Y\n.  c\nc\n", "")


def test_option_after_a_task_name_belongs_to_the_task(project):
    project.dodo(PARAMS)
    r = project.run("c", "-v", "2")
    assert (r.rc, r.out) == (3, "")
    assert r.err.startswith("ERROR: Error parsing Task: option -v not recognized (parsing options: [")


def test_default_tasks_may_name_targets_groups_and_wildcards(project):
    project.dodo("""
        DOIT_CONFIG = {'default_tasks': ['out.txt', 'g', 'w_*']}
        def task_make(): return {'actions': ['echo m > out.txt'], 'targets': ['out.txt']}
        def task_g():
            for n in ['a', 'b']:
                yield {'name': n, 'actions': ['echo ' + n]}
        def task_w_1(): return {'actions': ['echo w1']}
        def task_w_2(): return {'actions': ['echo w2']}
        def task_not(): return {'actions': ['echo not']}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, dots("make", "g:a", "g:b", "w_1", "w_2"), "")


@pytest.mark.cpp_only
def test_name_value_word_as_an_option_value_is_not_a_variable(project):
    # SPEC §17 decision 18: pydoit steals `a=b` even as the value of -p.
    project.dodo(PARAMS)
    r = project.run("p", "-p", "a=b")
    assert (r.rc, r.out, r.err) == (0, ".  p\np=a=b\n", "")


def test_name_value_word_anywhere_is_a_variable(project):
    project.dodo("""
        from doit import get_var
        def task_v():
            return {'actions': ['echo v=' + str(get_var('x'))], 'verbosity': 2}
        """)
    r = project.run("v", "x=1")
    assert (r.rc, r.out, r.err) == (0, ".  v\nv=1\n", "")


@pytest.mark.cpp_only
def test_info_on_an_unknown_task_is_a_clean_error(project):
    # SPEC §17 decision 3: pydoit crashes with a KeyError traceback.
    project.dodo(SUBTASKS)
    r = project.run("info", "nope")
    assert (r.rc, r.out) == (3, "")
    assert r.err.startswith("ERROR: ")
    assert "nope" in r.err
    assert "Traceback" not in r.err
    assert r.err.endswith("\n")

"""Console output: verbosity and capture (SPEC §7.5), the failure report
(§11.1), --continue, -o, private tasks, titles, exit codes (§12.1)."""

import pytest

from conftest import SEP

# One cmd-action and one python-action, each writing to stdout and stderr.
STREAMS = """
import sys
def pyact():
    print("py-out")
    sys.stderr.write("py-err\\n")
def task_cmd():
    return {'actions': ['echo cmd-out; echo cmd-err 1>&2']}
def task_py():
    return {'actions': [pyact]}
"""

FAIL = """
def task_cmdfail():
    return {'actions': ['echo out-before; echo err-before 1>&2; exit 3']}
def task_after():
    return {'actions': ['echo after'], 'task_dep': ['cmdfail']}
def task_ok():
    return {'actions': ['echo ok']}
"""

FAIL_LINE = "Command failed: 'echo out-before; echo err-before 1>&2; exit 3' returned 3\n"
FAIL_NOW = ".  cmdfail\nTaskFailed - taskid:cmdfail\n" + FAIL_LINE + "\n"


# -- verbosity ---------------------------------------------------------------------

def test_verbosity_0_hides_stdout_and_stderr(project):
    project.dodo(STREAMS)
    r = project.run("-v", "0")
    assert (r.rc, r.out, r.err) == (0, ".  cmd\n.  py\n", "")


def test_verbosity_1_shows_only_stderr(project):
    project.dodo(STREAMS)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  cmd\n.  py\n", "cmd-err\npy-err\n")


def test_verbosity_2_shows_stdout_on_stdout_and_stderr_on_stderr(project):
    project.dodo(STREAMS)
    r = project.run("-v", "2")
    assert (r.rc, r.out, r.err) == (0, ".  cmd\ncmd-out\n.  py\npy-out\n", "cmd-err\npy-err\n")


def test_long_verbosity_option(project):
    project.dodo(STREAMS)
    r = project.run("--verbosity=2", "cmd")
    assert (r.rc, r.out, r.err) == (0, ".  cmd\ncmd-out\n", "cmd-err\n")


def test_task_verbosity_applies_without_command_line_option(project):
    project.dodo("""
        def task_loud():
            return {'actions': ['echo loud'], 'verbosity': 2}
        def task_quiet():
            return {'actions': ['echo quiet; echo quiet-err >&2'], 'verbosity': 0}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  loud\nloud\n.  quiet\n", "")


def test_command_line_verbosity_overrides_task_verbosity(project):
    project.dodo("""
        def task_loud():
            return {'actions': ['echo loud; echo loud-err >&2'], 'verbosity': 2}
        """)
    r = project.run("-v", "0")
    assert (r.rc, r.out, r.err) == (0, ".  loud\n", "")


def test_task_verbosity_beats_doit_config_verbosity(project):
    project.dodo("""
        DOIT_CONFIG = {'verbosity': 2}
        def task_quiet():
            return {'actions': ['echo quiet'], 'verbosity': 0}
        def task_normal():
            return {'actions': ['echo normal']}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  quiet\n.  normal\nnormal\n", "")


def test_unicode_output_passes_through(project):
    project.dodo("""
        def task_uni():
            return {'actions': ['echo "héllo ✓"', lambda: print('ünï ☃')], 'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  uni\nhéllo ✓\nünï ☃\n", "")


# -- failure report -----------------------------------------------------------------

def test_failure_report_with_default_verbosity(project):
    project.dodo(FAIL)
    r = project.run("cmdfail")
    assert r.rc == 1
    assert r.err == "err-before\n"
    assert r.out == FAIL_NOW + f"{SEP}\ncmdfail <stdout>:\nout-before\n\n"


def test_failure_report_with_verbosity_0(project):
    project.dodo(FAIL)
    r = project.run("-v", "0", "cmdfail")
    assert (r.rc, r.err) == (1, "")
    assert r.out == FAIL_NOW + (
        f"{SEP}\n"
        "TaskFailed - taskid:cmdfail\n"
        "cmdfail <stderr>:\n"
        "err-before\n"
        "\n"
        "cmdfail <stdout>:\n"
        "out-before\n"
        "\n"
    )


def test_failure_report_with_verbosity_2_has_no_summary(project):
    project.dodo(FAIL)
    r = project.run("-v", "2", "cmdfail")
    assert (r.rc, r.err) == (1, "err-before\n")
    assert r.out == ".  cmdfail\nout-before\nTaskFailed - taskid:cmdfail\n" + FAIL_LINE + "\n"


@pytest.mark.parametrize("fv", ["1", "2"])
def test_failure_verbosity_repeats_the_message_and_both_streams(project, fv):
    project.dodo(FAIL)
    r = project.run("--failure-verbosity", fv, "cmdfail")
    assert (r.rc, r.err) == (1, "err-before\n")
    assert r.out == FAIL_NOW + (
        f"{SEP}\n"
        "TaskFailed - taskid:cmdfail\n" + FAIL_LINE + "\n"
        "cmdfail <stderr>:\n"
        "err-before\n"
        "\n"
        "cmdfail <stdout>:\n"
        "out-before\n"
        "\n"
    )


def test_failure_verbosity_2_with_verbosity_2_still_repeats_stdout(project):
    project.dodo(FAIL)
    r = project.run("-v", "2", "--failure-verbosity", "2", "cmdfail")
    assert (r.rc, r.err) == (1, "err-before\n")
    assert r.out == ".  cmdfail\nout-before\nTaskFailed - taskid:cmdfail\n" + FAIL_LINE + "\n" + (
        f"{SEP}\n"
        "TaskFailed - taskid:cmdfail\n" + FAIL_LINE + "\n"
        "cmdfail <stderr>:\n"
        "err-before\n"
        "\n"
        "cmdfail <stdout>:\n"
        "out-before\n"
        "\n"
    )


def test_failure_summary_joins_the_output_of_all_actions(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo first', lambda: print('second'), 'echo third; exit 2']}
        """)
    r = project.run()
    assert (r.rc, r.err) == (1, "")
    assert r.out == (
        ".  t\nTaskFailed - taskid:t\nCommand failed: 'echo third; exit 2' returned 2\n\n"
        f"{SEP}\nt <stdout>:\nfirst\nsecond\nthird\n\n"
    )


def test_failure_stops_the_run(project):
    project.dodo(FAIL)
    r = project.run("cmdfail", "ok")
    assert (r.rc, r.err) == (1, "err-before\n")
    assert r.out == FAIL_NOW + f"{SEP}\ncmdfail <stdout>:\nout-before\n\n"


def test_dependent_of_a_failed_task_does_not_run(project):
    project.dodo(FAIL)
    r = project.run("after")
    assert (r.rc, r.err) == (1, "err-before\n")
    assert r.out == FAIL_NOW + f"{SEP}\ncmdfail <stdout>:\nout-before\n\n"


def test_continue_runs_the_rest_and_reports_unmet_dependencies(project):
    project.dodo(FAIL)
    r = project.run("-c", "cmdfail", "after", "ok")
    assert r.err == "err-before\n"
    assert r.out == FAIL_NOW + (
        "UnmetDependency - taskid:after\n"
        "cmdfail\n"
        "\n"
        ".  ok\n"
        f"{SEP}\n"
        "cmdfail <stdout>:\n"
        "out-before\n"
        "\n"
    )
    assert r.rc in (1, 2)  # exact code: see the cpp_only test below


@pytest.mark.cpp_only
def test_unmet_dependency_is_a_task_error_exit_2(project):
    # 0.36+: UnmetDependency is a TaskError (0.31.1 exits 1).
    project.dodo(FAIL)
    r = project.run("--continue", "cmdfail", "after")
    assert r.rc == 2


def test_continue_with_only_task_failed_exits_1(project):
    project.dodo(FAIL)
    r = project.run("--continue", "cmdfail", "ok")
    assert (r.rc, r.err) == (1, "err-before\n")
    assert r.out == FAIL_NOW + ".  ok\n" + f"{SEP}\ncmdfail <stdout>:\nout-before\n\n"


def test_no_continue_overrides_continue(project):
    project.dodo(FAIL)
    r = project.run("-c", "--no-continue", "cmdfail", "ok")
    assert (r.rc, r.err) == (1, "err-before\n")
    assert r.out == FAIL_NOW + f"{SEP}\ncmdfail <stdout>:\nout-before\n\n"


def test_continue_from_doit_config(project):
    project.dodo("DOIT_CONFIG = {'continue': True}\n" + FAIL)
    r = project.run("cmdfail", "ok")
    assert r.rc == 1
    assert r.out == FAIL_NOW + ".  ok\n" + f"{SEP}\ncmdfail <stdout>:\nout-before\n\n"


def test_task_error_after_task_failed_makes_exit_2(project):
    project.dodo("""
        def task_f():
            return {'actions': ['exit 1']}
        def task_e():
            return {'actions': ['exit 127']}
        """)
    r = project.run("-c")
    assert r.rc == 2
    assert r.out == (
        ".  f\nTaskFailed - taskid:f\nCommand failed: 'exit 1' returned 1\n\n"
        ".  e\nTaskError - taskid:e\nCommand error: 'exit 127' returned 127\n\n"
        f"{SEP}\nf <stdout>:\n\n"
        f"{SEP}\ne <stdout>:\n\n"
    )


def test_dependents_of_a_failed_task_rerun_after_continue(project):
    project.dodo("""
        def task_base():
            return {'actions': ['test ! -e fail.flag'], 'file_dep': ['in.txt']}
        def task_top():
            return {'actions': ['echo top'], 'file_dep': ['top.txt'], 'task_dep': ['base']}
        """)
    project.write("in.txt", "1")
    project.write("top.txt", "1")
    assert project.run().out == ".  base\n.  top\n"
    project.write("fail.flag", "")
    project.write("in.txt", "2")
    r = project.run("-c")
    assert r.out == (
        ".  base\nTaskFailed - taskid:base\nCommand failed: 'test ! -e fail.flag' returned 1\n\n"
        "UnmetDependency - taskid:top\nbase\n\n"
        f"{SEP}\nbase <stdout>:\n\n"
    )
    project.remove("fail.flag")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  base\n.  top\n", "")


# -- private tasks, titles, reporters, -o ------------------------------------------

def test_private_task_prints_no_status_lines(project):
    project.dodo("""
        def task__gen():
            return {'actions': ['echo g > g.txt'], 'targets': ['g.txt'], 'uptodate': [True]}
        def task_use():
            return {'actions': ['echo u'], 'task_dep': ['_gen']}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  use\n", "")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  use\n", "")


def test_private_task_failure_is_reported_by_name(project):
    project.dodo("""
        def task__priv():
            return {'actions': ['echo p; exit 1']}
        """)
    r = project.run("_priv")
    assert (r.rc, r.err) == (1, "")
    assert r.out == (
        "TaskFailed - taskid:_priv\nCommand failed: 'echo p; exit 1' returned 1\n\n"
        f"{SEP}\n_priv <stdout>:\np\n\n"
    )


def test_group_task_prints_nothing_itself(project):
    project.dodo("""
        def task_all():
            return {'actions': None, 'task_dep': ['one']}
        def task_one():
            return {'actions': ['echo 1']}
        """)
    r = project.run("all")
    assert (r.rc, r.out, r.err) == (0, ".  one\n", "")


def test_title_replaces_the_name_in_status_lines(project):
    project.dodo("""
        def show_title(task):
            return 'Building ' + task.name.upper()
        def task_t():
            return {'actions': ['echo t'], 'file_dep': ['in.txt'], 'title': show_title}
        """)
    project.write("in.txt", "x")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  Building T\n", "")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, "-- Building T\n", "")


def test_title_with_actions(project):
    project.dodo("""
        from doit.tools import title_with_actions
        def task_t():
            return {'actions': ['echo a', 'echo b'], 'title': title_with_actions}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t => Cmd: echo a\n\tCmd: echo b\n", "")


def test_output_file_receives_the_reporter_output_only(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo live; echo live-err >&2'], 'verbosity': 2}
        def task_f():
            return {'actions': ['exit 1'], 'task_dep': ['t']}
        """)
    r = project.run("-o", "report.txt", "f")
    assert (r.rc, r.out, r.err) == (1, "live\n", "live-err\n")
    assert project.read("report.txt") == (
        ".  t\n.  f\nTaskFailed - taskid:f\nCommand failed: 'exit 1' returned 1\n\n"
        f"{SEP}\nf <stdout>:\n\n"
    )


def test_long_output_file_option_truncates_the_file(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo t']}
        """)
    project.write("report.txt", "old content that is long\n" * 10)
    r = project.run("--output-file=report.txt")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert project.read("report.txt") == ".  t\n"


def test_executed_only_reporter_hides_up_to_date_lines(project):
    project.dodo("""
        def task_skip():
            return {'actions': ['echo s'], 'uptodate': [True]}
        def task_work():
            return {'actions': ['echo r']}
        """)
    r = project.run("-r", "executed-only")
    assert (r.rc, r.out, r.err) == (0, ".  work\n", "")


def test_zero_reporter_prints_no_status(project):
    project.dodo("""
        def task_work():
            return {'actions': ['echo r'], 'verbosity': 2}
        """)
    r = project.run("--reporter=zero")
    assert (r.rc, r.out, r.err) == (0, "r\n", "")


def test_python_action_output_is_captured_in_order_with_commands(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo a', lambda: print('b'), 'echo c'], 'verbosity': 2}
        """)
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  t\na\nb\nc\n", "")

"""Ctrl-C during `run` (SPEC §12.3): SIGINT goes to the whole process group;
finished tasks stay recorded, the interrupted one does not, later tasks do
not start, teardowns of started tasks run, and doit dies of SIGINT
(subprocess sees -2) or exits with 130."""

import os
import signal
import time

import pytest

from conftest import interrupt

INTERRUPTED = (-signal.SIGINT, 128 + signal.SIGINT)

# `slow` waits until the test interrupts it (unless nosleep exists).
CMD_DODO = """
def task_a():
    return {'actions': ['echo a-done > a.txt'], 'file_dep': ['in.txt'],
            'targets': ['a.txt'], 'teardown': ['echo teardown-a']}
def task_slow():
    return {'actions': ['touch started.txt; test -e nosleep || sleep 30'],
            'file_dep': ['in.txt'], 'task_dep': ['a']}
def task_c():
    return {'actions': ['echo c > c.txt'], 'task_dep': ['slow']}
"""

PY_DODO = """
import os, time
def pysleep():
    open('started.txt', 'w').close()
    if not os.path.exists('nosleep'):
        time.sleep(30)
def task_a():
    return {'actions': ['echo a-done > a.txt'], 'file_dep': ['in.txt'],
            'targets': ['a.txt']}
def task_slow():
    return {'actions': [pysleep], 'file_dep': ['in.txt'], 'task_dep': ['a']}
def task_c():
    return {'actions': ['echo c > c.txt'], 'task_dep': ['slow']}
"""


def run_and_interrupt(project, *args):
    """Start doit, wait until `slow` has started, then press Ctrl-C."""
    proc = project.start(*args)
    try:
        assert project.wait_for_file("started.txt", timeout=30), "slow never started"
        time.sleep(0.3)
        started = time.monotonic()
        result = interrupt(proc, timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result.elapsed = time.monotonic() - started
    return result


@pytest.fixture(params=["cmd", "python"])
def interrupted(request, project):
    """A project whose run was interrupted during `slow` (cmd or python action)."""
    project.dodo(CMD_DODO if request.param == "cmd" else PY_DODO)
    project.write("in.txt", "x\n")
    project.result = run_and_interrupt(project)
    return project


def test_ctrl_c_ends_the_run_with_sigint_status(interrupted):
    r = interrupted.result
    assert r.rc in INTERRUPTED
    assert r.elapsed < 10


def test_ctrl_c_does_not_start_later_tasks(interrupted):
    assert not interrupted.exists("c.txt")


def test_task_finished_before_ctrl_c_stays_up_to_date(interrupted):
    r = interrupted.run("a")
    assert (r.rc, r.out, r.err) == (0, "-- a\n", "")


def test_interrupted_task_runs_again_next_time(interrupted):
    interrupted.write("nosleep", "")
    r = interrupted.run("slow")
    assert (r.rc, r.out, r.err) == (0, "-- a\n.  slow\n", "")
    r = interrupted.run("slow")
    assert (r.rc, r.out, r.err) == (0, "-- a\n-- slow\n", "")


def test_ctrl_c_output_lists_started_tasks_then_teardowns(project):
    project.dodo(CMD_DODO.replace("'teardown': ['echo teardown-a']",
                                  "'teardown': ['echo teardown-a'], 'verbosity': 2"))
    project.write("in.txt", "x\n")
    r = run_and_interrupt(project)
    assert r.rc in INTERRUPTED
    assert r.out == ".  a\n.  slow\nteardown-a\n"


def test_ctrl_c_with_continue_still_stops(project):
    project.dodo(CMD_DODO)
    project.write("in.txt", "x\n")
    r = run_and_interrupt(project, "--continue")
    assert r.rc in INTERRUPTED
    assert r.out == ".  a\n.  slow\n"
    assert not project.exists("c.txt")


@pytest.mark.cpp_only
def test_kill_9_keeps_the_records_of_finished_tasks(project):
    # DESIGN: one transaction per finished task (pydoit loses the whole run).
    project.dodo(CMD_DODO)
    project.write("in.txt", "x\n")
    proc = project.start()
    try:
        assert project.wait_for_file("started.txt", timeout=30)
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    r = project.run("a")
    assert (r.rc, r.out, r.err) == (0, "-- a\n", "")
    project.write("nosleep", "")
    r = project.run("slow")
    assert (r.rc, r.out, r.err) == (0, "-- a\n.  slow\n", "")


# -- SIGTERM and SIGHUP (issue 8) ---------------------------------------------
# As `kill PID` (doit alone: doit passes the signal on to the commands of its
# process group) and as a terminal hang-up or `kill -- -PGID` (the whole
# group). The running command and what it started stop at once, finished
# tasks stay recorded, and doit dies of the signal. pydoit has no handler:
# it dies at once, saving nothing, and leaves the command running.

# `slow` runs a child that runs a grandchild, both named by a marker that
# the test then looks for in the process table.
SIGNAL_CMD_DODO = """
import sys
def task_a():
    return {{'actions': ['echo a-done > a.txt'], 'file_dep': ['in.txt'],
            'targets': ['a.txt']}}
def task_slow():
    return {{'actions': ['touch started.txt; test -e nosleep || '
                        + sys.executable + ' -c "import time; time.sleep(30)" {marker}; '
                        + 'echo {marker} > after.txt'],
            'file_dep': ['in.txt'], 'task_dep': ['a']}}
def task_c():
    return {{'actions': ['echo c > c.txt'], 'task_dep': ['slow']}}
"""

SIGNAL_PY_DODO = """
import os, subprocess, sys
def pysleep():
    open('started.txt', 'w').close()
    if not os.path.exists('nosleep'):
        subprocess.run([sys.executable, '-c', 'import time; time.sleep(30)', '{marker}'])
        open('after.txt', 'w').close()
def task_a():
    return {{'actions': ['echo a-done > a.txt'], 'file_dep': ['in.txt'],
            'targets': ['a.txt']}}
def task_slow():
    return {{'actions': [pysleep], 'file_dep': ['in.txt'], 'task_dep': ['a']}}
def task_c():
    return {{'actions': ['echo c > c.txt'], 'task_dep': ['slow']}}
"""


def processes_with(marker):
    """(pid, state) of the processes whose command line holds `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append((int(entry), stat[stat.rindex(")") + 2]))
    return found


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()


@pytest.mark.cpp_only
@pytest.mark.parametrize("to_group", [False, True], ids=["doit", "group"])
@pytest.mark.parametrize("action", ["cmd", "python"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_the_run_and_keep_finished_tasks(project, sig, action, to_group):
    marker = f"doit-signal-test-{os.getpid()}-{time.monotonic_ns()}"
    project.dodo((SIGNAL_CMD_DODO if action == "cmd" else SIGNAL_PY_DODO).format(marker=marker))
    project.write("in.txt", "x\n")
    proc = project.start()
    try:
        assert project.wait_for_file("started.txt", timeout=30), "slow never started"
        assert wait_until(lambda: processes_with(marker), timeout=10), "no child seen"
        started = time.monotonic()
        if to_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # doit dies of the signal, at once, after printing what had started.
    assert proc.returncode == -sig
    assert elapsed < 10
    assert out.decode() == ".  a\n.  slow\n"
    # The command and its child stopped: none is left, none wrote after.txt.
    assert wait_until(lambda: not processes_with(marker), timeout=5), processes_with(marker)
    assert not project.exists("after.txt")
    assert not project.exists("c.txt")
    # The state opens; the finished task is recorded, the stopped one is not.
    r = project.run("list", "--status", "a", "slow")
    assert (r.rc, r.out, r.err) == (0, "U a      \nR slow   \n", "")
    r = project.run("a")
    assert (r.rc, r.out, r.err) == (0, "-- a\n", "")
    project.write("nosleep", "")
    r = project.run("slow")
    assert (r.rc, r.out, r.err) == (0, "-- a\n.  slow\n", "")

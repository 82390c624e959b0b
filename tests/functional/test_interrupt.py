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

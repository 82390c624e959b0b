"""Parallel runs (`-n N`, SPEC §10.8): the ordering constraints of a serial
run, up to N tasks at once, the output of each task in one block, failures
and interrupts handled with nothing left running.

Ordering is checked through the times the tasks themselves write down
(start and end of each), never through sleeps in the test."""

import os
import random
import re
import signal
import time
from pathlib import Path

import pytest

from conftest import SEP, interrupt

INTERRUPTED = (-signal.SIGINT, 128 + signal.SIGINT)

# Each task appends "start NAME NS" and "end NAME NS" to log.txt (O_APPEND:
# the lines of tasks running at once do not mix).
GRAPH_DODO = r"""
def step(name, seconds=0.2):
    return ('echo "start {0} $(date +%%s%%N)" >> log.txt; sleep {1}; '
            'echo {0} > {0}.txt; echo "end {0} $(date +%%s%%N)" >> log.txt'
            ).format(name, seconds)

def task_base():
    return {'actions': [step('base')], 'targets': ['base.txt']}
def task_left():
    return {'actions': [step('left')], 'file_dep': ['base.txt'], 'targets': ['left.txt']}
def task_right():
    return {'actions': [step('right')], 'file_dep': ['base.txt'], 'targets': ['right.txt']}
def task_top():
    return {'actions': [step('top')], 'file_dep': ['left.txt', 'right.txt'],
            'targets': ['top.txt']}
def task_c1():
    return {'actions': [step('c1')]}
def task_c2():
    return {'actions': [step('c2')], 'task_dep': ['c1']}
def task_c3():
    return {'actions': [step('c3')], 'task_dep': ['c2']}
def task_free():
    for i in range(6):
        yield {'name': str(i), 'actions': [step('free%d' % i)]}
"""

# (task, what it waits for)
GRAPH_EDGES = [
    ("left", "base"), ("right", "base"), ("top", "left"), ("top", "right"),
    ("c2", "c1"), ("c3", "c2"),
]


def intervals(project):
    """{name: (start_ns, end_ns)} from log.txt."""
    starts, ends = {}, {}
    for line in project.lines("log.txt"):
        kind, name, ns = line.split()
        (starts if kind == "start" else ends)[name] = int(ns)
    assert starts.keys() == ends.keys()
    return {name: (starts[name], ends[name]) for name in starts}


def most_at_once(spans):
    """The largest number of intervals that overlap at one moment."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = best = 0
    for _, delta in events:
        running += delta
        best = max(best, running)
    return best


def test_dependencies_finish_before_their_dependents_start(project):
    project.dodo(GRAPH_DODO)
    r = project.run("-n", "4")
    assert r.rc == 0, r
    spans = intervals(project)
    assert len(spans) == 13
    for task, dep in GRAPH_EDGES:
        assert spans[dep][1] <= spans[task][0], f"{task} started before {dep} ended"
    assert 2 <= most_at_once(spans.values()) <= 4


def test_never_more_than_n_tasks_at_once(project):
    project.dodo(GRAPH_DODO)
    r = project.run("-n", "2")
    assert r.rc == 0, r
    assert most_at_once(intervals(project).values()) == 2


def test_every_task_is_announced_once_and_the_rerun_is_up_to_date(project):
    project.dodo(GRAPH_DODO)
    r = project.run("-n", "3", "top")
    assert r.rc == 0, r
    assert sorted(r.out.splitlines()) == [".  base", ".  left", ".  right", ".  top"]
    # base has no file_dep: it always runs; it writes the same content
    r = project.run("-n", "3", "top")
    assert (r.rc, sorted(r.out.splitlines())) == (0, ["-- left", "-- right", "-- top", ".  base"])


def test_process_option_from_doit_config(project):
    project.dodo(GRAPH_DODO + "\nDOIT_CONFIG = {'num_process': 3}\n")
    r = project.run()
    assert r.rc == 0, r
    assert 2 <= most_at_once(intervals(project).values()) <= 3


SERIAL_DODO = """
def hello():
    print('hello from python')
def task_ok():
    return {'actions': ['echo ok-out', 'echo ok-err >&2', hello], 'verbosity': 2}
def task_bad():
    return {'actions': ['echo bad-out; exit 3'], 'task_dep': ['ok']}
def task_after():
    return {'actions': ['echo after'], 'task_dep': ['bad']}
"""


@pytest.mark.cpp_only
def test_one_process_is_the_serial_run_byte_for_byte(project):
    # pydoit's -n 1 is its multiprocess runner, which drops the failed
    # task's output from the summary; ours is the serial path.
    project.dodo(SERIAL_DODO)
    serial = project.run()
    project.remove(".doit.db") if project.exists(".doit.db") else None
    for leftover in project.path.glob(".doit.db*"):
        leftover.unlink()
    one = project.run("-n", "1")
    assert (one.rc, one.out, one.err) == (serial.rc, serial.out, serial.err)
    assert serial.rc == 1


# -- python-actions ------------------------------------------------------------

PY_DODO = """
import os, time
def work(name):
    start = time.time_ns()
    time.sleep(0.4)
    with open(name + '.span', 'w') as f:
        f.write('%d %d %d' % (start, time.time_ns(), os.getpid()))
def task_py():
    for name in ('a', 'b', 'c'):
        yield {'name': name, 'actions': [(work, [name])]}
"""


def spans_of(project, names):
    out = {}
    for name in names:
        start, end, pid = map(int, project.read(name + ".span").split())
        out[name] = (start, end, pid)
    return out


def test_python_actions_run_at_the_same_time_in_separate_processes(project):
    project.dodo(PY_DODO)
    r = project.run("-n", "3")
    assert r.rc == 0, r
    spans = spans_of(project, "abc")
    assert most_at_once([(s, e) for s, e, _ in spans.values()]) >= 2
    assert len({pid for _, _, pid in spans.values()}) == 3


def test_thread_type_keeps_python_actions_in_one_process(project):
    project.dodo(PY_DODO)
    r = project.run("-n", "3", "-P", "thread")
    assert r.rc == 0, r
    assert len({pid for _, _, pid in spans_of(project, "abc").values()}) == 1


GETARGS_DODO = """
def first():
    return {'word': 'hello'}
def second(word):
    return {'shout': word.upper() + '!'}
def task_first():
    return {'actions': [first]}
def task_second():
    return {'actions': [second], 'getargs': {'word': ('first', 'word')}}
def task_show():
    return {'actions': ['echo %(shout)s > shown.txt'],
            'getargs': {'shout': ('second', 'shout')}}
def task_noise():
    for i in range(4):
        yield {'name': str(i), 'actions': ['sleep 0.1']}
"""


def test_values_pass_between_tasks_run_by_different_workers(project):
    project.dodo(GETARGS_DODO)
    r = project.run("-n", "3")
    assert r.rc == 0, r
    assert project.read("shown.txt") == "HELLO!\n"
    # and across runs, from the database
    r = project.run("-n", "3", "show")
    assert r.rc == 0, r
    assert project.read("shown.txt") == "HELLO!\n"


# -- output --------------------------------------------------------------------

NOISY_DODO = """
import sys, time
def chatter(name):
    for i in range(30):
        print('%s py %d' % (name, i))
        sys.stdout.flush()
        time.sleep(0.005)
def task_noisy():
    for name in ('one', 'two'):
        loop = ('for i in $(seq 30); do echo "%s out $i"; echo "%s err $i" >&2; '
                'sleep 0.005; done') % (name, name)
        yield {'name': name, 'actions': [loop, (chatter, [name])], 'verbosity': 2}
"""


def blocks(text):
    """The lines of `text` grouped by their first word, in order of appearance;
    a name that comes back after another one means interleaving."""
    seen = []
    for line in text.splitlines():
        name = line.split()[0]
        if not seen or seen[-1] != name:
            seen.append(name)
    return seen


@pytest.mark.cpp_only
def test_output_of_each_task_is_one_block(project):
    # pydoit's workers write to the terminal as they go (pydoit #236).
    project.dodo(NOISY_DODO)
    r = project.run("-n", "2")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[:2] == [".  noisy:one", ".  noisy:two"]
    body = "\n".join(lines[2:])
    assert sorted(blocks(body)) == ["one", "two"]
    assert sorted(blocks(r.err)) == ["one", "two"]
    for name in ("one", "two"):
        mine = [line for line in lines if line.startswith(name + " ")]
        assert mine == [f"{name} out {i}" for i in range(1, 31)] + [
            f"{name} py {i}" for i in range(30)
        ]


# -- failures ------------------------------------------------------------------

FAIL_DODO = """
def task_fail():
    return {'actions': ['sleep 0.2; echo failing; exit 1']}
def task_slow():
    return {'actions': ['sleep 1; echo slow > slow.txt'], 'targets': ['slow.txt'],
            'file_dep': ['in.txt']}
def task_later():
    for i in range(3):
        yield {'name': str(i), 'actions': ['echo later > later%d.txt' % i]}
"""


def test_a_failure_starts_nothing_new_but_lets_running_tasks_finish(project):
    project.dodo(FAIL_DODO)
    project.write("in.txt", "x\n")
    r = project.run("-n", "2", "fail", "slow", "later")
    assert r.rc == 1, r
    assert project.exists("slow.txt")
    assert not any(project.exists(f"later{i}.txt") for i in range(3))
    assert "TaskFailed - taskid:fail\n" in r.out
    assert "Command failed: 'sleep 0.2; echo failing; exit 1' returned 1" in r.out
    # the task that finished during the failure is recorded
    r = project.run("slow")
    assert (r.rc, r.out) == (0, "-- slow\n")


def test_continue_runs_everything_else_after_a_failure(project):
    project.dodo(FAIL_DODO)
    project.write("in.txt", "x\n")
    r = project.run("-n", "2", "--continue", "fail", "slow", "later")
    assert r.rc == 1, r
    assert project.exists("slow.txt")
    assert all(project.exists(f"later{i}.txt") for i in range(3))


@pytest.mark.cpp_only
def test_the_summary_shows_the_output_of_a_task_that_failed_in_parallel(project):
    # pydoit's workers keep it: its summary has no block for the task.
    project.dodo(FAIL_DODO)
    project.write("in.txt", "x\n")
    r = project.run("-n", "2", "--continue", "fail", "slow")
    assert r.rc == 1, r
    assert r.out.count(SEP) == 1
    assert r.out.endswith(f"{SEP}\nfail <stdout>:\nfailing\n\n")


def test_dependents_of_a_failed_task_do_not_run(project):
    project.dodo("""
        def task_bad():
            return {'actions': ['sleep 0.2; exit 3']}
        def task_after():
            return {'actions': ['echo after > after.txt'], 'task_dep': ['bad']}
        def task_other():
            return {'actions': ['echo other > other.txt']}
        """)
    r = project.run("-n", "2", "--continue")
    assert r.rc != 0, r
    assert "TaskFailed - taskid:bad\n" in r.out
    assert not project.exists("after.txt")
    assert project.exists("other.txt")


@pytest.mark.cpp_only
@pytest.mark.parametrize("how", ["exit", "signal"])
def test_a_worker_that_dies_is_a_task_error(project, how):
    end = "os._exit(3)" if how == "exit" else "os.kill(os.getpid(), signal.SIGKILL)"
    project.dodo(f"""
        import os, signal
        def die():
            {end}
        def task_dies():
            return {{'actions': [die]}}
        def task_fine():
            return {{'actions': ['echo fine > fine.txt']}}
        """)
    r = project.run("-n", "2", "--continue")
    assert r.rc == 2, r
    assert "TaskError - taskid:dies\n" in r.out
    expected = "exited with status 3" if how == "exit" else "was killed by signal 9"
    assert f"The worker process running the task {expected}.\n" in r.out
    assert project.exists("fine.txt")


# -- interrupts ----------------------------------------------------------------


def processes_with(marker):
    """Pids of live processes whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def no_process_left(marker, timeout=5):
    deadline = time.monotonic() + timeout
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not processes_with(marker)


def stuck_dodo(marker):
    # Two long tasks (a command, and a python-action whose child command
    # runs too), after a quick one; `later` never gets a slot.
    return f"""
import subprocess
def stuck_py():
    open('py-started', 'w').close()
    subprocess.run(['sleep', '{marker}'])
def task_quick():
    return {{'actions': ['echo quick > quick.txt'], 'file_dep': ['in.txt'],
            'targets': ['quick.txt']}}
def task_cmd():
    return {{'actions': ['touch cmd-started; sleep {marker}'], 'task_dep': ['quick']}}
def task_py():
    return {{'actions': [stuck_py], 'task_dep': ['quick']}}
def task_later():
    return {{'actions': ['echo later > later.txt'], 'task_dep': ['quick']}}
"""


def start_stuck(project):
    marker = f"{random.randint(100, 999)}.{random.randint(10**6, 10**7)}"
    project.dodo(stuck_dodo(marker))
    project.write("in.txt", "x\n")
    proc = project.start("-n", "2", "quick", "cmd", "py", "later")
    assert project.wait_for_file("cmd-started", timeout=30)
    assert project.wait_for_file("py-started", timeout=30)
    deadline = time.monotonic() + 10
    while len(processes_with(marker)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(processes_with(marker)) == 3  # sh -c, its sleep, the python-action's sleep
    return proc, marker


@pytest.mark.cpp_only
def test_ctrl_c_stops_every_running_task_and_keeps_finished_ones(project):
    proc, marker = start_stuck(project)
    try:
        started = time.monotonic()
        r = interrupt(proc, timeout=20)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert r.rc in INTERRUPTED, r
    assert elapsed < 5
    assert no_process_left(marker)
    assert not project.exists("later.txt")
    r = project.run("quick")
    assert (r.rc, r.out) == (0, "-- quick\n")


@pytest.mark.cpp_only
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_termination_signal_to_doit_alone_stops_its_tasks(project, sig):
    proc, marker = start_stuck(project)
    try:
        os.kill(proc.pid, sig)  # to doit only: its tasks are in their own groups
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (-sig, 128 + sig)
    assert no_process_left(marker)


def start_stubborn(project):
    """A parallel run whose task ignores SIGTERM and SIGINT; (Popen, marker)."""
    marker = f"{random.randint(100, 999)}.{random.randint(10**6, 10**7)}"
    project.dodo(f"""
        def task_stubborn():
            return {{'actions': ["trap '' TERM INT; touch started; sleep {marker}; sleep {marker}"]}}
        def task_other():
            return {{'actions': ['sleep 0.1']}}
        """)
    proc = project.start("-n", "2")
    assert project.wait_for_file("started", timeout=30)
    time.sleep(0.2)
    return proc, marker


@pytest.mark.cpp_only
def test_a_task_ignoring_sigterm_is_killed_after_the_stop_timeout(project):
    proc, marker = start_stubborn(project)
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)
        # a second signal is not needed: the stop timeout ends the wait
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (-signal.SIGTERM, 128 + signal.SIGTERM)
    assert no_process_left(marker)


@pytest.mark.cpp_only
def test_a_second_ctrl_c_stops_waiting_for_a_stubborn_task(project):
    proc, marker = start_stubborn(project)
    try:
        started = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGINT)
        proc.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in INTERRUPTED
    assert elapsed < 3  # well under the 5 s stop timeout
    assert no_process_left(marker)


@pytest.mark.cpp_only
def test_kill_9_during_a_parallel_run_keeps_the_finished_tasks(project):
    proc, marker = start_stuck(project)
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    finally:
        # Commands in their own groups outlive a SIGKILLed doit (as ninja's
        # do); the worker itself dies with doit.
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=20)
    assert no_process_left(marker)
    r = project.run("quick")
    assert (r.rc, r.out) == (0, "-- quick\n")
    project.dodo(stuck_dodo(marker).replace(f"sleep {marker}", "true").replace(
        f"['sleep', '{marker}']", "['true']"))
    r = project.run("-n", "2", "quick", "cmd", "py", "later")
    assert r.rc == 0, r
    assert sorted(r.out.splitlines()) == ["-- quick", ".  cmd", ".  later", ".  py"]

"""Ctrl-C during `run` (SPEC §12.3): SIGINT goes to the whole process group;
finished tasks stay recorded, the interrupted one does not, later tasks do
not start, teardowns of started tasks run, and doit dies of SIGINT
(subprocess sees -2) or exits with 130."""

import os
import signal
import subprocess
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


# -- Processes that escape the process group (issue 8) ------------------------
# A command that daemonizes (`setsid cmd &`, a double fork with os.setsid)
# leaves doit's process group: the terminal's Ctrl-C and the signals doit
# passes on to its group miss it. `doit run` adopts its orphaned descendants
# (a child subreaper); when a run is interrupted, what the interrupted tasks
# left behind is stopped too (SIGTERM, SIGKILL after the stop timeout).
# What a task that finished started is left alone, interrupted or not: a
# task may start a server on purpose (the pid-file example).

# `escape` starts a sleeper that leaves the group (marker in its command
# line), then waits to be interrupted; `server` starts one on purpose and
# ends (its output to /dev/null: a process holding the output pipe keeps
# doit reading until it closes).
ESCAPE_DODO = """
import os, sys, time

def sleeper(marker):
    return [sys.executable, '-c', 'import time; time.sleep(300)', marker]

def daemonize():
    # the classic double fork: a child in a new session, whose child
    # (orphaned at once) runs the sleeper
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            fd = os.open(os.devnull, os.O_RDWR)
            for std in (0, 1, 2):
                os.dup2(fd, std)
            argv = sleeper('{marker}')
            os.execv(argv[0], argv)
        os._exit(0)
    os.wait()

def stubborn(marker):
    # ignores SIGTERM (and SIGINT, SIGHUP)
    code = ('import signal, time; '
            '[signal.signal(s, signal.SIG_IGN) for s in '
            '(signal.SIGTERM, signal.SIGINT, signal.SIGHUP)]; '
            'open("stubborn.txt", "w").close(); time.sleep(300)')
    return ('setsid ' + repr(sys.executable) + ' -c ' + repr(code) + ' ' + marker
            + ' > /dev/null 2>&1 &')

def setsid_in_background(marker):
    return 'setsid ' + ' '.join(repr(w) for w in sleeper(marker)) + ' > /dev/null 2>&1 &'

def setsid_keeping_output(marker):
    # One command (doit reads its output until every writer closes it).
    # `exec sleep`: a Ctrl-C while the shell forks a child to run sleep
    # could reach that child before its exec, in the shell's handler, and
    # the shell would wait the whole minute.
    return ('setsid ' + ' '.join(repr(w) for w in sleeper(marker))
            + ' & touch started.txt; exec sleep 60')

def wait_for_interrupt():
    open('started.txt', 'w').close()
    time.sleep(60)

def task_escape():
    return {{'actions': [{action}]}}

def task_server():
    return {{'actions': [setsid_in_background('{server_marker}')]}}
"""


def escape_dodo(marker, how, server_marker="no-server"):
    action = {"fork": "daemonize, wait_for_interrupt",
              "stubborn": f"stubborn('{marker}'), wait_for_interrupt",
              "setsid": f"setsid_in_background('{marker}'), wait_for_interrupt",
              "setsid-keeping-output": f"setsid_keeping_output('{marker}')"}[how]
    return ESCAPE_DODO.format(marker=marker, action=action, server_marker=server_marker)


def kill_marked(marker):
    for pid, _ in processes_with(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def new_marker(what):
    return f"doit-{what}-test-{os.getpid()}-{time.monotonic_ns()}"


@pytest.mark.cpp_only
# setsid-keeping-output: the escaped process holds the command's output
# pipe, which doit reads until it closes: doit stops it as soon as the
# command itself ended (before, Ctrl-C left doit waiting as long as it ran).
@pytest.mark.parametrize("how", ["fork", "setsid", "setsid-keeping-output"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("jobs", [[], ["-n", "2"]], ids=["serial", "parallel"])
def test_an_interrupted_run_stops_the_processes_that_escaped_its_group(project, how, sig, jobs):
    marker = new_marker("escape")
    project.dodo(escape_dodo(marker, how))
    proc = project.start(*jobs, "escape")
    try:
        assert project.wait_for_file("started.txt", timeout=30), "escape never started"
        assert wait_until(lambda: processes_with(marker), timeout=10), "no escaped process seen"
        # It did leave doit's session (the shell running it, if any, did not).
        assert [pid for pid, _ in processes_with(marker)
                if os.getsid(pid) != os.getsid(proc.pid)], processes_with(marker)
        os.killpg(proc.pid, sig)  # Ctrl-C, or a service manager's stop
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            tree = subprocess.run(["ps", "-eo", "pid,ppid,pgid,sid,stat,wchan:24,cmd"],
                                  stdout=subprocess.PIPE, text=True).stdout
            related = [line for line in tree.splitlines()
                       if marker in line or str(proc.pid) in line.split()[:4]]
            raise AssertionError("doit did not end:\n" + "\n".join(related))
        assert proc.returncode in (-sig, 128 + sig), (out, err)
        # doit waited for it: nothing is left once doit is gone.
        assert processes_with(marker) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        kill_marked(marker)


@pytest.mark.cpp_only
def test_what_a_finished_task_daemonized_survives_normal_and_interrupted_runs(project):
    marker, server = new_marker("escape"), new_marker("server")
    project.dodo(escape_dodo(marker, "setsid", server_marker=server))
    try:
        # A normal run: the server a task started on purpose goes on.
        r = project.run("server")
        assert (r.rc, r.out) == (0, ".  server\n"), r
        assert wait_until(lambda: processes_with(server), timeout=10)
        kill_marked(server)
        assert wait_until(lambda: not processes_with(server), timeout=10)
        # Interrupted after `server` finished: only the escaped process of
        # the interrupted task is stopped.
        proc = project.start("server", "escape")
        try:
            assert project.wait_for_file("started.txt", timeout=30)
            assert wait_until(lambda: processes_with(marker) and processes_with(server),
                              timeout=10)
            r = interrupt(proc, timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        assert r.rc in INTERRUPTED, r
        assert processes_with(marker) == []
        assert len(processes_with(server)) == 1
    finally:
        kill_marked(marker)
        kill_marked(server)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_answers(port):
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.cpp_only
def test_the_pid_file_server_example_starts_and_stops(project):
    # examples/dev-server/dodo_pidfile.py: `start` leaves a server running
    # on purpose (nohup ... &, its pid in server.pid); `stop` kills it and
    # waits until `kill -0` fails. In one run, the server (adopted by doit
    # once its shell ended) must be reaped when it dies, or `kill -0` would
    # go on answering for the zombie and `stop` would never end.
    import shutil
    from conftest import REPO_ROOT
    shutil.copytree(REPO_ROOT / "examples" / "dev-server", project.path, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".doit.db*", "build", "__pycache__",
                                                  "server.*"))
    port = free_port()
    try:
        r = project.run("-f", "dodo_pidfile.py", "start", "--port", port)
        assert r.rc == 0, r
        assert wait_until(lambda: server_answers(port), timeout=20), project.read("server.log")
        first = int(project.read("server.pid"))
        r = project.run("-f", "dodo_pidfile.py", "stop")
        assert (r.rc, project.exists("server.pid")) == (0, False), r
        assert not server_answers(port)
        # In one run: `start`, then `restart` stops that server and starts
        # another.
        r = project.run("-f", "dodo_pidfile.py", "start", "--port", port,
                        "restart", "--port", port, timeout=60)
        assert r.rc == 0, r
        assert wait_until(lambda: server_answers(port), timeout=20), project.read("server.log")
        second = int(project.read("server.pid"))
        assert second != first
        r = project.run("-f", "dodo_pidfile.py", "stop")
        assert (r.rc, project.exists("server.pid")) == (0, False), r
        assert not server_answers(port)
    finally:
        if project.exists("server.pid"):
            try:
                os.kill(int(project.read("server.pid")), signal.SIGKILL)
            except (OSError, ValueError):
                pass


@pytest.mark.cpp_only
@pytest.mark.parametrize("second_ctrl_c", [False, True], ids=["once", "twice"])
def test_an_escaped_process_ignoring_sigterm_is_killed(project, second_ctrl_c):
    # SIGKILL after the stop timeout (5 s), or at once on a second Ctrl-C.
    marker = new_marker("stubborn")
    project.dodo(escape_dodo(marker, "stubborn"))
    proc = project.start("escape")
    try:
        assert project.wait_for_file("started.txt", timeout=30), "escape never started"
        # It ignores SIGTERM from now on.
        assert project.wait_for_file("stubborn.txt", timeout=30)
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        if second_ctrl_c:
            time.sleep(0.5)
            os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=30)
        elapsed = time.monotonic() - started
        assert proc.returncode in INTERRUPTED
        assert processes_with(marker) == []
        if second_ctrl_c:
            assert elapsed < 4.5  # did not wait for the 5 s stop timeout
        else:
            assert elapsed > 4.5  # SIGTERM first: the process had its chance
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        kill_marked(marker)


"""`doit auto` (the auto issue): cycles that reload dodo.py, a complete watch
set, long-running tasks (servers) restarted only after what they depend on
was rebuilt, and nothing left running when it stops. Real processes, real
sockets, real files."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import clean_env, doit_command

pytestmark = pytest.mark.cpp_only

SERVER = f"""
import http.server, sys
port = int(sys.argv[1])
body = open('page.txt', 'rb').read()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(('127.0.0.1', port), Handler).serve_forever()
"""

IGNORES_TERM = """
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(sys.argv[1], 'w').write('started')
while True:
    time.sleep(1)
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port, timeout=0.5):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout) as r:
            return r.read().decode()
    except OSError:
        return None


def wait_until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def session_processes(sid):
    """PIDs of live (not zombie) processes in session `sid`."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            pids.append(int(entry))
    return pids


def python_processes_running(sid, script):
    """PIDs in session `sid` that are Python running `script` (not the shell
    that started it)."""
    found = []
    for pid in session_processes(sid):
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if b"python" in os.path.basename(argv[0]) and script.encode() in argv[1:2]:
            found.append(pid)
    return found


def server_dodo(port, compile_cmd="cp src.txt page.txt"):
    return f"""
import sys
def task_page():
    return {{'actions': [{compile_cmd!r}], 'file_dep': ['src.txt'], 'targets': ['page.txt']}}

def task_serve():
    return {{'actions': [sys.executable + ' server.py {port}'], 'file_dep': ['page.txt', 'server.py']}}
"""


class Auto:
    """A running `doit auto` in its own session."""

    def __init__(self, project, *args):
        self.project = project
        self.proc = subprocess.Popen(
            doit_command() + ["auto", "--debounce", "50", *args], cwd=project.path,
            env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)

    def stop(self, sig=signal.SIGINT, timeout=20):
        os.killpg(self.proc.pid, sig)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        return self.proc.returncode, out.decode(), err.decode()

    def kill(self):
        """Kill everything of its session (a failed test leaves no server)."""
        for pid in session_processes(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.communicate()


@pytest.fixture
def auto(project):
    started = []

    def start(*args):
        a = Auto(project, *args)
        started.append(a)
        return a

    yield start
    for a in started:
        a.kill()


def edit(project, name, content):
    project.write(name, content)


def test_server_is_restarted_with_the_new_content_and_nothing_is_left(project, auto):
    port = free_port()
    project.write("server.py", SERVER)
    project.write("src.txt", "v1\n")
    project.dodo(server_dodo(port))
    a = auto("serve")
    assert wait_until(lambda: fetch(port) == "v1\n")
    edit(project, "src.txt", "v2\n")
    assert wait_until(lambda: fetch(port) == "v2\n", timeout=10)
    assert len(python_processes_running(a.proc.pid, "server.py")) == 1
    rc, out, err = a.stop(signal.SIGINT)
    assert rc == 0
    assert out.splitlines() == [".  page", ".  serve", ".  page", ".  serve"]
    assert "src.txt changed" in err and "restarting serve" in err
    assert "Address already in use" not in err
    assert wait_until(lambda: not session_processes(a.proc.pid), timeout=5)
    assert fetch(port) is None
    # The stopped server is not recorded as done: it starts again next time.
    assert project.run("list", "--status", "serve").out == "R serve   \n"


def test_deleting_a_file_dep_during_a_cycle_starts_the_next(project, auto):
    # No sleeps: each step waits for what it needs to see. The task waits for
    # the test in its first action (`go`): a last action running over a
    # second would make the task a server, whose deletions the watcher
    # reports as they come ("in.txt changed"), and a slow machine (the
    # sanitizer build) must not turn this test into that one.
    project.write("in.txt", "x\n")
    project.dodo("""
def task_slow():
    return {'actions': ['echo started >> started.txt; while [ ! -e go ]; do sleep 0.02; done; rm go',
                        'echo run >> runs.txt'],
            'file_dep': ['in.txt']}
""")

    def count(name, word):
        return project.exists(name) and project.read(name).count(word)

    a = auto("--success", "echo ok >> ends.txt", "--failure", "echo failed >> ends.txt", "slow")
    assert wait_until(lambda: count("started.txt", "started") == 1)
    project.write("go", "")
    assert wait_until(lambda: count("ends.txt", "ok") == 1)  # the first cycle ended
    edit(project, "in.txt", "y\n")
    # The second cycle is running its task: delete the file under it.
    assert wait_until(lambda: count("started.txt", "started") == 2)
    os.remove(project.path / "in.txt")
    project.write("go", "")
    # The second cycle fails to record the task; the next one, started at
    # once, reports the missing file.
    assert wait_until(lambda: count("ends.txt", "failed") >= 2)
    _, out, err = a.stop()
    assert count("runs.txt", "run") == 2
    reasons = [line for line in err.splitlines() if line.startswith("doit auto: ")]
    # The edit: seen by the watcher, or (if made as the first cycle was
    # ending) right after it.
    assert reasons[0].endswith("in.txt changed") or reasons[0].endswith(
        "in.txt changed while the tasks ran"), err
    assert reasons[1].endswith("in.txt changed while the tasks ran"), err
    assert "ERROR: Task 'slow' saving success: Dependent file 'in.txt' does not exist." in out
    assert "ERROR: Task 'slow' checking dependencies: Dependent file 'in.txt' does not exist." in out


def test_an_edit_made_while_the_tasks_ran_starts_one_more_cycle_not_two(project, auto):
    # The edit is seen when the cycle ends, and the next cycle runs for it;
    # the watcher, which saw it too, must not start one more after that.
    project.write("in.txt", "x\n")
    project.dodo("""
def task_slow():
    return {'actions': ['echo started >> started.txt; while [ ! -e go ]; do sleep 0.02; done; rm go',
                        'echo run >> runs.txt'],
            'file_dep': ['in.txt']}
""")

    def count(name, word):
        return project.exists(name) and project.read(name).count(word)

    a = auto("--success", "echo ok >> ends.txt", "slow")
    assert wait_until(lambda: count("started.txt", "started") == 1)
    project.write("go", "")
    assert wait_until(lambda: count("ends.txt", "ok") == 1)
    edit(project, "in.txt", "y\n")  # the watcher is on: it starts cycle 2
    assert wait_until(lambda: count("started.txt", "started") == 2)
    edit(project, "in.txt", "z\n")  # while cycle 2 runs
    project.write("go", "")
    assert wait_until(lambda: count("started.txt", "started") == 3)
    project.write("go", "")
    assert wait_until(lambda: count("ends.txt", "ok") == 3)
    # A fourth cycle would be announced within the debounce (50 ms).
    time.sleep(1)
    _, _, err = a.stop()
    reasons = [line for line in err.splitlines() if line.startswith("doit auto: ")]
    assert len(reasons) == 2, err
    assert reasons[1].endswith("in.txt changed while the tasks ran"), err
    assert count("ends.txt", "ok") == 3


def test_sigterm_stops_a_server_started_through_a_shell(project, auto):
    port = free_port()
    project.write("server.py", SERVER)
    project.write("page.txt", "hello\n")
    project.dodo(f"""
import sys
def task_serve():
    return {{'actions': ['sh -c "' + sys.executable + ' server.py {port}; echo never"']}}
""")
    a = auto("serve")
    assert wait_until(lambda: fetch(port) == "hello\n")
    rc, _, _ = a.stop(signal.SIGTERM)
    assert rc == 0
    assert wait_until(lambda: not session_processes(a.proc.pid), timeout=5)


def test_a_failed_build_keeps_the_old_server_until_it_is_fixed(project, auto):
    port = free_port()
    project.write("server.py", SERVER)
    project.write("src.txt", "good1\n")
    project.dodo(server_dodo(port, "grep -v BAD src.txt > page.txt"))
    a = auto("serve")
    assert wait_until(lambda: fetch(port) == "good1\n")
    edit(project, "src.txt", "BAD\n")
    time.sleep(1.5)
    assert fetch(port) == "good1\n"
    edit(project, "src.txt", "good2\n")
    assert wait_until(lambda: fetch(port) == "good2\n", timeout=10)
    a.stop()


def test_a_server_ignoring_sigterm_is_killed_after_the_stop_timeout(project, auto):
    project.write("stubborn.py", IGNORES_TERM)
    project.write("src.txt", "1")
    project.dodo("""
import sys
def task_stubborn():
    return {'actions': [sys.executable + ' stubborn.py started.txt'], 'file_dep': ['src.txt']}
""")
    a = auto("--stop-timeout", "0.5", "stubborn")
    assert project.wait_for_file("started.txt")
    time.sleep(1.2)  # it counts as long-running after a second
    os.remove(project.path / "started.txt")
    edit(project, "src.txt", "2")
    assert project.wait_for_file("started.txt", timeout=10)
    assert len(python_processes_running(a.proc.pid, "stubborn.py")) == 1
    begin = time.monotonic()
    rc, _, _ = a.stop(signal.SIGINT)
    assert rc == 0 and time.monotonic() - begin < 5
    assert wait_until(lambda: not session_processes(a.proc.pid), timeout=5)


def test_a_burst_of_edits_restarts_at_most_twice(project, auto):
    port = free_port()
    project.write("server.py", SERVER)
    project.write("src.txt", "v0\n")
    project.dodo(server_dodo(port))
    a = auto("serve")
    assert wait_until(lambda: fetch(port) == "v0\n")
    for i in range(1, 31):
        edit(project, "src.txt", f"v{i}\n")
        time.sleep(0.005)
    assert wait_until(lambda: fetch(port) == "v30\n", timeout=10)
    time.sleep(0.5)
    _, _, err = a.stop()
    assert 1 <= err.count("restarting serve") <= 2


def test_dodo_edits_are_picked_up_without_restarting_auto(project, auto):
    project.write("a.txt", "a\n")
    project.write("b.txt", "b\n")
    project.dodo("""
def task_t():
    return {'actions': ['cat a.txt >> log.txt'], 'file_dep': ['a.txt']}
""")
    a = auto("t")
    assert wait_until(lambda: project.exists("log.txt") and project.read("log.txt") == "a\n")
    project.dodo("""
def task_t():
    return {'actions': ['cat a.txt b.txt >> log.txt'], 'file_dep': ['a.txt', 'b.txt']}
""")
    assert wait_until(lambda: project.read("log.txt") == "a\na\nb\n")
    edit(project, "b.txt", "B\n")  # the new file_dep is watched
    assert wait_until(lambda: project.read("log.txt") == "a\na\nb\na\nB\n")
    rc, _, _ = a.stop()
    assert rc == 0


def test_an_edit_during_a_running_task_is_not_lost(project, auto):
    project.write("in.txt", "first\n")
    project.dodo("""
def task_slow():
    return {'actions': ['sleep 2; cp in.txt out.txt'], 'file_dep': ['in.txt']}
""")
    a = auto("--stop-timeout", "5", "slow")
    time.sleep(0.5)  # the first run is sleeping
    edit(project, "in.txt", "second\n")
    assert wait_until(lambda: project.exists("out.txt") and project.read("out.txt") == "second\n",
                      timeout=15)
    a.stop()


def test_a_broken_dodo_is_reported_once_and_retried_on_the_next_edit(project, auto):
    project.dodo("""
def task_t():
    return {'actions': ['echo ok >> log.txt']}
""")
    a = auto("t")
    assert wait_until(lambda: project.exists("log.txt"))
    project.dodo("def task_t(:\n")
    time.sleep(2)
    project.dodo("""
def task_t():
    return {'actions': ['echo fixed >> log.txt']}
""")
    assert wait_until(lambda: "fixed" in project.read("log.txt"))
    _, _, err = a.stop()
    assert err.count("SyntaxError") == 1


def test_pid_file_restart_pattern_works(project, auto):
    port = free_port()
    project.write("server.py", SERVER)
    project.write("page.txt", "pid v1\n")
    project.dodo(f"""
import sys
def task_restart():
    return {{'actions': [
        'if [ -f server.pid ]; then kill $(cat server.pid); while kill -0 $(cat server.pid) 2>/dev/null; do sleep 0.05; done; fi',
        'nohup ' + sys.executable + ' server.py {port} > server.log 2>&1 & echo $! > server.pid'],
        'file_dep': ['page.txt'], 'uptodate': [False]}}
""")
    a = auto("restart")
    assert wait_until(lambda: fetch(port) == "pid v1\n")
    edit(project, "page.txt", "pid v2\n")
    assert wait_until(lambda: fetch(port) == "pid v2\n", timeout=10)
    rc, _, _ = a.stop()
    assert rc == 0
    assert wait_until(lambda: fetch(port) is None, timeout=5)


def test_unknown_task_name_ends_auto_with_exit_3(project):
    project.dodo("""
def task_t():
    return {'actions': ['true']}
""")
    r = project.run("auto", "nosuch", timeout=20)
    assert r.rc == 3
    assert 'Invalid parameter: "nosuch"' in r.err or 'invalid parameter: "nosuch"' in r.err

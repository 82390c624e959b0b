"""`doit auto` (the auto issue): cycles that reload dodo.py, a complete watch
set, long-running tasks (servers) restarted only after what they depend on
was rebuilt, and nothing left running when it stops. Real processes, real
sockets, real files."""

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import termios
import time
import urllib.request

import pytest

from conftest import clean_env, doit_command

pytestmark = pytest.mark.cpp_only

SERVER = f"""
import http.server, sys
port = int(sys.argv[1])
body = open(sys.argv[2] if len(sys.argv) > 2 else 'page.txt', 'rb').read()
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


#: Longer than a few ticks of the kernel's coarse clock (1 to 10 ms).
COARSE_CLOCK_TICKS = 0.05


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

    def __init__(self, project, *args, wrapper=(), stdin=subprocess.DEVNULL, preexec_fn=None):
        self.project = project
        # Files are stamped by the kernel's coarse clock (a tick of a few ms):
        # a file the test wrote in the tick in which the first cycle starts
        # counts as changed while that cycle ran (docs/auto.md), and one more
        # cycle would run. Let the files the test just wrote age by a few ticks.
        time.sleep(COARSE_CLOCK_TICKS)
        self.proc = subprocess.Popen(
            [*wrapper, *doit_command(), "auto", "--debounce", "50", *args], cwd=project.path,
            env=clean_env(), stdin=stdin, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=preexec_fn)

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

    def start(*args, **kwargs):
        a = Auto(project, *args, **kwargs)
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


#: `slow` waits for the test in its first action (`go`): not its last, so it
#: is never taken for a server however slow the machine.
WAITS_FOR_GO_DODO = """
def task_slow():
    return {'actions': ['echo started >> started.txt; while [ ! -e go ]; do sleep 0.02; done; rm go',
                        'echo run >> runs.txt'],
            'file_dep': ['in.txt']}
"""


def test_deleting_a_file_dep_during_a_cycle_starts_the_next(project, auto):
    # No sleeps: each step waits for what it needs to see. The task waits for
    # the test in its first action (`go`): a last action running over a
    # second would make the task a server, whose deletions the watcher
    # reports as they come ("in.txt changed"), and a slow machine (the
    # sanitizer build) must not turn this test into that one.
    project.write("in.txt", "x\n")
    project.dodo(WAITS_FOR_GO_DODO)

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
    project.dodo(WAITS_FOR_GO_DODO)

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
    # pydoit 0.31.1's auto prints the message without a command (not `run`).
    assert r.err.startswith(
        'ERROR: Invalid parameter: "nosuch". Must be a command, task, or a target.\n'
        'Type "doit help" to see available commands.\n'
        'Type "doit list" to see available tasks.\n')
    assert "`run`" not in r.err
    assert r.out == ""


def runs(project):
    return project.read("runs.txt").count("run") if project.exists("runs.txt") else 0


CHANGE_LINE = "doit auto: "


def cycles_started_by_changes(err):
    """Cycles started by the watcher (not by the checks after a cycle, whose
    lines end with "changed while the tasks ran")."""
    return sum(1 for line in err.splitlines()
               if line.startswith(CHANGE_LINE) and line.endswith(" changed"))


def watching(a):
    """True when `doit auto` has no child (no cycle running, none to reap)
    and sleeps: it is waiting for the watcher."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == a.proc.pid:
            return False
    with open(f"/proc/{a.proc.pid}/stat") as f:
        stat = f.read()
    return stat[stat.rindex(")") + 2] == "S"


def settled(a, project, n):
    """The n-th run is done and `doit auto` waits for the next change."""
    return wait_until(lambda: runs(project) == n) and wait_until(lambda: watching(a))


WATCH_FOLDER_DODO = """
def task_t():
    return {'actions': ['echo run >> runs.txt'], 'watch': ['conf']}
"""


def test_a_watch_folder_is_watched_recursively_new_subfolders_too(project, auto):
    project.write("conf/a.txt", "a\n")
    project.dodo(WATCH_FOLDER_DODO)
    a = auto("t")
    assert settled(a, project, 1)
    os.makedirs(project.path / "conf/sub/deeper")
    assert settled(a, project, 2)
    project.write("conf/sub/deeper/x.txt", "x\n")  # in a folder created after the start
    assert settled(a, project, 3)
    os.rename(project.path / "conf/sub/deeper/x.txt", project.path / "conf/y.txt")
    assert settled(a, project, 4)
    os.rename(project.path / "conf/y.txt", project.path / "moved-out.txt")
    assert settled(a, project, 5)
    project.touch("conf/a.txt")
    assert settled(a, project, 6)
    shutil.rmtree(project.path / "conf/sub")
    assert settled(a, project, 7)
    rc, out, err = a.stop()
    assert rc == 0
    assert runs(project) == 7
    assert cycles_started_by_changes(err) == 6


def test_editor_and_vcs_noise_does_not_start_a_cycle(project, auto):
    if shutil.which("git") is None:
        pytest.skip("no git")
    project.write("conf/a.txt", "a\n")
    project.dodo(WATCH_FOLDER_DODO)
    git = ["git", "-C", str(project.path / "conf")]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "a.txt"], check=True)
    a = auto("t")
    assert settled(a, project, 1)
    # What vim does when it opens a file, then quits without saving, and
    # what emacs leaves; then git, which rewrites .git/index.
    project.write("conf/.a.txt.swp", "swap")
    project.write("conf/4913", "")
    os.remove(project.path / "conf/4913")
    project.write("conf/a.txt~", "a\n")
    project.write("conf/.#a.txt", "lock")
    subprocess.run([*git, "status"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*git, "add", "a.txt"], check=True)
    os.remove(project.path / "conf/.a.txt.swp")
    time.sleep(1.5)  # a cycle would have started and run by now
    assert runs(project) == 1
    project.write("conf/a.txt", "real edit\n")
    assert wait_until(lambda: runs(project) == 2)
    rc, _, err = a.stop()
    assert rc == 0
    assert cycles_started_by_changes(err) == 1


def test_the_state_database_and_targets_in_a_watch_folder_start_no_cycle(project, auto):
    """`watch: ['.']`: the cycle writes .doit.db and the task its target, both
    in the watched tree; neither may start the next cycle (a loop)."""
    project.write("a.txt", "a\n")
    project.write("out/keep", "")
    project.dodo("""
def task_t():
    return {'actions': ['echo run >> out/runs.txt'], 'watch': ['.'],
            'targets': ['out/runs.txt']}
""")
    a = auto("t")
    assert wait_until(lambda: project.exists("out/runs.txt")
                      and project.read("out/runs.txt").count("run") == 1)
    assert wait_until(lambda: watching(a))
    project.write("a.txt", "b\n")
    assert wait_until(lambda: project.read("out/runs.txt").count("run") == 2)
    assert wait_until(lambda: watching(a))
    time.sleep(1)  # a loop would have run the task again by now
    rc, _, err = a.stop()
    assert rc == 0
    assert project.read("out/runs.txt").count("run") == 2
    assert "while the tasks ran" not in err
    assert cycles_started_by_changes(err) == 1


def inotify_descriptors(pid):
    fd_dir = f"/proc/{pid}/fd"
    return [fd for fd in os.listdir(fd_dir)
            if os.readlink(os.path.join(fd_dir, fd)) == "anon_inode:inotify"]


POLL_DODO = """
def task_t():
    return {'actions': ['echo run >> runs.txt'], 'file_dep': ['in.txt'], 'watch': ['conf'],
            'uptodate': [False]}
"""


def check_edits_deletions_and_touch_are_seen(a, project):
    """Four changes, each made while `doit auto` waits: each starts a cycle."""
    assert settled(a, project, 1)
    project.write("in.txt", "edited\n")
    assert settled(a, project, 2)
    project.touch("in.txt")
    assert settled(a, project, 3)
    project.write("conf/deep/new.txt", "x\n")
    assert settled(a, project, 4)
    os.remove(project.path / "conf/deep/new.txt")
    assert settled(a, project, 5)


def test_poll_sees_edits_deletions_and_touch_without_inotify(project, auto):
    project.write("in.txt", "in\n")
    project.write("conf/deep/a.txt", "a\n")
    project.dodo(POLL_DODO)
    a = auto("--poll", "50", "t")
    assert wait_until(lambda: runs(project) == 1)
    assert inotify_descriptors(a.proc.pid) == []
    check_edits_deletions_and_touch_are_seen(a, project)
    rc, _, err = a.stop()
    assert rc == 0
    assert "inotify" not in err
    assert cycles_started_by_changes(err) == 4


def limited_inotify(sysctl, value):
    """A wrapper that runs a command in a user namespace of its own, where the
    kernel's inotify limit `sysctl` (/proc/sys/user/...) is `value`: a real
    exhaustion that does not touch the limits of anyone else on the machine."""
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "sh", "-c",
                            f"echo {value} > /proc/sys/user/{sysctl}"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no user namespace with its own {sysctl}: {probe.stderr.decode()}")
    return ["unshare", "--user", "--map-root-user", "sh", "-c",
            f'echo {value} > /proc/sys/user/{sysctl} && exec "$@"', "sh"]


@pytest.mark.parametrize("sysctl, value, named", [
    ("max_inotify_watches", 2, "fs.inotify.max_user_watches"),
    ("max_inotify_instances", 0, "fs.inotify.max_user_instances"),
])
def test_exhausted_inotify_falls_back_to_polling(project, auto, sysctl, value, named):
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    project.write("in.txt", "in\n")
    project.write("conf/deep/a.txt", "a\n")
    project.write("conf/other/b.txt", "b\n")  # more folders than watches
    project.dodo(POLL_DODO)
    a = auto("t", wrapper=limited_inotify(sysctl, value))
    check_edits_deletions_and_touch_are_seen(a, project)
    rc, out, err = a.stop()
    assert rc == 0
    notices = [line for line in err.splitlines() if named in line]
    assert len(notices) == 1, err
    assert notices[0].startswith("doit auto: cannot ")
    assert "polling the files every 500 ms instead" in notices[0]
    assert out.splitlines() == [".  t"] * 5
    assert cycles_started_by_changes(err) == 4


def test_a_task_reading_the_terminal_reads_end_of_file(project, auto):
    """`doit auto` in the foreground of a terminal: a cycle is not in the
    terminal's foreground process group, so a read from the terminal would
    stop it (SIGTTIN) for ever. Its stdin is /dev/null instead."""
    project.write("in.txt", "in\n")
    project.dodo("""
def task_ask():
    return {'actions': ['cat; echo "run $?" >> runs.txt'], 'file_dep': ['in.txt']}
""")
    controller, terminal = os.openpty()
    try:
        a = auto("ask", stdin=terminal,
                 preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        assert os.tcgetpgrp(controller) == a.proc.pid  # auto is in the foreground
        assert wait_until(lambda: runs(project) == 1, timeout=10), [
            (pid, open(f"/proc/{pid}/stat").read().split(") ")[1][0])
            for pid in session_processes(a.proc.pid)]
        assert project.read("runs.txt") == "run 0\n"
        rc, out, _ = a.stop()
        assert rc == 0
        assert out == ".  ask\n"
    finally:
        os.close(controller)
        os.close(terminal)


def page_servers(sid):
    """{page file: pid} of the page_server.py processes in session `sid`."""
    found = {}
    for pid in python_processes_running(sid, "page_server.py"):
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        found.setdefault(argv[3].decode(), []).append(pid)
    return found


@pytest.mark.parametrize("web_depends_on_api", [False, True])
def test_two_servers_run_side_by_side_and_each_restarts_alone(project, auto, web_depends_on_api):
    api, web = free_port(), free_port()
    project.write("page_server.py", SERVER)
    project.write("api.txt", "api v1\n")
    project.write("web.txt", "web v1\n")
    task_dep = "'task_dep': ['api']," if web_depends_on_api else ""
    project.dodo(f"""
import sys
def task_api():
    return {{'actions': [sys.executable + ' page_server.py {api} api.txt'], 'file_dep': ['api.txt']}}

def task_web():
    return {{'actions': [sys.executable + ' page_server.py {web} web.txt'], 'file_dep': ['web.txt'],
            {task_dep}}}
""")
    a = auto("api", "web")
    assert wait_until(lambda: fetch(api) == "api v1\n" and fetch(web) == "web v1\n")
    first = page_servers(a.proc.pid)
    assert sorted(first) == ["api.txt", "web.txt"] and all(len(p) == 1 for p in first.values())

    edit(project, "web.txt", "web v2\n")  # only web restarts
    assert wait_until(lambda: fetch(web) == "web v2\n")
    second = page_servers(a.proc.pid)
    assert second["api.txt"] == first["api.txt"], (first, second)
    assert len(second["web.txt"]) == 1 and second["web.txt"] != first["web.txt"]
    assert fetch(api) == "api v1\n"

    edit(project, "api.txt", "api v2\n")  # only api restarts
    assert wait_until(lambda: fetch(api) == "api v2\n")
    third = page_servers(a.proc.pid)
    assert third["web.txt"] == second["web.txt"], (second, third)
    assert len(third["api.txt"]) == 1 and third["api.txt"] != first["api.txt"]

    rc, out, err = a.stop(signal.SIGHUP)
    assert rc == 0, err
    assert out.splitlines() == [".  api", ".  web", ".  web", ".  api"]
    assert err.count("restarting web") == 1 and err.count("restarting api") == 1, err
    assert "exited" not in err and "Address already in use" not in err, err
    assert wait_until(lambda: not session_processes(a.proc.pid), timeout=5)
    assert fetch(api) is None and fetch(web) is None
    # Stopped by `doit auto`: neither is recorded as done.
    assert project.run("list", "--status", "api", "web").out == "R api   \nR web   \n"


def lines_of(project, name):
    return project.read(name).splitlines() if project.exists(name) else []


def test_an_edit_of_a_local_module_imported_by_dodo_is_picked_up(project, auto):
    project.write("helpers/__init__.py", "")
    project.write("helpers/words.py", "WORD = 'one'\n")
    project.dodo("""
from helpers.words import WORD
def task_say():
    return {'actions': ['echo ' + WORD + ' >> log.txt'], 'uptodate': [False]}
""")
    a = auto("say")
    assert wait_until(lambda: lines_of(project, "log.txt") == ["one"])
    assert wait_until(lambda: watching(a))  # else: "changed while the tasks ran"
    edit(project, "helpers/words.py", "WORD = 'two'\n")
    assert wait_until(lambda: lines_of(project, "log.txt") == ["one", "two"])
    rc, _, err = a.stop()
    assert rc == 0
    assert f"doit auto: {project.path / 'helpers/words.py'} changed" in err.splitlines(), err


@pytest.mark.parametrize("name, setting, exists_at_start", [
    ("doit.cfg", "[task:greet]\ngreeting = {}\n", True),
    ("pyproject.toml", '[tool.doit.tasks.greet]\ngreeting = "{}"\n', False),
])
def test_an_edit_of_a_config_file_is_picked_up(project, auto, name, setting, exists_at_start):
    if exists_at_start:
        project.write(name, setting.format("hello"))
    project.dodo("""
def task_greet():
    return {'actions': ['echo %(greeting)s >> log.txt'], 'uptodate': [False],
            'params': [{'name': 'greeting', 'default': 'hello'}]}
""")
    a = auto("greet")
    assert wait_until(lambda: lines_of(project, "log.txt") == ["hello"])
    assert wait_until(lambda: watching(a))  # else: "changed while the tasks ran"
    project.write(name, setting.format("bonjour"))  # edited, or created
    assert wait_until(lambda: lines_of(project, "log.txt") == ["hello", "bonjour"])
    rc, _, err = a.stop()
    assert rc == 0
    assert f"doit auto: {project.path / name} changed" in err.splitlines(), err


CALLBACKS = {"success_callback": "echo success >> calls.txt",
             "failure_callback": "echo failure >> calls.txt"}


@pytest.mark.parametrize("given_in", ["command line", "doit.cfg"])
def test_success_and_failure_callbacks_run_after_the_right_cycles(project, auto, given_in):
    project.write("in.txt", "ok\n")
    project.dodo("""
def task_check():
    return {'actions': ['echo run >> runs.txt', 'grep -q ok in.txt'], 'file_dep': ['in.txt']}
""")
    if given_in == "doit.cfg":
        project.write("doit.cfg", "[auto]\n" + "".join(f"{k} = {v}\n" for k, v in CALLBACKS.items()))
        a = auto("check")
    else:
        a = auto("--success", CALLBACKS["success_callback"],
                 "--failure", CALLBACKS["failure_callback"], "check")
    assert wait_until(lambda: lines_of(project, "calls.txt") == ["success"])
    assert runs(project) == 1
    edit(project, "in.txt", "bad\n")
    assert wait_until(lambda: lines_of(project, "calls.txt") == ["success", "failure"])
    assert runs(project) == 2
    edit(project, "in.txt", "ok again\n")
    assert wait_until(lambda: lines_of(project, "calls.txt") == ["success", "failure", "success"])
    assert runs(project) == 3
    rc, _, _ = a.stop()
    assert rc == 0


@pytest.mark.parametrize("status, callback", [(0, "success"), (1, "failure")])
def test_a_slow_last_task_gets_its_callback_when_it_ends(project, auto, status, callback):
    """Still running after a second, it is taken for a server (an edit would
    restart it), but its callback says how it ended, when it ended."""
    project.dodo(f"""
def task_slow():
    return {{'actions': ['echo started > started.txt; while [ ! -e go ]; do sleep 0.02; done; '
                         'echo done > done.txt; exit {status}']}}
""")
    # Each callback says whether the task had ended when it ran.
    check = "if [ -e done.txt ]; then echo {} >> calls.txt; else echo {}-too-early >> calls.txt; fi"
    a = auto("--success", check.format("success", "success"),
             "--failure", check.format("failure", "failure"), "slow")
    assert project.wait_for_file("started.txt")
    time.sleep(1.5)  # longer than a server's grace: no callback while it runs
    assert lines_of(project, "calls.txt") == []
    project.write("go", "")
    assert wait_until(lambda: lines_of(project, "calls.txt") == [callback])
    rc, _, err = a.stop()
    assert rc == 0
    assert lines_of(project, "calls.txt") == [callback], err


def test_a_slow_task_that_another_depends_on_is_not_taken_for_a_server(project, auto):
    """A slow task without targets (a migration) before another: it does not
    listen on a socket, so it is waited for, however long it takes."""
    project.dodo("""
def task_migrate():
    return {'actions': ['echo started > started.txt; while [ ! -e go ]; do sleep 0.02; done; '
                        'echo done > migrated.txt']}

def task_use():
    return {'actions': ['if [ -e migrated.txt ]; then echo after >> use.txt; '
                        'else echo during >> use.txt; fi'],
            'task_dep': ['migrate']}
""")
    a = auto("use")
    assert project.wait_for_file("started.txt")
    time.sleep(1.5)  # longer than a server's grace
    assert not project.exists("use.txt")
    project.write("go", "")
    assert wait_until(lambda: lines_of(project, "use.txt") == ["after"])
    rc, out, err = a.stop()
    assert rc == 0
    assert out.splitlines() == [".  migrate", ".  use"]
    assert "exited" not in err


def test_a_long_running_task_nothing_waits_for_runs_beside_the_rest(project, auto):
    """A file watcher (no targets, never listens, never ends) that no task
    after it depends on: the cycle goes on to the server after it, and both
    are stopped at the end."""
    port = free_port()
    project.write("page_server.py", SERVER)
    project.write("page.txt", "served\n")
    project.dodo(f"""
import sys
def task_watch():
    return {{'actions': ['echo $$ > watcher.pid; while true; do sleep 0.05; done']}}

def task_serve():
    return {{'actions': [sys.executable + ' page_server.py {port} page.txt'],
            'file_dep': ['page.txt']}}
""")
    a = auto("watch", "serve")
    assert wait_until(lambda: fetch(port) == "served\n")
    watcher = int(project.read("watcher.pid"))
    os.kill(watcher, 0)  # still running beside the server
    rc, out, err = a.stop()
    assert rc == 0, err
    assert out.splitlines() == [".  watch", ".  serve"]
    assert wait_until(lambda: not session_processes(a.proc.pid), timeout=5)
    assert fetch(port) is None


def test_the_success_callback_of_a_server_comes_when_it_listens(project, auto):
    port = free_port()
    project.write("page.txt", "slow start\n")
    project.write("server.py", "import time\ntime.sleep(2)\n" + SERVER)
    project.dodo(f"""
import sys
def task_serve():
    return {{'actions': [sys.executable + ' server.py {port}']}}
""")
    # The callback says whether the server accepted a connection when it ran.
    probe = (f"{sys.executable} -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 1)\""
             " && echo up >> calls.txt || echo down >> calls.txt")
    a = auto("--success", probe, "serve")
    assert wait_until(lambda: lines_of(project, "calls.txt") == ["up"])
    assert fetch(port) == "slow start\n"
    rc, _, _ = a.stop()
    assert rc == 0
    assert lines_of(project, "calls.txt") == ["up"]


def test_a_file_deleted_during_the_first_cycle_starts_the_next(project, auto):
    project.write("in.txt", "x\n")
    project.dodo(WAITS_FOR_GO_DODO)
    a = auto("--failure", "echo failed >> ends.txt", "slow")
    assert wait_until(lambda: lines_of(project, "started.txt") == ["started"])
    os.remove(project.path / "in.txt")  # nothing was watched before this cycle
    project.write("go", "")
    # The first cycle cannot record the task; the next, started at once,
    # finds the file missing.
    assert wait_until(lambda: lines_of(project, "ends.txt") == ["failed", "failed"])
    assert wait_until(lambda: watching(a))
    rc, out, err = a.stop()
    assert rc == 0
    reasons = [line for line in err.splitlines() if line.startswith("doit auto: ")]
    assert reasons == [f"doit auto: {project.path / 'in.txt'} changed while the tasks ran"], err
    assert "ERROR: Task 'slow' saving success: Dependent file 'in.txt' does not exist." in out
    assert "ERROR: Task 'slow' checking dependencies: Dependent file 'in.txt' does not exist." in out
    assert lines_of(project, "ends.txt") == ["failed", "failed"]


CHATTY_DODO = """
import os, time

def task_chatty():
    # a server (after a second) that starts to log a second later: 180 KB
    # on its stdout (more than a pipe holds; captured), a line on stderr
    # (shown as it comes), then a mark
    return {'actions': ['sleep 2; for i in $(seq 4000); do '
                        'echo "chatty server, log line $i ......................"; done; '
                        'echo "chatty server, all written" >&2; touch wrote-all; exec sleep 60']}

def wait_for_the_mark():
    end = time.monotonic() + 10
    while time.monotonic() < end and not os.path.exists('wrote-all'):
        time.sleep(0.05)
    with open('seen.txt', 'w') as f:
        f.write('while the action ran\\n' if os.path.exists('wrote-all') else 'not\\n')

def task_slow():
    return {'actions': [wait_for_the_mark]}
"""


def test_a_server_is_read_while_a_python_action_of_its_cycle_runs(project, auto):
    """The python-action runs on doit's own thread; the server writing more
    than a pipe holds meanwhile gets through while it runs."""
    project.dodo(CHATTY_DODO)
    a = auto("chatty", "slow")
    assert wait_until(lambda: lines_of(project, "seen.txt") != [], timeout=20)
    assert lines_of(project, "seen.txt") == ["while the action ran"]
    rc, out, err = a.stop()
    assert rc == 0, err
    assert out.splitlines()[:2] == [".  chatty", ".  slow"]
    assert "chatty server, all written\n" in err

"""Shared fixtures for the functional tests.

Every test gets a `project` (a `Project` in a fresh temporary folder): it
writes a dodo.py and other files, runs the doit command under test there and
returns what came out (exit code, stdout, stderr).

The command comes from the environment variable DOIT_BIN: a path, or a
command line (split with shlex). Default: build/release/doit of this repo.

The suite is meant to pass against the real pydoit 0.31.1 too, which proves
the expectations are real. Use a wrapper script named `doit` so messages
print `doit` as the program name:

    #!/usr/bin/python3
    import sys; from doit.doit_cmd import DoitMain; sys.exit(DoitMain().run(sys.argv[1:]))

    DOIT_REFERENCE=1 DOIT_BIN=/tmp/pydoit-wrapper/doit python3 -m pytest tests/functional

With DOIT_REFERENCE=1, tests marked `cpp_only` (behaviour where pydoit 0.37
differs from 0.31.1, where the team decided differently, or our own state
file format) are skipped.
"""

import os
import re
import shlex
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO_ROOT / "build" / "release" / "doit"

#: Seconds any single doit invocation may take before the test fails.
COMMAND_TIMEOUT = 60

#: A line of 40 '#', as printed before each block of the failure summary.
SEP = "#" * 40


def is_reference():
    """True when the command under test is the real pydoit.

    Set DOIT_REFERENCE=1 (or 0 to force off). Without it, a DOIT_BIN that is
    `python -m doit` or runs a Python script calling DoitMain counts as pydoit.
    """
    flag = os.environ.get("DOIT_REFERENCE", "")
    if flag:
        return flag != "0"
    cmd = doit_command()
    if "-m" in cmd and "doit" in cmd:
        return True
    for word in cmd:
        try:
            with open(word, "rb") as f:
                head = f.read(4096)
        except OSError:
            continue
        if b"\0" not in head and b"DoitMain" in head:
            return True
    return False


def doit_command():
    """The command under test as an argv prefix."""
    value = os.environ.get("DOIT_BIN", "")
    if not value:
        return [str(DEFAULT_BIN)]
    if os.path.exists(value):
        return [value]
    return shlex.split(value)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "cpp_only: behaviour of doit-cpp that pydoit 0.31.1 does not have "
        "(0.37 behaviour, a team decision of SPEC §17, or our state file); "
        "skipped when DOIT_REFERENCE=1",
    )


def pytest_collection_modifyitems(config, items):
    if not is_reference():
        return
    skip = pytest.mark.skip(reason="cpp_only: not checked against pydoit")
    for item in items:
        if "cpp_only" in item.keywords:
            item.add_marker(skip)


def pytest_sessionstart(session):
    cmd = doit_command()
    if "/" in cmd[0] and not os.path.exists(cmd[0]):
        pytest.exit(
            f"doit binary not found: {cmd[0]} (build it, or set DOIT_BIN)",
            returncode=4,
        )


def clean_env(extra=None):
    """The environment every doit call gets: no DOIT_* variables, C.UTF-8."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOIT_")}
    env.update(
        LC_ALL="C.UTF-8",
        LANG="C.UTF-8",
        TZ="UTC",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("NO_COLOR", None)
    if extra:
        env.update(extra)
    return env


class Result:
    """What one doit invocation produced."""

    def __init__(self, args, rc, out, err):
        self.args = args
        self.rc = rc
        self.out = out
        self.err = err

    def __repr__(self):
        return (
            f"Result(args={self.args!r}, rc={self.rc!r},\n"
            f"  out={self.out!r},\n  err={self.err!r})"
        )


class Project:
    """A dodo.py project in a temporary folder."""

    def __init__(self, path: Path):
        self.path = path

    # -- files -----------------------------------------------------------
    def write(self, name, content="", dedent=True):
        """Write a text file (dedented), creating parent folders."""
        p = self.path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if dedent:
            content = textwrap.dedent(content)
            if content.startswith("\n"):
                content = content[1:]
        old = p.stat().st_mtime_ns if p.exists() else None
        p.write_text(content)
        if old is not None and p.stat().st_mtime_ns == old:
            # Make sure mtime-based checks see the change.
            os.utime(p, ns=(old + 10**9, old + 10**9))
        return p

    def dodo(self, content, name="dodo.py"):
        """Write the dodo file."""
        return self.write(name, content)

    def read(self, name):
        return (self.path / name).read_text()

    def read_bytes(self, name):
        return (self.path / name).read_bytes()

    def exists(self, name):
        return (self.path / name).exists()

    def remove(self, name):
        (self.path / name).unlink()

    def touch(self, name, delta=1.0):
        """Change only the mtime of an existing file (by `delta` seconds)."""
        p = self.path / name
        st = p.stat()
        new = st.st_mtime_ns + int(delta * 10**9)
        os.utime(p, ns=(new, new))

    def mtime_ns(self, name):
        return (self.path / name).stat().st_mtime_ns

    def lines(self, name):
        return self.read(name).splitlines()

    # -- running ---------------------------------------------------------
    def run(self, *args, cwd=None, env=None, timeout=COMMAND_TIMEOUT, stdin_text=None):
        """Run doit with `args` in the project folder (or `cwd`)."""
        argv = doit_command() + [str(a) for a in args]
        where = self.path if cwd is None else self.path / cwd
        proc = subprocess.run(
            argv,
            cwd=where,
            env=clean_env(env),
            input=None if stdin_text is None else stdin_text.encode(),
            stdin=subprocess.DEVNULL if stdin_text is None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=timeout,
        )
        return Result(
            args,
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )

    def run_with_input(self, text, *args, **kwargs):
        """Run doit with `text` on its stdin."""
        return self.run(*args, stdin_text=text, **kwargs)

    def start(self, *args, cwd=None, env=None):
        """Start doit in its own session/process group; returns the Popen."""
        argv = doit_command() + [str(a) for a in args]
        where = self.path if cwd is None else self.path / cwd
        return subprocess.Popen(
            argv,
            cwd=where,
            env=clean_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def wait_for_file(self, name, timeout=COMMAND_TIMEOUT):
        """Poll until a file exists; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exists(name):
                return True
            time.sleep(0.05)
        return False


def interrupt(proc, timeout=COMMAND_TIMEOUT):
    """Send SIGINT to the process group of `proc`, wait, return a Result."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise
    return Result(
        proc.args, proc.returncode,
        out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
    )


_FRAME = re.compile(r'^  File "(?P<file>[^"]*)", line \d+, in .*$')


def traceback_shape(text, user_dir):
    """Reduce Python tracebacks in `text` to a stable shape.

    Frames whose file is inside `user_dir` (the project folder) are kept with
    their source line; frames of doit itself (pydoit's or ours, which differ)
    are dropped, and so are the `^^^^` marker lines of newer Pythons. The
    header line and the final exception line are kept. Everything outside
    tracebacks is kept unchanged.
    """
    user_dir = str(user_dir)
    out = []
    lines = text.split("\n")
    i = 0
    in_tb = False
    while i < len(lines):
        line = lines[i]
        if line == "Traceback (most recent call last):":
            in_tb = True
            out.append(line)
            i += 1
            continue
        if in_tb:
            m = _FRAME.match(line)
            if m:
                keep = m.group("file").startswith(user_dir)
                if keep:
                    out.append(line)
                i += 1
                # the frame's source line(s) and marker lines
                while i < len(lines) and lines[i].startswith("    "):
                    if keep and not re.fullmatch(r"\s*[\^~]+\s*", lines[i]):
                        out.append(lines[i])
                    i += 1
                continue
            in_tb = False
        out.append(line)
        i += 1
    return "\n".join(out)


def no_addr(text):
    """Replace Python object addresses (` at 0x7f..`) by ` at 0x?`."""
    return re.sub(r" at 0x[0-9a-fA-F]+", " at 0x?", text)


def sanitizer_log_prefixes():
    """The `log_path` of ASAN_OPTIONS / UBSAN_OPTIONS, if the suite runs a
    sanitizer build (the `asan` preset sets them): each report is a file
    named PREFIX.PID."""
    prefixes = []
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        for item in os.environ.get(var, "").split(":"):
            key, _, value = item.partition("=")
            if key == "log_path" and value:
                prefixes.append(Path(value))
    return prefixes


def sanitizer_reports():
    """Every sanitizer report file written so far."""
    found = set()
    for prefix in sanitizer_log_prefixes():
        if prefix.parent.is_dir():
            found.update(prefix.parent.glob(prefix.name + ".*"))
    return found


@pytest.fixture(autouse=True)
def no_sanitizer_reports():
    """Fails the test during which a doit process wrote a sanitizer report
    (AddressSanitizer, UndefinedBehaviorSanitizer), whatever the test itself
    expected of the exit code and output."""
    if not sanitizer_log_prefixes():
        yield
        return
    before = sanitizer_reports()
    yield
    new = sorted(sanitizer_reports() - before)
    if new:
        text = "\n".join(f"--- {p}\n{p.read_text(errors='replace')}" for p in new)
        pytest.fail(f"sanitizer report(s) during this test:\n{text}", pytrace=False)


@pytest.fixture
def project(tmp_path):
    """A fresh project folder (its own folder `work` inside tmp_path)."""
    root = tmp_path / "work"
    root.mkdir()
    return Project(root)

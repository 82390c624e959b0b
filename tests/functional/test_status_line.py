"""The live status line on a terminal ([done/total] running tasks, elapsed),
through a real pseudo-terminal (`script`): drawn and redrawn in place under
the output, never on a pipe, never with NO_COLOR, TERM=dumb or --no-color.
pydoit has none (pydoit #229)."""

import os
import re
import shutil
import subprocess

import pytest

from conftest import clean_env, doit_command

pytestmark = [
    pytest.mark.cpp_only,
    pytest.mark.skipif(shutil.which("script") is None, reason="needs script (bsdutils)"),
]

DODO = """
def task_first():
    return {'actions': ['echo one'], 'verbosity': 2}
def task_second():
    return {'actions': ['echo two; echo warn >&2'], 'task_dep': ['first'], 'verbosity': 2}
def task_bad():
    return {'actions': ['exit 1'], 'task_dep': ['second']}
"""

STATUS = re.compile(r"\r\x1b\[K\[(\d+)/(\d+)\]((?:\x1b\[31m \d+ failed\x1b\[0m)?)([^\r\n]*?) "
                    r" (\d+\.\d)s")
ERASE = "\r\x1b[K"


def on_terminal(project, *args, env=None):
    """Runs doit under a pseudo-terminal; what the terminal received."""
    command = " ".join(doit_command() + list(args))
    proc = subprocess.run(["script", "-qec", command, "/dev/null"], cwd=project.path,
                          env=clean_env(env or {}), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return proc.stdout.decode("utf-8", "replace")


def without_status(raw):
    return STATUS.sub("", raw).replace(ERASE, "").replace("\r\n", "\n")


def test_status_line_is_drawn_and_the_output_is_unchanged(project):
    project.dodo(DODO)
    raw = on_terminal(project, "--continue")
    draws = STATUS.findall(raw)
    assert draws, raw
    assert {total for _, total, _, _, _ in draws} == {"3"}
    assert [done for done, *_ in draws][-1] == "3"
    assert ("0", "3", "", " first") == draws[0][:4]
    assert any(failed for _, _, failed, _, _ in draws)  # red "1 failed" at the end
    assert raw.endswith(ERASE)  # taken down before doit ended
    piped = project.run("--continue")
    # stdout and stderr share the terminal: the same lines, in an order
    # that may differ between the two streams
    assert sorted(without_status(raw).splitlines()) == \
        sorted((piped.out + piped.err).splitlines())


@pytest.mark.parametrize("env, args", [
    ({"NO_COLOR": "1"}, []),
    ({"TERM": "dumb"}, []),
    ({}, ["--no-color"]),
])
def test_no_status_line_when_asked_not_to(project, env, args):
    project.dodo(DODO)
    raw = on_terminal(project, *args, env=env)
    assert "\x1b[" not in raw
    assert ".  first" in raw


def test_never_on_a_pipe(project):
    project.dodo(DODO)
    r = project.run("--continue")
    assert "\x1b" not in r.out + r.err

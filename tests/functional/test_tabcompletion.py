"""`doit tabcompletion` (SPEC §4.11): the bash script is sourced in a real
bash and its completion function asked for candidates, as bash does on TAB
(COMP_WORDS split at ':' as bash splits them, COMP_CWORD, COMP_LINE,
COMP_POINT); the zsh script is checked with `zsh -n`.

The bash script runs `doit list` while completing, so the directory of the
binary under test goes first on PATH. The script of pydoit 0.31.1 needs the
bash-completion package and differs in its text, hence cpp_only.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import clean_env, doit_command

BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")

DODO = '''
def task_build():
    """build it"""
    return {'actions': ['echo build']}

def task_clean_up():
    return {'actions': ['echo c']}

def task_gen():
    """make things"""
    for n in ('one', 'two'):
        yield {'name': n, 'actions': ['echo %s' % n]}
'''

OTHER = '''
def task_zebra():
    return {'actions': ['echo z']}
'''

pytestmark = pytest.mark.cpp_only


def binary():
    cmd = doit_command()
    if len(cmd) != 1 or not os.path.isfile(cmd[0]):
        pytest.skip("DOIT_BIN must be a binary for these tests")
    return Path(cmd[0]).resolve()


def bash_words(line):
    """COMP_WORDS and COMP_CWORD as bash makes them from `line` (cursor at
    its end): split at blanks, and ':' is a word of its own."""
    words = []
    for part in line.split(" "):
        pieces = part.split(":")
        for i, piece in enumerate(pieces):
            if i > 0:
                words.append(":")
            if piece or i == 0:
                words.append(piece)
    return words, len(words) - 1


def complete(project, script, line, with_bash_completion=False):
    """The COMPREPLY of the script's function for `line` (cursor at the end)."""
    words, cword = bash_words(line)
    binpath = binary()
    fn = "_" + "".join(c if c.isalnum() else "_" for c in binpath.name)
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = "\n".join([
        f"source {BASH_COMPLETION}" if with_bash_completion else "",
        f"source '{script}'",
        f"COMP_WORDS=({quoted}); COMP_CWORD={cword}",
        "COMP_LINE='" + line.replace("'", "'\\''") + "'; COMP_POINT=${#COMP_LINE}",
        f"{fn}",
        'printf "%s\\n" "${COMPREPLY[@]}"',
    ])
    env = clean_env({"PATH": f"{binpath.parent}:{os.environ['PATH']}"})
    proc = subprocess.run(["bash", "-c", program], cwd=project.path, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return sorted(w for w in proc.stdout.split("\n") if w)


@pytest.fixture
def bash_script(project):
    project.dodo(DODO)
    project.write("other.py", OTHER)
    r = project.run("tabcompletion")
    assert r.rc == 0, r
    assert r.err == ""
    return project.write("completion.bash", r.out, dedent=False)


COMMANDS = ["auto", "clean", "dumpdb", "forget", "graph", "help", "ignore", "info", "list",
            "reset-dep", "run", "stats", "strace", "tabcompletion"]

MODES = [pytest.param(False, id="plain-bash"),
         pytest.param(True, id="bash-completion",
                      marks=pytest.mark.skipif(not BASH_COMPLETION.exists(),
                                               reason="bash-completion is not installed"))]


def test_bash_script_is_valid_bash(bash_script):
    proc = subprocess.run(["bash", "-n", str(bash_script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "complete -o filenames -F _doit doit" in bash_script.read_text() or \
        binary().name != "doit"


@pytest.mark.parametrize("bc", MODES)
def test_first_word_is_a_command_or_a_task(project, bash_script, bc):
    assert complete(project, bash_script, "doit ", bc) == sorted(
        COMMANDS + ["build", "clean_up", "gen"])
    assert complete(project, bash_script, "doit cl", bc) == ["clean", "clean_up"]
    assert complete(project, bash_script, "doit ta", bc) == ["tabcompletion"]


@pytest.mark.parametrize("bc", MODES)
def test_tasks_after_a_command_that_takes_tasks(project, bash_script, bc):
    assert complete(project, bash_script, "doit list ", bc) == ["build", "clean_up", "gen"]
    assert complete(project, bash_script, "doit run b", bc) == ["build"]
    # help takes a task or a command
    assert complete(project, bash_script, "doit help i", bc) == ["ignore", "info"]
    # after a task: more tasks
    assert complete(project, bash_script, "doit build g", bc) == ["gen"]


@pytest.mark.parametrize("bc", MODES)
def test_sub_tasks_after_a_colon(project, bash_script, bc):
    # bash replaces only what follows the ':', so that is what is offered
    assert complete(project, bash_script, "doit gen:", bc) == ["one", "two"]
    assert complete(project, bash_script, "doit gen:t", bc) == ["two"]
    assert complete(project, bash_script, "doit info gen:o", bc) == ["one"]


@pytest.mark.parametrize("bc", MODES)
def test_options_of_the_command(project, bash_script, bc):
    assert complete(project, bash_script, "doit tabcompletion --s", bc) == [
        "--seek-file", "--shell"]
    assert "--always-execute" in complete(project, bash_script, "doit build --", bc)
    assert complete(project, bash_script, "doit strace --k", bc) == ["--keep"]


@pytest.mark.parametrize("bc", MODES)
def test_tasks_of_the_dodo_file_given_with_f(project, bash_script, bc):
    assert complete(project, bash_script, "doit -f other.py ", bc) == sorted(
        COMMANDS + ["zebra"])
    assert complete(project, bash_script, "doit -f other.py list z", bc) == ["zebra"]
    assert complete(project, bash_script, "doit -f oth", bc) == ["other.py"]


def test_hardcoded_tasks_need_no_dodo_file_to_complete(project):
    project.dodo(DODO)
    r = project.run("tabcompletion", "--hardcode-tasks")
    assert r.rc == 0, r
    assert "tasks='build clean_up gen'" in r.out
    script = project.write("completion.bash", r.out, dedent=False)
    project.remove("dodo.py")
    assert complete(project, script, "doit list ") == ["build", "clean_up", "gen"]


def test_zsh_script(project):
    project.dodo(DODO)
    r = project.run("tabcompletion", "--shell", "zsh")
    assert r.rc == 0, r
    assert r.out.startswith(f"#compdef {binary().name}\n")
    for name in COMMANDS:
        assert f"        ({name})\n" in r.out
    assert ("'(-s --shell)'{-s,--shell=}'[Completion code for SHELL.]:ARG: '"
            in r.out)
    assert "list --template '{name}:{doc}'" in r.out
    r = project.run("tabcompletion", "-s", "zsh", "--hardcode-tasks")
    assert "        'build:build it'\n        'clean_up:'\n        'gen:make things'\n" in r.out
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed: syntax not checked")
    script = project.write("_doit", r.out, dedent=False)
    proc = subprocess.run(["zsh", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_unknown_shell(project):
    r = project.run("tabcompletion", "--shell", "fish")
    assert r.rc == 3
    assert r.out == ""
    assert "fish" in r.err


@pytest.mark.parametrize("bc", MODES)
def test_graph_completes_tasks_and_its_options(project, bash_script, bc):
    assert complete(project, bash_script, "doit graph ", bc) == ["build", "clean_up", "gen"]
    assert complete(project, bash_script, "doit graph --fo", bc) == ["--format"]

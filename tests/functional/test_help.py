"""`help` and `--version` (SPEC §1.1, §4.10). The layout is ours; these tests
check only exit codes, streams and the key words: command names, option
flags and defaults."""

import re

import pytest

COMMANDS = ["clean", "dumpdb", "forget", "help", "ignore", "info", "list",
            "reset-dep", "run", "strace", "tabcompletion"]

LOADER_FLAGS = ["--db-file", "--check_file_uptodate", "-f", "--file", "-d", "--dir",
                "-k", "--seek-file"]

RUN_FLAGS = ["-a", "--always-execute", "-c", "--continue", "--no-continue",
             "-v", "--verbosity", "-r", "--reporter", "-o", "--output-file",
             "-n", "--process", "-P", "--parallel-type", "--pdb", "-s", "--single",
             "--auto-delayed-regex", "--failure-verbosity"]

LIST_FLAGS = ["--all", "-q", "--quiet", "-s", "--status", "-p", "--private", "--deps"]

TASK = '''
def task_full():
    """Full doc line."""
    return {'actions': ['echo %(p)s'],
            'params': [{'name': 'p', 'short': 'p', 'default': 'd', 'help': 'a param'}]}
'''


def flags_in(text):
    """Every option-looking word of a help text."""
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))


def test_version_prints_a_version_number(project):
    r = project.run("--version")
    assert (r.rc, r.err) == (0, "")
    assert re.match(r"\d+\.\d+(\.\d+)?", r.out.splitlines()[0])


def test_help_lists_every_command(project):
    r = project.run("help")
    assert (r.rc, r.err) == (0, "")
    for cmd in COMMANDS:
        assert re.search(rf"^\s+doit {re.escape(cmd)}\s", r.out, re.M), cmd
    assert "doit help task" in r.out
    assert "doit help <command>" in r.out
    assert "doit help <task-name>" in r.out


def test_help_option_prints_the_same_as_help_command(project):
    r1 = project.run("--help")
    r2 = project.run("help")
    assert (r1.rc, r1.err) == (0, "")
    assert r1.out == r2.out


def test_help_does_not_need_a_dodo_file(project):
    r = project.run("help")
    assert (r.rc, r.err) == (0, "")
    assert not project.exists(".doit.db")


def test_help_run_lists_the_run_options_and_defaults(project):
    r = project.run("help", "run")
    assert (r.rc, r.err) == (0, "")
    assert set(LOADER_FLAGS + RUN_FLAGS) <= flags_in(r.out)
    for default in (".doit.db", "dodo.py", "md5"):
        assert default in r.out
    for reporter in ("console", "executed-only", "json", "zero"):
        assert reporter in r.out


def test_help_list_lists_the_list_options(project):
    r = project.run("help", "list")
    assert (r.rc, r.err) == (0, "")
    assert set(LOADER_FLAGS + LIST_FLAGS) <= flags_in(r.out)
    assert "--always-execute" not in r.out


@pytest.mark.cpp_only
def test_help_list_has_template_and_sort(project):
    r = project.run("help", "list")
    assert (r.rc, r.err) == (0, "")
    assert {"--template", "--sort"} <= flags_in(r.out)
    assert "definition" in r.out


def test_help_task_describes_the_task_dictionary(project):
    r = project.run("help", "task")
    assert (r.rc, r.err) == (0, "")
    for key in ("actions", "basename", "name", "file_dep", "targets", "task_dep",
                "setup", "calc_dep", "uptodate", "teardown", "clean", "params",
                "pos_arg", "verbosity", "getargs", "title", "watch", "doc"):
        assert re.search(rf"^{key}\b", r.out, re.M), key


def test_help_for_a_task_shows_its_doc_and_params(project):
    project.dodo(TASK)
    r = project.run("help", "full")
    assert (r.rc, r.err) == (0, "")
    lines = r.out.splitlines()
    assert lines[0] == "full  Full doc line."
    assert re.fullmatch(r"\s+-p ARG\s+a param\s+\(config: p\)", lines[1])


def test_help_for_an_unknown_name_prints_the_general_help(project):
    project.dodo(TASK)
    r = project.run("help", "nosuch")
    assert (r.rc, r.err) == (0, "")
    assert r.out == project.run("help").out

"""The projects of examples/ (c-project, data-pipeline), each run through
the binary in a temporary copy: build, then a no-op run that prints only
`-- ` lines, then a change, then clean. They are plain pydoit projects, so
these tests hold for pydoit 0.31.1 too."""

import json
import shutil
import subprocess

import pytest

from conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"


@pytest.fixture
def example(project):
    """Copies examples/NAME into the project folder (without any state)."""

    def copy(name):
        shutil.copytree(EXAMPLES / name, project.path, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".doit.db*", "build", "out",
                                                      "__pycache__"))
        return project

    return copy


def only_up_to_date_lines(out):
    lines = out.splitlines()
    return bool(lines) and all(line.startswith("-- ") for line in lines)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_c_project_builds_then_does_nothing_then_cleans(example):
    p = example("c-project")
    r = p.run()
    assert (r.rc, r.err) == (0, ""), r
    lines = r.out.splitlines()
    # pydoit orders the objects at random (file_dep is a set there)
    assert sorted(lines[:3]) == [".  compile:count.o", ".  compile:greet.o", ".  compile:main.o"]
    assert lines[3:] == [".  link", ".  check", "Hello, doit!", "1 word(s) in the name"]
    for f in ("build/count.o", "build/greet.o", "build/main.o", "build/hello"):
        assert p.exists(f)
    prog = subprocess.run([str(p.path / "build/hello"), "a b"], capture_output=True,
                          text=True, check=True)
    assert prog.stdout == "Hello, a b!\n2 word(s) in the name\n"

    r = p.run()
    assert (r.rc, r.err) == (0, ""), r
    assert only_up_to_date_lines(r.out), r.out
    assert sorted(r.out.splitlines()) == [
        "-- check", "-- compile:count.o", "-- compile:greet.o", "-- compile:main.o", "-- link"]

    # A header change rebuilds the objects whose source includes it; main.o
    # changed, so the link and the check run again.
    p.write("include/count.h", p.read("include/count.h").replace('"word(s)"', '"words"'))
    r = p.run()
    assert r.rc == 0, r
    ran = {line[3:] for line in r.out.splitlines() if line.startswith(".  ")}
    assert ran == {"compile:count.o", "compile:main.o", "link", "check"}
    assert "-- compile:greet.o" in r.out.splitlines()
    assert r.out.endswith("Hello, doit!\n1 words in the name\n")

    # Only a comment: both objects are rebuilt byte for byte, nothing else runs.
    p.write("include/count.h", p.read("include/count.h") + "/* a comment */\n")
    r = p.run()
    assert r.rc == 0, r
    ran = {line[3:] for line in r.out.splitlines() if line.startswith(".  ")}
    assert ran == {"compile:count.o", "compile:main.o"}

    r = p.run("clean")
    assert (r.rc, r.err) == (0, ""), r
    for f in ("build/count.o", "build/greet.o", "build/main.o", "build/hello"):
        assert not p.exists(f), f
    assert p.exists("src/main.c") and p.exists("include/greet.h")


def test_data_pipeline_runs_then_does_nothing_then_cleans(example):
    p = example("data-pipeline")
    r = p.run()
    assert (r.rc, r.err) == (0, ""), r
    assert r.out.startswith(".  load\n.  summarize\n.  publish\n")
    summary = json.loads(p.read("out/summary.json"))
    assert summary == {"rows": 7, "top": {"south": 101.25, "north": 92.0, "east": 67.5}}
    assert json.loads(p.read("out/report.json")) == summary

    r = p.run()
    assert (r.rc, r.err) == (0, ""), r
    assert r.out == "-- load\n-- summarize\n-- publish\n"

    # The param: forced, with --top 2 instead of the default 3.
    r = p.run("run", "-a", "summarize", "--top", "2")
    assert r.rc == 0, r
    assert json.loads(p.read("out/summary.json"))["top"] == {"south": 101.25, "north": 92.0}

    # New data: load runs, summarize gets the new values through getargs.
    p.write("data/sales.csv", p.read("data/sales.csv") + "east,plums,1000,0.30\n")
    r = p.run()
    assert r.rc == 0, r
    assert r.out.startswith(".  load\n.  summarize\n.  publish\n")
    summary = json.loads(p.read("out/summary.json"))
    assert summary["rows"] == 8
    assert list(summary["top"]) == ["east", "south", "north"]

    r = p.run("clean")
    assert (r.rc, r.err) == (0, ""), r
    assert not p.exists("out/summary.json") and not p.exists("out/report.json")
    assert p.exists("data/sales.csv")

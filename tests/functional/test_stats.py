"""Task times: every run keeps when each task ran and how long it took;
`doit stats` shows the slowest tasks of the last run and their trend, and
`run --profile FILE` writes the run as a Chrome trace. doit-cpp only."""

import json
import re

import pytest

pytestmark = pytest.mark.cpp_only

DODO = """
def task_slow():
    return {'actions': ['sleep 0.4'], 'file_dep': ['in.txt']}
def task_quick():
    return {'actions': ['sleep 0.1'], 'file_dep': ['in.txt']}
def task_bad():
    return {'actions': ['exit 1'], 'file_dep': ['in.txt']}
def task_group():
    return {'actions': None, 'task_dep': ['slow', 'quick']}
"""

LINE = re.compile(r"^ +(\d+\.\d{3}) s  (\S+) +\((.*)\)( \[\w+\])?$")


def rows(out):
    return [LINE.match(line).groups() for line in out.splitlines() if LINE.match(line)]


@pytest.fixture
def timed(project):
    project.dodo(DODO)
    project.write("in.txt", "1\n")
    return project


def test_stats_lists_the_slowest_tasks_of_the_last_run_then_their_trend(timed):
    timed.run("--continue")
    r = timed.run("stats")
    assert r.rc == 0, r
    assert ": 1 run kept; the last started " in r.out
    assert "last run: 3 tasks ran, " in r.out
    found = rows(r.out)
    assert [name for _, name, _, _ in found] == ["slow", "quick", "bad"]
    assert float(found[0][0]) >= 0.4 and float(found[1][0]) >= 0.1
    assert [trend for _, _, trend, _ in found] == ["first run"] * 3
    assert found[2][3] == " [failure]"

    timed.write("in.txt", "2\n")
    timed.run("--continue")
    r = timed.run("stats", "--limit", "1")
    assert ": 2 runs kept;" in r.out
    [(_, name, trend, _)] = rows(r.out)
    assert name == "slow"
    assert re.fullmatch(r"0\.4\d\d s over 1 run, [+-]\d+%", trend), trend


def test_runs_that_run_nothing_and_dry_runs_keep_no_times(timed):
    timed.run("slow")
    timed.run("slow")  # up to date
    timed.write("in.txt", "2\n")
    timed.run("--dry-run", "slow")
    r = timed.run("stats")
    assert ": 1 run kept;" in r.out


def test_stats_without_a_timed_run(timed):
    r = timed.run("stats")
    assert (r.rc, r.out) == (3, "")
    assert "'.doit.db': no state has been saved there" in r.err
    timed.run("ignore", "slow")  # creates the database, runs nothing
    r = timed.run("stats")
    assert (r.rc, r.out) == (0, ".doit.db: no run has been timed yet\n")


def events(project, name):
    return json.loads(project.read(name))["traceEvents"]


def test_profile_writes_a_chrome_trace_of_the_run(timed):
    r = timed.run("--continue", "--profile", "trace.json")
    assert r.rc == 1, r
    found = {e["name"]: e for e in events(timed, "trace.json")}
    assert set(found) == {"slow", "quick", "bad"}
    for e in found.values():
        assert (e["ph"], e["pid"]) == ("X", 1)
    assert found["slow"]["dur"] >= 400_000  # microseconds
    assert found["bad"]["args"] == {"result": "failure"}
    # one after the other: one row
    assert {e["tid"] for e in found.values()} == {1}


def test_tasks_running_at_the_same_time_get_their_own_rows(timed):
    r = timed.run("-n", "2", "--profile", "trace.json", "slow", "quick")
    assert r.rc == 0, r
    rows_used = {e["name"]: e["tid"] for e in events(timed, "trace.json")}
    assert rows_used["slow"] != rows_used["quick"]


def test_stats_reads_the_state_without_changing_it(timed):
    timed.run("slow")
    before = {p.name: p.read_bytes() for p in timed.path.glob(".doit.db*")}
    r = timed.run("stats")
    assert r.rc == 0, r
    assert {p.name: p.read_bytes() for p in timed.path.glob(".doit.db*")} == before

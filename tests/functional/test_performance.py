"""Work a run must not do (issue #7, speed at scale). These tests count what
is done, never time it, so a slow or busy machine cannot make them fail."""

import os
import subprocess
import sys

import pytest

from conftest import Project, clean_env, doit_command, is_reference

pytestmark = pytest.mark.skipif(is_reference(), reason="doit-cpp's own start-up")

#: Writes the names of every imported module at interpreter exit.
RECORD_MODULES = """
import atexit, sys

def _record():
    with open('modules.txt', 'w') as f:
        f.write('\\n'.join(sorted(sys.modules)) + '\\n')

atexit.register(_record)

def task_copy():
    return {'actions': ['cat in.txt > out.txt'], 'file_dep': ['in.txt'],
            'targets': ['out.txt']}
"""

#: Slow to import, and never needed by a run whose actions are commands.
HEAVY_MODULES = {"inspect", "subprocess", "threading", "pathlib", "traceback", "hashlib",
                 "json", "datetime", "sqlite3", "importlib.util"}


def modules_at_python_start():
    """What this interpreter imports by itself (site, .pth files...)."""
    out = subprocess.run([sys.executable, "-c", "import sys; print('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_up_to_date_run_imports_no_heavy_module(project):
    project.dodo(RECORD_MODULES)
    project.write("in.txt", "x\n")
    assert project.run().rc == 0
    r = project.run()
    assert (r.rc, r.out) == (0, "-- copy\n")
    imported = set(project.lines("modules.txt"))
    assert "doit.tools" in imported  # the record is complete
    assert sorted((imported & HEAVY_MODULES) - modules_at_python_start()) == []


#: Python actions and an uptodate callable, all plain functions.
RECORD_MODULES_PYTHON_ACTIONS = RECORD_MODULES.replace("def task_copy", """
def build(targets, dependencies, size=3):
    with open(targets[0], 'w') as f:
        f.write('%d %s\\n' % (size, dependencies))

def never(task, values):
    return False

class Stamp:
    def write(self, targets, dependencies):
        with open(targets[1], 'w') as f:
            f.write('%s %s\\n' % (targets, dependencies))

def task_build():
    return {'actions': [build, (build, [], {'size': 4}), Stamp().write],
            'file_dep': ['in.txt'], 'targets': ['built.txt', 'stamp.txt'],
            'uptodate': [never], 'verbosity': 0}

def task_copy""")


def test_a_run_of_plain_python_functions_imports_no_heavy_module(project):
    # Their parameters (a bound method's too) are read from their code
    # objects: `inspect` (about 10 ms to import) is for other callables.
    project.dodo(RECORD_MODULES_PYTHON_ACTIONS)
    project.write("in.txt", "x\n")
    r = project.run()
    assert (r.rc, r.out) == (0, ".  build\n.  copy\n"), r.err
    assert project.read("built.txt") == "4 ['in.txt']\n"
    assert project.read("stamp.txt") == "['built.txt', 'stamp.txt'] ['in.txt']\n"
    imported = set(project.lines("modules.txt"))
    assert "doit._runtime" in imported  # the actions ran in this interpreter
    assert sorted((imported & HEAVY_MODULES) - modules_at_python_start()) == []


def test_python_finalizes_without_collecting_what_lived(project):
    # Finalization's collections walked every object still alive (half of
    # it, about 2 ms of each run): they are frozen first (gc.freeze). An
    # atexit handler runs after that and before the modules are cleared.
    project.dodo("""
        import atexit, gc

        def _record():
            with open('frozen.txt', 'w') as f:
                f.write('%d' % gc.get_freeze_count())

        atexit.register(_record)

        def task_t():
            return {'actions': ['true']}
        """)
    for command in ([], ["list"]):
        r = project.run(*command)
        assert r.rc == 0, r
        assert int(project.read("frozen.txt")) > 1000


def test_list_imports_no_heavy_module(project):
    project.dodo(RECORD_MODULES)
    r = project.run("list")
    assert (r.rc, r.out) == (0, "copy   \n")
    imported = set(project.lines("modules.txt"))
    assert sorted((imported & HEAVY_MODULES) - modules_at_python_start()) == []


# -- work per task: the counts of a no-op grow linearly with the number of
# tasks, with the per-task amounts pinned below. DOIT_COUNT_WORK=1 makes doit
# print them on stderr at exit; strace counts the stat system calls from
# outside.

#: N tasks of K file_deps and one target each, one folder of sources a task.
SCALED_DODO = """
N = {n}
K = {k}

def task_t():
    for i in range(N):
        yield {{'name': 'm%04d' % i,
               'actions': ['cat %(dependencies)s > %(targets)s'],
               'file_dep': ['src/m%04d/f%02d.txt' % (i, j) for j in range(K)],
               'targets': ['out/m%04d.out' % i]}}
"""

K_DEPS = 4
SIZES = (40, 80, 160)


def scaled_project(root, n, k=K_DEPS):
    """A built project of `n` tasks: the next `doit` is a no-op."""
    root.mkdir()
    p = Project(root)
    p.dodo(SCALED_DODO.format(n=n, k=k))
    for i in range(n):
        for j in range(k):
            p.write(f"src/m{i:04d}/f{j:02d}.txt", f"{i} {j}\n")
    p.write("out/.keep")
    r = p.run()
    assert r.rc == 0, r
    return p


def work_counts(result):
    """The counters of a run's `doit: work:` line."""
    line = [l for l in result.err.splitlines() if l.startswith("doit: work: ")]
    assert len(line) == 1, result
    return {k: int(v) for k, v in (w.split("=") for w in line[0].split()[2:])}


@pytest.fixture(scope="module")
def noop_work(tmp_path_factory):
    """Work counts of a no-op at each size."""
    counts = {}
    for n in SIZES:
        p = scaled_project(tmp_path_factory.mktemp("scaled") / "work", n)
        r = p.run(env={"DOIT_COUNT_WORK": "1"})
        assert r.rc == 0, r
        assert r.out.count("-- ") == n, r
        counts[n] = work_counts(r)
    return counts


def per_task(counts, key):
    """The growth of `key` per task between consecutive sizes."""
    return [(counts[b][key] - counts[a][key]) / (b - a) for a, b in zip(SIZES, SIZES[1:])]


def test_noop_stats_each_file_dep_and_target_once(noop_work):
    assert per_task(noop_work, "stat") == [K_DEPS + 1] * (len(SIZES) - 1)
    assert noop_work[SIZES[0]]["stat"] <= SIZES[0] * (K_DEPS + 1) + 20


def test_noop_hashes_nothing(noop_work):
    assert [c["hash"] for c in noop_work.values()] == [0] * len(SIZES)


def test_noop_sql_statements_do_not_grow_with_the_tasks(noop_work):
    # The state is read in one query; nothing is written for a task that
    # did not run (the run's own record is a few statements).
    sql = [c["sql"] for c in noop_work.values()]
    assert len(set(sql)) == 1 and sql[0] <= 20, sql


def test_noop_python_calls_grow_linearly_and_stay_few_per_task(noop_work):
    growth = per_task(noop_work, "python_calls")
    assert max(growth) - min(growth) <= 0.5, growth  # linear: no per-task cost grows with N
    # The dodo file's own generator makes a handful per task (range, the
    # format operations are not calls); the loader adds what it needs.
    assert max(growth) <= 15, growth


def test_noop_stat_system_calls_per_task(tmp_path):
    """strace's count of the stat family: each path stat()ed once, by any thread."""
    counts = {}
    for n in SIZES[:2]:
        p = scaled_project(tmp_path / f"n{n}", n)
        summary = p.path / "strace.txt"
        argv = ["strace", "-f", "-c", "-o", str(summary),
                "-e", "trace=stat,lstat,newfstatat,statx"]
        proc = subprocess.run(argv + doit_command(), cwd=p.path, env=clean_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        assert proc.returncode == 0, proc.stderr
        # "% time  seconds  usecs/call  calls  [errors]  syscall"
        rows = [line.split() for line in summary.read_text().splitlines()]
        counts[n] = sum(int(r[3]) for r in rows if len(r) >= 5 and r[-1] != "total"
                        and r[3].isdigit())
    a, b = SIZES[:2]
    assert counts[a] > 0, counts
    assert counts[b] - counts[a] == (b - a) * (K_DEPS + 1), counts


@pytest.mark.parametrize("edit", ["after the state", "dated before the state"])
def test_an_edited_file_stats_only_its_task_again(tmp_path, edit):
    """The stat cache outlives the edited task's action: the tasks checked
    after it are answered from it (their folders watched), not the disk."""
    n = SIZES[1]
    p = scaled_project(tmp_path / "work", n)
    noop = work_counts(p.run(env={"DOIT_COUNT_WORK": "1"}))
    edited_path = f"src/m{n // 2:04d}/f00.txt"
    p.write(edited_path, "edited\n")
    state = max(p.mtime_ns(name) for name in (".doit.db", ".doit.db-wal") if p.exists(name))
    stamp = (state + 10**9 if edit == "after the state" else state - 10**10) / 10**9
    os.utime(p.path / edited_path, (stamp, stamp))
    r = p.run(env={"DOIT_COUNT_WORK": "1"})
    assert r.rc == 0 and r.out.count(".  ") == 1, r
    edited = work_counts(r)
    assert edited["hash"] == 1
    if edit == "after the state":
        # A file newer than the state: the journal started while the checks
        # before its task ran, with that task's folder in it. Nothing is
        # asked of the disk again.
        assert edited["stat"] == noop["stat"], (noop, edited)
    else:
        # The journal starts when the action is about to run, for the paths
        # still to be checked: the edited task's file_deps are stat()ed again
        # when its result is saved.
        assert noop["stat"] < edited["stat"] <= noop["stat"] + K_DEPS + 1, (noop, edited)


def peak_rss_kib(project):
    """The peak resident memory of a no-op `doit` in `project`, in KiB, as
    the kernel accounts it. Started by /usr/bin/time: a process forked from
    this big Python would carry Python's own peak in its count."""
    argv = ["/usr/bin/time", "-f", "peak %M"] + doit_command()
    proc = subprocess.run(argv, cwd=project.path, env=clean_env(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stderr.splitlines()[-1].split()[1])


@pytest.mark.skipif("ASAN_OPTIONS" in os.environ,
                    reason="a sanitizer's shadow memory and redzones count in the peak")
def test_noop_memory_per_task(tmp_path):
    """Memory, not time: what a no-op holds per task stays small (the task
    dicts are not kept, paths are not copied per string...). Measured on the
    growth between two sizes, so the interpreter's own share cancels out."""
    sizes = (2000, 8000)
    peaks = [peak_rss_kib(scaled_project(tmp_path / f"n{n}", n)) for n in sizes]
    per_task_kib = (peaks[1] - peaks[0]) / (sizes[1] - sizes[0])
    print("peak RSS", peaks, "KiB; per task", per_task_kib)
    # About 2.5 KiB a task of 4 file_deps today; keeping every task dict
    # alive, as doit-cpp did before, took 1.6 KiB more.
    assert per_task_kib <= 3.2, (peaks, per_task_kib)

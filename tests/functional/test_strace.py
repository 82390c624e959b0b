"""`doit strace TASK` (SPEC §4.8): the task's cmd-actions run under the real
strace; the report lists the files read (R) and written (W).

pydoit's report is nearly empty with current strace output (its regex misses
`openat` and aligned ` = `), so the report lines are doit-cpp's (cpp_only).
"""

import shutil

import pytest

needs_strace = pytest.mark.skipif(
    shutil.which("strace") is None,
    reason="strace is not installed (apt-get install strace; .ci/packages lists it)",
)

COPY = """
def task_cp():
    return {'actions': ['cp in.txt out.txt', 'cat in.txt > tmp.txt; mv tmp.txt moved.txt'],
            'file_dep': ['in.txt'], 'targets': ['out.txt']}

def task_argv():
    return {'actions': [['cp', 'in.txt', 'argv.txt']]}

def hello():
    open('py.txt', 'w').write('x')

def task_py():
    return {'actions': [hello]}

def task_other():
    return {'actions': ['echo other']}
"""


@pytest.fixture
def copy_project(project):
    project.dodo(COPY)
    project.write("in.txt", "hello\n")
    return project


@needs_strace
@pytest.mark.cpp_only
def test_reports_files_read_and_written_in_order(copy_project):
    p = copy_project
    r = p.run("strace", "cp")
    assert r.rc == 0, r
    root = str(p.path)
    assert r.out.splitlines() == [
        ".  cp",
        ".  strace_report",
        f"R {root}/in.txt",
        f"W {root}/out.txt",
        f"W {root}/tmp.txt",
        f"W {root}/moved.txt",
    ]
    assert p.read("moved.txt") == "hello\n"
    assert not p.exists("strace.txt")


@needs_strace
@pytest.mark.cpp_only
def test_up_to_date_task_is_traced_anyway(copy_project):
    p = copy_project
    assert p.run("cp").out == ".  cp\n"
    assert p.run("cp").out == "-- cp\n"
    r = p.run("strace", "cp")
    assert r.out.splitlines()[:2] == [".  cp", ".  strace_report"]


@needs_strace
@pytest.mark.cpp_only
def test_argv_actions_are_traced(copy_project):
    p = copy_project
    r = p.run("strace", "argv")
    root = str(p.path)
    assert r.out.splitlines() == [
        ".  argv", ".  strace_report", f"R {root}/in.txt", f"W {root}/argv.txt"]


@needs_strace
@pytest.mark.cpp_only
def test_all_shows_files_outside_the_folder_and_keep_keeps_the_trace(copy_project):
    p = copy_project
    r = p.run("strace", "-a", "--keep", "argv")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    outside = [line for line in lines[2:] if not line[2:].startswith(str(p.path) + "/")]
    assert outside, r.out
    assert all(line[:2] in ("R ", "W ") for line in lines[2:])
    assert f"R {p.path}/in.txt" in lines
    assert "execve(" in p.read("strace.txt")


@needs_strace
@pytest.mark.cpp_only
def test_python_actions_are_not_traced(copy_project):
    p = copy_project
    r = p.run("strace", "py")
    assert (r.rc, r.out) == (0, ".  py\n.  strace_report\n")
    assert p.exists("py.txt")


@needs_strace
@pytest.mark.cpp_only
def test_a_task_named_strace_report_is_left_alone(project):
    # pydoit adds its report task under this name and fails on the duplicate.
    project.dodo(COPY + """
def task_strace_report():
    return {'actions': ['echo mine > mine.txt']}
""")
    project.write("in.txt", "hello\n")
    r = project.run("strace", "argv")
    work = project.path
    assert (r.rc, r.out) == (
        0, f".  argv\n.  strace_report_\nR {work}/in.txt\nW {work}/argv.txt\n")
    assert not project.exists("mine.txt")


@needs_strace
def test_one_task_exactly(copy_project):
    for args in ([], ["cp", "other"]):
        r = copy_project.run("strace", *args)
        assert r.rc == 3
        assert r.out == ""
        assert r.err == ("ERROR: strace failed, must select *one* task to strace."
                         "\nCheck `doit help strace`.\n")


@needs_strace
@pytest.mark.cpp_only
def test_unknown_task(copy_project):
    r = copy_project.run("strace", "nosuch")
    assert r.rc == 3
    assert r.err.startswith('ERROR: command `strace` invalid parameter: "nosuch".')


@pytest.mark.cpp_only
def test_strace_not_installed_is_a_clear_error(copy_project, tmp_path):
    empty = tmp_path / "no-strace-here"
    empty.mkdir()
    r = copy_project.run("strace", "cp", env={"PATH": str(empty)})
    assert r.rc == 3
    assert r.out == ""
    assert r.err.startswith("ERROR: strace failed: the `strace` program is not installed")
    assert not copy_project.exists("out.txt")

"""`run --explain` (why each task runs, on stderr) and `run --dry-run` (what
would run and why; nothing runs, nothing is recorded). doit-cpp only: pydoit
has neither (pydoit #48, #277)."""

import re

import pytest

pytestmark = pytest.mark.cpp_only

DODO = """
def task_compile():
    return {'actions': ['cp src.txt obj.txt'], 'file_dep': ['src.txt'],
            'targets': ['obj.txt']}
def task_link():
    return {'actions': ['cp obj.txt app.txt'], 'file_dep': ['obj.txt'],
            'targets': ['app.txt']}
def task_always():
    return {'actions': ['true']}
def task_never():
    return {'actions': ['true'], 'uptodate': [False], 'verbosity': 0}
"""

TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9}"


@pytest.fixture
def built(project):
    project.dodo(DODO)
    project.write("src.txt", "v1\n")
    r = project.run()
    assert r.rc == 0, r
    return project


def explained(err):
    return [line for line in err.splitlines() if line.startswith("doit explain: ")]


def test_explain_names_the_changed_file_dep_with_old_and_new_signature(built):
    built.write("src.txt", "version 2\n")
    r = built.run("--explain", "compile")
    assert r.rc == 0, r
    assert r.out == ".  compile\n"
    [line] = explained(r.err)
    assert re.fullmatch(
        rf"doit explain: compile: file_dep 'src\.txt' changed \(mtime {TIME} -> {TIME}, "
        r"size 3 -> 10\)", line), line


def test_explain_says_a_target_is_missing(built):
    built.remove("app.txt")
    r = built.run("--explain", "link")
    assert explained(r.err) == ["doit explain: link: target 'app.txt' does not exist"]


def test_explain_tasks_without_dependencies_uptodate_false_and_forced(built):
    r = built.run("--explain", "always", "never")
    assert explained(r.err) == [
        "doit explain: always: no file_dep and no uptodate: it always runs",
        "doit explain: never: uptodate False is false",
    ]
    r = built.run("--explain", "-a", "compile")
    assert explained(r.err) == ["doit explain: compile: forced by --always"]


def test_explain_a_first_run_and_added_file_deps(project):
    project.dodo(DODO)
    project.write("src.txt", "v1\n")
    r = project.run("--explain", "compile")
    assert explained(r.err) == ["doit explain: compile: target 'obj.txt' does not exist",
                                "doit explain: compile: no record of an earlier run"]
    project.dodo(DODO.replace("'file_dep': ['src.txt']", "'file_dep': ['src.txt', 'more.txt']"))
    project.write("more.txt", "m\n")
    r = project.run("--explain", "compile")
    assert "doit explain: compile: file_dep 'more.txt' was added" in explained(r.err)


def test_explain_leaves_stdout_as_it_is(built):
    built.write("src.txt", "v3\n")
    r = built.run("--explain")
    built.write("src.txt", "v4\n")
    plain = built.run()
    assert (r.rc, r.out) == (plain.rc, plain.out)
    assert "doit explain" not in plain.err


def test_up_to_date_tasks_are_not_explained(built):
    r = built.run("--explain", "compile", "link")
    assert (r.out, explained(r.err)) == ("-- compile\n-- link\n", [])


def state_files(project):
    return {p.name: p.read_bytes() for p in project.path.glob(".doit.db*")}


def test_dry_run_runs_nothing_records_nothing_and_says_why(built):
    built.write("src.txt", "v2\n")
    before = state_files(built)
    app = built.read("app.txt")
    r = built.run("--dry-run", "link")
    assert r.rc == 0, r
    assert r.out == ".  compile\n.  link\n"
    assert explained(r.err) == [
        explained(r.err)[0],  # compile: src.txt changed (checked above)
        "doit explain: link: file_dep 'obj.txt' would be built by 'compile'",
    ]
    assert r.err.endswith("doit: dry run: 2 tasks would run; nothing was run or recorded\n")
    assert built.read("obj.txt") == "v1\n" and built.read("app.txt") == app
    assert state_files(built) == before
    # the real run still has everything to do
    r = built.run("link")
    assert (r.rc, r.out) == (0, ".  compile\n.  link\n")


def test_dry_run_of_a_fresh_checkout_creates_no_state_and_needs_no_outputs(project):
    project.dodo(DODO)
    project.write("src.txt", "v1\n")
    r = project.run("--dry-run")
    assert r.rc == 0, r
    assert r.out == ".  compile\n.  link\n.  always\n.  never\n"
    assert "doit explain: link: file_dep 'obj.txt' would be built by 'compile'" in r.err
    assert not list(project.path.glob(".doit.db*"))
    assert not project.exists("obj.txt")


def test_dry_run_still_reports_a_missing_source(project):
    project.dodo(DODO)
    r = project.run("--dry-run", "compile")
    assert r.rc == 2, r
    assert "ERROR: Task 'compile' checking dependencies: Dependent file 'src.txt' does not " \
           "exist." in r.out
    assert not list(project.path.glob(".doit.db*"))

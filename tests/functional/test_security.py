"""Security promises of issue 8 (docs/reliability.md, "Security"): SQL is
built from constants only (every value goes through a bound parameter), so
hostile task names, paths and values are stored and read back intact;
list-form actions never pass through a shell; the state file is created with
the user's umask.
"""

import json
import os
import re
import sqlite3
import subprocess

import pytest

from conftest import COMMAND_TIMEOUT, REPO_ROOT, clean_env, doit_command

pytestmark = pytest.mark.cpp_only

# ---------------------------------------------------------------------------
# SQL from constants only: a check of the sources.
# ---------------------------------------------------------------------------

SOURCES = sorted((REPO_ROOT / "src").rglob("*.cpp"))

#: A call that sends SQL text to SQLite, and the position of its SQL argument:
#: SQLite's own functions, and the small wrappers around them in
#: src/core/state_db.cpp and src/core/run_log.cpp.
SQL_CALLS = {
    "sqlite3_exec": 1,
    "sqlite3_prepare": 1,
    "sqlite3_prepare_v2": 1,
    "sqlite3_prepare_v3": 1,
    "sqlite3_prepare16": 1,
    "sqlite3_prepare16_v2": 1,
    "sqlite3_prepare16_v3": 1,
    "exec": 2,
    "exec_waiting": 2,
    "prepare": 2,
    "prepare_kept": 0,
}
#: A wrapper passes on its own parameter `sql` (a `const char*` or a
#: `std::string_view`, never a std::string built on the way): allowed where
#: the function (or lambda) declares it.
FORWARDED = ("sql", "sql.data()")
SQL_PARAMETER = re.compile(r"(?:const char\s*\*|std::string_view)\s*sql\b")
LITERALS = re.compile(r'^(\s*"(?:[^"\\]|\\.)*"\s*)+$')
CONSTANT = re.compile(r"^(k[A-Z]\w*)(\.data\(\))?$")


def split_arguments(text, start):
    """The top-level arguments of the call whose '(' is at `start`, and the
    position after its ')'."""
    args, depth, current, i = [], 0, "", start + 1
    in_string = False
    while i < len(text):
        c = text[i]
        if in_string:
            current += c
            if c == "\\":
                current += text[i + 1]
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            current += c
        elif c in "([{":
            depth += 1
            current += c
        elif c in ")]}":
            if depth == 0:
                args.append(current.strip())
                return args, i + 1
            depth -= 1
            current += c
        elif c == "," and depth == 0:
            args.append(current.strip())
            current = ""
        else:
            current += c
        i += 1
    raise AssertionError("unbalanced call")


FUNCTION_START = re.compile(r"^(?![\s#/}])[^;{}()]*?\b(\w+)\([^;{}]*\)\s*(?:const\s*)?\{", re.M)


def enclosing_function(text, position):
    """The text of the top-level function definition around `position`, up
    to `position`."""
    starts = [m.start() for m in FUNCTION_START.finditer(text) if m.start() < position]
    return text[starts[-1]:position] if starts else ""


def literal_constants(text):
    """Names of constants defined from string literals only."""
    found = set()
    for m in re.finditer(r"constexpr [\w:* ]+?\b(k[A-Z]\w*)\s*(?:=|\{)\s*((?:\s*\"(?:[^\"\\]|\\.)*\")+)"
                         r"\s*[;}]", text):
        found.add(m.group(1))
    return found


def sql_arguments():
    """(file, line, function, argument) of every SQL text handed to SQLite."""
    out = []
    for path in SOURCES:
        text = path.read_text()
        if "sqlite3" not in text:
            continue
        for m in re.finditer(r"(?<![\w.>])(" + "|".join(SQL_CALLS) + r")\s*\(", text):
            name = m.group(1)
            line_start = text.rfind("\n", 0, m.start()) + 1
            line = text[line_start:text.find("\n", m.start())]
            if re.match(r"\s*(//|\*)", line):
                continue
            args, _ = split_arguments(text, m.end() - 1)
            if re.match(r"^\s*[\w:<>]+[\s*&]+$", text[line_start:m.start()]) and (
                    len(args) > SQL_CALLS[name] and " " in args[SQL_CALLS[name]]):
                continue  # the wrapper's own definition
            if len(args) <= SQL_CALLS[name]:
                continue  # another function with this name (e.g. Statement prepare)
            lineno = text.count("\n", 0, m.start()) + 1
            out.append((path.relative_to(REPO_ROOT), lineno, name,
                        enclosing_function(text, m.start()), args[SQL_CALLS[name]],
                        literal_constants(text)))
    return out


def test_sql_is_built_from_constants_only():
    calls = sql_arguments()
    assert len(calls) > 20, calls  # the check sees the calls
    bad = []
    for path, lineno, name, function, sql, constants in calls:
        if LITERALS.match(sql):
            continue
        m = CONSTANT.match(sql)
        if m and m.group(1) in constants:
            continue
        if sql in FORWARDED and SQL_PARAMETER.search(function):
            continue
        bad.append(f"{path}:{lineno}: {name}(... {sql} ...)")
    assert not bad, "SQL text not made of constants (bind the values instead):\n" + "\n".join(bad)


def test_the_sql_check_sees_a_formatted_statement(tmp_path, monkeypatch):
    # The check itself: a statement built at run time is caught.
    fake = tmp_path / "src" / "core"
    fake.mkdir(parents=True)
    (fake / "bad.cpp").write_text(
        '#include <sqlite3.h>\n'
        'void forget(sqlite3* db, const std::string& name) {\n'
        '  sqlite3_exec(db, ("DELETE FROM tasks WHERE name = \'" + name + "\'").c_str(),\n'
        '               nullptr, nullptr, nullptr);\n'
        '}\n')
    monkeypatch.setattr(__import__(__name__), "SOURCES", [fake / "bad.cpp"])
    monkeypatch.setattr(__import__(__name__), "REPO_ROOT", tmp_path)
    calls = sql_arguments()
    assert [(c[2], c[4]) for c in calls] == [
        ("sqlite3_exec", '("DELETE FROM tasks WHERE name = \'" + name + "\'").c_str()')]
    assert not LITERALS.match(calls[0][4]) and not CONSTANT.match(calls[0][4])


# ---------------------------------------------------------------------------
# Hostile names, paths and values: stored and read back intact.
# ---------------------------------------------------------------------------

HOSTILE = [
    "it's",
    'say "hi"',
    "'; DROP TABLE tasks; --",
    "x'); DELETE FROM doit_meta; --",
    "%s%n %(name)s {0}",
    "?1 :name @p $v",
    "back\\slash",
    "é ü 日本",
]

HOSTILE_DODO = f"""
HOSTILE = {HOSTILE!r}

def save(i):
    return {{'value': HOSTILE[i], 'nul': 'a\\x00b', "k'ey": '; DROP TABLE tasks'}}

def task_hostile():
    for i, name in enumerate(HOSTILE):
        yield {{'basename': name,
               'actions': [(save, [i])],
               'file_dep': ['in/' + name.replace('/', '_') + '.txt'],
               'verbosity': 0}}

def task_reader():
    def show(**kw):
        print(repr(kw['got']))
    return {{'actions': [show], 'getargs': {{'got': (HOSTILE[2], 'value')}},
            'verbosity': 2, 'uptodate': [False]}}
"""


def test_hostile_task_names_paths_and_values_are_stored_intact(project):
    project.dodo(HOSTILE_DODO)
    for name in HOSTILE:
        project.write("in/" + name + ".txt", name + "\n")
    r = project.run()
    assert r.rc == 0, r
    assert sorted(r.out.splitlines()) == sorted(
        [".  " + name for name in HOSTILE] + [".  reader", repr(HOSTILE[2])])
    # Every task is up to date: its record was found under its exact name.
    r = project.run(*HOSTILE)
    assert (r.rc, r.err) == (0, ""), r
    assert sorted(r.out.splitlines()) == sorted("-- " + name for name in HOSTILE)
    # The tables and every record are there, byte for byte.
    with sqlite3.connect(project.path / ".doit.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        rows = dict(db.execute("SELECT name, values_json FROM tasks"))
    db.close()
    assert {"tasks", "doit_meta"} <= tables
    assert set(rows) == set(HOSTILE) | {"reader"}
    for name in HOSTILE:
        assert json.loads(rows[name]) == {"value": name, "nul": "a\x00b",
                                          "k'ey": "; DROP TABLE tasks"}
    # forget of one removes exactly that one.
    r = project.run("forget", HOSTILE[2])
    assert r.rc == 0, r
    r = project.run("list", "--status", *HOSTILE)
    assert r.rc == 0, r
    statuses = {line[2:].rstrip(): line[0] for line in r.out.splitlines()}
    assert statuses == {name: ("R" if name == HOSTILE[2] else "U") for name in HOSTILE}


# ---------------------------------------------------------------------------
# List-form actions never pass through a shell.
# ---------------------------------------------------------------------------

METACHARACTERS = [
    "$(touch pwned1)", "`touch pwned2`", "; touch pwned3", "| touch pwned4",
    "&& touch pwned5", "> pwned6", "< /etc/passwd", "*", "~", "$HOME", "a\nb", "'", '"', "\\",
    "#comment", "{a,b}", "!!",
]


@pytest.mark.parametrize("form", ["list", "CmdAction"])
def test_list_form_arguments_reach_the_program_unchanged(project, form):
    action = f"{METACHARACTERS!r}"
    if form == "CmdAction":
        action = f"CmdAction(['printf', '[%s]\\\\n'] + {action}, shell=False)"
    else:
        action = f"['printf', '[%s]\\\\n'] + {action}"
    project.dodo(f"""
        from doit.action import CmdAction
        def task_meta():
            return {{'actions': [{action}], 'verbosity': 2}}
    """)
    r = project.run()
    assert r.rc == 0, r
    assert r.out == ".  meta\n" + "".join(f"[{arg}]\n" for arg in METACHARACTERS)
    assert sorted(p.name for p in project.path.iterdir()) == [".doit.db", "dodo.py"]


# ---------------------------------------------------------------------------
# The state file gets the user's umask.
# ---------------------------------------------------------------------------

# The second task looks at the files while doit runs: the first task's record
# is written by then, so SQLite's -wal and -shm files are there.
UMASK_DODO = """
import os
def task_first():
    return {'actions': ['true']}
def task_second():
    def modes():
        with open('modes.txt', 'w') as f:
            for name in ('.doit.db', '.doit.db-wal', '.doit.db-shm'):
                f.write('%s %o\\n' % (name, os.stat(name).st_mode & 0o777))
    return {'actions': [modes], 'task_dep': ['first']}
"""


@pytest.mark.parametrize("umask, mode", [(0o077, 0o600), (0o022, 0o644), (0o002, 0o664)])
def test_the_state_files_are_created_with_the_umask(project, umask, mode):
    project.dodo(UMASK_DODO)
    proc = subprocess.run(doit_command(), cwd=project.path, env=clean_env(),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=COMMAND_TIMEOUT,
                          preexec_fn=lambda: os.umask(umask))
    assert proc.returncode == 0, proc.stderr
    assert project.read("modes.txt") == "".join(
        f"{name} {mode:o}\n" for name in (".doit.db", ".doit.db-wal", ".doit.db-shm"))
    assert (project.path / ".doit.db").stat().st_mode & 0o777 == mode

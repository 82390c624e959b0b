"""A randomized test of the loader (issue 8, "Hostile dodo.py"): hypothesis
writes dodo.py files whose task creators return or yield task dicts with
random keys, values of the right and of the wrong types, odd names, nested
sub-tasks and actions of every kind; the real binary lists, shows and runs
them. Whatever the file, doit must answer cleanly: no crash (no death by a
signal, no "terminate called", no C++ exception text, no internal error),
exit 0 or 3 for `list` and `info` (`info` also 1 for a task that would
run, as pydoit), 0 to 3 for `run` (its actions may fail); exit 3 with a
message (pydoit's `ERROR: ...` naming the task, key or creator, or the
traceback of the dodo file's own exception).

The examples are the same on every run (derandomized), so CI is never red
by chance: 60 (25 under the sanitizers); DOIT_TEST_LOADER_EXAMPLES=N asks
for more, and DOIT_TEST_LOADER_RANDOM=1 for new ones each time.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip(
    "hypothesis", reason="python3-hypothesis is not installed (.ci/packages lists it)")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402

# hypothesis keeps caches in ./.hypothesis: not in the source tree.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "doit-test-hypothesis"))

from conftest import clean_env, doit_command  # noqa: E402

pytestmark = pytest.mark.cpp_only

#: Examples by default: fewer under the sanitizers (tests/CMakeLists.txt
#: sets ASAN_OPTIONS there), where each doit command is 3 to 5 times slower.
EXAMPLES = int(os.environ.get("DOIT_TEST_LOADER_EXAMPLES",
                              25 if "ASAN_OPTIONS" in os.environ else 60))
RANDOM = os.environ.get("DOIT_TEST_LOADER_RANDOM", "") not in ("", "0")
#: Seconds one doit command may take (a generated run does little).
COMMAND_TIMEOUT = 60

#: Text that only a crash or an escaped C++ exception prints.
CRASH_TEXT = ["terminate called", "std::", "internal error", "Segmentation fault",
              "AddressSanitizer", "UndefinedBehaviorSanitizer", "runtime error:", "Aborted",
              "what():", "core dumped"]

# Helpers every generated dodo.py defines; actions and uptodate refer to them.
PRELUDE = '''
from doit.action import CmdAction
from doit.tools import run_once, config_changed, result_dep

def ok():
    return True
def fails():
    return False
def raises():
    raise ValueError("raised on purpose")
def values():
    return {"a": 1, "b": [1, 2], "c": None}
def text():
    return "some text"
def number():
    return 42
def with_args(x, y=0, **kw):
    return True
def cmd_text():
    return "echo from-callable"
def up_true(task, values):
    return True
def up_false(task, values):
    return False
def up_raises(task, values):
    raise RuntimeError("uptodate raised")
'''

#: File names for file_dep, targets, watch and clean (no shell specials:
#: they may be substituted into shell commands).
PATHS = ["in.txt", "sub/b.txt", "with space.txt", "quote'.txt", "é.txt", "", ".", "dir/",
         "missing.txt", "out.txt"]

SHELL = ["echo hi", "true", "false", "exit 3", "echo %(targets)s", "echo {dependencies}",
         "echo %(missing)s", "printf '%%s\\n' x", "echo {oops", "echo %(name)s", "exit 127",
         "kill -9 $$"]

names = st.one_of(
    st.sampled_from(["a", "b", "t:sub", "x=y", "-dash", "_private", "list", "run", "é",
                     "with space", "a.b", "", " ", "a\nb", "nul\x00"]),
    st.text(min_size=0, max_size=8),
)

# Python source of values, of the right and of the wrong types.
scalars = st.one_of(
    st.none().map(repr), st.booleans().map(repr), st.integers(-3, 3).map(repr),
    st.floats(allow_nan=True).map(lambda f: f"float({str(f)!r})"),  # also nan, inf
    st.sampled_from(PATHS).map(repr), names.map(repr),
)
callables = st.sampled_from(["ok", "fails", "raises", "values", "text", "number", "cmd_text",
                             "with_args", "print", "len", "lambda: None", "lambda **kw: kw"])
paths = st.lists(st.sampled_from(PATHS), max_size=3).map(repr)


@st.composite
def action(draw):
    kind = draw(st.sampled_from(["shell", "list", "call", "tuple", "tuple3", "cmdaction",
                                 "cmdaction_list", "cmdaction_call", "wrong"]))
    if kind == "shell":
        return repr(draw(st.sampled_from(SHELL)))
    if kind == "list":
        return repr(["echo"] + draw(st.lists(st.sampled_from(PATHS + ["$(touch x)"]), max_size=3)))
    if kind == "call":
        return draw(callables)
    if kind == "tuple":
        return f"({draw(callables)}, {draw(st.sampled_from(['[]', '[1]', '[1, 2]', '()', '1']))})"
    if kind == "tuple3":
        kwargs = draw(st.sampled_from(["{}", "{'y': 2}", "{'z': 3}", "1"]))
        return f"(with_args, [1], {kwargs})"
    if kind == "cmdaction":
        return f"CmdAction({draw(st.sampled_from(SHELL))!r})"
    if kind == "cmdaction_list":
        return "CmdAction(['echo', 'x'], shell=False)"
    if kind == "cmdaction_call":
        return "CmdAction(cmd_text)"
    return draw(st.one_of(scalars, st.sampled_from(["{}", "[[1]]", "('a',)", "object()"])))


actions = st.one_of(
    st.lists(action(), max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
    scalars, st.just("None"), action(),
)
uptodates = st.lists(st.one_of(st.sampled_from(
    ["True", "False", "None", "'true'", "'false'", "run_once", "up_true", "up_false",
     "up_raises", "config_changed('x')", "config_changed({'a': 1})", "(up_true, [], {})",
     "result_dep('a')", "1", "'exit 1'"])), max_size=2).map(lambda items: "[" + ", ".join(items) + "]")



def mostly(right, wrong):
    """`right` five times in six: many tasks get far enough to run."""
    return st.one_of(right, right, right, right, right, wrong)


KEYS = {
    "actions": mostly(st.lists(action(), min_size=1, max_size=3).map(
        lambda items: "[" + ", ".join(items) + "]"), actions),
    "file_dep": mostly(paths, scalars),
    "targets": mostly(paths, scalars),
    "task_dep": mostly(st.lists(names, max_size=2).map(repr), scalars),
    "setup": mostly(st.lists(names, max_size=2).map(repr), scalars),
    "calc_dep": mostly(st.lists(names, max_size=2).map(repr), scalars),
    "teardown": mostly(st.lists(action(), max_size=2).map(lambda a: "[" + ", ".join(a) + "]"),
                       scalars),
    "uptodate": mostly(uptodates, scalars),
    "doc": scalars,
    "title": mostly(st.sampled_from(["lambda task: 'T'", "lambda: 1"]), scalars),
    "verbosity": mostly(st.sampled_from(["0", "1", "2", "3", "-1"]), scalars),
    "clean": mostly(st.sampled_from(["True", "[]", "['rm -f out.txt']", "[ok]"]), scalars),
    "watch": mostly(paths, scalars),
    "getargs": mostly(st.sampled_from(["{'x': ('a', 'v')}", "{'x': ('a',)}", "{'x': 1}",
                                       "{'x': ('a', None)}", "[]"]), scalars),
    "params": mostly(st.sampled_from([
        "[{'name': 'p', 'default': 1}]", "[{'name': 'p', 'short': 'p', 'default': '',"
        " 'type': int}]", "[{'default': 1}]", "[{'name': 'p'}]", "[1]",
        "[{'name': 'p', 'default': False, 'type': bool, 'inverse': 'no-p'}]",
        "[{'name': 'p', 'default': [], 'type': list}]",
        "[{'name': 'p', 'default': 'a', 'choices': (('a', ''), ('b', ''))}]"]), scalars),
    "pos_arg": mostly(st.just("'p'"), scalars),
    "meta": mostly(st.just("{'k': 1}"), scalars),
    "io": mostly(st.just("{'capture': False}"), scalars),
    "basename": names.map(repr),
    "name": names.map(repr),
    "unknown_key": scalars,
}


@st.composite
def task_dict(draw, sub=False):
    pool = sorted(KEYS) if sub or draw(st.integers(0, 5)) == 0 else sorted(set(KEYS) - {"name"})
    keys = draw(st.lists(st.sampled_from(pool), max_size=5, unique=True))
    if draw(st.integers(0, 4)) > 0:
        keys = ["actions"] + [k for k in keys if k != "actions"]
    if sub and "name" not in keys and draw(st.integers(0, 4)) > 0:
        keys.append("name")
    items = [f"{k!r}: {draw(KEYS[k])}" for k in keys]
    return "{" + ", ".join(items) + "}"


@st.composite
def creator(draw, index):
    name = f"task_gen{index}"
    kind = draw(st.sampled_from(["return"] * 3 + ["yield"] * 3 + ["yield_nested"] * 2
                                + ["wrong", "doc_only"]))
    if kind == "return":
        body = f"    return {draw(task_dict())}\n"
    elif kind == "yield":
        subs = draw(st.lists(task_dict(sub=True), max_size=3))
        body = "".join(f"    yield {d}\n" for d in subs) or "    yield from ()\n"
    elif kind == "yield_nested":
        inner = draw(st.lists(task_dict(sub=True), max_size=2))
        body = ("    def inner():\n" + ("".join(f"        yield {d}\n" for d in inner)
                                        or "        yield from ()\n")
                + f"    yield inner()\n    yield {draw(task_dict(sub=True))}\n")
    elif kind == "wrong":
        body = f"    return {draw(st.one_of(scalars, st.sampled_from(['[{}]', 'ok', '(1, 2)'])))}\n"
    else:
        body = f"    {draw(task_dict())!s}\n    return {{'actions': None, 'doc': 'x'}}\n"
    return f"def {name}():\n{body}"


@st.composite
def dodo_file(draw):
    creators = [draw(creator(i)) for i in range(draw(st.integers(1, 2)))]
    config = draw(st.sampled_from(["", "", "", "", "", "", "", "",
                                   "DOIT_CONFIG = {'verbosity': 2}\n",
                                   "DOIT_CONFIG = {'default_tasks': ['gen0', 'nope']}\n",
                                   "DOIT_CONFIG = 1\n"]))
    return PRELUDE + config + "\n".join(creators)


def run_doit(folder, *args):
    proc = subprocess.run(doit_command() + list(args), cwd=folder, env=clean_env(),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=COMMAND_TIMEOUT,
                          start_new_session=True)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


def check_clean_answer(source, args, rc, out, err, allowed):
    where = f"doit {' '.join(args)} on:\n{source}\n--- rc {rc}\n--- stdout\n{out}\n--- stderr\n{err}"
    assert rc >= 0, "killed by a signal: " + where
    assert rc in allowed, where
    for text in CRASH_TEXT:
        assert text not in out + err, where
    if rc == 3:
        assert err.strip(), "exit 3 without a message: " + where
        last = err.strip().splitlines()[-1]
        # The message names what is wrong: a task, a creator, a key, or it
        # is the traceback of the dodo file's own exception.
        assert ("ERROR:" in err or "Traceback" in err or "Error" in last), where


settings_ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
    print_blob=True)


@settings_
@given(source=dodo_file())
def test_any_dodo_file_gets_a_clean_answer(source):
    folder = Path(tempfile.mkdtemp(prefix="doit-loader-"))
    try:
        (folder / "dodo.py").write_text(source)
        (folder / "in.txt").write_text("x\n")
        for args, allowed in ((["list", "--all", "--private"], {0, 3}),
                              (["list", "--status"], {0, 3}),
                              (["info", "gen0"], {0, 1, 3}),  # 1: not up to date, as pydoit
                              (["run"], {0, 1, 2, 3}),
                              (["run"], {0, 1, 2, 3})):
            rc, out, err = run_doit(folder, *args)
            check_clean_answer(source, args, rc, out, err, allowed)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

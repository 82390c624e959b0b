"""Work a run must not do (issue #7, speed at scale). These tests count what
is done, never time it, so a slow or busy machine cannot make them fail."""

import subprocess
import sys

import pytest

from conftest import is_reference

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


def test_list_imports_no_heavy_module(project):
    project.dodo(RECORD_MODULES)
    r = project.run("list")
    assert (r.rc, r.out) == (0, "copy   \n")
    imported = set(project.lines("modules.txt"))
    assert sorted((imported & HEAVY_MODULES) - modules_at_python_start()) == []

"""Test setup: import doit-cpp's ``doit`` package from the source tree.

The installed pydoit (if any) must not be picked up, so the source
directory goes first on sys.path before anything imports ``doit``.
"""

import pathlib
import sys
import textwrap

import pytest

SRC = pathlib.Path(__file__).resolve().parents[2] / 'src' / 'python'
sys.path.insert(0, str(SRC))

import doit  # noqa: E402

assert pathlib.Path(doit.__file__).parent == SRC / 'doit', doit.__file__


@pytest.fixture
def dodo(tmp_path):
    """Write a dodo file and return ``(namespace, directory)``.

    The source is executed with its real file name so that line numbers
    (creator ordering) are those of the file.
    """
    def make(source):
        path = tmp_path / 'dodo.py'
        path.write_text(textwrap.dedent(source))
        namespace = {'__name__': 'dodo', '__file__': str(path)}
        exec(compile(path.read_text(), str(path), 'exec'), namespace)
        return namespace, tmp_path
    return make


@pytest.fixture(autouse=True)
def reset_vars():
    """Leave doit._vars as a fresh interpreter has it after each test."""
    from doit import _vars
    saved = (_vars.VARS, _vars.INITIAL_WORKDIR, _vars.LOADING)
    yield
    _vars.VARS, _vars.INITIAL_WORKDIR, _vars.LOADING = saved

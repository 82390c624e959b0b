"""doit-cpp's ``doit`` package: the Python API that dodo files import.

Task definitions stay plain Python; the doit-cpp binary loads them (see
``doit._loader``), runs everything from C++, and calls back into Python
only for Python code (see ``doit._runtime``).
"""

import sys

from . import _vars
from .task import DelayedLoader

__version__ = (0, 37, 0)

__all__ = ['get_var', 'run', 'create_after', 'task_params', 'Globals',
           'get_initial_workdir']


def get_var(name, default=None):
    """Value of the command-line variable ``NAME=VALUE``, else ``default``.

    Unlike pydoit, ``default`` is also returned when the variables were
    never initialised.
    """
    if _vars.VARS is None:
        return default
    return _vars.VARS.get(name, default)


def get_initial_workdir():
    """The directory doit was started from (before it changed directory)."""
    return _vars.INITIAL_WORKDIR


def create_after(executed=None, target_regex=None, creates=None):
    """Decorator: create this creator's tasks only after task ``executed``
    ran. ``target_regex`` tells which targets it will produce; ``creates``
    lists the task basenames it yields (when they differ from its name).
    """
    def decorate(creator):
        creator.doit_create_after = DelayedLoader(
            creator, executed=executed, target_regex=target_regex,
            creates=creates)
        return creator
    return decorate


def task_params(param_def):
    """Decorator: the creator takes command-line parameters.

    ``param_def`` is a list of parameter dicts (same format as a task's
    ``params``); the creator is called with their values as keywords.
    """
    if not isinstance(param_def, list) or \
            not all(isinstance(item, dict) for item in param_def):
        raise ValueError(
            'task_params must be called with a valid parameter definition.')

    def decorate(creator):
        creator._task_params = param_def
        return creator
    return decorate


class Globals:
    """Process-wide objects available to dodo code.

    ``dep_manager`` is a ``doit.dependency.Dependency`` set by the binary
    while tasks are loaded and run (None otherwise).
    """
    dep_manager = None


def run(globals_or_module):
    """pydoit's entry point for executable dodo files.

    When the doit-cpp binary is loading the file this does nothing. Run
    any other way, it explains how to use doit-cpp and exits with 3.
    """
    if _vars.LOADING:
        return
    sys.stderr.write(
        'ERROR: doit.run() is not supported by doit-cpp: run the dodo file '
        'with the `doit` command instead (e.g. `doit -f dodo.py`).\n')
    sys.exit(3)

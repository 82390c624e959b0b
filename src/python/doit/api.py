"""Programmatic entry points of pydoit (Python API).

``run`` is ``doit.run``. ``run_tasks`` is not available in doit-cpp yet:
it prints why and returns 3.
"""

import sys

from . import run

__all__ = ['run', 'run_tasks']


def run_tasks(loader, tasks, extra_config=None):
    """Run ``tasks`` (``{name: {option: value}}``) from ``loader``.

    Not supported by doit-cpp yet: prints why and returns 3.
    """
    sys.stderr.write('ERROR: doit.api.run_tasks() is not supported by '
                     'doit-cpp: run tasks with the `doit` command instead.\n')
    return 3

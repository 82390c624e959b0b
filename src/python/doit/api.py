"""Programmatic entry points of pydoit (Python API).

``run`` is ``doit.run``. ``run_tasks`` runs the doit binary (the one
running now) on the given tasks and their options, with the loader's dodo
file, and returns its exit code.
"""

from . import run
from .doit_cmd import run_binary

__all__ = ['run', 'run_tasks']


def run_tasks(loader, tasks, extra_config=None):
    """Run ``tasks`` (``{name: {option: value}}``) from ``loader``.

    Each option becomes ``--option=value`` after the task's name (a list
    value, one such word per item; ``pos_arg`` values are given as they
    are); returns doit's exit code.
    """
    argv = ['run']
    for name, options in tasks.items():
        argv.append(name)
        for key, value in (options or {}).items():
            values = value if isinstance(value, (list, tuple)) else [value]
            if key == 'pos_arg':
                argv.extend(str(v) for v in values)
                continue
            for item in values:
                if isinstance(item, bool):
                    if item:
                        argv.append('--%s' % key)
                    continue
                argv.append('--%s=%s' % (key, item))
    return run_binary(argv, loader, extra_config)

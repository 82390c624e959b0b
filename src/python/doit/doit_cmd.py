"""``DoitMain``, pydoit's command-line entry object (Python API).

doit-cpp's command line is the C++ binary: ``DoitMain(loader).run(argv)``
runs that binary (the one running now) on ``argv`` as a child process, with
the loader's dodo file, and returns its exit code.
"""

import os
import subprocess
import sys

from . import get_var

__all__ = ['DoitMain', 'get_var']


def _doit_binary():
    """The doit-cpp executable this interpreter is embedded in."""
    return os.readlink('/proc/self/exe')


def _dodo_file_of(task_loader):
    """The file a loader reads tasks from, or None for the default dodo.py."""
    namespace = getattr(task_loader, 'namespace', None)
    if isinstance(namespace, dict) and namespace.get('__file__'):
        return os.path.abspath(namespace['__file__'])
    return None


def run_binary(argv, task_loader=None, extra_config=None):
    """Runs the doit binary on ``argv`` and returns its exit code."""
    if extra_config:
        sys.stderr.write('doit-cpp: extra_config is not passed on to the doit '
                         'command (use doit.cfg or DOIT_CONFIG)\n')
    env = dict(os.environ)
    dodo = _dodo_file_of(task_loader)
    if dodo is not None:
        env['DOIT_FILE'] = dodo
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError):
            pass
    return subprocess.call([_doit_binary()] + [str(a) for a in argv], env=env)


class DoitMain:
    """Holds a task loader and configuration, like pydoit's."""

    BIN_NAME = (getattr(sys, 'argv', None) or ['doit'])[0].split('/')[-1] \
        or 'doit'

    def __init__(self, task_loader=None,
                 config_filenames=('pyproject.toml', 'doit.cfg'),
                 extra_config=None):
        self.task_loader = task_loader
        self.config_filenames = config_filenames
        self.config = {section: dict(items) for section, items
                       in (extra_config or {}).items()}

    def run(self, all_args):
        """Runs doit on ``all_args`` (e.g. ``['list']``); its exit code."""
        return run_binary(all_args, self.task_loader, self.config)

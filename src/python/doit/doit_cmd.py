"""``DoitMain``, pydoit's command-line entry object (Python API).

doit-cpp's command line is the C++ binary; ``DoitMain`` exists so that
scripts importing it load. ``run()`` explains this and returns 3.
"""

import sys

from . import get_var

__all__ = ['DoitMain', 'get_var']

_UNSUPPORTED = ('ERROR: DoitMain.run() is not supported by doit-cpp: run '
                'tasks with the `doit` command instead.\n')


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
        """Not available in doit-cpp: prints why and returns 3."""
        sys.stderr.write(_UNSUPPORTED)
        return 3

"""Running the reference pydoit 0.31.1 (Debian) to compare messages."""

import os
import shutil
import subprocess

import pytest

#: pydoit 0.31.1 from Debian, used as the reference where 0.37 agrees.
PYDOIT = ['/usr/bin/python3', '-m', 'doit']


def pydoit_available():
    if not shutil.which('/usr/bin/python3'):
        return False
    probe = subprocess.run(PYDOIT + ['--version'], capture_output=True,
                           env=_clean_env(), cwd='/')
    return probe.returncode == 0


def _clean_env():
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    return env


requires_pydoit = pytest.mark.skipif(not pydoit_available(),
                                     reason='pydoit 0.31.1 not installed')


def run_pydoit(directory, *args):
    """Run the reference pydoit in ``directory``; CompletedProcess."""
    return subprocess.run(PYDOIT + list(args), cwd=directory,
                          capture_output=True, text=True, env=_clean_env())

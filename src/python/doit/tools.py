"""Helpers for dodo files: actions, titles and uptodate checks.

``LongRunning``, ``Interactive`` (CmdAction subclasses) and
``PythonInteractiveAction`` (a PythonAction subclass) are recognised by
the C++ executor by type, which then runs them without capturing output.
Their ``execute`` methods give the same behaviour in pure Python.
"""

import operator
import os
import sys
import time

# datetime, hashlib, json and subprocess are imported where they are used:
# importing doit must stay fast.

from .action import CmdAction, PythonAction
from .exceptions import TaskFailed
from .task import result_dep

__all__ = ['create_folder', 'title_with_actions', 'run_once',
           'config_changed', 'timeout', 'check_timestamp_unchanged',
           'result_dep', 'LongRunning', 'InteractiveAction', 'Interactive',
           'PythonInteractiveAction', 'set_trace']


def create_folder(dir_path):
    """Create ``dir_path`` and its parents; fine if it already exists."""
    os.makedirs(dir_path, exist_ok=True)


def title_with_actions(task):
    """Title ``<name> => <actions>``, or ``<name> => Group: <deps>`` for a
    task without actions."""
    if task.actions:
        text = '\n\t'.join(str(action) for action in task.actions)
    else:
        text = 'Group: %s' % ', '.join(task.task_dep)
    return '%s => %s' % (task.name, text)


def run_once(task, values):
    """Uptodate check: run the task once, then never again."""
    task.value_savers.append(lambda: {'run-once': True})
    return values.get('run-once', False)


class config_changed:
    """Uptodate check: up-to-date while ``config`` (str or dict) is the
    same as at the last success.

    A dict is compared by the MD5 of its JSON text with sorted keys;
    ``encoder`` is a ``json.JSONEncoder`` subclass for other value types.
    The digest pydoit 0.31 stored (MD5 of ``key + repr(value)`` in key
    order) is accepted too, so a state imported from it stays valid.
    """

    def __init__(self, config, encoder=None):
        self.config = config
        self.encoder = encoder
        self.config_digest = None

    def _calc_digest(self):
        if isinstance(self.config, str):
            return self.config
        if isinstance(self.config, dict):
            import hashlib
            import json
            text = json.dumps(self.config, sort_keys=True, cls=self.encoder)
            return hashlib.md5(text.encode('utf-8')).hexdigest()
        raise Exception('Invalid type of config_changed parameter got %s, '
                        'must be string or dict' % (type(self.config),))

    def configure_task(self, task):
        task.value_savers.append(
            lambda: {'_config_changed': self.config_digest})

    def __call__(self, task, values):
        self.config_digest = self._calc_digest()
        last = values.get('_config_changed')
        if last is None:
            return False
        return last == self.config_digest or last == self._digest_031()

    def _digest_031(self):
        if not isinstance(self.config, dict):
            return None
        try:
            text = ''.join(key + repr(self.config[key]) for key in sorted(self.config))
        except TypeError:  # keys that are not all str: 0.31 could not store them
            return None
        import hashlib
        return hashlib.md5(text.encode('utf-8')).hexdigest()

    def __repr__(self):
        return 'config_changed(%r)' % (self.config,)


class timeout:
    """Uptodate check: not up-to-date once ``timeout_limit`` (int seconds
    or ``datetime.timedelta``) passed since the last success."""

    def __init__(self, timeout_limit):
        import datetime
        if isinstance(timeout_limit, datetime.timedelta):
            self.limit_sec = (timeout_limit.days * 24 * 3600
                              + timeout_limit.seconds)
        elif isinstance(timeout_limit, int):
            self.limit_sec = timeout_limit
        else:
            raise Exception('timeout should be datetime.timedelta or int '
                            'got %r ' % (timeout_limit,))

    def __call__(self, task, values):
        task.value_savers.append(lambda: {'success-time': time.time()})
        last = values.get('success-time')
        if last is None:
            return False
        return (time.time() - last) < self.limit_sec


class check_timestamp_unchanged:
    """Uptodate check on one timestamp of ``file_name``.

    ``time``: atime/access, ctime/status or mtime/modify. Up-to-date when
    ``cmp_op(saved, current)`` is true. A missing file raises OSError.
    """

    _ATTRS = {'atime': 'st_atime', 'access': 'st_atime',
              'ctime': 'st_ctime', 'status': 'st_ctime',
              'mtime': 'st_mtime', 'modify': 'st_mtime'}

    def __init__(self, file_name, time='mtime', cmp_op=operator.eq):
        if time not in self._ATTRS:
            raise ValueError('time can be one of: atime, access, ctime, '
                             'status, mtime, modify (got: %r)' % (time,))
        self._file_name = file_name
        self._timeattr = self._ATTRS[time]
        self._cmp_op = cmp_op
        self._key = '%s.%s' % (file_name, self._timeattr)

    def _get_time(self):
        return getattr(os.stat(self._file_name), self._timeattr)

    def __call__(self, task, values):
        task.value_savers.append(lambda: {self._key: self._get_time()})
        previous = values.get(self._key)
        if previous is None:
            return False
        return self._cmp_op(previous, self._get_time())


class LongRunning(CmdAction):
    """A command whose output is never captured and whose exit status is
    ignored; Ctrl-C stops it and doit goes on. Meant for servers."""

    def execute(self, out=None, err=None):
        import subprocess
        process = subprocess.Popen(self.expand_action(), shell=self.shell,
                                   **self.pkwargs)
        try:
            process.wait()
        except KeyboardInterrupt:
            pass
        return None


#: Old name of LongRunning.
InteractiveAction = LongRunning


class Interactive(CmdAction):
    """A command whose output is never captured; a non-zero exit status
    fails the task."""

    def execute(self, out=None, err=None):
        command = self.expand_action()
        import subprocess
        process = subprocess.Popen(command, shell=self.shell,
                                   **self.pkwargs)
        process.wait()
        if process.returncode != 0:
            return TaskFailed("Interactive command failed: '%s' returned %s"
                              % (command, process.returncode))
        return None


class PythonInteractiveAction(PythonAction):
    """A python-action whose output is not captured; it succeeds unless
    it raises (a str/dict return still becomes result/values)."""


def set_trace():
    """Start pdb on the real terminal at the caller's line."""
    import pdb
    debugger = pdb.Pdb(stdin=sys.__stdin__, stdout=sys.__stdout__)
    debugger.set_trace(sys._getframe().f_back)

"""Reporter classes, the base of custom reporters.

doit-cpp's built-in reporters are written in C++; these classes exist so
that custom reporters (``DOIT_CONFIG['reporter'] = MyReporter``) can
subclass them. They write the same formats to ``self.outstream``.
A reporter is built as ``Reporter(outstream, {'failure_verbosity': N})``
and gets the callbacks ``initialize``, ``get_status``, ``execute_task``,
``add_failure``, ``add_success``, ``skip_uptodate``, ``skip_ignore``,
``cleanup_error``, ``runtime_error``, ``teardown_task``, ``complete_run``.
"""

import datetime
import json
import sys
import time
from io import StringIO

_RULE = '#' * 40 + '\n'


class ConsoleReporter:
    """Default output: ``.  task`` / ``-- task`` / ``!! task`` lines,
    failures as they happen, and a summary at the end."""

    desc = 'console output'

    def __init__(self, outstream, options):
        self.outstream = outstream
        self.failure_verbosity = options.get('failure_verbosity', 0)
        self.failures = []
        self.runtime_errors = []

    def write(self, text):
        self.outstream.write(text)

    def initialize(self, tasks, selected_tasks):
        """Called once tasks are loaded, before anything runs."""

    def get_status(self, task):
        """Called when the task is about to be checked."""

    def execute_task(self, task):
        """Called when the task starts running its actions."""
        if task.actions and not task.name.startswith('_'):
            self.write('.  %s\n' % task.title())

    def add_failure(self, task, fail):
        """Called when the task failed."""
        if not getattr(fail, 'report', True):
            return
        failure = {'task': task, 'exception': fail}
        self.failures.append(failure)
        self._write_failure(failure)

    def add_success(self, task):
        """Called when the task succeeded."""

    def skip_uptodate(self, task):
        """Called when the task is up-to-date."""
        if not task.name.startswith('_'):
            self.write('-- %s\n' % task.title())

    def skip_ignore(self, task):
        """Called when the task is ignored."""
        self.write('!! %s\n' % task.title())

    def cleanup_error(self, fail):
        """Called when a teardown action failed."""
        sys.stderr.write(fail.get_msg())

    def runtime_error(self, msg):
        """Called for errors of doit itself (shown at the end)."""
        self.runtime_errors.append(msg)

    def teardown_task(self, task):
        """Called before the task's teardown actions run."""

    def _write_failure(self, failure, with_message=True):
        self.write('%s - taskid:%s\n' % (failure['exception'].get_name(),
                                         failure['task'].name))
        if with_message:
            self.write(failure['exception'].get_msg())
            self.write('\n')

    def complete_run(self):
        """Called at the end: output of failed tasks, runtime errors."""
        for failure in self.failures:
            task = failure['task']
            if not getattr(task, 'executed', True):
                continue
            verbosity = task.verbosity if task.verbosity is not None else 1
            show_err = verbosity < 1 or self.failure_verbosity > 0
            show_out = verbosity < 2 or self.failure_verbosity == 2
            if show_err or show_out:
                self.write(_RULE)
            if show_err:
                self._write_failure(failure,
                                    with_message=self.failure_verbosity)
                err = ''.join(a.err for a in task.actions if a.err)
                self.write('%s <stderr>:\n%s\n' % (task.name, err))
            if show_out:
                out = ''.join(a.out for a in task.actions if a.out)
                self.write('%s <stdout>:\n%s\n' % (task.name, out))
        if self.runtime_errors:
            self.write(_RULE)
            self.write('Execution aborted.\n')
            self.write('\n'.join(self.runtime_errors))
            self.write('\n')


class ExecutedOnlyReporter(ConsoleReporter):
    """Like console, without up-to-date and ignored task lines."""

    desc = 'console, no output for skipped (up-to-date) and group tasks'

    def skip_uptodate(self, task):
        pass

    def skip_ignore(self, task):
        pass


class ZeroReporter(ConsoleReporter):
    """Nothing about tasks; doit's own errors go to stderr."""

    desc = 'report only internal errors from doit'

    def _nothing(self, *args):
        pass

    get_status = execute_task = add_failure = add_success = _nothing
    skip_uptodate = skip_ignore = teardown_task = complete_run = _nothing

    def runtime_error(self, msg):
        sys.stderr.write(msg)


class ErrorOnlyReporter(ZeroReporter):
    """Only failures, as ``taskid:<name> - <Kind>`` plus the message."""

    desc = 'report only errors'

    def add_failure(self, task, fail):
        if not getattr(fail, 'report', True):
            return
        self.write('taskid:%s - %s\n' % (task.name, fail.get_name()))
        self.write(fail.get_msg())
        self.write('\n')


class TaskResult:
    """One task's entry in the JSON report."""

    def __init__(self, task):
        self.task = task
        self.result = None
        self.out = None
        self.err = None
        self.error = None
        self._started_on = None
        self._finished_on = None

    def start(self):
        self._started_on = time.time()

    def set_result(self, result, error=None):
        self._finished_on = time.time()
        self.result = result
        separator = '\n<------------------------------------------------>\n'
        self.out = separator.join(a.out for a in self.task.actions if a.out)
        self.err = separator.join(a.err for a in self.task.actions if a.err)
        self.error = error

    def to_dict(self):
        started = elapsed = None
        if self._started_on is not None:
            started = datetime.datetime.fromtimestamp(
                self._started_on, datetime.timezone.utc).strftime(
                    '%Y-%m-%d %H:%M:%S.%f')
            if self._finished_on is not None:
                elapsed = self._finished_on - self._started_on
        return {'name': self.task.name, 'result': self.result,
                'out': self.out, 'err': self.err, 'error': self.error,
                'started': started, 'elapsed': elapsed}


class JsonReporter:
    """One JSON object at the end: tasks, and everything written to
    stdout/stderr during the run (which is held back meanwhile)."""

    desc = 'output in JSON format'

    def __init__(self, outstream, options=None):
        self.outstream = outstream
        self.t_results = {}
        self.errors = []
        self._old_out, sys.stdout = sys.stdout, StringIO()
        self._old_err, sys.stderr = sys.stderr, StringIO()

    def initialize(self, tasks, selected_tasks):
        pass

    def get_status(self, task):
        self.t_results[task.name] = TaskResult(task)

    def execute_task(self, task):
        self.t_results[task.name].start()

    def add_failure(self, task, fail):
        self.t_results[task.name].set_result('fail', fail.get_msg())

    def add_success(self, task):
        self.t_results[task.name].set_result('success')

    def skip_uptodate(self, task):
        self.t_results[task.name].set_result('up-to-date')

    def skip_ignore(self, task):
        self.t_results[task.name].set_result('ignore')

    def cleanup_error(self, fail):
        self.errors.append(fail.get_msg())

    def runtime_error(self, msg):
        self.errors.append(msg)

    def teardown_task(self, task):
        pass

    def complete_run(self):
        log_out = sys.stdout.getvalue()
        log_err = sys.stderr.getvalue()
        sys.stdout, sys.stderr = self._old_out, self._old_err
        if self.errors:
            log_err += '\n'.join(self.errors)
        data = {'tasks': [r.to_dict() for r in self.t_results.values()],
                'out': log_out, 'err': log_err}
        json.dump(data, self.outstream)

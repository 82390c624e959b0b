"""Python work the C++ executor delegates while tasks run.

Entry points (all called with the GIL held):

* ``run_python_action(item, task, options, live_out, live_err,
  capture=True, list_name='actions', extra_kwargs=None) -> dict``
* ``expand_cmd_action(cmd_action, task, options) -> str | list``
* ``format_cmd(template, mapping, style) -> str``
* ``describe_action(item, task_name=None, list_name='actions') -> str``
* ``prepare_action(item, task_name=None, list_name='actions')`` -> the
  action object, and ``wants_task(action) -> bool``: whether running it
  needs the task (else run_python_action may get ``task=None``)
* ``call_uptodate(item, task, values, dep_manager=None, tasks_dict=None)``
* ``format_exception(exc) -> str``
* ``save_extra_values(task) -> dict`` (after a success)
* ``wants_dryrun(item) -> bool`` (clean actions)

``options`` is the dict of the task's option values (params, creator
params, getargs values, and the pos_arg value under its name). Its key
``'changed'``, if present, is the list of changed file_dep (None when the
up-to-date check did not run) and is not an option. When ``options`` is
None the task's own ``options``/``dep_changed`` are used.
"""

import io
import sys

from .action import (BaseAction, CmdAction, PythonAction, RESERVED_NAMES,
                     _shape, command_list, create_action, injected_kwargs,
                     normalize_callable, parameter_names, task_options)
from .dependency import UptodateCalculator
from .exceptions import InvalidTask, TaskError, TaskFailed
from .tools import PythonInteractiveAction

# Frames of this file are dropped from the tracebacks shown to users.
_PRIVATE_MODULES = '<doit-cpp>/doit/_'
_THIS_FILE = (lambda: None).__code__.co_filename


class ActionDefinitionError(InvalidTask):
    """An action is defined wrongly (bad type, tuple length, not callable,
    reserved keyword with a default...). The run is aborted with
    "Execution aborted." and this message."""


def run_python_action(item, task, options, live_out, live_err, capture=True,
                      list_name='actions', extra_kwargs=None):
    """Run one python-action of ``task`` and report the outcome.

    ``item``: a callable, a ``(callable, args, kwargs)`` tuple (1-3 items),
    a PythonAction (or PythonInteractiveAction), or any other BaseAction
    (its ``execute(out, err)`` is called). ``live_out``/``live_err``: a
    callable taking a str, or None, that receives output as it is written.
    ``capture=False``: output is not kept (it goes to the live callable, or
    to the stream in place before the call). ``extra_kwargs`` are added to
    the action's own keyword arguments (e.g. ``dryrun`` for clean actions).

    Returns ``{'status': 'success'|'failed'|'error', 'kind': None or the
    failure class name, 'message': '' or the failure text (message,
    newline, traceback), 'report': bool, 'out': str, 'err': str,
    'result': None|str|dict, 'values': None|dict}``.
    Raises ActionDefinitionError for invalid definitions.
    """
    action = _as_action(item, task, list_name)
    options, changed = _split_options(task, options)
    if isinstance(action, PythonAction):
        fail = execute_python(action, task, options, changed, live_out,
                              live_err, capture, extra_kwargs)
    else:
        fail = _execute_custom(action, live_out, live_err)
    if fail is None:
        values = action.values
        return {'status': 'success', 'kind': None, 'message': '',
                'report': True, 'out': action.out or '',
                'err': action.err or '', 'result': action.result,
                'values': values if isinstance(values, dict) and values
                else None}
    return {'status': 'failed' if isinstance(fail, TaskFailed) else 'error',
            'kind': fail.get_name(), 'message': fail.get_msg(),
            'report': bool(getattr(fail, 'report', True)),
            'out': action.out or '', 'err': action.err or '',
            'result': None, 'values': None}


def _as_action(item, task, list_name):
    if isinstance(item, CmdAction):
        raise TypeError('run_python_action() got a command action: %r'
                        % (item,))
    if isinstance(item, BaseAction):
        item.task = task
        return item
    if isinstance(item, (str, list)):
        raise TypeError('run_python_action() got a command: %r' % (item,))
    try:
        return create_action(item, task, list_name)
    except InvalidTask as exc:
        raise ActionDefinitionError(str(exc)) from None


def _split_options(task, options):
    """(task options, changed) from the caller's ``options``."""
    if options is None:
        if task is None:
            return {}, None
        return task_options(task), task.dep_changed
    changed = options.get('changed')
    opts = {key: value for key, value in options.items()
            if key not in RESERVED_NAMES}
    if task is not None:
        if task.pos_arg is not None and task.pos_arg not in opts:
            opts[task.pos_arg] = task.pos_arg_val
        if task.options is None:
            task.options = {key: value for key, value in opts.items()
                            if key != task.pos_arg}
        if changed is not None:
            task.dep_changed = list(changed)
    return opts, changed


def execute_python(action, task, options, changed, live_out, live_err,
                   capture=True, extra_kwargs=None):
    """Call a PythonAction; set its out/err/result/values; return None or
    the failure (BaseFail). ``extra_kwargs`` are added to the action's own
    keyword arguments for this call."""
    func, args = action.py_callable, action.args
    own = {**action.kwargs, **extra_kwargs} if extra_kwargs else action.kwargs
    try:
        kwargs = injected_kwargs(func, args, own, task, options, changed)
    except InvalidTask as exc:
        raise ActionDefinitionError(str(exc)) from None
    action.out = action.err = ''
    action.result = None
    action.values = {}

    if isinstance(action, PythonInteractiveAction):
        try:
            returned = func(*args, **kwargs)
        except Exception as exc:
            return _exception_failure('PythonAction Error', exc)
        _keep_result(action, returned)
        return None

    old_out, old_err = sys.stdout, sys.stderr
    out = _Tee(live_out, capture, old_out, sys.__stdout__)
    err = _Tee(live_err, capture, old_err, sys.__stderr__)
    sys.stdout, sys.stderr = out, err
    try:
        returned = func(*args, **kwargs)
    except Exception as exc:
        return _exception_failure('PythonAction Error', exc)
    finally:
        sys.stdout, sys.stderr = old_out, old_err
        action.out = out.getvalue()
        action.err = err.getvalue()

    if returned is False:
        return TaskFailed("Python Task failed: '%s' returned %s"
                          % (func, returned))
    if returned is True or returned is None:
        return None
    if isinstance(returned, (str, dict)):
        _keep_result(action, returned)
        return None
    if isinstance(returned, (TaskFailed, TaskError)):
        return returned
    return TaskError("Python Task error: '%s'. It must return:\n"
                     "False for failed task.\n"
                     "True, None, string or dict for successful task\n"
                     "returned %s (%s)" % (func, returned, type(returned)))


def _keep_result(action, returned):
    if isinstance(returned, str):
        action.result = returned
    elif isinstance(returned, dict):
        action.values = returned
        action.result = returned


def _execute_custom(action, live_out, live_err):
    """Run a user-defined BaseAction subclass through its execute()."""
    out = _LiveStream(live_out) if live_out is not None else None
    err = _LiveStream(live_err) if live_err is not None else None
    try:
        return action.execute(out=out, err=err)
    except Exception as exc:
        return _exception_failure('PythonAction Error', exc)


def _exception_failure(message, exc):
    fail = TaskError(message)
    fail.traceback = _traceback_lines(exc)
    return fail


def expand_cmd_action(cmd_action, task, options):
    """The command of a CmdAction before ``%``/``{}`` substitution.

    A str is returned as is; a list with pathlib paths made str; a
    callable (or tuple) ``_action`` is called with keyword injection and
    its result treated the same way. Exceptions propagate.
    """
    cmd_action.task = task
    command = cmd_action._action
    if not isinstance(command, (str, list)):
        func, args, kwargs = normalize_callable(command)
        options, changed = _split_options(task, options)
        try:
            kwargs = injected_kwargs(func, args, kwargs, task, options,
                                     changed)
        except InvalidTask as exc:
            raise ActionDefinitionError(str(exc)) from None
        command = func(*args, **kwargs)
    if isinstance(command, list):
        return command_list(command, getattr(task, 'name', None))
    return command


def format_cmd(template, mapping, style):
    """Substitute ``mapping`` into a command string.

    ``style``: 'old' (``%(key)s``), 'new' (``{key}``) or 'both' (new,
    then old). Formatting errors propagate.
    """
    if style == 'old':
        return template % mapping
    if style == 'new':
        return template.format(**mapping)
    if style == 'both':
        return template.format(**mapping) % mapping
    raise ValueError('unknown action_string_formatting style %r' % (style,))


def describe_action(item, task_name=None, list_name='actions'):
    """``Cmd: <command>`` or ``Python: <callable>`` for an action item.

    Also validates the item: invalid ones raise ActionDefinitionError
    (the message names ``task_name`` and ``list_name``).
    """
    return str(prepare_action(item, task_name, list_name))


def prepare_action(item, task_name=None, list_name='actions'):
    """The action object of an action item, made once before it first
    runs (as pydoit makes a task's actions when it loads the task); invalid
    items raise ActionDefinitionError (the message names ``task_name`` and
    ``list_name``). run_python_action takes it as its item."""
    if isinstance(item, BaseAction):
        return item
    try:
        return create_action(item, _TaskRef(task_name), list_name)
    except InvalidTask as exc:
        raise ActionDefinitionError(str(exc)) from None


def wants_task(action):
    """Whether running ``action`` (from prepare_action) needs its task: a
    callable taking one of the reserved names (``task``, ``targets``...),
    or an action object other than PythonAction, whose execute() may look
    at its ``task``. The others get everything from ``options``."""
    if not isinstance(action, PythonAction):
        return True
    shape = _shape(action.py_callable)
    return shape is not None and bool(shape.reserved)


class _TaskRef:
    """Stands for a task in validation messages (``<Task: name>``)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return '<Task: %s>' % self.name


def call_uptodate(item, task, values, dep_manager=None, tasks_dict=None):
    """Evaluate one callable uptodate item and return its raw value.

    ``item``: a callable or ``(callable, args, kwargs)``. The callable gets
    ``task`` as first argument if its first parameter is named ``task``
    and ``values`` (this task's saved values) if its second is named
    ``values``, then ``args`` and ``kwargs``. UptodateCalculator objects
    get ``setup(dep_manager, tasks_dict)`` first when ``dep_manager`` is
    given. Exceptions propagate.
    """
    if isinstance(item, tuple):
        func = item[0]
        args = list(item[1]) if len(item) > 1 and item[1] else []
        kwargs = item[2] if len(item) > 2 and item[2] else {}
    else:
        func, args, kwargs = item, [], {}
    if isinstance(func, UptodateCalculator) and dep_manager is not None:
        func.setup(dep_manager, tasks_dict)
    try:
        names = parameter_names(func)
    except (TypeError, ValueError):
        names = []
    magic = []
    for position, name in enumerate(names[:2]):
        if position == 0 and name == 'task':
            magic.append(task)
        elif position == 1 and name == 'values':
            magic.append(values)
    return func(*magic, *args, **kwargs)


def wants_dryrun(item):
    """True if ``item`` is a python clean action whose callable has a
    ``dryrun`` parameter: it runs even in dry-run mode and gets
    ``dryrun=True/False`` (pass it with ``extra_kwargs``)."""
    if isinstance(item, PythonAction):
        func = item.py_callable
    elif isinstance(item, (BaseAction, str, list)):
        return False
    else:
        func = normalize_callable(item)[0]
    try:
        return 'dryrun' in parameter_names(func)
    except (TypeError, ValueError):
        return False


def save_extra_values(task):
    """Run the task's value savers; return the dict to merge into its
    values (called after a successful run)."""
    values = {}
    for saver in task.value_savers:
        values.update(saver())
    return values


def format_exception(exc):
    """Traceback text of ``exc`` without the frames of doit-cpp's own
    plumbing (this module, the loader, the import machinery), so what is
    left is the user's code. Always starts with the "Traceback" line, as
    pydoit's do (its own frames are never empty)."""
    text = ''.join(_traceback_lines(exc))
    if not text.startswith(_TRACEBACK_HEADER):
        text = _TRACEBACK_HEADER + text
    return text


_TRACEBACK_HEADER = 'Traceback (most recent call last):\n'


def _is_plumbing(filename):
    return (filename == _THIS_FILE
            or filename.startswith(_PRIVATE_MODULES)
            or filename.startswith('<frozen importlib'))


def _traceback_lines(exc):
    import traceback  # slow to import: only when an action failed
    report = traceback.TracebackException.from_exception(exc)
    report.stack = traceback.StackSummary.from_list(
        [frame for frame in report.stack if not _is_plumbing(frame.filename)])
    return list(report.format())


class _Tee:
    """Replacement for sys.stdout/sys.stderr while a python-action runs.

    Writes go to the capture buffer (if capturing) and to the live
    callable; with neither, to the stream that was in place. ``isatty``
    and ``fileno`` answer for the real process stream.
    """

    encoding = 'utf-8'
    errors = 'strict'

    def __init__(self, live, capture, previous, real):
        self._parts = [] if capture else None
        self._live = live
        self._real = real
        if live is None and not capture:
            self._live = previous.write
        self.buffer = _BinaryWriter(self)

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError('write() argument must be str, not %s'
                            % type(text).__name__)
        if self._parts is not None:
            self._parts.append(text)
        if self._live is not None:
            self._live(text)
        # None, as pydoit's writer: `lambda: sys.stdout.write(x)` is a
        # successful action there (a character count would be an error).
        return None

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def getvalue(self):
        return ''.join(self._parts) if self._parts is not None else ''

    def flush(self):
        pass

    def isatty(self):
        return self._real is not None and self._real.isatty()

    def fileno(self):
        if self._real is None:
            raise io.UnsupportedOperation('fileno')
        return self._real.fileno()

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False

    @property
    def closed(self):
        return False


class _BinaryWriter:
    """``sys.stdout.buffer`` of a _Tee: bytes are decoded as UTF-8."""

    def __init__(self, tee):
        self._tee = tee

    def write(self, data):
        self._tee.write(bytes(data).decode('utf-8', 'replace'))
        return len(data)

    def flush(self):
        pass


class _LiveStream:
    """File-like wrapper of a live-output callable, for custom actions."""

    def __init__(self, write):
        self.write = write

    def flush(self):
        pass

    def isatty(self):
        return False

"""Action objects: what a task runs.

In doit-cpp the C++ executor runs command actions itself and calls
``doit._runtime`` for python-actions; these classes are what dodo files
build and subclass, and what task proxies expose as ``task.actions``.
Their ``execute`` methods also work in pure Python, for custom actions
that wrap other actions.
"""

import codecs
import os
import sys
import types

from .exceptions import InvalidTask, TaskError, TaskFailed

#: Keyword names doit injects from the task; they may not have defaults.
RESERVED_NAMES = ('task', 'targets', 'dependencies', 'changed')

#: inspect.Parameter kinds that can be passed by name. inspect, subprocess
#: and threading are imported where they are used: they are slow to import
#: and a run whose actions are commands never needs them.
_NAMED_KIND_NAMES = ('POSITIONAL_OR_KEYWORD', 'KEYWORD_ONLY')


def normalize_callable(ref):
    """Split a callable or a ``(callable, args, kwargs)`` tuple (1-3 items).

    Returns ``(callable, args, kwargs)`` with ``None`` parts replaced by an
    empty list / dict.
    """
    if isinstance(ref, tuple):
        func, args, kwargs = (list(ref) + [None, None, None])[:3]
        return func, ([] if args is None else args), \
            ({} if kwargs is None else kwargs)
    return ref, [], {}


#: Attributes through which a function tells inspect of another signature.
_SIGNATURE_ATTRIBUTES = ('__wrapped__', '__signature__', '_partialmethod',
                         '__partialmethod__')

#: co_flags bits: the function takes ``*args``, ``**kwargs``.
_CO_VARARGS = 0x04
_CO_VARKEYWORDS = 0x08


def _plain(func):
    """``(function, bound)`` when ``inspect.signature(func)`` would read a
    Python function's code as it is (``bound``: 1 for a method bound to an
    object, whose first parameter inspect leaves out; else 0); None for
    any other callable, and for a function that wraps another
    (``functools.wraps``) or states a signature of its own."""
    bound = 0
    if type(func) is types.MethodType:
        func, bound = func.__func__, 1
    if type(func) is not types.FunctionType:
        return None
    own = func.__dict__
    if any(name in own for name in _SIGNATURE_ATTRIBUTES):
        return None
    return func, bound


def _code_parameters(func, bound):
    """A plain function's parameters, from its code object, as inspect
    reads them: (positional, ``*args`` name or None, keyword-only,
    ``**kwargs`` name or None). Bound, the first positional one is left
    out; ValueError when there is none to leave out (as inspect)."""
    code = func.__code__
    names = code.co_varnames
    count = code.co_argcount
    kwonly = names[count:count + code.co_kwonlyargcount]
    rest = count + len(kwonly)
    var_positional = var_keyword = None
    if code.co_flags & _CO_VARARGS:
        var_positional = names[rest]
        rest += 1
    if code.co_flags & _CO_VARKEYWORDS:
        var_keyword = names[rest]
    positional = names[:count]
    if bound:
        if count:
            positional = positional[1:]
        elif var_positional is None:
            raise ValueError('invalid method signature')
    return positional, var_positional, kwonly, var_keyword


def _in_order(positional, var_positional, kwonly, var_keyword):
    """The names of _code_parameters(), in ``inspect.signature`` order."""
    every = (*positional, var_positional, *kwonly, var_keyword)
    return [name for name in every if name is not None]


def parameter_names(func):
    """The names of ``func``'s parameters, in ``inspect.signature`` order.
    Raises TypeError or ValueError when it has none to tell (as inspect)."""
    plain = _plain(func)
    if plain is not None:
        return _in_order(*_code_parameters(*plain))
    import inspect
    return list(inspect.signature(func).parameters)


class _Shape:
    """What injected_kwargs needs of a callable's signature. A plain
    function's is read from its code object: importing inspect takes about
    10 ms, more than all of a small project's checks."""

    __slots__ = ('params', 'positional', 'var_positional', 'takes_any',
                 'reserved')

    def __init__(self, func):
        plain = _plain(func)
        if plain is not None:
            self._from_code(*plain)
        else:
            self._from_signature(func)

    def _from_code(self, func, bound):
        parameters = _code_parameters(func, bound)
        positional, var_positional, kwonly, var_keyword = parameters
        #: the parameters positional arguments bind to, in order
        self.positional = positional
        self.var_positional = var_positional
        self.takes_any = var_keyword is not None
        self.params = frozenset(_in_order(*parameters))
        # Whether a parameter has a default, and which ones are
        # positional-only, do not depend on the binding.
        code = func.__code__
        names = code.co_varnames
        count = code.co_argcount
        defaulted = set(names[count - len(func.__defaults__ or ()):count])
        defaulted.update(func.__kwdefaults__ or ())
        by_name = set(positional + kwonly)
        by_name.difference_update(names[:code.co_posonlyargcount])
        #: (name, has a default) of the reserved names it takes by name
        self.reserved = tuple((key, key in defaulted)
                              for key in RESERVED_NAMES if key in by_name)

    def _from_signature(self, func):
        import inspect
        kinds = inspect.Parameter
        named_kinds = tuple(getattr(kinds, kind) for kind in _NAMED_KIND_NAMES)
        params = inspect.signature(func).parameters
        self.params = frozenset(params)
        self.positional = tuple(
            name for name, p in params.items()
            if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD))
        self.var_positional = next(
            (name for name, p in params.items()
             if p.kind is kinds.VAR_POSITIONAL), None)
        self.takes_any = any(p.kind is kinds.VAR_KEYWORD
                             for p in params.values())
        self.reserved = tuple(
            (key, params[key].default is not kinds.empty)
            for key in RESERVED_NAMES
            if key in params and params[key].kind in named_kinds)

    def bound_by(self, args):
        """The names ``func(*args)`` binds (as Signature.bind_partial); none
        when there are too many arguments (the call itself reports them)."""
        n = len(args)
        if n <= len(self.positional):
            return self.positional[:n]
        if self.var_positional is None:
            return ()
        return self.positional + (self.var_positional,)


#: The shape of each callable seen so far (None: it has no signature): a
#: run calls the same function for thousands of tasks.
_shapes = {}


def _shape(func):
    try:
        return _shapes[func]
    except KeyError:
        shape = _shapes[func] = _make_shape(func)
        return shape
    except TypeError:  # an unhashable callable
        return _make_shape(func)


def _make_shape(func):
    try:
        return _Shape(func)
    except (TypeError, ValueError):
        return None


def injected_kwargs(func, args, kwargs, task, options, changed):
    """Keyword arguments for calling ``func(*args, **result)``.

    Starts from ``kwargs`` and adds, by parameter name of ``func``:
    ``task``, ``targets``, ``dependencies`` and ``changed`` (only when
    ``task`` is given; list copies; such a parameter must have no default,
    else InvalidTask), then every item of ``options`` (a parameter of that
    name, or any name when ``func`` takes ``**kwargs`` and the key is not
    set yet). Parameters already bound by ``args`` are left alone.
    """
    result = dict(kwargs)
    shape = _shape(func)
    if shape is None:
        return result
    bound = shape.bound_by(args)

    if task is not None:
        for key, has_default in shape.reserved:
            if has_default:
                raise InvalidTask(
                    "Task %s, action %s():The argument '%s' is not allowed "
                    "to have a default value (reserved by doit)"
                    % (task.name, getattr(func, '__name__', func), key))
            if key not in bound:
                result[key] = _reserved_value(key, task, changed)

    if options:
        params = shape.params
        for key, value in options.items():
            if key in params:
                if key not in bound:
                    result[key] = value
            elif shape.takes_any and key not in result:
                result[key] = value
    return result


def _reserved_value(key, task, changed):
    if key == 'task':
        return task
    if key == 'targets':
        return list(task.targets)
    if key == 'dependencies':
        return list(task.file_dep)
    return None if changed is None else list(changed)


def task_options(task):
    """The options a task's actions receive: params values plus pos_arg."""
    options = dict(task.options or {})
    if task.pos_arg is not None:
        options[task.pos_arg] = task.pos_arg_val
    return options


def _is_pure_path(item):
    """isinstance(item, pathlib.PurePath), without importing pathlib (slow to
    import): while nobody imported it, no object can be a path."""
    pathlib = sys.modules.get('pathlib')
    return pathlib is not None and isinstance(item, pathlib.PurePath)


def path_strings(items, task_name, what):
    """str items as they are, pathlib paths as str; anything else raises
    InvalidTask naming ``what`` (e.g. ``file_dep``)."""
    result = []
    for item in items:
        if isinstance(item, str):
            result.append(item)
        elif _is_pure_path(item):
            result.append(str(item))
        else:
            raise InvalidTask("%s. %s must be a str or Path from pathlib. "
                              "Got '%r' (%s)" % (task_name, what, item,
                                                 type(item)))
    return result


def command_list(items, task_name):
    """Check a no-shell command list and turn pathlib paths into str."""
    return path_strings(items, task_name, 'CmdAction element')


def command_mapping(task):
    """The ``%(key)s`` mapping of a task's command strings (old style)."""
    mapping = {'targets': ' '.join(task.targets),
               'dependencies': ' '.join(task.file_dep)}
    if task.dep_changed is not None:
        mapping['changed'] = ' '.join(task.dep_changed)
    mapping.update(task.options or {})
    if task.pos_arg:
        mapping[task.pos_arg] = ' '.join(task.pos_arg_val or ())
    return mapping


class BaseAction:
    """Base of every action. Subclasses implement ``execute(out, err)``.

    ``execute`` gets two streams for live output (or None), returns None on
    success or a ``BaseFail``, and sets ``out``, ``err``, ``result`` and
    ``values``.
    """

    task = None
    out = None
    err = None
    result = None
    values = {}

    @staticmethod
    def _prepare_kwargs(task, func, args, kwargs):
        """Keyword arguments for ``func`` with doit's injection (see
        ``injected_kwargs``), using the task's options and changed files."""
        if not task:
            return kwargs
        return injected_kwargs(func, args, kwargs, task, task_options(task),
                               task.dep_changed)

    def execute(self, out=None, err=None):
        raise NotImplementedError('%s must implement execute()'
                                  % type(self).__name__)


class CmdAction(BaseAction):
    """A command run in a child process.

    ``action`` is a shell string, an argv list, or a callable /
    ``(callable, args, kwargs)`` that returns one (called with keyword
    injection). ``pkwargs`` go to ``subprocess.Popen``, except
    ``stdout``/``stderr``.
    """

    def __init__(self, action, task=None, save_out=None, shell=True,
                 encoding='utf-8', decode_error='replace', buffering=0,
                 **pkwargs):
        for forbidden in ('stdout', 'stderr'):
            if forbidden in pkwargs:
                raise InvalidTask(
                    "CmdAction can't take param named '%s'." % forbidden)
        self._action = action
        self.task = task
        self.save_out = save_out
        self.shell = shell
        self.encoding = encoding
        self.decode_error = decode_error
        self.buffering = buffering
        self.pkwargs = pkwargs
        self.out = None
        self.err = None
        self.result = None
        self.values = {}

    @property
    def action(self):
        """The command before substitution (calls a callable action)."""
        if isinstance(self._action, (str, list)):
            return self._action
        func, args, kwargs = normalize_callable(self._action)
        return func(*args, **self._prepare_kwargs(self.task, func, args,
                                                  kwargs))

    def expand_action(self):
        """The command to run: a list with paths made str, or a string with
        the task's ``%(name)s`` keys substituted (when a task is attached).
        """
        action = self.action
        if isinstance(action, list):
            return command_list(action, getattr(self.task, 'name', None))
        if self.task is None:
            return action
        return action % command_mapping(self.task)

    def execute(self, out=None, err=None):
        """Run the command; forward output to ``out``/``err`` streams."""
        try:
            command = self.expand_action()
        except Exception as exc:
            return TaskError('CmdAction Error creating command string', exc)
        kwargs = dict(self.pkwargs)
        if self.buffering:
            env = dict(kwargs.pop('env', None) or os.environ)
            env['PYTHONUNBUFFERED'] = '1'
            kwargs['env'] = env
        import subprocess
        import threading
        process = subprocess.Popen(command, shell=self.shell,
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, **kwargs)
        outs, errs = [], []
        pumps = [threading.Thread(target=self._pump,
                                  args=(process.stdout, outs, out)),
                 threading.Thread(target=self._pump,
                                  args=(process.stderr, errs, err))]
        for pump in pumps:
            pump.start()
        for pump in pumps:
            pump.join()
        process.wait()
        self.out = ''.join(outs)
        self.err = ''.join(errs)
        self.result = self.out + self.err
        code = process.returncode
        if code > 125:
            return TaskError("Command error: '%s' returned %s"
                             % (command, code))
        if code != 0:
            return TaskFailed("Command failed: '%s' returned %s"
                              % (command, code))
        if self.save_out:
            self.values[self.save_out] = self.out
        return None

    def _pump(self, pipe, capture, live):
        decoder = codecs.getincrementaldecoder(self.encoding)(
            self.decode_error)
        while True:
            data = (pipe.read(self.buffering) if self.buffering
                    else pipe.readline())
            text = decoder.decode(data, final=not data)
            if text:
                capture.append(text)
                if live is not None:
                    live.write(text)
                    live.flush()
            if not data:
                break
        pipe.close()

    def __str__(self):
        return 'Cmd: %s' % (self._action,)

    def __repr__(self):
        return "<CmdAction: '%s'>" % (self._action,)


class PythonAction(BaseAction):
    """A Python callable run inside doit's process.

    ``args`` (tuple or list) and ``kwargs`` (dict) are passed to it, plus
    the injected keywords. Invalid definitions raise InvalidTask.
    """

    def __init__(self, py_callable, args=None, kwargs=None, task=None):
        self.py_callable = py_callable
        self.args = [] if args is None else args
        self.kwargs = {} if kwargs is None else kwargs
        self.task = task
        self.out = None
        self.err = None
        self.result = None
        self.values = {}
        if not callable(py_callable):
            raise InvalidTask("%r PythonAction must be a 'callable' got %r."
                              % (task, py_callable))
        if isinstance(py_callable, type):  # inspect.isclass
            raise InvalidTask("%r PythonAction can not be a class got %r."
                              % (task, py_callable))
        if isinstance(py_callable, types.BuiltinFunctionType):  # isbuiltin
            raise InvalidTask("%r PythonAction can not be a built-in got %r."
                              % (task, py_callable))
        if not isinstance(self.args, (tuple, list)):
            raise InvalidTask("%r args must be a 'tuple' or a 'list'. got "
                              "'%s'." % (task, self.args))
        if not isinstance(self.kwargs, dict):
            raise InvalidTask("%r kwargs must be a 'dict'. got '%s'"
                              % (task, self.kwargs))

    def execute(self, out=None, err=None):
        """Call the callable capturing stdout/stderr; echo to out/err."""
        from . import _runtime
        task = self.task
        options = task_options(task) if task is not None else {}
        changed = task.dep_changed if task is not None else None
        return _runtime.execute_python(
            self, task, options, changed,
            out.write if out is not None else None,
            err.write if err is not None else None)

    def __str__(self):
        # the callable's description without its memory address
        return 'Python: %s' % str(self.py_callable)[1:].split(' at ')[0]

    def __repr__(self):
        return "<PythonAction: '%s'>" % repr(self.py_callable)


def create_action(action, task, param_name='actions'):
    """Turn one item of ``actions``/``clean``/``teardown`` into an action.

    str -> CmdAction (shell), list -> CmdAction (no shell), tuple ->
    PythonAction with args/kwargs, callable -> PythonAction, action object
    -> itself with ``task`` set. Anything else raises InvalidTask.
    """
    if isinstance(action, BaseAction):
        action.task = task
        return action
    if isinstance(action, str):
        return CmdAction(action, task, shell=True)
    if isinstance(action, list):
        return CmdAction(action, task, shell=False)
    name = getattr(task, 'name', None)
    if isinstance(action, tuple):
        if len(action) > 3:
            raise InvalidTask("Task '%s': invalid '%s' tuple length. got: "
                              "%r %s" % (name, param_name, action,
                                         type(action)))
        func, args, kwargs = (list(action) + [None, None, None])[:3]
        return PythonAction(func, args, kwargs, task)
    if callable(action):
        return PythonAction(action, task=task)
    raise InvalidTask("Task '%s': invalid '%s' type. got: %r %s"
                      % (name, param_name, action, type(action)))

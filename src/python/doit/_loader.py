"""Task creation from a dodo namespace (called by the C++ loader).

``load(namespace, command)`` finds the task creators, calls them in
definition order and returns ``(DOIT_CONFIG, task_dicts)``. Each task
dict is a copy of what the creator gave, with ``basename`` consumed and:

* ``name``: the full task name (``group:sub`` for sub-tasks);
* ``doc``: reduced to its first non-blank line, stripped ('' for none);
* ``_subtask_of``: the group name for sub-tasks, else None;
* ``_is_group``: True for group tasks made from sub-tasks (implicit, or
  defined with ``name: None``); their ``actions`` is None and their
  ``task_dep`` lists the sub-tasks in yield order;
* ``_creator``: the creator's base name;
* ``_delayed`` (only for ``@create_after`` creators):
  ``{'executed', 'target_regex', 'creates'}``.

Only the structure is checked here (names, duplicates, missing
``actions``); the C++ side validates every other key and its type. User
errors raise InvalidTask / InvalidDodoFile whose text is the message
without the leading ``ERROR: ``.
"""

import functools
import types

from .exceptions import InvalidDodoFile, InvalidTask
from .task import Task, first_line

#: Prefix of function names that are task creators.
CREATOR_PREFIX = 'task_'

#: Command names a task creator may not use.
COMMAND_NAMES = frozenset((
    'auto', 'clean', 'dumpdb', 'forget', 'help', 'ignore', 'info', 'list',
    'reset-dep', 'run', 'strace', 'tabcompletion'))

_FUNCTION_TYPES = (types.FunctionType, types.MethodType)
_MAX_UNWRAP = 100  # guards against __wrapped__ cycles
_DUPLICATE = "Task generation '%s' has duplicated definition of '%s'"


#: Commands under which ``@create_after`` creators run during execution.
DELAYED_COMMANDS = frozenset(('run', 'auto', 'strace', 'graph'))

#: Delayed creators left for later: name -> (creator, creator_args).
_delayed = {}

#: Set by doit-cpp while ``load`` runs: called with each sub-task dict as
#: soon as it is final (its creator's generator goes on afterwards). It
#: returns what stands for the dict in the list ``load`` returns: the dict
#: itself, or a token (an int) for a task it already converted, so that
#: the dicts of a large generator do not all live at once.
_on_task = None


def load(namespace, command='run', creator_args=None,
         command_names=COMMAND_NAMES):
    """Run the task creators of ``namespace`` (a dodo module's dict).

    ``command`` is the doit command being run: under run/auto/strace/graph a
    ``@create_after`` creator is not called now; a placeholder task stands
    for it (one per name in ``creates``), marked ``_placeholder`` and
    carrying ``_delayed``; ``create_delayed`` calls it later. Creators with
    ``creates`` stay placeholders under every command. ``creator_args``
    maps a creator name to the keyword arguments of a ``@task_params``
    creator; missing entries use the params' defaults.
    Returns ``(config, tasks)``: the DOIT_CONFIG dict (or {}) and the task
    dicts in definition order; while ``_on_task`` is set, the tokens it
    gave stand for the dicts it took.
    """
    config = load_config(namespace)
    tasks = []
    _delayed.clear()
    for name, creator in find_creators(namespace, command_names):
        later = getattr(creator, 'doit_create_after', None)
        if later is not None and (command in DELAYED_COMMANDS or later.creates):
            _delayed[name] = (creator, creator_args or {})
            tasks.extend(_placeholders(name, creator, later))
            continue
        tasks.extend(_run_creator(name, creator, creator_args or {}))
    return config, tasks


def _placeholders(name, creator, later):
    """The stand-in tasks of a delayed creator (no actions)."""
    info = {'creator': name, 'executed': later.task_dep,
            'target_regex': later.target_regex,
            'creates': list(later.creates)}
    doc = getattr(creator, '__doc__', None)
    out = []
    for task_name in (list(later.creates) or [name]):
        task = {'name': task_name, 'actions': None,
                'doc': first_line(doc) if isinstance(doc, str) else '',
                'task_dep': [later.task_dep] if later.task_dep else []}
        task = _finish(task, name, None)
        task['_delayed'] = info
        task['_placeholder'] = True
        out.append(task)
    return out


def create_delayed(creator_name, base):
    """Call the delayed creator ``creator_name`` now; its tasks are named
    after ``base`` (the placeholder being replaced). Returns task dicts."""
    creator, creator_args = _delayed[creator_name]
    return _run_creator(base, creator, creator_args)


def load_config(namespace):
    """The DOIT_CONFIG dict of the namespace ({} when absent)."""
    config = namespace.get('DOIT_CONFIG', {})
    if not isinstance(config, dict):
        raise InvalidDodoFile("DOIT_CONFIG  must be a dict. got:'%r'%s"
                              % (config, type(config)))
    return config


def creator_params(namespace, command_names=COMMAND_NAMES):
    """``{creator name: param definitions}`` of ``@task_params`` creators,
    in definition order, so the caller can parse their options first."""
    return {name: creator._task_params
            for name, creator in find_creators(namespace, command_names)
            if getattr(creator, '_task_params', None)}


def find_creators(namespace, command_names=COMMAND_NAMES):
    """``[(name, callable)]`` of the task creators in ``namespace``.

    A creator is a function/method named ``task_<name>``, or the
    ``create_doit_tasks`` attribute of any other object (named by its
    ``basename`` attribute, else the namespace name). Sorted by the line
    where each is defined, ties by namespace name.
    """
    from . import task_params
    found = []
    for key, ref in namespace.items():
        if key.startswith(CREATOR_PREFIX) and isinstance(ref, _FUNCTION_TYPES):
            if ref is task_params:
                continue
            name = key[len(CREATOR_PREFIX):]
        elif hasattr(ref, 'create_doit_tasks') and not isinstance(ref, type):
            # A class has the method unbound: only its instances create
            # tasks (pydoit 0.35+ calls it on the class and crashes).
            ref = ref.create_doit_tasks
            name = getattr(ref, 'basename', key)
        else:
            continue
        if name in command_names:
            raise InvalidDodoFile(
                "Task can't be called '%s' because this is a command name. "
                "Please choose another name." % name)
        found.append((_definition_line(ref), key, name, ref))
    found.sort(key=lambda item: (item[0], item[1]))
    return [(name, ref) for _, _, name, ref in found]


def _definition_line(ref):
    """Source line of a creator (of the undecorated function), 0 if none."""
    func = ref
    for _ in range(_MAX_UNWRAP):
        func = getattr(func, '__func__', func)        # bound method
        inner = getattr(func, '__wrapped__', None)    # functools.wraps
        if inner is None and isinstance(func, functools.partial):
            inner = func.func
        if inner is None or inner is func:
            break
        func = inner
    code = getattr(func, '__code__', None)
    if code is None:  # callable object
        code = getattr(getattr(type(func), '__call__', None), '__code__', None)
    return code.co_firstlineno if code is not None else 0


def _run_creator(name, creator, creator_args):
    """Call one creator and return its task dicts (or their tokens)."""
    params = getattr(creator, '_task_params', None)
    if params:
        kwargs = creator_args.get(name)
        if kwargs is None:
            kwargs = {param['name']: param['default'] for param in params}
        result = creator(**kwargs)
    else:
        result = creator()
    delayed = getattr(creator, 'doit_create_after', None)
    info = None
    if delayed is not None:
        info = {'executed': delayed.task_dep,
                'target_regex': delayed.target_regex,
                'creates': list(delayed.creates)}
    return _tasks_from(name, result, getattr(creator, '__doc__', None),
                       _completer(params, info))


def _completer(params, info):
    """What a creator's decorators add to each of its task dicts: a
    function of the dict, or None when they add nothing."""
    if not params and info is None:
        return None

    def complete(task):
        if params and task['_subtask_of'] is None:
            if task.get('params'):
                raise InvalidTask(
                    "Task '%s'. `params` attribute can not be used in "
                    "conjuction with `@task_params`" % task['name'])
            task['params'] = params
        if info is not None:
            task['_delayed'] = info
        return task
    return complete


def _tasks_from(creator, result, doc, complete):
    """Task dicts from what a creator returned (``complete``: see
    ``_completer``)."""
    if isinstance(result, types.GeneratorType):
        return _from_generator(creator, result, doc, complete)
    if isinstance(result, dict):
        tasks = [_from_returned_dict(creator, result, doc)]
    elif result is None:
        return []
    elif isinstance(result, Task):
        tasks = [task_to_dict(result, creator)]
    else:
        raise InvalidTask("Task '%s'. Must return a dictionary or generator. "
                          "Got %s" % (creator, type(result)))
    return tasks if complete is None else [complete(t) for t in tasks]


def _from_returned_dict(creator, given, doc):
    if 'name' in given:
        raise InvalidTask("Task '%s'. Only subtasks use field name." % creator)
    task = dict(given)
    task['name'] = task.pop('basename', creator)
    if 'doc' not in task:
        task['doc'] = doc
    return _finish(task, creator, None)


def _from_generator(creator, generator, creator_doc, complete):
    """Task dicts from a generator, with its group tasks, in yield order.

    A sub-task (or a ``basename`` task) is final once yielded: it goes to
    ``_on_task`` at once. Group tasks get their ``task_dep`` at the end."""
    tasks = {}        # full name -> task dict (or its token), creation order
    subtasks = {}     # group name -> sub-task names in yield order
    pending = set()   # names of the dicts completed at the end
    for item, doc in _flatten(generator, creator_doc):
        if isinstance(item, Task):
            tasks[item.name] = task_to_dict(item, creator)
            pending.add(item.name)
            continue
        if not isinstance(item, dict):
            raise InvalidTask("Task '%s' must yield dictionaries" % creator)
        task = dict(item)
        basename = task.pop('basename', None)
        if 'name' not in task:
            if not basename:
                raise InvalidTask("Task '%s' must contain field 'name' or "
                                  "'basename'. %s" % (creator, task))
            if basename in tasks:
                raise InvalidTask(_DUPLICATE % (creator, basename))
            task['name'] = basename
            if 'doc' not in task:
                task['doc'] = doc
            task = _finish(task, creator, None)
            if complete is not None:
                task = complete(task)
            tasks[basename] = task if _on_task is None else _on_task(task)
            continue

        group = basename or creator
        if task['name'] is None:
            # the group task itself: its attributes, never actions
            _ensure_group_slot(tasks, group, creator)
            task['name'] = group
            task['actions'] = None
            own_deps = task.get('task_dep', [])
            if not isinstance(own_deps, (list, tuple)):
                raise InvalidTask(
                    "Task '%s' attribute 'task_dep' must be {list, tuple} "
                    "got:%r %s" % (group, own_deps, type(own_deps)))
            task['task_dep'] = list(own_deps)
            task = _finish(task, creator, None)
            task['_is_group'] = True
            tasks[group] = task
            pending.add(group)
            subtasks.setdefault(group, [])
            continue

        full_name = '%s:%s' % (group, task['name'])
        if full_name in tasks:
            raise InvalidTask(_DUPLICATE % (creator, full_name))
        task['name'] = full_name
        task = _finish(task, creator, group)
        if group not in tasks:
            tasks[group] = _finish({'name': group, 'actions': None,
                                    'doc': doc, 'task_dep': []},
                                   creator, None)
            tasks[group]['_is_group'] = True
            pending.add(group)
            subtasks[group] = []
        elif subtasks.get(group) is None:  # a settled task, not a group
            raise InvalidTask(_DUPLICATE % (creator, group))
        subtasks[group].append(full_name)
        if complete is not None:
            task = complete(task)
        tasks[full_name] = task if _on_task is None else _on_task(task)

    for group, names in subtasks.items():
        tasks[group]['task_dep'] = tasks[group]['task_dep'] + names
    if not tasks:
        # nothing yielded: an empty group named after the creator
        empty = _finish({'name': creator, 'actions': None, 'doc': creator_doc,
                         'task_dep': []}, creator, None)
        empty['_is_group'] = True
        pending.add(creator)
        tasks[creator] = empty
    if complete is None:
        return list(tasks.values())
    return [complete(entry) if name in pending else entry
            for name, entry in tasks.items()]


def _is_group(entry):
    """Whether a ``tasks`` entry is a group task (tokens never are)."""
    return isinstance(entry, dict) and entry['_is_group']


def _ensure_group_slot(tasks, group, creator):
    """A ``name: None`` group may replace an implicit group, nothing else."""
    existing = tasks.get(group)
    if existing is not None and not _is_group(existing):
        raise InvalidTask(_DUPLICATE % (creator, group))


def _flatten(generator, doc):
    """Yield ``(item, doc)``; nested generators are expanded, their items
    taking the nested generator's docstring as default doc."""
    for item in generator:
        if isinstance(item, types.GeneratorType):
            consts = item.gi_code.co_consts
            inner_doc = consts[0] if consts and isinstance(consts[0], str) \
                else None
            yield from _flatten(item, inner_doc)
        else:
            yield item, doc


def _finish(task, creator, group):
    """Check a task dict's structure and add the loader's keys."""
    name = task['name']
    if 'actions' not in task:
        raise InvalidTask("Task %s must contain 'actions' field. %s"
                          % (name, task))
    if isinstance(name, str) and '=' in name:
        raise InvalidTask("Task '%s': name must not use the char '=' "
                          "(equal sign)." % name)
    doc = task.get('doc')
    if doc is None:
        task['doc'] = ''
    elif isinstance(doc, str):
        task['doc'] = first_line(doc)
    task['_subtask_of'] = group
    task['_is_group'] = False
    task['_creator'] = creator
    return task


def task_to_dict(task, creator):
    """The task dict equivalent to a Task object built by a creator."""
    result = {
        'name': task.name,
        'actions': None if task._actions is None else list(task._actions),
        'file_dep': list(task.file_dep),
        'targets': list(task.targets),
        'task_dep': task.task_dep + task.wild_dep,
        'setup': list(task.setup_tasks),
        'calc_dep': list(task.calc_dep),
        'uptodate': list(task._uptodate),
        'clean': task._clean,
        'teardown': list(task._teardown),
        'doc': task.doc,
        'params': task.params,
        'pos_arg': task.pos_arg,
        'verbosity': task.verbosity,
        'io': dict(task.io),
        'title': task.custom_title,
        'getargs': dict(task.getargs),
        'watch': list(task.watch),
        'meta': task.meta,
    }
    result = _finish(result, creator, task.subtask_of)
    result['_is_group'] = bool(task.has_subtask)
    return result

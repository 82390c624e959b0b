"""The Task object that dodo code sees, and task helpers.

In doit-cpp tasks live in C++. A ``Task`` here is a proxy the binary
builds when Python code needs one: for actions asking for the ``task``
keyword, uptodate callables, ``title`` callables and clean actions. Dodo
files may also build Tasks themselves (Python API); the loader turns them
into task dicts.
"""

import os

from .action import create_action, path_strings
from .dependency import UptodateCalculator
from .exceptions import InvalidTask

#: Keys a task dict may have.
VALID_KEYS = frozenset((
    'basename', 'name', 'actions', 'file_dep', 'task_dep', 'uptodate',
    'calc_dep', 'targets', 'setup', 'clean', 'teardown', 'doc', 'params',
    'pos_arg', 'verbosity', 'getargs', 'title', 'watch', 'io', 'meta'))


def first_line(doc):
    """First non-blank line of ``doc``, stripped ('' for None or blank)."""
    if doc:
        for line in doc.splitlines():
            line = line.strip()
            if line:
                return line
    return ''


class DelayedLoader:
    """What ``@create_after`` records on a creator (attribute
    ``doit_create_after``): run the creator only after ``executed`` ran.
    """

    def __init__(self, creator, executed=None, target_regex=None,
                 creates=None):
        self.creator = creator
        self.task_dep = executed
        self.target_regex = target_regex
        self.creates = list(creates) if creates else []
        self.basename = None
        self.created = False

    @property
    def executed(self):
        """Name of the task that must run before the creator."""
        return self.task_dep


class Task:
    """A task with the attributes pydoit 0.37 gives it.

    ``actions``, ``clean_actions`` and ``teardown`` are action objects built
    on first access. ``file_dep`` keeps declaration order (duplicates
    dropped). ``options`` is None until the binary sets it. Uptodate items
    with ``configure_task`` get it called here, and ``getargs`` sources add
    a ``result_dep`` check, as in pydoit.
    """

    DEFAULT_VERBOSITY = 1

    def __init__(self, name, actions, file_dep=(), targets=(), task_dep=(),
                 uptodate=(), calc_dep=(), setup=(), clean=(), teardown=(),
                 subtask_of=None, has_subtask=False, doc=None, params=(),
                 pos_arg=None, verbosity=None, io=None, title=None,
                 getargs=None, watch=(), meta=None, loader=None):
        self.name = name
        self._actions = actions
        self._action_instances = None
        self.file_dep = list(dict.fromkeys(
            path_strings(file_dep, name, 'file_dep')))
        self.targets = path_strings(targets, name, 'target')
        self.wild_dep = [dep for dep in task_dep
                         if isinstance(dep, str) and '*' in dep]
        self.task_dep = [dep for dep in task_dep if dep not in self.wild_dep]
        self.calc_dep = list(dict.fromkeys(calc_dep))
        self.setup_tasks = list(setup)
        self._clean = clean
        self._clean_instances = None
        #: clean=True: `doit clean` removes the targets (pydoit's name).
        self._remove_targets = clean is True
        self._teardown = teardown
        self._teardown_instances = None
        self.subtask_of = subtask_of
        self.has_subtask = has_subtask
        self.doc = first_line(doc) if isinstance(doc, str) else doc or ''
        self.params = params
        self.options = None
        self.pos_arg = pos_arg
        self.pos_arg_val = None
        self.verbosity = verbosity
        self.io = {'capture': True}
        self.io.update(io or {})
        self.custom_title = title
        self.getargs = getargs or {}
        self.watch = list(watch)
        self.meta = meta
        self.loader = loader
        if loader is not None and loader.task_dep:
            self.task_dep.append(loader.task_dep)
        self.dep_changed = None
        self.value_savers = []
        self.result = None
        self.values = {}
        self.executed = False
        self._uptodate = list(uptodate)
        self.uptodate = self._init_uptodate(
            self._uptodate + self._getargs_checks())

    def _getargs_checks(self):
        """result_dep checks implied by getargs (sources not in setup)."""
        sources = []
        for arg, desc in self.getargs.items():
            if isinstance(desc, str) or not hasattr(desc, '__len__') \
                    or len(desc) != 2:
                raise InvalidTask(
                    "Taskid '%s' - Invalid format for getargs of '%s'."
                    "Should be tuple with 2 elements ('<taskid>', "
                    "'<key-name>') got '%s'" % (self.name, arg, desc))
            if desc[0] not in self.setup_tasks and desc[0] not in sources:
                sources.append(desc[0])
        return [result_dep(source, setup_dep=True) for source in sources]

    def _init_uptodate(self, items):
        """Normalise uptodate items to (item, args, kwargs) tuples."""
        normalized = []
        for item in items:
            if hasattr(item, 'configure_task'):
                item.configure_task(self)
            if isinstance(item, bool) or item is None:
                normalized.append((item, None, None))
            elif isinstance(item, tuple):
                args = list(item[1]) if len(item) > 1 else []
                kwargs = item[2] if len(item) > 2 else {}
                normalized.append((item[0], args, kwargs))
            elif callable(item) or isinstance(item, str):
                normalized.append((item, [], {}))
            else:
                raise InvalidTask(
                    "%s. task invalid 'uptodate' item '%r'. Must be bool, "
                    "None, str, callable or tuple (callable, args, kwargs)."
                    % (self.name, item))
        return normalized

    @property
    def actions(self):
        """Action objects of ``actions`` (built on first access)."""
        if self._action_instances is None:
            self._action_instances = [create_action(a, self, 'actions')
                                      for a in self._actions or ()]
        return self._action_instances

    @property
    def clean_actions(self):
        """Action objects of ``clean`` (empty when ``clean`` is True)."""
        if self._clean_instances is None:
            items = () if self._clean is True else self._clean
            self._clean_instances = [create_action(a, self, 'clean')
                                     for a in items]
        return self._clean_instances

    @property
    def teardown(self):
        """Action objects of ``teardown``."""
        if self._teardown_instances is None:
            self._teardown_instances = [create_action(a, self, 'teardown')
                                        for a in self._teardown]
        return self._teardown_instances

    def init_options(self):
        """Set ``options`` to the params' defaults if nobody set them."""
        if self.options is None:
            self.options = {param['name']: param['default']
                            for param in self.params}

    def save_extra_values(self):
        """Merge what every value saver returns into ``values``."""
        for saver in self.value_savers:
            self.values.update(saver())

    def title(self):
        """The text shown for this task: custom title, else the name."""
        if self.custom_title:
            return self.custom_title(self)
        return self.name

    def __repr__(self):
        return '<Task: %s>' % self.name

    def __eq__(self, other):
        return isinstance(other, Task) and self.name == other.name

    def __hash__(self):
        return hash(self.name)

    def __lt__(self, other):
        return self.name < other.name


def dict_to_task(task_dict):
    """Build a Task from a task dict that has its full ``name``.

    Raises InvalidTask when ``actions`` is missing or a key is unknown.
    """
    if 'actions' not in task_dict:
        raise InvalidTask("Task %s must contain 'actions' field. %s"
                          % (task_dict['name'], task_dict))
    for key in task_dict:
        if key not in VALID_KEYS:
            raise InvalidTask("Task %s contains invalid field: '%s'"
                              % (task_dict['name'], key))
    kwargs = dict(task_dict)
    kwargs.pop('basename', None)
    return Task(**kwargs)


def clean_targets(task, dryrun):
    """Remove the task's targets: files, and directories that are empty.

    Targets are visited in reverse lexical order so that files inside a
    target directory go before the directory. Prints one line per target.
    """
    for target in sorted(task.targets, reverse=True):
        if os.path.isfile(target):
            print("%s - removing file '%s'" % (task.name, target))
            if not dryrun:
                os.remove(target)
        elif os.path.isdir(target):
            if os.listdir(target):
                print("%s - cannot remove (it is not empty) '%s'"
                      % (task.name, target))
            else:
                print("%s - removing dir '%s'" % (task.name, target))
                if not dryrun:
                    os.rmdir(target)


class result_dep(UptodateCalculator):
    """Uptodate check: up-to-date while task ``dep_task_name`` keeps the
    result it had at this task's last success.

    Adds a task_dep (or, with ``setup_dep``, a setup task) on it. For a
    group task the result is the dict of its sub-tasks' results. The
    value saved for next time is read after this task ran.
    """

    def __init__(self, dep_task_name, setup_dep=False):
        super().__init__()
        self.dep_name = dep_task_name
        self.setup_dep = setup_dep
        self.result_name = '_result:%s' % dep_task_name

    def configure_task(self, task):
        if self.setup_dep:
            task.setup_tasks.append(self.dep_name)
        else:
            task.task_dep.append(self.dep_name)

    def _current(self):
        dep_task = self.tasks_dict[self.dep_name]
        if not dep_task.has_subtask:
            return self.get_val(self.dep_name, 'result:')
        prefix = self.dep_name + ':'
        return {sub: self.get_val(sub, 'result:')
                for sub in dep_task.task_dep if sub.startswith(prefix)}

    def __call__(self, task, values):
        task.value_savers.append(
            lambda: {self.result_name: self._current()})
        last = values.get(self.result_name)
        if last is None:
            return False
        return last == self._current()

    def __repr__(self):
        return 'result_dep("%s")' % self.dep_name


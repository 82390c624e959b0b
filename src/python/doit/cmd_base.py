"""Base classes of doit commands and task loaders (Python API).

doit-cpp's commands are implemented in C++. These classes exist so that
plugins and custom loaders import and subclass them; running a custom
command from Python is not supported yet (``execute`` raises
NotImplementedError). ``ModuleTaskLoader`` does load Task objects.
"""

import importlib.util
import inspect
import os
import sys

from . import _loader
from .task import dict_to_task


class Command:
    """A sub-command: ``name``, ``doc_purpose``, ``doc_usage``,
    ``doc_description``, ``cmd_options`` (list of option dicts) and
    ``execute(opt_values, pos_args)``."""

    name = None
    doc_purpose = ''
    doc_usage = ''
    doc_description = None
    cmd_options = ()
    execute_tasks = False

    def __init__(self, config=None, bin_name='doit', opt_vals=None,
                 **kwargs):
        self.bin_name = bin_name
        self.name = self.get_name()
        self.config = config or {}
        self.opt_vals = opt_vals or {}

    @classmethod
    def get_name(cls):
        """The command's name: ``name``, else the lowercased class name."""
        return cls.name or cls.__name__.lower()

    def execute(self, opt_values, pos_args):
        """Run the command; return the exit code."""
        raise NotImplementedError('%s.execute()' % type(self).__name__)


class DoitCmdBase(Command):
    """A command that works on the tasks of a loader; subclasses define
    ``_execute(**options)`` and use ``self.task_list``, ``self.sel_tasks``
    and ``self.dep_manager``."""

    def __init__(self, task_loader=None, cmds=None, **kwargs):
        super().__init__(**kwargs)
        self.loader = task_loader
        self.task_list = None
        self.sel_tasks = None
        self.dep_manager = None
        self.outstream = sys.stdout

    def _execute(self, **options):
        raise NotImplementedError('%s._execute()' % type(self).__name__)

    def execute(self, opt_values, pos_args):
        raise NotImplementedError(
            'running Python commands is not supported by doit-cpp yet')


class TaskLoader2:
    """Task loader API: ``setup(opt_values)``, ``load_doit_config()``,
    ``load_tasks(cmd, pos_args)`` returning a list of Task objects."""

    API = 2
    cmd_options = ()

    def __init__(self):
        self.cmd_names = []
        self.config = None
        self.task_opts = None

    def setup(self, opt_values):
        raise NotImplementedError()

    def load_doit_config(self):
        raise NotImplementedError()

    def load_tasks(self, cmd, pos_args):
        raise NotImplementedError()


class NamespaceTaskLoader(TaskLoader2):
    """Loads tasks from ``self.namespace`` (a dict of module members)."""

    def __init__(self):
        super().__init__()
        self.namespace = None

    def load_doit_config(self):
        return _loader.load_config(self.namespace)

    def load_tasks(self, cmd, pos_args):
        names = set(self.cmd_names) or _loader.COMMAND_NAMES
        _, dicts = _loader.load(self.namespace, getattr(cmd, 'name', 'run'),
                                command_names=names)
        tasks = []
        for task_dict in dicts:
            fields = {key: value for key, value in task_dict.items()
                      if not key.startswith('_')}
            task = dict_to_task(fields)
            task.subtask_of = task_dict['_subtask_of']
            task.has_subtask = task_dict['_is_group']
            tasks.append(task)
        return tasks


class ModuleTaskLoader(NamespaceTaskLoader):
    """Tasks from a module or a dict, e.g. ``ModuleTaskLoader(globals())``."""

    def __init__(self, mod_dict):
        super().__init__()
        if inspect.ismodule(mod_dict):
            self.namespace = dict(vars(mod_dict))
        else:
            self.namespace = mod_dict

    def setup(self, opt_values):
        pass


class DodoTaskLoader(NamespaceTaskLoader):
    """Tasks from the dodo file named by ``opt_values['dodoFile']``
    (imported after changing to its directory or ``cwdPath``)."""

    def setup(self, opt_values):
        path = os.path.abspath(opt_values.get('dodoFile', 'dodo.py'))
        directory = os.path.dirname(path)
        sys.path.insert(0, directory)
        os.chdir(opt_values.get('cwdPath') or directory)
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        self.namespace = dict(vars(module))

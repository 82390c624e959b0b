"""The public ``doit`` API that dodo files import."""

import importlib
import io
import os
import sys

import pytest

import doit
from doit import _vars
from doit.action import CmdAction, PythonAction
from doit.dependency import (DbmDB, Dependency, JSONCodec, JsonDB,
                             MD5Checker, SqliteDB, TimestampChecker,
                             get_file_md5)
from doit.exceptions import (BaseFail, CatchedException, DependencyError,
                             InvalidCommand, InvalidTask, SetupError,
                             TaskError, TaskFailed, UnmetDependency)
from doit.task import DelayedLoader, Task, dict_to_task


@pytest.mark.parametrize('module', [
    'doit', 'doit.tools', 'doit.action', 'doit.exceptions', 'doit.task',
    'doit.dependency', 'doit.reporter', 'doit.cmd_base', 'doit.doit_cmd',
    'doit.api', 'doit._loader', 'doit._runtime', 'doit._vars'])
def test_modules_import(module):
    assert importlib.import_module(module)


def test_version():
    assert doit.__version__ == (0, 37, 0)


# --- variables, workdir, run ---------------------------------------------------

def test_get_var_returns_the_default_when_never_initialised():
    _vars.VARS = None
    assert doit.get_var('x', 'dflt') == 'dflt'
    assert doit.get_var('x') is None


def test_get_var_reads_command_line_variables():
    _vars.set_vars({'opt': 'on'})
    assert doit.get_var('opt', 'off') == 'on'
    assert doit.get_var('other', 'off') == 'off'


def test_get_initial_workdir():
    _vars.set_initial_workdir('/start/here')
    assert doit.get_initial_workdir() == '/start/here'


def test_run_does_nothing_while_the_binary_loads_the_dodo_file():
    _vars.set_loading(True)
    assert doit.run(globals()) is None


def test_run_outside_the_binary_explains_and_exits_3(capsys):
    _vars.set_loading(False)
    with pytest.raises(SystemExit) as info:
        doit.run(globals())
    assert info.value.code == 3
    assert '`doit` command' in capsys.readouterr().err


def test_globals_dep_manager_starts_unset():
    assert doit.Globals.dep_manager is None


# --- decorators ----------------------------------------------------------------

def test_create_after_records_a_delayed_loader():
    @doit.create_after(executed='early', target_regex=r'.*\.o',
                       creates=['b'])
    def task_late():
        pass

    info = task_late.doit_create_after
    assert isinstance(info, DelayedLoader)
    assert (info.creator, info.executed, info.target_regex, info.creates) \
        == (task_late, 'early', r'.*\.o', ['b'])


def test_task_params_records_the_definition():
    definition = [{'name': 'n', 'default': 1}]

    @doit.task_params(definition)
    def task_x(n):
        pass

    assert task_x._task_params is definition


@pytest.mark.parametrize('bad', [{'name': 'n'}, 'n', None, ['n']])
def test_task_params_rejects_invalid_definitions(bad):
    with pytest.raises(ValueError) as info:
        doit.task_params(bad)
    assert str(info.value) == \
        'task_params must be called with a valid parameter definition.'


# --- exceptions ----------------------------------------------------------------

def test_failure_message_includes_the_exception_traceback():
    try:
        raise KeyError('nokey')
    except KeyError as exc:
        fail = TaskError('CmdAction Error creating command string', exc)
    text = fail.get_msg()
    assert text.startswith('CmdAction Error creating command string\n'
                           'Traceback (most recent call last):\n')
    assert text.endswith("KeyError: 'nokey'\n")
    assert str(fail).startswith('TaskError\nCmdAction Error')


def test_failure_kinds():
    assert TaskFailed('x').get_msg() == 'x\n'
    assert TaskFailed('x').report is True
    assert TaskFailed('x', report=False).report is False
    assert CatchedException is BaseFail
    for kind in (UnmetDependency, SetupError, DependencyError):
        assert issubclass(kind, TaskError)
    assert not issubclass(TaskFailed, TaskError)
    assert UnmetDependency('a b').get_name() == 'UnmetDependency'
    inner = TaskFailed('inner', ValueError('v'))
    assert TaskError('outer', inner).traceback == inner.traceback


def test_invalid_command_messages():
    error = InvalidCommand(not_found='xyz')
    assert str(error) == (
        'Invalid parameter: "xyz". Must be a command, task, or a target.\n'
        'Type "doit help" to see available commands.\n'
        'Type "doit list" to see available tasks.\n')
    error.cmd_used = 'run'
    assert str(error) == (
        'command `run` invalid parameter: "xyz". Must be a task, or a '
        'target.\nType "doit list" to see available tasks')
    assert str(InvalidCommand('plain')) == 'plain'


# --- actions ---------------------------------------------------------------------

def test_cmd_action_refuses_stdout_and_stderr():
    for name in ('stdout', 'stderr'):
        with pytest.raises(InvalidTask) as info:
            CmdAction('ls', **{name: None})
        assert str(info.value) == "CmdAction can't take param named '%s'." \
            % name


def test_cmd_action_attributes_and_description():
    action = CmdAction(['ls', '-l'], save_out='listing', cwd='/tmp')
    assert (action.shell, action.encoding, action.decode_error,
            action.buffering, action.save_out, action.pkwargs) == \
        (True, 'utf-8', 'replace', 0, 'listing', {'cwd': '/tmp'})
    assert (action.out, action.err, action.result, action.values) == \
        (None, None, None, {})
    assert str(action) == "Cmd: ['ls', '-l']"


def test_cmd_action_expand_substitutes_task_values():
    task = Task('t', ['cp %(dependencies)s %(targets)s %(opt)s'],
                file_dep=['in'], targets=['out'])
    task.options = {'opt': '-v'}
    assert task.actions[0].expand_action() == 'cp in out -v'


def test_cmd_action_expand_calls_a_callable_with_injection():
    task = Task('t', [CmdAction(lambda targets: 'touch ' + targets[0])],
                targets=['x'])
    assert task.actions[0].expand_action() == 'touch x'


def test_cmd_action_execute_captures_and_reports_exit_status():
    action = CmdAction('echo out; echo err >&2', save_out='saved')
    assert action.execute() is None
    assert (action.out, action.err, action.result) == \
        ('out\n', 'err\n', 'out\nerr\n')
    assert action.values == {'saved': 'out\n'}
    assert CmdAction('exit 3').execute().get_msg() == \
        "Command failed: 'exit 3' returned 3\n"
    error = CmdAction('exit 130').execute()
    assert isinstance(error, TaskError)
    assert error.get_msg() == "Command error: 'exit 130' returned 130\n"


def build():
    return 'built'


def test_python_action_description_and_execute():
    action = PythonAction(build)
    assert str(action) == 'Python: function build'
    assert repr(action).startswith("<PythonAction: '<function build at ")
    live = io.StringIO()
    assert action.execute(out=live) is None
    assert action.result == 'built'


# --- Task ------------------------------------------------------------------------

def test_task_turns_action_items_into_action_objects():
    task = Task('t', ['echo', ['ls'], build, (build, [1])])
    kinds = [(type(a).__name__, getattr(a, 'shell', None))
             for a in task.actions]
    assert kinds == [('CmdAction', True), ('CmdAction', False),
                     ('PythonAction', None), ('PythonAction', None)]
    assert all(action.task is task for action in task.actions)


def test_task_attributes():
    task = Task('g:sub', None, file_dep=['b', 'a', 'b'], targets=['t'],
                task_dep=['x', 'y:*'], setup=['s'], calc_dep=['c', 'c'],
                doc='\n first \n second', subtask_of='g', meta={'k': 1},
                params=[{'name': 'p', 'default': 7}], pos_arg='pos',
                verbosity=2, watch=['w'])
    assert task.actions == []
    assert task.file_dep == ['b', 'a']
    assert (task.task_dep, task.wild_dep) == (['x'], ['y:*'])
    assert task.setup_tasks == ['s'] and task.calc_dep == ['c']
    assert task.doc == 'first'
    assert (task.subtask_of, task.has_subtask, task.meta) == \
        ('g', False, {'k': 1})
    assert (task.options, task.pos_arg_val, task.dep_changed) == \
        (None, None, None)
    assert task.io == {'capture': True}
    assert task.value_savers == [] and task.values == {}
    task.init_options()
    assert task.options == {'p': 7}
    assert repr(task) == '<Task: g:sub>'
    assert task.title() == 'g:sub'
    assert Task('t', [], title=lambda t: 'custom ' + t.name).title() == \
        'custom t'


def test_task_clean_and_teardown_actions():
    task = Task('t', [], clean=['rm x'], teardown=[build])
    assert str(task.clean_actions[0]) == 'Cmd: rm x'
    assert str(task.teardown[0]) == 'Python: function build'
    assert Task('t', [], clean=True).clean_actions == []


def test_dict_to_task():
    task = dict_to_task({'name': 'x', 'actions': ['echo'], 'doc': 'd'})
    assert (task.name, task.doc) == ('x', 'd')
    with pytest.raises(InvalidTask) as info:
        dict_to_task({'name': 'x', 'file_dep': ['a']})
    assert str(info.value) == \
        "Task x must contain 'actions' field. {'name': 'x', 'file_dep': ['a']}"
    with pytest.raises(InvalidTask) as info:
        dict_to_task({'name': 'x', 'actions': [], 'bogus': 1})
    assert str(info.value) == "Task x contains invalid field: 'bogus'"


# --- dependency module ---------------------------------------------------------------

def test_md5_checker(tmp_path):
    path = tmp_path / 'f'
    path.write_text('hello')
    checker = MD5Checker()
    state = checker.get_state(str(path), None)
    assert state == (os.path.getmtime(path), 5, get_file_md5(str(path)))
    assert checker.get_state(str(path), state) is None  # same mtime
    os.utime(path, (1, 1))
    assert checker.check_modified(str(path), os.stat(path), state) is False
    path.write_text('HELLO')
    os.utime(path, (2, 2))
    assert checker.check_modified(str(path), os.stat(path), state) is True


def test_timestamp_checker(tmp_path):
    path = tmp_path / 'f'
    path.write_text('x')
    checker = TimestampChecker()
    state = checker.get_state(str(path), None)
    assert checker.check_modified(str(path), os.stat(path), state) is False
    os.utime(path, (5, 5))
    assert checker.check_modified(str(path), os.stat(path), state) is True


def test_json_codec_round_trip():
    codec = JSONCodec()
    assert codec.decode(codec.encode({'a': [1, 2]})) == {'a': [1, 2]}


def test_dependency_reads_values_through_the_backend():
    class Backend:
        data = {'src': {'_values_:': {'k': 1}, 'result:': 'abc'}}

        def get(self, task, key):
            return self.data.get(task, {}).get(key)

        def in_(self, task):
            return task in self.data

    manager = Dependency(Backend())
    assert manager.get_values('src') == {'k': 1}
    assert manager.get_values('none') == {}
    assert manager.get_value('src', 'k') == 1
    assert manager.get_result('src') == 'abc'
    with pytest.raises(Exception) as info:
        manager.get_value('src', 'nokey')
    assert str(info.value) == \
        "Invalid arg name. Task 'src' has no value for 'nokey'."
    with pytest.raises(Exception) as info:
        manager.get_value('none', 'k')
    assert str(info.value) == "taskid 'none' has no computed value!"


@pytest.mark.parametrize('backend', [DbmDB, JsonDB, SqliteDB])
def test_python_backends_are_names_only(backend):
    with pytest.raises(NotImplementedError, match='C\\+\\+ core'):
        backend('.doit.db')


# --- reporters, loaders, commands ---------------------------------------------------

class FakeAction:
    def __init__(self, out='', err=''):
        self.out, self.err = out, err


class FakeTask:
    def __init__(self, name, actions=(), verbosity=None):
        self.name = name
        self.actions = list(actions)
        self.verbosity = verbosity
        self.executed = True

    def title(self):
        return self.name


def test_console_reporter_lines_and_summary():
    from doit.reporter import ConsoleReporter
    out = io.StringIO()
    reporter = ConsoleReporter(out, {})
    task = FakeTask('t', [FakeAction('out-before\n', 'err-before\n')])
    reporter.execute_task(task)
    reporter.execute_task(FakeTask('group'))
    reporter.execute_task(FakeTask('_private', [FakeAction()]))
    reporter.skip_uptodate(FakeTask('up'))
    reporter.skip_ignore(FakeTask('_ign'))
    reporter.add_failure(task, TaskFailed("Command failed: 'x' returned 3"))
    reporter.add_failure(task, TaskFailed('hidden', report=False))
    reporter.runtime_error("Task 'x': invalid 'actions' type.")
    reporter.complete_run()
    assert out.getvalue() == (
        '.  t\n-- up\n!! _ign\n'
        "TaskFailed - taskid:t\nCommand failed: 'x' returned 3\n\n"
        + '#' * 40 + '\nt <stdout>:\nout-before\n\n'
        + '#' * 40 + "\nExecution aborted.\nTask 'x': invalid 'actions' "
        'type.\n')


def test_error_only_reporter():
    from doit.reporter import ErrorOnlyReporter
    out = io.StringIO()
    reporter = ErrorOnlyReporter(out, {})
    reporter.execute_task(FakeTask('t', [FakeAction()]))
    reporter.add_failure(FakeTask('t'), TaskError('bad'))
    reporter.complete_run()
    assert out.getvalue() == 'taskid:t - TaskError\nbad\n\n'


def test_json_reporter_started_has_microseconds():
    import json
    from doit.reporter import JsonReporter
    out = io.StringIO()
    before = sys.stdout, sys.stderr
    reporter = JsonReporter(out)
    try:
        task = FakeTask('t', [FakeAction('o', 'e')])
        reporter.get_status(task)
        reporter.execute_task(task)
        print('captured')
        reporter.add_success(task)
        reporter.complete_run()
    finally:
        sys.stdout, sys.stderr = before
    data = json.loads(out.getvalue())
    entry = data['tasks'][0]
    assert (entry['name'], entry['result'], entry['out'], entry['err']) == \
        ('t', 'success', 'o', 'e')
    assert len(entry['started'].split('.')[-1]) == 6
    assert data['out'] == 'captured\n'


def test_module_task_loader_builds_tasks():
    from doit.cmd_base import ModuleTaskLoader

    def task_gen():
        """group doc"""
        yield {'name': 'a', 'actions': ['echo a']}

    loader = ModuleTaskLoader({'task_gen': task_gen,
                               'DOIT_CONFIG': {'verbosity': 2}})
    loader.setup({})
    assert loader.load_doit_config() == {'verbosity': 2}
    tasks = loader.load_tasks(None, [])
    assert [(t.name, t.has_subtask, t.subtask_of, t.doc) for t in tasks] == \
        [('gen', True, None, 'group doc'), ('gen:a', False, 'gen', '')]
    assert tasks[0].task_dep == ['gen:a']


def test_doit_main_and_run_tasks_run_the_doit_binary(monkeypatch, tmp_path):
    import doit.doit_cmd as doit_cmd
    from doit.api import run_tasks
    from doit.cmd_base import ModuleTaskLoader
    calls = []

    def fake_call(argv, env):
        calls.append((argv, env.get('DOIT_FILE')))
        return 7

    monkeypatch.setattr(doit_cmd.subprocess, 'call', fake_call)
    monkeypatch.setattr(doit_cmd, '_doit_binary', lambda: '/bin/doit')
    dodo = str(tmp_path / 'dodo.py')
    loader = ModuleTaskLoader({'__file__': dodo})
    assert doit_cmd.DoitMain(loader).run(['list', '--all']) == 7
    assert doit_cmd.DoitMain().run(['info', 'x']) == 7
    assert run_tasks(loader, {'build': {'mode': 'fast', 'flag': True, 'off': False,
                                        'item': ['a', 'b'], 'pos_arg': ['p1']},
                              'other': {}}) == 7
    assert calls == [
        (['/bin/doit', 'list', '--all'], dodo),
        (['/bin/doit', 'info', 'x'], None),
        (['/bin/doit', 'run', 'build', '--mode=fast', '--flag', '--item=a', '--item=b',
          'p1', 'other'], dodo),
    ]

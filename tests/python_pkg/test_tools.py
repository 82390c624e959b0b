"""doit.tools and doit.task helpers: uptodate checks and what they store."""

import datetime
import hashlib
import json
import os
import time

import pytest

from doit import _runtime
from doit.action import CmdAction
from doit.task import Task, clean_targets, result_dep
from doit.tools import (Interactive, InteractiveAction, LongRunning,
                        check_timestamp_unchanged, config_changed,
                        create_folder, run_once, timeout, title_with_actions)


def saved(task):
    """What the task's value savers would store after a success."""
    return _runtime.save_extra_values(task)


def check(item, task, values):
    return _runtime.call_uptodate(item, task, values)


# --- run_once ------------------------------------------------------------------

def test_run_once_runs_first_then_is_up_to_date():
    task = Task('t', [], uptodate=[run_once])
    assert check(run_once, task, {}) is False
    assert saved(task) == {'run-once': True}
    assert check(run_once, Task('t', []), {'run-once': True}) is True


# --- config_changed ----------------------------------------------------------

def test_config_changed_dict_digest_is_md5_of_sorted_json():
    config = {'b': 1, 'a': [1, 2]}
    expected = hashlib.md5(b'{"a": [1, 2], "b": 1}').hexdigest()
    item = config_changed(config)
    task = Task('t', [], uptodate=[item])  # configure_task adds the saver
    assert check(item, task, {}) is False
    assert saved(task) == {'_config_changed': expected}
    assert check(item, task, {'_config_changed': expected}) is True
    assert check(item, task, {'_config_changed': 'other'}) is False


def test_config_changed_string_is_stored_as_is():
    item = config_changed('v1')
    task = Task('t', [], uptodate=[item])
    check(item, task, {})
    assert saved(task) == {'_config_changed': 'v1'}


def test_config_changed_uses_the_given_encoder():
    class Encoder(json.JSONEncoder):
        def default(self, obj):
            return sorted(obj)

    item = config_changed({'s': {2, 1}}, encoder=Encoder)
    check(item, Task('t', []), {})
    assert item.config_digest == hashlib.md5(b'{"s": [1, 2]}').hexdigest()


def test_config_changed_rejects_other_types():
    with pytest.raises(Exception, match='must be string or dict'):
        check(config_changed(3), Task('t', []), {})


def test_config_changed_repr_shows_the_config():
    assert repr(config_changed({'k': 1})) == "config_changed({'k': 1})"


# --- timeout -------------------------------------------------------------------

def test_timeout_stores_the_success_time_and_expires():
    item = timeout(datetime.timedelta(minutes=1))
    assert item.limit_sec == 60
    task = Task('t', [])
    assert check(item, task, {}) is False
    assert abs(saved(task)['success-time'] - time.time()) < 5
    assert check(item, task, {'success-time': time.time() - 10}) is True
    assert check(item, task, {'success-time': time.time() - 100}) is False


def test_timeout_rejects_floats():
    with pytest.raises(Exception) as info:
        timeout(1.5)
    assert str(info.value) == \
        'timeout should be datetime.timedelta or int got 1.5 '


# --- check_timestamp_unchanged -------------------------------------------------

def test_check_timestamp_unchanged_saves_and_compares(tmp_path):
    path = tmp_path / 'stamp'
    path.write_text('x')
    os.utime(path, (1000, 2000))
    item = check_timestamp_unchanged(str(path))
    task = Task('t', [])
    assert check(item, task, {}) is False
    key = '%s.st_mtime' % path
    assert saved(task) == {key: 2000.0}
    assert check(item, task, {key: 2000.0}) is True
    os.utime(path, (1000, 3000))
    assert check(item, task, {key: 2000.0}) is False


def test_check_timestamp_unchanged_other_fields_and_errors(tmp_path):
    item = check_timestamp_unchanged('f', time='access')
    assert item._key == 'f.st_atime'
    with pytest.raises(ValueError, match="got: 'size'"):
        check_timestamp_unchanged('f', time='size')
    missing = check_timestamp_unchanged(str(tmp_path / 'missing'))
    with pytest.raises(OSError):
        check(missing, Task('t', []), {str(tmp_path / 'missing')
                                       + '.st_mtime': 1.0})


# --- result_dep ------------------------------------------------------------------

class FakeState:
    """Stands for the state DB: raw values by (task, key)."""

    def __init__(self, **results):
        self.results = results

    def _get(self, task_name, key):
        assert key == 'result:'
        return self.results.get(task_name)


def test_result_dep_adds_a_task_dep_and_tracks_the_result():
    item = result_dep('version')
    task = Task('t', [], uptodate=[item])
    assert task.task_dep == ['version']
    tasks = {'version': Task('version', ['echo 1'])}
    state = FakeState(version='md5-1')

    assert _runtime.call_uptodate(item, task, {}, state, tasks) is False
    assert saved(task) == {'_result:version': 'md5-1'}
    assert _runtime.call_uptodate(item, task, {'_result:version': 'md5-1'},
                                  state, tasks) is True
    state.results['version'] = 'md5-2'
    assert _runtime.call_uptodate(item, task, {'_result:version': 'md5-1'},
                                  state, tasks) is False


def test_result_dep_value_is_read_after_the_run():
    item = result_dep('src')
    task = Task('t', [], uptodate=[item])
    state = FakeState(src='old')
    _runtime.call_uptodate(item, task, {}, state, {'src': Task('src', [])})
    state.results['src'] = 'new'   # the source ran after the check
    assert saved(task) == {'_result:src': 'new'}


def test_result_dep_on_a_group_uses_all_subtask_results():
    item = result_dep('g')
    group = Task('g', None, task_dep=['g:a', 'g:b', 'other'],
                 has_subtask=True)
    state = FakeState(**{'g:a': 'ra', 'g:b': 'rb'})
    task = Task('t', [])
    _runtime.call_uptodate(item, task, {}, state, {'g': group})
    assert saved(task) == {'_result:g': {'g:a': 'ra', 'g:b': 'rb'}}


def test_getargs_sources_become_setup_tasks_with_result_checks():
    task = Task('t', [], getargs={'x': ('src', 'key'), 'y': ('src', 'k2'),
                                  'z': ('pre', None)}, setup=['pre'])
    assert task.setup_tasks == ['pre', 'src']
    checks = [item for item, _, _ in task.uptodate]
    assert [repr(item) for item in checks] == ['result_dep("src")']


def test_getargs_with_bad_format_is_rejected():
    with pytest.raises(Exception) as info:
        Task('x', [], getargs={'a': 'x'})
    assert str(info.value) == (
        "Taskid 'x' - Invalid format for getargs of 'a'.Should be tuple with "
        "2 elements ('<taskid>', '<key-name>') got 'x'")


# --- titles, folders, cleaning ---------------------------------------------------

def compile_c():
    pass


def test_title_with_actions():
    task = Task('t', ['cc -c a.c', (compile_c, [1])])
    assert title_with_actions(task) == \
        't => Cmd: cc -c a.c\n\tPython: function compile_c'
    group = Task('g', None, task_dep=['g:a', 'g:b'])
    assert title_with_actions(group) == 'g => Group: g:a, g:b'


def test_create_folder_makes_parents_and_tolerates_existing(tmp_path):
    target = tmp_path / 'a' / 'b'
    create_folder(str(target))
    create_folder(str(target))
    assert target.is_dir()


def test_clean_targets_goes_in_reverse_lexical_order(tmp_path, capsys,
                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.mkdir('dir')
    open('dir/file', 'w').close()
    os.mkdir('empty')
    open('a.o', 'w').close()
    task = Task('clean_me', [], targets=['a.o', 'dir', 'dir/file', 'empty',
                                         'missing'])
    clean_targets(task, dryrun=False)
    assert capsys.readouterr().out == (
        "clean_me - removing dir 'empty'\n"
        "clean_me - removing file 'dir/file'\n"
        "clean_me - removing dir 'dir'\n"
        "clean_me - removing file 'a.o'\n")
    assert os.listdir('.') == []


def test_clean_targets_dry_run_removes_nothing(tmp_path, capsys,
                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.mkdir('dir')
    open('dir/file', 'w').close()
    clean_targets(Task('t', [], targets=['dir', 'dir/file']), dryrun=True)
    assert capsys.readouterr().out == (
        "t - removing file 'dir/file'\n"
        "t - cannot remove (it is not empty) 'dir'\n")
    assert os.path.exists('dir/file')


# --- action classes ----------------------------------------------------------------

def test_long_running_and_interactive_are_command_actions():
    assert issubclass(LongRunning, CmdAction)
    assert issubclass(Interactive, CmdAction)
    assert InteractiveAction is LongRunning


def test_interactive_fails_on_exit_status_long_running_does_not():
    fail = Interactive('exit 4').execute()
    assert fail.get_msg() == \
        "Interactive command failed: 'exit 4' returned 4\n"
    assert LongRunning('exit 4').execute() is None

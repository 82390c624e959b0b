"""doit._loader: discovery, ordering, naming and errors of task creation."""

import sys

import pytest

from doit import _loader
from doit.exceptions import InvalidDodoFile, InvalidTask
from reference import requires_pydoit, run_pydoit


def names(tasks):
    return [task['name'] for task in tasks]


def load(namespace, **kwargs):
    return _loader.load(namespace, 'run', **kwargs)


# --- discovery and order ---------------------------------------------------

def test_creators_run_in_source_line_order_not_alphabetical(dodo):
    namespace, _ = dodo('''
        def task_zeta():
            return {'actions': []}

        def task_alpha():
            return {'actions': []}

        def task_mid():
            return {'actions': []}
    ''')
    assert names(load(namespace)[1]) == ['zeta', 'alpha', 'mid']


def test_creators_on_the_same_line_are_ordered_by_name(dodo):
    namespace, _ = dodo('''
        task_b = lambda: {'actions': []}; task_a = lambda: {'actions': []}
    ''')
    assert names(load(namespace)[1]) == ['a', 'b']


def test_imported_creator_sorts_by_line_in_its_own_module(dodo, tmp_path):
    (tmp_path / 'more_tasks_mod.py').write_text(
        '\n' * 9 + 'def task_imported():\n    return {"actions": []}\n')
    sys.path.insert(0, str(tmp_path))
    try:
        namespace, _ = dodo('''
            def task_first():
                return {'actions': []}
            from more_tasks_mod import task_imported





            def task_last():
                return {'actions': []}
        ''')
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop('more_tasks_mod', None)
    # first: line 2, imported: line 10 of its module, last: line 10 here
    # -> tie on line 10 broken by name ("task_imported" < "task_last")
    assert names(load(namespace)[1]) == ['first', 'imported', 'last']


def test_decorated_creator_sorts_by_the_wrapped_function_line(dodo):
    namespace, _ = dodo('''
        import functools

        def deco(func):
            @functools.wraps(func)
            def wrapper():
                return func()
            return wrapper

        def task_plain():
            return {'actions': []}

        @deco
        def task_decorated():
            return {'actions': []}
    ''')
    # the wrapper's own code is above task_plain, the wrapped one below
    assert names(load(namespace)[1]) == ['plain', 'decorated']


def test_non_creators_are_ignored(dodo):
    namespace, _ = dodo('''
        task_number = 3
        class task_klass:
            pass
        def helper():
            return {'actions': []}
        def task_real():
            return {'actions': []}
    ''')
    assert names(load(namespace)[1]) == ['real']


def test_task_params_decorator_itself_is_not_a_creator(dodo):
    namespace, _ = dodo('''
        from doit import task_params
        def task_x():
            return {'actions': []}
    ''')
    assert names(load(namespace)[1]) == ['x']


@requires_pydoit
def test_definition_order_matches_pydoit_run_order(dodo):
    source = '''
        def task_zz():
            return {'actions': ['true']}

        def task_gen():
            yield {'basename': 'free', 'actions': ['true']}
            yield {'name': 'b', 'actions': ['true']}
            yield {'name': 'a', 'actions': ['true']}

        def task_aa():
            return {'actions': ['true']}

        class Obj:
            def create_doit_tasks(self):
                return {'actions': ['true']}
        obj = Obj()
        del Obj
    '''
    namespace, directory = dodo(source)
    ours = [t['name'] for t in load(namespace)[1] if t['actions']]
    result = run_pydoit(directory)
    assert result.returncode == 0, result.stderr
    theirs = [line[3:] for line in result.stdout.splitlines()]
    assert ours == theirs == ['zz', 'free', 'gen:b', 'gen:a', 'aa', 'obj']


# --- what creators return --------------------------------------------------

def test_returned_dict_is_one_task_named_after_the_creator(dodo):
    namespace, _ = dodo('''
        def task_build():
            """Build it.

            Long description."""
            return {'actions': ['make'], 'file_dep': ['a.c']}
    ''')
    config, tasks = load(namespace)
    assert config == {}
    assert tasks == [{'actions': ['make'], 'file_dep': ['a.c'],
                      'name': 'build', 'doc': 'Build it.',
                      '_subtask_of': None, '_is_group': False,
                      '_creator': 'build'}]


def test_basename_renames_and_is_consumed(dodo):
    namespace, _ = dodo('''
        def task_x():
            return {'basename': 'other', 'actions': [], 'doc': '\\n  own  \\n'}
    ''')
    [task] = load(namespace)[1]
    assert task['name'] == 'other'
    assert task['doc'] == 'own'
    assert 'basename' not in task
    assert task['_creator'] == 'x'


def test_doc_of_wrong_type_is_left_for_the_cpp_validation(dodo):
    namespace, _ = dodo('''
        def task_x():
            return {'actions': [], 'doc': 3}
    ''')
    assert load(namespace)[1][0]['doc'] == 3


def test_creator_dict_is_copied_not_modified(dodo):
    namespace, _ = dodo('''
        SPEC = {'basename': 'b', 'actions': []}
        def task_x():
            return SPEC
    ''')
    load(namespace)
    assert namespace['SPEC'] == {'basename': 'b', 'actions': []}


def test_none_creates_no_task(dodo):
    namespace, _ = dodo('''
        def task_nothing():
            return None
        def task_some():
            return {'actions': []}
    ''')
    assert names(load(namespace)[1]) == ['some']


def test_subtasks_come_after_their_group_in_yield_order(dodo):
    namespace, _ = dodo('''
        def task_compile():
            """Compile all."""
            for name in ['b', 'a', 3]:
                yield {'name': name, 'actions': ['cc %s' % name]}
    ''')
    group, *subs = load(namespace)[1]
    assert group == {'name': 'compile', 'actions': None, 'doc': 'Compile all.',
                     'task_dep': ['compile:b', 'compile:a', 'compile:3'],
                     '_subtask_of': None, '_is_group': True,
                     '_creator': 'compile'}
    assert names(subs) == ['compile:b', 'compile:a', 'compile:3']
    assert all(sub['_subtask_of'] == 'compile' for sub in subs)
    assert all(sub['doc'] == '' for sub in subs)  # no creator doc for subs


def test_group_sits_at_the_position_of_its_first_subtask(dodo):
    namespace, _ = dodo('''
        def task_mix():
            yield {'basename': 'alone', 'actions': []}
            yield {'name': 'one', 'actions': []}
            yield {'basename': 'grp', 'name': 'x', 'actions': []}
            yield {'name': 'two', 'actions': []}
    ''')
    tasks = load(namespace)[1]
    assert names(tasks) == ['alone', 'mix', 'mix:one', 'grp', 'grp:x',
                            'mix:two']
    assert tasks[1]['task_dep'] == ['mix:one', 'mix:two']
    assert tasks[3]['task_dep'] == ['grp:x']


def test_name_none_defines_the_group_itself(dodo):
    namespace, _ = dodo('''
        def task_docs():
            """creator doc"""
            yield {'name': None, 'doc': 'group doc', 'watch': ['src'],
                   'actions': ['ignored']}
    ''')
    [group] = load(namespace)[1]
    assert group['name'] == 'docs'
    assert group['actions'] is None
    assert group['doc'] == 'group doc'
    assert group['watch'] == ['src']
    assert group['_is_group'] is True
    assert group['task_dep'] == []


def test_group_defined_after_subtasks_keeps_them(dodo):
    # pydoit 0.31.1/0.37 lose the earlier sub-tasks here; we keep them
    namespace, _ = dodo('''
        def task_g():
            yield {'name': 's1', 'actions': []}
            yield {'name': None, 'task_dep': ['other']}
            yield {'name': 's2', 'actions': []}
    ''')
    tasks = load(namespace)[1]
    assert names(tasks) == ['g', 'g:s1', 'g:s2']
    assert tasks[0]['task_dep'] == ['other', 'g:s1', 'g:s2']


def test_nested_generators_are_flattened_with_their_docstring(dodo):
    namespace, _ = dodo('''
        def helper():
            """helper doc"""
            yield {'basename': 'h1', 'actions': []}
            yield {'basename': 'h2', 'actions': [], 'doc': 'own'}

        def task_outer():
            """outer doc"""
            yield {'basename': 'o1', 'actions': []}
            yield helper()
    ''')
    tasks = load(namespace)[1]
    assert [(t['name'], t['doc']) for t in tasks] == [
        ('o1', 'outer doc'), ('h1', 'helper doc'), ('h2', 'own')]


def test_empty_generator_gives_an_empty_group(dodo):
    namespace, _ = dodo('''
        def task_empty():
            """Nothing yet."""
            return
            yield
    ''')
    assert load(namespace)[1] == [
        {'name': 'empty', 'actions': None, 'doc': 'Nothing yet.',
         'task_dep': [], '_subtask_of': None, '_is_group': True,
         '_creator': 'empty'}]


def test_task_objects_become_task_dicts(dodo):
    namespace, _ = dodo('''
        from doit.task import Task
        def task_obj():
            return Task('obj', ['echo'], file_dep=['a', 'a', 'b'],
                        task_dep=['x', 'y*'], doc='doc\\nmore', clean=True)
        def task_gen():
            yield Task('gen:one', [], subtask_of='gen')
    ''')
    obj, sub = load(namespace)[1]
    assert obj['name'] == 'obj'
    assert obj['actions'] == ['echo']
    assert obj['file_dep'] == ['a', 'b']
    assert obj['task_dep'] == ['x', 'y*']
    assert obj['clean'] is True
    assert obj['doc'] == 'doc'
    assert obj['_creator'] == 'obj'
    assert sub['name'] == 'gen:one' and sub['_subtask_of'] == 'gen'


# --- create_doit_tasks -----------------------------------------------------

def test_create_doit_tasks_objects_are_named_after_the_variable(dodo):
    namespace, _ = dodo('''
        class Maker:
            def create_doit_tasks(self):
                yield {'name': 'a', 'actions': []}
        maker = Maker()
        del Maker

        def sample():
            return {'actions': []}
        sample.create_doit_tasks = sample
    ''')
    assert names(load(namespace)[1]) == ['maker', 'maker:a', 'sample']


def test_create_doit_tasks_basename_attribute_names_the_task(dodo):
    namespace, _ = dodo('''
        def make():
            return {'actions': []}
        make.basename = 'nice'
        make.create_doit_tasks = make
    ''')
    assert names(load(namespace)[1]) == ['nice']


def test_class_with_create_doit_tasks_is_skipped_but_its_instance_creates(dodo):
    # pydoit 0.35+ calls the method on the class too and crashes; we only
    # call it on instances (the class is usually right beside its instance).
    namespace, _ = dodo('''
        class Maker:
            def create_doit_tasks(self):
                return {'actions': []}
        made = Maker()
    ''')
    assert names(load(namespace)[1]) == ['made']


# --- task_params and create_after -------------------------------------------

PARAMS_DODO = '''
    from doit import task_params

    @task_params([{'name': 'howmany', 'default': 2, 'type': int}])
    def task_subtasks(howmany):
        for i in range(howmany):
            yield {'name': i, 'actions': []}
'''


def test_task_params_creator_gets_defaults(dodo):
    namespace, _ = dodo(PARAMS_DODO)
    tasks = load(namespace)[1]
    assert names(tasks) == ['subtasks', 'subtasks:0', 'subtasks:1']
    assert tasks[0]['params'] == [{'name': 'howmany', 'default': 2,
                                   'type': int}]
    assert 'params' not in tasks[1]


def test_task_params_creator_gets_given_values(dodo):
    namespace, _ = dodo(PARAMS_DODO)
    tasks = load(namespace, creator_args={'subtasks': {'howmany': 3}})[1]
    assert len(tasks) == 4
    assert _loader.creator_params(namespace) == {
        'subtasks': [{'name': 'howmany', 'default': 2, 'type': int}]}


def test_task_params_and_params_key_conflict(dodo):
    namespace, _ = dodo('''
        from doit import task_params
        @task_params([{'name': 'p', 'default': 1}])
        def task_x(p):
            return {'actions': [], 'params': [{'name': 'q', 'default': 0}]}
    ''')
    with pytest.raises(InvalidTask) as info:
        load(namespace)
    assert str(info.value) == ("Task 'x'. `params` attribute can not be used "
                               "in conjuction with `@task_params`")


DELAYED_DODO = '''
    from doit import create_after
    @create_after(executed='early', target_regex='.*\\\\.out')
    def task_late():
        """made late"""
        yield {'name': 'a', 'actions': []}
'''


def test_delayed_creator_is_a_placeholder_under_run(dodo):
    namespace, _ = dodo(DELAYED_DODO)
    tasks = _loader.load(namespace, 'run')[1]
    assert names(tasks) == ['late']
    (late,) = tasks
    assert late['_placeholder'] is True
    assert (late['actions'], late['task_dep'], late['doc']) == (None, ['early'], 'made late')
    assert late['_delayed'] == {'creator': 'late', 'executed': 'early',
                                'target_regex': '.*\\.out', 'creates': []}


def test_delayed_creator_runs_when_asked(dodo):
    namespace, _ = dodo(DELAYED_DODO)
    _loader.load(namespace, 'run')
    assert names(_loader.create_delayed('late', 'late')) == ['late', 'late:a']


def test_delayed_creator_runs_at_once_under_list(dodo):
    namespace, _ = dodo(DELAYED_DODO)
    tasks = _loader.load(namespace, 'list')[1]
    assert names(tasks) == ['late', 'late:a']
    for task in tasks:
        assert task['_delayed'] == {'executed': 'early',
                                    'target_regex': '.*\\.out',
                                    'creates': []}


def test_delayed_creator_with_creates_stays_a_placeholder_everywhere(dodo):
    namespace, _ = dodo('''
        from doit import create_after
        @create_after(executed='early', creates=['b1', 'b2'])
        def task_maker():
            yield {'basename': 'b1', 'actions': []}
    ''')
    assert names(_loader.load(namespace, 'list')[1]) == ['b1', 'b2']
    assert all(t['_placeholder'] for t in _loader.load(namespace, 'list')[1])


# --- DOIT_CONFIG -----------------------------------------------------------

def test_doit_config_is_returned(dodo):
    namespace, _ = dodo('''
        DOIT_CONFIG = {'default_tasks': ['a'], 'verbosity': 2}
    ''')
    assert load(namespace) == ({'default_tasks': ['a'], 'verbosity': 2}, [])


# --- errors, compared with pydoit where 0.37 prints the same -----------------

ERROR_CASES = {
    'name_in_returned_dict': (
        "def task_x():\n    return {'name': 'n', 'actions': []}\n",
        InvalidTask, "Task 'x'. Only subtasks use field name."),
    'duplicated_subtask': (
        "def task_x():\n"
        "    yield {'name': 'a', 'actions': []}\n"
        "    yield {'name': 'a', 'actions': []}\n",
        InvalidTask, "Task generation 'x' has duplicated definition of 'x:a'"),
    'duplicated_basename': (
        "def task_x():\n"
        "    yield {'basename': 'b', 'actions': []}\n"
        "    yield {'basename': 'b', 'actions': []}\n",
        InvalidTask, "Task generation 'x' has duplicated definition of 'b'"),
    'subtask_of_a_plain_task': (
        "def task_x():\n"
        "    yield {'basename': 'b', 'actions': []}\n"
        "    yield {'basename': 'b', 'name': 's', 'actions': []}\n",
        InvalidTask, "Task generation 'x' has duplicated definition of 'b'"),
    'neither_name_nor_basename': (
        "def task_x():\n    yield {'actions': [], 'verbosity': 2}\n",
        InvalidTask, "Task 'x' must contain field 'name' or 'basename'. "
                     "{'actions': [], 'verbosity': 2}"),
    'yield_non_dict': (
        "def task_x():\n    yield 'echo'\n",
        InvalidTask, "Task 'x' must yield dictionaries"),
    'return_other': (
        "def task_x():\n    return 'echo'\n",
        InvalidTask, "Task 'x'. Must return a dictionary or generator. "
                     "Got <class 'str'>"),
    'equal_sign_in_basename': (
        "def task_x():\n    return {'basename': 'a=b', 'actions': []}\n",
        InvalidTask, "Task 'a=b': name must not use the char '=' "
                     "(equal sign)."),
    'equal_sign_in_subtask': (
        "def task_x():\n    yield {'name': 'k=v', 'actions': []}\n",
        InvalidTask, "Task 'x:k=v': name must not use the char '=' "
                     "(equal sign)."),
    'missing_actions_returned': (
        "def task_x():\n    return {'file_dep': ['a']}\n",
        InvalidTask, "Task x must contain 'actions' field. "
                     "{'file_dep': ['a'], 'name': 'x', 'doc': None}"),
    'missing_actions_with_docstring': (
        "def task_x():\n    '''Doc\n    two'''\n"
        "    return {'targets': ['t']}\n",
        InvalidTask, "Task x must contain 'actions' field. "
                     "{'targets': ['t'], 'name': 'x', 'doc': 'Doc\\n    two'}"),
    'missing_actions_subtask': (
        "def task_x():\n    yield {'verbosity': 2, 'name': 's'}\n",
        InvalidTask, "Task x:s must contain 'actions' field. "
                     "{'verbosity': 2, 'name': 'x:s'}"),
    'doit_config_not_dict': (
        "DOIT_CONFIG = 3\n",
        InvalidDodoFile, "DOIT_CONFIG  must be a dict. got:'3'<class 'int'>"),
    'command_name': (
        "def task_list():\n    return {'actions': []}\n",
        InvalidDodoFile, "Task can't be called 'list' because this is a "
                         "command name. Please choose another name."),
}


@pytest.mark.parametrize('case', sorted(ERROR_CASES))
def test_error_messages(dodo, case):
    source, kind, message = ERROR_CASES[case]
    namespace, _ = dodo(source)
    with pytest.raises(kind) as info:
        load(namespace)
    assert str(info.value) == message


@requires_pydoit
@pytest.mark.parametrize('case', sorted(ERROR_CASES))
def test_error_messages_match_pydoit(dodo, case):
    source, _, message = ERROR_CASES[case]
    _, directory = dodo(source)
    result = run_pydoit(directory, 'list')
    assert result.returncode == 3
    assert result.stderr == 'ERROR: %s\n' % message


# --- the _on_task hook (doit-cpp converts sub-tasks as they come) ----------

def test_on_task_takes_each_final_sub_task_as_it_is_yielded(dodo, monkeypatch):
    namespace, _ = dodo('''
        from doit import create_after, task_params
        seen = []

        @task_params([{'name': 'n', 'default': 2}])
        def task_gen(n):
            for i in range(n):
                yield {'name': str(i), 'actions': ['echo %d' % i]}
                seen.append(i)
            yield {'basename': 'solo', 'actions': []}

        @create_after(executed='gen')
        def task_late():
            yield {'name': 'x', 'actions': []}
    ''')
    taken = []

    def on_task(task):
        # the creator has not gone on yet; the dict is complete
        taken.append((task['name'], len(namespace['seen']), dict(task)))
        return len(taken) - 1

    monkeypatch.setattr(_loader, '_on_task', on_task)
    tasks = _loader.load(namespace, 'list')[1]
    # groups stay dicts (their task_dep is known at the end), the rest are
    # the hook's tokens, in definition order
    assert [t if isinstance(t, int) else t['name'] for t in tasks] == \
        ['gen', 0, 1, 2, 'late', 3]
    assert [(name, n) for name, n, _ in taken] == \
        [('gen:0', 0), ('gen:1', 1), ('solo', 2), ('late:x', 2)]
    assert tasks[0]['task_dep'] == ['gen:0', 'gen:1']
    assert tasks[0]['params'] == [{'name': 'n', 'default': 2}]
    # @task_params adds params to the tasks that are not sub-tasks
    assert 'params' not in taken[0][2] and taken[2][2]['params']
    # @create_after marks every task of its creator
    assert taken[3][2]['_delayed']['executed'] == 'gen'
    assert '_delayed' in tasks[4]


def test_a_name_taken_by_a_converted_task_cannot_become_a_group(dodo, monkeypatch):
    namespace, _ = dodo('''
        def task_gen():
            yield {'basename': 'a', 'actions': []}
            yield {'basename': 'a', 'name': 'b', 'actions': []}
    ''')
    monkeypatch.setattr(_loader, '_on_task', lambda task: 0)
    with pytest.raises(InvalidTask) as info:
        load(namespace)
    assert str(info.value) == \
        "Task generation 'gen' has duplicated definition of 'a'"

"""doit._runtime: python-actions, command expansion, uptodate calls."""

import io
import pathlib
import sys

import pytest

from doit import _runtime
from doit._runtime import ActionDefinitionError, run_python_action
from doit.action import BaseAction, CmdAction, PythonAction
from doit.dependency import UptodateCalculator
from doit.exceptions import TaskError, TaskFailed
from doit.task import Task
from doit.tools import PythonInteractiveAction


RUNTIME_FILE = _runtime.__file__


def make_task(**kwargs):
    kwargs.setdefault('file_dep', ['b.c', 'a.c'])
    kwargs.setdefault('targets', ['out', 'out2'])
    return Task('t', [], **kwargs)


def run(item, task=None, options=None, **kwargs):
    return run_python_action(item, task if task is not None else make_task(),
                             options if options is not None else {},
                             None, None, **kwargs)


# --- keyword injection -------------------------------------------------------

def test_reserved_names_are_injected_as_list_copies():
    task = make_task()
    seen = {}

    def action(targets, dependencies, changed, task):
        seen.update(targets=targets, dependencies=dependencies,
                    changed=changed, task=task)
        targets.append('mutated')

    outcome = run(action, task, {'changed': ['a.c']})
    assert outcome['status'] == 'success'
    assert seen['targets'][:2] == ['out', 'out2']
    assert seen['dependencies'] == ['b.c', 'a.c']  # declaration order
    assert seen['changed'] == ['a.c']
    assert seen['task'] is task
    assert task.targets == ['out', 'out2']  # the copy was mutated


def test_changed_is_none_when_the_check_did_not_run():
    seen = []
    run(lambda changed: seen.append(changed), options={})
    assert seen == [None]


def test_reserved_name_bound_by_a_positional_arg_is_not_replaced():
    seen = []
    run((lambda targets, task: seen.append(targets), ['given']))
    assert seen == ['given']


def test_reserved_name_with_default_is_a_definition_error():
    def publish(targets=None):
        pass

    with pytest.raises(ActionDefinitionError) as info:
        run(publish)
    assert str(info.value) == (
        "Task t, action publish():The argument 'targets' is not allowed to "
        "have a default value (reserved by doit)")


def test_options_are_injected_by_name_over_tuple_kwargs():
    seen = []

    def action(mode, level=0):
        seen.append((mode, level))

    run((action, [], {'mode': 'from-tuple', 'level': 1}),
        options={'mode': 'from-option', 'unused': 5})
    assert seen == [('from-option', 1)]


def test_option_bound_positionally_is_not_replaced():
    seen = []
    run((lambda mode: seen.append(mode), ['positional']),
        options={'mode': 'option'})
    assert seen == ['positional']


def test_var_keyword_gets_options_but_not_reserved_names():
    seen = {}

    def action(**kwargs):
        seen.update(kwargs)

    run((action, [], {'x': 'tuple'}),
        options={'x': 'option', 'y': 2, 'changed': ['a.c']})
    assert seen == {'x': 'tuple', 'y': 2}


def test_pos_arg_value_comes_from_the_task():
    task = make_task(pos_arg='files')
    task.pos_arg_val = ['f1', 'f2']
    seen = []
    run(lambda files: seen.append(files), task, {})
    assert seen == [['f1', 'f2']]


def test_options_are_also_set_on_the_task():
    task = make_task()
    run(lambda: None, task, {'p': 1, 'changed': ['a.c']})
    assert task.options == {'p': 1}
    assert task.dep_changed == ['a.c']


def test_without_task_nothing_reserved_is_injected():
    outcome = run_python_action(lambda targets: None, None, {}, None, None)
    assert outcome['status'] == 'error'
    assert "missing 1 required positional argument: 'targets'" \
        in outcome['message']


def test_extra_kwargs_reach_the_callable():
    seen = []
    run(lambda dryrun: seen.append(dryrun), extra_kwargs={'dryrun': True})
    assert seen == [True]


def test_extra_kwargs_are_for_one_call_only():
    seen = []
    action = _runtime.prepare_action(lambda **kw: seen.append(kw), 't')
    run(action, extra_kwargs={'dryrun': True})
    run(action)
    assert seen == [{'dryrun': True}, {}]
    assert action.kwargs == {}


def _positional(a, b, /, c=0, *rest, d, task, **kw):
    pass


def _fixed(a, task, c=0):
    pass


class _Holder:
    def method(self, a, *rest):
        pass


@pytest.mark.parametrize('func', [_positional, _fixed, lambda: None,
                                  _Holder().method])
@pytest.mark.parametrize('count', range(6))
def test_positional_args_bind_the_names_signature_binds(func, count):
    # Parameters bound by the action's args are left alone: the same
    # names as inspect.Signature.bind_partial (none when there are too
    # many arguments: the call reports them).
    import inspect
    from doit.action import _shape
    args = tuple(range(count))
    try:
        want = tuple(inspect.signature(func).bind_partial(*args).arguments)
    except TypeError:
        want = ()
    assert _shape(func).bound_by(args) == want


def _everything(a, b=1, /, c=2, *rest, task, targets=(), **kw):
    pass


def _reserved_with_defaults(task=None, *, changed=None, dependencies):
    pass


def _reserved_positional_only(task, targets, /, changed):
    pass


def _closure_maker():
    local = 1

    def inner(x, *, y=local):
        return x + y
    return inner


def _decorated(func):
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


@_decorated
def _wrapped_targets(targets, size=3):
    pass


class _Methods:
    def plain(self, targets, size=3, *, changed):
        pass

    def positional_only(self, task, /, dependencies=(), *rest):
        pass

    def only_rest(*args, **kwargs):
        pass

    def defaults_from_self(self=None, task=None):
        pass


_PLAIN = [_everything, _reserved_with_defaults, _reserved_positional_only,
          _closure_maker(), _positional, _fixed, lambda: None,
          lambda *a, **k: None, lambda task, /: None,
          _Holder().method, _Methods().plain, _Methods().positional_only,
          _Methods().only_rest, _Methods().defaults_from_self]


@pytest.mark.parametrize('func', _PLAIN)
def test_a_plain_functions_shape_is_read_as_inspect_reads_it(func):
    from doit.action import _Shape, _plain
    assert _plain(func) is not None
    fast = _Shape(func)
    slow = _Shape.__new__(_Shape)
    slow._from_signature(func)
    for field in _Shape.__slots__:
        assert getattr(fast, field) == getattr(slow, field), field


@pytest.mark.parametrize('func', _PLAIN + [
    _wrapped_targets, _Holder, print, len, _Methods.plain,
    __import__('functools').partial(_fixed, 1)])
def test_parameter_names_are_inspects(func):
    import inspect
    from doit.action import parameter_names
    assert parameter_names(func) == list(inspect.signature(func).parameters)


def test_a_method_with_no_parameter_to_bind_has_no_shape_as_in_inspect():
    # inspect: "invalid method signature" (a ValueError): injected_kwargs
    # then adds nothing, as for any callable without a signature.
    import inspect
    from doit.action import _shape, parameter_names

    class Odd:
        def nothing():
            pass

        def keyword_only(*, task):
            pass
    for method in (Odd().nothing, Odd().keyword_only):
        with pytest.raises(ValueError):
            inspect.signature(method)
        with pytest.raises(ValueError):
            parameter_names(method)
        assert _shape(method) is None


def test_a_wrapping_function_shows_the_wrapped_ones_parameters():
    # functools.wraps: inspect (and so doit) sees the wrapped function's
    # parameters, not the wrapper's (*args, **kwargs).
    from doit.action import _plain, injected_kwargs
    assert _plain(_wrapped_targets) is None

    class Task:
        name = 't'
        targets = ['out.txt']
        file_dep = []
    got = injected_kwargs(_wrapped_targets, [], {}, Task(),
                          {'size': 5, 'x': 1}, None)
    assert got == {'targets': ['out.txt'], 'size': 5}


@pytest.mark.parametrize('item, wanted', [
    (lambda: None, False),
    (lambda sources, dest, opt=1: None, False),
    (lambda targets: None, True),
    ((lambda x, changed: None, [1]), True),
    (lambda **kw: None, False),  # **kw gets options, not reserved names
])
def test_wants_task_when_the_callable_takes_a_reserved_name(item, wanted):
    assert _runtime.wants_task(_runtime.prepare_action(item, 't')) is wanted


def test_action_objects_other_than_python_actions_want_their_task():
    class Custom(BaseAction):
        def execute(self, out=None, err=None):
            pass
    assert _runtime.wants_task(Custom()) is True


def test_without_the_task_options_still_reach_the_callable():
    seen = []
    action = _runtime.prepare_action(
        lambda size, pos=None: seen.append((size, pos)), 't')
    result = run_python_action(action, None,
                               {'size': 3, 'pos': ['a'], 'changed': ['x']},
                               None, None)
    assert result['status'] == 'success'
    assert seen == [(3, ['a'])]


def test_prepared_action_is_the_item_run_uses():
    seen = []
    action = _runtime.prepare_action((lambda targets, x: seen.append(x), [],
                                      {'x': 1}), 't')
    assert isinstance(action, PythonAction)
    assert _runtime.prepare_action(action, 't') is action
    run(action)
    assert seen == [1]
    assert action.task.name == 't'  # the task it ran for


# --- outcome of the returned value ------------------------------------------

@pytest.mark.parametrize('returned', [True, None])
def test_true_or_none_is_success_without_result(returned):
    outcome = run(lambda: returned)
    assert (outcome['status'], outcome['result'], outcome['values']) == \
        ('success', None, None)
    assert outcome['message'] == '' and outcome['kind'] is None


def test_string_is_the_result():
    outcome = run(lambda: 'text')
    assert (outcome['status'], outcome['result']) == ('success', 'text')


def test_dict_is_values_and_result():
    outcome = run(lambda: {'x': 1})
    assert outcome['values'] == {'x': 1}
    assert outcome['result'] == {'x': 1}


def test_false_fails_the_task():
    def pyfalse():
        return False

    outcome = run(pyfalse)
    assert outcome['status'] == 'failed'
    assert outcome['kind'] == 'TaskFailed'
    assert outcome['message'] == \
        "Python Task failed: '%r' returned False\n" % (pyfalse,)


def test_returned_failure_objects_are_used():
    failed = run(lambda: TaskFailed('nope'))
    assert (failed['status'], failed['message']) == ('failed', 'nope\n')
    error = run(lambda: TaskError('bad', report=False))
    assert (error['status'], error['kind'], error['report']) == \
        ('error', 'TaskError', False)


def test_other_values_are_an_error():
    def answer():
        return 42

    outcome = run(answer)
    assert outcome['status'] == 'error'
    assert outcome['message'] == (
        "Python Task error: '%r'. It must return:\nFalse for failed task.\n"
        "True, None, string or dict for successful task\n"
        "returned 42 (<class 'int'>)\n" % (answer,))


def test_exception_is_an_error_with_the_user_traceback():
    def explode():
        raise ValueError('boom')

    outcome = run(explode)
    assert outcome['status'] == 'error'
    message = outcome['message']
    assert message.startswith('PythonAction Error\nTraceback (most recent '
                              'call last):\n')
    assert 'in explode\n' in message
    assert message.endswith('ValueError: boom\n')
    assert RUNTIME_FILE not in message


# --- output capture ------------------------------------------------------------

def test_output_is_captured_and_sent_live():
    live_out, live_err = [], []

    def talk():
        print('to out')
        print('to err', file=sys.stderr)
        sys.stdout.write('partial')

    outcome = run_python_action(talk, make_task(), {}, live_out.append,
                                live_err.append)
    assert outcome['out'] == 'to out\npartial'
    assert outcome['err'] == 'to err\n'
    assert ''.join(live_out) == 'to out\npartial'
    assert ''.join(live_err) == 'to err\n'


def test_streams_are_restored_even_after_an_exception():
    before = sys.stdout, sys.stderr

    def explode():
        raise RuntimeError('x')

    run(explode)
    assert (sys.stdout, sys.stderr) == before


def test_without_capture_output_goes_to_the_previous_stream(monkeypatch):
    previous = io.StringIO()
    monkeypatch.setattr(sys, 'stdout', previous)
    outcome = run(lambda: print('shown'), capture=False)
    assert outcome['out'] == ''
    assert previous.getvalue() == 'shown\n'


def test_tee_answers_isatty_and_fileno_for_the_real_stream():
    seen = []

    def probe():
        seen.append((sys.stdout.isatty(), sys.stdout.fileno(),
                     sys.stderr.fileno()))

    run(probe)
    assert seen == [(sys.__stdout__.isatty(), sys.__stdout__.fileno(),
                     sys.__stderr__.fileno())]


def test_binary_writes_are_captured_as_text():
    outcome = run(lambda: sys.stdout.buffer.write('é\n'.encode()))
    assert outcome['out'] == 'é\n'


def test_python_action_object_keeps_its_output():
    action = PythonAction(lambda: print('x') or 'res')
    run(action)
    assert (action.out, action.err, action.result) == ('x\n', '', 'res')


def test_interactive_python_action_is_not_captured_and_false_succeeds(
        monkeypatch):
    screen = io.StringIO()
    monkeypatch.setattr(sys, 'stdout', screen)
    outcome = run(PythonInteractiveAction(lambda: print('hi') or False))
    assert outcome['status'] == 'success'
    assert outcome['out'] == ''
    assert screen.getvalue() == 'hi\n'
    assert run(PythonInteractiveAction(lambda: {'k': 1}))['values'] == \
        {'k': 1}


def test_custom_action_execute_gets_live_streams():
    class Custom(BaseAction):
        def execute(self, out=None, err=None):
            out.write('live')
            self.out = 'captured'
            return TaskFailed('custom failure')

    live = []
    outcome = run_python_action(Custom(), make_task(), {}, live.append, None)
    assert live == ['live']
    assert (outcome['status'], outcome['out'], outcome['message']) == \
        ('failed', 'captured', 'custom failure\n')


def test_command_actions_are_refused():
    with pytest.raises(TypeError):
        run(CmdAction('echo'))


# --- definition errors ---------------------------------------------------------

def _f(*args, **kwargs):
    pass


@pytest.mark.parametrize('item, message', [
    (3, "Task 't': invalid 'actions' type. got: 3 <class 'int'>"),
    ((_f, [1], {}, 4), "Task 't': invalid 'actions' tuple length. got: "
                       "(%r, [1], {}, 4) <class 'tuple'>" % (_f,)),
    ((len,), "<Task: t> PythonAction can not be a built-in got "
             "<built-in function len>."),
    ((dict,), "<Task: t> PythonAction can not be a class got <class 'dict'>."),
    (('text', [1]), "<Task: t> PythonAction must be a 'callable' got 'text'."),
    ((_f, 'ab'), "<Task: t> args must be a 'tuple' or a 'list'. got 'ab'."),
    ((_f, [], []), "<Task: t> kwargs must be a 'dict'. got '[]'"),
])
def test_invalid_definitions_raise(item, message):
    with pytest.raises(ActionDefinitionError) as info:
        run(item)
    assert str(info.value) == message


def test_definition_error_names_the_action_list():
    with pytest.raises(ActionDefinitionError, match="invalid 'teardown'"):
        run(3, list_name='teardown')


# --- descriptions ----------------------------------------------------------------

class Server:
    def start(self):
        pass

    def __call__(self):
        pass


def build():
    pass


@pytest.mark.parametrize('item, text', [
    ('echo hi > out', 'Cmd: echo hi > out'),
    (['ls', '-l'], "Cmd: ['ls', '-l']"),
    (build, 'Python: function build'),
    ((build, [1], {}), 'Python: function build'),
    (lambda: 0, 'Python: function <lambda>'),
    (CmdAction('make all'), 'Cmd: make all'),
    (PythonAction(build), 'Python: function build'),
])
def test_describe_action(item, text):
    assert _runtime.describe_action(item) == text


def test_describe_bound_method_and_callable_object():
    assert _runtime.describe_action(Server().start).startswith(
        'Python: bound method Server.start of <')
    assert _runtime.describe_action(Server()) == \
        'Python: %s.Server object' % __name__


def test_describe_invalid_item_raises():
    with pytest.raises(ActionDefinitionError) as info:
        _runtime.describe_action(3.5, 'x', 'clean')
    assert str(info.value) == \
        "Task 'x': invalid 'clean' type. got: 3.5 <class 'float'>"


# --- command expansion ------------------------------------------------------------

def test_expand_string_and_list_commands():
    task = make_task()
    assert _runtime.expand_cmd_action(CmdAction('cc %(targets)s'), task,
                                      {}) == 'cc %(targets)s'
    assert _runtime.expand_cmd_action(
        CmdAction(['cp', pathlib.Path('a'), 'b']), task, {}) == \
        ['cp', 'a', 'b']


def test_expand_callable_command_with_injection():
    def command(prefix, flag, targets):
        return '%s %s %s' % (prefix, flag, ' '.join(targets))

    action = CmdAction((command, ['run']))
    assert _runtime.expand_cmd_action(action, make_task(), {'flag': '-x'}) \
        == 'run -x out out2'
    assert action.task is not None


def test_expand_callable_errors_propagate():
    def broken():
        raise KeyError('nokey')

    with pytest.raises(KeyError):
        _runtime.expand_cmd_action(CmdAction(broken), make_task(), {})


@pytest.mark.parametrize('style, template, expected', [
    ('old', 'cp %(dependencies)s %(targets)s', 'cp a b'),
    ('new', 'cp {dependencies} {targets}', 'cp a b'),
    ('both', 'cp {dependencies} %(targets)s', 'cp a b'),
    ('old', 'echo 100%%', 'echo 100%'),
])
def test_format_cmd(style, template, expected):
    mapping = {'dependencies': 'a', 'targets': 'b'}
    assert _runtime.format_cmd(template, mapping, style) == expected


def test_format_cmd_lone_percent_s_formats_the_whole_mapping():
    assert _runtime.format_cmd('date +%s', {'targets': ''}, 'old') == \
        "date +{'targets': ''}"


def test_format_cmd_errors_propagate():
    with pytest.raises(KeyError):
        _runtime.format_cmd('%(nokey)s', {}, 'old')


# --- uptodate calls ----------------------------------------------------------

def test_uptodate_magic_arguments_task_then_values():
    task = make_task()
    seen = []

    def check(task, values, extra, flag=False):
        seen.append((task, values, extra, flag))
        return True

    assert _runtime.call_uptodate((check, ['e'], {'flag': True}), task,
                                  {'v': 1}) is True
    assert seen == [(task, {'v': 1}, 'e', True)]


def test_uptodate_without_magic_arguments():
    assert _runtime.call_uptodate(lambda: None, make_task(), {}) is None
    assert _runtime.call_uptodate((lambda a, b: a + b, [1, 2]),
                                  make_task(), {}) == 3


def test_uptodate_values_as_first_parameter_gets_nothing():
    with pytest.raises(TypeError):
        _runtime.call_uptodate(lambda values: True, make_task(), {})


def test_uptodate_calculator_is_set_up_before_the_call():
    class Other(UptodateCalculator):
        def __call__(self, task, values):
            return self.get_val('other', 'result:') == 'abc'

    stored = {('other', 'result:'): 'abc'}
    assert _runtime.call_uptodate(Other(), make_task(), {},
                                  lambda t, k: stored.get((t, k)), {}) is True


def test_format_exception_drops_runtime_frames():
    def explode():
        raise ValueError('deep')

    try:
        _runtime.call_uptodate(explode, make_task(), {})
    except ValueError as exc:
        text = _runtime.format_exception(exc)
    assert text.startswith('Traceback (most recent call last):\n')
    assert RUNTIME_FILE not in text
    assert 'in explode' in text and text.endswith('ValueError: deep\n')


def test_wants_dryrun_only_for_python_callables_declaring_it():
    def clean_with(dryrun):
        pass

    def clean_without(**kwargs):
        pass

    assert _runtime.wants_dryrun(clean_with) is True
    assert _runtime.wants_dryrun((clean_with, [], {})) is True
    assert _runtime.wants_dryrun(PythonAction(clean_with)) is True
    assert _runtime.wants_dryrun(clean_without) is False
    assert _runtime.wants_dryrun('rm -f x') is False
    assert _runtime.wants_dryrun(CmdAction('rm -f x')) is False


def test_save_extra_values_merges_savers():
    task = make_task()
    task.value_savers.extend([lambda: {'a': 1}, lambda: {'b': 2}])
    assert _runtime.save_extra_values(task) == {'a': 1, 'b': 2}

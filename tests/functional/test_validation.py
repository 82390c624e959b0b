"""Invalid task definitions (SPEC §5.2, §5.3, §6.1): `ERROR: ...` on stderr,
nothing on stdout, exit code 3, nothing executed."""

import pytest


def check_error(project, dodo, message, *args):
    """Run doit on `dodo`; expect exactly `ERROR: message` and exit 3."""
    project.dodo(dodo)
    r = project.run(*args)
    assert r.out == ""
    assert r.err == f"ERROR: {message}\n"
    assert r.rc == 3
    assert not project.exists("ran.txt")


# -- keys and types -----------------------------------------------------------

def test_unknown_key_is_rejected(project):
    check_error(project, """
        def task_a():
            return {'actions': ['touch ran.txt'], 'foo': 1}
        """, "Task a contains invalid field: 'foo'")


def test_missing_actions_is_rejected(project):
    check_error(project, """
        def task_x():
            return {'file_dep': ['a']}
        """, "Task x must contain 'actions' field. {'file_dep': ['a'], 'name': 'x', 'doc': None}")


def test_actions_as_a_bare_string_is_rejected(project):
    check_error(project, """
        def task_x():
            return {'actions': 'touch ran.txt'}
        """, "Task 'x' attribute 'actions' must be {list, tuple, None} got:'touch ran.txt' <class 'str'>")


@pytest.mark.parametrize("key", ["file_dep", "task_dep", "setup", "calc_dep", "teardown", "watch", "params"])
def test_list_keys_reject_a_bare_string(project, key):
    check_error(project, f"""
        def task_x():
            return {{'actions': ['touch ran.txt'], '{key}': 'a'}}
        """, f"Task 'x' attribute '{key}' must be {{list, tuple}} got:'a' <class 'str'>")


def test_file_dep_item_must_be_a_path(project):
    check_error(project, """
        def task_x():
            return {'actions': ['touch ran.txt'], 'file_dep': [3]}
        """, "x. file_dep must be a str or Path from pathlib. Got '3' (<class 'int'>)")


def test_target_item_must_be_a_path(project):
    check_error(project, """
        def task_x():
            return {'actions': ['touch ran.txt'], 'targets': [3]}
        """, "x. target must be a str or Path from pathlib. Got '3' (<class 'int'>)")


def test_verbosity_must_be_0_1_2_or_none(project):
    check_error(project, """
        def task_x():
            return {'actions': ['touch ran.txt'], 'verbosity': 3}
        """, "Task 'x' attribute 'verbosity' must be {None, 0, 1, 2} got:3 <class 'int'>")


def test_doc_must_be_a_string(project):
    check_error(project, """
        def task_x():
            return {'actions': ['touch ran.txt'], 'doc': 3}
        """, "Task 'x' attribute 'doc' must be {str, None} got:3 <class 'int'>")


def test_clean_must_be_a_list_or_true(project):
    check_error(project, """
        def task_x():
            return {'actions': ['touch ran.txt'], 'clean': 'x'}
        """, "Task 'x' attribute 'clean' must be {list, tuple, True} got:'x' <class 'str'>")


def test_pos_arg_must_be_a_string(project):
    check_error(project, """
        def task_x():
            return {'actions': ['touch ran.txt'], 'pos_arg': 3}
        """, "Task 'x' attribute 'pos_arg' must be {str, None} got:3 <class 'int'>")


@pytest.mark.parametrize("entry, message", [
    ("'targets': 'a'", "Task 'x' attribute 'targets' must be {list, tuple} got:'a' <class 'str'>"),
    ("'uptodate': 'a'", "Task 'x' attribute 'uptodate' must be {list, tuple} got:'a' <class 'str'>"),
    ("'getargs': 3", "Task 'x' attribute 'getargs' must be {dict} got:3 <class 'int'>"),
    ("'title': 'x'", "Task 'x' attribute 'title' must be {function, None} got:'x' <class 'str'>"),
    ("'verbosity': '1'", "Task 'x' attribute 'verbosity' must be {None, 0, 1, 2} got:'1' <class 'str'>"),
    # the basename becomes the name (before: a C++ cast error)
    ("'basename': 3", "Task '3' attribute 'name' must be {str} got:3 <class 'int'>"),
    ("'basename': None", "Task 'None' attribute 'name' must be {str} got:None <class 'NoneType'>"),
    # teardown and clean items are checked when the task is created (before:
    # the task ran, then its teardown failed; a bad clean item was ignored)
    ("'teardown': [3]", "Task 'x': invalid 'teardown' type. got: 3 <class 'int'>"),
    ("'clean': [None]", "Task 'x': invalid 'clean' type. got: None <class 'NoneType'>"),
])
def test_more_keys_with_a_wrong_type_are_rejected(project, entry, message):
    check_error(project, f"""
        def task_x():
            return {{'actions': ['touch ran.txt'], {entry}}}
        """, message)


def test_a_yielded_basename_that_is_not_a_string_is_rejected(project):
    check_error(project, """
        def task_x():
            yield {'basename': 3, 'name': 'n', 'actions': ['touch ran.txt']}
        """, "Task '3' attribute 'name' must be {str} got:3 <class 'int'>")


def test_uptodate_item_of_wrong_type_is_rejected(project):
    check_error(project, """
        def task_x():
            return {'actions': ['touch ran.txt'], 'uptodate': [3]}
        """, "x. task invalid 'uptodate' item '3'. Must be bool, None, str, callable "
             "or tuple (callable, args, kwargs).")


@pytest.mark.cpp_only
def test_getargs_with_bad_format_is_rejected(project):
    # 0.37 wording (one line); 0.31.1 puts a newline after "'a'."
    check_error(project, """
        def task_x():
            return {'actions': ['touch ran.txt'], 'getargs': {'a': 'x'}}
        """, "Taskid 'x' - Invalid format for getargs of 'a'.Should be tuple with 2 "
             "elements ('<taskid>', '<key-name>') got 'x'")


# -- what creators return -----------------------------------------------------

def test_dict_creator_must_not_use_name(project):
    check_error(project, """
        def task_x():
            return {'actions': ['touch ran.txt'], 'name': 'n'}
        """, "Task 'x'. Only subtasks use field name.")


def test_creator_returning_a_string_is_rejected(project):
    check_error(project, """
        def task_x():
            return 'touch ran.txt'
        """, "Task 'x'. Must return a dictionary or generator. Got <class 'str'>")


def test_generator_must_yield_dictionaries(project):
    check_error(project, """
        def task_x():
            yield 3
        """, "Task 'x' must yield dictionaries")


def test_yielded_dict_needs_name_or_basename(project):
    check_error(project, """
        def task_x():
            yield {'actions': ['touch ran.txt']}
        """, "Task 'x' must contain field 'name' or 'basename'. {'actions': ['touch ran.txt']}")


def test_duplicated_subtask_name_is_rejected(project):
    check_error(project, """
        def task_x():
            yield {'name': 'a', 'actions': ['touch ran.txt']}
            yield {'name': 'a', 'actions': ['touch ran.txt']}
        """, "Task generation 'x' has duplicated definition of 'x:a'")


def test_duplicated_basename_in_a_generator_is_rejected(project):
    check_error(project, """
        def task_x():
            yield {'basename': 'a', 'actions': ['touch ran.txt']}
            yield {'basename': 'a', 'actions': ['touch ran.txt']}
        """, "Task generation 'x' has duplicated definition of 'a'")


# -- names and targets ---------------------------------------------------------

def test_task_name_must_not_contain_equal_sign(project):
    check_error(project, """
        def task_x():
            return {'basename': 'a=b', 'actions': ['touch ran.txt']}
        """, "Task 'a=b': name must not use the char '=' (equal sign).")


def test_task_names_must_be_unique(project):
    check_error(project, """
        def task_x():
            return {'basename': 'b', 'actions': ['touch ran.txt']}
        def task_b():
            return {'actions': ['touch ran.txt']}
        """, "Task names must be unique. b")


def test_two_tasks_with_the_same_target_are_rejected(project):
    check_error(project, """
        def task_x():
            return {'actions': ['touch ran.txt'], 'targets': ['t']}
        def task_y():
            return {'actions': ['touch ran.txt'], 'targets': ['t']}
        """, "Two different tasks can't have a common target.'t' is a target for y and x.")


def test_task_named_like_a_command_is_rejected(project):
    check_error(project, """
        def task_list():
            return {'actions': ['touch ran.txt']}
        """, "Task can't be called 'list' because this is a command name. "
             "Please choose another name.")


def test_unknown_task_dep_is_rejected(project):
    check_error(project, """
        def task_x():
            return {'actions': ['touch ran.txt'], 'task_dep': ['nope']}
        """, "x. Task dependency 'nope' does not exist.")


def test_unknown_setup_task_is_rejected(project):
    check_error(project, """
        def task_x():
            return {'actions': ['touch ran.txt'], 'setup': ['nope']}
        """, "Task 'x': invalid setup task 'nope'.")


def test_invalid_task_elsewhere_in_the_file_blocks_a_valid_selection(project):
    check_error(project, """
        def task_good():
            return {'actions': ['touch ran.txt']}
        def task_bad():
            return {'actions': ['touch ran.txt'], 'oops': 1}
        """, "Task bad contains invalid field: 'oops'", "good")


# -- options ---------------------------------------------------------------------

GOOD = """
def task_x():
    return {'actions': ['touch ran.txt']}
"""


def test_unknown_check_file_uptodate_is_rejected(project):
    check_error(project, GOOD, "No check_file_uptodate named 'x'. Type 'doit help run' "
                "to see a list of available checkers.", "--check_file_uptodate=x")


def test_non_integer_verbosity_is_rejected(project):
    check_error(project, GOOD, "Error parsing parameter 'verbosity' <class 'int'>.\n"
                "invalid literal for int() with base 10: 'x'\n", "-v", "x")


@pytest.mark.parametrize("args", [["--foo"], ["run", "--foo"], ["list", "--foo"]])
def test_unknown_option_is_rejected(project, args):
    project.dodo(GOOD)
    r = project.run(*args)
    assert (r.rc, r.out) == (3, "")
    # The rest of the line lists the options (0.37) or the argv (0.31.1).
    assert r.err.startswith("ERROR: Error parsing Command: option --foo not recognized (parsing options: [")
    assert r.err.count("\n") == 1
    assert not project.exists("ran.txt")


def test_option_missing_its_value_is_rejected(project):
    project.dodo(GOOD)
    r = project.run("-v")
    assert (r.rc, r.out) == (3, "")
    assert r.err.startswith("ERROR: Error parsing Command: option -v requires argument (parsing options: [")
    assert not project.exists("ran.txt")


def test_invalid_action_type_aborts_execution_with_exit_2(project):
    project.dodo("""
        def task_x():
            return {'actions': [3]}
        """)
    r = project.run()
    assert r.rc == 2
    assert r.err == ""
    assert r.out == (
        "#" * 40 + "\n"
        "Execution aborted.\n"
        "Task 'x': invalid 'actions' type. got: 3 <class 'int'>\n"
    )

"""Configuration files (SPEC §3, §1.4): `doit.cfg` (INI) and
`pyproject.toml` ([tool.doit]) in the start-up folder, their sections
([GLOBAL], [<command>], [task:NAME]) and their place in the priority:
command line > environment > DOIT_CONFIG > config files > default."""

import pytest

# `echo out` is shown only at verbosity 2; `echo err >&2` at 1 and 2.
LOUD = '''
def task_hello():
    """says hello"""
    return {'actions': ['echo out', 'echo err >&2']}
'''

SHOWN_V2 = ".  hello\nout\n"
SHOWN_V1 = ".  hello\n"


@pytest.fixture
def loud(project):
    project.dodo(LOUD)
    return project


# -- doit.cfg: sections and priority -------------------------------------


def test_global_section_applies_to_run(loud):
    loud.write("doit.cfg", "[GLOBAL]\nverbosity = 2\n")
    r = loud.run()
    assert (r.rc, r.out, r.err) == (0, SHOWN_V2, "err\n")


def test_command_section_beats_global(loud):
    loud.write("doit.cfg", "[GLOBAL]\nverbosity = 0\n[run]\nverbosity = 2\n")
    r = loud.run()
    assert (r.rc, r.out, r.err) == (0, SHOWN_V2, "err\n")


def test_section_of_another_command_does_not_apply(loud):
    loud.write("doit.cfg", "[list]\nverbosity = 2\n")
    r = loud.run()
    assert (r.rc, r.out, r.err) == (0, SHOWN_V1, "err\n")


def test_command_line_beats_config_file(loud):
    loud.write("doit.cfg", "[run]\nverbosity = 2\n")
    r = loud.run("-v", "0")
    assert (r.rc, r.out, r.err) == (0, SHOWN_V1, "")


def test_doit_config_beats_config_file(loud):
    loud.dodo(LOUD + "DOIT_CONFIG = {'verbosity': 0}\n")
    loud.write("doit.cfg", "[run]\nverbosity = 2\n")
    r = loud.run()
    assert (r.rc, r.out, r.err) == (0, SHOWN_V1, "")


def test_verbosity_from_config_file_does_not_override_the_tasks_own(project):
    project.dodo('''
        def task_quiet():
            return {'actions': ['echo q-out', 'echo q-err >&2'], 'verbosity': 0}
        def task_plain():
            return {'actions': ['echo p-out']}
    ''')
    project.write("doit.cfg", "[run]\nverbosity = 2\n")
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  quiet\n.  plain\np-out\n", "")
    r = project.run("-v", "2")
    assert (r.rc, r.out, r.err) == (0, ".  quiet\nq-out\n.  plain\np-out\n", "q-err\n")


def test_list_section_sets_list_options(project):
    project.dodo(LOUD)
    project.write("doit.cfg", "[list]\nstatus = True\n")
    r = project.run("list")
    assert (r.rc, r.out, r.err) == (0, "R hello   says hello\n", "")
    r = project.run("list", "--quiet")
    assert (r.rc, r.out) == (0, "R hello   \n")


@pytest.mark.parametrize("word,shown", [("yes", True), ("ON", True), ("1", True),
                                        ("off", False), ("No", False), ("0", False)])
def test_bool_options_take_the_boolean_words(project, word, shown):
    project.dodo(LOUD)
    project.write("doit.cfg", f"[list]\nstatus = {word}\n")
    r = project.run("list")
    assert r.rc == 0
    assert r.out == ("R hello   says hello\n" if shown else "hello   says hello\n")


def test_config_files_are_read_from_the_start_up_folder(project):
    project.write("sub/dodo.py", LOUD)
    project.write("sub/doit.cfg", "[run]\nverbosity = 0\n")
    project.write("doit.cfg", "[run]\nverbosity = 2\n")
    r = project.run("-f", "sub/dodo.py")
    assert (r.rc, r.out, r.err) == (0, SHOWN_V2, "err\n")
    r = project.run("-f", "dodo.py", cwd="sub")
    assert (r.rc, r.out, r.err) == (0, SHOWN_V1, "")


def test_config_file_can_name_the_dodo_file(project):
    project.write("other.py", LOUD.replace("hello", "other"))
    project.write("doit.cfg", "[GLOBAL]\ndodoFile = other.py\n")
    r = project.run("list")
    assert (r.rc, r.out, r.err) == (0, "other   says other\n", "")


@pytest.mark.cpp_only
def test_environment_beats_config_file(project):
    project.dodo(LOUD)
    project.write("other.py", LOUD.replace("hello", "other"))
    project.write("doit.cfg", "[GLOBAL]\ndodoFile = other.py\n")
    r = project.run("list", env={"DOIT_FILE": "dodo.py"})
    assert (r.rc, r.out, r.err) == (0, "hello   says hello\n", "")


def test_dep_file_from_config_file(loud):
    loud.write("doit.cfg", "[GLOBAL]\ndep_file = state.db\n")
    r = loud.run()
    assert r.rc == 0
    assert loud.exists("state.db")
    assert not loud.exists(".doit.db")


def test_default_tasks_in_config_file_is_ignored(project):
    project.dodo('''
        def task_a():
            return {'actions': ['echo a']}
        def task_b():
            return {'actions': ['echo b']}
    ''')
    project.write("doit.cfg", "[GLOBAL]\ndefault_tasks = b\n[run]\ndefault_tasks = b\n")
    r = project.run()
    assert (r.rc, r.out) == (0, ".  a\n.  b\n")


def test_unknown_keys_are_ignored(loud):
    loud.write("doit.cfg", "[GLOBAL]\nno_such_option = 1\n[no-such-command]\nx = 1\n")
    r = loud.run()
    assert (r.rc, r.out, r.err) == (0, SHOWN_V1, "err\n")


# -- doit.cfg: INI syntax as Python's configparser reads it ---------------


def test_keys_are_case_sensitive(loud):
    loud.write("doit.cfg", "[run]\nVerbosity = 2\n")
    r = loud.run()
    assert (r.rc, r.out) == (0, SHOWN_V1)


def test_only_equals_separates_key_and_value(loud):
    loud.write("doit.cfg", "[run]\nverbosity: 2\n")
    r = loud.run()
    assert (r.rc, r.out) == (0, SHOWN_V1)


def test_comment_lines_are_skipped_but_inline_comments_are_kept(project):
    project.dodo(LOUD)
    project.write("doit.cfg", "# a comment\n[list]\n; another\ntemplate = {name} ; not a comment\n")
    r = project.run("list")
    assert (r.rc, r.out) == (0, "hello ; not a comment\n")


def test_indented_lines_continue_a_value(project):
    project.dodo(LOUD)
    project.write("doit.cfg", "[list]\ntemplate = <{name}\n    {doc}>\n")
    r = project.run("list")
    assert (r.rc, r.out) == (0, "<hello\nsays hello>\n")


def test_key_without_value_is_allowed(project):
    project.dodo("""
        def task_t():
            return {'actions': ['echo t'], 'file_dep': ['in.txt']}
    """)
    project.write("in.txt", "x\n")
    project.write("doit.cfg", "[run]\nalways\n")
    assert project.run().rc == 0
    r = project.run()
    assert (r.rc, r.out) == (0, "-- t\n")


def test_default_section_values_appear_in_every_section(loud):
    loud.write("doit.cfg", "[DEFAULT]\nverbosity = 2\n[run]\n")
    r = loud.run()
    assert (r.rc, r.out) == (0, SHOWN_V2)


def test_values_are_interpolated(loud):
    loud.write("doit.cfg", "[run]\nloud = 2\nverbosity = %(loud)s\n")
    r = loud.run()
    assert (r.rc, r.out) == (0, SHOWN_V2)


# -- errors (pydoit prints a traceback; we print one ERROR line) ----------


@pytest.mark.cpp_only
def test_value_its_option_rejects_is_an_error(loud):
    loud.write("doit.cfg", "[run]\nverbosity = x\n")
    r = loud.run()
    assert r.rc == 3
    assert r.err == ("ERROR: Error parsing parameter 'verbosity' <class 'int'>.\n"
                     "invalid literal for int() with base 10: 'x'\n\n")
    loud.write("doit.cfg", "[list]\nstatus = maybe\n")
    r = loud.run("list")
    assert r.rc == 3
    assert r.err == ("ERROR: Error parsing parameter 'status' <class 'bool'>.\n"
                     "Not a boolean: maybe\n\n")


@pytest.mark.cpp_only
def test_value_outside_the_choices_is_an_error(loud):
    loud.write("doit.cfg", "[list]\nsort = size\n")
    r = loud.run("list")
    assert r.rc == 3
    assert r.err == ("ERROR: Error parsing parameter 'sort'. Provided 'size' but available "
                     "choices are: 'name', 'definition'.\n")


@pytest.mark.cpp_only
@pytest.mark.parametrize("text,line,what", [
    ("verbosity = 2\n", 1, "'verbosity = 2' is not in a section (the file must start with a "
                           "[section] line)"),
    ("[run]\nverbosity = 2\n= 3\n", 3, "a line without a key: '= 3'"),
    ("[run]\n[list]\n[run]\n", 3, "section [run] appears twice"),
    ("[run]\nverbosity = 2\nverbosity = 1\n", 3, "key 'verbosity' appears twice in [run]"),
    ("[run]\nalways\n  yes\n", 3, "a continuation line, but key 'always' has no value "
                                 "(it has no '=')"),
    ("[run]\n\noutfile = 100%\n", 3, "'outfile' in [run]: '%' must be followed by '%' or '(', "
                                     "found: '%'"),
])
def test_malformed_doit_cfg_is_an_error_naming_file_and_line(loud, text, line, what):
    loud.write("doit.cfg", text)
    for args in [(), ("list",)]:
        r = loud.run(*args)
        assert (r.rc, r.out) == (3, "")
        assert r.err == f"ERROR: Error parsing config file 'doit.cfg', line {line}: {what}\n"


# -- [task:NAME]: defaults of task params (0.34+) --------------------------

PARAMS = '''
def show(x, flag, items, choice):
    with open('got.txt', 'w') as f:
        f.write(repr((x, flag, items, choice)))

def task_p():
    return {
        'actions': [show],
        'params': [
            {'name': 'x', 'long': 'x', 'type': int, 'default': 'dflt'},
            {'name': 'flag', 'long': 'flag', 'type': bool, 'default': False},
            {'name': 'items', 'long': 'item', 'type': list, 'default': []},
            {'name': 'choice', 'long': 'choice', 'default': 'a',
             'choices': [('a', ''), ('b', '')]},
        ],
        'verbosity': 2,
    }
'''


@pytest.fixture
def params(project):
    project.dodo(PARAMS)
    return project


@pytest.mark.cpp_only
def test_task_section_sets_param_defaults_converted_by_type(params):
    params.write("doit.cfg", "[task:p]\nx = 42\nflag = yes\nitems = a, b,\nchoice = b\n")
    r = params.run("p")
    assert (r.rc, r.err) == (0, "")
    assert params.read("got.txt") == "(42, True, ['a', 'b'], 'b')"


@pytest.mark.cpp_only
def test_task_section_applies_to_tasks_of_delayed_creators(project):
    project.dodo("""
        from doit import create_after
        def task_gen():
            return {'actions': ['true']}
        @create_after(executed='gen')
        def task_conv():
            for name in ('a', 'b'):
                yield {'name': name, 'actions': ['echo %(mode)s > ' + name + '.txt'],
                       'params': [{'name': 'mode', 'default': 'slow'}]}
        """)
    project.write("doit.cfg", "[task:conv:b]\nmode = fast\n")
    r = project.run()
    assert (r.rc, r.err) == (0, "")
    assert (project.read("a.txt"), project.read("b.txt")) == ("slow\n", "fast\n")


@pytest.mark.cpp_only
def test_command_line_beats_task_section(params):
    params.write("doit.cfg", "[task:p]\nx = 42\nflag = yes\n")
    r = params.run("p", "--x", "3")
    assert (r.rc, r.err) == (0, "")
    assert params.read("got.txt") == "(3, True, [], 'a')"


@pytest.mark.cpp_only
def test_without_task_section_defaults_stay_unconverted(params):
    params.write("doit.cfg", "[task:other]\nx = 42\n")
    r = params.run("p")
    assert (r.rc, r.err) == (0, "")
    assert params.read("got.txt") == "('dflt', False, [], 'a')"


@pytest.mark.cpp_only
def test_task_section_value_its_type_rejects_is_an_error(params):
    params.write("doit.cfg", "[task:p]\nx = many\n")
    r = params.run("p")
    assert r.rc == 3
    assert r.err == ("ERROR: Error parsing parameter 'x' <class 'int'>.\n"
                     "invalid literal for int() with base 10: 'many'\n\n")
    params.write("doit.cfg", "[task:p]\nchoice = c\n")
    r = params.run("p")
    assert r.rc == 3
    assert r.err == ("ERROR: Error parsing parameter 'choice'. Provided 'c' but available "
                     "choices are: 'a', 'b'.\n")


@pytest.mark.cpp_only
def test_task_section_values_reach_command_strings(project):
    project.dodo('''
        def task_greet():
            return {'actions': ['echo hello %(who)s'], 'verbosity': 2,
                    'params': [{'name': 'who', 'long': 'who', 'default': 'world'}]}
    ''')
    project.write("doit.cfg", "[task:greet]\nwho = config\n")
    r = project.run()
    assert (r.rc, r.out) == (0, ".  greet\nhello config\n")


@pytest.mark.cpp_only
def test_task_section_sets_task_params_creator_arguments(project):
    project.dodo('''
        from doit import task_params
        @task_params([{'name': 'n', 'long': 'n', 'type': int, 'default': 1}])
        def task_gen(n):
            for i in range(n):
                yield {'name': str(i), 'actions': ['echo %d' % i]}
    ''')
    project.write("doit.cfg", "[task:gen]\nn = 3\n")
    r = project.run("list", "--all", "--quiet")
    assert (r.rc, r.out) == (0, "gen     \ngen:0   \ngen:1   \ngen:2   \n")
    r = project.run("gen", "--n", "2")
    assert (r.rc, r.out) == (0, ".  gen:0\n.  gen:1\n")


# -- pyproject.toml (0.34+) ----------------------------------------------


@pytest.mark.cpp_only
def test_pyproject_tool_doit_is_the_global_section(loud):
    loud.write("pyproject.toml", "[project]\nname = 'x'\n\n[tool.doit]\nverbosity = 2\n")
    r = loud.run()
    assert (r.rc, r.out, r.err) == (0, SHOWN_V2, "err\n")


@pytest.mark.cpp_only
def test_pyproject_command_table_beats_tool_doit(loud):
    loud.write("pyproject.toml", '''
        [tool.doit]
        verbosity = 0
        [tool.doit.commands.run]
        verbosity = 2
        [tool.doit.commands.list]
        status = true
    ''')
    r = loud.run()
    assert (r.rc, r.out, r.err) == (0, SHOWN_V2, "err\n")
    r = loud.run("list")
    assert (r.rc, r.out) == (0, "R hello   says hello\n")


@pytest.mark.cpp_only
def test_pyproject_strings_are_converted_with_the_options_type(loud):
    loud.write("pyproject.toml", '[tool.doit.commands.run]\nverbosity = "2"\n'
                                 '[tool.doit.commands.list]\nstatus = "True"\n')
    assert (loud.run().out, loud.run("list").out) == (SHOWN_V2, "R hello   says hello\n")


@pytest.mark.cpp_only
def test_doit_cfg_wins_over_pyproject_key_by_key(project):
    project.dodo(LOUD)
    project.write("pyproject.toml", "[tool.doit.commands.list]\nstatus = true\nquiet = true\n")
    project.write("doit.cfg", "[list]\nstatus = False\n")
    r = project.run("list")
    assert (r.rc, r.out) == (0, "hello   \n")


@pytest.mark.cpp_only
def test_doit_config_and_command_line_beat_pyproject(loud):
    loud.write("pyproject.toml", "[tool.doit]\nverbosity = 2\n")
    assert loud.run("-v", "1").out == SHOWN_V1
    loud.dodo(LOUD + "DOIT_CONFIG = {'verbosity': 1}\n")
    assert loud.run().out == SHOWN_V1


@pytest.mark.cpp_only
def test_pyproject_task_table_keeps_native_values(params):
    params.write("pyproject.toml", '''
        [tool.doit.tasks.p]
        x = 7
        flag = true
        items = ["a", "b"]
        choice = "b"
    ''')
    r = params.run("p")
    assert (r.rc, r.err) == (0, "")
    assert params.read("got.txt") == "(7, True, ['a', 'b'], 'b')"


@pytest.mark.cpp_only
def test_pyproject_task_table_strings_are_converted(params):
    params.write("pyproject.toml", '[tool.doit.tasks.p]\nx = "8"\nflag = "on"\nitems = "c,d"\n')
    r = params.run("p", "--choice", "b")
    assert (r.rc, r.err) == (0, "")
    assert params.read("got.txt") == "(8, True, ['c', 'd'], 'b')"


@pytest.mark.cpp_only
def test_pyproject_default_tasks_and_plugins_are_ignored(project):
    project.dodo('''
        def task_a():
            return {'actions': ['echo a']}
        def task_b():
            return {'actions': ['echo b']}
    ''')
    project.write("pyproject.toml", '''
        [tool.doit]
        default_tasks = ["b"]
        [tool.doit.plugins.command]
        foo = "some.module:Foo"
    ''')
    r = project.run()
    assert (r.rc, r.out, r.err) == (0, ".  a\n.  b\n", "")


@pytest.mark.cpp_only
def test_invalid_pyproject_is_an_error_naming_file_and_line(loud):
    loud.write("pyproject.toml", "[tool.doit]\nverbosity = \n")
    r = loud.run()
    assert (r.rc, r.out) == (3, "")
    assert r.err == ("ERROR: Error parsing config file 'pyproject.toml', line 2, column 13: "
                     "Invalid value\n")


@pytest.mark.cpp_only
def test_pyproject_commands_must_be_tables(loud):
    loud.write("pyproject.toml", "[tool.doit]\ncommands = 3\n")
    r = loud.run()
    assert r.rc == 3
    assert r.err == ("ERROR: Error in config file 'pyproject.toml': tool.doit.commands must "
                     "be a table\n")


@pytest.mark.cpp_only
def test_pyproject_without_tool_doit_is_not_parsed(loud):
    loud.write("pyproject.toml", "[project\nthis is not TOML\n")
    r = loud.run()
    assert (r.rc, r.out, r.err) == (0, SHOWN_V1, "err\n")


@pytest.mark.cpp_only
def test_commands_without_tasks_do_not_start_python_for_other_pyprojects(project):
    # A broken PYTHONHOME makes any start of the interpreter fail loudly.
    project.write("pyproject.toml", "[project]\nname = 'x'\n")
    project.write("doit.cfg", "[GLOBAL]\nverbosity = 2\n")
    r = project.run("help", env={"PYTHONHOME": "/nonexistent"})
    assert (r.rc, r.err) == (0, "")

"""Running doit from Python code (SPEC §14): DoitMain(loader).run(argv) and
doit.api.run_tasks(loader, tasks) run the doit binary as a child process on
the loader's dodo file; `run --pdb` opens pdb's post-mortem debugger on a
fatal error in the dodo file's Python code."""

import pytest

PDB_DODO = """
def task_bad():
    secret = 6 * 7
    raise ValueError('boom')
"""


def test_pdb_opens_the_post_mortem_debugger_on_a_creator_error(project):
    project.dodo(PDB_DODO)
    r = project.run_with_input("p secret\nq\n", "--pdb")
    assert r.rc == 3, r
    assert "-> raise ValueError('boom')\n(Pdb) 42\n(Pdb) " in r.out
    assert r.err.endswith("ValueError: boom\n")


def test_without_pdb_there_is_no_debugger(project):
    project.dodo(PDB_DODO)
    r = project.run_with_input("p secret\nq\n")
    assert r.rc == 3
    assert "(Pdb)" not in r.out


@pytest.mark.cpp_only
def test_doit_main_and_run_tasks_run_doit_on_the_loaders_dodo_file(project):
    # pydoit runs them in its own process; doit-cpp runs its binary.
    project.write("other/dodo.py", """
        def task_hello():
            return {'actions': ['echo "hello $NAME" > hello.txt'],
                    'params': [{'name': 'who', 'long': 'who', 'default': 'x'}]}
        def task_param():
            return {'actions': ['echo %(who)s > who.txt'],
                    'params': [{'name': 'who', 'long': 'who', 'default': 'nobody'}]}
        """)
    project.dodo("""
        import importlib.util, os
        from doit.cmd_base import ModuleTaskLoader
        from doit.doit_cmd import DoitMain
        from doit.api import run_tasks

        def other_loader():
            spec = importlib.util.spec_from_file_location('other', 'other/dodo.py')
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return ModuleTaskLoader(module)

        def call_main():
            code = DoitMain(other_loader()).run(['run', 'hello'])
            with open('main-code.txt', 'w') as f:
                f.write(str(code))

        def call_run_tasks():
            code = run_tasks(other_loader(), {'param': {'who': 'me'}})
            with open('api-code.txt', 'w') as f:
                f.write(str(code))

        def task_outer():
            return {'actions': [call_main, call_run_tasks]}
        """)
    r = project.run("outer")
    assert r.rc == 0, r
    assert project.read("main-code.txt") == "0"
    assert project.read("api-code.txt") == "0"
    assert project.read("other/hello.txt") == "hello \n"
    assert project.read("other/who.txt") == "me\n"


@pytest.mark.cpp_only
def test_globals_dep_manager_reads_the_saved_state_during_actions(project):
    # doit.Globals exists from pydoit 0.32 on.
    project.dodo("""
        import doit
        def first():
            return {'x': 41}
        def second():
            dm = doit.Globals.dep_manager
            with open('got.txt', 'w') as f:
                f.write(repr((dm.get_value('first', 'x'), dm.get_values('first'),
                              dm.get_result('first'))))
            try:
                dm.remove('first')
            except ValueError as e:
                with open('remove.txt', 'w') as f:
                    f.write(str(e))
        def task_first():
            return {'actions': [first]}
        def task_second():
            return {'actions': [second], 'task_dep': ['first']}
        """)
    r = project.run()
    assert r.rc == 0, r
    assert project.read("got.txt") == "(41, {'x': 41}, {'x': 41})"
    assert "written by doit itself" in project.read("remove.txt")


@pytest.mark.parametrize("command", [[], ["list"]])
def test_objects_a_task_holds_are_released_before_python_ends(project, command):
    # doit leaves its own structures to the OS at exit, but the callables
    # and uptodate objects the tasks hold are let go while Python still runs: their __del__ (a log file flushed, a lock removed)
    # happens, as it does in pydoit.
    project.dodo("""
        class Held:
            def __init__(self, name):
                self.name = name
            def __call__(self, *args, **kwargs):
                return True
            def __del__(self):
                with open(self.name + '.del', 'w') as f:
                    f.write('released')
        def task_t():
            return {'actions': [Held('action')], 'uptodate': [Held('uptodate')]}
        """)
    r = project.run(*command)
    assert r.rc == 0, r
    for name in ("action", "uptodate"):
        assert project.read(f"{name}.del") == "released"


@pytest.mark.cpp_only  # `meta` is pydoit 0.36's
def test_a_callable_sees_the_meta_its_task_was_given_even_empty(project):
    project.dodo("""
        def show(task):
            print('%s %r' % (task.name, task.meta))
        def task_m():
            for name, meta in (('empty', {}), ('full', {'k': 1}), ('none', None)):
                yield {'name': name, 'actions': [show], 'meta': meta, 'verbosity': 2}
        """)
    r = project.run()
    assert r.rc == 0, r
    assert r.out == (".  m:empty\nm:empty {}\n.  m:full\nm:full {'k': 1}\n"
                     ".  m:none\nm:none None\n")

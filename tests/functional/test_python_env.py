"""dodo.py sees what the embedded python3 would see (README "Which Python"):
PYTHONPATH, an active virtualenv, and our own `doit` package first."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.cpp_only


def test_pythonpath_modules_are_importable(project, tmp_path):
    lib = tmp_path / "extra_lib"
    lib.mkdir()
    (lib / "helper_mod.py").write_text("GREETING = 'from PYTHONPATH'\n")
    project.dodo("""
        import helper_mod
        def task_t():
            return {'actions': ['echo ' + helper_mod.GREETING], 'verbosity': 2}
        """)
    r = project.run(env={"PYTHONPATH": str(lib)})
    assert (r.rc, r.out, r.err) == (0, ".  t\nfrom PYTHONPATH\n", "")


def test_active_virtualenv_site_packages_are_importable(project, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip()
    with open(f"{site}/only_in_venv.py", "w") as f:
        f.write("WHERE = 'venv'\n")
    project.dodo("""
        import sys, only_in_venv
        def task_t():
            return {'actions': ['echo ' + only_in_venv.WHERE + ' ' + str(sys.prefix != sys.base_prefix)],
                    'verbosity': 2}
        """)
    r = project.run(env={"VIRTUAL_ENV": str(venv)})
    assert (r.rc, r.out, r.err) == (0, ".  t\nvenv True\n", "")
    r = project.run()
    assert r.rc == 3 and "No module named 'only_in_venv'" in r.err


def test_embedded_doit_package_wins_over_one_on_the_path(project, tmp_path):
    fake = tmp_path / "fake" / "doit"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('the wrong doit package')\n")
    project.dodo("""
        from doit.tools import run_once
        import doit
        def task_t():
            return {'actions': ['echo ok'], 'verbosity': 2}
        """)
    r = project.run(env={"PYTHONPATH": str(tmp_path / "fake")})
    assert (r.rc, r.out, r.err) == (0, ".  t\nok\n", "")


def test_dodo_folder_is_first_on_sys_path_and_cwd(project):
    project.write("sub/dodo.py", """
        import os, sys
        def task_t():
            return {'actions': ['echo %s %s' % (os.path.basename(os.getcwd()),
                                                 os.path.basename(sys.path[0]))],
                    'verbosity': 2}
        """)
    r = project.run("-f", "sub/dodo.py")
    assert (r.rc, r.out, r.err) == (0, ".  t\nsub sub\n", "")

"""Reporter classes written in the dodo file (SPEC §11): DOIT_CONFIG['reporter']
set to a class, built as Cls(outstream, {'failure_verbosity': N}), or to an
instance; every event of the run reaches it in pydoit's order."""

from conftest import traceback_shape

RECORDER = """
class Recorder:
    def __init__(self, outstream, options):
        self.out = outstream
        self.out.write('options %r\\n' % sorted(options.items()))
    def initialize(self, tasks, selected_tasks):
        self.out.write('init %s | %s\\n' % (sorted(tasks), selected_tasks))
    def get_status(self, task): self.out.write('status %s\\n' % task.name)
    def execute_task(self, task): self.out.write('execute %s\\n' % task.title())
    def add_failure(self, task, exc):
        self.out.write('failure %s %s %r\\n' % (task.name, exc.get_name(), exc.get_msg()))
    def add_success(self, task): self.out.write('success %s\\n' % task.name)
    def skip_uptodate(self, task): self.out.write('uptodate %s\\n' % task.name)
    def skip_ignore(self, task): self.out.write('ignore %s\\n' % task.name)
    def cleanup_error(self, exc): self.out.write('cleanup\\n')
    def runtime_error(self, msg): self.out.write('runtime %s\\n' % msg)
    def teardown_task(self, task): self.out.write('teardown %s\\n' % task.name)
    def complete_run(self): self.out.write('complete\\n')
"""

TASKS = """
def task_a():
    return {'actions': ['echo a'], 'file_dep': ['in.txt'], 'teardown': ['true']}
def task_b():
    return {'actions': ['exit 2'], 'task_dep': ['a']}
def task_c():
    return {'actions': ['true'], 'task_dep': ['b']}
"""


def test_every_event_reaches_a_reporter_class(project):
    project.dodo(RECORDER + "DOIT_CONFIG = {'reporter': Recorder}\n" + TASKS)
    project.write("in.txt", "x\n")
    r = project.run()
    assert r.rc == 1, r
    assert r.out == (
        "options [('failure_verbosity', 0)]\n"
        "init ['a', 'b', 'c'] | ['a', 'b', 'c']\n"
        "status a\nexecute a\nsuccess a\n"
        "status b\nexecute b\n"
        "failure b TaskFailed \"Command failed: 'exit 2' returned 2\\n\"\n"
        "teardown a\ncomplete\n"
    )
    r = project.run("--continue", "--failure-verbosity", "2")
    assert r.out == (
        "options [('failure_verbosity', 2)]\n"
        "init ['a', 'b', 'c'] | ['a', 'b', 'c']\n"
        "status a\nuptodate a\n"
        "status b\nexecute b\n"
        "failure b TaskFailed \"Command failed: 'exit 2' returned 2\\n\"\n"
        "status c\nfailure c UnmetDependency 'b\\n'\n"
        "complete\n"
    )


def test_an_instance_is_used_as_it_is(project):
    project.dodo(RECORDER + """
import sys
DOIT_CONFIG = {'reporter': Recorder(sys.stdout, {'made': 'by hand'})}
def task_x():
    return {'actions': ['true']}
""")
    r = project.run()
    assert r.rc == 0, r
    assert r.out == (
        "options [('made', 'by hand')]\ninit ['x'] | ['x']\n"
        "status x\nexecute x\nsuccess x\ncomplete\n"
    )


def test_subclass_of_the_console_reporter(project):
    project.dodo("""
from doit.reporter import ConsoleReporter

class Mine(ConsoleReporter):
    def execute_task(self, task):
        self.outstream.write('MyReporter --> %s\\n' % task.title())

DOIT_CONFIG = {'reporter': Mine, 'verbosity': 2}

def task_sample():
    return {'actions': ['echo hello']}
def task_bad():
    return {'actions': ['echo oops; exit 3']}
""")
    r = project.run()
    assert r.rc == 1, r
    assert r.out == (
        "MyReporter --> sample\nhello\nMyReporter --> bad\noops\n"
        "TaskFailed - taskid:bad\nCommand failed: 'echo oops; exit 3' returned 3\n\n"
    )


def test_output_file_is_the_reporters_outstream(project):
    project.dodo(RECORDER + "DOIT_CONFIG = {'reporter': Recorder}\n"
                 "def task_x():\n    return {'actions': ['echo x']}\n")
    r = project.run("-o", "report.txt")
    assert (r.rc, r.out) == (0, "")
    assert project.read("report.txt").endswith("execute x\nsuccess x\ncomplete\n")


def test_reporter_option_on_the_command_line_wins(project):
    project.dodo(RECORDER + "DOIT_CONFIG = {'reporter': Recorder}\n"
                 "def task_x():\n    return {'actions': ['echo x']}\n")
    r = project.run("--reporter", "executed-only")
    assert (r.rc, r.out) == (0, ".  x\n")


def test_an_exception_in_the_reporter_is_an_error_with_its_traceback(project):
    project.dodo("""
from doit.reporter import ConsoleReporter
class Broken(ConsoleReporter):
    def execute_task(self, task):
        raise ValueError('reporter broke')
DOIT_CONFIG = {'reporter': Broken}
def task_a():
    return {'actions': ['echo a > a.txt']}
""")
    r = project.run()
    assert r.rc == 3, r
    assert traceback_shape(r.err, project.path).endswith(
        "    raise ValueError('reporter broke')\nValueError: reporter broke\n")
    assert not project.exists("a.txt")

"""Errors raised by dodo files and failures reported by tasks.

Two families:

* Python exceptions for user errors found before execution
  (``InvalidCommand``, ``InvalidDodoFile``, ``InvalidTask``): the binary
  prints ``ERROR: <message>`` and exits with 3.
* Failure objects (``BaseFail`` and subclasses) that describe how a task
  went wrong. They are values, not exceptions: an action may *return* one.
  ``TaskFailed`` means exit code 1, every ``TaskError`` kind exit code 2.
"""



class InvalidCommand(Exception):
    """Invalid command line: unknown option, task or target.

    With ``not_found`` set, ``str()`` gives doit's "Invalid parameter"
    message; ``cmd_used`` (the explicit command, if any) and ``bin_name``
    can be set after construction.
    """

    def __init__(self, *args, not_found=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.not_found = not_found
        self.cmd_used = None
        self.bin_name = 'doit'

    def __str__(self):
        if self.not_found is None:
            return super().__str__()
        if self.cmd_used:
            return ('command `{}` invalid parameter: "{}". Must be a task, '
                    'or a target.\nType "{} list" to see available tasks'
                    .format(self.cmd_used, self.not_found, self.bin_name))
        return ('Invalid parameter: "{0}". Must be a command, task, or a '
                'target.\nType "{1} help" to see available commands.\n'
                'Type "{1} list" to see available tasks.\n'
                .format(self.not_found, self.bin_name))


class InvalidDodoFile(Exception):
    """The dodo file cannot be used (missing, bad DOIT_CONFIG, ...)."""


class InvalidTask(Exception):
    """A task definition is wrong (user error in the dodo file)."""


class BaseFail:
    """Why a task did not succeed.

    ``msg`` is the text shown after the ``<Kind> - taskid:<name>`` line;
    ``exception`` (an exception or another BaseFail) contributes its
    traceback; ``report=False`` asks reporters not to print this failure.
    """

    def __init__(self, msg, exception=None, report=True):
        self.message = msg
        self.report = report
        if isinstance(exception, BaseFail):
            self.traceback = exception.traceback
        elif exception is not None:
            import traceback as _traceback  # slow to import: only when needed
            self.traceback = _traceback.format_exception(
                type(exception), exception, exception.__traceback__)
        else:
            self.traceback = ''

    def get_msg(self):
        """Message plus traceback text, always ending with a newline."""
        return '%s\n%s' % (self.message, ''.join(self.traceback))

    def get_name(self):
        """The kind shown in reports, e.g. ``TaskFailed``."""
        return type(self).__name__

    def __repr__(self):
        return '(<%s> %s)' % (self.get_name(), self.message)

    def __str__(self):
        return '%s\n%s' % (self.get_name(), self.get_msg())


#: Old name of BaseFail, kept for dodo files that still use it.
CatchedException = BaseFail


class TaskFailed(BaseFail):
    """The task ran and did not succeed (exit code 1)."""


class TaskError(BaseFail):
    """The task could not be run properly (exit code 2)."""


class UnmetDependency(TaskError):
    """Not run because a task it depends on failed."""


class SetupError(TaskError):
    """A setup object or teardown action failed."""


class DependencyError(TaskError):
    """Checking or saving the task's dependencies failed."""

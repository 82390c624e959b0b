"""Names of pydoit's dependency module: checkers, codec, state access.

In doit-cpp the state DB (SQLite) and the file signatures are owned by
the C++ core. This module keeps what dodo files and plugins import:

* file checkers (``MD5Checker``, ``TimestampChecker``, base
  ``FileChangedChecker``) usable as custom ``check_file_uptodate`` classes;
* ``JSONCodec``;
* ``UptodateCalculator``, the base of uptodate objects that read other
  tasks' saved state;
* ``Dependency``, a thin view over a backend object the binary provides
  (``Globals.dep_manager``);
* ``DbmDB``, ``JsonDB``, ``SqliteDB``: names only, see their docstrings.
"""

import os

# hashlib and json are imported where they are used: importing doit must
# stay fast.


class DatabaseException(Exception):
    """The state DB cannot be read or written."""


class CheckerError(Exception):
    """A file checker could not compute a file's state."""


def get_md5(text):
    """MD5 hex digest of a str (UTF-8 encoded)."""
    import hashlib
    return hashlib.md5(text.encode('utf-8')).hexdigest()


def get_file_md5(path):
    """MD5 hex digest of a file's content, read in blocks."""
    import hashlib
    digest = hashlib.md5()
    with open(path, 'rb') as stream:
        for block in iter(lambda: stream.read(8192), b''):
            digest.update(block)
    return digest.hexdigest()


class FileChangedChecker:
    """Base of file checkers. Subclasses implement both methods."""

    def check_modified(self, file_path, file_stat, state):
        """True if ``file_path`` (whose ``os.stat`` is ``file_stat``)
        changed since ``state`` was saved."""
        raise NotImplementedError()

    def get_state(self, dep, current_state):
        """State to save after a success, or None to keep
        ``current_state``."""
        raise NotImplementedError()


class MD5Checker(FileChangedChecker):
    """Default checker: state ``(mtime, size, md5)``.

    Same mtime: unchanged without reading the file; different size:
    changed; otherwise the content digest decides.
    """

    def check_modified(self, file_path, file_stat, state):
        mtime, size, digest = state
        if file_stat.st_mtime == mtime:
            return False
        if file_stat.st_size != size:
            return True
        return digest != get_file_md5(file_path)

    def get_state(self, dep, current_state):
        mtime = os.path.getmtime(dep)
        if current_state and current_state[0] == mtime:
            return None
        return mtime, os.path.getsize(dep), get_file_md5(dep)


class TimestampChecker(FileChangedChecker):
    """Checker comparing modification times only (state = mtime)."""

    def check_modified(self, file_path, file_stat, state):
        return file_stat.st_mtime != state

    def get_state(self, dep, current_state):
        return os.path.getmtime(dep)


#: Checker classes by their ``check_file_uptodate`` name.
CHECKERS = {'md5': MD5Checker, 'timestamp': TimestampChecker}


class JSONCodec:
    """Encodes task records as JSON text."""

    def encode(self, data):
        import json
        return json.dumps(data)

    def decode(self, data):
        import json
        return json.loads(data)


class UptodateCalculator:
    """Base of uptodate objects that need other tasks' state.

    Before each call the binary calls ``setup(dep_manager, tasks_dict)``;
    afterwards ``get_val(task_name, key)`` reads a raw saved value
    (e.g. ``'result:'``) and ``tasks_dict`` maps task names to Task objects.
    """

    def __init__(self):
        self.get_val = None
        self.tasks_dict = None

    def setup(self, dep_manager, tasks_dict):
        """``dep_manager``: a Dependency-like object with ``_get``, or a
        plain ``get(task_name, key)`` callable."""
        self.get_val = getattr(dep_manager, '_get', dep_manager)
        self.tasks_dict = tasks_dict


class Dependency:
    """Access to saved task state, as ``doit.Globals.dep_manager``.

    ``backend`` is provided by the binary and has ``get(task, key)``,
    ``set(task, key, value)``, ``remove(task)`` and ``in_(task)``.
    """

    def __init__(self, backend, checker_cls=MD5Checker):
        self.backend = backend
        self.checker = checker_cls()

    def _get(self, task_name, key):
        return self.backend.get(task_name, key)

    def _set(self, task_name, key, value):
        self.backend.set(task_name, key, value)

    def _in(self, task_name):
        return self.backend.in_(task_name)

    def remove(self, task_name):
        """Forget everything saved for ``task_name``."""
        self.backend.remove(task_name)

    def get_values(self, task_name):
        """The values dict saved by the task's last success ({} if none)."""
        return self._get(task_name, '_values_:') or {}

    def get_value(self, task_name, key):
        """One saved value; raises Exception when missing."""
        if not self._in(task_name):
            raise Exception("taskid '%s' has no computed value!" % task_name)
        values = self.get_values(task_name)
        if key not in values:
            raise Exception("Invalid arg name. Task '%s' has no value for "
                            "'%s'." % (task_name, key))
        return values[key]

    def get_result(self, task_name):
        """The saved result: an MD5 string, a dict, or None."""
        return self._get(task_name, 'result:')


class _CoreOwnedBackend:
    """A pydoit DB backend name. doit-cpp keeps state in its own SQLite
    file managed by the C++ core, so this class cannot be instantiated."""

    def __init__(self, name, codec=None):
        raise NotImplementedError(
            '%s is not available in doit-cpp: task state is stored by the '
            'C++ core' % type(self).__name__)


class DbmDB(_CoreOwnedBackend):
    """pydoit's dbm backend (name only; state is owned by the C++ core)."""


class JsonDB(_CoreOwnedBackend):
    """pydoit's JSON backend (name only; state is owned by the C++ core)."""


class SqliteDB(_CoreOwnedBackend):
    """pydoit's sqlite3 backend (name only; state is owned by the C++
    core)."""

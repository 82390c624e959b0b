"""Process-wide state that the C++ embedding sets for dodo code.

The binary calls the setters before it imports the dodo file:

* ``set_vars(dict)``: the ``NAME=VALUE`` words of the command line
  (read by ``doit.get_var``);
* ``set_initial_workdir(path)``: the directory doit was started from
  (read by ``doit.get_initial_workdir``);
* ``set_loading(flag)``: True while our binary imports and runs the dodo
  file, so that ``doit.run(globals())`` at module level does nothing.
"""

#: dict of command-line variables, or None while never initialised.
VARS = None

#: absolute path of the directory doit was started from, or None.
INITIAL_WORKDIR = None

#: True while the doit-cpp binary is loading the dodo file.
LOADING = False


def set_vars(values):
    """Replace the command-line variables with a copy of ``values``."""
    global VARS
    VARS = dict(values)


def set_initial_workdir(path):
    """Record the directory doit was started from."""
    global INITIAL_WORKDIR
    INITIAL_WORKDIR = path


def set_loading(flag):
    """Mark whether the binary is currently loading the dodo file."""
    global LOADING
    LOADING = bool(flag)

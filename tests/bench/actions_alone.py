#!/usr/bin/env python3
"""The floor of a python-action build: every task's callable run in order by
python3 alone, without a task runner, in a project generated with
`gen.py --action python` (what any runner must at least spend).

    tests/bench/actions_alone.py DIR

Removes DIR/out/*, then imports DIR/dodo.py and calls each task's actions
in definition order. Time it as a whole process (e.g. /usr/bin/time).
"""

import glob
import importlib.util
import os
import sys


def main(argv):
    os.chdir(argv[0])
    for path in glob.glob("out/*"):
        os.remove(path)
    spec = importlib.util.spec_from_file_location("dodo", "dodo.py")
    dodo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dodo)
    for task in dodo.task_build():
        for function, args in task["actions"]:
            function(*args)


if __name__ == "__main__":
    main(sys.argv[1:])

"""A small C program built with gcc: one object file per source (the
sub-tasks of `compile`), then the link. Each object depends on its source
and on the local headers that source includes, so editing a header rebuilds
only the objects that include it."""

import re
from pathlib import Path

DOIT_CONFIG = {'default_tasks': ['link', 'check']}

CC = 'gcc'
CFLAGS = '-Wall -Wextra -O2 -Iinclude'
SOURCES = sorted(Path('src').glob('*.c'))
PROGRAM = 'build/hello'


def local_headers(source):
    """The headers of include/ that `source` includes with "...", in order."""
    names = re.findall(r'^#include "([^"]+)"', source.read_text(), re.M)
    return [f'include/{name}' for name in names if Path('include', name).exists()]


def object_of(source):
    return f'build/{source.stem}.o'


def task_compile():
    """Compile each src/NAME.c into build/NAME.o"""
    for source in SOURCES:
        obj = object_of(source)
        yield {
            'name': Path(obj).name,
            'file_dep': [str(source)] + local_headers(source),
            'targets': [obj],
            'actions': ['mkdir -p build', f'{CC} {CFLAGS} -c {source} -o {obj}'],
            'clean': True,
        }


def task_link():
    """Link the objects into build/hello"""
    return {
        'file_dep': [object_of(s) for s in SOURCES],
        'targets': [PROGRAM],
        'actions': [f'{CC} -o %(targets)s %(dependencies)s'],
        'clean': True,
    }


def task_check():
    """Run the program once (again only when it changes)"""
    return {
        'file_dep': [PROGRAM],
        'actions': [f'./{PROGRAM} doit'],
        'verbosity': 2,
    }

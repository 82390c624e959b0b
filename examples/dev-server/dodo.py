"""The new way: `doit auto serve`.

`serve` runs the server in the foreground, as you would by hand. Its last
action keeps running, so `doit auto` treats it as a server: when a file that
`build` or `serve` depends on changes, it rebuilds the page while the old
server goes on serving, then stops the old one and starts the new one.
Nothing to clean up: Ctrl-C stops it all.

The port: `doit auto serve --port 8001`, or PORT=8001 in the environment.
"""
import os
import sys

from render import render

PAGE = 'build/index.html'
SOURCES = ['content/index.txt', 'templates/page.html', 'render.py']


def task_build():
    """Render the page from its content and template."""
    return {
        'file_dep': SOURCES,
        'targets': [PAGE],
        'actions': [(render, ['templates/page.html', 'content/index.txt', PAGE])],
        'clean': True,
    }


def task_serve():
    """Run the web server in the foreground (Ctrl-C stops it)."""
    return {
        'file_dep': [PAGE, 'app.py'],
        'params': [{'name': 'port', 'long': 'port', 'type': int,
                    'default': int(os.environ.get('PORT', 8000)),
                    'help': 'port to listen on (default: $PORT or 8000)'}],
        'actions': [f'{sys.executable} app.py %(port)s'],
    }

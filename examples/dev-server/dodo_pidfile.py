"""The classic way, from before `doit auto` could restart servers:

    doit -f dodo_pidfile.py auto restart

`restart` always runs (`uptodate: [False]`): it stops the server whose pid is
in server.pid, then starts a new one in the background, its output
redirected to server.log (without that, doit would wait for the pipe to
close). `doit -f dodo_pidfile.py start` and `... stop` work on their own too.

The port: `--port 8001` on start and restart, or PORT=8001 in the environment.
"""
import os
import sys

from render import render

PAGE = 'build/index.html'
SOURCES = ['content/index.txt', 'templates/page.html', 'render.py']
PID_FILE = 'server.pid'

PORT_PARAM = {'name': 'port', 'long': 'port', 'type': int,
              'default': int(os.environ.get('PORT', 8000)),
              'help': 'port to listen on (default: $PORT or 8000)'}
RUNNING = f'[ -f {PID_FILE} ] && kill -0 $(cat {PID_FILE}) 2>/dev/null'
START = (f'if {RUNNING}; then echo "already running" >&2; else '
         f'nohup {sys.executable} app.py %(port)s > server.log 2>&1 & '
         f'echo $! > {PID_FILE}; fi')
STOP = (f'if [ -f {PID_FILE} ]; then '
        f'kill $(cat {PID_FILE}) 2>/dev/null; '
        f'while kill -0 $(cat {PID_FILE}) 2>/dev/null; do sleep 0.1; done; '
        f'rm -f {PID_FILE}; fi')


def task_build():
    """Render the page from its content and template."""
    return {
        'file_dep': SOURCES,
        'targets': [PAGE],
        'actions': [(render, ['templates/page.html', 'content/index.txt', PAGE])],
        'clean': True,
    }


def task_start():
    """Start the server in the background (unless it runs already)."""
    return {
        'file_dep': [PAGE, 'app.py'],
        'params': [PORT_PARAM],
        'actions': [START],
        'uptodate': [False],
    }


def task_stop():
    """Stop the server started by start or restart."""
    return {
        'actions': [STOP],
        'uptodate': [False],
    }


def task_restart():
    """Stop the old server, start a new one (for `doit auto restart`)."""
    return {
        'file_dep': [PAGE, 'app.py'],
        'params': [PORT_PARAM],
        'actions': [STOP, START],
        'uptodate': [False],
    }

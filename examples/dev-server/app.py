"""A tiny web app, standard library only (wsgiref). It reads the built page
once, when it starts, as a real app loads its templates and code: so a new
page, or a change to this file, needs a restart to be seen.

    python3 app.py [PORT]        (default: $PORT, or 8000)
"""
import os
import sys
from wsgiref.simple_server import make_server

PAGE = 'build/index.html'


def make_app(page):
    def app(environ, start_response):
        if environ['PATH_INFO'] != '/':
            start_response('404 Not Found', [('Content-Type', 'text/plain')])
            return [b'not found\n']
        start_response('200 OK', [('Content-Type', 'text/html; charset=utf-8'),
                                  ('Content-Length', str(len(page)))])
        return [page]
    return app


def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get('PORT', 8000))
    with open(PAGE, 'rb') as f:
        page = f.read()
    with make_server('127.0.0.1', port, make_app(page)) as server:
        # stderr: doit shows it as it comes (stdout would be captured)
        print(f'serving http://127.0.0.1:{port}/ (pid {os.getpid()})', file=sys.stderr, flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == '__main__':
    main()

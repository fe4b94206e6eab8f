"""The static-file ceiling: Flask's `send_from_directory` under `pixserve serve`'s server.

Why: a cache hit in pixserve is, at best, a file sent by the same WSGI stack. This app
does only that (plus the same conditional-request handling, so 304s compare too), run
by granian with `pixserve.cli.serving.server_settings`, the very settings of
`pixserve serve`. Usage: `python static_app.py ROOT PORT WORKERS THREADS`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from flask import Flask, Response, send_from_directory
from granian import Granian

from pixserve import Config
from pixserve.cli.serving import server_settings


def create_static_app(root: Path) -> Flask:
    app = Flask(__name__, static_folder=None)

    @app.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        return send_from_directory(root, name, max_age=86400)

    return app


if __name__ == "__main__":
    root, port, workers, threads = sys.argv[1:5]
    app = create_static_app(Path(root).absolute())
    config = Config(root=Path(root), port=int(port), workers=int(workers), threads=int(threads))
    # Forked workers (Linux's default start method) inherit `app`.
    Granian(**server_settings(config)).serve(target_loader=lambda: app, wrap_loader=False)

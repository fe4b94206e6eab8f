"""`pixserve serve` (gunicorn, or Flask's reloader with --dev) and `pixserve samples`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import Flask

from transformer import TransformError

from . import cache_cli
from .app import create_app
from .config import ENV_PREFIX, Config, ConfigError, parse_setting
from .signing import sign_url

# Image work is CPU-bound and Pillow releases the GIL while it decodes, resizes and
# encodes, so one process per core with a couple of threads each keeps the cores
# busy while other requests wait on disk or network.
DEFAULT_THREADS = 2
DEFAULT_TIMEOUT = 60


def _env(name: str, kind: str, default: Any) -> Any:
    raw = os.environ.get(ENV_PREFIX + name.upper())
    return default if raw is None else parse_setting(name, kind, raw)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pixserve", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve images over HTTP")
    serve.add_argument("--root", type=Path, help="folder of source images [PIXSERVE_ROOT]")
    serve.add_argument("--cache-dir", type=Path, help="result cache folder [PIXSERVE_CACHE_DIR]")
    serve.add_argument("--host", help="address to listen on [PIXSERVE_HOST, 127.0.0.1]")
    serve.add_argument("--port", type=int, help="port [PIXSERVE_PORT, 8000]")
    serve.add_argument("--workers", type=int, help="processes [PIXSERVE_WORKERS, CPU count]")
    serve.add_argument("--threads", type=int, help="threads per process [PIXSERVE_THREADS, 2]")
    serve.add_argument("--dev", action="store_true", help="Flask's reloading dev server")

    samples = commands.add_parser("samples", help="draw the sample images into a folder")
    samples.add_argument("directory", type=Path)

    sign = commands.add_parser(
        "sign", help="print URL with its signature (key: the first of PIXSERVE_SIGNING_KEYS)"
    )
    sign.add_argument("url", help="e.g. /image/photos/street.jpg?w=300&fmt=webp")
    sign.add_argument("--key", help="sign with this key instead")
    cache_cli.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "samples":
        from .samples import draw_samples

        for path in draw_samples(args.directory):
            print(path)
        return 0
    if args.command == "sign":
        return _sign(args)
    if args.command == "cache":
        return cache_cli.run(args)
    return _serve(args)


def _sign(args: argparse.Namespace) -> int:
    """Sign with the server's own rules: its presets and limits come from the environment."""
    try:
        config = Config.load(os.environ, root=Path(os.environ.get(ENV_PREFIX + "ROOT", ".")))
        key = args.key or (config.signing_keys[0] if config.signing_keys else None)
        if key is None:
            raise ConfigError("signing_keys: set PIXSERVE_SIGNING_KEYS or pass --key")
        print(sign_url(args.url, key, config.query_limits()))
    except (ConfigError, TransformError) as error:
        print(f"pixserve sign: {error}", file=sys.stderr)
        return 2
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        config = Config.load(os.environ, root=args.root, cache_dir=args.cache_dir)
        host = args.host or _env("host", "str", "127.0.0.1")
        port = args.port if args.port is not None else _env("port", "int", 8000)
        workers = args.workers or _env("workers", "int", os.cpu_count() or 1)
        threads = args.threads or _env("threads", "int", DEFAULT_THREADS)
        if not 1 <= port <= 65535:
            raise ConfigError(f"port: must be from 1 to 65535, got {port}")
        if workers < 1 or threads < 1:
            raise ConfigError("workers/threads: must be at least 1")
    except ConfigError as error:
        print(f"pixserve: invalid configuration: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(config)
    if args.dev:
        app.run(host=host, port=port, debug=True, use_reloader=True)
        return 0
    run_gunicorn(app, gunicorn_settings(host, port, workers, threads))
    return 0


def gunicorn_settings(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """The server settings of `pixserve serve`; the benchmark's static ceiling uses them too."""
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": DEFAULT_TIMEOUT,
        "accesslog": "-",
        # Recent gunicorn opens a control socket at one fixed path per user;
        # two servers (tests, `make run`) would fight over it.
        "control_socket_disable": True,
    }


def run_gunicorn(app: Flask, settings: dict[str, Any]) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in settings.items():
                if key in self.cfg.settings:  # skip settings this gunicorn predates
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    Server().run()


if __name__ == "__main__":
    sys.exit(main())

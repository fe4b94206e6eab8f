"""`pixserve serve` on gunicorn: the measured layout, signals, logs and metrics.

Layout. gthread workers, `workers` processes with `threads` threads each (defaults in
`config`, chosen by `benchmarks/gunicorn_settings.py`; README: Operations). Pillow
releases the GIL while it decodes, resizes and encodes, so threads overlap that work
with Python's; processes keep the Python parts on every core. `max_requests` (with
jitter, so workers do not all restart at once) replaces a worker now and then,
bounding the memory that Pillow's allocations fragment over time.

Signals. SIGHUP re-reads the configuration (file, environment, flags), builds the
app anew in the master, starts new workers and lets the old ones finish what they
are answering; an invalid new configuration is logged and the running one kept.
SIGTERM stops accepting connections, lets workers finish their requests (up to
`graceful_timeout`) and exits 0.

Logs. Every record, gunicorn's included, in `log_format`; gunicorn writes no access
log, since pixserve logs each request itself (`observe`). Whatever else reaches fd 2
(libtiff's errors, a stray print) is captured and logged line by line
(`logs.capture_native_stderr`), so the log stays one record a line.

Metrics. prometheus_client's multiprocess mode in `PROMETHEUS_MULTIPROC_DIR` (emptied
at start), else in a temporary folder removed at exit; workers are numbered by slot
(`metrics.use_worker_slots`). The cache writes the hits it records to its index on a
later hit once a second has passed, so an idle worker's last hits would never reach
`/metrics`: each worker flushes them every second instead.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from pixserve.app import create_app
from pixserve.cache import DiskCache
from pixserve.cache.disk import FLUSH_EVERY
from pixserve.config.settings import Config, ConfigError
from pixserve.ops import allocator, logs
from pixserve.ops.metrics import MULTIPROCESS_VARIABLE, enter_worker_slot, use_worker_slots
from pixserve.services import EXTENSION_NAME

log = logging.getLogger(__name__)

_SLOT = "pixserve_metrics_slot"  # the attribute on gunicorn's worker objects


def gunicorn_settings(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """The process layout and binding of `pixserve serve`."""
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "pixserve.cli.worker.HeadersFirstWorker",
        # Recent gunicorn opens a control socket at one fixed path per user;
        # two servers (tests, `make run`) would fight over it.
        "control_socket_disable": True,
    }


def server_settings(config: Config) -> dict[str, Any]:
    """Every gunicorn setting `pixserve serve` uses, from the validated config."""
    serving = config.serving
    return {
        **gunicorn_settings(serving.host, serving.port, serving.workers, serving.threads),
        # gunicorn takes whole seconds; rounding up keeps each above time_limit
        "timeout": math.ceil(serving.timeout),
        "graceful_timeout": math.ceil(serving.graceful_timeout),
        "keepalive": math.ceil(serving.keepalive),
        "max_requests": serving.max_requests,
        "max_requests_jitter": serving.max_requests_jitter,
        "preload_app": True,  # the app is built once in the master (again on SIGHUP)
        "accesslog": None,
        "logger_class": GunicornLogger,
        "pre_fork": _give_slot,
        "post_fork": _start_worker,
    }


def serve(load: Callable[[], Config], overrides: dict[str, Any] | None = None) -> None:
    """Run until SIGTERM or SIGINT; `load` gives the configuration, again at each SIGHUP.

    `overrides`: gunicorn settings over pixserve's (the layout benchmark tries others).
    """
    folder, made_here = _metrics_folder()
    use_worker_slots(folder)
    master = os.getpid()
    logs.capture_native_stderr()  # before the first `configure` and before any fork
    allocator.map_big_buffers_apart()  # both inherited by every worker forked from here
    allocator.share_heaps()
    try:
        _Server(load, overrides or {}).run()
    finally:
        # Workers are forked inside `run` and leave through here too: only the master
        # may remove the folder, once everything has stopped.
        if made_here and os.getpid() == master:
            shutil.rmtree(folder, ignore_errors=True)


def run_gunicorn(app: Flask, settings: dict[str, Any]) -> None:
    """Serve a ready-made app with these settings (benchmarks compare layouts with it)."""

    class Fixed(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in settings.items():
                if key in self.cfg.settings:  # skip settings this gunicorn predates
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    Fixed().run()


def _metrics_folder() -> tuple[Path, bool]:
    """The multiprocess folder, emptied (stale counts would add up), and whether it
    was made here (and is to be removed at exit)."""
    given = os.environ.get(MULTIPROCESS_VARIABLE, "").strip()
    if not given:
        return Path(tempfile.mkdtemp(prefix="pixserve-metrics-")), True
    folder = Path(given)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    return folder, False


def _give_slot(server: Any, worker: Any) -> None:
    """In the master, before fork: the lowest slot no live worker holds."""
    held = {getattr(other, _SLOT, None) for other in server.WORKERS.values()}
    setattr(worker, _SLOT, next(slot for slot in range(len(held) + 1) if slot not in held))


def _start_worker(server: Any, worker: Any) -> None:
    """In the worker, after fork: its metrics slot, and hits flushed every second."""
    enter_worker_slot(getattr(worker, _SLOT))
    cache = worker.app.wsgi().extensions[EXTENSION_NAME].cache
    threading.Thread(target=_flush_hits, args=(cache,), name="cache-hits", daemon=True).start()


def _flush_hits(cache: DiskCache) -> None:
    while True:
        time.sleep(FLUSH_EVERY)
        cache.flush()


_log_format = "json"  # the running config's, set at each (re)load, before gunicorn's logger


class GunicornLogger(Logger):  # type: ignore[misc]
    """gunicorn's own records in pixserve's format; no access lines (pixserve logs each
    request itself)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(logs.formatter(_log_format))
            if isinstance(handler, logging.StreamHandler):  # not into the captured fd 2
                handler.setStream(logs.output())

    def access(self, *args: Any) -> None:
        return None


class _Server(BaseApplication):  # type: ignore[misc]
    """gunicorn serving `create_app(load())`; SIGHUP loads and builds anew."""

    def __init__(self, load: Callable[[], Config], overrides: dict[str, Any]) -> None:
        self._load = load
        self._overrides = overrides
        self._config: Config | None = None
        super().__init__()

    def load_config(self) -> None:
        try:
            config = self._load()
        except ConfigError as error:
            if self._config is None:
                raise
            log.error("reload: invalid configuration, keeping the running one: %s", error)
            config = self._config
        self._config = config
        self.callable = None  # build the app anew from this config
        global _log_format
        _log_format = config.ops.log_format
        logs.configure(config.ops.log_format)
        for key, value in {**server_settings(config), **self._overrides}.items():
            if key in self.cfg.settings:  # skip settings this gunicorn predates
                self.cfg.set(key, value)

    def load(self) -> Flask:
        assert self._config is not None
        return create_app(self._config)

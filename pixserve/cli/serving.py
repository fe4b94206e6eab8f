"""`pixserve serve` on granian: the layout, signals, logs and metrics around the app.

Why granian: a maintained server (Rust, hyper) does the HTTP work a Python server
did badly here: keep-alive and HTTP/2, slow clients (hyper reads a request's headers
without a Python thread, and drops a client that takes longer than `header_timeout`),
and it hands the WSGI app to a pool of blocking threads per worker. Measured against
the gunicorn worker it replaced (`benchmarks/serving.py`), it answers hits and 304s
2-3x faster; nothing here reaches into its internals.

Layout. `workers` processes, each with up to `threads` blocking threads running the
app (defaults in `config`, docs/operations.md). Pillow releases the GIL while it
decodes, resizes and encodes, so threads overlap that work with Python's; processes
keep the Python parts on every core. How many of a process's threads make results at
once is the app's business (`transforms_per_process`, `http/admission.py`): the others
wait their turn there, and the threads left over answer hits and health checks.
A worker whose memory grows past `worker_max_rss` is replaced gracefully; one that
dies is started again.

The app is built once in the master, at start and at each reload, and the workers are
forked from it (whatever Python's default start method), so they inherit what it set
up: the app (the cache recovered once, not by every worker that starts), the captured
stderr, the allocator's settings and the metrics folder.

Signals. SIGHUP re-reads the configuration (file, environment, flags) in the master,
then replaces the workers one by one, each new one serving before the old one stops;
an invalid new configuration is logged and the running one kept. SIGTERM and SIGINT
stop accepting connections, let workers finish their requests (up to
`graceful_timeout`) and exit 0.

Logs. Every record, granian's included, in `log_format` (granian takes a logging
dict; its formatter and handler are pixserve's); no access log, since pixserve logs
each request itself (`observe`). Whatever else reaches fd 2 (libtiff's errors, a
stray print, Rust's panics) is captured and logged line by line
(`logs.capture_native_stderr`), so the log stays one record a line.

Metrics. prometheus_client's multiprocess mode in `PROMETHEUS_MULTIPROC_DIR` (emptied
at start), else in a temporary folder removed at exit; each worker claims a slot
(`metrics.claim_worker_slot`). The cache writes the hits it records to its index on a
later hit once a second has passed, so an idle worker's last hits would never reach
`/metrics`: each worker flushes them every second instead.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from granian import Granian
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings

from pixserve.app import create_app
from pixserve.cache import DiskCache
from pixserve.cache.disk import FLUSH_EVERY
from pixserve.config.settings import Config, ConfigError
from pixserve.ops import allocator, logs
from pixserve.ops.metrics import MULTIPROCESS_VARIABLE, claim_worker_slot, use_worker_slots
from pixserve.services import EXTENSION_NAME

log = logging.getLogger(__name__)

# Seconds between starting a new worker and stopping the old one it replaces (SIGHUP,
# `worker_max_rss`): the new one builds the app (under a second) before the old one
# is told to stop, so the listening socket always has a worker behind it.
RESPAWN_INTERVAL = 1.0
# The settings granian applies only when it starts: a reload that changes them logs
# that a restart is needed (the rest of the configuration takes effect at once).
FIXED_AT_START = ("host", "port", "workers", "threads")
WORKER_READY = "worker ready"  # logged by each worker once its app is built


class _Running:
    """The app the next worker serves (the master's, built at start and at each valid
    reload; a forked worker reads its copy)."""

    app: Flask | None = None


def _running_config() -> Config:
    assert _Running.app is not None, "serve() builds the app before forking"
    config: Config = _Running.app.extensions[EXTENSION_NAME].config
    return config


def serve(load: Callable[[], Config]) -> None:
    """Run until SIGTERM or SIGINT; `load` gives the configuration, again at each SIGHUP.

    Raises `ConfigError` when the first configuration is invalid.
    """
    config = load()
    folder, made_here = _metrics_folder()
    use_worker_slots(folder)
    logs.capture_native_stderr()  # before configuring and before any fork
    logs.configure(config.ops.log_format)
    allocator.map_big_buffers_apart()  # both inherited by every worker forked from here
    allocator.share_heaps()
    _Running.app = create_app(config)
    server = Granian(**server_settings(config))

    def reload() -> None:
        _reload(load)
        server.log_config = log_settings(_running_config().ops.log_format)

    server.on_reload(reload)
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns on any fork of a threaded process (the master has the
            # stderr reader); a worker touches none of that thread's state.
            warnings.filterwarnings("ignore", ".*fork.*", DeprecationWarning)
            # Forked workers inherit the master's state (see the module's doc); Python
            # 3.14 would otherwise spawn them, which granian then does too.
            multiprocessing.set_start_method("fork", force=True)
            server.serve(target_loader=worker_app, wrap_loader=False)
    finally:
        if made_here:
            shutil.rmtree(folder, ignore_errors=True)


def server_settings(config: Config) -> dict[str, Any]:
    """granian's arguments for this configuration (the benchmarks reuse them)."""
    serving = config.serving
    return {
        "target": "pixserve",  # only named in granian's logs: workers call `worker_app`
        "address": serving.host,
        "port": serving.port,
        "interface": Interfaces.WSGI,
        "http": HTTPModes.auto,  # HTTP/1.1, and HTTP/2 to clients that speak it
        "workers": serving.workers,
        "blocking_threads": serving.threads,
        "http1_settings": HTTP1Settings(
            header_read_timeout=max(1, round(serving.header_timeout * 1000)),
            keep_alive=True,
            max_buffer_size=MAX_HEADER_BYTES,
        ),
        "respawn_failed_workers": True,
        "respawn_interval": RESPAWN_INTERVAL,
        "workers_kill_timeout": max(1, math.ceil(serving.graceful_timeout)),
        "workers_max_rss": (serving.worker_max_rss >> 20) or None,
        "log_dictconfig": log_settings(config.ops.log_format),
        "log_access": False,
    }


# hyper's read buffer for a request's head (granian's own default, named here because
# it is a limit users meet): a head that does not fit, or has more than 100 header
# lines, is answered 431 (the buffer grows in steps, so the refusal comes somewhere
# between this and twice it: tests/test_server.py).
MAX_HEADER_BYTES = 8192 + 4096 * 100


def log_settings(log_format: str) -> dict[str, Any]:
    """granian's logging dict: its records and everyone's through pixserve's formatter
    to the real stderr, at INFO."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"pixserve": {"()": logs.formatter, "log_format": log_format}},
        "filters": {"layout": {"()": ChosenLayout}},
        "handlers": {"pixserve": {"()": logs.output_handler, "formatter": "pixserve"}},
        "loggers": {
            "_granian": {
                "handlers": [],
                "level": "INFO",
                "propagate": True,
                "filters": ["layout"],
            },
            "granian.access": {"handlers": [], "level": "WARNING", "propagate": True},
        },
        "root": {"handlers": ["pixserve"], "level": "INFO"},
    }


class ChosenLayout(logging.Filter):
    """granian's start-up warnings that the layout is large for the cores, logged at
    INFO: more processes and threads than cores is pixserve's measured default
    (`WORKERS_PER_CORE`, `DEFAULT_THREADS`), so a warning at every start would teach
    operators to ignore warnings. Its other warnings pass as they are."""

    LAYOUT_WARNINGS = ("Configuration allows spawning up to", "Configured number of workers")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and record.getMessage().startswith(
            self.LAYOUT_WARNINGS
        ):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def worker_app() -> Flask:
    """In each worker, once forked: its metrics slot, the app, hits flushed every second."""
    app = _Running.app
    assert app is not None, "serve() builds the app before forking"
    claim_worker_slot()
    cache = app.extensions[EXTENSION_NAME].cache
    threading.Thread(target=_flush_hits, args=(cache,), name="cache-hits", daemon=True).start()
    log.info(WORKER_READY)  # the record carries the worker's pid
    return app


def _reload(load: Callable[[], Config]) -> None:
    """After SIGHUP: the new configuration and its app, or the running ones if it is
    invalid."""
    running = _running_config()
    try:
        config = load()
        app = create_app(config)
    except ConfigError as error:
        log.error("reload: invalid configuration, keeping the running one: %s", error)
        return
    except Exception:  # a bug in reading it must not take the running server down
        log.exception("reload: failed, keeping the running configuration")
        return
    _Running.app = app
    logs.configure(config.ops.log_format)
    changed = [
        name
        for name in FIXED_AT_START
        if getattr(config.serving, name) != getattr(running.serving, name)
    ]
    if changed:
        log.warning("reload: %s take effect at the next start, not at a reload", ", ".join(changed))
    log.info("reload: configuration read again; replacing the workers")


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


def _flush_hits(cache: DiskCache) -> None:
    while True:
        time.sleep(FLUSH_EVERY)
        cache.flush()

"""A real `pixserve serve` (granian) for the server tests: its log, its workers, its user."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loopback.harness import Served, accepts, free_port, serving
from pixserve.cli.serving import WORKER_READY
from pixserve.config.settings import Config

STALLING_LAUNCHER = Path(__file__).with_name("stalling_writes.py")


@contextmanager
def live_server(
    root: Path,
    cache_dir: Path,
    log: Path | None = None,
    *,
    workers: int | None = 2,
    threads: int | None = 8,
    env: dict[str, str] | None = None,
    stall_marker: Path | None = None,
    wrapper: Sequence[str] = (),
    launcher: Path | None = None,
    args: Sequence[str] = (),
) -> Iterator[Served]:
    """Run `pixserve serve` until the block ends, logging to `log` (default: a file
    beside the cache folder); ready once all its workers have booted. `workers` and
    `threads` None: the server's defaults.

    With `stall_marker`, the first cache write in any worker stops half-way and the
    worker's pid is written to the marker (see `stalling_writes.py`). `wrapper` is a
    command that runs the server (`unshare ... exec "$@"`), keeping its pid.
    `launcher` is a script to run instead of `pixserve.cli` (it calls `main` itself);
    `args` are more arguments for `serve`.
    """
    port = free_port()
    command = [sys.executable, "-m", "pixserve.cli"]
    environment = {**os.environ, **(env or {})}
    if launcher is not None:
        command = [sys.executable, str(launcher)]
    if stall_marker is not None:
        command = [sys.executable, str(STALLING_LAUNCHER)]
        environment["TEST_PIXSERVE_STALL_MARKER"] = str(stall_marker)
    serve = ["serve", "--root", str(root), "--cache-dir", str(cache_dir), "--port", str(port)]
    serve += [] if workers is None else ["--workers", str(workers)]
    serve += [*([] if threads is None else ["--threads", str(threads)]), *args]
    expected = Config(root=root).serving.workers if workers is None else workers

    def booted(served: Served) -> bool:
        return accepts(served) and len(served.log_lines(WORKER_READY)) >= expected

    log = log or cache_dir.parent / f"server-{cache_dir.name}.log"
    with serving([*wrapper, *command, *serve], port, log, ready=booted, env=environment) as live:
        yield live


def request_lines(live: Served) -> list[dict[str, Any]]:
    """The server's per-request log lines, parsed (every line of its log must be JSON)."""
    lines = [json.loads(line) for line in live.log_text().splitlines() if line.strip()]
    return [line for line in lines if line["logger"] == "pixserve.requests"]

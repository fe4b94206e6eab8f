"""A real `pixserve serve` (gunicorn) for the cache tests: its log, its workers, its user."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


STALLING_LAUNCHER = Path(__file__).with_name("stalling_writes.py")


@dataclass(frozen=True)
class Live:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def log_lines(self, containing: str) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if containing in line]

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]


@contextmanager
def live_server(
    root: Path,
    cache_dir: Path,
    log: Path,
    *,
    workers: int = 2,
    threads: int = 2,
    env: dict[str, str] | None = None,
    stall_marker: Path | None = None,
    wrapper: Sequence[str] = (),
    launcher: Path | None = None,
    args: Sequence[str] = (),
) -> Iterator[Live]:
    """Run `pixserve serve` until the block ends, logging to `log`.

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
        environment["PIXSERVE_TEST_STALL_MARKER"] = str(stall_marker)
    argv = [
        *wrapper,
        *command,
        "serve",
        "--root",
        str(root),
        "--cache-dir",
        str(cache_dir),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        *args,
    ]
    with open(log, "ab") as log_file:
        process = subprocess.Popen(
            argv,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    live = Live(port, process, log)
    try:
        _wait_until_serving(live, workers)
        yield live
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not left within 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_serving(live: Live, workers: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", live.port), timeout=1):
                pass
            if len(live.log_lines("Booting worker")) >= workers:
                return
        except OSError:
            pass
        if live.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start:\n{live.log.read_text()}")
        time.sleep(0.05)

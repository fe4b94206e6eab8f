"""What C libraries write to stderr reaches the log as JSON records, not raw lines."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loopback.harness import free_port, get

from .helpers import encode, gradient
from .live_server import live_server

pytestmark = pytest.mark.slow  # real pixserve serve processes


def test_libtiff_errors_become_json_records(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    tiff = bytearray(encode(gradient((64, 64), "L"), "TIFF", compression="tiff_adobe_deflate"))
    for offset in range(8, 28):  # the deflate strip right after the header: garbled
        tiff[offset] ^= 0x5A
    (root / "broken.tif").write_bytes(bytes(tiff))
    log = tmp_path / "log"
    with live_server(root, tmp_path / "cache", log, workers=1) as live:
        status, _, body = get(live.port, "/image/broken.tif?w=32&fmt=png")
        assert status == 422, body
        native = _wait_for(log, "ZIPDecode")
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(records) == len(lines) > 3
    assert native["logger"] == "native" and native["level"] == "warning"
    assert native["msg"].startswith("ZIPDecode: Decoding error")
    assert any(record["logger"].startswith("_granian") for record in records)  # the server's


def _wait_for(log: Path, text: str) -> dict[str, object]:
    """The first record whose message holds `text` (the capturing thread logs it soon)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if text in line:
                record: dict[str, object] = json.loads(line)
                return record
        time.sleep(0.05)
    raise AssertionError(f"no record of {text!r} in:\n{log.read_text()}")


def test_a_log_reader_that_goes_away_does_not_stop_the_server(tmp_path: Path) -> None:
    """`pixserve serve | shipper` where the shipper dies: the server goes on serving,
    without its log, and stops on SIGTERM (it used to block every thread that logged,
    once the captured stderr pipe filled with reports of the failed writes)."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "photo.jpg").write_bytes(encode(gradient((320, 240)), "JPEG"))
    port = free_port()
    command = [sys.executable, "-m", "pixserve.cli", "serve", "--root", str(root)]
    command += ["--cache-dir", str(tmp_path / "cache"), "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        assert server.stderr is not None
        started = 0
        for line in server.stderr:  # both workers up, then nobody reads the log any more
            started += b"worker ready" in line
            if started == 2:
                break
        assert started == 2
        wait_for_port(port)  # a worker logs that it is ready a moment before it listens
        server.stderr.close()
        for number in range(300):  # each request logs a line: far past a pipe's 64 KiB
            try:
                status, _, _ = get(port, f"/image/photo.jpg?w=40&v={number}", timeout=10)
            except OSError as error:
                raise AssertionError(f"request {number}: {error}; exit {server.poll()}") from None
            assert status == 200
        assert get(port, "/healthz", timeout=10)[0] == 200
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
    finally:  # the whole group: a worker must not outlive a failed test
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def wait_for_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)

"""Slow clients against a real `pixserve serve`: they cannot hold its threads."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from loopback.harness import Served, get
from tests.live_server import live_server

# Each test starts a real server (a second or two): `make test-fast` leaves them out.
pytestmark = pytest.mark.slow

SLOW_CLIENTS = 40


@pytest.fixture
def server(root: Path, tmp_path: Path) -> Iterator[Served]:
    with live_server(root, tmp_path / "cache", tmp_path / "server.log") as live:
        yield live


def healthz_seconds(port: int) -> float:
    started = time.monotonic()
    assert get(port, "/healthz", timeout=5)[0] == 200
    return time.monotonic() - started


def test_forty_slow_header_clients_do_not_stall_healthz(server: Served) -> None:
    """Each client sends a request line, then one header line at a time, slowly: with
    a server whose threads read headers (gunicorn's stock gthread worker) its threads
    are all waiting on such clients; granian reads them without one."""
    with ExitStack() as stack:
        clients = []
        for number in range(SLOW_CLIENTS):
            client = stack.enter_context(socket.create_connection(("127.0.0.1", server.port)))
            client.sendall(f"GET /image/photo.jpg?w={number + 10} HTTP/1.1\r\n".encode())
            clients.append(client)
        timings = []
        for round_number in range(6):
            for client in clients:
                client.sendall(f"X-Slow-{round_number}: 1\r\n".encode())
            timings.append(healthz_seconds(server.port))
            time.sleep(0.5)
        assert max(timings) < 1.0, timings
        # a slow client that finishes its headers is answered as usual
        clients[0].sendall(b"Host: localhost\r\n\r\n")
        clients[0].settimeout(10)
        assert clients[0].recv(12).startswith(b"HTTP/1.1 200")


def test_a_client_that_never_finishes_its_headers_is_dropped(root: Path, tmp_path: Path) -> None:
    args = ["--set", "header_timeout=1"]
    with live_server(root, tmp_path / "cache", tmp_path / "log", args=args) as live:
        client = socket.create_connection(("127.0.0.1", live.port))
        client.settimeout(8)
        client.sendall(b"GET /healthz HTTP/1.1\r\n")
        started = time.monotonic()
        while time.monotonic() - started < 6:  # keeps sending, never the blank line
            try:
                client.sendall(b"X: 1\r\n")
            except OSError:
                break
            time.sleep(0.3)
        assert time.monotonic() - started < 6  # closed by the server after ~1 s + a poll
        client.close()

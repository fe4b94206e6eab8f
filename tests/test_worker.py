"""The worker's connection handling against a real `pixserve serve`: keep-alive (an
answer's thread waiting for the next request, or the poller), pipelining, request
bodies read or not, and a slow next request that must not hold a thread."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from pixserve.cli.worker import NEXT_REQUEST_WAIT
from tests.harness import Served, get
from tests.live_server import live_server

pytestmark = pytest.mark.slow  # real gunicorn servers

IMAGE = "/image/photo.jpg?w=120&fmt=webp"


@pytest.fixture
def server(root: Path, tmp_path: Path) -> Iterator[Served]:
    """One worker with one thread: a connection holding the thread shows at once."""
    with live_server(root, tmp_path / "cache", workers=1, threads=1) as live:
        yield live


class _File:
    """What `http.client.HTTPResponse` reads from: one buffered file for all answers
    of a connection (pipelined answers are not lost in a per-answer buffer), which an
    answer read whole does not close."""

    def __init__(self, client: socket.socket) -> None:
        self.file = client.makefile("rb")

    def makefile(self, *args: Any, **kwargs: Any) -> Any:
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)

    def close(self) -> None:
        pass


def answers(client: socket.socket, count: int, method: str = "GET") -> list[tuple[int, bytes]]:
    source = _File(client)
    found = []
    for _ in range(count):
        response = http.client.HTTPResponse(source, method=method)  # type: ignore[arg-type]
        response.begin()
        found.append((response.status, response.read()))
        assert not response.will_close
    return found


def request(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n".encode()


def test_keep_alive_answers_every_request_quickly_or_after_a_pause(server: Served) -> None:
    status, _, body = get(server.port, IMAGE)
    assert status == 200
    with closing(socket.create_connection(("127.0.0.1", server.port), timeout=10)) as client:
        for pause in (0, 0, NEXT_REQUEST_WAIT * 20, 0, 0.5, 0):  # the thread's wait, the poller's
            time.sleep(pause)
            client.sendall(request(IMAGE))
            assert answers(client, 1) == [(200, body)]


def test_pipelined_requests_are_all_answered_in_order(server: Served) -> None:
    status, _, body = get(server.port, IMAGE)
    health = get(server.port, "/healthz")[2]
    with closing(socket.create_connection(("127.0.0.1", server.port), timeout=10)) as client:
        client.sendall(request(IMAGE) + request("/healthz") + request(IMAGE) * 3)
        assert answers(client, 5) == [(200, body), (200, health), *[(200, body)] * 3]


@pytest.mark.parametrize(
    "body",
    [
        b"Content-Length: 5\r\n\r\nhello",
        b"Content-Length: 200000\r\n\r\n" + b"x" * 200_000,  # more than a drain takes
        b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ],
    ids=["small", "large", "chunked"],
)
def test_a_request_body_the_app_does_not_read_leaves_the_next_request_intact(
    server: Served, body: bytes
) -> None:
    """`/healthz` answers a POST 405 without reading its body: the worker drains it (or
    closes the connection when it is too large to drain), never taking it for the next
    request."""
    health = get(server.port, "/healthz")[2]
    with closing(socket.create_connection(("127.0.0.1", server.port), timeout=10)) as client:
        client.sendall(b"POST /healthz HTTP/1.1\r\nHost: localhost\r\n" + body)
        client.sendall(request("/healthz"))
        source = _File(client)
        first = http.client.HTTPResponse(source, method="POST")  # type: ignore[arg-type]
        first.begin()
        first.read()
        assert first.status == 405
        if len(body) > 100_000:
            # closed once the drain gave up, or drained whole and the next answered
            rest = source.file.read()
            assert rest == b"" or rest.startswith(b"HTTP/1.1 200")
            return
        second = http.client.HTTPResponse(source)  # type: ignore[arg-type]
        second.begin()
        assert (second.status, second.read()) == (200, health)


def test_a_slow_next_request_does_not_hold_the_thread(server: Served) -> None:
    """After an answer the thread waits a moment for the connection's next request: a
    client that then sends only half its headers is handed back to the poller, and the
    one thread answers others meanwhile."""
    with closing(socket.create_connection(("127.0.0.1", server.port), timeout=10)) as slow:
        slow.sendall(request("/healthz"))
        assert answers(slow, 1)[0][0] == 200
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: loc")  # within the thread's wait
        time.sleep(0.2)
        started = time.monotonic()
        assert get(server.port, "/healthz", timeout=5)[0] == 200
        assert time.monotonic() - started < 1.0
        slow.sendall(b"alhost\r\n\r\n")
        assert answers(slow, 1)[0][0] == 200


def test_a_busy_connection_does_not_keep_the_thread_from_others(server: Served) -> None:
    """With one thread, a client that sends its next request the moment it has an
    answer would keep the thread for as long as it likes if the thread always waited
    for it: it waits only while no other connection is queued for a thread."""
    stop = threading.Event()

    def busy() -> None:
        with closing(socket.create_connection(("127.0.0.1", server.port), timeout=10)) as client:
            while not stop.is_set():
                client.sendall(request("/healthz"))
                answers(client, 1)

    runner = threading.Thread(target=busy)
    runner.start()
    try:
        time.sleep(0.3)
        started = time.monotonic()
        assert get(server.port, "/healthz", timeout=5)[0] == 200
        assert time.monotonic() - started < 1.0
    finally:
        stop.set()
        runner.join()

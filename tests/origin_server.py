"""A real HTTP origin on loopback that the tests script: objects with ETags and
Last-Modified (answering conditional requests with 304), errors, redirects, slow,
endless and lying bodies, reset connections. It records every request it receives."""

from __future__ import annotations

import socket
import ssl
import struct
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Route:
    """What the origin answers at one path."""

    body: bytes = b""
    status: int = 200
    etag: str | None = None
    last_modified: float | None = None  # seconds since the epoch
    location: str | None = None  # with a 3xx status
    delay: float = 0.0  # before the status line
    trickle: float = 0.0  # seconds between 1-byte writes of the body
    endless: bool = False  # body bytes until the client hangs up (no Content-Length)
    declared_length: int | None = None  # a Content-Length that may lie
    reset: bool = False  # close with a TCP reset instead of answering


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class Origin:
    host: str
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    scheme: str = "http"

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}/"

    def requests_for(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]


class _Handler(BaseHTTPRequestHandler):
    origin: Origin
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        origin = self.origin
        origin.seen.append(Seen(self.path, {k: v for k, v in self.headers.items()}))
        route = origin.routes.get(self.path.split("?")[0])
        if route is None:
            self._send(404, b"no such object", {})
            return
        if route.delay:
            time.sleep(route.delay)
        if route.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        headers: dict[str, str] = {}
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified is not None:
            headers["Last-Modified"] = formatdate(route.last_modified, usegmt=True)
        if route.location:
            headers["Location"] = route.location
        if route.status == 200 and self._not_modified(route):
            self._send(304, b"", headers)
            return
        if route.endless:
            self._endless(headers)
            return
        self._send(route.status, route.body, headers, route.trickle, route.declared_length)

    def _not_modified(self, route: Route) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None:
            return route.etag is not None and match == route.etag
        since = self.headers.get("If-Modified-Since")
        return (
            since is not None
            and route.last_modified is not None
            and since == formatdate(route.last_modified, usegmt=True)
        )

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str],
        trickle: float = 0.0,
        declared: int | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body) if declared is None else declared))
            self.send_header("Content-Type", "text/html")  # never trusted by pixserve
        self.end_headers()
        try:
            if trickle:
                for index in range(len(body)):
                    self.wfile.write(body[index : index + 1])
                    self.wfile.flush()
                    time.sleep(trickle)
            else:
                self.wfile.write(body)
        except OSError:
            self.close_connection = True
        if declared is not None and declared != len(body):
            self.close_connection = True

    def _endless(self, headers: dict[str, str]) -> None:
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = b"\xff\xd8\xff\xe0" + bytes(65532)
        try:
            for _ in range(100_000):  # about 6 GiB: "endless" for any limit a test sets
                self.wfile.write(chunk)
        except OSError:
            pass


class _QuietServer(ThreadingHTTPServer):
    """A client that goes away mid-answer (pixserve dropping a slow or endless origin)
    is what these tests do on purpose: not reported. socketserver's report formats a
    traceback in the server's thread, and Python 3.11's traceback calls `ast.parse` for
    its carets; a parse in two threads at once breaks CPython 3.11's shared AST state
    (gh-106905: "AST constructor recursion depth mismatch" in the test's own thread,
    seen once in CI while a test built its app)."""

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def running_origin(
    host: str = "127.0.0.1", tls: tuple[Path, Path] | None = None
) -> Iterator[Origin]:
    """An origin on `host` at a free port until the block ends; HTTPS with `tls`
    (a certificate file and its key file)."""
    origin = Origin(host, 0, scheme="https" if tls else "http")
    handler = type("Handler", (_Handler,), {"origin": origin})
    server = _QuietServer((host, 0), handler)
    server.daemon_threads = True
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    origin.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

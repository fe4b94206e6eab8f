"""gunicorn's gthread worker, giving a thread to a request only once its headers are in.

The stock worker hands a connection to a thread as soon as its first byte arrives,
and the thread then waits, blocking, for the rest of the header block. A client that
sends one header line every few seconds (by accident, or to starve the server: the
"slowloris" attack) holds a thread for as long as it likes; a handful of them hold
every thread, and `/healthz` stops answering. Here the headers are gathered without
a thread: each time the socket is readable, a thread reads what has arrived without
waiting, keeps it, and returns the connection to the poller until the blank line that
ends the headers is in; then the request runs as usual, its parser fed the kept
bytes first. A client gets `header_timeout` seconds in all to send its headers.

Per request it also spares what a repeated hit would spend around the app (a hit of a
small cached image is mostly that): after a kept-alive answer, the thread waits up to
`next_request_wait` for the connection's next request itself, while no other
connection is waiting for a thread, instead of a round trip through the main thread's
poller (two thread switches, a pipe write and read, two `epoll_ctl`); a request read
whole leaves nothing to drain, so the drain and its socket timeout changes are
skipped; reads that must not wait pass `MSG_DONTWAIT` instead of switching the socket
to non-blocking and back. The headers of a next request are still gathered as above:
a slow one goes back to the poller. gunicorn's settings are looked up once per
worker (`SettledConfig`), not a few dozen times per request, and answers go out
through `quick_response`.
"""

from __future__ import annotations

import select
import socket
import time
from typing import Any

from gunicorn.http.body import LengthReader
from gunicorn.workers.gthread import _DEFER, TConn, ThreadWorker

from pixserve.cli.quick_response import quick_responses

END_OF_HEADERS = b"\r\n\r\n"
# gunicorn's own bounds on a request line and its headers (`limit_request_line`,
# `limit_request_fields` x `limit_request_field_size`), with room to spare: past it
# the parser answers the error itself.
MAX_HEADER_BYTES = 4094 + 100 * 8190 + 4
HEADER_TIMEOUT = 10.0  # seconds a client has, in all, to send a request's headers
# How long a thread that just answered waits for the same connection's next request:
# a bound on how long an idle keep-alive connection holds a thread, not a tuned
# figure. A client that sends its next request on reading the answer (a page's
# images, nginx's upstream connections, wrk) is back within it: under wrk at 4
# connections on one worker, strace counted 1,231 waits and 10 `epoll_ctl` (5
# connections handed back to the poller) for 1,234 requests.
NEXT_REQUEST_WAIT = 0.002
_READ_SIZE = 65536


class HeadersFirstWorker(ThreadWorker):  # type: ignore[misc]
    """A gthread worker whose threads never wait on a client's headers."""

    header_timeout = HEADER_TIMEOUT
    next_request_wait = NEXT_REQUEST_WAIT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cfg = SettledConfig(self.cfg)  # type: ignore[has-type]

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = quick_responses(self.wsgi)  # type: ignore[has-type]

    def handle(self, conn: TConn) -> Any:
        while True:
            if self.alive:
                verdict = self._headers_in(conn)
                if verdict is not True:
                    return verdict
            elif getattr(conn, "pixserve_head", None):
                _hand_over(conn)  # stopping: finish this request as the stock worker would
            kept_alive = super().handle(conn)
            if kept_alive is not True or not self._next_request_soon(conn):
                return kept_alive

    def _headers_in(self, conn: TConn) -> Any:
        """True when the request's headers are in (kept for the parser); `_DEFER` to
        wait for more in the poller; False to close the connection."""
        kept: bytearray = getattr(conn, "pixserve_head", None) or bytearray()
        deadline: float = getattr(conn, "pixserve_deadline", 0.0) or (
            time.monotonic() + self.header_timeout
        )
        if conn.initialized and conn.parser.unreader.buf.getvalue():
            return True  # the previous request's body read into this one: it is all here
        closed = _read_available(conn, kept)
        conn.pixserve_head, conn.pixserve_deadline = kept, deadline
        if END_OF_HEADERS in kept or len(kept) >= MAX_HEADER_BYTES or (closed and kept):
            _hand_over(conn)
            return True
        if closed or time.monotonic() > deadline:
            return False
        return _DEFER

    def _next_request_soon(self, conn: TConn) -> bool:
        """Whether this thread should go on with the connection, while no other
        connection is waiting for a thread: its next request is already read
        (pipelined), or arrives within `next_request_wait`. Else the main thread takes
        it back (and queues it again at once when a request is already read)."""
        # `_work_queue`: the connections handed to the pool and not yet taken by a
        # thread (ThreadPoolExecutor's own queue, there since Python 3.2).
        if not self.alive or not self.tpool._work_queue.empty():
            return False
        if conn.parser.unreader.buf.getvalue():
            return True
        poll = select.poll()
        poll.register(conn.sock, select.POLLIN)
        return bool(poll.poll(self.next_request_wait * 1000))

    def _keepalive_after(self, conn: TConn, keepalive: bool) -> bool:
        """A request whose body was read whole (or had none) leaves nothing on the
        socket: no drain now, nor before the next request (its message is let go)."""
        body = getattr(conn.parser.mesg, "body", None)
        if keepalive and _read_whole(body):
            conn.parser.mesg = None
            return True
        return bool(super()._keepalive_after(conn, keepalive))


class SettledConfig:
    """gunicorn's configuration as a worker reads it: each value computed once.

    Why: `Config` computes a setting on every access (`__getattr__`, `Setting.get`,
    properties such as `is_ssl`), and parsing and answering a request reads a few
    dozen; a worker's configuration never changes (a reload starts new workers).
    """

    def __init__(self, config: Any) -> None:
        self._config = config

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._config, name)
        if not name.startswith("_"):
            setattr(self, name, value)
        return value


def _read_whole(body: Any) -> bool:
    """Whether the request's body is all read from the socket (none is all read too)."""
    reader = getattr(body, "reader", None)
    return isinstance(reader, LengthReader) and reader.length == 0 and not body.failed


def _hand_over(conn: TConn) -> None:
    """Give the parser the bytes kept so far; it reads the rest from the socket
    (`ThreadWorker.handle` makes it blocking)."""
    kept = conn.pixserve_head
    conn.pixserve_head = conn.pixserve_deadline = None
    conn.init()
    if kept:
        conn.parser.unreader.unread(bytes(kept))


def _read_available(conn: TConn, kept: bytearray) -> bool:
    """Append what the socket holds now, without waiting; True when the peer closed."""
    try:
        while len(kept) < MAX_HEADER_BYTES:
            data = conn.sock.recv(_READ_SIZE, socket.MSG_DONTWAIT)
            if not data:
                return True
            kept += data
            if len(data) < _READ_SIZE:
                return False  # the socket held less than asked: nothing more is in
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True
    return False

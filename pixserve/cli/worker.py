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
"""

from __future__ import annotations

import errno
import time
from typing import Any

from gunicorn.workers.gthread import _DEFER, TConn, ThreadWorker

END_OF_HEADERS = b"\r\n\r\n"
# gunicorn's own bounds on a request line and its headers (`limit_request_line`,
# `limit_request_fields` x `limit_request_field_size`), with room to spare: past it
# the parser answers the error itself.
MAX_HEADER_BYTES = 4094 + 100 * 8190 + 4
HEADER_TIMEOUT = 10.0  # seconds a client has, in all, to send a request's headers
_READ_SIZE = 65536


class HeadersFirstWorker(ThreadWorker):  # type: ignore[misc]
    """A gthread worker whose threads never wait on a client's headers."""

    header_timeout = HEADER_TIMEOUT

    def handle(self, conn: TConn) -> Any:
        if self.alive:
            verdict = self._headers_in(conn)
            if verdict is not True:
                return verdict
        elif getattr(conn, "pixserve_head", None):
            _hand_over(conn)  # stopping: finish this request as the stock worker would
        return super().handle(conn)

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


def _hand_over(conn: TConn) -> None:
    """Give the parser the bytes kept so far; it reads the rest from the socket."""
    kept = conn.pixserve_head
    conn.pixserve_head = conn.pixserve_deadline = None
    conn.sock.setblocking(True)
    conn.init()
    if kept:
        conn.parser.unreader.unread(bytes(kept))


def _read_available(conn: TConn, kept: bytearray) -> bool:
    """Append what the socket holds now, without waiting; True when the peer closed."""
    conn.sock.setblocking(False)
    try:
        while len(kept) < MAX_HEADER_BYTES:
            data = conn.sock.recv(_READ_SIZE)
            if not data:
                return True
            kept += data
    except BlockingIOError:
        return False
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
            return False
        return True
    return False

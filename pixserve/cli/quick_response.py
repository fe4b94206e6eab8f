"""gunicorn's HTTP/1 response, with less work per answer for the same bytes on the wire.

Why: for a repeated hit or a 304, which the app answers in a few dozen microseconds
(`pixserve.http.shortcut`), gunicorn's response was the next cost in a profile of the
worker: every header checked against two regular expressions at every answer, the
`Date` formatted anew each time, and the head and the body sent in two `sendall`s.
Here a header already found valid is not checked again (`CHECKED_MAX` pairs are
remembered per process), `Date` is formatted once a second, and a body written in one
piece (as the shortcut and Werkzeug's buffered answers are) leaves in the same
`sendall` as the head, up to `JOINED_UP_TO` bytes. Everything else, the checks
included, is gunicorn's own.

`quick_responses` wraps the WSGI app so that gunicorn's `Response` for each request
becomes a `QuickResponse` (the same object, its class changed) before the app starts
its answer: the worker's request handling stays gunicorn's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.http import wsgi
from gunicorn.util import is_hoppish

from pixserve.http.responses import http_date_now

# Header (name, value) pairs found valid, and the value gunicorn keeps for each.
CHECKED_MAX = 4096
_checked: dict[tuple[str, str], str] = {}
# A body up to this size is copied behind the head for one `sendall`; a larger one is
# sent on its own (copying it would cost more than the second call).
JOINED_UP_TO = 256 * 1024

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class QuickResponse(wsgi.Response):  # type: ignore[misc]
    """gunicorn's `Response`, remembering valid headers, `Date` once a second, and
    head and body in one send (see the module's doc)."""

    def process_headers(self, headers: list[tuple[str, str]]) -> None:
        for pair in headers:
            kept = _checked.get(pair) if type(pair) is tuple else None
            if kept is not None:
                self.headers.append((pair[0], kept))
                continue
            before = len(self.headers)
            super().process_headers([pair])  # raises for an invalid one, as before
            if len(self.headers) == before + 1 and not _noted(pair[0]):
                if len(_checked) >= CHECKED_MAX:
                    _checked.clear()
                _checked[pair] = self.headers[-1][1]

    def default_headers(self) -> list[str]:
        if self.upgrade:
            connection = "upgrade"
        else:
            connection = "close" if self.should_close() else "keep-alive"
        major, minor = self.req.version
        lines = [
            f"HTTP/{major}.{minor} {self.status}\r\n",
            f"Server: {self.version}\r\n",
            f"Date: {http_date_now()}\r\n",
            f"Connection: {connection}\r\n",
        ]
        if self.chunked:
            lines.append("Transfer-Encoding: chunked\r\n")
        return lines

    def head(self) -> bytes:
        lines = self.default_headers()
        lines += [f"{name}: {value}\r\n" for name, value in self.headers]
        return f"{''.join(lines)}\r\n".encode("latin-1")

    def send_headers(self) -> None:
        if not self.headers_sent:  # type: ignore[has-type]
            self.sock.sendall(self.head())
            self.headers_sent = True

    def write(self, arg: bytes) -> None:
        if (
            not self.headers_sent
            and type(arg) is bytes
            and not self.chunked
            and not self._omits_body
            and self.response_length == len(arg)
            and len(arg) <= JOINED_UP_TO
        ):
            head = self.head()
            self.headers_sent = True
            self.sent = len(arg)
            self.sock.sendall(head + arg)
            return
        super().write(arg)


def _noted(name: str) -> bool:
    """Whether gunicorn notes something of this header besides keeping it (its
    length, a hop-by-hop one): such a header goes through its checks every time."""
    return name.lower() == "content-length" or is_hoppish(name)


def quick_responses(app: WSGIApp) -> WSGIApp:
    """`app`, answering through a `QuickResponse` (see the module's doc)."""

    def answering(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        response = getattr(start_response, "__self__", None)
        if type(response) is wsgi.Response:
            response.__class__ = QuickResponse
        return app(environ, start_response)

    return answering

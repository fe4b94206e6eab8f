"""`QuickResponse` puts the same bytes on the wire as gunicorn's `Response`, in fewer
sends, and still refuses every invalid header."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.errors import ParseException

from pixserve.cli.quick_response import JOINED_UP_TO, QuickResponse, quick_responses

HEADERS = [("Content-Type", "image/webp"), ("ETag", '"abc"'), ("X-Cache", "HIT")]


class Wire:
    """A socket that keeps what is sent, call by call."""

    def __init__(self) -> None:
        self.sends: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.sends.append(bytes(data))

    def sent(self) -> bytes:
        return re.sub(rb"Date: [^\r]*\r\n", b"Date: -\r\n", b"".join(self.sends))


def answer(
    kind: type[Any],
    status: str,
    headers: list[tuple[str, str]],
    body: list[bytes],
    method: str = "GET",
    version: tuple[int, int] = (1, 1),
) -> Wire:
    wire = Wire()
    request = SimpleNamespace(version=version, method=method, should_close=lambda: False)
    response = kind(request, wire, Config())
    response.start_response(status, list(headers))
    for piece in body:
        response.write(piece)
    response.close()
    return wire


def length(size: int) -> list[tuple[str, str]]:
    return [*HEADERS, ("Content-Length", str(size))]


CASES = {
    "small body": ("200 OK", length(5), [b"hello"], "GET"),
    "HEAD": ("200 OK", length(5), [], "HEAD"),
    "304": ("304 Not Modified", HEADERS, [], "GET"),
    "chunked": ("200 OK", HEADERS, [b"a", b"bc"], "GET"),
    "body in pieces": ("200 OK", length(6), [b"abc", b"def"], "GET"),
    "large body": ("200 OK", length(JOINED_UP_TO + 1), [b"x" * (JOINED_UP_TO + 1)], "GET"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_same_bytes_as_gunicorns_response(case: str) -> None:
    status, headers, body, method = CASES[case]
    for _ in range(2):  # the second time, the headers are remembered as valid
        quick = answer(QuickResponse, status, headers, body, method)
        stock = answer(wsgi.Response, status, headers, body, method)
        assert quick.sent() == stock.sent()
        assert (b"Transfer-Encoding" in quick.sent()) == (case == "chunked")


def test_a_whole_small_body_leaves_with_the_head_in_one_send() -> None:
    wire = answer(QuickResponse, "200 OK", length(5), [b"hello"])
    assert len(wire.sends) == 1 and wire.sends[0].endswith(b"\r\n\r\nhello")
    assert len(answer(wsgi.Response, "200 OK", length(5), [b"hello"]).sends) == 2


@pytest.mark.parametrize(
    "bad",
    [("X-Bad", "line\r\nbreak"), ("Bad Name", "v"), ("X-Number", 5)],
    ids=["value", "name", "type"],
)
def test_an_invalid_header_is_refused_every_time(bad: tuple[str, Any]) -> None:
    answer(QuickResponse, "200 OK", [("X-Bad", "fine"), ("X-Number", "5")], [])
    for _ in range(2):
        with pytest.raises((ParseException, TypeError)):
            answer(QuickResponse, "200 OK", [*HEADERS, bad], [])


def test_only_gunicorns_http1_response_is_made_quick() -> None:
    seen: list[type[Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(type(start_response.__self__))
        return []

    wrapped = quick_responses(app)
    request = SimpleNamespace(version=(1, 1), method="GET", should_close=lambda: False)
    stock = wsgi.Response(request, Wire(), Config())
    other = type("Other", (wsgi.Response,), {})(request, Wire(), Config())
    wrapped({}, stock.start_response)
    wrapped({}, other.start_response)
    assert seen == [QuickResponse, type(other)]

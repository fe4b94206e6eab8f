"""Repeated cache hits and 304s of `/image`, answered in front of Flask.

Why: once a request is understood (`recent`) and its answer is cached, what is left of
a hit is Flask's and Werkzeug's per-request machinery (request context, routing, the
hooks, a `Response` and its header list), about half of a hit's time in a profile
(`benchmarks/profile_paths.py`), and a hit is what an image server answers most.

How it stays the same answer. The shortcut never decides anything itself: it replays
what the app answered for the same request. When the `/image` view answers a plain hit
(200 with `X-Cache: HIT`, the body from the cache) or a 304, the status and header
list the app sent (every hook's headers included) are kept beside the understood
request, in its entry of the one request memo (`recent`: the key is its path, query,
the headers its understanding reads and `Origin`). The next request with that key is
answered from them when, at that moment, the source is found unchanged (the same
`Source` value) and, for a 200, the cache still holds a checked entry of the same
format (`DiskCache.lookup`: a damaged, evicted or replaced entry is never served).
Per request it adds only what varies: `X-Request-ID`, `Date` and the entry's
`Content-Length`; it counts and logs the request as the app would
(`observe.account`), one line of the same fields.

Anything else goes to the app: other methods; `Range`, `If-Range`,
`If-Modified-Since`, `If-Match`, `If-Unmodified-Since` (Werkzeug answers those); an
`If-None-Match` that is not exactly the ETag; a changed source; a missing entry;
nginx's `X-Accel-Redirect` answers (not kept). The standalone app alone installs it
(`create_app`): in a user's app, the user's own hooks (authentication, say) must see
every request.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import wrap_file

from pixserve.http.recent import RECALLED, Recalled, Remembered, RequestKey, request_key
from pixserve.http.responses import http_date_now
from pixserve.ops import observe
from pixserve.sources import LocalSource
from pixserve.transformer import BY_EXTENSION

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from pixserve.http.request import ImageRequest
    from pixserve.services import Services

log = logging.getLogger(__name__)

# Where the `/image` view leaves what a kept answer needs (the request, its log line).
ANSWERED = "pixserve.answered"
# Request headers the app answers itself (partial or conditional answers).
_APP_ANSWERS = (
    "HTTP_RANGE",
    "HTTP_IF_RANGE",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
)
# Headers made per request, never replayed.
_PER_REQUEST = frozenset({"x-request-id", "date", "content-length"})
_CACHE_PHASE = "cache"
# An entry up to this size is read (`os.read`) and handed to the server as bytes: one
# `sendall` with the headers, where `sendfile` costs the server more Python per request.
# `benchmarks/cache_hits.py --against` the commit before: 1.06x hits/s (0.63-1.35, 15
# rounds, small entries, one connection); on the sharp race's 640 px hits at 4
# connections, 0.90-0.92x the CPU per hit and 1.08-1.26x the hits/s (8 alternating
# rounds, load average 5-7). Larger entries are sent with `sendfile`.
READ_UP_TO = 256 * 1024
_ROUTE = "image"


@dataclass(frozen=True)
class Answered:
    """What the view left for the shortcut: the request understood, and its line."""

    request: ImageRequest
    line: observe.Asked


@dataclass(frozen=True)
class Replay:
    """One kept answer: its status and the headers that do not change per request."""

    status: str
    headers: list[tuple[str, str]]
    dated: bool  # the app sent `Date` (Werkzeug does on a 200, not on a 304)
    line: observe.Asked  # the request line the log tells
    extension: str = ""  # a hit's entry format


class HitShortcut:
    """WSGI middleware around the standalone app's `wsgi_app` (see the module's doc)."""

    def __init__(self, app: WSGIApplication, svc: Services) -> None:
        self.app = app
        self.svc = svc

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or any(
            name in environ for name in _APP_ANSWERS
        ):
            return self.app(environ, start_response)
        key = request_key(_ROUTE, environ)
        remembered = self.svc.recent.get(key)
        if remembered is not None and (remembered.hit or remembered.not_modified):
            try:
                answer = self._replay(remembered, key, environ, start_response)
            except Exception:  # a bug here: loud, and the app answers instead
                log.exception("the hit shortcut failed; the app answers this request")
                answer = None
            if answer is not None:
                return answer
        return self._through(key, remembered, environ, start_response)

    def _through(
        self,
        key: RequestKey,
        remembered: Remembered | None,
        environ: WSGIEnvironment,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        """The app answers; a plain hit or 304 of `/image` is kept for next time."""
        environ[RECALLED] = Recalled(key, remembered)  # the view needs not look again
        sent: list[Any] = []

        def starting(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            sent[:] = [status, headers]
            return start_response(status, headers, *rest)

        body = self.app(environ, starting)
        answered = environ.get(ANSWERED)
        if isinstance(answered, Answered) and sent:
            self._keep(key, answered, sent[0], sent[1], environ)
        return body

    def _keep(
        self,
        key: RequestKey,
        answered: Answered,
        status: str,
        headers: list[tuple[str, str]],
        environ: WSGIEnvironment,
    ) -> None:
        replayable = [(name, value) for name, value in headers if name.lower() not in _PER_REQUEST]
        names = {name.lower() for name, _ in headers}
        if not isinstance(answered.request.source, LocalSource):
            return  # a mount's source is a new value at each find: never the same
        if answered.request.overlays is not None:
            return  # its watermark or frame is a source too, found anew each time
        dated = "date" in names
        if status.startswith("304 ") and "HTTP_IF_NONE_MATCH" in environ:
            self._remembered(key, answered).not_modified = Replay(
                status, replayable, dated, answered.line
            )
        elif (
            status.startswith("200 ")
            and ("X-Cache", "HIT") in headers
            and "x-accel-redirect" not in names
            and "content-length" in names
            and "HTTP_IF_NONE_MATCH" not in environ
        ):
            content_type = dict(headers).get("Content-Type", "").partition(";")[0]
            extension = next(
                (
                    e
                    for e in answered.request.extensions
                    if e in BY_EXTENSION and BY_EXTENSION[e].mimetype == content_type
                ),
                None,
            )
            if extension is None:
                return
            self._remembered(key, answered).hit = Replay(
                status, replayable, dated, answered.line, extension
            )

    def _remembered(self, key: RequestKey, answered: Answered) -> Remembered:
        """The memo's entry for the request the app answered (the view remembered it,
        unless another thread's request replaced or pushed it out since)."""
        remembered = self.svc.recent.get(key)
        if remembered is None or remembered.request is not answered.request:
            remembered = self.svc.recent.remember(key, answered.request)
        return remembered

    def _replay(
        self,
        remembered: Remembered,
        key: RequestKey,
        environ: WSGIEnvironment,
        start_response: StartResponse,
    ) -> Iterable[bytes] | None:
        """The kept answer, when the source and (for a 200) the entry are still it."""
        observation = observe.Observation(observe.request_id_for(environ), time.perf_counter())
        req = remembered.request
        try:
            source = self.svc.sources.find(req.source.name)
        except HTTPException:  # a mount's origin failed: the app answers the problem
            return None
        if not self.svc.recent.still(key, remembered, source):
            return None
        given_etag = environ.get("HTTP_IF_NONE_MATCH")
        if given_etag is not None:
            if remembered.not_modified is None or given_etag != req.etag:
                return None
            replay = remembered.not_modified
            observation.output_format = _output_format(req)
            start_response(replay.status, [*replay.headers, *_per_request(replay, observation)])
            observe.account(self.svc, observation, _ROUTE, 304, 0, replay.line)
            return []
        if remembered.hit is None:
            return None
        replay = remembered.hit
        started = time.perf_counter()
        entry = self.svc.cache.lookup(req.key, req.extensions)
        if entry is None or entry.suffix != "." + replay.extension:
            return None
        try:
            fd = os.open(entry, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None  # evicted by another worker since the lookup
        try:
            size = os.fstat(fd).st_size
            head = environ["REQUEST_METHOD"] == "HEAD"
            # Read before answering: an entry is replaced whole, never rewritten, so
            # what the descriptor holds is one version of it, of this size.
            data = b"" if head or size > READ_UP_TO else _read_exactly(fd, size)
        except BaseException:
            os.close(fd)
            raise
        if head or size <= READ_UP_TO:
            os.close(fd)
        observation.timings[_CACHE_PHASE] = time.perf_counter() - started
        observation.cache, observation.output_format = "HIT", replay.extension
        extra = [("Content-Length", str(size)), *_per_request(replay, observation)]
        start_response(replay.status, [*replay.headers, *extra])
        observe.account(self.svc, observation, _ROUTE, 200, 0 if head else size, replay.line)
        if head:
            return []
        if size <= READ_UP_TO:
            return [data]
        return wrap_file(environ, os.fdopen(fd, "rb"))  # the server closes it once sent


def _read_exactly(fd: int, size: int) -> bytes:
    """The file's `size` bytes: one `os.read` (a plain file gives them all at once),
    where a file object would add a `lseek`, an `ioctl` and two `fstat`s."""
    data = os.read(fd, size)
    while len(data) < size:
        more = os.read(fd, size - len(data))
        if not more:
            raise OSError(f"a cache entry ended early: {len(data)} of {size} bytes")
        data += more
    return data


def _per_request(replay: Replay, observation: observe.Observation) -> list[tuple[str, str]]:
    request_id = (observe.REQUEST_ID_HEADER, observation.request_id)
    return [("Date", http_date_now()), request_id] if replay.dated else [request_id]


def _output_format(req: ImageRequest) -> str | None:
    if req.kind == "info":
        return "json"
    return req.choice.format.extension if req.choice.format is not None else None


def install(app: Any, svc: Services) -> None:
    """Put the shortcut in front of a Flask app's `wsgi_app`."""
    app.wsgi_app = HitShortcut(app.wsgi_app, svc)

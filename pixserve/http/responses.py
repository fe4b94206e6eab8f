"""From what was delivered to the HTTP answer, in one place: body, validators, caching
headers, and what the request's observation records.

Every image and `/info` answer, 200, 206 and 304 alike, carries the strong ETag (the
cache key), `Last-Modified` (the source's), `Cache-Control` and the `Vary` its
negotiation needs. Werkzeug's `make_conditional` answers `If-None-Match`,
`If-Modified-Since` and `Range` (206/416) for hits and misses alike.
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
from pathlib import Path
from urllib.parse import quote

from flask import Response, request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.http import http_date
from werkzeug.utils import get_content_type
from werkzeug.wsgi import wrap_file

from pixserve.http.delivery import Delivered
from pixserve.http.lifetimes import capped_max_age
from pixserve.http.request import INFO_EXTENSION, ImageRequest
from pixserve.ops import observe
from pixserve.services import Services
from pixserve.transformer import BY_EXTENSION

INFO_MIMETYPE = "application/json"
# What a header's quoted `filename` may hold as it is: printable ASCII but the quote
# and backslash (RFC 6266's fallback; header values are ISO-8859-1 at best).
_PLAIN_NAME = re.compile(r"[ !#-\[\]-~]*")


def disposition_names(name: str) -> dict[str, str]:
    """`Content-Disposition` parameters naming `name`: a plain `filename` as it is;
    any other gets an ASCII stand-in (accents dropped, the rest left out) and the real
    name in RFC 8187's `filename*=UTF-8''...` (RFC 6266), as Werkzeug's `send_file`
    writes them. A raw UTF-8 or control character in a header is refused by some
    servers (a 500) and misread by clients."""
    if _PLAIN_NAME.fullmatch(name):
        return {"filename": name}
    folded = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in folded if _PLAIN_NAME.fullmatch(c)).strip()
    suffix = Path(name).suffix if _PLAIN_NAME.fullmatch(Path(name).suffix) else ""
    if not plain.removesuffix(suffix).strip(" ."):  # nothing of the name was plain
        plain = f"image{suffix}"
    return {"filename": plain, "filename*": "UTF-8''" + quote(name, safe="!#$&+^`|~")}


# Request headers that make an answer conditional or partial: with none of them, a
# GET or HEAD of a hit is the whole file, and Werkzeug's `make_conditional` would only
# add `Date` and `Accept-Ranges` (set directly here, as that check showed in a hit's
# profile); with any of them, Werkzeug answers.
_CONDITIONAL = (
    "HTTP_RANGE",
    "HTTP_IF_RANGE",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
)
NOT_MODIFIED = "304"  # `fixed_headers` kind of the 304 (the others are extensions)


def respond(svc: Services, req: ImageRequest, delivered: Delivered | None) -> Response:
    """The answer to `req`; `delivered` None means the client's copy is current (304)."""
    if delivered is None:
        observe.note_format(_format_name(req))
        return Response(status=304, headers=_fixed_headers(svc, req, NOT_MODIFIED))
    response = _body(svc, req, delivered)
    observe.note_delivery(
        delivered.cache,
        _format_name(req, delivered.extension),
        delivered.timings,
        accel="X-Accel-Redirect" in response.headers,
    )
    if "X-Accel-Redirect" in response.headers:
        return response
    environ = request.environ
    if environ["REQUEST_METHOD"] in ("GET", "HEAD") and not any(
        name in environ for name in _CONDITIONAL
    ):
        response.headers["Date"] = http_date_now()
        response.headers["Accept-Ranges"] = "bytes"
        return response
    try:
        response.make_conditional(request, accept_ranges=True, complete_length=_length(delivered))
    except RequestedRangeNotSatisfiable:
        response.close()  # the cached file it holds open
        raise
    return response


def _fixed_headers(svc: Services, req: ImageRequest, kind: str) -> list[tuple[str, str]]:
    """The headers every answer of `kind` to `req` carries, made once per request (a
    repeated request is the same `ImageRequest`): type, file name, validators, caching.

    Every answer, 304 included, has the strong ETag (the cache key), `Last-Modified`
    (the source's; Werkzeug drops it from a 304), `Cache-Control` and `Vary`.
    """
    fixed = req.fixed_headers.get(kind)
    if fixed is not None:
        return fixed
    headers = Headers()
    if kind != NOT_MODIFIED:
        mimetype = INFO_MIMETYPE if req.kind == "info" else BY_EXTENSION[kind].mimetype
        headers["Content-Type"] = get_content_type(mimetype, "utf-8")
        if req.kind == "image":
            download_name = f"{Path(req.source.name).stem}.{kind}"
            headers.set("Content-Disposition", "inline", **disposition_names(download_name))
    headers["ETag"] = req.etag
    if req.source.last_modified is not None:
        headers["Last-Modified"] = http_date(req.source.last_modified)
    headers["Cache-Control"] = _cache_control(svc, req)
    if req.vary:
        headers["Vary"] = ", ".join(req.vary)
    fixed = req.fixed_headers[kind] = headers.to_wsgi_list()
    return fixed


_date_now: tuple[int, str] = (0, "")


def http_date_now() -> str:
    """`Date`'s value, formatted once a second."""
    global _date_now
    second = int(time.time())
    if _date_now[0] != second:
        _date_now = (second, http_date(second))
    return _date_now[1]


def _cache_control(svc: Services, req: ImageRequest) -> str:
    """`max-age`, or a versioned URL's long `immutable` one; `stale-while-revalidate`;
    a short `max-age` alone for a stand-in (`ImageRequest.interim`).

    Written as text in one assignment rather than through Werkzeug's parsed view: this
    runs on every hit and 304, where the round trip showed in the profile. No
    `public`: these answers carry no credentials, so every cache may keep them anyway.
    """
    http = svc.config.http
    if req.interim:  # replaced in moments: never immutable, no stale use
        return f"max-age={int(http.avif_upgrade_max_age)}"
    if req.options.version:
        value = f"max-age={int(http.versioned_max_age)}, immutable"
    else:
        value = f"max-age={http.max_age}"
    value = capped_max_age(value, req.options.max_age)
    if http.stale_while_revalidate:
        value += f", stale-while-revalidate={int(http.stale_while_revalidate)}"
    return value


def _body(svc: Services, req: ImageRequest, delivered: Delivered) -> Response:
    headers = [*_fixed_headers(svc, req, delivered.extension), ("X-Cache", delivered.cache)]
    if delivered.file is None and delivered.entry is not None:
        response = Response(status=200, headers=headers)
        relative = delivered.entry.relative_to(svc.cache.directory).as_posix()
        response.headers["X-Accel-Redirect"] = svc.config.ops.accel_redirect + quote(relative)
    elif delivered.file is not None:
        body = wrap_file(request.environ, delivered.file)
        response = Response(body, headers=headers, direct_passthrough=True)
        response.content_length = _length(delivered)
    else:
        response = Response(delivered.data, headers=headers)
    return response


def _length(delivered: Delivered) -> int:
    if delivered.file is not None:
        return os.fstat(delivered.file.fileno()).st_size
    return len(delivered.data or b"")


def _format_name(req: ImageRequest, extension: str | None = None) -> str | None:
    if req.kind == "info":
        return INFO_EXTENSION
    if extension is not None:
        return extension
    return req.choice.format.extension if req.choice.format is not None else None

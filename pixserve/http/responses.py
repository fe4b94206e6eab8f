"""From what was delivered to the HTTP answer, in one place: body, validators, caching
headers, and what the request's observation records.

Every image and `/info` answer, 200, 206 and 304 alike, carries the strong ETag (the
cache key), `Last-Modified` (the source's), `Cache-Control` and the `Vary` its
negotiation needs. Werkzeug's `make_conditional` answers `If-None-Match`,
`If-Modified-Since` and `Range` (206/416) for hits and misses alike.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from flask import Response, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wsgi import wrap_file

from pixserve.http.delivery import Delivered
from pixserve.http.request import INFO_EXTENSION, ImageRequest
from pixserve.ops import observe
from pixserve.services import Services
from pixserve.transformer import BY_EXTENSION

INFO_MIMETYPE = "application/json"


def respond(svc: Services, req: ImageRequest, delivered: Delivered | None) -> Response:
    """The answer to `req`; `delivered` None means the client's copy is current (304)."""
    if delivered is None:
        response = Response(status=304)
        observe.note_format(_format_name(req))
    else:
        response = _body(svc, req, delivered)
        response.headers["X-Cache"] = delivered.cache
        observe.note_delivery(
            delivered.cache,
            _format_name(req, delivered.extension),
            delivered.timings,
            accel="X-Accel-Redirect" in response.headers,
        )
    response.set_etag(req.key)
    response.last_modified = req.source.last_modified
    response.headers["Cache-Control"] = _cache_control(svc, req)
    if req.vary:
        response.vary.update(req.vary)
    if delivered is not None and "X-Accel-Redirect" not in response.headers:
        try:
            response.make_conditional(
                request, accept_ranges=True, complete_length=_length(delivered)
            )
        except RequestedRangeNotSatisfiable:
            response.close()  # the cached file it holds open
            raise
    return response


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
    if http.stale_while_revalidate:
        value += f", stale-while-revalidate={int(http.stale_while_revalidate)}"
    return value


def _body(svc: Services, req: ImageRequest, delivered: Delivered) -> Response:
    if req.kind == "info":
        mimetype = INFO_MIMETYPE
    else:
        mimetype = BY_EXTENSION[delivered.extension].mimetype
    if delivered.file is None and delivered.entry is not None:
        response = _accel_redirect(svc, delivered.entry, mimetype)
    elif delivered.file is not None:
        response = Response(
            wrap_file(request.environ, delivered.file), mimetype=mimetype, direct_passthrough=True
        )
        response.content_length = _length(delivered)
    else:
        response = Response(delivered.data, mimetype=mimetype)
    if req.kind == "image":
        download_name = f"{Path(req.source.name).stem}.{delivered.extension}"
        response.headers.set("Content-Disposition", "inline", filename=download_name)
    return response


def _accel_redirect(svc: Services, entry: Path, mimetype: str) -> Response:
    """An empty answer telling nginx to send the entry file itself (its `internal`
    location at `accel_redirect` aliases the cache folder); nginx does Range and the body."""
    response = Response(status=200, mimetype=mimetype)
    relative = entry.relative_to(svc.cache.directory).as_posix()
    response.headers["X-Accel-Redirect"] = svc.config.ops.accel_redirect + quote(relative)
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

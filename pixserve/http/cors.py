"""Cross-origin reads (`cors_origins`, off by default): a page on another origin may
draw pixserve's images onto a canvas, or `fetch` `/info`, only when allowed.

`*` allows every origin; otherwise the request's `Origin` is echoed when listed, and
the answer says `Vary: Origin` so a shared cache keeps one copy per origin. Image and
`/info` requests are simple GETs, so no preflight is needed.
"""

from __future__ import annotations

from flask import Response, request

from pixserve.services import services

ANY_ORIGIN = "*"


def allow_listed_origins(response: Response) -> Response:
    """After each pixserve request: `Access-Control-Allow-Origin` when configured."""
    allowed = services().config.http.cors_origins
    if not allowed:
        return response
    if ANY_ORIGIN in allowed:
        response.headers["Access-Control-Allow-Origin"] = ANY_ORIGIN
        return response
    response.vary.add("Origin")
    origin = request.headers.get("Origin", "")
    if origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response

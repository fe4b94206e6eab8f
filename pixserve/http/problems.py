"""Every error as `application/problem+json` (RFC 9457), mapped in one place.

Two families reach the handlers. `TransformError`s are what a client or a file can
cause in the transformer (each class knows its status, slug and metric reason).
Web-layer refusals are Werkzeug HTTP exceptions; those of pixserve's own are
`Problem`s, which add the slug and the metric reason. Anything else is a bug in our
code: a 500 whose traceback goes into the request's log line.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, current_app, json, request
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from pixserve.http.errors import Problem
from pixserve.ops import observe
from pixserve.transformer import TransformError

log = logging.getLogger(__name__)

MIMETYPE = "application/problem+json"
TYPE_PREFIX = "urn:pixserve:problem:"
# A bad URL stays bad, so a CDN may keep those answers briefly; any other error may
# be transient (a limit, an overloaded worker) and must not be cached.
CACHEABLE_STATUSES = {400, 404}
CACHEABLE_MAX_AGE = 60
_HTML_SENSITIVE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
# The metric reason of a plain Werkzeug error, by status (a `Problem` names its own).
_STATUS_REASONS = {404: "not_found"}


def problem(
    status: int, title: str, detail: str, *, slug: str | None = None, param: str | None = None
) -> Response:
    """A problem+json response; `type` is a stable URN per kind of problem."""
    body: dict[str, object] = {
        "type": TYPE_PREFIX + slug if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if param is not None:
        body["param"] = param
    # Readable JSON (UTF-8, apostrophes as they are), with <, > and & as \u escapes, so
    # no client input in a message can be read as markup, even by a browser that
    # ignores the type.
    text = json.dumps(body, ensure_ascii=False).translate(_HTML_SENSITIVE)
    response = Response(text, status=status, mimetype=MIMETYPE)
    if status in CACHEABLE_STATUSES:
        response.cache_control.max_age = CACHEABLE_MAX_AGE
    else:
        response.cache_control.no_store = True
    return response


def _transform_error(error: TransformError) -> Response:
    observe.note_problem(error.slug, error.detail, error.reason)
    return problem(error.status, error.title, error.detail, slug=error.slug, param=error.param)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    detail = error.description or error.name
    if isinstance(error, Problem):
        observe.note_problem(error.slug, detail, error.reason)
        response = problem(status, error.name, detail, slug=error.slug, param=error.param)
    else:
        observe.note_problem(f"http-{status}", detail, _STATUS_REASONS.get(status))
        response = problem(status, error.name, detail)
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value  # Allow on a 405, Retry-After on a 503
    return response


def _unexpected(error: Exception) -> Response:
    if not observe.note_error(error):  # else the request's own log line carries it
        log.exception("unhandled error")
    return _http_error(InternalServerError())


def answer_as_pixserve(scope: Flask | Blueprint) -> None:
    """Every error of `scope` as problem+json, and every answer `nosniff`.

    A blueprint of the extension does this for itself, so the app around it keeps its
    own error pages; the standalone app, which is pixserve's alone, does it once for
    everything instead.
    """
    scope.register_error_handler(TransformError, _transform_error)
    scope.register_error_handler(HTTPException, _http_error)
    scope.register_error_handler(Exception, _unexpected)
    scope.after_request(no_sniffing)


def answer_wrong_methods(app: Flask, blueprints: tuple[str, ...]) -> None:
    """A 405 for a URL of one of `blueprints` (`POST /image/...`) as problem+json.

    Flask raises 405 while routing, before any blueprint is chosen, so a blueprint's
    own handlers never see it; this app-wide handler answers for pixserve's URLs and
    leaves every other 405 as the app would (its own handler, when it has one, is
    kept: then pixserve's URLs get that one too)."""
    if MethodNotAllowed in app.error_handler_spec[None].get(405, {}):
        return

    def wrong_method(error: MethodNotAllowed) -> Response | MethodNotAllowed:
        adapter = current_app.create_url_adapter(request)
        try:
            endpoint = adapter.match(method="GET")[0] if adapter is not None else ""
        except HTTPException:
            endpoint = ""
        if str(endpoint).split(".", 1)[0] in blueprints:
            return no_sniffing(_http_error(error))
        return error

    app.register_error_handler(MethodNotAllowed, wrong_method)


def no_sniffing(response: Response) -> Response:
    """Every response says its type is final: no browser may guess HTML from bytes."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

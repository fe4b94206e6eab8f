"""One record per request, written once: a log line, the metrics, two headers.

Views and error handlers add what they learn to the request's `Observation` (cache
status, output format, timings, source bytes, the problem answered, an unexpected
error). When the response is made, `finish` adds `X-Request-ID` (the client's or
proxy's own when it sent a sane one) and, on misses, `Server-Timing`; counts the
request; and logs its one line, which for a 500 carries the error and its traceback.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from pixserve.ops.logs import REQUEST_ID_KEY
from pixserve.services import Services, services
from pixserve.transformer.timings import PHASES

log = logging.getLogger("pixserve.requests")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_OBSERVATION_KEY = "pixserve_observation"
# The phases Server-Timing reports, in order: fetching the original (from an S3 or
# HTTP source), the transformer's, then the cache's.
SERVER_TIMING_PHASES = ("fetch", *PHASES, "cache")


@dataclass
class Observation:
    """What one request did; `timings` in seconds by phase (decode, resize, encode, cache)."""

    request_id: str
    started: float
    cache: str | None = None  # "HIT" or "MISS"
    accel: bool = False  # the hit was handed to nginx with X-Accel-Redirect
    output_format: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    source_bytes: int = 0
    problem: str | None = None  # the problem's slug, or http-<status>
    detail: str | None = None
    reason: str | None = None  # why a client's request was refused, as a metric label
    error: BaseException | None = None


def install(app: Flask, covers: Callable[[], bool]) -> None:
    """Observe the app's requests for which `covers()` is true."""

    def start() -> None:
        if covers():
            request_id = _request_id()
            g.setdefault(REQUEST_ID_KEY, request_id)
            g.setdefault(_OBSERVATION_KEY, Observation(request_id, time.perf_counter()))

    def finish_observed(response: Response) -> Response:
        observation = current()
        if observation is not None:
            g.pop(_OBSERVATION_KEY)
            finish(observation, response)
        return response

    app.before_request(start)
    app.after_request(finish_observed)


def current() -> Observation | None:
    """The request's observation, or None outside an observed request."""
    if not has_request_context():
        return None
    found: Observation | None = g.get(_OBSERVATION_KEY)
    return found


def _request_id() -> str:
    return request_id_for(request.environ)


def request_id_for(environ: Mapping[str, Any]) -> str:
    """The client's or proxy's `X-Request-ID` when sane, else a new random one."""
    given: str = environ.get("HTTP_X_REQUEST_ID", "")
    if given and _SANE_REQUEST_ID.fullmatch(given):
        return given
    return os.urandom(16).hex()  # as random as a uuid4's hex, a tenth of its cost


# What views and handlers tell the observation (each does nothing outside one).


def note_delivery(
    cache: str,
    output_format: str | None,
    timings: Mapping[str, float],
    *,
    accel: bool = False,
) -> None:
    """What answered the request: HIT or MISS, the format, each phase's seconds, and
    whether nginx sends the body."""
    if (observation := current()) is not None:
        observation.cache, observation.accel = cache, accel
        observation.output_format = output_format
        observation.timings.update(timings)


def note_source_read(count: int) -> None:
    """Bytes of the source read to make a result (none on a hit)."""
    if (observation := current()) is not None:
        observation.source_bytes += count


def note_format(extension: str | None) -> None:
    if (observation := current()) is not None:
        observation.output_format = extension


def note_problem(slug: str, detail: str, reason: str | None) -> None:
    if (observation := current()) is not None:
        observation.problem, observation.detail, observation.reason = slug, detail, reason


def note_error(error: BaseException) -> bool:
    """Keep an unexpected error for the request's line; False when there is no such line."""
    if (observation := current()) is None:
        return False
    observation.error = error
    return True


# The end of a request.


def finish(observation: Observation, response: Response) -> None:
    svc = services()
    response.headers[REQUEST_ID_HEADER] = observation.request_id
    if observation.cache == "MISS" and svc.config.ops.server_timing:
        response.headers["Server-Timing"] = server_timing(observation.timings)
    sent = 0 if request.method == "HEAD" or observation.accel else response.content_length or 0
    account(svc, observation, _route(), response.status_code, sent, asked())


@dataclass(frozen=True)
class Asked:
    """The request line as the log tells it: method, path, query (as received)."""

    method: str
    path: str
    query: str
    url: str  # path and query as in the message, `/image/a.jpg?w=300`


def asked() -> Asked:
    """The current Flask request's line."""
    return Asked(
        request.method,
        request.path,
        request.query_string.decode("latin-1"),
        request.full_path.rstrip("?"),
    )


def account(
    svc: Services, observation: Observation, route: str, status: int, sent: int, line: Asked
) -> None:
    """Count the answered request and log its line (also for answers made without
    Flask: `pixserve.http.shortcut`)."""
    seconds = time.perf_counter() - observation.started
    svc.metrics.observe_request(
        route,
        status,
        observation.output_format or "",
        seconds,
        observation.timings,
        observation.source_bytes,
        rejection_reason(status, observation.reason),
    )
    _log(observation, status, sent, route, seconds, line)


def server_timing(timings: Mapping[str, float]) -> str:
    """`decode;dur=12.3, resize;dur=4.1, ...` in milliseconds, the phases that ran."""
    return ", ".join(
        f"{phase};dur={timings[phase] * 1000:.1f}"
        for phase in SERVER_TIMING_PHASES
        if phase in timings
    )


def rejection_reason(status: int, reason: str | None) -> str | None:
    """Why a client's request was refused (a 4xx, or the time limit's 503); else None."""
    if reason is not None:
        return reason
    return "other" if 400 <= status < 500 else None


def _route() -> str:
    """The matched endpoint without its blueprint (`image`, `info`, `metrics`...)."""
    rule = request.url_rule
    if rule is None or rule.endpoint is None:
        return "unmatched"
    return str(rule.endpoint).rpartition(".")[2]


def _log(
    observation: Observation, status: int, sent: int, route: str, seconds: float, line: Asked
) -> None:
    fields: dict[str, Any] = {
        "request_id": observation.request_id,
        "method": line.method,
        "path": line.path,
        "query": line.query,
        "route": route,
        "status": status,
        "bytes": sent,
        "duration_ms": round(seconds * 1000, 2),
    }
    if observation.cache is not None:
        fields["cache"] = observation.cache
    if observation.accel:
        fields["accel"] = True
    if observation.output_format is not None:
        fields["format"] = observation.output_format
    if observation.timings:
        fields["timings_ms"] = {
            phase: round(value * 1000, 2) for phase, value in observation.timings.items()
        }
    if observation.source_bytes:
        fields["source_bytes"] = observation.source_bytes
    if observation.problem is not None:
        fields["problem"] = observation.problem
        fields["detail"] = observation.detail
    message = f"{line.method} {line.url} {status}"
    error = observation.error
    if error is not None:
        log.error(message, exc_info=(type(error), error, error.__traceback__), extra=_extra(fields))
    elif status >= 500:
        log.warning(message, extra=_extra(fields))
    else:
        log.info(message, extra=_extra(fields))


def _extra(fields: dict[str, Any]) -> dict[str, Any]:
    return {"fields": fields}

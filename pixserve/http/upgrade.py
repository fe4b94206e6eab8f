"""AVIF without the wait: answer the WebP now, make the AVIF in the background.

With `avif` and `avif_upgrade` on, a request negotiated to AVIF (`fmt=auto`, or
`fmt=best` with AVIF among its candidates) whose AVIF is not cached yet is answered
with what the same request would get with `avif` off (the WebP, cached or made now),
as a stand-in: its own ETag (the WebP variant's key), `Vary: Accept`, and a short
`max-age` (`avif_upgrade_max_age`, never `immutable`). The AVIF is queued for this
process's background thread (`background.py`), made once across workers and nodes
sharing the cache folder (the cache's single flight), within the memory budget and the
time limit, and stored; the next request gets it with the normal caching headers.

A client revalidating its stand-in with the WebP's ETag gets the AVIF (200) once it
exists, and a 304 until then: `If-None-Match` is compared with the key of what is
answered, and that is the AVIF as soon as it is cached.

Each upgrade is counted and logged as a request of route `upgrade` (status 200, or the
status its failure would have had), with the id of the request that asked for it.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from typing import Any

from flask import request
from werkzeug.exceptions import HTTPException

from pixserve.http.delivery import Delivered, Made, deliver, lookup, make_ahead
from pixserve.http.errors import Problem
from pixserve.http.keys import cache_key
from pixserve.http.negotiate import choose
from pixserve.http.request import ImageRequest
from pixserve.ops import observe
from pixserve.services import Services
from pixserve.sources.watermarks import overlay_identity
from pixserve.transformer import FORMATS, TransformError

ROUTE = "upgrade"  # the route label of background upgrades in the metrics and logs
AVIF = FORMATS["avif"].name

log = logging.getLogger("pixserve.requests")  # one line per upgrade, beside the requests'


def deliver_upgrading(svc: Services, req: ImageRequest) -> tuple[ImageRequest, Delivered]:
    """What answers `req` and the request it answers as: `req` itself, or, while its
    AVIF is not cached, the stand-in (with the AVIF queued to be made)."""
    if not upgrades(svc, req):
        return req, deliver(svc, req)
    hit = lookup(svc, req)
    if hit is not None:
        return req, hit
    interim = stand_in(req)
    delivered = deliver(svc, interim)
    schedule(svc, req)  # now: a background encode would slow the stand-in's own
    return interim, delivered


def upgrades(svc: Services, req: ImageRequest) -> bool:
    """True when `req` may be answered by a stand-in while its AVIF is made."""
    imaging = svc.config.imaging
    return (
        imaging.avif
        and imaging.avif_upgrade
        and req.kind == "image"
        and req.choice.negotiated
        and any(f.name == AVIF for f in (req.choice.format, *req.choice.candidates) if f)
    )


def stand_in(req: ImageRequest) -> ImageRequest:
    """`req` as it would be with `avif` off (WebP for every browser that takes AVIF),
    marked `interim` for its short `max-age`."""
    choice = choose(req.options.fmt, request.accept_mimetypes, req.source.format, False)
    key = cache_key(req.source, req.options, choice, overlay_identity(req.overlays))
    # its own fixed headers: `replace` would share the asked request's dict
    return dataclasses.replace(req, choice=choice, key=key, interim=True, fixed_headers={})


def schedule(svc: Services, req: ImageRequest) -> bool:
    """Queue the making of `req`'s result; False when it is queued already or the queue
    is full (a later request asks again)."""
    observation = observe.current()
    asked_by = observation.request_id if observation is not None else None
    queued = svc.background.submit(req.key, functools.partial(upgrade, svc, req, asked_by))
    if not queued and svc.background.pending() >= svc.background.capacity:
        log.info(
            "no upgrade of %s now: the background queue is full",
            req.source.name,
            extra={"fields": {"route": ROUTE, "key": req.key, "queue": "full"}},
        )
    return queued


def upgrade(svc: Services, req: ImageRequest, asked_by: str | None = None) -> Made | None:
    """Make and store `req`'s result unless it is cached; observe it as a request of
    route `upgrade`. Never raises: a failure is counted, logged (a fault of our own with
    its traceback) and left for a later request to try again."""
    started = time.perf_counter()
    made: Made | None = None
    status, reason, error, detail = 200, None, None, None
    try:
        made = make_ahead(svc, req)
        if made is None:
            return None  # made meanwhile by another worker or node
    except TransformError as problem:  # the source cannot be made into this
        status, reason, detail = problem.status, problem.reason, problem.detail
    except Problem as problem:  # the memory budget or the time limit
        status, reason, detail = problem.code or 503, problem.reason, problem.description
    except HTTPException as problem:  # the source went away since the request
        status, detail = problem.code or 500, problem.description
    except Exception as fault:  # a bug of ours
        status, error = 500, fault
    seconds = time.perf_counter() - started
    extension = made.extension if made is not None else _extension(req)
    svc.metrics.observe_request(
        ROUTE,
        status,
        extension,
        seconds,
        made.timings if made is not None else {},
        req.source.size if made is not None else 0,
        observe.rejection_reason(status, reason),
    )
    fields: dict[str, Any] = {
        "route": ROUTE,
        "status": status,
        "name": req.source.name,
        "key": req.key,
        "format": extension,
        "duration_ms": round(seconds * 1000, 2),
    }
    if asked_by is not None:
        fields["request_id"] = asked_by
    if made is not None:
        fields["bytes"] = len(made.data)
        fields["timings_ms"] = {k: round(v * 1000, 2) for k, v in made.timings.items()}
    if detail is not None:
        fields["detail"] = detail
    message = f"{ROUTE} {req.source.name} {req.options.canonical()} {status}"
    if error is not None:
        trace = (type(error), error, error.__traceback__)
        log.error(message, exc_info=trace, extra={"fields": fields})
    elif status >= 400:
        log.warning(message, extra={"fields": fields})
    else:
        log.info(message, extra={"fields": fields})
    return made


def _extension(req: ImageRequest) -> str:
    return req.choice.format.extension if req.choice.format is not None else ""

"""One cache-through path for `/image` and `/info`: lookup, single flight, make, store.

`deliver` answers what a request asks for from the result cache when it can, and
otherwise makes it once: concurrent misses of one key, in any worker, wait for the
first one's result instead of each decoding the source. It returns what was
delivered and what it cost; `pixserve.http.responses` turns that into headers, and
the observation into the request's metrics and log line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO, Literal

from flask import abort
from PIL import Image

from pixserve.http.deadline import Deadline
from pixserve.http.isolation import run_isolated, transform_isolated
from pixserve.http.policy import isolates
from pixserve.http.qualities import CachedQualities
from pixserve.http.request import INFO_EXTENSION, ImageRequest
from pixserve.ops import observe
from pixserve.services import Services
from pixserve.transformer import Format, Options, Result, transform
from pixserve.transformer.cost import estimate_cost
from pixserve.transformer.info import describe, describe_cost

CACHE_PHASE = "cache"  # time spent in the result cache, beside the transformer's phases


@dataclass(frozen=True)
class Made:
    """A result just made from the source's bytes."""

    data: bytes
    extension: str
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Delivered:
    """What answers a request: a result just made (`data`), or a cached one (`file`,
    opened, so an eviction between lookup and sending cannot take it away; or only
    its `entry` path when nginx is to send it)."""

    extension: str
    cache: Literal["HIT", "MISS"]
    data: bytes | None = None
    file: BinaryIO | None = None
    entry: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)


def deliver(svc: Services, req: ImageRequest) -> Delivered:
    """The cached answer, or one made now (once across workers) and stored."""
    timings: dict[str, float] = {}
    hit = _cached(svc, req, timings)
    if hit is not None:
        return hit
    with svc.cache.single_flight(req.key):
        hit = _cached(svc, req, timings)  # made while we waited?
        if hit is not None:
            return hit
        # the time limit counts from here: waits for a turn and for memory included
        deadline = Deadline(svc.config.imaging.time_limit)
        with svc.makers.take(within=deadline.remaining()):  # or 503 once the wait ends
            made = _make(svc, req, timings, deadline)
    return Delivered(made.extension, "MISS", data=made.data, timings={**made.timings, **timings})


def lookup(svc: Services, req: ImageRequest) -> Delivered | None:
    """The cached answer, or None; nothing is made."""
    return _cached(svc, req, {})


def make_ahead(svc: Services, req: ImageRequest) -> Made | None:
    """Make and store `req`'s result for later requests unless it is cached (None),
    once across workers. No client waits on it, so it takes no maker slot (those keep
    foreground requests going); the time limit and the memory budget apply as to every
    make."""
    with svc.cache.single_flight(req.key):
        if svc.cache.lookup(req.key, req.extensions) is not None:
            return None
        timings: dict[str, float] = {}
        made = _make(svc, req, timings, Deadline(svc.config.imaging.time_limit))
    return Made(made.data, made.extension, {**made.timings, **timings})


def _make(svc: Services, req: ImageRequest, timings: dict[str, float], deadline: Deadline) -> Made:
    """Read the source, make the result, store it (best effort)."""
    try:
        data = req.source.read()
    except OSError:  # removed since it was found
        abort(404, description=f"no image named {req.source.name!r}")
    observe.note_source_read(len(data))  # counted even when making then fails
    made = MAKERS[req.kind](svc, req, data, deadline)
    with _timed(timings):
        svc.cache.store(req.key, made.extension, made.data, req.source.name)
    return made


def _cached(svc: Services, req: ImageRequest, timings: dict[str, float]) -> Delivered | None:
    with _timed(timings):
        entry = svc.cache.lookup(req.key, req.extensions)
        if entry is None:
            return None
        extension = entry.suffix[1:]
        if svc.config.ops.accel_redirect and req.kind == "image":
            return Delivered(extension, "HIT", entry=entry, timings=timings)
        try:
            file = open(entry, "rb")  # noqa: SIM115 - closed by the response that sends it
        except FileNotFoundError:
            return None  # evicted by another worker since the lookup
    return Delivered(extension, "HIT", file=file, entry=entry, timings=timings)


@contextmanager
def _timed(timings: dict[str, float]) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[CACHE_PHASE] = timings.get(CACHE_PHASE, 0.0) + time.perf_counter() - started


def _make_image(svc: Services, req: ImageRequest, data: bytes, deadline: Deadline) -> Made:
    memory = CachedQualities(svc.cache, req.source)  # q=auto's remembered qualities
    choice = req.choice
    drawn = svc.overlays.pictures(req.overlays) if req.overlays else None  # wm, ninepatch
    result = _transform(
        svc, data, req.options, choice.format, deadline, memory, choice.candidates, drawn
    )
    return Made(result.data, result.format.extension, dict(result.timings))


def transform_outside_cache(svc: Services, data: bytes, options: Options, output: Format) -> Result:
    """A transform whose result is not kept (thumbor's `meta/` of a smart crop, which
    reports what the crop cut): the same turn, time limit, memory budget and isolation
    as one that makes a result."""
    deadline = Deadline(svc.config.imaging.time_limit)
    with svc.makers.take(within=deadline.remaining()):  # or 503 once the wait ends
        return _transform(svc, data, options, output, deadline)


def _transform(
    svc: Services,
    data: bytes,
    options: Options,
    output: Format | None,
    deadline: Deadline,
    memory: CachedQualities | None = None,
    candidates: tuple[Format, ...] = (),
    overlays: Mapping[str, Image.Image] | None = None,
) -> Result:
    """Admitted by its estimated memory, then transformed, within the deadline (which
    also covered the wait for this process's turn): so no request that makes an image
    takes much longer than `time_limit` (`benchmarks/stress.py`). Big work
    (`policy.isolates`) runs in a child the limit kills and whose memory all goes back
    when it ends; the rest is checked between steps, so it outlasts the limit by at
    most one step."""
    cost = estimate_cost(data, options, output, svc.image_limits, svc.encoder)
    with svc.admission.reserve(cost.memory, within=deadline.remaining()):
        args = (data, options, output, svc.image_limits, svc.colour, memory)
        if isolates(cost):  # a child's kept decodes would end with it: none passed
            return transform_isolated(deadline, *args, candidates, overlays, svc.encoder)
        return transform(
            *args,
            candidates,
            svc.decoded,
            deadline.check,
            overlays=overlays,
            encoder=svc.encoder,
        )


def _make_info(svc: Services, req: ImageRequest, data: bytes, deadline: Deadline) -> Made:
    """Under the same time limit and policy as an image: its thumbnail is a transform,
    of the whole source for most formats. Never waits for the memory budget (its
    documented promise, as for hits)."""
    if isolates(describe_cost(data, svc.image_limits)):
        facts = run_isolated(partial(describe, data, svc.image_limits, svc.colour), deadline)
    else:
        facts = describe(data, svc.image_limits, svc.colour, deadline.check)
    return Made(json.dumps({"name": req.source.name, **facts}).encode(), INFO_EXTENSION)


MAKERS: dict[str, Callable[[Services, ImageRequest, bytes, Deadline], Made]] = {
    "image": _make_image,
    "info": _make_info,
}

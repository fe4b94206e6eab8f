"""The HTTP face of the transformer: `/image/<name>` and `/info/<name>`."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, abort, request, send_file

from pixserve.cache import DiskCache
from pixserve.config.settings import Config
from pixserve.http import problems
from pixserve.http.deadline import Deadline
from pixserve.http.hints import HINT_HEADERS, hints_apply, with_hints
from pixserve.http.keys import cache_key, info_key
from pixserve.http.negotiate import Choice, choose
from pixserve.http.qualities import CachedQualities
from pixserve.http.savedata import SAVE_DATA, varies_with_save_data, with_save_data
from pixserve.http.signing import split_signature, verify
from pixserve.ops import observe
from pixserve.services import Services, services
from pixserve.sources.local import Source, find_source
from pixserve.transformer import (
    BY_EXTENSION,
    ImageTooLarge,
    InvalidOption,
    Options,
    UnsupportedImage,
    parse_options,
    transform,
)
from pixserve.transformer.info import describe

BLUEPRINT = "pixserve"


def make_blueprint(image_prefix: str = "/image", info_prefix: str = "/info") -> Blueprint:
    """The `/image` and `/info` routes at the given prefixes, answering problem+json.

    Error handlers and `nosniff` are the blueprint's own, so an app that adds pixserve
    keeps its own error pages and headers for its own routes.
    """
    blueprint = Blueprint(BLUEPRINT, __name__)
    for prefix, view in ((image_prefix, image), (info_prefix, info)):
        blueprint.add_url_rule(
            f"{prefix.rstrip('/')}/<path:name>", view_func=view, merge_slashes=False
        )
    problems.register(blueprint)
    blueprint.after_request(no_sniffing)
    return blueprint


def no_sniffing(response: Response) -> Response:
    """Every response says its type is final: no browser may guess HTML from bytes."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def image(name: str) -> Response:
    """Serve `name` transformed by the query; GET and HEAD."""
    svc = services()
    pairs, given_signature = split_signature(request.args.items(multi=True))
    options = parse_options(pairs, svc.limits)
    source = _checked_source(svc, name, options.canonical(), given_signature)
    hinted = svc.config.client_hints and hints_apply(pairs)
    if hinted:  # after the signature check: the signature covers the URL as written
        hints = {header: request.headers.get(header, "") for header in HINT_HEADERS}
        options = with_hints(options, pairs, hints, svc.limits)
    options = with_save_data(options, request.headers.get(SAVE_DATA))
    choice = choose(options.fmt, request.accept_mimetypes, source.format, svc.config.avif)
    key = cache_key(source, options, choice)
    observe.note_format(choice.format.extension if choice.format is not None else None)

    if request.if_none_match.contains_weak(key):
        response = Response(status=304)
    else:
        response = _serve_hit(svc, key, choice, source) or _serve_miss(
            svc, key, source, options, choice
        )
    if hinted:
        response.vary.update(HINT_HEADERS)
    if varies_with_save_data(options):
        response.vary.add(SAVE_DATA)
    return _decorate(response, key, source, choice, svc.config)


def info(name: str) -> Response:
    """JSON facts about a source (size, format, colour, placeholders); GET and HEAD."""
    svc = services()
    pairs, given_signature = split_signature(request.args.items(multi=True))
    for param, _ in pairs:
        if param != "v":
            raise InvalidOption(f"/info takes only v (and s), not {param[:40]!r}", param=param[:40])
    options = parse_options(pairs, svc.limits)  # validates v
    source = _checked_source(svc, name, options.canonical(), given_signature)
    key = info_key(source, options.version)
    choice = Choice(None, negotiated=False)
    observe.note_format(INFO_EXTENSION)
    if request.if_none_match.contains_weak(key):
        return _decorate(Response(status=304), key, source, choice, svc.config)
    with observe.timed("cache"):
        cached = svc.cache.lookup(key, (INFO_EXTENSION,))
        body = _read_cached(cached) if cached is not None else None
    observe.note_cache("MISS" if body is None else "HIT")
    if body is None:
        try:
            data = source.read()
        except OSError:
            abort(404, description=f"no image named {source.name!r}")
        observe.add_source_bytes(len(data))
        with Deadline(svc.config.time_limit):
            facts = describe(data, svc.image_limits, svc.colour)
        body = json.dumps({"name": source.name, **facts}).encode()
        with observe.timed("cache"):
            svc.cache.store(key, INFO_EXTENSION, body, source.name)
    response = send_file(
        io.BytesIO(body),
        mimetype="application/json",
        etag=key,
        last_modified=source.mtime,
        conditional=True,
    )
    response.headers["X-Cache"] = "MISS" if cached is None else "HIT"
    return _decorate(response, key, source, choice, svc.config)


INFO_EXTENSION = "json"


def _read_cached(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _checked_source(
    svc: Services, name: str, canonical_query: str, given_signature: str | None
) -> Source:
    """The signature (when signing is on), then the file: found, an image, not too big."""
    if svc.config.signing_keys:  # before the file system is touched
        verify(svc.config.signing_keys, request.path, canonical_query, given_signature)
    source = find_source(svc.config.root, name)
    if source is None:
        abort(404, description=f"no image named {name!r}")
    if source.format is None:
        raise UnsupportedImage(f"{name!r} is not an image format pixserve reads")
    if source.size > svc.config.max_source_bytes:
        raise ImageTooLarge(
            f"the file is {source.size} bytes; the limit is {svc.config.max_source_bytes} bytes"
        )
    return source


def _serve_hit(svc: Services, key: str, choice: Choice, source: Source) -> Response | None:
    """The cached result, served by path (Range, sendfile), or handed to nginx by
    `X-Accel-Redirect` when `accel_redirect` is set; None on a miss."""
    with observe.timed("cache"):
        hit = svc.cache.lookup(key, choice.extensions)
    if hit is None:
        return None
    fmt = BY_EXTENSION[hit.suffix[1:]]
    download_name = _download_name(source, fmt.extension)
    accel = svc.config.accel_redirect
    if accel:
        response = _accel_redirect(svc.cache, hit, accel, fmt.mimetype, download_name)
    else:
        try:
            response = _send(hit, fmt.mimetype, download_name, key, source)
        except FileNotFoundError:
            return None  # evicted by another worker between lookup and open
    response.headers["X-Cache"] = "HIT"
    observe.note_cache("HIT", accel=bool(accel))
    observe.note_format(fmt.extension)
    return response


def _accel_redirect(
    cache: DiskCache, hit: Path, prefix: str, mimetype: str, download_name: str
) -> Response:
    """An empty answer telling nginx to send the entry file itself (its `internal`
    location at `prefix` aliases the cache folder); nginx does Range and the body."""
    response = Response(status=200, mimetype=mimetype)
    relative = hit.relative_to(cache.directory).as_posix()
    response.headers["X-Accel-Redirect"] = prefix + quote(relative)
    response.headers.set("Content-Disposition", "inline", filename=download_name)
    return response


def _serve_miss(
    svc: Services, key: str, source: Source, options: Options, choice: Choice
) -> Response:
    """Transform now, store the result (best effort), serve it from memory.

    Concurrent misses for one key, in any worker, wait for the first one's result.
    """
    with svc.cache.single_flight(key):
        hit = _serve_hit(svc, key, choice, source)  # made while we waited?
        if hit is not None:
            return hit
        try:
            data = source.read()
        except OSError:
            abort(404, description=f"no image named {source.name!r}")  # removed since the lookup
        observe.add_source_bytes(len(data))
        with Deadline(svc.config.time_limit):
            memory = CachedQualities(svc.cache, source)
            result = transform(
                data,
                options,
                choice.format,
                svc.image_limits,
                svc.colour,
                memory,
                choice.candidates,
            )
        observe.add_timings(result.timings)
        with observe.timed("cache"):
            svc.cache.store(key, result.format.extension, result.data, source.name)
    observe.note_cache("MISS")
    observe.note_format(result.format.extension)
    name_out = _download_name(source, result.format.extension)
    response = _send(io.BytesIO(result.data), result.format.mimetype, name_out, key, source)
    response.headers["X-Cache"] = "MISS"
    return response


def _download_name(source: Source, extension: str) -> str:
    return f"{Path(source.name).stem}.{extension}"


def _send(
    body: Path | io.BytesIO, mimetype: str, download_name: str, key: str, source: Source
) -> Response:
    """`send_file` does 304/412 on If-* headers, Range (206/416) and Content-Length."""
    return send_file(
        body,
        mimetype=mimetype,
        download_name=download_name,
        etag=key,
        last_modified=source.mtime,
        conditional=True,
    )


def _decorate(
    response: Response, key: str, source: Source, choice: Choice, config: Config
) -> Response:
    """Headers every image response carries, 200, 206 and 304 alike."""
    response.set_etag(key)
    response.last_modified = datetime.fromtimestamp(source.mtime, UTC)
    # One assignment instead of three through the parsed `cache_control` view: this
    # runs on every hit and 304, where Werkzeug's round trip showed in the profile.
    response.headers["Cache-Control"] = f"public, max-age={config.max_age}"
    if choice.negotiated:
        response.vary.add("Accept")
    return response

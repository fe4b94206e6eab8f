"""The HTTP face of the transformer: `/image/<name>` and the optional index page."""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file

from cache import DiskCache
from transformer import (
    BY_EXTENSION,
    Limits,
    Options,
    TransformError,
    UnsupportedImage,
    parse_options,
    transform,
    upright_size,
)

from .config import Config
from .keys import cache_key
from .negotiate import Choice, choose
from .sources import Source, find_source

blueprint = Blueprint("pixserve", __name__)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """What the views need, built once by the app factory from the validated config."""

    config: Config
    cache: DiskCache
    limits: Limits


def services() -> Services:
    found: Services = current_app.extensions["pixserve"]
    return found


@blueprint.get("/image/<path:name>", merge_slashes=False)
def image(name: str) -> Response:
    """Serve `name` transformed by the query; GET and HEAD."""
    svc = services()
    options = parse_options(request.args.items(multi=True), svc.limits)
    source = find_source(svc.config.root, name)
    if source is None:
        abort(404, description=f"no image named {name!r}")
    if source.format is None:
        raise UnsupportedImage(f"{name!r} is not an image format pixserve reads")
    choice = choose(options.fmt, request.accept_mimetypes, source.format, svc.config.avif)
    key = cache_key(source, options, choice)

    if request.if_none_match.contains_weak(key):
        return _decorate(Response(status=304), key, source, choice, svc.config)

    response = _serve_hit(svc.cache, key, choice, source)
    if response is None:
        response = _serve_miss(svc, key, source, options, choice)
    return _decorate(response, key, source, choice, svc.config)


def _serve_hit(cache: DiskCache, key: str, choice: Choice, source: Source) -> Response | None:
    """The cached result, served by path (Range, sendfile); None on a miss."""
    hit = cache.lookup(key, choice.extensions)
    if hit is None:
        return None
    fmt = BY_EXTENSION[hit.suffix[1:]]
    try:
        response = _send(hit, fmt.mimetype, _download_name(source, fmt.extension), key, source)
    except FileNotFoundError:
        return None  # evicted by another worker between lookup and open
    response.headers["X-Cache"] = "HIT"
    return response


def _serve_miss(
    svc: Services, key: str, source: Source, options: Options, choice: Choice
) -> Response:
    """Transform now, store the result (best effort), serve it from memory.

    Concurrent misses for one key, in any worker, wait for the first one's result.
    """
    with svc.cache.single_flight(key):
        hit = _serve_hit(svc.cache, key, choice, source)  # made while we waited?
        if hit is not None:
            return hit
        try:
            data = source.read()
        except OSError:
            abort(404, description=f"no image named {source.name!r}")  # removed since the lookup
        log.info("transform name=%s key=%s", source.name, key)
        result = transform(
            data, options, choice.format, max_source_pixels=svc.config.max_source_pixels
        )
        svc.cache.store(key, result.format.extension, result.data, source.name)
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
    response.cache_control.public = True
    response.cache_control.max_age = config.max_age
    response.cache_control.no_cache = None
    response.headers["X-Content-Type-Options"] = "nosniff"
    if choice.negotiated:
        response.vary.add("Accept")
    return response


_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".tif", ".tiff", ".bmp"}
INDEX_LIMIT = 60


@blueprint.get("/")
def index() -> str:
    """A page showing the root's images through `/image` (only when `index` is on)."""
    svc = services()
    if not svc.config.index:
        abort(404, description="the index page is off; set PIXSERVE_INDEX=1 to show it")
    names = sorted(_image_names(svc.config.root))[:INDEX_LIMIT]
    hero, widths = _hero(svc.config, names)
    return render_template("index.html", names=names, hero=hero, srcset_widths=widths)


SRCSET_WIDTHS = (320, 640, 960, 1280, 1920)


def _hero(config: Config, names: list[str]) -> tuple[str | None, list[int]]:
    """The biggest picture, with the srcset widths that do not exceed its own width."""
    for name in sorted(names, key=lambda n: (config.root / n).stat().st_size, reverse=True):
        try:
            width, _ = upright_size((config.root / name).read_bytes(), config.max_source_pixels)
        except (TransformError, OSError):
            continue
        return name, [w for w in SRCSET_WIDTHS if w < width] + [width]
    return None, []


def _image_names(root: Path) -> list[str]:
    names = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        for file in files:
            if not file.startswith(".") and Path(file).suffix.lower() in _IMAGE_SUFFIXES:
                names.append(os.path.relpath(os.path.join(directory, file), root))
    return [name.replace(os.sep, "/") for name in names]

"""The dialect routes: thumbor and imgproxy URLs answered as `/image` answers them.

Each route translates its URL (pure, `thumbor.py` / `imgproxy.py`) and `answer()`
turns the pixserve pairs into the same request object, delivery and response as
`/image`'s, so both dialects and `/image` share one pipeline, one cache and one ETag.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, request

from pixserve.config.settings import Config
from pixserve.http import problems
from pixserve.http.cors import allow_listed_origins
from pixserve.http.delivery import transform_outside_cache
from pixserve.http.keys import cache_key
from pixserve.http.lifetimes import capped_max_age
from pixserve.http.negotiate import Choice, choose
from pixserve.http.request import ImageRequest, checked_source
from pixserve.http.responses import respond
from pixserve.http.signing import BadSignature
from pixserve.http.upgrade import deliver_upgrading
from pixserve.services import Services, services
from pixserve.sources import Source
from pixserve.sources.facts import UNREADABLE, header_facts
from pixserve.sources.watermarks import find_overlays, overlay_identity
from pixserve.transformer import (
    FORMATS,
    SOURCE_OUTPUT_FORMATS,
    Fit,
    ImageLimits,
    Options,
    parse_options,
)
from pixserve.transformer.faces import HAIR
from pixserve.transformer.info import HeaderFacts
from pixserve.transformer.options import Gravity
from pixserve.transformer.pipeline import estimate_geometry

from . import imgproxy, thumbor
from .common import Size, SizeOf, Translated, Verdict
from .config import imgproxy_settings, thumbor_settings
from .thumbor_geometry import Box

T = TypeVar("T")


class BadDialectSignature(BadSignature):
    """A thumbor or imgproxy URL whose signature part does not check out."""

    param = "signature"
    description = (
        "the URL's signature is missing, malformed or wrong (or unsigned URLs are not allowed here)"
    )


DIALECTS_BLUEPRINT = "pixserve_dialects"
_SETTINGS_KEY = "pixserve.dialects"


def make_dialects_blueprint(config: Config, *, own_answers: bool = True) -> Blueprint | None:
    """Routes for the dialects whose prefix is set; None when neither is.

    `own_answers`: problem+json and `nosniff` for these routes (as `/image`'s blueprint).
    """
    part = config.dialects
    if not (part.thumbor_prefix or part.imgproxy_prefix):
        return None
    blueprint = Blueprint(DIALECTS_BLUEPRINT, __name__)
    for prefix, view in (
        (part.thumbor_prefix, thumbor_view),
        (part.imgproxy_prefix, imgproxy_view),
    ):
        if prefix:
            blueprint.add_url_rule(
                f"{prefix.rstrip('/')}/<path:rest>",
                endpoint=view.__name__.removesuffix("_view"),
                view_func=view,
                merge_slashes=False,
            )
    if own_answers:
        problems.answer_as_pixserve(blueprint)
    blueprint.after_request(allow_listed_origins)
    blueprint.record_once(_remember_settings(config))
    return blueprint


def _remember_settings(config: Config) -> Callable[..., None]:
    def record(state: object) -> None:
        app = state.app  # type: ignore[attr-defined]
        keeps = config.imaging.keep_icc_profiles
        app.extensions[_SETTINGS_KEY] = (
            thumbor_settings(config),
            imgproxy_settings(config.dialects, keeps_icc_profiles=keeps),
        )

    return record


def thumbor_view(rest: str) -> Response:
    svc = services()
    settings, _ = current_app.extensions[_SETTINGS_KEY]
    raw = _raw_path_after(svc.config.dialects.thumbor_prefix)
    translated = thumbor.translate(raw, settings, _size_of(svc), svc.limits)
    if translated.meta and translated.verdict is not Verdict.BAD and translated.name:
        return _thumbor_meta(svc, translated, thumbor.parse(raw).image)
    return answer(svc, translated, auto_format=svc.config.dialects.thumbor_auto_webp)


def imgproxy_view(rest: str) -> Response:
    svc = services()
    _, settings = current_app.extensions[_SETTINGS_KEY]
    raw = _raw_path_after(svc.config.dialects.imgproxy_prefix)
    translated = imgproxy.translate(raw, settings, _size_of(svc), svc.limits)
    return answer(svc, translated, auto_format=svc.config.dialects.imgproxy_auto_format)


def answer(svc: Services, translated: Translated, *, auto_format: bool) -> Response:
    """`/image`'s answer for a translated URL: `image_request` without pixserve's own
    signature (the dialect checked its own) and without client hints."""
    name = _checked(translated)
    options = parse_options(translated.pairs, svc.limits)
    source = checked_source(svc, name, options.canonical(), None, verified=True)
    autojpg = translated.png_to_jpeg and translated.format_open and source.format == "PNG"
    if translated.format_open and not auto_format and source.format is not None and not autojpg:
        # Both servers keep the source's format unless told otherwise (no `Vary: Accept`).
        fmt = SOURCE_OUTPUT_FORMATS.get(source.format)
        if fmt is None:  # a format no browser shows (TIFF, JPEG 2000...)
            facts = _facts(source)
            fmt = FORMATS["png" if facts is not None and facts.has_alpha else "jpeg"]
        options = parse_options([*translated.pairs, ("fmt", fmt.name)], svc.limits)
    choice = choose(options.fmt, request.accept_mimetypes, source.format, svc.config.imaging.avif)
    if autojpg and (not auto_format or choice.format is FORMATS["png"]):
        choice = Choice(None, negotiated=auto_format)  # PNG if it has alpha, else JPEG
    overlays = find_overlays(svc.sources, options, svc.config.imaging.max_source_bytes)
    key = cache_key(source, options, choice, overlay_identity(overlays), svc.encoder)
    req = ImageRequest("image", source, options, choice, key, overlays=overlays)
    if req.not_modified():
        return respond(svc, req, None)
    return respond(svc, *deliver_upgrading(svc, req))


def _checked(translated: Translated) -> str:
    if translated.verdict is Verdict.BAD:
        raise BadDialectSignature()
    if translated.name is None:
        abort(404, description="no image at this source reference")
    return translated.name


def _raw_path_after(prefix: str) -> str:
    """The request path as the client wrote it (percent-encoding kept: signatures cover
    it), after the script root and the dialect's prefix."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    path = raw.split("?", 1)[0] if raw else quote(request.path, safe="/:@!$&'()*+,;=~")
    if path.startswith(("http://", "https://")):  # an absolute-form request target
        path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
    skip = len(request.script_root) + len(prefix.rstrip("/"))
    return path[skip:]


def _size_of(svc: Services) -> SizeOf:
    def size_of(name: str) -> Size | None:
        source = svc.sources.find(name)
        if source is None or source.format is None:
            return None
        facts = _facts(source, svc.image_limits)
        return None if facts is None else facts.size

    return size_of


def _facts(source: Source, limits: ImageLimits | None = None) -> HeaderFacts | None:
    """The source's header facts, or None when it does not read as an image."""
    try:
        return header_facts(source, limits)
    except UNREADABLE:
        return None


def _thumbor_meta(svc: Services, translated: Translated, reference: str) -> Response:
    """thumbor's `meta/` answer: the source, the operations and the target size."""
    name = _checked(translated)
    size = _size_of(svc)(name)
    source = svc.sources.find(name)
    if size is None or source is None:
        abort(404, description="no image at this source reference")
    facts = _facts(source)
    frames = 1 if facts is None else facts.frames
    options = parse_options(translated.pairs, svc.limits)
    crops: tuple[Box, ...] = translated.crops
    focal_points: list[dict[str, object]] = []
    if options.gravity is Gravity.ATTENTION and options.fit is Fit.COVER:
        crops, focal_points = _smart_crop(svc, source, options, size)
    body: dict[str, dict[str, object]] = {
        "thumbor": {
            "source": {"url": reference, "width": size[0], "height": size[1], "frameCount": frames},
            "operations": _operations(size, options, crops),
            "target": dict(zip(("width", "height"), _target(size, options), strict=True)),
        }
    }
    if focal_points:
        body["thumbor"]["focal_points"] = focal_points
    response = Response(json.dumps(body), mimetype="application/json")
    cache_control = f"max-age={svc.config.http.max_age}"
    response.headers["Cache-Control"] = capped_max_age(cache_control, options.max_age)
    return response


def _smart_crop(
    svc: Services, source: Source, options: Options, size: Size
) -> tuple[tuple[Box, ...], list[dict[str, object]]]:
    """What a smart crop actually cut, and the faces it aimed at, in thumbor's terms:
    the transform is run (to PNG) and reports its window and faces (`Result`)."""
    undrawn = dataclasses.replace(options, watermark=None, ninepatch=None)  # the window only
    result = transform_outside_cache(svc, source.read(), undrawn, FORMATS["png"])
    manual: tuple[Box, ...] = ()
    picture_w, picture_h = size
    offset_x = offset_y = 0
    if options.crop is not None:
        offset_x, offset_y, picture_w, picture_h = options.crop
        manual = ((offset_x, offset_y, offset_x + picture_w, offset_y + picture_h),)
    crops = manual
    if result.window is not None:
        left, top, right, bottom = result.window
        crops += (
            (
                round(left * picture_w),
                round(top * picture_h),
                round(right * picture_w),
                round(bottom * picture_h),
            ),
        )
    points: list[dict[str, object]] = []
    for face in result.faces:  # thumbor's FocalPoint.from_square, in source pixels
        width, height = round(face.width * picture_w), round(face.height * picture_h)
        left, top = round(face.left * picture_w), round(face.top * picture_h)
        top = top - round(height * HAIR) if top >= height * HAIR else top
        points.append(
            {
                "x": offset_x + left + width // 2,
                "y": offset_y + top + height // 2,
                "z": width * height,
                "height": height,
                "width": width,
                "origin": "Face Detection",
            }
        )
    return crops, points


def _target(size: Size, options: Options) -> Size:
    return estimate_geometry(size, options).canvas


def _operations(size: Size, options: Options, crops: tuple[Box, ...]) -> list[dict[str, object]]:
    """The crops (source pixels) and resize thumbor's JSON engine lists: the boxes the
    translation worked out with thumbor's own arithmetic, then the resize."""
    operations: list[dict[str, object]] = []
    working = size
    for left, top, right, bottom in crops:
        operations.append(
            {"type": "crop", "left": left, "top": top, "right": right, "bottom": bottom}
        )
        working = (right - left, bottom - top)
    geometry = estimate_geometry(size, options)
    if geometry.canvas != working:
        operations.append(
            {"type": "resize", "width": geometry.canvas[0], "height": geometry.canvas[1]}
        )
    if options.flip:
        if "h" in options.flip:
            operations.append({"type": "flip_horizontally"})
        if "v" in options.flip:
            operations.append({"type": "flip_vertically"})
    return operations

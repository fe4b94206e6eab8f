"""Template helpers for responsive images: `image_url`, `image_srcset`, `picture`.

Registered as Jinja globals by `PixServe` and importable as Python functions; they
need an app context (a request, or `app.app_context()`). URLs are canonical (so every
page asks for the same cache entry) and signed when the server signs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from flask import url_for
from markupsafe import Markup

from pixserve.http.signing import SIGNATURE_PARAM, signature
from pixserve.services import services
from pixserve.sources.local import Source, find_source
from pixserve.transformer import FORMATS, parse_options, upright_size
from pixserve.transformer.info import describe

# Learnt from Next.js' deviceSizes (640..3840) with two smaller steps for thumbnails
# and columns: every width a phone, tablet or desktop asks for, 1x to 3x, is within
# about 20% of a candidate, so no device downloads much more than it shows.
DEFAULT_WIDTHS = (320, 480, 640, 750, 828, 1080, 1200, 1920, 2048, 3840)
PICTURE_FORMATS = ("avif", "webp")


def _query_text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple | list):
        return ",".join(str(item) for item in value)
    return str(value)


def image_url(name: str, **options: Any) -> str:
    """The canonical `/image` URL of `name` with `options` (w=300, fmt="webp", ...).

    Raises `InvalidOption` for options the server would refuse, at render time.
    """
    svc = services()
    pairs = [
        (key, _query_text(value)) for key, value in sorted(options.items()) if value is not None
    ]
    canonical = parse_options(pairs, svc.limits).canonical()
    # A preset must stay in the URL (the server may take nothing else); the rest is
    # written in canonical form, so every page shares one cache entry per transform.
    query = "&".join(f"{k}={v}" for k, v in pairs) if "preset" in options else canonical
    path = url_for("pixserve.image", name=name)
    if svc.config.http.signing_keys:
        signed = signature(svc.config.http.signing_keys[0], unquote(path), canonical)
        query = f"{query}&{SIGNATURE_PARAM}={signed}" if query else f"{SIGNATURE_PARAM}={signed}"
    return f"{path}?{query}" if query else path


@functools.lru_cache(maxsize=1024)
def _source_size(path: Path, mtime_ns: int) -> tuple[int, int]:
    return upright_size(path.read_bytes())


def _source(name: str) -> Source:
    source = find_source(services().config.http.root, name)
    if source is None:
        raise FileNotFoundError(f"pixserve: no image named {name!r} under the root")
    return source


def source_size(name: str) -> tuple[int, int]:
    """The displayed size of a source, read from its header (cached per file version)."""
    source = _source(name)
    return _source_size(source.path, source.mtime_ns)


def _widths(name: str, widths: Iterable[int] | None) -> list[int]:
    """Candidates up to the source's own width, which is added when the ladder passes it."""
    source_width, _ = source_size(name)
    ladder = sorted(set(widths or DEFAULT_WIDTHS))
    kept = [width for width in ladder if width <= source_width]
    if not kept or (kept[-1] < source_width and ladder[-1] > source_width):
        kept.append(source_width)
    return kept


def _aspect(name: str, options: dict[str, Any]) -> float:
    """Width over height of the result: the box's when both sides are fixed."""
    width, height = options.get("w"), options.get("h")
    if width and height and options.get("fit") in ("cover", "contain", "fill"):
        return float(width) / float(height)
    source_width, source_height = source_size(name)
    return source_width / source_height


def _scaled(options: dict[str, Any], width: int) -> dict[str, Any]:
    """`options` for a candidate `width`, keeping a fixed box's aspect ratio."""
    scaled = dict(options)
    if options.get("w") and options.get("h"):
        scaled["h"] = max(1, round(width * float(options["h"]) / float(options["w"])))
    scaled["w"] = width
    return scaled


def srcset_candidates(
    name: str, widths: Iterable[int] | None = None, **options: Any
) -> list[tuple[str, int]]:
    """The (URL, width) pairs `image_srcset` writes (`pixserve cache warm` makes these)."""
    return [(image_url(name, **_scaled(options, width)), width) for width in _widths(name, widths)]


def image_srcset(name: str, widths: Iterable[int] | None = None, **options: Any) -> str:
    """`"url 320w, url 640w, ..."`, never wider than the source (no candidate upscales)."""
    return ", ".join(f"{url} {width}w" for url, width in srcset_candidates(name, widths, **options))


def picture(
    name: str,
    alt: str,
    sizes: str,
    widths: Sequence[int] | None = None,
    formats: Sequence[str] = PICTURE_FORMATS,
    placeholder: bool = False,
    **options: Any,
) -> Markup:
    """A `<picture>`: one `<source type>` per modern format, then an `<img>` fallback.

    `width`/`height` come from the source (or the fixed box) so the page does not
    shift while loading; `loading="lazy"` and `decoding="async"` are set. With
    `placeholder`, the `<img>` shows a tiny blurred version until the picture arrives.
    """
    if alt is None:
        raise TypeError("picture() needs alt text: describe the picture, or '' if decorative")
    candidates = _widths(name, widths)
    largest = candidates[-1]
    fallback_options = dict(options)
    sources = []
    for fmt in formats:
        srcset = image_srcset(name, candidates, **{**options, "fmt": fmt})
        sources.append(
            Markup('<source type="{}" srcset="{}" sizes="{}">').format(
                FORMATS[fmt].mimetype, srcset, sizes
            )
        )
    height = max(1, round(largest / _aspect(name, options)))
    style = ""
    if placeholder:
        preview = _placeholder(name)
        style = f"background-size:cover;background-image:url('{preview}')"
    img = Markup(
        '<img src="{}" srcset="{}" sizes="{}" width="{}" height="{}" alt="{}" '
        'loading="lazy" decoding="async"{}>'
    ).format(
        image_url(name, **_scaled(fallback_options, min(largest, 1080))),
        image_srcset(name, candidates, **fallback_options),
        sizes,
        largest,
        height,
        alt,
        Markup(' style="{}"').format(style) if style else "",
    )
    return Markup("<picture>{}{}</picture>").format(Markup("").join(sources), img)


@functools.lru_cache(maxsize=256)
def _placeholder_for(path: Path, mtime_ns: int) -> str:
    placeholder: str = describe(path.read_bytes())["placeholder"]
    return placeholder


def _placeholder(name: str) -> str:
    source = _source(name)
    return _placeholder_for(source.path, source.mtime_ns)


__all__ = [
    "DEFAULT_WIDTHS",
    "image_srcset",
    "image_url",
    "picture",
    "source_size",
    "srcset_candidates",
]

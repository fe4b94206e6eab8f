"""Template helpers for responsive images: `image_url`, `image_srcset`, `picture`.

Registered as Jinja globals by `PixServe` and importable as Python functions; they
need an app context (a request, or `app.app_context()`). URLs are canonical (so every
page asks for the same cache entry) and signed when the server signs.

Keywords are image options (`w=600`, `fit='cover'`...), checked at render time; HTML
attributes of `picture()`'s `<img>` go in `attrs={...}`, never among them. A source
that is missing or unreadable never fails the page: the helpers log a warning and
write the plain URL (which will answer 404 until the file exists).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from flask import url_for
from markupsafe import Markup

from pixserve.http.signing import SIGNATURE_PARAM, signature
from pixserve.ladder import DEFAULT_WIDTHS, ladder_widths
from pixserve.services import services
from pixserve.sources import Source
from pixserve.sources.facts import UNREADABLE, header_facts
from pixserve.transformer import FORMATS, Options, parse_options
from pixserve.transformer.geometry import Size
from pixserve.transformer.info import describe
from pixserve.web.attributes import AttributeValue, html_attributes
from pixserve.web.sizing import (
    asks_for_size,
    candidate_height,
    candidate_widths,
    displayed_size,
)

log = logging.getLogger(__name__)

# The largest fallback `src` for browsers without srcset: a laptop's column.
FALLBACK_WIDTH = 1080
# `picture()` writes these itself; `attrs` may not set them.
OWN_ATTRIBUTES = frozenset({"src", "srcset", "sizes", "width", "height", "alt"})
# Keywords that are HTML attributes, a common slip: the error says to use `attrs`.
_HTML_KEYWORDS = frozenset(
    {"loading", "fetchpriority", "decoding", "class", "class_", "id", "style", "title"}
)
# Takes the blurred placeholder away once the picture is in, so none shows through
# its transparent parts, and gives the page's own CSS background back; inline, so it
# needs no script on the page.
CLEAR_PLACEHOLDER = (
    "this.style.removeProperty('background-image');this.style.removeProperty('background-size')"
)


def _query_text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple | list):
        return ",".join(str(item) for item in value)
    return str(value)


def _pairs(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        (key, _query_text(value)) for key, value in sorted(options.items()) if value is not None
    ]


def _parsed(options: Mapping[str, Any]) -> Options:
    """The options as the server reads them; raises `InvalidOption` at render time."""
    return parse_options(_pairs(options), services().limits)


def image_url(name: str, **options: Any) -> str:
    """The canonical `/image` URL of `name` with `options` (w=300, fmt="webp", ...).

    Raises `InvalidOption` for options the server would refuse, at render time.
    """
    svc = services()
    pairs = _pairs(options)
    canonical = parse_options(pairs, svc.limits).canonical()
    # A preset must stay in the URL (the server may take nothing else); the rest is
    # written in canonical form, so every page shares one cache entry per transform.
    query = "&".join(f"{k}={v}" for k, v in pairs) if "preset" in options else canonical
    path = url_for("pixserve.image", name=name)
    if svc.config.http.signing_keys:
        signed = signature(svc.config.http.signing_keys[0], unquote(path), canonical)
        query = f"{query}&{SIGNATURE_PARAM}={signed}" if query else f"{SIGNATURE_PARAM}={signed}"
    return f"{path}?{query}" if query else path


def _source(name: str) -> Source:
    sources = services().sources
    if sources.unreachable(name):  # one wait per page for an origin that is down, not one per image
        raise FileNotFoundError(f"pixserve: the origin of {name!r} is failing; not asked again yet")
    source = sources.find(name)
    if source is None:
        raise FileNotFoundError(f"pixserve: no image named {name!r}")
    return source


def source_size(name: str) -> tuple[int, int]:
    """The displayed size of a source, read from its header (cached per version)."""
    source = _source(name)
    return header_facts(source).size


def _is_animated(name: str) -> bool:
    source = _source(name)
    return header_facts(source).frames > 1


def _readable_size(helper: str, name: str) -> Size | None:
    """The source's size, or None, logged, when it is missing or does not read."""
    try:
        return source_size(name)
    except UNREADABLE as error:
        log.warning(
            "%s(%r): %s; writing the plain URL instead",
            helper,
            name,
            error,
            extra={"fields": {"image": name}},
        )
        return None


def source_width(source: Source) -> int:
    """The displayed width of a found source, from its header (cached per version)."""
    return header_facts(source).size[0]


def _ladder(upright: Size, parsed: Options, widths: Iterable[int] | None) -> list[int]:
    """The candidate widths: the caller's `widths`, else the `allowed_widths` when the
    server is limited to them (any other width would be refused), else the default
    ladder; each only as far as the source and the asked size go."""
    allowed = services().config.http.allowed_widths
    if widths is None and allowed:
        return candidate_widths(upright, parsed, allowed, only_steps=True)
    steps = _steps(parsed, widths, displayed_size(upright, parsed))
    return candidate_widths(upright, parsed, steps)


def _steps(options: Options, widths: Iterable[int] | None, displayed: Size) -> list[int]:
    """The ladder to cut: the caller's, or the default one with the asked 1x width."""
    if widths is not None:
        return list(widths)
    if asks_for_size(options):
        return [*DEFAULT_WIDTHS, displayed[0]]
    return list(DEFAULT_WIDTHS)


def _candidate(options: Mapping[str, Any], parsed: Options, width: int) -> dict[str, Any]:
    """`options` for the candidate `width`, keeping a fixed box's aspect ratio."""
    scaled = {key: value for key, value in options.items() if key not in ("w", "h", "dpr")}
    scaled["w"] = width
    scaled["h"] = candidate_height(parsed, width)
    return scaled


def _candidates(
    name: str, options: Mapping[str, Any], parsed: Options, widths: list[int]
) -> list[tuple[str, int]]:
    return [(image_url(name, **_candidate(options, parsed, width)), width) for width in widths]


def _srcset(name: str, options: Mapping[str, Any], parsed: Options, widths: list[int]) -> str:
    return ", ".join(f"{url} {width}w" for url, width in _candidates(name, options, parsed, widths))


def srcset_candidates(
    name: str, widths: Iterable[int] | None = None, **options: Any
) -> list[tuple[str, int]]:
    """The (URL, width) pairs `image_srcset` writes (`pixserve cache warm` makes these).

    Raises `FileNotFoundError` or `TransformError` when the source is missing or does
    not read (`image_srcset` writes the plain URL then).
    """
    parsed = _parsed(options)
    upright = source_size(name)
    return _candidates(name, options, parsed, _ladder(upright, parsed, widths))


def image_srcset(name: str, widths: Iterable[int] | None = None, **options: Any) -> str:
    """`"url 320w, url 640w, ..."`: no candidate upscales the source; with `w` or `h`
    the ladder stops at twice the asked size, and with both (and `fit` cover, contain
    or fill) every candidate keeps the box's aspect. `dpr` is dropped (the ladder
    covers pixel ratios)."""
    _parsed(options)  # invalid options raise, whether or not the file is there
    if _readable_size("image_srcset", name) is None:
        return image_url(name, **options)
    return ", ".join(f"{url} {width}w" for url, width in srcset_candidates(name, widths, **options))


def _refuse_html_keywords(options: Mapping[str, Any]) -> None:
    for key in options:
        if key in _HTML_KEYWORDS or key.startswith(("data_", "aria_")):
            attribute = key.rstrip("_").replace("_", "-")
            raise TypeError(
                f"picture(): {key!r} is an HTML attribute, not an image option; "
                f"pass it as attrs={{{attribute!r}: ...}}"
            )


def _img_attributes(
    attrs: Mapping[str, AttributeValue] | None, priority: bool, placeholder: str | None
) -> dict[str, AttributeValue]:
    """The `<img>`'s own attributes: loading hints, then the caller's `attrs`."""
    given = dict(attrs or {})
    clashes = sorted(OWN_ATTRIBUTES & {name.lower() for name in given})
    if clashes:
        raise ValueError(
            f"picture() writes {', '.join(clashes)} itself (from name, alt, sizes, "
            "widths and the image options); leave them out of attrs"
        )
    merged: dict[str, AttributeValue] = {
        "loading": "eager" if priority else "lazy",
        "decoding": "async",
    }
    if priority:
        merged["fetchpriority"] = "high"
    if placeholder is not None:
        style = f"background-size:cover;background-image:url('{placeholder}')"
        given_style, given_onload = given.pop("style", None), given.pop("onload", None)
        merged["style"] = f"{style};{given_style}" if given_style else style
        merged["onload"] = (
            f"{CLEAR_PLACEHOLDER};{given_onload}" if given_onload else CLEAR_PLACEHOLDER
        )
    merged.update(given)
    return merged


def _default_formats(animated: bool) -> tuple[str, ...]:
    """AVIF only where the server offers it (`avif` setting, off by default: its CPU
    cost is in docs/quality.md) and for stills (AVIF output is the first frame), then WebP."""
    return ("avif", "webp") if services().config.imaging.avif and not animated else ("webp",)


def picture(
    name: str,
    alt: str,
    sizes: str,
    widths: Sequence[int] | None = None,
    formats: Sequence[str] | None = None,
    placeholder: bool = False,
    priority: bool = False,
    attrs: Mapping[str, AttributeValue] | None = None,
    **options: Any,
) -> Markup:
    """A `<picture>`: one `<source type>` per format, then an `<img>` fallback.

    `options` are image options only; `attrs` are the `<img>`'s HTML attributes
    (`class`, `id`, `style`, `data-*`, `loading`...). `width`/`height` are the asked
    result at 1x (the picture's own size when no size is asked), so the page does not
    shift while loading. `loading="lazy"` unless `priority` (the hero at the top of a
    page: `loading="eager" fetchpriority="high"`). With `placeholder`, the `<img>`
    shows a tiny blurred version until the picture has loaded. A missing source gives
    a plain `<img>` and a logged warning.
    """
    if alt is None:
        raise TypeError("picture() needs alt text: describe the picture, or '' if decorative")
    _refuse_html_keywords(options)
    parsed = _parsed(options)
    _img_attributes(attrs, priority, None)  # refuse bad attrs whether or not the file is there
    upright = _readable_size("picture", name)
    if upright is None:
        return Markup('<img src="{}" alt="{}"{}>').format(
            image_url(name, **options), alt, html_attributes(_img_attributes(attrs, priority, None))
        )
    displayed = displayed_size(upright, parsed)
    candidates = _ladder(upright, parsed, widths)
    sources = [
        Markup('<source type="{}" srcset="{}" sizes="{}">').format(
            FORMATS[fmt].mimetype, _srcset(name, {**options, "fmt": fmt}, parsed, candidates), sizes
        )
        for fmt in (formats if formats is not None else _default_formats(_is_animated(name)))
    ]
    if asks_for_size(parsed):
        fallback_width = displayed[0]
    elif services().config.http.allowed_widths:  # the largest candidate up to it: one it makes
        fallback_width = max((c for c in candidates if c <= FALLBACK_WIDTH), default=candidates[0])
    else:
        fallback_width = min(candidates[-1], FALLBACK_WIDTH)
    preview = _placeholder(name) if placeholder else None
    img_attributes = _img_attributes(attrs, priority, preview)
    img = Markup('<img src="{}" srcset="{}" sizes="{}" width="{}" height="{}" alt="{}"{}>').format(
        image_url(name, **_candidate(options, parsed, fallback_width)),
        _srcset(name, options, parsed, candidates),
        sizes,
        displayed[0],
        displayed[1],
        alt,
        html_attributes(img_attributes),
    )
    return Markup("<picture>{}{}</picture>").format(Markup("").join(sources), img)


@functools.lru_cache(maxsize=256)
def _placeholder_for(name: str, version: str, source: Source) -> str:
    placeholder: str = describe(source.read())["placeholder"]
    return placeholder


def _placeholder(name: str) -> str | None:
    """The blurred preview, or None, logged, when the pixels do not decode (a file
    whose header reads but whose data is cut short still gets its picture tag)."""
    try:
        source = _source(name)
        return _placeholder_for(source.name, source.version, source)
    except UNREADABLE as error:
        log.warning(
            "picture(%r): no placeholder: %s", name, error, extra={"fields": {"image": name}}
        )
        return None


__all__ = [
    "DEFAULT_WIDTHS",
    "image_srcset",
    "image_url",
    "ladder_widths",
    "picture",
    "source_size",
    "source_width",
    "srcset_candidates",
]

"""The sizes behind `picture()` and `image_srcset()`: arithmetic on a source's size and
the asked options, with the server's own `plan()`, so a candidate's `w` descriptor is
the width the server really answers with. No Flask, no decoding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from pixserve.transformer import Fit, Options
from pixserve.transformer.geometry import Size, plan

# How far past the asked size the ladder goes: screens up to 2x get a sharp picture;
# 3x phones get the 2x candidate, as Next.js and most image CDNs do.
MAX_DENSITY = 2
# Boxes whose result has exactly the asked aspect ratio (the others keep the source's).
FIXED_BOX_FITS = (Fit.COVER, Fit.CONTAIN, Fit.FILL)


def source_box(upright: Size, options: Options) -> Size:
    """What the steps before resizing leave of an upright source: `crop` cuts it, `rot`
    90/270 turns it. (`trim` cannot be known without decoding; it is not counted.)"""
    width, height = upright
    if options.crop is not None:
        left, top, crop_width, crop_height = options.crop
        width = max(1, min(crop_width, width - left))
        height = max(1, min(crop_height, height - top))
    if options.rotate in (90, 270):
        width, height = height, width
    return width, height


def asks_for_size(options: Options) -> bool:
    return options.width is not None or options.height is not None


def has_fixed_box(options: Options) -> bool:
    """Both sides asked with a fit that fills the box: the result keeps the box's aspect."""
    return (
        options.width is not None and options.height is not None and options.fit in FIXED_BOX_FITS
    )


def result_size(upright: Size, options: Options, density: float = 1) -> Size:
    """The size the server answers `options` with, at `density` times the asked box
    (`dpr` is ignored: the ladder is what covers pixel ratios)."""
    width = None if options.width is None else max(1, round(options.width * density))
    height = None if options.height is None else max(1, round(options.height * density))
    one_x = replace(options, dpr=1.0)
    return plan(source_box(upright, one_x), (width, height), one_x.fit, one_x.enlarge).canvas


def displayed_size(upright: Size, options: Options) -> Size:
    """The `width`/`height` attributes: the asked result at 1x, else the picture's own."""
    if asks_for_size(options):
        return result_size(upright, options)
    return source_box(upright, options)


def candidate_widths(
    upright: Size, options: Options, steps: Iterable[int], *, only_steps: bool = False
) -> list[int]:
    """The srcset widths: `steps` up to a ceiling, which is added when the steps pass it
    (unless `only_steps`: the server makes no other width, `allowed_widths`).

    The ceiling is what the asked size gives at `MAX_DENSITY` (never more than the
    source gives without upscaling, unless `enlarge`), or the source's own width when
    no size is asked. Every candidate is a width the server really produces.
    """
    ladder = sorted(set(steps))
    if asks_for_size(options):
        ceiling = result_size(upright, options, MAX_DENSITY)[0]
    else:
        ceiling = source_box(upright, options)[0]
    # Near the source's limit a fixed box's rounded height can shrink the result by a
    # pixel: step down to a width the server really makes.
    while ceiling > 1 and _made_width(upright, options, ceiling) != ceiling:
        ceiling -= 1
    kept = [
        width
        for width in ladder
        if width <= ceiling and _made_width(upright, options, width) == width
    ]
    if only_steps:
        return kept or ladder[:1]  # the smallest, made no larger than the source allows
    if not kept or (kept[-1] < ceiling and ladder[-1] > ceiling):
        kept.append(ceiling)
    return kept


def _made_width(upright: Size, options: Options, width: int) -> int:
    """The width the server makes for the candidate `width`."""
    box = (width, candidate_height(options, width))
    one_x = replace(options, dpr=1.0)
    return plan(source_box(upright, one_x), box, one_x.fit, one_x.enlarge).canvas[0]


def candidate_height(options: Options, width: int) -> int | None:
    """The `h` of the candidate `width`: the box's aspect for a fixed box, else none
    (the width alone keeps the source's aspect)."""
    if not has_fixed_box(options):
        return None
    assert options.width is not None and options.height is not None
    return max(1, round(width * options.height / options.width))

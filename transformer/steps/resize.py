"""Resize to the planned size with a high-quality filter."""

from __future__ import annotations

import math

from .. import bands
from ..context import Context
from ..geometry import cover_window
from .load import extent_reaches_resize, faithful
from .smartcrop import PIXEL_GRAVITIES

# `reducing_gap` first shrinks by an integer factor with a box filter, then LANCZOS
# does the remaining < 3x. Pillow's docs show this indistinguishable from a full
# LANCZOS pass while several times faster on large reductions.
REDUCING_GAP = 3.0
# Not for `q=auto` (`load.faithful`), whose picture must stay close to a faithful
# resize: the box shrink is not. pitm-4096x800.avif at 320 px scores 93.4 against a
# plain LANCZOS, cosmos-2048x858.avif 96.6, for 37 ms of decoding and resizing instead
# of 19 and 39 instead of 31 (`python -m benchmarks auto_quality --fidelity`): a plain
# LANCZOS costs about what decoding the source does.
FAITHFUL_REDUCING_GAP = None

Box = tuple[float, float, float, float]


def resize(ctx: Context) -> None:
    """Resize to `geometry.resize`; Pillow premultiplies alpha so edges stay clean.

    After a reduced-scale JPEG decode the resize reads exactly the picture's extent,
    not the padded last column and row: mapping 682 decoded pixels onto 640 when the
    picture is 681.25 wide shifts its right side by most of a pixel, which costs a
    detailed photo 0.05 SSIM (benchmarks/levers.py)."""
    size = ctx.geometry.resize
    box = picture_box(ctx)
    if ctx.image.size == size and box is None:
        return
    if not _cuts_its_window(ctx):
        ctx.image = bands.resize(ctx.image, size, box, reducing_gap(ctx))
        return
    # `cover` by gravity or focal point: the window it keeps is known before the
    # pixels are, so only that part of the picture is resized, straight to the canvas
    # (`fit_canvas` then has nothing left to cut). A 200x200 thumbnail of a 4:3
    # picture resizes 75% of it.
    left, top, right, bottom = box or (0.0, 0.0, float(ctx.image.width), float(ctx.image.height))
    across, down = right - left, bottom - top
    focus = ctx.focus or ctx.options.focus
    kept = cover_window((across, down), ctx.geometry.canvas, ctx.options.gravity, focus)
    ctx.window = kept
    region = (
        left + kept[0] * across,
        top + kept[1] * down,
        left + kept[2] * across,
        top + kept[3] * down,
    )
    ctx.image = bands.resize(ctx.image, ctx.geometry.canvas, region, reducing_gap(ctx))


def reducing_gap(ctx: Context) -> float | None:
    """Pillow's `reducing_gap` for this picture: None (no box shrink) when it must stay
    faithful."""
    return FAITHFUL_REDUCING_GAP if faithful(ctx) else REDUCING_GAP


def _cuts_its_window(ctx: Context) -> bool:
    """Whether this is a still `cover` whose window is known before the resize: by
    gravity, focal point, or the faces a smart crop found."""
    geometry = ctx.geometry
    if geometry.overflow == (0, 0) or ctx.animation_frame is not None:
        return False
    return ctx.options.gravity not in PIXEL_GRAVITIES or ctx.focus is not None


def picture_box(ctx: Context) -> Box | None:
    """The picture's exact box in the pixels the resize reads, or None for all of them:
    a crop's box (`Context.region`), or the decode's extent."""
    if not extent_reaches_resize(ctx):
        return None
    if ctx.options.crop is not None:
        return ctx.region
    return decoded_box(ctx)


def decoded_box(ctx: Context) -> Box | None:
    """The picture's extent in the upright decoded pixels, or None for all of them."""
    if ctx.extent is None:
        return None
    exact = ctx.extent
    width, height = ctx.image.size
    if (width, height) == (math.ceil(exact[0]), math.ceil(exact[1])):
        exact_w, exact_h = exact
    elif (height, width) == (math.ceil(exact[0]), math.ceil(exact[1])):
        exact_h, exact_w = exact  # orientations 5-8 transposed the picture
    else:
        return None  # something changed the pixels' size since the decode
    at_left, at_top = PADDING_AT_LEFT_TOP.get(ctx.orientation, (False, False))
    left = width - exact_w if at_left else 0.0
    top = height - exact_h if at_top else 0.0
    return (left, top, left + exact_w, top + exact_h)


# For each EXIF orientation: whether the stored right/bottom padding ends up at the
# upright picture's left (first) and top (second) instead of its right and bottom,
# once `auto_orient` has applied Pillow's transpose (tests/steps/test_resize.py).
PADDING_AT_LEFT_TOP: dict[int, tuple[bool, bool]] = {
    1: (False, False),
    2: (True, False),  # mirrored left-right
    3: (True, True),  # rotated 180
    4: (False, True),  # mirrored top-bottom
    5: (False, False),  # transposed: stored right -> upright bottom, bottom -> right
    6: (True, False),  # rotated 90 clockwise for display: stored bottom -> upright left
    7: (True, True),  # transverse
    8: (False, True),  # rotated 90 counter-clockwise: stored right -> upright top
}

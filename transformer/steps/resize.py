"""Resize to the planned size with a high-quality filter."""

from __future__ import annotations

import math

from .. import bands
from ..context import Context
from ..geometry import crop_origin
from .load import extent_reaches_resize
from .smartcrop import PIXEL_GRAVITIES

# `reducing_gap` first shrinks by an integer factor with a box filter, then LANCZOS
# does the remaining < 3x. Pillow's docs show this indistinguishable from a full
# LANCZOS pass while several times faster on large reductions.
REDUCING_GAP = 3.0

Box = tuple[float, float, float, float]


def resize(ctx: Context) -> None:
    """Resize to `geometry.resize`; Pillow premultiplies alpha so edges stay clean.

    After a reduced-scale JPEG decode the resize reads exactly the picture's extent,
    not the padded last column and row: mapping 682 decoded pixels onto 640 when the
    picture is 681.25 wide shifts its right side by most of a pixel, which costs a
    detailed photo 0.05 SSIM (benchmarks/levers.py)."""
    size = ctx.geometry.resize
    if ctx.image.size == size:
        return
    box = picture_box(ctx)
    window = _kept_window(ctx)
    if window is None:
        ctx.image = bands.resize(ctx.image, size, box, REDUCING_GAP)
        return
    # `cover` by gravity or focal point: the window it keeps is known before the
    # pixels are, so only its part of the picture is resized (the same filter at the
    # same positions; `fit_canvas` then has nothing left to cut). A 200x200 thumbnail
    # of a 4:3 picture resizes 75% of it.
    left, top, width, height = window
    box = box or (0.0, 0.0, float(ctx.image.width), float(ctx.image.height))
    across = (box[2] - box[0]) / size[0]
    down = (box[3] - box[1]) / size[1]
    region = (
        box[0] + left * across,
        box[1] + top * down,
        box[0] + (left + width) * across,
        box[1] + (top + height) * down,
    )
    ctx.image = bands.resize(ctx.image, (width, height), region, REDUCING_GAP)


def _kept_window(ctx: Context) -> tuple[int, int, int, int] | None:
    """For a still `cover` whose window does not depend on the pixels: the window
    (left, top, width, height) in the resized picture; None otherwise."""
    geometry = ctx.geometry
    if geometry.overflow == (0, 0) or ctx.animation_frame is not None:
        return None
    if ctx.options.gravity in PIXEL_GRAVITIES:
        return None
    left, top = crop_origin(geometry, ctx.options.gravity, ctx.options.focus)
    width = min(geometry.canvas[0], geometry.resize[0])
    height = min(geometry.canvas[1], geometry.resize[1])
    return left, top, width, height


def picture_box(ctx: Context) -> Box | None:
    """The picture's extent in the upright decoded pixels, or None for all of them."""
    if ctx.extent is None or not extent_reaches_resize(ctx):
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

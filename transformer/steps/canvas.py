"""Fit the resized picture to its canvas: crop the overflow (cover), pad (contain)."""

from __future__ import annotations

from PIL import Image

from ..context import Context
from .mode import with_alpha


def fit_canvas(ctx: Context) -> None:
    """Crop centred when the picture overflows, pad with transparency when it falls short.

    The padding is transparent; formats without alpha get it flattened onto white by
    the `flatten` step, as every other transparent area.
    """
    canvas = ctx.geometry.canvas
    image = ctx.image
    if image.size == canvas:
        return
    left, top = ctx.geometry.offset
    if left <= 0 and top <= 0:
        ctx.image = image.crop((-left, -top, -left + canvas[0], -top + canvas[1]))
        return
    padded = Image.new(with_alpha(image.mode), canvas, 0)
    padded.paste(image, (left, top))
    ctx.image = padded

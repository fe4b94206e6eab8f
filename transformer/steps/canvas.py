"""Fit the resized picture to its canvas: crop the overflow (cover), pad (contain)."""

from __future__ import annotations

from PIL import Image

from ..context import Context
from .mode import with_alpha


def fit_canvas(ctx: Context) -> None:
    """Crop at `crop_origin` when the picture overflows, pad when it falls short.

    Padding is `bg` when given, else transparent; formats without alpha get
    transparency flattened (onto `bg`, else white) by the `flatten` step.
    """
    geometry = ctx.geometry
    image = ctx.image
    if image.size == geometry.canvas:
        return
    canvas_w, canvas_h = geometry.canvas
    if geometry.overflow != (0, 0):
        left, top = ctx.crop_origin
        image = image.crop((left, top, left + canvas_w, top + canvas_h))
        if image.size == geometry.canvas:
            ctx.image = image
            return
    background = ctx.options.background
    if background is None:
        padded = Image.new(with_alpha(image.mode), geometry.canvas, 0)
        padded.paste(image, geometry.padding_offset)
    else:
        keeps_alpha = background.alpha < 255 or image.mode in ("LA", "RGBA")
        mode = "RGBA" if keeps_alpha else "RGB"
        padded = Image.new(mode, geometry.canvas, background.rgba[: len(mode)])
        padded.paste(image.convert(mode), geometry.padding_offset)
    ctx.image = padded

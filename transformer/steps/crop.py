"""Cut the region `crop=x,y,w,h` (source pixels, after auto-orientation)."""

from __future__ import annotations

from ..context import Context


def crop_source(ctx: Context) -> None:
    """Crop before anything is resized; the box was checked against the header."""
    if ctx.options.crop is None:
        return
    x, y, width, height = (value * ctx.scale for value in ctx.options.crop)
    right = min(ctx.image.width, max(round(x) + 1, round(x + width)))
    bottom = min(ctx.image.height, max(round(y) + 1, round(y + height)))
    ctx.image = ctx.image.crop((round(x), round(y), right, bottom))

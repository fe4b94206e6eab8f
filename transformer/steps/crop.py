"""Cut the region `crop=x,y,w,h` (source pixels, after auto-orientation)."""

from __future__ import annotations

import math

from ..context import Context
from ..geometry import upright
from .load import extent_reaches_resize
from .resize import decoded_box


def crop_source(ctx: Context) -> None:
    """Crop before anything is resized; the box was checked against the header.

    After a reduced-scale decode a box on whole source pixels falls between decoded
    pixels (x=250 at 1/4 is 62.5). Rounding it moved the window by up to half a decoded
    pixel: 2 source pixels at 1/4, 0.013 SSIM off thumbor's own crop of a 200x200 from
    the 2725-px street photo (`python -m benchmarks thumbor_dialect`). So the whole
    pixels around the box are kept and the box itself is left in `ctx.region` for the
    resize to read exactly; a trim or a turn, which look at or move the pixels first,
    get the box rounded to whole decoded pixels instead.
    """
    if ctx.options.crop is None:
        return
    x, y, width, height = (value * ctx.scale for value in ctx.options.crop)
    if not extent_reaches_resize(ctx):
        last_x = min(ctx.image.width, max(round(x) + 1, round(x + width)))
        last_y = min(ctx.image.height, max(round(y) + 1, round(y + height)))
        ctx.image = ctx.image.crop((round(x), round(y), last_x, last_y))
        return
    # The decode's exact scale, from the picture's exact extent: `ctx.scale` is the
    # decoded pixels' count over the stored ones (1363 / 2725 for an exact half).
    base = decoded_box(ctx) or (0.0, 0.0, float(ctx.image.width), float(ctx.image.height))
    shown = upright(ctx.source_size, ctx.orientation)
    across, down = (base[2] - base[0]) / shown[0], (base[3] - base[1]) / shown[1]
    crop_x, crop_y, crop_w, crop_h = ctx.options.crop
    left, top = base[0] + crop_x * across, base[1] + crop_y * down
    right = min(base[2], left + crop_w * across)
    bottom = min(base[3], top + crop_h * down)
    cut = (
        math.floor(left),
        math.floor(top),
        min(ctx.image.width, math.ceil(right)),
        min(ctx.image.height, math.ceil(bottom)),
    )
    ctx.image = ctx.image.crop(cut)
    ctx.region = (left - cut[0], top - cut[1], right - cut[0], bottom - cut[1])

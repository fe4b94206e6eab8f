"""`radius` (and `corner`): rounded corners, transparent where the format has alpha.

Runs once the output format is settled: in PNG, WebP, AVIF and GIF the cut corners
are transparent (unless `corner` names a colour); in JPEG they are `corner`, else
`bg`, else white, the colour transparency would be flattened onto. The edge is
anti-aliased by drawing each corner at four times the size and averaging down.
"""

from __future__ import annotations

from PIL import Image, ImageChops, ImageDraw, ImageOps

from ..context import Context
from ..filters import Radius
from .finish import FLATTEN_BACKGROUND
from .mode import with_alpha

SUPERSAMPLE = 4


def corner_mask(size: tuple[int, int], radius: Radius) -> Image.Image | None:
    """255 inside the rounded rectangle, 0 in the corners cut off, grey along the
    curve; None when the radii (at most half of each side, as thumbor) round nothing."""
    width, height = size
    across, down = min(radius.across, width // 2), min(radius.down, height // 2)
    if across < 1 or down < 1:
        return None
    big = Image.new("L", (across * SUPERSAMPLE, down * SUPERSAMPLE), 0)
    ellipse = (0, 0, 2 * across * SUPERSAMPLE - 1, 2 * down * SUPERSAMPLE - 1)
    ImageDraw.Draw(big).ellipse(ellipse, fill=255)
    top_left = big.reduce(SUPERSAMPLE)
    mask = Image.new("L", size, 255)
    mask.paste(top_left, (0, 0))
    mask.paste(ImageOps.mirror(top_left), (width - across, 0))
    mask.paste(ImageOps.flip(top_left), (0, height - down))
    mask.paste(ImageOps.flip(ImageOps.mirror(top_left)), (width - across, height - down))
    return mask


def round_corners(ctx: Context) -> None:
    """Cut the corners: to transparency, or onto a colour."""
    radius = ctx.options.radius
    if radius is None:
        return
    mask = corner_mask(ctx.image.size, radius)
    if mask is None:
        return
    image = ctx.image
    has_alpha = ctx.output is not None and ctx.output.has_alpha
    if has_alpha and ctx.options.corner is None:
        image = image.convert(with_alpha(image.mode))
        alpha = ImageChops.multiply(image.getchannel("A"), mask)
        image.putalpha(alpha)
        ctx.image = image
        return
    chosen = ctx.options.corner or ctx.options.background
    colour = chosen.rgba if chosen is not None else (*FLATTEN_BACKGROUND, 255)
    if not has_alpha:
        colour = (*colour[:3], 255)  # the format cannot show it; flatten would drop it too
    mode = "RGBA" if colour[3] < 255 or image.mode in ("LA", "RGBA") else "RGB"
    image = image.convert(mode)
    ctx.image = Image.composite(image, Image.new(mode, image.size, colour[: len(mode)]), mask)

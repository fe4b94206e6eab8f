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


def corner_tiles(
    size: tuple[int, int], radius: Radius
) -> list[tuple[tuple[int, int], Image.Image]]:
    """Each corner's place and mask: 255 inside the rounded rectangle, 0 where the
    corner is cut off, grey along the curve. None (empty) when the radii (at most half
    of each side, as thumbor's) round nothing."""
    width, height = size
    across, down = min(radius.across, width // 2), min(radius.down, height // 2)
    if across < 1 or down < 1:
        return []
    big = Image.new("L", (across * SUPERSAMPLE, down * SUPERSAMPLE), 0)
    ellipse = (0, 0, 2 * across * SUPERSAMPLE - 1, 2 * down * SUPERSAMPLE - 1)
    ImageDraw.Draw(big).ellipse(ellipse, fill=255)
    top_left = big.reduce(SUPERSAMPLE)
    return [
        ((0, 0), top_left),
        ((width - across, 0), ImageOps.mirror(top_left)),
        ((0, height - down), ImageOps.flip(top_left)),
        ((width - across, height - down), ImageOps.flip(ImageOps.mirror(top_left))),
    ]


def round_corners(ctx: Context) -> None:
    """Cut the corners, to transparency or onto a colour; only the four corner tiles
    are touched (in place: the picture is this transform's own)."""
    radius = ctx.options.radius
    if radius is None:
        return
    tiles = corner_tiles(ctx.image.size, radius)
    if not tiles:
        return
    image = ctx.image
    has_alpha = ctx.output is not None and ctx.output.has_alpha
    transparent = has_alpha and ctx.options.corner is None
    chosen = ctx.options.corner or ctx.options.background
    colour = chosen.rgba if chosen is not None else (*FLATTEN_BACKGROUND, 255)
    if not has_alpha:
        colour = (*colour[:3], 255)  # the format cannot show it; flatten would drop it too
    if transparent:
        mode = with_alpha(image.mode)
    else:
        mode = "RGBA" if colour[3] < 255 or image.mode in ("LA", "RGBA") else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    for (left, top), mask in tiles:
        box = (left, top, left + mask.width, top + mask.height)
        tile = image.crop(box)
        if transparent:
            tile.putalpha(ImageChops.multiply(tile.getchannel("A"), mask))
        else:
            tile = Image.composite(tile, Image.new(mode, tile.size, colour[: len(mode)]), mask)
        image.paste(tile, box)
    ctx.image = image

"""Cut away a uniform border (`trim=TOLERANCE`), like a scanner's white margin."""

from __future__ import annotations

from PIL import Image, ImageChops

from ..context import Context


def trim(ctx: Context) -> None:
    """Remove rows and columns that match the top-left pixel within the tolerance.

    The difference from the corner colour is taken per channel (alpha included) and
    its largest channel compared with `trim` (0..255). A picture that is all border
    is left as it is. Animations are not trimmed: each frame would lose a different
    border, and all frames share one geometry.
    """
    tolerance = ctx.options.trim
    if tolerance is None or ctx.animation_frame is not None:
        return
    image = ctx.image
    corner = image.getpixel((0, 0))
    difference = ImageChops.difference(image, Image.new(image.mode, image.size, corner))
    strongest = difference.getchannel(0)
    for band in range(1, len(difference.getbands())):
        strongest = ImageChops.lighter(strongest, difference.getchannel(band))
    content = strongest.point(lambda value: 255 if value > tolerance else 0).getbbox()
    if content is not None and content != (0, 0, image.width, image.height):
        ctx.image = image.crop(content)

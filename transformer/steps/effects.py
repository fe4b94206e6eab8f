"""Pixel filters on the output-sized picture: `blur`, `sharpen`, `gray`."""

from __future__ import annotations

from PIL import ImageFilter

from ..context import Context

# Unsharp mask strength and threshold for `sharpen`: a visible but halo-free boost at
# the sigmas (0.3-10) the parameter allows; the threshold spares flat areas and noise.
SHARPEN_PERCENT = 120
SHARPEN_THRESHOLD = 2


def blur(ctx: Context) -> None:
    """Gaussian blur with standard deviation `blur` output pixels."""
    if ctx.options.blur is not None:
        ctx.image = ctx.image.filter(ImageFilter.GaussianBlur(ctx.options.blur))


def sharpen(ctx: Context) -> None:
    """Unsharp mask with radius `sharpen` output pixels."""
    if ctx.options.sharpen is not None:
        ctx.image = ctx.image.filter(
            ImageFilter.UnsharpMask(ctx.options.sharpen, SHARPEN_PERCENT, SHARPEN_THRESHOLD)
        )


def gray(ctx: Context) -> None:
    """Greyscale by Rec. 601 luma, keeping transparency."""
    if not ctx.options.gray:
        return
    image = ctx.image
    if image.mode in ("RGBA", "LA"):
        ctx.image = image.convert("LA")
    elif image.mode != "L":
        ctx.image = image.convert("L")

"""`rot` (clockwise quarter turns) and `flip`, applied to the upright picture."""

from __future__ import annotations

from PIL import Image

from ..context import Context

# Pillow's ROTATE_n turn counter-clockwise; `rot` turns clockwise, as CSS does.
_CLOCKWISE = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}
_FLIPS = {
    "h": (Image.Transpose.FLIP_LEFT_RIGHT,),
    "v": (Image.Transpose.FLIP_TOP_BOTTOM,),
    "hv": (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM),
}


def rotate(ctx: Context) -> None:
    method = _CLOCKWISE.get(ctx.options.rotate)
    if method is not None:
        ctx.image = ctx.image.transpose(method)


def flip(ctx: Context) -> None:
    """`h` mirrors left to right, `v` top to bottom, `hv` both."""
    for method in _FLIPS.get(ctx.options.flip or "", ()):
        ctx.image = ctx.image.transpose(method)

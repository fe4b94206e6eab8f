"""Turn the picture upright according to its EXIF orientation."""

from __future__ import annotations

from PIL import ExifTags, Image

from ..context import Context
from .load import DECODE_ERRORS

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def read_orientation(image: Image.Image) -> int:
    """The EXIF orientation (1..8) from the header; 1 when absent or unreadable.

    Never decodes: Pillow's `getexif` on a PNG without an `eXIf` chunk before its
    pixels decodes the whole picture to look for one after them. That cost every PNG
    miss a second decode (in the memory estimate, before admission: 24 ms of a 1280x960
    test pattern's 107) and /info and `srcset` a full one, so a PNG's orientation is
    read from an `eXIf` chunk before the pixels only, where the PNG specification
    places it.
    """
    if image.format == "PNG" and "exif" not in image.info:
        return 1
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except DECODE_ERRORS:
        return 1  # a damaged EXIF block must not cost the whole picture
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def auto_orient(ctx: Context) -> None:
    """Apply the orientation read at open time; the metadata step drops the tag."""
    method = _TRANSPOSE.get(ctx.orientation)
    if method is not None:
        ctx.image = ctx.image.transpose(method)

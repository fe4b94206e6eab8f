"""Decode a picture that is drawn onto results (a watermark, a nine-patch frame).

Checked as a source is (its format sniffed, its header's size bounded before any pixel
is decoded: a decompression bomb is a 422, never a 500), but against a much smaller
pixel limit: an overlay is kept decoded in memory and drawn on every result.
"""

from __future__ import annotations

from PIL import Image, ImageOps

from .errors import ImageTooLarge, TransformError, UndecodableImage
from .pipeline import ImageLimits, open_image
from .steps.load import DECODE_ERRORS


def decode_overlay(data: bytes, max_pixels: int, param: str, name: str) -> Image.Image:
    """The picture upright, in RGBA (its first frame when animated). Errors name the
    parameter and the source, as the client wrote them."""
    limits = ImageLimits(max_source_pixels=max_pixels, max_frames=10_000)
    try:
        image = open_image(data, limits)
        width, height = image.size
        if width * height > max_pixels:
            raise ImageTooLarge(f"it is {width}x{height}")
        image.load()
        upright = ImageOps.exif_transpose(image) or image
        picture = upright.convert("RGBA")
    except ImageTooLarge as error:
        raise ImageTooLarge(
            f"{param}={name!r} is too large to draw on results ({error.detail}); "
            f"the limit for overlays is {max_pixels} pixels",
            param=param,
        ) from error
    except TransformError as error:
        raise type(error)(f"{param}={name!r}: {error.detail}", param=param) from error
    except DECODE_ERRORS as error:
        raise UndecodableImage(
            f"{param}={name!r} cannot be decoded: {error}", param=param
        ) from error
    return picture

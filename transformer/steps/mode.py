"""Bring every pixel mode Pillow decodes to one of L, LA, RGB or RGBA."""

from __future__ import annotations

from PIL import Image

from ..context import Context

_SIMPLE = {
    "1": "L",
    "P": "RGB",
    "PA": "RGBA",
    "La": "LA",
    "RGBa": "RGBA",
    "RGBX": "RGB",
    "YCbCr": "RGB",
    "HSV": "RGB",
    "CMYK": "RGB",
    "F": "L",
}
_WIDE_GREY = {"I", "I;16", "I;16B", "I;16L", "I;16N"}
_TARGETS = {"L", "LA", "RGB", "RGBA"}


def with_alpha(mode: str) -> str:
    """The mode that adds an alpha band to `mode`."""
    return {"L": "LA", "RGB": "RGBA"}.get(mode, mode)


def normalise_mode(ctx: Context) -> None:
    """Convert to 8-bit L/LA/RGB/RGBA, keeping transparency given by a tRNS chunk."""
    image = ctx.image
    if image.mode in _WIDE_GREY:
        # Pillow's own I;16 -> L conversion clips at 255; scale the 16-bit range instead.
        image = image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    target = _SIMPLE.get(image.mode, image.mode)
    if "transparency" in image.info:
        target = with_alpha(target)
    if target not in _TARGETS:
        target = "RGB"
    if image.mode != target:
        image = image.convert(target)
    ctx.image = image


def has_transparency(image: Image.Image) -> bool:
    """True when an alpha band exists and some pixel is not fully opaque."""
    if image.mode not in ("LA", "RGBA"):
        return False
    low, _ = image.getchannel("A").getextrema()
    return isinstance(low, (int, float)) and low < 255

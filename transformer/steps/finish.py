"""Prepare the picture for its encoder: settle the format, flatten, drop metadata."""

from __future__ import annotations

from PIL import Image

from ..context import Context
from ..formats import JPEG, PNG
from .mode import has_transparency

FLATTEN_BACKGROUND = (255, 255, 255)


def choose_format(ctx: Context) -> None:
    """Resolve the `fmt=auto` fallback: PNG for a picture with transparency, else JPEG."""
    if ctx.output is None:
        ctx.output = PNG if has_transparency(ctx.image) else JPEG


def flatten(ctx: Context) -> None:
    """Composite transparency onto `bg` (else white) for formats without alpha (JPEG)."""
    image = ctx.image
    if ctx.output is None or ctx.output.has_alpha or image.mode not in ("LA", "RGBA"):
        return
    colour = ctx.options.background.rgba[:3] if ctx.options.background else FLATTEN_BACKGROUND
    base_mode = "L" if image.mode == "LA" and len(set(colour)) == 1 else "RGB"
    background = Image.new(base_mode, image.size, colour[: len(base_mode)])
    background.paste(image.convert(base_mode), mask=image.getchannel("A"))
    ctx.image = background


def strip_metadata(ctx: Context) -> None:
    """Drop EXIF, XMP, comments and the (now applied) ICC profile from the output."""
    ctx.image.info.clear()

"""Decode the source, as small as the JPEG decoder allows (shrink on load)."""

from __future__ import annotations

import math
import struct

from PIL import Image

from ..context import Context
from ..errors import UndecodableImage
from ..geometry import Size, upright

# What Pillow's decoders raise on a damaged or hostile file. Caught only around the
# calls that read the file (open, seek, load, a frame's conversion, the EXIF block),
# where they can only mean a bad file, so they become a 422. Nothing else is caught:
# the encoder and our own steps raise ordinary exceptions, which the web layer logs
# as a 500 with its traceback. Errors like TypeError or KeyError are not here on
# purpose; a file found to cause one gets a precise catch and a regression test
# (tests/test_fuzz_images.py).
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes UnidentifiedImageError and "image file is truncated"
    ValueError,
    RuntimeError,  # libavif's "Failed to decode image"
    SyntaxError,  # Pillow's plugins reject a malformed header with it
    EOFError,  # seeking past the frames a damaged file really has
    struct.error,
    Image.DecompressionBombError,
    # Pillow warns about damaged data (bad EXIF tags, odd chunks); where warnings are
    # turned into errors (as in our tests), they mean the same as the errors above.
    Warning,
)
# Pillow's plugins also raise these on a malformed header or frame header (a GIF
# extension block cut short, a TIFF frame without dimensions), and Pillow's own
# `Image.open` takes them to mean "not this format". So they are caught where headers
# are parsed (opening, counting and seeking frames), and nowhere else.
HEADER_ERRORS: tuple[type[BaseException], ...] = (*DECODE_ERRORS, IndexError, TypeError)

# Decode at least this many times the output size, as Pillow's own `thumbnail` does:
# the LANCZOS resize then does a real >= 2x reduction instead of polishing a coarse DCT
# downscale. Measured on street-2725x2225.jpg (SSIM against a full-decode LANCZOS
# reference, time of decode + resize): to 300 px 0.907 -> 0.975 for 8 -> 12 ms, to 640 px
# 0.912 -> 0.988 for 14 -> 24 ms. It never pushes the decode past half the source's
# size, where the gain is small for the cost: to 1280 px a full decode would give
# 0.969 -> 1.0 for 31 -> 80 ms.
DRAFT_GAP = 2.0


def needed_upright_size(ctx: Context) -> Size | None:
    """The smallest upright decode that still gives the planned resize every pixel it
    needs, or None when the whole picture is needed (a trim looks at all of it)."""
    options = ctx.options
    if options.trim is not None:
        return None
    shown = upright(ctx.source_size, ctx.orientation)
    working = options.crop[2:] if options.crop else shown
    if options.rotate in (90, 270):
        working = (working[1], working[0])
    scale_x = ctx.geometry.resize[0] / working[0]
    scale_y = ctx.geometry.resize[1] / working[1]
    if options.rotate in (90, 270):
        scale_x, scale_y = scale_y, scale_x
    return (math.ceil(shown[0] * scale_x), math.ceil(shown[1] * scale_y))


def shrink_on_load(ctx: Context) -> None:
    """Ask the JPEG decoder for the smallest DCT scale still `DRAFT_GAP` times the
    needed size: a 1/4 scale decode of a 2725x2225 photo for a 300-px result is several
    times cheaper than a full one, and the LANCZOS resize that follows hides the rest."""
    wanted = needed_upright_size(ctx)
    if wanted is not None:
        _draft(ctx, draft_size(wanted, upright(ctx.source_size, ctx.orientation)))


def draft_size(needed: Size, source: Size) -> Size:
    """What to ask the JPEG decoder for, to end up with `needed` pixels after LANCZOS:
    `DRAFT_GAP` times more, but no more than half the source unless `needed` is."""
    return (
        max(needed[0], min(math.ceil(needed[0] * DRAFT_GAP), source[0] // 2)),
        max(needed[1], min(math.ceil(needed[1] * DRAFT_GAP), source[1] // 2)),
    )


def _draft(ctx: Context, wanted: Size) -> None:
    """Ask the JPEG decoder for `wanted` (upright) pixels, turned back as stored."""
    if ctx.image.format not in ("JPEG", "MPO"):
        return
    ctx.image.draft(ctx.image.mode, upright(wanted, ctx.orientation))


def decode(ctx: Context) -> None:
    """Decode the pixels now, so a damaged file fails here with a clear 422.

    For an animation frame, `image` is the whole source: seek to the frame and take it
    out as RGBA (Pillow composites it over the frames before), one mode for every frame.
    """
    if ctx.animation_frame is None:
        try:
            ctx.image.load()
        except DECODE_ERRORS as error:
            raise UndecodableImage(f"the image cannot be decoded: {error}") from error
    else:
        ctx.image = _frame(ctx.image, ctx.animation_frame)
    ctx.scale = ctx.image.width / ctx.source_size[0]


def _frame(source: Image.Image, index: int) -> Image.Image:
    try:
        source.seek(index)  # parses the frame's header
        return source.convert("RGBA")
    except HEADER_ERRORS as error:
        raise UndecodableImage(f"frame {index} cannot be decoded: {error}") from error


def check_whole(ctx: Context) -> None:
    """Decode at the smallest scale, only to prove the file is whole before its bytes
    are served as they are (a JPEG's entropy data is all read even at 1/8)."""
    _draft(ctx, (1, 1))
    decode(ctx)

"""Decode the source, as small as the JPEG decoder allows (shrink on load)."""

from __future__ import annotations

import struct

from PIL import Image, ImageFile

from ..context import Context
from ..errors import UndecodableImage

# What Pillow's decoders raise on damaged input. Caught only around decoding, where
# they can only mean a bad file, so they become a 422 rather than a 500.
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    MemoryError,
    struct.error,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)

_TRANSPOSING_ORIENTATIONS = {5, 6, 7, 8}
# Pillow feeds a decoder 64 KiB at a time; libjpeg then suspends and resumes (redoing
# part of an MCU row) a dozen times for a 1 MB photo. One block for the whole source
# saves 1-2% of a shrink-on-load decode (benchmarks/RESULTS.md), for the same pixels.
DECODE_BLOCK = 1 << 24


def shrink_on_load(ctx: Context) -> None:
    """Ask the JPEG decoder for the smallest DCT scale still at least the resize size.

    A 1/8 scale decode of a 2725x2225 photo is over ten times cheaper than a full one,
    and the LANCZOS resize that follows hides the difference. Without a resize the
    pixels are still decoded, at the smallest scale, to prove the file is whole.
    """
    if ctx.image.format not in ("JPEG", "MPO"):
        return
    wanted = ctx.geometry.resize if ctx.options.resizes else (1, 1)
    if ctx.orientation in _TRANSPOSING_ORIENTATIONS:
        wanted = (wanted[1], wanted[0])
    ctx.image.draft(ctx.image.mode, wanted)


def decode(ctx: Context) -> None:
    """Decode the pixels now, so a damaged file fails here with a clear 422."""
    if isinstance(ctx.image, ImageFile.ImageFile) and ctx.image.format in ("JPEG", "MPO"):
        ctx.image.decodermaxblock = DECODE_BLOCK
    try:
        ctx.image.load()
    except DECODE_ERRORS as error:
        raise UndecodableImage(f"the image cannot be decoded: {error}") from error

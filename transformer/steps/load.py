"""Decode the source, as small as the JPEG decoder allows (shrink on load)."""

from __future__ import annotations

import struct

from PIL import Image

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
    # Pillow warns about damaged data (bad EXIF tags, odd chunks); where warnings are
    # turned into errors (as in our tests), they mean the same as the errors above.
    Warning,
)

_TRANSPOSING_ORIENTATIONS = {5, 6, 7, 8}


def shrink_on_load(ctx: Context) -> None:
    """Ask the JPEG decoder for the smallest DCT scale still at least the resize size.

    A 1/8 scale decode of a 2725x2225 photo is several times cheaper than a full one,
    and the LANCZOS resize that follows hides the difference.
    """
    _draft(ctx, ctx.geometry.resize)


def _draft(ctx: Context, upright_size: tuple[int, int]) -> None:
    if ctx.image.format not in ("JPEG", "MPO"):
        return
    if ctx.orientation in _TRANSPOSING_ORIENTATIONS:
        upright_size = (upright_size[1], upright_size[0])
    ctx.image.draft(ctx.image.mode, upright_size)


def check_whole(ctx: Context) -> None:
    """Decode at the smallest scale, only to prove the file is whole before its bytes
    are served as they are (a JPEG's entropy data is all read even at 1/8)."""
    _draft(ctx, (1, 1))
    decode(ctx)


def decode(ctx: Context) -> None:
    """Decode the pixels now, so a damaged file fails here with a clear 422."""
    try:
        ctx.image.load()
    except DECODE_ERRORS as error:
        raise UndecodableImage(f"the image cannot be decoded: {error}") from error

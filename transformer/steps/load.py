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

# Decode at least this many times the output size when the resize cannot be told the
# picture's exact extent in the decoded pixels (a crop, trim, rotation or flip moves
# it): LANCZOS then does a real >= 2x reduction, which hides the DCT scale's padded
# last column. It never pushes the decode past half the source's size.
DRAFT_GAP = 2.0
# Otherwise decode at the JPEG scale nearest above the output (libvips' shrink-on-load)
# and let the resize read exactly the picture's extent (`Context.extent`): chosen by
# `benchmarks/levers.py` (SSIM against a full-decode LANCZOS reference, bytes, time).
# street-2725x2225.jpg to 640 px JPEG: a 1/4 decode with the exact extent scores 0.946
# (sharp's score) against 0.942 for the 1/2 decode and padded extent, at about half
# the decode and a third of the resize time; to 300 px WebP 0.954 against 0.944 at
# 5% fewer bytes. Without the exact extent the same 1/4 decode scored only 0.889.
EXACT_DRAFT_GAP = 1.0
# A `q=auto` answer promises its SSIMULACRA2 floor against the original as a faithful
# resize shows it (the whole source decoded, LANCZOS to the output size), but its
# search can only score against the picture the pipeline made: so that picture must
# be close to the faithful one. A DCT-scale decode is not: street-2725x2225.jpg at
# 320 px scores 87.2 against the faithful resize at the nearest scale and 94.5 at
# twice the output, gain-map-3840x2160.jpg at 1280 px 93.0 at half its size and 100.0
# whole (`python -m benchmarks auto_quality --fidelity`). So `q=auto` decodes at least
# this many times the output, up to the whole picture.
FAITHFUL_DRAFT_GAP = 2.0
JPEG_SCALES = (1 / 8, 2 / 8, 3 / 8, 4 / 8, 5 / 8, 6 / 8, 7 / 8, 1.0)


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
    """Ask the JPEG decoder for the smallest DCT scale that still gives the resize what
    it needs: a 1/4 scale decode of a 2725x2225 photo for a 640-px result is several
    times cheaper than a full one."""
    wanted = needed_upright_size(ctx)
    if wanted is not None:
        shown = upright(ctx.source_size, ctx.orientation)
        if faithful(ctx):
            _draft(ctx, draft_size(wanted, shown, FAITHFUL_DRAFT_GAP, largest=shown))
            return
        # A crop keeps DRAFT_GAP: its exact box (`Context.region`) stays a box inside a
        # coarser decode, and decoding it at the nearest scale cost thumbor's crops
        # 0.02 SSIM against thumbor's own (`python -m benchmarks thumbor_dialect`).
        exact = extent_reaches_resize(ctx) and ctx.options.crop is None
        _draft(ctx, draft_size(wanted, shown, EXACT_DRAFT_GAP if exact else DRAFT_GAP))


def faithful(ctx: Context) -> bool:
    """Whether the picture must stay close to a faithful resize of the original, at some
    CPU: a `q=auto` request's, whose floor is promised against the original (whatever
    its output, so `q=auto`'s picture is one). Not an animation's frames, which no
    search answers for (and which the `auto_quality` setting also targets)."""
    return ctx.options.target is not None and ctx.animation_frame is None


def extent_reaches_resize(ctx: Context) -> bool:
    """True when the decoded picture reaches the resize as decoded but for its EXIF
    orientation and a crop, so the resize can read exactly its extent (see
    `Context.extent`) or the crop's exact box (`Context.region`)."""
    options = ctx.options
    return options.trim is None and options.rotate % 360 == 0 and options.flip is None


def draft_size(
    needed: Size, source: Size, gap: float = DRAFT_GAP, largest: Size | None = None
) -> Size:
    """What to ask the JPEG decoder for, to end up with `needed` pixels after LANCZOS:
    `gap` times more, but no more than `largest` (half the source) unless `needed` is."""
    cap = largest or (source[0] // 2, source[1] // 2)
    return (
        max(needed[0], min(math.ceil(needed[0] * gap), cap[0])),
        max(needed[1], min(math.ceil(needed[1] * gap), cap[1])),
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
    ctx.extent = decoded_extent(ctx.source_size, ctx.image.size)


def decoded_extent(stored: Size, decoded: Size) -> tuple[float, float] | None:
    """The stored picture's exact size in the decoded pixels, when a reduced-scale JPEG
    decode padded it up to whole pixels (libjpeg gives ceil(size x scale)); else None."""
    if decoded == stored:
        return None
    for scale in JPEG_SCALES:
        exact = (stored[0] * scale, stored[1] * scale)
        if (math.ceil(exact[0]), math.ceil(exact[1])) == decoded:
            return None if exact == decoded else exact
    return None


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

"""The `resize` step(s) alone, on hand-made images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from benchmarks.ssim import ssim_images
from pixserve.transformer import Options
from pixserve.transformer.geometry import cover_window, plan
from pixserve.transformer.options import Fit, Gravity
from pixserve.transformer.steps.canvas import fit_canvas
from pixserve.transformer.steps.load import decode, decoded_extent, shrink_on_load
from pixserve.transformer.steps.orient import _TRANSPOSE, auto_orient
from pixserve.transformer.steps.resize import PADDING_AT_LEFT_TOP, resize
from tests.helpers import encode, gradient
from tests.steps.helpers import context, opened


def test_resize_to_the_plan() -> None:
    ctx = context(gradient((800, 600)), Options(width=200))
    resize(ctx)
    assert ctx.image.size == (200, 150)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_padding_table_follows_pillows_transpose(orientation: int) -> None:
    """Where the decode's padded right column and bottom row end up once upright."""
    valid = Image.new("L", (10, 6), 0)
    valid.paste(255, (0, 0, 8, 5))  # padding: 2 columns at the right, 1 row at the bottom
    method = _TRANSPOSE.get(orientation)
    upright = valid.transpose(method) if method is not None else valid
    box = upright.getbbox()
    assert box is not None
    at_left, at_top = PADDING_AT_LEFT_TOP[orientation]
    assert (box[0] > 0, box[1] > 0) == (at_left, at_top)


def test_decoded_extent_is_the_exact_scaled_size() -> None:
    assert decoded_extent((2725, 2225), (682, 557)) == (681.25, 556.25)
    assert decoded_extent((3840, 2160), (960, 540)) is None  # 1/4 divides it
    assert decoded_extent((2725, 2225), (2725, 2225)) is None  # a full decode


def ripples(size: tuple[int, int]) -> Image.Image:
    """Fine detail everywhere, where a sub-pixel shift shows (a gradient hides it)."""
    x = np.arange(size[0])[None, :]
    y = np.arange(size[1])[:, None]
    values = 128 + 60 * np.sin(x / 7.0) + 60 * np.sin(y / 5.0 + x / 11.0)
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L").convert("RGB")


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_resize_reads_the_exact_extent_of_a_padded_decode(orientation: int) -> None:
    """A reduced-scale decode of a JPEG whose size 1/4 does not divide keeps the picture
    where a full decode puts it: not stretched by the padded last column and row (which
    scores about 0.91 here)."""
    upright = ripples((1001, 601))
    transposes = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90}
    transposes[8] = Image.Transpose.ROTATE_270
    # Stored so that its orientation tag turns it back into `upright`.
    stored = upright.transpose(transposes[orientation]) if orientation != 1 else upright
    options = Options(width=250)
    ctx = context(opened(encode(stored, "JPEG", quality=95)), options, orientation=orientation)
    ctx.geometry = plan(upright.size, options.box, options.fit)
    shrink_on_load(ctx)
    decode(ctx)
    assert ctx.extent is not None  # 1/4 of 1001 x 601 is not whole
    auto_orient(ctx)
    resize(ctx)
    reference = upright.resize(ctx.image.size, Image.Resampling.LANCZOS)
    assert ssim_images(reference, ctx.image.convert("RGB")) >= 0.99


def _detailed(size: tuple[int, int]) -> Image.Image:
    noise = Image.effect_noise(size, 60)
    return Image.merge("RGB", (noise, gradient(size).convert("L"), noise.transpose(0)))


@pytest.mark.parametrize(
    ("gravity", "focus"),
    [
        (Gravity.CENTER, None),
        (Gravity.NORTHWEST, None),
        (Gravity.SOUTHEAST, None),
        (Gravity.EAST, None),
        (Gravity.CENTER, (0.8, 0.3)),
    ],
)
@pytest.mark.parametrize("box", [(200, 200), (400, 100), (90, 300)])
def test_cover_resizes_only_the_window_it_keeps(
    gravity: Gravity, focus: tuple[float, float] | None, box: tuple[int, int]
) -> None:
    """The window `cover` keeps is cut from the source and resized once, as thumbor
    does: the same pixels as cutting the window on whole source pixels (thumbor's own
    rounding) and resizing that, to within the half source pixel that rounding moves
    it (on a picture without detail finer than a few pixels)."""
    picture = _detailed((1280, 960)).filter(ImageFilter.GaussianBlur(3))
    focal = {} if focus is None else {"focus_x": focus[0], "focus_y": focus[1]}
    options = Options(width=box[0], height=box[1], fit=Fit.COVER, gravity=gravity, **focal)
    ctx = context(picture, options)
    resize(ctx)
    assert ctx.image.size == ctx.geometry.canvas == box
    left, top, right, bottom = cover_window(picture.size, box, gravity, focus)
    whole_pixels = tuple(
        round(edge * side)
        for edge, side in zip((left, top, right, bottom), picture.size * 2, strict=True)
    )
    expected = picture.crop(whole_pixels).resize(box, Image.Resampling.LANCZOS)
    difference = np.abs(np.asarray(ctx.image, np.int16) - np.asarray(expected, np.int16))
    assert difference.mean() < 1.0 and np.percentile(difference, 99) <= 4
    fit_canvas(ctx)  # nothing left to cut
    assert ctx.image.size == box


def test_a_window_chosen_from_the_pixels_is_cut_after_the_whole_resize() -> None:
    ctx = context(
        _detailed((1280, 960)),
        Options(width=200, height=200, fit=Fit.COVER, gravity=Gravity.ENTROPY),
    )
    resize(ctx)
    assert ctx.image.size == ctx.geometry.resize != (200, 200)

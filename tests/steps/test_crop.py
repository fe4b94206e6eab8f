"""The explicit `crop` step."""

from __future__ import annotations

import pytest
from PIL import Image

from benchmarks.ssim import ssim_images
from pixserve.transformer import Fit, Options
from pixserve.transformer.steps.crop import crop_source
from pixserve.transformer.steps.resize import resize
from tests.steps.helpers import context


def marked(size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGB", size, (0, 0, 0))
    image.paste((255, 0, 0), (10, 20, 40, 60))  # a red 30x40 block at (10, 20)
    return image


def test_crop_cuts_the_region_in_source_pixels() -> None:
    ctx = context(marked((100, 80)), Options(crop=(10, 20, 30, 40)))
    crop_source(ctx)
    assert ctx.image.size == (30, 40)
    assert ctx.image.getcolors() == [(1200, (255, 0, 0))]


def test_crop_follows_shrink_on_load() -> None:
    """After a 1/2 scale decode the same source box is half as many pixels."""
    half = marked((100, 80)).resize((50, 40))
    ctx = context(half, Options(crop=(10, 20, 30, 40)), source_size=(100, 80), scale=0.5)
    crop_source(ctx)
    assert ctx.image.size == (15, 20)
    assert ctx.region == (0, 0, 15, 20)


def test_a_crop_between_decoded_pixels_is_kept_exactly() -> None:
    """A box on whole source pixels after a 1/4 decode (x=250 is 62.5 decoded pixels):
    the whole pixels around it are kept and its exact box goes to the resize, which
    then gives what a full decode cut at the box and resized gives (thumbor's crop)."""
    source = Image.radial_gradient("L").resize((1000, 800)).convert("RGB")
    source.paste((200, 30, 30), (250, 100, 260, 700))  # a red bar from x=250 to 260
    quarter = source.resize((250, 200), Image.Resampling.BOX)
    box = (250, 33, 500, 501)  # 250..750 x 33..534
    options = Options(crop=box, width=100, height=200, fit=Fit.FILL)
    ctx = context(quarter, options, source_size=(1000, 800), scale=0.25)
    crop_source(ctx)
    assert ctx.image.size == (126, 126)  # 62..188 x 8..134: whole pixels around it
    assert ctx.region == pytest.approx((0.5, 0.25, 125.5, 125.5))
    resize(ctx)
    expected = source.crop((250, 33, 750, 534)).resize((100, 200), Image.Resampling.LANCZOS)
    assert ssim_images(expected, ctx.image) > 0.99
    # the red bar starts at the window's first column, as in the full decode
    assert ctx.image.getpixel((0, 100))[0] > 150 and ctx.image.getpixel((3, 100))[0] < 150


def test_no_crop_leaves_the_image() -> None:
    image = marked((10, 10))
    ctx = context(image)
    crop_source(ctx)
    assert ctx.image is image

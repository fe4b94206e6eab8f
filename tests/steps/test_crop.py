"""The explicit `crop` step."""

from __future__ import annotations

from PIL import Image

from pixserve.transformer import Options
from pixserve.transformer.steps.crop import crop_source
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
    ctx = context(marked((100, 80)).resize((50, 40)), Options(crop=(10, 20, 30, 40)))
    ctx.scale = 0.5
    crop_source(ctx)
    assert ctx.image.size == (15, 20)


def test_no_crop_leaves_the_image() -> None:
    image = marked((10, 10))
    ctx = context(image)
    crop_source(ctx)
    assert ctx.image is image

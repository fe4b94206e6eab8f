"""The `place_crop` step: gravity, focal point, entropy and attention."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from pixserve.transformer import Options
from pixserve.transformer.options import Fit, Gravity
from pixserve.transformer.steps.smartcrop import place_crop, saliency
from tests.steps.helpers import context


def scene(detail_at: int) -> Image.Image:
    """A flat 600x200 grey band with one busy, colourful 150-px patch at `detail_at`."""
    image = Image.new("RGB", (600, 200), (128, 128, 128))
    draw = ImageDraw.Draw(image)
    for offset in range(0, 150, 6):
        draw.line((detail_at + offset, 0, detail_at + offset, 199), fill=(230, 30, 40), width=3)
    return image


def cover(image: Image.Image, **options: object) -> Options:
    return Options(width=200, height=200, fit=Fit.COVER, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("gravity", [Gravity.ENTROPY, Gravity.ATTENTION])
@pytest.mark.parametrize("detail_at", [20, 225, 430])
def test_smart_gravities_keep_the_detailed_region(gravity: Gravity, detail_at: int) -> None:
    image = scene(detail_at)
    ctx = context(image, cover(image, gravity=gravity))
    place_crop(ctx)
    left, _ = ctx.crop_origin
    assert left <= detail_at and detail_at + 150 <= left + 200  # the whole patch is kept


def test_focal_point_is_kept() -> None:
    image = scene(0)
    ctx = context(image, cover(image, focus_x=0.9, focus_y=0.5))
    place_crop(ctx)
    assert ctx.crop_origin == (400, 0)  # as far right as the picture allows


def test_named_gravity() -> None:
    image = scene(0)
    ctx = context(image, cover(image, gravity=Gravity.EAST))
    place_crop(ctx)
    assert ctx.crop_origin == (400, 0)


def test_saliency_lights_up_skin_and_colour() -> None:
    image = Image.new("RGB", (30, 10), (128, 128, 128))
    image.paste((224, 172, 150), (0, 0, 10, 10))  # a skin tone
    image.paste((20, 200, 60), (20, 0, 30, 10))  # saturated green
    heat = saliency(image)
    grey, skin, green = (heat.getpixel((x, 5)) for x in (15, 5, 25))
    assert skin > grey and green > grey  # type: ignore[operator]

"""The `colour` step(s) alone, on hand-made images."""

from __future__ import annotations

from PIL import Image, ImageCms

from tests.conftest import gradient
from tests.steps.helpers import context
from transformer.steps.colour import to_srgb


def test_to_srgb_applies_the_profile() -> None:
    srgb_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = gradient((8, 8))
    image.info["icc_profile"] = srgb_profile
    ctx = context(image)
    to_srgb(ctx)
    assert ctx.image.mode == "RGB"
    assert ctx.image.tobytes() == image.tobytes()  # sRGB to sRGB changes nothing


def test_to_srgb_ignores_a_broken_profile() -> None:
    image = gradient((8, 8))
    image.info["icc_profile"] = b"not a profile"
    ctx = context(image)
    to_srgb(ctx)
    assert ctx.image is image


def test_to_srgb_converts_plain_cmyk() -> None:
    ctx = context(Image.new("CMYK", (4, 4), (0, 255, 255, 0)))
    to_srgb(ctx)
    assert ctx.image.mode == "RGB" and ctx.image.getpixel((0, 0)) == (255, 0, 0)

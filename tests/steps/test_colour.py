"""The `colour` step(s) alone, on hand-made images."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageChops, ImageCms

from pixserve.transformer.steps.colour import _is_srgb_already, _transform_for, to_srgb
from tests.helpers import gradient
from tests.steps.helpers import context


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


def test_to_srgb_skips_the_pass_for_an_srgb_profile_with_the_same_picture() -> None:
    srgb_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = gradient((64, 48))
    image.info["icc_profile"] = srgb_profile
    ctx = context(image)
    to_srgb(ctx)
    assert ctx.image is image  # the fast path: no per-pixel transform
    converted = ImageCms.applyTransform(image, _transform_for(srgb_profile, "RGB"))
    assert converted is not None
    assert all(high <= 1 for _, high in ImageChops.difference(converted, image).getextrema())  # type: ignore[misc]


def test_srgb_detection_on_real_profiles(corpus: Path) -> None:
    def profile(name: str) -> bytes:
        with Image.open(corpus / name) as image:
            found: bytes = image.info["icc_profile"]
            return found

    assert _is_srgb_already(profile("photos/gain-map-3840x2160.jpg"), "RGB")  # a phone's sRGB
    assert not _is_srgb_already(profile("color/display-p3.png"), "RGBA")
    assert not _is_srgb_already(profile("color/prophoto.png"), "RGB")

"""Colour management on the corpus: mean colours of regions against a reference made
by a full, slow, colour-managed conversion (full decode, LittleCMS, then LANCZOS)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from pixserve.config.settings import default_cmyk_profile
from pixserve.transformer import FORMATS, ColourSettings, Options, transform
from tests.helpers import decoded, encode, gradient

SRGB = ImageCms.createProfile("sRGB")


def regions(image: Image.Image, grid: int = 4) -> np.ndarray:
    """Mean RGB of each cell of a grid x grid split: where the colours are."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    height, width, _ = pixels.shape
    return np.array(
        [
            pixels[
                y * height // grid : (y + 1) * height // grid,
                x * width // grid : (x + 1) * width // grid,
            ].mean(axis=(0, 1))
            for y in range(grid)
            for x in range(grid)
        ]
    )


def reference(path: Path, width: int, profile: bytes | None = None) -> Image.Image:
    with Image.open(path) as image:
        image.load()
        source_profile = profile or image.info["icc_profile"]
        converted = ImageCms.profileToProfile(
            image, ImageCms.ImageCmsProfile(io.BytesIO(source_profile)), SRGB, outputMode="RGB"
        )
    assert converted is not None
    height = round(converted.height * width / converted.width)
    return converted.resize((width, height), Image.Resampling.LANCZOS)


def ours(
    path: Path, width: int, colour: ColourSettings | None = None, fmt: str = "png"
) -> Image.Image:
    result = transform(path.read_bytes(), Options(width=width), FORMATS[fmt], colour=colour)
    return decoded(result.data)


@pytest.mark.parametrize(
    "name",
    [
        "color/cmyk-with-profile.jpg",
        "color/cmyk-fogra.tif",
        "photos/gain-map-3840x2160.jpg",
        "photos/small-320x240.jpg",
    ],
)
def test_embedded_profiles_match_a_colour_managed_reference(corpus: Path, name: str) -> None:
    path = corpus / name
    width = 200
    got = regions(ours(path, width))
    want = regions(reference(path, width))
    assert np.abs(got - want).max() < 6, np.abs(got - want).max()


def test_grey_with_a_profile_is_converted(corpus: Path) -> None:
    path = corpus / "photos/concert-gray.jpg"
    image = ours(path, 200)
    assert image.mode == "L"  # still grey
    want = regions(reference(path, 200))
    assert np.abs(regions(image) - want).max() < 4


def test_wide_gamut_png(corpus: Path) -> None:
    got = ours(corpus / "color/display-p3.png", 8)
    want = reference(corpus / "color/display-p3.png", 8)
    assert np.abs(regions(got, 2) - regions(want, 2)).max() < 4


def test_untagged_cmyk_uses_the_standard_profile(corpus: Path) -> None:
    profile_path = default_cmyk_profile()
    if profile_path is None:
        pytest.skip("no standard CMYK profile on this machine (Debian package libgs-common)")
    settings = ColourSettings(cmyk_profile=profile_path.read_bytes())
    # the same photo tagged with U.S. Web Coated (SWOP): the truth for the untagged one
    want = regions(reference(corpus / "color/cmyk-with-profile.jpg", 200))
    managed = regions(ours(corpus / "color/cmyk-no-profile.jpg", 200, settings))
    naive = regions(ours(corpus / "color/cmyk-no-profile.jpg", 200, ColourSettings()))
    assert np.abs(managed - want).mean() < np.abs(naive - want).mean()
    assert np.abs(managed - want).max() < 25


def test_keeping_profiles_embeds_the_source_profile(corpus: Path) -> None:
    path = corpus / "photos/gain-map-3840x2160.jpg"
    with Image.open(path) as source:
        profile = source.info["icc_profile"]
    for fmt in ("jpeg", "png", "webp", "avif"):
        kept = ours(path, 100, ColourSettings(keep_profiles=True), fmt)
        assert kept.info.get("icc_profile") == profile, fmt
        assert "icc_profile" not in ours(path, 100, fmt=fmt).info


def test_cmyk_is_converted_even_when_keeping_profiles(corpus: Path) -> None:
    image = ours(corpus / "color/cmyk-with-profile.jpg", 100, ColourSettings(keep_profiles=True))
    assert image.mode == "RGB" and "icc_profile" not in image.info


def test_untagged_rgb_is_left_alone() -> None:
    source = encode(gradient((64, 48)), "PNG")
    result = transform(source, Options(width=64), FORMATS["png"])
    assert (
        Image.open(io.BytesIO(result.data)).tobytes()
        == Image.open(io.BytesIO(source)).convert("RGB").tobytes()
    )

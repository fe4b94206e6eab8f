"""The in-request SSIMULACRA2 (`transformer/ssimulacra.py`): what it scores, and that it
is the score of PyPI `ssimulacra2`, the reference `q=auto`'s floors are promised in."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixserve.transformer import FORMATS, parse_options, transform
from pixserve.transformer.ssimulacra import (
    MIN_WEIGHT,
    SKIPPED_WEIGHT,
    WEIGHTS,
    Reference,
    blur,
    halved,
    scale_count,
    score,
)
from tests.helpers import gradient


def photo(corpus: Path, name: str, width: int) -> Image.Image:
    source = (corpus / "photos" / name).read_bytes()
    data = transform(source, parse_options([("w", str(width))]), FORMATS["png"]).data
    return Image.open(io.BytesIO(data))


def encoded(image: Image.Image, fmt: str, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, fmt, quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_identity_scores_100_and_worse_scores_lower(corpus: Path) -> None:
    picture = photo(corpus, "street-2725x2225.jpg", 320)
    reference = Reference(picture)
    assert reference.score(picture) == pytest.approx(100.0)
    scores = [reference.score(encoded(picture, "JPEG", q)) for q in (20, 50, 90)]
    assert scores == sorted(scores) and scores[0] < 50 < scores[2] < 100


def test_transparent_pixels_do_not_count() -> None:
    # Under full transparency encoders may change colours freely: composited over
    # grey, the two pictures below are the same.
    picture = gradient((64, 64), "RGBA")
    hidden = picture.copy()
    hidden.paste((255, 0, 0, 0), (0, 0, 32, 32))
    assert score(picture, hidden) == pytest.approx(100.0)


def test_lost_colour_counts_as_well_as_lost_detail() -> None:
    picture = gradient((120, 90))
    grey_twin = Image.merge("RGB", [picture.convert("L")] * 3)
    assert score(picture, grey_twin) < 50


def test_pictures_of_another_size_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in size"):
        Reference(gradient((64, 64))).score(gradient((64, 32)))


def test_small_pictures_have_fewer_scales() -> None:
    assert scale_count((640, 480)) == 6
    assert scale_count((640, 125)) == 5  # 125, 63, 32, 16, 8: the sixth would be 4 high
    assert scale_count((7, 100)) == 0
    assert score(gradient((16, 16)), gradient((16, 16))) == pytest.approx(100.0)


def test_the_skipped_terms_weigh_little() -> None:
    kept = WEIGHTS[WEIGHTS >= MIN_WEIGHT]
    assert SKIPPED_WEIGHT < 0.03 and kept.min() > 0.25 and kept.sum() > 800


def test_halving_averages_a_last_odd_row_alone() -> None:
    planes = np.arange(3 * 4 * 3, dtype=np.float32).reshape(3, 4, 3)
    half = halved(planes)
    assert half.shape == (2, 2, 3)
    assert half[0, 0, 0] == pytest.approx(np.mean(planes[:2, :2, 0]))
    assert half[1, 1, 0] == pytest.approx(np.mean(planes[2, 2:, 0]))


def test_blur_keeps_flat_rows_and_fades_at_the_sides() -> None:
    # The package mirrors rows past the top and bottom and treats columns past the
    # sides as zero: a flat plane stays flat down the middle and darkens at its sides.
    flat = np.ones((20, 20), dtype=np.float32)
    blurred = blur(flat)
    assert blurred[:, 10] == pytest.approx(np.ones(20), abs=1e-6)
    assert blurred[10, 0] < 0.8


@pytest.mark.parametrize(
    ("name", "fmt", "quality"),
    [
        ("flowers-1920x1080.jpg", "JPEG", 30),  # smooth blocking: the 8x8 SSIM's blind spot
        ("street-2725x2225.jpg", "WEBP", 50),
        ("pitm-4096x800.avif", "JPEG", 70),  # a strip: five scales
        ("gain-map-3840x2160.jpg", "AVIF", 30),
    ],
)
def test_it_is_the_packages_score(corpus: Path, name: str, fmt: str, quality: int) -> None:
    ssimulacra2 = pytest.importorskip(
        "ssimulacra2", reason="the offline reference comes with the bench extra"
    )
    picture = photo(corpus, name, 640)
    output = encoded(picture, fmt, quality)
    buffers = []
    for image in (picture, output):
        buffers.append(io.BytesIO())
        image.save(buffers[-1], "PNG")
        buffers[-1].seek(0)
    expected = ssimulacra2.compute_ssimulacra2(*buffers)
    assert Reference(picture).score(output) == pytest.approx(expected, abs=0.05)

"""The `orient` step(s) alone, on hand-made images."""

from __future__ import annotations

from PIL import Image

from pixserve.transformer.steps.load import decode
from pixserve.transformer.steps.orient import auto_orient, read_orientation
from tests.helpers import encode, gradient
from tests.steps.helpers import context, opened


def test_orientation_is_read_and_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    image = opened(encode(gradient((40, 20)), "JPEG", exif=exif))
    ctx = context(image, orientation=read_orientation(image))
    decode(ctx)
    auto_orient(ctx)
    assert ctx.orientation == 8 and ctx.image.size == (20, 40)


def test_orientation_out_of_range_is_ignored() -> None:
    exif = Image.Exif()
    exif[0x0112] = 42
    assert read_orientation(opened(encode(gradient((4, 4)), "JPEG", exif=exif))) == 1

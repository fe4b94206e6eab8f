"""The `orient` step(s) alone, on hand-made images."""

from __future__ import annotations

import io

from PIL import ExifTags, Image

from pixserve.transformer import Options, upright_size
from pixserve.transformer.cost import estimate_cost
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


def _png_with_orientation(orientation: int, *, after_pixels: bool) -> bytes:
    """A PNG whose eXIf chunk holds `orientation`, before the pixels (as Pillow writes
    it) or moved after them."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "teal").save(out, "PNG", exif=exif.tobytes())
    data = out.getvalue()
    if not after_pixels:
        return data
    start = data.index(b"eXIf") - 4
    length = int.from_bytes(data[start : start + 4], "big")
    chunk = data[start : start + 12 + length]
    data = data.replace(chunk, b"")
    end = data.index(b"IEND") - 4
    return data[:end] + chunk + data[end:]


def test_a_png_orientation_is_read_from_its_header_without_decoding() -> None:
    with Image.open(io.BytesIO(_png_with_orientation(6, after_pixels=False))) as image:
        assert read_orientation(image) == 6
        assert getattr(image, "_im", None) is None  # nothing decoded
        assert upright_size(_png_with_orientation(6, after_pixels=False)) == (20, 40)


def test_an_exif_chunk_after_a_pngs_pixels_is_not_worth_a_decode() -> None:
    data = _png_with_orientation(6, after_pixels=True)
    with Image.open(io.BytesIO(data)) as image:
        assert read_orientation(image) == 1
        assert getattr(image, "_im", None) is None  # Pillow would have decoded to find it
        image.load()
        assert image.getexif().get(ExifTags.Base.Orientation) == 6  # it is there
    assert estimate_cost(data, Options(width=10), None).decoded_pixels == 800

"""HEIC/HEIF and ICO sources: sniffed, read, upright, the largest icon; hostile ones 4xx.

Files are made here: pillow-heif writes HEIF (with an EXIF orientation), Pillow writes
ICO with one picture per size.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pillow_heif
import pytest
from PIL import ExifTags, Image

from pixserve.transformer import (
    FORMATS,
    ImageLimits,
    ImageTooLarge,
    Options,
    sniff_format,
    transform,
)
from tests.conftest import MakeApp, encode

RED, BLUE, GREEN = (230, 20, 20), (20, 20, 230), (20, 200, 20)


def sideways_heic() -> bytes:
    """Stored 64x48, left half red and right half blue, tagged "turn 90 degrees
    clockwise" (orientation 6): upright it is 48x64, red on top, blue below."""
    image = Image.new("RGB", (64, 48), RED)
    image.paste(BLUE, (32, 0, 64, 48))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    heif = pillow_heif.from_pillow(image)
    buffer = io.BytesIO()
    heif.save(buffer, quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def icon(sizes: dict[int, tuple[int, int, int]]) -> bytes:
    """An ICO holding one flat, half-transparent picture per size, in its own colour."""
    pictures = [
        Image.new("RGBA", (side, side), (*colour, 255))
        for side, colour in sorted(sizes.items(), reverse=True)  # Pillow wants the largest first
    ]
    for picture in pictures:
        picture.paste((0, 0, 0, 0), (0, 0, picture.width // 2, picture.height // 4))
    first, *rest = pictures
    return encode(first, "ICO", sizes=[p.size for p in pictures], append_images=rest)


def close(pixel: object, colour: tuple[int, int, int]) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= 30 for a, b in zip(pixel[:3], colour, strict=True))


def test_sniffing_tells_heif_and_ico_from_their_neighbours() -> None:
    assert sniff_format(sideways_heic()[:32]) == "HEIF"
    assert sniff_format(encode(Image.new("RGB", (8, 8)), "AVIF")[:32]) == "AVIF"
    ico = icon({16: RED})
    assert sniff_format(ico[:32]) == "ICO"
    assert sniff_format(b"\x00\x00\x02\x00" + ico[4:32]) is None  # a cursor
    assert sniff_format(b"\x00\x00\x01\x00\x00\x00" + ico[6:32]) is None  # no images


def test_heic_comes_out_upright() -> None:
    result = transform(sideways_heic(), Options(width=24), FORMATS["png"])
    assert result.size == (24, 32)
    picture = Image.open(io.BytesIO(result.data)).convert("RGB")
    assert close(picture.getpixel((12, 4)), RED) and close(picture.getpixel((12, 28)), BLUE)


def test_heic_through_the_server(make_app: MakeApp, root: Path) -> None:
    (root / "phone.heic").write_bytes(sideways_heic())
    client = make_app().test_client()
    response = client.get("/image/phone.heic?w=24")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(response.data)).size == (24, 32)
    assert client.get("/image/phone.heic?w=24&fmt=webp").mimetype == "image/webp"
    facts = json.loads(client.get("/info/phone.heic").get_data())
    assert (facts["width"], facts["height"], facts["format"]) == (48, 64, "heif")


def test_ico_gives_its_largest_picture_with_transparency() -> None:
    data = icon({16: BLUE, 48: GREEN, 32: RED})
    result = transform(data, Options(), None)  # fmt=auto's fallback: PNG when alpha
    assert result.format is FORMATS["png"] and result.size == (48, 48)
    picture = Image.open(io.BytesIO(result.data)).convert("RGBA")
    assert close(picture.getpixel((40, 40)), GREEN)
    assert picture.getpixel((2, 2))[3] == 0  # the transparent corner stays transparent


def test_ico_through_the_server(make_app: MakeApp, root: Path) -> None:
    (root / "favicon.ico").write_bytes(icon({16: BLUE, 32: RED}))
    response = make_app().test_client().get("/image/favicon.ico?w=20&fmt=webp")
    assert response.status_code == 200 and response.mimetype == "image/webp"
    assert Image.open(io.BytesIO(response.data)).size == (20, 20)


def test_an_icon_whose_png_is_bigger_than_its_directory_says_is_refused() -> None:
    """Pillow decodes an icon's PNG at the PNG's own size, while opening it: a 16x16
    entry holding a 9000x9000 PNG would get past the pixel limit. Refused first."""
    data = bytearray(icon({16: RED}))
    offset = struct.unpack_from("<I", data, 6 + 12)[0]  # the first entry's data
    assert data[offset : offset + 8] == b"\x89PNG\r\n\x1a\n"
    struct.pack_into(">II", data, offset + 16, 9000, 9000)  # the PNG's IHDR size...
    ihdr = bytes(data[offset + 12 : offset + 29])
    struct.pack_into(">I", data, offset + 29, zlib.crc32(ihdr))  # ...with its checksum
    with pytest.raises(ImageTooLarge, match="icon holds a 9000x9000 PNG"):
        transform(bytes(data), Options(width=8), FORMATS["png"])
    ordinary = icon({16: RED})
    assert transform(ordinary, Options(), FORMATS["png"], ImageLimits(max_source_pixels=256))
    with pytest.raises(ImageTooLarge):
        transform(ordinary, Options(), FORMATS["png"], ImageLimits(max_source_pixels=255))


@pytest.mark.parametrize("cut", [40, 200, 400])
def test_damaged_heic_is_a_422(make_app: MakeApp, root: Path, cut: int) -> None:
    (root / "cut.heic").write_bytes(sideways_heic()[:cut])
    response = make_app().test_client().get("/image/cut.heic?w=20")
    assert response.status_code == 422, response.get_data(as_text=True)

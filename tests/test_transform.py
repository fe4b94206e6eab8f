"""The pipeline on images made in the test: sizes, formats, modes, transparency."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from pixserve.transformer import (
    FORMATS,
    ImageLimits,
    ImageTooLarge,
    InvalidOption,
    Options,
    UndecodableImage,
    UnsupportedImage,
    parse_options,
    sniff_format,
    transform,
)
from pixserve.transformer.options import Colour, Fit
from pixserve.web.samples import landscape
from tests.helpers import decoded, encode, gradient

MAGIC = {
    "jpeg": b"\xff\xd8\xff",
    "png": b"\x89PNG",
    "gif": b"GIF8",
    "webp": b"RIFF",
}


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "avif", "gif"])
def test_every_output_format_has_its_magic_bytes(fmt: str) -> None:
    source = encode(gradient((640, 480)), "JPEG")
    result = transform(source, Options(width=100, fmt=fmt), FORMATS[fmt])
    assert result.format is FORMATS[fmt]
    assert sniff_format(result.data) == FORMATS[fmt].pillow_name
    image = decoded(result.data)
    assert image.size == (100, 75) == result.size
    assert image.format == FORMATS[fmt].pillow_name


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("w=300", (300, 225)),
        ("h=300", (400, 300)),
        ("w=300&h=300", (300, 225)),
        ("w=300&h=300&fit=cover", (300, 300)),
        ("w=300&h=300&fit=contain", (300, 300)),
        ("w=300&h=100&fit=fill", (300, 100)),
        ("w=150&dpr=2", (300, 225)),
        ("w=5000", (800, 600)),
    ],
)
def test_output_size(query: str, size: tuple[int, int]) -> None:
    source = encode(gradient((800, 600)), "JPEG")
    options = parse_options(pair.split("=") for pair in query.split("&"))  # type: ignore[misc]
    result = transform(source, options, FORMATS["png"])
    assert decoded(result.data).size == size


def test_contain_pads_with_transparency_or_white() -> None:
    source = encode(gradient((800, 400)), "JPEG")
    options = Options(width=200, height=200, fit=Fit.CONTAIN)
    as_png = decoded(transform(source, options, FORMATS["png"]).data).convert("RGBA")
    assert as_png.getpixel((100, 5))[3] == 0  # padding above the picture
    assert as_png.getpixel((100, 100))[3] == 255
    as_jpeg = decoded(transform(source, options, FORMATS["jpeg"]).data).convert("RGB")
    assert min(as_jpeg.getpixel((100, 5))) >= 250  # flattened onto white


def test_contain_gives_exactly_the_box_for_a_small_source() -> None:
    """Fixed-size tiles: a 20x20 source in a 200x100 contain box is a 200x100 tile with
    the picture centred at 1:1 (not magnified without `enlarge`), the rest padding."""
    source = encode(Image.new("RGB", (20, 20), (200, 0, 0)), "PNG")
    tile = transform(source, Options(width=200, height=100, fit=Fit.CONTAIN), FORMATS["png"])
    picture = decoded(tile.data).convert("RGBA")
    assert tile.size == picture.size == (200, 100)
    assert picture.getbbox() == (90, 40, 110, 60)  # only the picture is opaque
    options = Options(width=200, height=100, fit=Fit.CONTAIN, background=Colour(255, 255, 255))
    on_white = decoded(transform(source, options, FORMATS["jpeg"]).data).convert("RGB")
    assert on_white.size == (200, 100) and min(on_white.getpixel((5, 5))) >= 250
    enlarged = Options(width=200, height=100, fit=Fit.CONTAIN, enlarge=True)
    filled = decoded(transform(source, enlarged, FORMATS["png"]).data).convert("RGBA")
    assert filled.size == (200, 100) and filled.getbbox() == (50, 0, 150, 100)


def test_cover_crops_the_centre() -> None:
    image = Image.new("RGB", (300, 100), (255, 0, 0))
    image.paste((0, 0, 255), (100, 0, 200, 100))  # blue middle third
    result = transform(
        encode(image, "PNG"), Options(width=50, height=50, fit=Fit.COVER), FORMATS["png"]
    )
    cropped = decoded(result.data).convert("RGB")
    assert cropped.size == (50, 50)
    assert cropped.getpixel((25, 25)) == (0, 0, 255)
    assert cropped.getpixel((2, 25))[2] > 200 and cropped.getpixel((47, 25))[2] > 200


@pytest.mark.parametrize("fmt", ["png", "webp", "avif", "gif"])
def test_transparency_survives_into_formats_with_alpha(fmt: str) -> None:
    source = encode(gradient((400, 300), "RGBA"), "PNG")
    result = decoded(transform(source, Options(width=200), FORMATS[fmt]).data).convert("RGBA")
    assert result.getpixel((10, 10))[3] == 0  # the transparent quarter
    assert result.getpixel((190, 140))[3] == 255


def test_transparency_is_flattened_onto_white_for_jpeg() -> None:
    source = encode(gradient((400, 300), "RGBA"), "PNG")
    result = decoded(transform(source, Options(width=200), FORMATS["jpeg"]).data)
    assert result.mode == "RGB"
    assert min(result.getpixel((10, 10))) >= 250  # type: ignore[arg-type]


def test_auto_fallback_picks_png_for_alpha_and_jpeg_for_opaque() -> None:
    clear = encode(gradient((300, 200), "RGBA"), "WEBP")
    opaque = encode(gradient((300, 200), "RGBA").convert("RGB").convert("RGBA"), "WEBP")
    assert transform(clear, Options(width=100), None).format is FORMATS["png"]
    assert transform(opaque, Options(width=100), None).format is FORMATS["jpeg"]


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("1", "PNG"),
        ("L", "PNG"),
        ("LA", "PNG"),
        ("P", "PNG"),
        ("P", "GIF"),
        ("RGB", "BMP"),
        ("RGB", "TIFF"),
        ("CMYK", "TIFF"),
        ("I;16", "PNG"),
        ("RGBA", "TIFF"),
        ("L", "JPEG"),
    ],
)
def test_source_modes(mode: str, fmt: str) -> None:
    image = gradient((120, 80)).convert(mode) if mode != "I;16" else None
    if image is None:
        image = Image.linear_gradient("L").resize((120, 80)).convert("I").point(lambda v: v * 257)
        image = image.convert("I;16")
    source = encode(image, fmt)
    for out in ("jpeg", "png", "webp"):
        result = transform(source, Options(width=60), FORMATS[out])
        assert decoded(result.data).size == (60, 40)


def test_16_bit_grey_is_scaled_not_clipped() -> None:
    ramp = Image.new("I;16", (256, 1))
    ramp.putdata([value * 257 for value in range(256)])
    result = decoded(transform(encode(ramp, "PNG"), Options(width=256), FORMATS["png"]).data)
    values = [result.getpixel((x, 0)) for x in (0, 64, 128, 255)]
    assert values == [0, 64, 128, 255]


def test_palette_transparency_becomes_alpha() -> None:
    image = Image.new("P", (50, 50), 1)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.paste(0, (0, 0, 25, 50))
    source = encode(image, "PNG", transparency=0)
    result = decoded(transform(source, Options(width=40), FORMATS["png"]).data).convert("RGBA")
    assert result.getpixel((2, 20))[3] == 0
    assert result.getpixel((38, 20)) == (0, 255, 0, 255)


def test_metadata_is_stripped() -> None:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0112] = 1
    source = encode(gradient((200, 100)), "JPEG", exif=exif, comment=b"private")
    for fmt in ("jpeg", "png", "webp"):
        data = transform(source, Options(width=100), FORMATS[fmt]).data
        assert b"SecretCam" not in data and b"private" not in data


def test_no_transformation_and_same_format_serves_the_original_bytes() -> None:
    source = encode(gradient((200, 100)), "JPEG")
    result = transform(source, Options(), FORMATS["jpeg"])
    assert result.passthrough and result.data == source
    assert not transform(source, Options(quality=50), FORMATS["jpeg"]).passthrough
    assert not transform(source, Options(), FORMATS["webp"]).passthrough


def test_quality_changes_the_bytes() -> None:
    source = encode(gradient((400, 300)), "JPEG")
    low = transform(source, Options(width=300, quality=20), FORMATS["jpeg"]).data
    high = transform(source, Options(width=300, quality=95), FORMATS["jpeg"]).data
    assert len(low) < len(high)


def test_not_an_image_is_415() -> None:
    with pytest.raises(UnsupportedImage) as caught:
        transform(b"<svg xmlns='http://www.w3.org/2000/svg'/>", Options(), None)
    assert caught.value.status == 415


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
@pytest.mark.parametrize("kept", [0.02, 0.5, 0.9])
def test_truncated_files_are_422(fmt: str, kept: float) -> None:
    whole = encode(gradient((400, 300)), fmt)
    source = whole[: max(16, int(len(whole) * kept))]
    with pytest.raises(UndecodableImage) as caught:
        transform(source, Options(width=100), FORMATS["png"])
    assert caught.value.status == 422


def test_truncated_source_is_not_passed_through() -> None:
    source = encode(gradient((400, 300)), "JPEG")
    with pytest.raises(UndecodableImage):
        transform(source[: len(source) // 2], Options(), FORMATS["jpeg"])


def test_pixel_limit_is_checked_from_the_header() -> None:
    source = encode(gradient((100, 100)), "PNG")
    with pytest.raises(ImageTooLarge, match="10000 pixels"):
        transform(source, Options(width=10), FORMATS["png"], ImageLimits(max_source_pixels=9999))
    assert transform(
        source, Options(width=10), FORMATS["png"], ImageLimits(max_source_pixels=10000)
    )


def test_output_pixel_limit_names_the_parameter() -> None:
    source = encode(gradient((400, 300)), "PNG")
    limits = ImageLimits(max_output_pixels=100 * 100)
    assert transform(source, Options(width=100, height=100, fit=Fit.COVER), FORMATS["png"], limits)
    with pytest.raises(InvalidOption) as caught:
        transform(source, Options(width=101, height=100, fit=Fit.FILL), FORMATS["png"], limits)
    assert caught.value.param == "w" and "10100 pixels" in caught.value.detail
    with pytest.raises(InvalidOption) as caught:
        transform(source, Options(height=300), FORMATS["png"], limits)
    assert caught.value.param == "h"


def test_frame_limit_is_checked_before_decoding() -> None:
    frames = [Image.new("L", (8, 8), n * 50) for n in range(5)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=50)
    assert transform(gif.getvalue(), Options(width=4), FORMATS["png"], ImageLimits(max_frames=5))
    with pytest.raises(ImageTooLarge, match="5 frames"):
        transform(gif.getvalue(), Options(width=4), FORMATS["png"], ImageLimits(max_frames=4))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size but holds no pixels: what a decompression bomb looks like."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("width", "height"),
    # 60 MP (over our limit only), 144 MP (Pillow warns), 280 MP and 4.9 GP (Pillow refuses)
    [(10_000, 6_000), (12_000, 12_000), (20_000, 14_000), (70_000, 70_000)],
)
def test_declared_size_over_the_limit_is_422_without_decoding(width: int, height: int) -> None:
    """Every size over the limit gets pixserve's words, naming the pixels and the limit,
    including those Pillow's own decompression-bomb guard stops first."""
    with pytest.raises(ImageTooLarge) as caught:
        transform(png_header_only(width, height), Options(width=100), FORMATS["png"])
    assert caught.value.status == 422
    assert caught.value.detail == (
        f"the image is {width}x{height} ({width * height} pixels); the limit is 50000000 pixels"
    )


def test_format_change_without_resize_keeps_full_resolution() -> None:
    """Shrink-on-load must not kick in when no size was asked for."""
    photo = gradient((640, 480))
    photo.paste((255, 0, 0), (100, 100, 102, 380))  # a 2-px line that a 1/8 decode would blur
    source = encode(photo, "JPEG", quality=95)
    result = decoded(transform(source, Options(fmt="png"), FORMATS["png"]).data).convert("RGB")
    assert result.size == (640, 480)
    assert result.getpixel((101, 200))[0] > 200 and result.getpixel((101, 200))[1] < 80


def test_png8_uses_a_palette_and_keeps_transparency() -> None:
    picture = landscape((200, 150)).convert("RGBA")
    picture.paste((0, 0, 0, 0), (0, 0, 50, 50))
    source = encode(picture, "PNG")
    full = transform(source, Options(width=200), FORMATS["png"])
    small = transform(source, Options(width=200, palette=True), FORMATS["png"])
    image = decoded(small.data)
    assert image.mode == "P" and len(small.data) < len(full.data)
    assert image.convert("RGBA").getpixel((10, 10))[3] == 0  # type: ignore[index]


@pytest.mark.parametrize(("width", "progressive"), [(300, False), (1000, True)])
def test_large_jpegs_are_progressive(width: int, progressive: bool) -> None:
    source = encode(gradient((1200, 900)), "JPEG")
    image = decoded(transform(source, Options(width=width), FORMATS["jpeg"]).data)
    assert bool(image.info.get("progressive")) is progressive

"""Each pipeline step alone, on a hand-made context."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms, ImageFile

from tests.conftest import encode, gradient
from transformer import FORMATS, Options
from transformer.context import Context
from transformer.geometry import Geometry, plan
from transformer.options import Fit
from transformer.steps.canvas import fit_canvas
from transformer.steps.colour import _is_srgb_already, _transform_for, to_srgb
from transformer.steps.finish import choose_format, flatten, strip_metadata
from transformer.steps.load import DECODE_BLOCK, decode, shrink_on_load
from transformer.steps.mode import normalise_mode
from transformer.steps.orient import auto_orient, read_orientation
from transformer.steps.resize import resize


def context(image: Image.Image, options: Options | None = None, **kwargs: object) -> Context:
    options = options or Options()
    geometry = plan(image.size, options.box, options.fit)
    return Context(image=image, options=options, output=None, geometry=geometry, **kwargs)  # type: ignore[arg-type]


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_shrink_on_load_decodes_a_jpeg_smaller_but_not_below_the_target() -> None:
    ctx = context(opened(encode(gradient((2400, 1600)), "JPEG")), Options(width=300))
    shrink_on_load(ctx)
    decode(ctx)
    assert (300, 200) <= ctx.image.size <= (600, 400)


def test_shrink_on_load_asks_in_stored_orientation() -> None:
    stored = opened(encode(gradient((1600, 2400)), "JPEG"))  # sideways portrait, orientation 6
    ctx = context(stored, Options(width=300), orientation=6)
    ctx.geometry = plan((2400, 1600), Options(width=300).box, Fit.INSIDE)  # upright 300x200
    shrink_on_load(ctx)
    decode(ctx)
    assert ctx.image.size[0] >= 200 and ctx.image.size[1] >= 300


@pytest.mark.parametrize("width", [None, 300])
def test_decode_in_one_block_gives_the_pixels_of_pillows_default_blocks(width: int | None) -> None:
    noisy = Image.blend(
        gradient((1600, 1200)), Image.effect_noise((1600, 1200), 60).convert("RGB"), 0.3
    )
    data = encode(noisy, "JPEG", quality=95)
    assert len(data) > 4 * ImageFile.MAXBLOCK  # the default path really takes several blocks
    ctx = context(opened(data), Options(width=width))
    shrink_on_load(ctx)
    decode(ctx)
    assert ctx.image.decodermaxblock == DECODE_BLOCK
    reference = opened(data)
    reference.draft("RGB", ctx.image.size)  # the same DCT scale, decoded in 64 KiB blocks
    reference.load()
    assert ctx.image.size == reference.size
    assert ctx.image.tobytes() == reference.tobytes()


def test_shrink_on_load_leaves_other_formats_alone() -> None:
    ctx = context(opened(encode(gradient((800, 600)), "PNG")), Options(width=100))
    shrink_on_load(ctx)
    decode(ctx)
    assert ctx.image.size == (800, 600)


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


def test_to_srgb_applies_the_profile() -> None:
    srgb_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = gradient((8, 8))
    image.info["icc_profile"] = srgb_profile
    ctx = context(image)
    to_srgb(ctx)
    assert ctx.image.mode == "RGB"
    assert ctx.image.tobytes() == image.tobytes()  # sRGB to sRGB changes nothing


def test_to_srgb_skips_the_pass_for_an_srgb_profile_with_the_same_picture() -> None:
    srgb_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = gradient((64, 48))
    image.info["icc_profile"] = srgb_profile
    ctx = context(image)
    to_srgb(ctx)
    assert ctx.image is image  # the fast path: no per-pixel transform
    converted = ImageCms.applyTransform(image, _transform_for(srgb_profile, "RGB"))
    assert converted is not None
    assert all(high <= 1 for _, high in ImageChops.difference(converted, image).getextrema())


def test_srgb_detection_on_real_profiles(corpus: Path) -> None:
    def profile(name: str) -> bytes:
        with Image.open(corpus / name) as image:
            found: bytes = image.info["icc_profile"]
            return found

    assert _is_srgb_already(profile("photos/gain-map-3840x2160.jpg"), "RGB")  # a phone's sRGB
    assert not _is_srgb_already(profile("color/display-p3.png"), "RGBA")
    assert not _is_srgb_already(profile("color/prophoto.png"), "RGB")


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


def test_normalise_mode() -> None:
    for mode, expected in [("1", "L"), ("P", "RGB"), ("I;16", "L"), ("RGBX", "RGB"), ("LA", "LA")]:
        ctx = context(Image.new(mode, (4, 4)))
        normalise_mode(ctx)
        assert ctx.image.mode == expected, mode


def test_resize_to_the_plan() -> None:
    ctx = context(gradient((800, 600)), Options(width=200))
    resize(ctx)
    assert ctx.image.size == (200, 150)


def test_fit_canvas_crops_and_pads() -> None:
    ctx = context(gradient((400, 300)))
    ctx.geometry = Geometry(resize=(400, 300), canvas=(300, 300))
    fit_canvas(ctx)
    assert ctx.image.size == (300, 300) and ctx.image.mode == "RGB"
    ctx.geometry = Geometry(resize=(300, 300), canvas=(300, 400))
    fit_canvas(ctx)
    assert ctx.image.size == (300, 400) and ctx.image.mode == "RGBA"
    assert ctx.image.getpixel((150, 10))[3] == 0  # type: ignore[index]


def test_choose_format_by_alpha() -> None:
    clear = context(gradient((10, 10), "RGBA"))
    choose_format(clear)
    opaque = context(gradient((10, 10)).convert("RGBA"))
    choose_format(opaque)
    assert (clear.output, opaque.output) == (FORMATS["png"], FORMATS["jpeg"])


def test_flatten_only_for_formats_without_alpha() -> None:
    ctx = context(Image.new("RGBA", (4, 4), (0, 0, 0, 0)))
    ctx.output = FORMATS["webp"]
    flatten(ctx)
    assert ctx.image.mode == "RGBA"
    ctx.output = FORMATS["jpeg"]
    flatten(ctx)
    assert ctx.image.mode == "RGB" and ctx.image.getpixel((0, 0)) == (255, 255, 255)


def test_strip_metadata() -> None:
    image = gradient((4, 4))
    image.info.update({"exif": b"x", "icc_profile": b"y", "comment": b"z"})
    ctx = context(image)
    strip_metadata(ctx)
    assert ctx.image.info == {}

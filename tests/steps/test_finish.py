"""The `finish` step(s) alone, on hand-made images."""

from __future__ import annotations

from PIL import Image

from pixserve.transformer import FORMATS, Options
from pixserve.transformer.options import Colour
from pixserve.transformer.steps.finish import choose_format, flatten, strip_metadata
from tests.helpers import gradient
from tests.steps.helpers import context


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


def test_flatten_onto_bg() -> None:
    ctx = context(Image.new("RGBA", (4, 4), (0, 0, 0, 0)), Options(background=Colour(10, 20, 30)))
    ctx.output = FORMATS["jpeg"]
    flatten(ctx)
    assert ctx.image.getpixel((0, 0)) == (10, 20, 30)

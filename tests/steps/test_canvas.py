"""The `canvas` step(s) alone, on hand-made images."""

from __future__ import annotations

from PIL import Image

from pixserve.transformer import Options
from pixserve.transformer.geometry import Geometry
from pixserve.transformer.options import Colour
from pixserve.transformer.steps.canvas import fit_canvas
from tests.helpers import gradient
from tests.steps.helpers import context


def test_fit_canvas_crops_and_pads() -> None:
    ctx = context(gradient((400, 300)))
    ctx.geometry = Geometry(resize=(400, 300), canvas=(300, 300))
    fit_canvas(ctx)
    assert ctx.image.size == (300, 300) and ctx.image.mode == "RGB"
    ctx.geometry = Geometry(resize=(300, 300), canvas=(300, 400))
    fit_canvas(ctx)
    assert ctx.image.size == (300, 400) and ctx.image.mode == "RGBA"
    assert ctx.image.getpixel((150, 10))[3] == 0  # type: ignore[index]


def test_cover_crops_at_the_placed_origin() -> None:
    image = Image.new("RGB", (300, 100), (0, 0, 0))
    image.paste((255, 0, 0), (200, 0, 300, 100))
    ctx = context(image)
    ctx.geometry = Geometry(resize=(300, 100), canvas=(100, 100))
    ctx.crop_origin = (200, 0)
    fit_canvas(ctx)
    assert ctx.image.getcolors() == [(10000, (255, 0, 0))]


def test_contain_pads_with_bg() -> None:
    ctx = context(gradient((100, 50)), Options(background=Colour(0, 128, 255)))
    ctx.geometry = Geometry(resize=(100, 50), canvas=(100, 100))
    fit_canvas(ctx)
    assert ctx.image.mode == "RGB" and ctx.image.getpixel((50, 5)) == (0, 128, 255)
    ctx = context(gradient((100, 50)), Options(background=Colour(0, 128, 255, 64)))
    ctx.geometry = Geometry(resize=(100, 50), canvas=(100, 100))
    fit_canvas(ctx)
    assert ctx.image.mode == "RGBA" and ctx.image.getpixel((50, 5)) == (0, 128, 255, 64)

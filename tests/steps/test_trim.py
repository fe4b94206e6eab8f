"""The `trim` step: cut a uniform border within a tolerance."""

from __future__ import annotations

from PIL import Image

from pixserve.transformer import Options
from pixserve.transformer.steps.trim import trim
from tests.steps.helpers import context


def framed(border: tuple[int, ...], mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, (100, 60), border)
    image.paste(
        (20, 40, 200)[: len(mode)] if mode != "RGBA" else (20, 40, 200, 255), (30, 10, 70, 50)
    )
    return image


def test_trims_a_white_margin() -> None:
    ctx = context(framed((255, 255, 255)), Options(trim=0))
    trim(ctx)
    assert ctx.image.size == (40, 40)


def test_tolerance_ignores_a_noisy_margin() -> None:
    image = framed((250, 250, 250))
    image.putpixel((5, 5), (240, 244, 250))  # a speck within tolerance 16
    exact = context(image.copy(), Options(trim=0))
    trim(exact)
    tolerant = context(image, Options(trim=16))
    trim(tolerant)
    assert exact.image.size != (40, 40)
    assert tolerant.image.size == (40, 40)


def test_trims_transparent_margins() -> None:
    ctx = context(framed((0, 0, 0, 0), "RGBA"), Options(trim=0))
    trim(ctx)
    assert ctx.image.size == (40, 40)


def test_uniform_image_is_left_whole() -> None:
    ctx = context(Image.new("RGB", (20, 20), (9, 9, 9)), Options(trim=10))
    trim(ctx)
    assert ctx.image.size == (20, 20)

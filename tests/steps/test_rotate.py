"""The `rot` and `flip` steps."""

from __future__ import annotations

import pytest
from PIL import Image

from pixserve.transformer import Options
from pixserve.transformer.steps.rotate import flip, rotate
from tests.steps.helpers import context

RED = (255, 0, 0)


def corner_marked() -> Image.Image:
    """40x20, with a red pixel at the top-left corner."""
    image = Image.new("RGB", (40, 20))
    image.putpixel((0, 0), RED)
    return image


@pytest.mark.parametrize(
    ("degrees", "size", "red_at"),
    [
        (0, (40, 20), (0, 0)),
        (90, (20, 40), (19, 0)),
        (180, (40, 20), (39, 19)),
        (270, (20, 40), (0, 39)),
    ],
)
def test_rot_turns_clockwise(degrees: int, size: tuple[int, int], red_at: tuple[int, int]) -> None:
    ctx = context(corner_marked(), Options(rotate=degrees))
    rotate(ctx)
    assert ctx.image.size == size
    assert ctx.image.getpixel(red_at) == RED


@pytest.mark.parametrize(("how", "red_at"), [("h", (39, 0)), ("v", (0, 19)), ("hv", (39, 19))])
def test_flip(how: str, red_at: tuple[int, int]) -> None:
    ctx = context(corner_marked(), Options(flip=how))
    flip(ctx)
    assert ctx.image.getpixel(red_at) == RED

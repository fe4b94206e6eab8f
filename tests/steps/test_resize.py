"""The `resize` step(s) alone, on hand-made images."""

from __future__ import annotations

from pixserve.transformer import Options
from pixserve.transformer.steps.resize import resize
from tests.helpers import gradient
from tests.steps.helpers import context


def test_resize_to_the_plan() -> None:
    ctx = context(gradient((800, 600)), Options(width=200))
    resize(ctx)
    assert ctx.image.size == (200, 150)

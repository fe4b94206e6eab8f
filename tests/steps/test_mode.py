"""The `mode` step(s) alone, on hand-made images."""

from __future__ import annotations

from PIL import Image

from pixserve.transformer.steps.mode import normalise_mode
from tests.steps.helpers import context


def test_normalise_mode() -> None:
    for mode, expected in [("1", "L"), ("P", "RGB"), ("I;16", "L"), ("RGBX", "RGB"), ("LA", "LA")]:
        ctx = context(Image.new(mode, (4, 4)))
        normalise_mode(ctx)
        assert ctx.image.mode == expected, mode

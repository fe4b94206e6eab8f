"""Helpers for the step tests: a context around a hand-made image."""

from __future__ import annotations

import io

from PIL import Image

from pixserve.transformer import Options
from pixserve.transformer.context import Context
from pixserve.transformer.geometry import plan


def context(image: Image.Image, options: Options | None = None, **kwargs: object) -> Context:
    """A context as `transform` builds it, planned from the image's own size."""
    options = options or Options()
    geometry = plan(image.size, options.box, options.fit, options.enlarge)
    kwargs.setdefault("source_size", image.size)
    return Context(image=image, options=options, output=None, geometry=geometry, **kwargs)  # type: ignore[arg-type]


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))

"""The state one transform carries through the pipeline's steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from .formats import Format
from .geometry import Geometry
from .options import Options


@dataclass
class Context:
    """One transform: the image as it is now, what was asked, and what was planned.

    `output` is None until the `choose_format` step when the format depends on
    whether the decoded picture has transparency (the `fmt=auto` fallback).
    """

    image: Image.Image
    options: Options
    output: Format | None
    geometry: Geometry
    orientation: int = 1


Step = Callable[[Context], None]

"""The codec floor: the least any Pillow image server must do for a resize.

Open, draft, load, resize (LANCZOS, from the exact decoded extent, as pixserve does),
crop to the canvas, encode; each stage timed. `request_path` sets pixserve's whole
request against it and `engines` (for `peers`) its transformer; one copy keeps both
measuring the same floor.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

from PIL import Image

from pixserve.transformer import Format, Options
from pixserve.transformer.encode import encode
from pixserve.transformer.geometry import crop_origin, plan
from pixserve.transformer.options import Gravity
from pixserve.transformer.steps.load import EXACT_DRAFT_GAP, decoded_extent, draft_size
from pixserve.transformer.steps.resize import REDUCING_GAP


@dataclass(frozen=True)
class Stages:
    """Milliseconds of one codec-floor run, by stage."""

    decode: float
    resize: float
    encode: float

    @property
    def total(self) -> float:
        return self.decode + self.resize + self.encode


@dataclass(frozen=True)
class Floor:
    data: bytes
    size: tuple[int, int]
    stages: Stages


def codec_floor(source: bytes, options: Options, fmt: Format) -> Floor:
    """One run of the floor for `source`, timed by stage."""
    start = time.perf_counter()
    with Image.open(io.BytesIO(source)) as image:
        geometry = plan(image.size, options.box, options.fit)
        stored = image.size
        image.draft(image.mode, draft_size(geometry.resize, stored, EXACT_DRAFT_GAP))
        image.load()
        extent = decoded_extent(stored, image.size)  # as pixserve: not the padded edge
        box = (0.0, 0.0, *extent) if extent else None
        decoded = time.perf_counter()
        resized = image.resize(
            geometry.resize, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP
        )
    if resized.size != geometry.canvas:
        left, top = crop_origin(geometry, Gravity.CENTER)
        resized = resized.crop((left, top, left + geometry.canvas[0], top + geometry.canvas[1]))
    scaled = time.perf_counter()
    data = encode(resized, fmt, options)
    done = time.perf_counter()
    stages = Stages((decoded - start) * 1000, (scaled - decoded) * 1000, (done - scaled) * 1000)
    return Floor(data, resized.size, stages)

"""The transformer's per-phase timings: which phases a transform reports."""

from __future__ import annotations

import io
import time

from PIL import Image

from pixserve.transformer import FORMATS, parse_options, transform
from tests.helpers import encode, gradient


def _timed(source: bytes, query: dict[str, str], output: str) -> tuple[dict[str, float], float]:
    started = time.perf_counter()
    result = transform(source, parse_options(query.items()), FORMATS[output])
    return result.timings, time.perf_counter() - started


def test_a_resize_reports_decode_resize_and_encode_within_the_call() -> None:
    source = encode(gradient((800, 600)), "JPEG")
    timings, wall = _timed(source, {"w": "300"}, "webp")
    assert set(timings) == {"decode", "resize", "encode"}
    assert all(seconds > 0 for seconds in timings.values())
    assert sum(timings.values()) <= wall  # phases do not overlap or count twice


def test_an_untouched_original_reports_only_its_decode_check() -> None:
    source = encode(gradient((80, 60)), "PNG")
    timings, _ = _timed(source, {}, "png")
    assert set(timings) == {"decode"}


def test_an_animation_reports_all_three_phases() -> None:
    frames = [gradient((64, 48)).rotate(angle) for angle in (0, 90, 180)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50)
    assert Image.open(io.BytesIO(buffer.getvalue())).n_frames == 3
    timings, wall = _timed(buffer.getvalue(), {"w": "32"}, "webp")
    assert set(timings) == {"decode", "resize", "encode"}
    assert sum(timings.values()) <= wall

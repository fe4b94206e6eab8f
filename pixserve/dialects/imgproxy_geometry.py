"""imgproxy's own arithmetic for the size of a result: `processing/prepare.go`'s
`calcScale` and `calcSizes`, and `extend.go`.

Why: imgproxy's `fill` without `enlarge` never shrinks the box to keep its shape, as
pixserve's `cover` does; it keeps the whole scaled picture on the side that falls
short (`rs:fill:300:300` of a 200x100 picture is 200x100, where pixserve's own cover
is 100x100), and `extend` then pads to the box, taking the picture's side for a side
given as 0. The imgproxy mount works the sizes out here, from the source's size, and
asks pixserve for exactly them; the table of imgproxy's own processing tests
(`tests/dialects/test_imgproxy_geometry.py`) holds it to every size they state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Size = tuple[int, int]


def _scale(value: int, factor: float) -> int:
    """imgproxy's imath.Scale: rounded half away from zero, at least 1 for a side."""
    return max(1, math.floor(value * factor + 0.5)) if value else 0


@dataclass(frozen=True)
class Sizes:
    """What imgproxy makes: the picture scaled, the part of it kept (the box, where
    it is smaller), and the canvas `extend` pads that to (None: no padding)."""

    scaled: Size
    kept: Size
    extended: Size | None


def sizes(
    picture: Size,
    target: Size,
    resizing: str,
    enlarge: bool,
    extend: bool,
    extend_aspect_ratio: bool = False,
) -> Sizes:
    """`resizing` is `fit`, `fill` or `fill-down` (`auto` already decided); a side of
    `target` may be 0 (from the other side)."""
    source_w, source_h = picture
    width, height = target
    shrink_w = source_w / width if width else 1.0
    shrink_h = source_h / height if height else 1.0
    if width == 0:
        shrink_w = shrink_h
    elif height == 0:
        shrink_h = shrink_w
    elif resizing == "fit":
        shrink_w = shrink_h = max(shrink_w, shrink_h)
    else:
        shrink_w = shrink_h = min(shrink_w, shrink_h)
    if not enlarge and min(shrink_w, shrink_h) < 1:
        least = min(shrink_w, shrink_h)
        shrink_w, shrink_h = shrink_w / least, shrink_h / least
    scaled = (_scale(source_w, 1 / shrink_w), _scale(source_h, 1 / shrink_h))
    crop = (width, height)
    if resizing == "fill-down" and not enlarge and width and height:
        diff_w, diff_h = width / scaled[0], height / scaled[1]
        if diff_w > diff_h and diff_w > 1:
            crop = (scaled[0], _scale(scaled[0], height / width))
        elif diff_h > diff_w and diff_h > 1:
            crop = (_scale(scaled[1], width / height), scaled[1])
    kept = (min(scaled[0], crop[0] or scaled[0]), min(scaled[1], crop[1] or scaled[1]))
    extended = None
    if extend_aspect_ratio and width and height and not extend:
        diff_w, diff_h = width / kept[0], height / kept[1]
        if diff_h > diff_w:
            extended = (kept[0], _scale(kept[0], height / width))
        elif diff_w > diff_h:
            extended = (_scale(kept[1], width / height), kept[1])
        if extended is not None and extended[0] <= kept[0] and extended[1] <= kept[1]:
            extended = None
    if extend and (width > kept[0] or height > kept[1]):
        extended = (
            max(width, kept[0]) if width else kept[0],
            max(height, kept[1]) if height else kept[1],
        )
    return Sizes(scaled, kept, extended)

"""thumbor 7.8's own arithmetic for the window it cuts and the size it resizes to.

Why exact: a thumbor user's pages were laid out and reviewed with thumbor's pixels.
thumbor cuts its window on whole source pixels and then resizes that window once,
rounding each step its own way (Python 3's `round` for the window and the proportional
side, `+ 1e-5` rounding half up for fit-in). pixserve's own `cover` places its window
to the sub-pixel, which lands up to half a source pixel from thumbor's: enough to cost
0.14 SSIM on an enlarged picture (`python -m benchmarks thumbor_dialect`). So the
thumbor mount works out thumbor's window and size here, from the source's size, and
asks pixserve for exactly that: `crop=` the window and `fit=fill` to the size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Size = tuple[int, int]
Box = tuple[int, int, int, int]  # left, top, right, bottom

# thumbor's FocalPoint.ALIGNMENT_PERCENTAGES
ALIGNMENT = {"left": 0.0, "center": 0.5, "right": 1.0, "top": 0.0, "middle": 0.5, "bottom": 1.0}


@dataclass(frozen=True)
class FocalPoint:
    """A point thumbor aims its window at, in the (manually cropped) picture's pixels."""

    x: float
    y: float
    weight: float = 1.0


def aligned(halign: str, valign: str, picture: Size) -> FocalPoint:
    """thumbor's FocalPoint.from_alignment: the point an alignment names."""
    return FocalPoint(picture[0] * ALIGNMENT[halign], picture[1] * ALIGNMENT[valign])


def centre_of_mass(points: Sequence[FocalPoint]) -> tuple[float, float]:
    """thumbor's get_center_of_mass, floor division included."""
    total = sum(point.weight for point in points)
    return (
        sum(point.x * point.weight for point in points) // total,
        sum(point.y * point.weight for point in points) // total,
    )


def auto_crop(picture: Size, target: Size, focus: tuple[float, float]) -> Box | None:
    """thumbor's Transformer.auto_crop: the window of the target's shape around the
    focus, on whole pixels of the picture; None when the shapes already agree to two
    decimals (thumbor then resizes the whole picture to the target)."""
    source_w, source_h = picture
    target_w, target_h = max(1, target[0]), max(1, target[1])
    if round(source_w / source_h, 2) == round(target_w / target_h, 2):
        return None
    if target_w / source_w > target_h / source_h:
        crop_w, crop_h = source_w, int(round(source_w * target_h / target_w, 0))
    else:
        crop_w, crop_h = int(round(math.ceil(target_w * source_h / target_h), 0)), source_h
    left = int(round(min(max(focus[0] - crop_w / 2, 0.0), source_w - crop_w)))
    top = int(round(min(max(focus[1] - crop_h / 2, 0.0), source_h - crop_h)))
    return (left, top, min(left + crop_w, source_w), min(top + crop_h, source_h))


def fit_in_size(picture: Size, target: Size, full: bool) -> Size | None:
    """thumbor's Transformer.fit_in_resize: the size fit-in (or full-fit-in) resizes
    to; None when fit-in leaves a picture that already fits as it is."""
    source_w, source_h = picture
    target_w, target_h = target
    if not full and target_w >= source_w and target_h >= source_h:
        return None
    sign = -1 if full else 1
    # thumbor adds 1e-5 to round halves up, as Python 2 did
    if source_w / target_w * sign >= source_h / target_h * sign:
        return (target_w, max(1, round(source_h * target_w / source_w + 1e-5)))
    return (max(1, round(source_w * target_h / source_h + 1e-5)), target_h)

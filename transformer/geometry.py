"""Where every output pixel comes from: pure arithmetic, tested by properties.

`plan()` turns the source size and the requested box into a resize size, and, for
`cover` and `contain`, the canvas the resized picture is cropped or padded to. It
never magnifies the source: when the box asks for more pixels than the source has,
the box is shrunk, keeping its aspect ratio, until the source is shown at 1:1.
"""

from __future__ import annotations

from dataclasses import dataclass

from .options import Fit


@dataclass(frozen=True)
class Geometry:
    """The resize size and the final canvas (equal unless cropping or padding)."""

    resize: tuple[int, int]
    canvas: tuple[int, int]

    @property
    def offset(self) -> tuple[int, int]:
        """Top-left of the resized picture on the canvas (negative when it is cropped)."""
        return (
            (self.canvas[0] - self.resize[0]) // 2,
            (self.canvas[1] - self.resize[1]) // 2,
        )


def _round(value: float) -> int:
    return max(1, round(value))


def plan(source: tuple[int, int], box: tuple[int | None, int | None], fit: Fit) -> Geometry:
    """Plan the output for a `source` (width, height) and a `box` in device pixels."""
    src_w, src_h = source
    box_w, box_h = box
    if box_w is None and box_h is None:
        return Geometry(source, source)
    if box_w is None or box_h is None:
        scale = min(1.0, box_w / src_w if box_w is not None else box_h / src_h)  # type: ignore[operator]
        size = (_round(src_w * scale), _round(src_h * scale))
        return Geometry(size, size)

    scale_x, scale_y = box_w / src_w, box_h / src_h
    if fit is Fit.INSIDE:
        scale = min(1.0, scale_x, scale_y)
        size = (_round(src_w * scale), _round(src_h * scale))
        return Geometry(size, size)

    # The other fits fill an exact box; shrink the box by `k` so that no axis of the
    # source is magnified, which keeps the box's aspect ratio.
    magnification = {
        Fit.COVER: max(scale_x, scale_y),
        Fit.CONTAIN: min(scale_x, scale_y),
        Fit.FILL: max(scale_x, scale_y),
    }[fit]
    k = min(1.0, 1.0 / magnification)
    canvas = (_round(box_w * k), _round(box_h * k))
    if fit is Fit.FILL:
        return Geometry(canvas, canvas)
    scale = magnification * k
    resize = (_round(src_w * scale), _round(src_h * scale))
    if fit is Fit.COVER:
        # Rounding may leave the resized picture a pixel short of the canvas.
        resize = (max(resize[0], canvas[0]), max(resize[1], canvas[1]))
    else:
        resize = (min(resize[0], canvas[0]), min(resize[1], canvas[1]))
    return Geometry(resize, canvas)

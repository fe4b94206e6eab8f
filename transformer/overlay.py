"""Drawing other pictures onto the result: watermarks, nine-patch frames, backdrops.

Pure functions over decoded Pillow images; the watermark or frame itself comes from
the caller (the web layer finds, fetches, decodes and keeps it: see
`pixserve/sources/watermarks.py`). The placement follows the two servers pixserve
speaks for: thumbor's `watermark` filter (an offset from an edge, `center`, `repeat`
spreading whole copies edge to edge, `w_ratio`/`h_ratio`) and imgproxy's `watermark`
option (a gravity with offsets, `re` tiling with gaps, a scale of the result's size).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageFilter, ImageStat

from .overlay_options import Backdrop, Length, Placement, Repeat

Size = tuple[int, int]

# thumbor's `repeat` on both axes: past this many copies it tiles 6 by 6 instead
# (its watermark filter's own bounds), so a tiny watermark cannot cost thousands of pastes.
SPREAD_MAX_COPIES = 100
SPREAD_CAPPED = 6
# thumbor's gap when fewer than two copies fit along an axis.
SPREAD_SMALL_GAP = 10
# `backdrop=blur`: the standard deviation, in pixels of the fitted picture, that
# thumbor's `fill(blur)` uses (its blur of radius 50).
BACKDROP_BLUR_SIGMA = 50

_WEST = (Placement.WEST, Placement.NORTHWEST, Placement.SOUTHWEST)
_EAST = (Placement.EAST, Placement.NORTHEAST, Placement.SOUTHEAST)
_NORTH = (Placement.NORTH, Placement.NORTHWEST, Placement.NORTHEAST)
_SOUTH = (Placement.SOUTH, Placement.SOUTHWEST, Placement.SOUTHEAST)


def fit_watermark(
    canvas: Size, watermark: Size, width_percent: float | None, height_percent: float | None
) -> Size:
    """The watermark's size inside `width_percent` x `height_percent` of the canvas,
    keeping its aspect ratio, up or down (thumbor's `calc_watermark_size`); a side not
    given is not limited. Neither given: its own size."""
    if width_percent is None and height_percent is None:
        return watermark
    own_w, own_h = watermark
    max_w = canvas[0] * width_percent / 100 if width_percent else None
    max_h = canvas[1] * height_percent / 100 if height_percent else None
    if max_w is None:
        assert max_h is not None
        max_w = own_w * max_h / own_h
    if max_h is None:
        max_h = own_h * max_w / own_w
    if own_w / max_w >= own_h / max_h:
        return (max(1, round(max_w)), max(1, round(own_h * max_w / own_w)))
    return (max(1, round(own_w * max_h / own_h)), max(1, round(max_h)))


def _along(side: int, size: int, start: bool, end: bool, offset: int) -> int:
    """Where a copy starts on one axis: `offset` in from the start or the end edge, or
    centred and moved by `offset`."""
    if start:
        return offset
    if end:
        return side - size - offset
    return int((side - size) / 2) + offset


def _spread(side: int, size: int) -> tuple[int, int]:
    """thumbor's `repeat` on one axis: how many copies, and the room between them."""
    count, room = divmod(side, size)
    if side / size < 2:
        count, room = math.ceil(side / size), SPREAD_SMALL_GAP
    return count, room


def watermark_positions(
    canvas: Size,
    size: Size,
    placement: Placement,
    dx: Length | None,
    dy: Length | None,
    repeat: Repeat | None,
    dpr: float = 1.0,
) -> Iterator[Size]:
    """The top-left corner of every copy (`grid` is drawn by `grid_layer` instead)."""
    width, height = canvas
    off_x = dx.pixels(width, dpr) if dx else 0
    off_y = dy.pixels(height, dpr) if dy else 0
    x = _along(width, size[0], placement in _WEST, placement in _EAST, off_x)
    y = _along(height, size[1], placement in _NORTH, placement in _SOUTH, off_y)
    across = repeat in (Repeat.X, Repeat.XY)
    down = repeat in (Repeat.Y, Repeat.XY)
    count_x, room_x = _spread(width, size[0]) if across else (1, 0)
    count_y, room_y = _spread(height, size[1]) if down else (1, 0)
    if across and down and count_x * count_y > SPREAD_MAX_COPIES:
        count_x, count_y = min(SPREAD_CAPPED, count_x), min(SPREAD_CAPPED, count_y)
        room_x, room_y = width - count_x * size[0], height - count_y * size[1]
    gap_x = room_x // (max(count_x, 2) - 1)
    gap_y = room_y // (max(count_y, 2) - 1)
    for i in range(count_x):
        left = i * (gap_x + size[0]) if across else x
        for j in range(count_y):
            yield (left, j * (gap_y + size[1]) if down else y)


def grid_layer(canvas: Size, mark: Image.Image, gap: Size) -> Image.Image:
    """imgproxy's `re`: the mark with `gap` pixels around it (half each side) tiled
    over the canvas, the pattern centred (an odd number of tiles each way)."""
    gap_x, gap_y = max(0, gap[0]), max(0, gap[1])
    tile = Image.new("RGBA", (mark.width + gap_x, mark.height + gap_y), 0)
    tile.paste(mark, (gap_x // 2, gap_y // 2))
    across = math.ceil(canvas[0] / tile.width) | 1
    down = math.ceil(canvas[1] / tile.height) | 1
    tiled = np.tile(np.asarray(tile), (down, across, 1))
    left = (tiled.shape[1] - canvas[0]) // 2
    top = (tiled.shape[0] - canvas[1]) // 2
    window = tiled[top : top + canvas[1], left : left + canvas[0]]
    return Image.fromarray(np.ascontiguousarray(window), "RGBA")


def with_opacity(mark: Image.Image, opacity: float) -> Image.Image:
    """The mark (RGBA) with its alpha multiplied by `opacity`."""
    if opacity >= 1:
        return mark
    alpha = mark.getchannel("A").point(lambda value: round(value * opacity))
    faded = mark.copy()
    faded.putalpha(alpha)
    return faded


def draw_layer(base: Image.Image, layer: Image.Image) -> Image.Image:
    """`layer` (RGBA, the base's size) over `base`, keeping the base's alpha if any."""
    keeps_alpha = base.mode in ("RGBA", "LA")
    composed = Image.alpha_composite(base.convert("RGBA"), layer)
    return composed if keeps_alpha else composed.convert("RGB")


def nine_patch_padding(patch: Image.Image) -> tuple[int, int, int, int]:
    """The content padding an Android nine-patch marks on its bottom row and right
    column (left, top, right, bottom): where the picture sits inside the frame."""
    marks = _markers(patch)
    bottom_row = marks[-1, 1:-1]
    right_column = marks[1:-1, -1]
    left = right = top = bottom = 0
    if bottom_row.any():
        columns = np.flatnonzero(bottom_row)
        left, right = int(columns[0]), int(len(bottom_row) - 1 - columns[-1])
    if right_column.any():
        rows = np.flatnonzero(right_column)
        top, bottom = int(rows[0]), int(len(right_column) - 1 - rows[-1])
    return (left, top, right, bottom)


def _markers(patch: Image.Image) -> np.ndarray:
    """Opaque black pixels: the nine-patch's markers."""
    pixels = np.asarray(patch.convert("RGBA"))
    marks: np.ndarray = np.all(pixels == (0, 0, 0, 255), axis=2)
    return marks


def _runs(stretchy: np.ndarray) -> list[tuple[int, int, bool]]:
    """(start, length, stretchy) of each run of equal stretchiness, in inner pixels."""
    runs: list[tuple[int, int, bool]] = []
    start = 0
    for index in range(1, len(stretchy) + 1):
        if index == len(stretchy) or stretchy[index] != stretchy[start]:
            runs.append((start, index - start, bool(stretchy[start])))
            start = index
    return runs


def _target_lengths(runs: list[tuple[int, int, bool]], target: int) -> list[int]:
    """Fixed runs keep their length; stretchy ones share what is left, by their length."""
    stretchy_total = sum(length for _, length, stretchy in runs if stretchy)
    fixed = sum(length for _, length, stretchy in runs if not stretchy)
    room = max(0, target - fixed)
    return [
        int(length / stretchy_total * room + 0.5) if stretchy and stretchy_total else length
        for _, length, stretchy in runs
    ]


def nine_patch_layer(patch: Image.Image, size: Size) -> Image.Image:
    """The nine-patch drawn at `size`: each cell stretched (bilinear) where its row or
    column is marked stretchy, kept where not; cells that do not fit are left out, as
    thumbor's `frame` does."""
    inner = patch.convert("RGBA").crop((1, 1, patch.width - 1, patch.height - 1))
    marks = _markers(patch)
    columns = _runs(marks[0, 1:-1])
    rows = _runs(marks[1:-1, 0])
    widths = _target_lengths(columns, size[0])
    heights = _target_lengths(rows, size[1])
    layer = Image.new("RGBA", size, 0)
    top = 0
    for (row_start, row_length, _), height in zip(rows, heights, strict=True):
        left = 0
        for (column_start, column_length, _), width in zip(columns, widths, strict=True):
            fits = left + width <= size[0] and top + height <= size[1]
            if fits and width > 0 and height > 0:
                cell = inner.crop(
                    (column_start, row_start, column_start + column_length, row_start + row_length)
                )
                if cell.size != (width, height):
                    cell = cell.resize((width, height), Image.Resampling.BILINEAR)
                layer.paste(cell, (left, top))
            left += width
        top += height
    return layer


def backdrop_for(picture: Image.Image, kind: Backdrop, size: Size) -> Image.Image:
    """What fills the room around `picture` on a canvas of `size` (RGB): the picture
    blurred and stretched to the canvas (thumbor's `fill(blur)`), or its average colour
    (thumbor's `fill(auto)`)."""
    rgb = picture.convert("RGB")
    if kind is Backdrop.AUTO:
        mean = ImageStat.Stat(rgb).mean
        colour = tuple(int(channel) for channel in mean)
        return Image.new("RGB", size, colour)
    blurred = rgb.filter(ImageFilter.GaussianBlur(BACKDROP_BLUR_SIGMA))
    return blurred.resize(size, Image.Resampling.BILINEAR)

"""Colour adjustments on the output-sized picture: `brightness`, `contrast`, `rgb`,
`curve`, `colorize`, `saturation`, `equalize`, with thumbor's arithmetic.

thumbor's filters (`thumbor/ext/filters/_*.c`) work on 8-bit channels with C integer
arithmetic; the same rounding is kept here, so a thumbor URL gives thumbor's pixels.
The per-channel ones are lookup tables, composed in the usual order (brightness,
contrast, rgb, curve, colorize) or the one `order` names (thumbor's URL order) into
one table per channel and applied in one `Image.point` call; saturation and
equalisation follow. Transparency is kept as it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from ..context import Context
from ..filters import TABLE_FILTERS, Curve, Points

Table = list[int]
# Pixels per slice of the saturation pass: its float temporaries are some 100 bytes per
# pixel, so a quarter-megapixel slice keeps them near 25 MiB whatever the picture's size
# (`benchmarks/filters_cost.py`: a megapixel slice cost 96 MiB more at the peak).
SLICE_PIXELS = 1 << 18
IDENTITY: Table = list(range(256))


def _clamp(value: int) -> int:
    return 0 if value < 0 else 255 if value > 255 else value


def _truncated(numerator: int, denominator: int) -> int:
    """C's integer division: towards zero."""
    quotient = abs(numerator) // denominator
    return quotient if numerator >= 0 else -quotient


def level_shift(percent: float) -> int:
    """thumbor's `(255 * percent) / 100` in C ints; a fractional percent (imgproxy's
    levels, converted) rounds to hundredths first, so a whole level comes back whole."""
    return math.trunc(round(255 * percent / 100, 2))


def shifted(table: Table, delta: int) -> Table:
    return [_clamp(value + delta) for value in table]


def contrasted(table: Table, factor: float) -> Table:
    """thumbor's `(d * (v - 128)) / 100 + 128`, with d = factor x 100 (here x 1000)."""
    scaled = round(factor * 1000)
    return [_clamp(_truncated(scaled * (value - 128), 1000) + 128) for value in table]


def tinted(table: Table, percent: int, target: int) -> Table:
    """thumbor's colorize: `(v * (100 - p) + target * p) / 100`, truncated."""
    return [(value * (100 - percent) + target * percent) // 100 for value in table]


def spline_table(points: Points) -> Table:
    """The 256 levels of a natural cubic spline through `points` (x rising), rounded
    half away from zero; flat before the first point and after the last, as thumbor's."""
    if not points:
        return IDENTITY
    xs = [float(x) for x, _ in points]
    ys = [float(y) for _, y in points]
    count = len(points)
    second = [0.0] * count  # second derivatives; 0 at both ends (a natural spline)
    if count > 2:  # the tridiagonal system, solved by elimination (Thomas)
        lower = [0.0] * count
        diagonal = [1.0] * count
        upper = [0.0] * count
        right = [0.0] * count
        for i in range(1, count - 1):
            lower[i] = (xs[i] - xs[i - 1]) / 6
            diagonal[i] = (xs[i + 1] - xs[i - 1]) / 3
            upper[i] = (xs[i + 1] - xs[i]) / 6
            right[i] = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) - (ys[i] - ys[i - 1]) / (
                xs[i] - xs[i - 1]
            )
        for i in range(1, count):
            ratio = lower[i] / diagonal[i - 1]
            diagonal[i] -= ratio * upper[i - 1]
            right[i] -= ratio * right[i - 1]
        second[count - 1] = right[count - 1] / diagonal[count - 1]
        for i in range(count - 2, -1, -1):
            second[i] = (right[i] - upper[i] * second[i + 1]) / diagonal[i]
    table = [points[0][1]] * 256
    for i in range(count - 1):
        width = xs[i + 1] - xs[i]
        for x in range(points[i][0], points[i + 1][0]):
            b = (x - xs[i]) / width
            a = 1 - b
            y = a * ys[i] + b * ys[i + 1]
            y += width * width / 6 * ((a**3 - a) * second[i] + (b**3 - b) * second[i + 1])
            table[x] = _clamp(math.floor(y + 0.5))
    for x in range(points[-1][0], 256):
        table[x] = points[-1][1]
    return table


def _curve_tables(curve: Curve) -> tuple[Table, Table, Table]:
    """Each channel's own curve, then the curve of all, as thumbor applies them."""
    every = spline_table(curve.all)
    channels = (curve.red, curve.green, curve.blue)
    red, green, blue = ([every[level] for level in spline_table(points)] for points in channels)
    return (red, green, blue)


def channel_tables(ctx: Context) -> tuple[Table, Table, Table] | None:
    """The composed red, green and blue tables, or None when no table filter is set;
    in `order`'s order when the URL gives one."""
    options = ctx.options
    steps: dict[str, Callable[[int, Table], Table]] = {}
    if options.brightness is not None:
        delta = level_shift(options.brightness)
        steps["brightness"] = lambda _, table: shifted(table, delta)
    if options.contrast is not None:
        factor = options.contrast
        steps["contrast"] = lambda _, table: contrasted(table, factor)
    if options.channel_shift is not None:
        shift = options.channel_shift
        deltas = [level_shift(value) for value in (shift.red, shift.green, shift.blue)]
        steps["rgb"] = lambda band, table: shifted(table, deltas[band])
    if options.curve is not None:
        curves = _curve_tables(options.curve)
        steps["curve"] = lambda band, table: [curves[band][value] for value in table]
    if options.tint is not None:
        tint = options.tint
        percents = (tint.red, tint.green, tint.blue)
        targets = tint.colour.rgba[:3]
        steps["colorize"] = lambda band, table: tinted(table, percents[band], targets[band])
    if not steps:
        return None
    composed = [list(IDENTITY) for _ in range(3)]
    for name in options.table_order or TABLE_FILTERS:
        if name in steps:
            composed = [steps[name](band, table) for band, table in enumerate(composed)]
    return (composed[0], composed[1], composed[2])


def _colour_mode(image: Image.Image, tables: Sequence[Table]) -> Image.Image:
    """A grey picture becomes RGB(A) when the channels' tables differ."""
    if image.mode in ("L", "LA") and not tables[0] == tables[1] == tables[2]:
        return image.convert("RGBA" if image.mode == "LA" else "RGB")
    return image


def apply_tables(image: Image.Image, tables: tuple[Table, Table, Table]) -> Image.Image:
    """One `point` call: the colour bands through their tables, alpha unchanged."""
    image = _colour_mode(image, tables)
    if image.mode in ("L", "LA"):
        bands = [tables[0]]
    else:
        bands = list(tables)
    if image.mode in ("LA", "RGBA"):
        bands.append(IDENTITY)
    return image.point([level for table in bands for level in table])


def saturate(image: Image.Image, factor: float) -> Image.Image:
    """thumbor's saturation: each channel moved away from (or towards, below 1) the
    pixel's perceived brightness `sqrt(.299 r² + .587 g² + .114 b²)` by `factor`."""
    if image.mode not in ("RGB", "RGBA"):
        return image  # grey has no saturation to change
    pixels = np.array(image)
    rows_per_slice = max(1, SLICE_PIXELS // image.width)
    weights = np.array([0.299, 0.587, 0.114])
    for top in range(0, image.height, rows_per_slice):
        colour = pixels[top : top + rows_per_slice, :, :3].astype(np.float64)
        brightness = np.sqrt((colour * colour) @ weights)[..., None]
        moved = brightness + (colour - brightness) * factor
        pixels[top : top + rows_per_slice, :, :3] = np.clip(moved, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, image.mode)


def equalise(image: Image.Image) -> Image.Image:
    """Histogram equalisation of each colour channel (alpha kept), as thumbor's:
    level v becomes (cdf(v) - cdf_min) / (pixels - cdf_min) x 255, truncated."""
    histogram = image.histogram()
    colour_bands = 1 if image.mode in ("L", "LA") else 3
    area = image.width * image.height
    tables: list[Table] = []
    for band in range(len(image.getbands())):
        counts = histogram[band * 256 : (band + 1) * 256]
        cumulative = np.cumsum(counts).tolist()
        lowest = next(total for total in cumulative if total)
        if band >= colour_bands or area == lowest:  # alpha, or a single level
            tables.append(IDENTITY)
            continue
        tables.append([int((total - lowest) / (area - lowest) * 255) for total in cumulative])
    return image.point([level for table in tables for level in table])


def adjust_colours(ctx: Context) -> None:
    """The table filters, then saturation, then equalisation; unset ones cost nothing."""
    options = ctx.options
    tables = channel_tables(ctx)
    if tables is not None:
        ctx.image = apply_tables(ctx.image, tables)
    if options.saturation is not None:
        ctx.image = saturate(ctx.image, options.saturation)
    if options.equalize:
        ctx.image = equalise(ctx.image)

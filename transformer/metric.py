"""The in-request metric of `q=auto`: SSIM (Wang et al. 2004) on luma and chroma, in numpy.

Cheap enough to run several times per cold request: the reference's local means and
variances are computed once per search, so each probe costs three window sums per
plane. The constants are the usual ones (K1 0.01, K2 0.03, L 255) on Pillow's
BT.601 YCbCr, chroma at half size; the windows are uniform 8x8 ones (below), where
`benchmarks/ssim.py` uses the 11-tap Gaussian; the cost per probe is measured in
`benchmarks/auto_quality.py`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

# 8x8 windows (the first SSIM paper's) every 4 pixels: the local sums come from 4x4
# block sums, one pass per plane, about ten times cheaper than the 11-tap Gaussian of
# `benchmarks/ssim.py` (benchmarks/auto_quality.py measures both). The stride of 4 puts
# windows across the 8x8 block edges of JPEG (and WebP's 4x4 and 16x16) so that
# blocking counts.
CELL = 4
WINDOW = 2 * CELL
_C1 = (0.01 * 255.0) ** 2
_C2 = (0.03 * 255.0) ** 2
_GREY = (128, 128, 128, 255)

Plane = NDArray[np.float32]

# A picture with more luma windows than this (about 640x500 px) is scored on every
# other band of BAND_ROWS rows (`sampled_rows`): its planes are made from those bands
# only (with their 8 extra rows, 24 of every 32), a quarter less of what a probe costs
# after its decode. Chosen with `benchmarks/auto_quality.py --search`, which replays
# every corpus search (63 cases x 3 targets) on the sampled and the full score: bands
# of 16 rows changed 2 choices by one step and none fell short of its target by the
# full score; bands of 32 and 64 rows changed 3 and 4 and fell short in 1 and 3, and
# sampling above 10,000 windows fell short once.
SAMPLED_ABOVE: int | None = 20_000  # None: every window, always
BAND_ROWS = 16


def sampled_rows(height: int, band_rows: int = BAND_ROWS) -> list[tuple[int, int]]:
    """The rows (top, bottom) of each band a sampled picture is scored on: every other
    band of `band_rows` rows, centred, each with two cell rows more so that its last
    windows, and those of the half-size chroma, are whole."""
    tall, period = band_rows + 2 * CELL, 2 * band_rows
    count = max(1, (height - tall) // period + 1)
    spanned = (count - 1) * period + tall
    first = max(0, (height - spanned) // 2) // 2 * 2  # even: chroma halves whole pairs
    return [(top, min(height, top + tall)) for top in range(first, first + count * period, period)]


def window_count(size: tuple[int, int]) -> int:
    """How many luma windows a picture of this size (width, height) has in full."""
    return max(1, size[0] // CELL - 1) * max(1, size[1] // CELL - 1)


def displayed_planes(
    image: Image.Image, sampled: bool = False, band_rows: int = BAND_ROWS
) -> tuple[Plane, Plane, Plane]:
    """Luma, and the two chroma planes at half size (as 4:2:0 encoders keep them), of
    `image` as shown: alpha composited over mid-grey (pixels an encoder may change
    under full transparency do not count), as float32 0..255. `sampled`: of the bands
    of `sampled_rows` only, each plane a stack of bands (bands, rows, columns)."""
    if image.mode in ("RGBA", "LA", "PA") or image.has_transparency_data:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, _GREY), rgba)
    grey = image.mode in ("L", "LA", "I", "I;16", "1")
    shown = image.convert("L" if grey else "RGB") if image.mode not in ("L", "RGB") else image
    if grey:
        flat = Image.new("L", ((shown.width + 1) // 2, (shown.height + 1) // 2), 128)
        luma, blue, red = shown, flat, flat
    else:
        # Chroma is affine in RGB, so halving first and converting a quarter of the
        # pixels gives the half-size planes (to rounding) for less than converting the
        # whole picture to YCbCr (`benchmarks/auto_quality.py --metric` times both);
        # luma is Pillow's "L", the same BT.601 weights.
        _, blue, red = shown.reduce(2).convert("YCbCr").split()
        luma = shown.convert("L")
    if not sampled:
        return _plane(luma), _plane(blue), _plane(red)
    rows = sampled_rows(shown.height, band_rows)
    halves = [(top // 2, (bottom + 1) // 2) for top, bottom in rows]
    return _banded(luma, rows), _banded(blue, halves), _banded(red, halves)


def _banded(band: Image.Image, rows: list[tuple[int, int]]) -> Plane:
    """The rows of `band` in `rows` (all as tall as the first), as a float32 stack
    (bands, rows, columns): picked before the conversion to float, which then costs
    a quarter less."""
    pixels = np.asarray(band)
    tall = rows[0][1] - rows[0][0]
    picked = (np.array([top for top, _ in rows])[:, np.newaxis] + np.arange(tall)).ravel()
    stack: Plane = pixels[picked].reshape(len(rows), tall, pixels.shape[1]).astype(np.float32)
    return stack


def displayed_luma(image: Image.Image) -> Plane:
    """The luma plane alone (see `displayed_planes`)."""
    return displayed_planes(image)[0]


def _plane(band: Image.Image) -> Plane:
    return np.asarray(band, dtype=np.float32)


def _window_means(plane: Plane) -> Plane:
    """Means over 8x8 windows every 4 px: 4x4 cell sums, then 2x2 cells each (over the
    last two axes: a plane, or a stack of bands)."""
    *stack, height, width = plane.shape
    rows, cols = height // CELL, width // CELL
    # Row sums then column sums by slicing: numpy's sum over a reshaped axis is 5x slower.
    strips = plane[..., : rows * CELL, : cols * CELL].reshape(*stack, rows, CELL, cols * CELL)
    across = strips[..., 0, :] + strips[..., 1, :] + strips[..., 2, :] + strips[..., 3, :]
    by_cell = across.reshape(*stack, rows, cols, CELL)
    cells = by_cell[..., 0] + by_cell[..., 1] + by_cell[..., 2] + by_cell[..., 3]
    pairs = cells[..., :-1, :] + cells[..., 1:, :]
    windows: Plane = (pairs[..., :-1] + pairs[..., 1:]) * (1.0 / (WINDOW * WINDOW))
    return windows


class Reference:
    """An unencoded plane (or stack of bands) and its local statistics, scored against
    many probes."""

    def __init__(self, plane: Plane) -> None:
        plane = _padded(plane)
        self.plane = plane
        self.mean = _window_means(plane)
        self.variance = _window_means(plane * plane) - self.mean * self.mean

    def score(self, test: Plane) -> float:
        """Mean SSIM of `test` (same size) against the reference; 1.0 is identical."""
        test = _padded(test)
        if test.shape != self.plane.shape:
            raise ValueError(f"planes differ in size: {self.plane.shape} vs {test.shape}")
        mean = _window_means(test)
        variance = _window_means(test * test) - mean * mean
        covariance = _window_means(self.plane * test) - self.mean * mean
        numerator = (2 * self.mean * mean + _C1) * (2 * covariance + _C2)
        denominator = (self.mean * self.mean + mean * mean + _C1) * (self.variance + variance + _C2)
        return float(np.mean(numerator / denominator, dtype=np.float64))


class PictureReference:
    """Luma and chroma references of one unencoded picture; a probe's score is the
    weighted mean of the three planes' SSIM (`weights`: luma, blue, red), on the bands
    of `sampled_rows` when the picture has more than `sampled_above` windows (None:
    on every window)."""

    def __init__(
        self,
        image: Image.Image,
        weights: tuple[float, float, float],
        sampled_above: int | None = SAMPLED_ABOVE,
        band_rows: int = BAND_ROWS,
    ) -> None:
        self.size = image.size
        self.sampled = sampled_above is not None and window_count(image.size) > sampled_above
        self.band_rows = band_rows
        planes = displayed_planes(image, self.sampled, band_rows)
        self.planes = tuple(Reference(plane) for plane in planes)
        self.weights = weights

    def scores(self, image: Image.Image) -> tuple[float, float, float]:
        """The SSIM of each plane of `image` (decoded probe) against the reference."""
        if image.size != self.size:
            raise ValueError(f"pictures differ in size: {self.size} vs {image.size}")
        luma, blue, red = (
            reference.score(plane)
            for reference, plane in zip(
                self.planes, displayed_planes(image, self.sampled, self.band_rows), strict=True
            )
        )
        return luma, blue, red

    def score(self, image: Image.Image) -> float:
        return combine(self.scores(image), self.weights)


def combine(scores: tuple[float, float, float], weights: tuple[float, float, float]) -> float:
    """The weighted mean of per-plane scores."""
    return sum(s * w for s, w in zip(scores, weights, strict=True)) / sum(weights)


def _padded(plane: Plane) -> Plane:
    """Pictures smaller than one window are edge-padded up to it (tiny icons)."""
    extra_rows = max(0, WINDOW - plane.shape[-2])
    extra_cols = max(0, WINDOW - plane.shape[-1])
    if not extra_rows and not extra_cols:
        return plane
    stack = ((0, 0),) * (plane.ndim - 2)
    padded: Plane = np.pad(plane, (*stack, (0, extra_rows), (0, extra_cols)), mode="edge")
    return padded

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
from numpy.lib.stride_tricks import as_strided
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

# A plane with more windows than this is scored on every other band of BAND_ROWS pixel
# rows (the windows starting in it), which halves a probe's window sums and products.
# Bands of 64 rows keep every JPEG and WebP block edge inside some band. Chosen with
# `benchmarks/auto_quality.py --search`, which replays the searches on the sampled and
# the full score: SAMPLED_ABOVE_FIGURE.
SAMPLED_ABOVE: int | None = 20_000  # None: every window, always
BAND_ROWS = 64


def displayed_planes(image: Image.Image) -> tuple[Plane, Plane, Plane]:
    """Luma, and the two chroma planes at half size (as 4:2:0 encoders keep them), of
    `image` as shown: alpha composited over mid-grey (pixels an encoder may change
    under full transparency do not count), as float32 0..255."""
    if image.mode in ("RGBA", "LA", "PA") or image.has_transparency_data:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, _GREY), rgba)
    if image.mode in ("L", "LA", "I", "I;16", "1"):
        luma = image.convert("L")
        flat = Image.new("L", ((luma.width + 1) // 2, (luma.height + 1) // 2), 128)
        return _plane(luma), _plane(flat), _plane(flat)
    # Chroma is affine in RGB, so halving first and converting a quarter of the pixels
    # gives the half-size planes (to rounding) for less than converting the whole
    # picture to YCbCr (`benchmarks/auto_quality.py --metric` times both); luma is
    # Pillow's "L", the same BT.601 weights.
    rgb = image.convert("RGB")
    _, blue, red = rgb.reduce(2).convert("YCbCr").split()
    return _plane(rgb.convert("L")), _plane(blue), _plane(red)


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


def window_count(shape: tuple[int, ...]) -> int:
    """How many windows a plane of this shape is scored on in full."""
    return max(1, shape[0] // CELL - 1) * max(1, shape[1] // CELL - 1)


def _bands(plane: Plane) -> Plane:
    """Every other band of BAND_ROWS rows, centred on the plane, as a read-only
    (bands, BAND_ROWS + CELL, width) view: the extra cell row completes the windows
    starting on the band's last cell row."""
    height, period = BAND_ROWS + CELL, 2 * BAND_ROWS
    count = max(1, (plane.shape[0] - height) // period + 1)
    spanned = (count - 1) * period + height
    first = max(0, (plane.shape[0] - spanned) // 2)
    row, column = plane.strides
    view: Plane = as_strided(
        plane[first:],
        shape=(count, min(height, plane.shape[0]), plane.shape[1]),
        strides=(period * row, row, column),
        writeable=False,
    )
    return view


class Reference:
    """An unencoded plane and its local statistics, scored against many probes; on
    every other band of rows when it has more than `sampled_above` windows (None:
    never)."""

    def __init__(self, plane: Plane, sampled_above: int | None = SAMPLED_ABOVE) -> None:
        plane = _padded(plane)
        self.shape = plane.shape
        self.sampled = sampled_above is not None and window_count(plane.shape) > sampled_above
        if self.sampled:
            plane = _bands(plane)
        self.plane = plane
        self.mean = _window_means(plane)
        self.variance = _window_means(plane * plane) - self.mean * self.mean

    def score(self, test: Plane) -> float:
        """Mean SSIM of `test` (same size) against the reference; 1.0 is identical."""
        test = _padded(test)
        if test.shape != self.shape:
            raise ValueError(f"planes differ in size: {self.shape} vs {test.shape}")
        if self.sampled:
            test = _bands(test)
        mean = _window_means(test)
        variance = _window_means(test * test) - mean * mean
        covariance = _window_means(self.plane * test) - self.mean * mean
        numerator = (2 * self.mean * mean + _C1) * (2 * covariance + _C2)
        denominator = (self.mean * self.mean + mean * mean + _C1) * (self.variance + variance + _C2)
        return float(np.mean(numerator / denominator, dtype=np.float64))


class PictureReference:
    """Luma and chroma references of one unencoded picture; a probe's score is the
    weighted mean of the three planes' SSIM (`weights`: luma, blue, red)."""

    def __init__(
        self,
        image: Image.Image,
        weights: tuple[float, float, float],
        sampled_above: int | None = SAMPLED_ABOVE,
    ) -> None:
        self.planes = tuple(Reference(plane, sampled_above) for plane in displayed_planes(image))
        self.weights = weights

    def scores(self, image: Image.Image) -> tuple[float, float, float]:
        """The SSIM of each plane of `image` (decoded probe) against the reference."""
        luma, blue, red = (
            reference.score(plane)
            for reference, plane in zip(self.planes, displayed_planes(image), strict=True)
        )
        return luma, blue, red

    def score(self, image: Image.Image) -> float:
        return combine(self.scores(image), self.weights)


def combine(scores: tuple[float, float, float], weights: tuple[float, float, float]) -> float:
    """The weighted mean of per-plane scores."""
    return sum(s * w for s, w in zip(scores, weights, strict=True)) / sum(weights)


def _padded(plane: Plane) -> Plane:
    """Pictures smaller than one window are edge-padded up to it (tiny icons)."""
    extra_rows = max(0, WINDOW - plane.shape[0])
    extra_cols = max(0, WINDOW - plane.shape[1])
    if not extra_rows and not extra_cols:
        return plane
    padded: Plane = np.pad(plane, ((0, extra_rows), (0, extra_cols)), mode="edge")
    return padded

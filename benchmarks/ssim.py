"""SSIM (Wang et al. 2004) on the luma channel, in plain numpy.

Why our own: the default qualities are chosen by an SSIM threshold, and the tests
will check resize and encode quality the same way, so both need one definition that
does not pull in scikit-image or OpenCV. The definition is the classic one: an
11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, population
(not sample) statistics, BT.601 luma, the mean over the "valid" region (no padding),
and no automatic downsampling. It matches `skimage.metrics.structural_similarity(
..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)`
on the luma plane up to its border handling.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

SIGMA = 1.5
RADIUS = 5  # 11 taps: round(3.5 * sigma), as in the paper and scikit-image
K1 = 0.01
K2 = 0.03
DATA_RANGE = 255.0
_C1 = (K1 * DATA_RANGE) ** 2
_C2 = (K2 * DATA_RANGE) ** 2
_BT601 = np.array([0.299, 0.587, 0.114], dtype=np.float64)

Plane = NDArray[np.float64]


def _window() -> Plane:
    offsets = np.arange(-RADIUS, RADIUS + 1, dtype=np.float64)
    weights = np.exp(-(offsets**2) / (2 * SIGMA**2))
    normalised: Plane = weights / weights.sum()
    return normalised


_WINDOW = _window()


def luma(image: Image.Image) -> Plane:
    """The BT.601 luma plane of `image` as float64 in 0..255 (alpha is ignored)."""
    if image.mode == "L":
        return np.asarray(image, dtype=np.float64)
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    plane: Plane = rgb @ _BT601
    return plane


def _filter(plane: Plane) -> Plane:
    """Separable Gaussian filter, keeping only fully covered pixels ("valid")."""
    size = 2 * RADIUS + 1
    rows = plane.shape[0] - size + 1
    cols = plane.shape[1] - size + 1
    across: Plane = np.zeros((plane.shape[0], cols), dtype=np.float64)
    for tap, weight in enumerate(_WINDOW):
        across += weight * plane[:, tap : tap + cols]
    out: Plane = np.zeros((rows, cols), dtype=np.float64)
    for tap, weight in enumerate(_WINDOW):
        out += weight * across[tap : tap + rows, :]
    return out


def ssim_map(reference: Plane, test: Plane) -> Plane:
    """The local SSIM of two same-sized luma planes, over their valid region."""
    if reference.shape != test.shape:
        raise ValueError(f"planes differ in size: {reference.shape} vs {test.shape}")
    if reference.ndim != 2 or min(reference.shape) < 2 * RADIUS + 1:
        raise ValueError(f"need 2-D planes of at least {2 * RADIUS + 1} px, got {reference.shape}")
    mu_x = _filter(reference)
    mu_y = _filter(test)
    xx = _filter(reference * reference) - mu_x * mu_x
    yy = _filter(test * test) - mu_y * mu_y
    xy = _filter(reference * test) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + _C1) * (2 * xy + _C2)
    denominator = (mu_x * mu_x + mu_y * mu_y + _C1) * (xx + yy + _C2)
    result: Plane = numerator / denominator
    return result


def ssim(reference: Plane, test: Plane) -> float:
    """Mean SSIM of two same-sized luma planes (1.0 means identical)."""
    return float(ssim_map(reference, test).mean())


def ssim_images(reference: Image.Image, test: Image.Image) -> float:
    """Mean SSIM of two same-sized Pillow images, on their luma."""
    if reference.size != test.size:
        raise ValueError(f"images differ in size: {reference.size} vs {test.size}")
    return ssim(luma(reference), luma(test))

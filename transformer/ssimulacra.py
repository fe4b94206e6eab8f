"""SSIMULACRA2 (Cloudinary/libjxl) in numpy, cheap enough to score `q=auto`'s probes.

Why not the cheap 8x8 SSIM of `metric.py`: it cannot carry a floor on the scale the
field uses. It scores smooth regions that break into 8x8 blocks close to 1 (SSIM's
constants outweigh tiny variances), so no threshold on it keeps a SSIMULACRA2 floor on
pictures it was not calibrated on (`benchmarks/auto_quality_floors.py`, docs/quality.md).

What this computes is SSIMULACRA2 as PyPI `ssimulacra2` does (the offline reference of
the benchmarks): sRGB to linear, XYB made positive, six scales halved in linear RGB,
each with a Gaussian (sigma 1.5) SSIM map and the two edge maps (artifacts: edges the
output has and the picture has not; detail lost: the reverse), their 1- and 4-norms
weighted and mapped to 0..100. Four things make it cheap:
- The terms whose weight is below `MIN_WEIGHT` are not computed (most of the 108 are
  0 or about 0.001, against 1 to 225 for the rest; `SKIPPED_WEIGHT` sums what is left
  out): at full size only the luma-like Y plane counts, so a probe blurs one full-size
  plane three times, not three planes five times.
- Everything about the unencoded picture (its XYB planes, their blurred means and
  squares at every scale) is computed once per search (`Reference`).
- float32 throughout, sRGB to linear through a 256-entry table.
- OpenCV (already a dependency, for faces) does the Gaussian, the 2x2 means and the
  colour matrices with SIMD: a probe at 1280x1045 px costs 28 ms of one core where
  the same sums in numpy cost 51 (`benchmarks/auto_quality_floors.py --agreement`).
`benchmarks/auto_quality_floors.py --agreement` measures it against the package
(rank correlation, largest difference) and its cost per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Array = NDArray[np.float32]

SCALES = 6
_C2 = 0.0009
_SIGMA = 1.5
_RADIUS = 5  # the package's truncate 3.33 at sigma 1.5
_OPSIN = np.array(
    [
        [0.30, 1.0 - 0.078 - 0.30, 0.078],
        [0.23, 1.0 - 0.078 - 0.23, 0.078],
        [0.24342268924547819, 0.20476744424496821, 1.0 - 0.24342268924547819 - 0.20476744424496821],
    ],
    dtype=np.float32,
)
_BIAS = np.float32(0.0037930732552754493)
_CBRT_BIAS = np.float32(np.cbrt(0.0037930732552754493))
_GREY = (128, 128, 128, 255)

# SSIMULACRA2's 108 weights, as the package (and libjxl) lists them: per channel
# (X, Y, B), per scale, per norm (1, 4): SSIM, artifact, detail lost.
WEIGHTS = np.array(
    [
        # X, scale 0
        [0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0],
        # X, scale 1
        [
            0.0,
            0.0004371155730107379,
            0.0,
            1.1041726426657346,
            0.00066284834129271,
            0.00015231632783718752,
        ],
        # X, scale 2
        [0.0, 0.0016406437456599754, 0.0, 1.8422455520539298, 11.441172603757666, 0.0],
        # X, scale 3
        [
            0.0007989109436015163,
            0.000176816438078653,
            0.0,
            1.8787594979546387,
            10.94906990605142,
            0.0,
        ],
        # X, scale 4
        [
            0.0007289346991508072,
            0.9677937080626833,
            0.0,
            0.00014003424285435884,
            0.9981766977854967,
            0.00031949755934435053,
        ],
        # X, scale 5
        [0.0004550992113792063, 0.0, 0.0, 0.0013648766163243398, 0.0, 0.0],
        # Y, scale 0
        [0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262],
        # Y, scale 1
        [
            0.0006235601634041466,
            0.0,
            0.0,
            6.683678146179332,
            0.00037724407979611296,
            1.027889937768264,
        ],
        # Y, scale 2
        [
            225.20515300849274,
            0.0,
            0.0,
            19.213238186143016,
            0.0011401524586618361,
            0.001237755635509985,
        ],
        # Y, scale 3
        [
            176.39317598450694,
            0.0,
            0.0,
            24.43300999870476,
            0.28520802612117757,
            0.0004485436923833408,
        ],
        # Y, scale 4
        [0.0, 0.0, 0.0, 34.77906344483772, 44.835625328877896, 0.0],
        # Y, scale 5
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        # B, scale 0
        [0.0, 0.0008680556573291698, 0.0, 0.0, 0.0, 0.0],
        # B, scale 1
        [0.0, 0.0005313191874358747, 0.0, 0.00016533814161379112, 0.0, 0.0],
        # B, scale 2
        [0.0, 0.0, 0.0, 0.0004179171803251336, 0.0017290828234722833, 0.0],
        # B, scale 3
        [0.0020827005846636437, 0.0, 0.0, 8.826982764996862, 23.19243343998926, 0.0],
        # B, scale 4
        [
            95.1080498811086,
            0.9863978034400682,
            0.9834382792465353,
            0.0012286405048278493,
            171.2667255897307,
            0.9807858872435379,
        ],
        # B, scale 5
        [0.0, 0.0, 0.0, 0.0005130064588990679, 0.0, 0.00010854057858411537],
    ],
    dtype=np.float64,
).ravel()

# Terms weighted below this are left out (see the module docstring); what they weigh
# together is `SKIPPED_WEIGHT` (about 0.02, against a weighted sum near 4 at a score
# of 60, and each term's value is mostly well under 1).
MIN_WEIGHT = 0.01
SKIPPED_WEIGHT = float(WEIGHTS[WEIGHTS < MIN_WEIGHT].sum())


def scale_weights(scales: int) -> NDArray[np.float64]:
    """The weights as [channel, scale, norm, term] for a picture with `scales` scales.
    A picture under 8 px at some scale has fewer than six, and the package and libjxl
    then read the weights in order, channel after channel, so a small picture's
    channels take the next channel's first weights: kept as they do it, since their
    score is the one promised."""
    weights: NDArray[np.float64] = WEIGHTS[: 3 * scales * 6].reshape(3, scales, 2, 3)
    return weights


def scale_count(size: tuple[int, int]) -> int:
    """How many scales a picture of `size` has: each halves it (rounding up), and one
    under 8 px either way is not scored."""
    width, height = size
    count = 0
    while count < SCALES and min(width, height) >= 8:
        count += 1
        width, height = (width + 1) // 2, (height + 1) // 2
    return count


_KERNEL = np.exp(-(np.arange(-_RADIUS, _RADIUS + 1) ** 2) / (2 * _SIGMA**2))
_KERNEL = (_KERNEL / _KERNEL.sum()).astype(np.float32).reshape(-1, 1)

# XYB as two 3x4 affine maps for `cv2.transform`: linear RGB to the opsin mixes (plus
# the bias), then their cube roots to X, Y and B (the cube-root bias cancels in X and B).
_MIXING = np.hstack([_OPSIN, np.full((3, 1), _BIAS, dtype=np.float32)])
_FROM_ROOTS = np.array(
    [
        [7.0, -7.0, 0.0, 0.42],
        [0.5, 0.5, 0.0, 0.01 - float(_CBRT_BIAS)],
        [-0.5, -0.5, 1.0, 0.55],
    ],
    dtype=np.float32,
)


def _srgb_to_linear_table() -> Array:
    values = np.arange(256, dtype=np.float64) / 255.0
    linear = np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)
    table: Array = linear.astype(np.float32)
    return table


_LINEAR = _srgb_to_linear_table()


@cache
def _cv2() -> ModuleType:
    """OpenCV, imported on the first score (a server that never sees `q=auto` never
    loads it), one thread: a worker's threads already share its cores."""
    import cv2

    cv2.setNumThreads(1)
    return cv2


def displayed_rgb(image: Image.Image) -> NDArray[np.uint8]:
    """`image` as shown, 8-bit RGB (alpha composited over mid-grey, as `metric.py`
    does: pixels an encoder may change under full transparency do not count)."""
    if image.mode in ("RGBA", "LA", "PA") or image.has_transparency_data:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, _GREY), rgba)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)


def linear_rgb(image: Image.Image) -> Array:
    """Linear-light RGB (height, width, 3) of `image` as shown."""
    linear: Array = _cv2().LUT(displayed_rgb(image), _LINEAR)
    return linear


def halved(linear: Array) -> Array:
    """`linear` (height, width, 3) at half size, 2x2 means (a last odd row or column
    averaged alone)."""
    cv2 = _cv2()
    height, width = linear.shape[:2]
    if height % 2 or width % 2:
        linear = cv2.copyMakeBorder(linear, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE)
    size = ((width + 1) // 2, (height + 1) // 2)
    quarter: Array = cv2.resize(linear, size, interpolation=cv2.INTER_AREA)
    return quarter


def xyb(linear: Array, channels: tuple[int, ...]) -> dict[int, Array]:
    """The positive XYB planes (0 X, 1 Y, 2 B) named in `channels`, from linear RGB."""
    cv2 = _cv2()
    mixed = cv2.transform(linear, _MIXING)
    roots = np.cbrt(np.maximum(mixed, 0.0, out=mixed), out=mixed)
    return {c: cv2.transform(roots, _FROM_ROOTS[c : c + 1]) for c in channels}


def blur(plane: Array) -> Array:
    """The package's Gaussian (sigma 1.5, radius 5): rows mirrored past the top and
    bottom, columns zero past the sides, two passes of the symmetric kernel."""
    cv2 = _cv2()
    padded = cv2.copyMakeBorder(plane, 0, 0, _RADIUS, _RADIUS, cv2.BORDER_CONSTANT, value=0)
    blurred = cv2.sepFilter2D(padded, -1, _KERNEL, _KERNEL, borderType=cv2.BORDER_REFLECT)
    inside: Array = blurred[:, _RADIUS:-_RADIUS]
    return inside


@dataclass
class _Plane:
    """One XYB plane of the unencoded picture at one scale, with what every probe
    reuses: its blurred mean, its local variance (None where the SSIM terms are
    skipped) and its edge strength, 1 + |plane - mean|."""

    plane: Array
    mean: Array
    variance: Array | None
    edges: Array


def _prepared(plane: Array, needs_ssim: bool) -> _Plane:
    mean = blur(plane)
    variance = blur(plane * plane) - mean * mean if needs_ssim else None
    return _Plane(plane, mean, variance, 1.0 + np.abs(plane - mean))


class Reference:
    """An unencoded picture prepared for scoring many encodes of it."""

    def __init__(self, image: Image.Image) -> None:
        self.size = image.size
        self.weights = scale_weights(scale_count(image.size))
        kept = self.weights >= MIN_WEIGHT
        self.scales: list[dict[int, _Plane]] = []
        linear = linear_rgb(image)
        for scale in range(self.weights.shape[1]):
            channels = tuple(c for c in range(3) if kept[c, scale].any())
            prepared = {}
            for channel, plane in xyb(linear, channels).items():
                needs_ssim = bool(kept[channel, scale, :, 0].any())
                prepared[channel] = _prepared(plane, needs_ssim)
            self.scales.append(prepared)
            if scale < self.weights.shape[1] - 1:
                linear = halved(linear)

    def score(self, image: Image.Image) -> float:
        """SSIMULACRA2 of `image` (a decoded encode, same size) against the reference:
        100 is identical, about 90 visually lossless, 70 high quality, 50 medium."""
        if image.size != self.size:
            raise ValueError(f"pictures differ in size: {self.size} vs {image.size}")
        total = 0.0
        linear = linear_rgb(image)
        for scale, prepared in enumerate(self.scales):
            planes = xyb(linear, tuple(prepared))
            for channel, test in planes.items():
                total += _weighted(prepared[channel], test, self.weights[channel, scale])
            if scale < len(self.scales) - 1:
                linear = halved(linear)
        return mapped(total)


def _weighted(reference: _Plane, test: Array, weights: NDArray[np.float64]) -> float:
    """One plane at one scale: its kept terms' norms times their weights.
    `weights[norm, term]`: norms 1 and 4; terms SSIM, artifact, detail lost. The maps
    are computed in place, each temporary reused: a 640 px probe of the street photo
    scored in 11.3 ms of CPU instead of 14.6, 1280 px 32.5 instead of 34.7 (320 px 2.0
    instead of 1.7: more calls; `benchmarks/auto_quality_floors.py --score-cost`)."""
    kept = weights >= MIN_WEIGHT
    sums = np.zeros((2, 3))  # [norm, term]: the sums of each map and of its 4th power
    mean = blur(test)
    if reference.variance is not None:
        variance = blur(test * test)
        covariance = blur(reference.plane * test)
        covariance -= reference.mean * mean
        variance -= mean * mean
        variance += reference.variance
        variance += _C2  # the denominator
        difference = np.subtract(reference.mean, mean)
        np.square(difference, out=difference)
        np.subtract(1.0, difference, out=difference)
        covariance *= 2.0
        covariance += _C2
        covariance *= difference  # the numerator
        covariance /= variance
        np.subtract(1.0, covariance, out=covariance)
        _add_sums(sums[:, 0], np.maximum(covariance, 0.0, out=covariance), kept[:, 0])
    if kept[:, 1:].any():
        ratio = np.subtract(test, mean, out=mean)
        np.abs(ratio, out=ratio)
        ratio += 1.0
        ratio /= reference.edges
        ratio -= 1.0
        if kept[:, 1].any():  # artifacts: edges the picture has not
            _add_sums(sums[:, 1], np.maximum(ratio, 0.0), kept[:, 1])
        if kept[:, 2].any():  # detail lost: edges the output has not
            lost = np.negative(ratio, out=ratio)
            _add_sums(sums[:, 2], np.maximum(lost, 0.0, out=lost), kept[:, 2])
    means = sums / test.size
    norms = np.stack([means[0], means[1] ** 0.25])
    return float(np.sum(np.where(kept, weights * norms, 0.0)))


def _add_sums(sums: NDArray[np.float64], values: Array, kept: NDArray[np.bool_]) -> None:
    """Add the sum of `values` and of their 4th powers (where each norm is kept)."""
    if kept[0]:
        sums[0] += float(np.sum(values))
    if kept[1]:
        fourth = np.square(values)
        np.square(fourth, out=fourth)
        sums[1] += float(np.sum(fourth))


def mapped(total: float) -> float:
    """The package's mapping of the weighted sum to the 0..100 score."""
    scaled = total * 0.9562382616834844
    value = (
        2.326765642916932 * scaled
        - 0.020884521182843837 * scaled**2
        + 6.248496625763138e-05 * scaled**3
    )
    if value <= 0:
        return 100.0
    return float(100.0 - 10.0 * value**0.6276336467831387)


def score(reference: Image.Image, image: Image.Image) -> float:
    """SSIMULACRA2 of `image` against `reference` (one-off; a search keeps a
    `Reference`)."""
    return Reference(reference).score(image)

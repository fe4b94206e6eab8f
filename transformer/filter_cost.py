"""What the colour and pixel filters add to a transform's cost (`cost.py` adds it).

Each filter step makes whole working copies of the output picture (the old one is
alive until the step returns) and, for the numpy ones, float temporaries bounded by
their slices; the steps run one after another, so the peak is the costliest one's.
Measured by `benchmarks/filters_cost.py` (a 3000x3000 PNG to a full-size JPEG, peak
RSS over RSS before, minus the same transform without the filter): the lookup-table
filters +35 MiB (3.9 bytes per output pixel), pixelate +41 (4.6), equalize +36 (4.0),
saturation +54 (6.0), noise +56 (6.2), a 3x3 convolution +89 (9.9), rounded corners
+0 (they touch only the corner tiles, and copy the picture only to add alpha). The
constants below round those up. CPU seconds per output megapixel, same benchmark:
saturation and noise 0.010, equalize 0.004, the tables 0.003, a convolution 0.0021 to
0.0028 per kernel cell; the step a time limit cannot interrupt is the longest one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .options import Options

TABLE_BYTES_PER_PIXEL = 5  # brightness, contrast, rgb, curve, colorize; equalize too
PIXELATE_BYTES_PER_PIXEL = 5
NUMPY_BYTES_PER_PIXEL = 7  # saturation, noise
CONVOLUTION_BYTES_PER_PIXEL = 11
CORNER_BYTES_PER_PIXEL = 4  # the copy that adds an alpha band
# wavelet_sharpen works on whole float32 planes (no slices): 48 bytes a pixel at its
# peak and 0.15 s of CPU a megapixel (0.04 luminance only), traced on a 1 MP picture;
# `benchmarks/filters_cost.py` measures it with the other filters.
WAVELET_BYTES_PER_PIXEL = 52
WAVELET_SECONDS_PER_MEGAPIXEL = 0.16
SLICE_BYTES = 32 << 20  # the float temporaries of one slice of rows
NUMPY_SECONDS_PER_MEGAPIXEL = 0.012
CONVOLUTION_SECONDS_PER_CELL_MEGAPIXEL = 0.003


@dataclass(frozen=True)
class FilterCost:
    """The peak bytes the filters add, and the CPU seconds of their longest step."""

    memory: int = 0
    step_seconds: float = 0.0


def filter_cost(options: Options, output_pixels: int) -> FilterCost:
    """The costliest filter step of `options` on a picture of `output_pixels`."""
    per_pixel = 0
    numpy = False
    if (
        any(
            value is not None
            for value in (
                options.brightness,
                options.contrast,
                options.channel_shift,
                options.curve,
                options.tint,
            )
        )
        or options.equalize
    ):
        per_pixel = TABLE_BYTES_PER_PIXEL
    if options.pixelate is not None:
        per_pixel = max(per_pixel, PIXELATE_BYTES_PER_PIXEL)
    if options.radius is not None:
        per_pixel = max(per_pixel, CORNER_BYTES_PER_PIXEL)
    if options.saturation is not None or options.noise is not None:
        per_pixel, numpy = max(per_pixel, NUMPY_BYTES_PER_PIXEL), True
    seconds = NUMPY_SECONDS_PER_MEGAPIXEL if numpy else 0.0
    if options.kernel is not None:
        per_pixel, numpy = max(per_pixel, CONVOLUTION_BYTES_PER_PIXEL), True
        cells = len(options.kernel.weights)
        seconds = max(seconds, CONVOLUTION_SECONDS_PER_CELL_MEGAPIXEL * cells)
    if options.wavelet_sharpen is not None:  # whole planes: no slices
        per_pixel = max(per_pixel, WAVELET_BYTES_PER_PIXEL)
        seconds = max(seconds, WAVELET_SECONDS_PER_MEGAPIXEL)
    memory = per_pixel * output_pixels + (SLICE_BYTES if numpy else 0)
    return FilterCost(memory, seconds * output_pixels / 1e6)

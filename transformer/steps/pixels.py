"""Filters that move pixels about: `convolution`, `pixelate`, `noise`.

Each works on the output-sized picture in slices of rows (a quarter megapixel), so its
float temporaries stay small whatever the picture's size; `transformer/cost.py`
counts the whole copies each makes.
"""

from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

from ..context import Context
from ..errors import InvalidOption
from ..filters import Kernel
from ..geometry import Geometry
from ..options import Options

SLICE_PIXELS = 1 << 18
# Kernel cells x output pixels one convolution may cost: a 3x3 kernel over 44
# megapixels, a 9x9 over 4.9: about 1.2 s of CPU on the 2-core reference machine
# (0.0021 to 0.0028 s per cell and megapixel, `benchmarks/filters_cost.py`).
MAX_CONVOLUTION_WORK = 400_000_000


def check_filter_work(geometry: Geometry, options: Options) -> None:
    """Refuse, before decoding, a convolution too costly for the result's size (400)."""
    kernel = options.kernel
    if kernel is None:
        return
    width, height = geometry.canvas
    work = len(kernel.weights) * width * height
    if work > MAX_CONVOLUTION_WORK:
        raise InvalidOption(
            f"convolution: a {kernel.columns}x{kernel.rows} kernel over the {width}x{height} "
            f"result is {work} cell-pixels of work; the limit is {MAX_CONVOLUTION_WORK}: "
            "use a smaller kernel or result",
            param="convolution",
        )


def _rows_per_slice(width: int) -> int:
    return max(1, SLICE_PIXELS // max(1, width))


def weights_of(kernel: Kernel) -> np.ndarray:
    """The kernel as rows x columns, divided by its sum when it normalises (and the sum
    is not 0), as thumbor's `normalize_kernel`."""
    weights = np.array(kernel.weights, dtype=np.float64).reshape(kernel.rows, kernel.columns)
    total = weights.sum()
    return weights / total if kernel.normalise and total != 0 else weights


def convolve_image(image: Image.Image, kernel: Kernel) -> Image.Image:
    """thumbor's convolution: every band (alpha too) through the kernel, the edges
    extended, each sum truncated towards zero and clamped to 0..255."""
    weights = weights_of(kernel)
    pixels = np.asarray(image)
    flat = pixels.ndim == 2
    if flat:
        pixels = pixels[..., None]
    half_down, half_across = kernel.rows // 2, kernel.columns // 2
    padded = np.pad(pixels, ((half_down, half_down), (half_across, half_across), (0, 0)), "edge")
    height, width = pixels.shape[:2]
    out = np.empty_like(pixels)
    step = _rows_per_slice(width)
    for top in range(0, height, step):
        bottom = min(height, top + step)
        total = np.zeros((bottom - top, width, pixels.shape[2]), dtype=np.float64)
        for row in range(kernel.rows):
            for column in range(kernel.columns):
                weight = weights[row, column]
                if weight:
                    total += weight * padded[top + row : bottom + row, column : column + width]
        out[top:bottom] = np.clip(total, 0, 255).astype(np.uint8)
    return Image.fromarray(out[..., 0] if flat else out, image.mode)


def convolve(ctx: Context) -> None:
    """`convolution`: a custom kernel over the picture."""
    if ctx.options.kernel is not None:
        ctx.image = convolve_image(ctx.image, ctx.options.kernel)


_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}


def _extended(image: Image.Image, width: int, height: int) -> Image.Image:
    """`image` on a `width` x `height` canvas, its last column and row repeated."""
    if image.size == (width, height):
        return image
    canvas = Image.new(image.mode, (width, height))
    canvas.paste(image, (0, 0))
    if width > image.width:
        column = image.crop((image.width - 1, 0, image.width, image.height))
        canvas.paste(column.resize((width - image.width, image.height)), (image.width, 0))
    if height > image.height:
        row = canvas.crop((0, image.height - 1, width, image.height))
        canvas.paste(row.resize((width, height - image.height)), (0, image.height))
    return canvas


def pixelate_image(image: Image.Image, size: int) -> Image.Image:
    """Blocks of `size` x `size` pixels, each its average, enlarged back without
    smoothing; the picture is first extended to whole blocks by repeating its last
    column and row, as imgproxy's `vips_pixelate` does."""
    working = image.convert(_PREMULTIPLIED[image.mode]) if image.mode in _PREMULTIPLIED else image
    across, down = -(-image.width // size), -(-image.height // size)
    small = _extended(working, across * size, down * size).reduce(size)
    blocks = small.resize((across * size, down * size), Image.Resampling.NEAREST)
    result = blocks.crop((0, 0, image.width, image.height))
    return result.convert(image.mode) if working is not image else result


def pixelate(ctx: Context) -> None:
    """`pixelate`: blocks of that many output pixels."""
    if ctx.options.pixelate is not None:
        ctx.image = pixelate_image(ctx.image, ctx.options.pixelate)


def noise_seed(options: Options, frame: int | None) -> int:
    """The seed: given, or the canonical query's hash (one URL, one set of bytes), and
    the animation frame's number, so frames are not all alike."""
    if options.noise is not None and options.noise.seed is not None:
        base = options.noise.seed
    else:
        digest = hashlib.sha256(options.canonical().encode()).digest()
        base = int.from_bytes(digest[:8], "big")
    return base + (frame or 0)


def add_noise_to(image: Image.Image, amount: int, seed: int) -> Image.Image:
    """thumbor's noise: one uniform value from -(amount // 2) to amount - amount // 2 - 1
    added to every colour channel of a pixel, clamped; alpha unchanged."""
    generator = np.random.default_rng(seed)
    pixels = np.array(image)
    flat = pixels.ndim == 2
    if flat:
        pixels = pixels[..., None]
    colour_bands = 1 if image.mode in ("L", "LA") else 3
    height, width = pixels.shape[:2]
    step = _rows_per_slice(width)
    for top in range(0, height, step):
        bottom = min(height, top + step)
        values = generator.integers(0, amount, size=(bottom - top, width, 1), dtype=np.int16)
        values -= amount >> 1
        colour = pixels[top:bottom, :, :colour_bands].astype(np.int16) + values
        pixels[top:bottom, :, :colour_bands] = np.clip(colour, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels[..., 0] if flat else pixels, image.mode)


def add_noise(ctx: Context) -> None:
    """`noise`: grain of that many levels, the same for the same URL."""
    noise = ctx.options.noise
    if noise is not None:
        seed = noise_seed(ctx.options, ctx.animation_frame)
        ctx.image = add_noise_to(ctx.image, noise.amount, seed)

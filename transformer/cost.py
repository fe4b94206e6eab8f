"""What a transform will cost in memory and time, from the source's header alone.

The web layer admits work against a node-wide memory budget before the pixels are
decoded; this is the estimate it admits by. It also decides from it where the work
runs: the time a transform's longest step takes is how far it could overrun a time
limit checked between steps. The peak of a transform is its decoded
picture and the working copies the steps make of it, the output picture, and the
encoder's own buffers, which for AVIF (YUV planes and libavif's encoder state) and
lossless WebP (its hash chains) are several times the output's pixels. The
constants are per pixel, measured (below).
"""

from __future__ import annotations

from dataclasses import dataclass

from .encode import DEFAULT_ENCODER, EncoderSettings
from .filter_cost import filter_cost
from .formats import Format
from .geometry import upright
from .options import Options
from .overlay_options import Repeat
from .pipeline import ImageLimits, estimate_geometry, open_image
from .steps.load import FAITHFUL_DRAFT_GAP
from .steps.orient import read_orientation

# Bytes per pixel, from peak RSS over RSS before the transform of a 7071x7071 picture
# (`benchmarks/memory_cost.py`): to full-size JPEG 342 MiB (7.2 per pixel), to AVIF
# 1,356 MiB (28.4), to lossless WebP 1,966 MiB (41.2): the decoded picture (RGB is
# kept as RGBX, 4 bytes) and about half a copy more, the output picture, and the
# encoder's buffers. Rounded up.
DECODED_BYTES_PER_PIXEL = 6
OUTPUT_BYTES_PER_PIXEL = 4
# The encoder's own buffers per output pixel: AVIF's YUV planes and libavif's state,
# lossless WebP's hash chains; the others stream.
ENCODER_BYTES_PER_PIXEL = {"avif": 20, "webp-lossless": 32, "webp": 4, "png": 2, "gif": 2}
DEFAULT_ENCODER_BYTES_PER_PIXEL = 1
# And what an encoder holds whatever the size: libaom's state took 8.6 MiB of peak
# for a 64x51 AVIF, 11.7 MiB at 320x256 (peak RSS over RSS before, fresh process).
ENCODER_FIXED_BYTES = {"avif": 8 << 20}
# What overlays add per output pixel: the copies and canvas-sized layers they draw with
# (`python -m benchmarks overlay_cost` on a 4000x3000 JPEG, peak over the estimate without
# them: backdrop=blur 12.6, ninepatch 9.6, wm_repeat=grid 5.3, one wm or pad below 1).
# Rounded up; the largest that applies counts.
BACKDROP_BYTES_PER_PIXEL = 14
NINEPATCH_BYTES_PER_PIXEL = 10
GRID_BYTES_PER_PIXEL = 6
OVERLAY_BYTES_PER_PIXEL = 2
# A JPEG is decoded at a reduced DCT scale (a power of two): at most 2x the output
# each way, at most the whole picture, at least an eighth of each side. `q=auto`'s
# decode is at least 2x the output (`steps.load.FAITHFUL_DRAFT_GAP`), so at most 4x.
JPEG_DRAFT_AREA = 4
FAITHFUL_JPEG_DRAFT_AREA = round((2 * FAITHFUL_DRAFT_GAP) ** 2)
JPEG_SMALLEST_SCALE_AREA = 64

# CPU seconds per megapixel of the steps no check can interrupt, each one C call, on
# the 2-core reference machine (`benchmarks/isolation.py`, a noisy 2000x2000 picture,
# CPU of every thread, two runs, rounded up): decoding (PNG 0.024, JPEG 0.004 per
# decoded megapixel, other sources not measured; resizing 0.011-0.013), and each
# encoder per output megapixel (JPEG 0.016-0.020, PNG 0.16-0.18, WebP 0.089-0.093,
# lossless WebP 0.53-0.64, AVIF at speed 7 0.51-0.58, GIF from a palette 0.013-0.015;
# from RGB Pillow quantises first).
DECODE_SECONDS_PER_MEGAPIXEL = 0.03
ENCODE_SECONDS_PER_MEGAPIXEL = {  # by `name` below, as the encoder's bytes are
    "jpg": 0.02,
    "png": 0.18,
    "webp": 0.1,
    "webp-lossless": 0.65,
    "avif": 0.6,
    "gif": 0.05,
}
# How much longer AVIF's encode takes at each libaom speed the `avif_speed` setting may
# choose than at speed 7, where the rate above was measured (`benchmarks/isolation.py`,
# a 640x640 noisy picture, rounded up): so a slow setting's encodes are isolated by
# the same rule (`pixserve/http/policy.py`), not run in place past the time limit.
AVIF_SPEED_SLOWDOWN = {
    0: 53.0,
    1: 20.0,
    2: 14.0,
    3: 9.0,
    4: 4.0,
    5: 3.1,
    6: 1.0,
    7: 1.0,
    8: 0.7,
    9: 0.2,
}


@dataclass(frozen=True)
class Cost:
    """The estimated peak of one transform, `memory` in bytes; and `step_seconds`, the
    CPU seconds of its longest step (a decode, or an encode: a still's or a whole
    animation's, which is one call), on the reference machine."""

    memory: int
    decoded_pixels: int
    output_pixels: int
    step_seconds: float = 0.0


def estimate_cost(
    source: bytes,
    options: Options,
    output: Format | None,
    limits: ImageLimits | None = None,
    encoder: EncoderSettings = DEFAULT_ENCODER,
) -> Cost:
    """The peak memory of `transform(source, options, output, encoder=encoder)`, from
    the header.

    Raises what opening the header raises (415, 422), as `transform` would.
    """
    image = open_image(source, limits)
    try:
        geometry = estimate_geometry(upright(image.size, read_orientation(image)), options)
        source_pixels = image.width * image.height
        frames = getattr(image, "n_frames", 1) if options.frame is None else 1
        is_jpeg = image.format in ("JPEG", "MPO")
    finally:
        image.close()
    output_pixels = geometry.canvas[0] * geometry.canvas[1]
    output_pixels += _padding_pixels(geometry.canvas, options)
    decoded = source_pixels
    if is_jpeg and options.trim is None:
        area = JPEG_DRAFT_AREA if options.target is None else FAITHFUL_JPEG_DRAFT_AREA
        decoded = min(
            source_pixels, max(output_pixels * area, source_pixels // JPEG_SMALLEST_SCALE_AREA)
        )
    name = output.extension if output is not None else "png"
    if name == "webp" and (options.lossless or options.target is not None):
        # A `q=auto` WebP whose floor its lossy ladder misses is encoded losslessly
        # (`quality.BEYOND_LADDER_QUALITY`): estimated as one.
        name = "webp-lossless"
    encoder_bytes = ENCODER_BYTES_PER_PIXEL.get(name, DEFAULT_ENCODER_BYTES_PER_PIXEL)
    filters = filter_cost(options, output_pixels)
    per_frame = (
        decoded * DECODED_BYTES_PER_PIXEL
        + output_pixels * (OUTPUT_BYTES_PER_PIXEL + encoder_bytes + _overlay_bytes(options))
        + ENCODER_FIXED_BYTES.get(name, 0)
        + filters.memory
    )
    # Animations keep every output frame until the encoder has them all.
    memory = per_frame + (frames - 1) * output_pixels * OUTPUT_BYTES_PER_PIXEL
    encode_rate = ENCODE_SECONDS_PER_MEGAPIXEL[name]
    if name == "avif" and encoder.avif_speed is not None:
        encode_rate *= AVIF_SPEED_SLOWDOWN[encoder.avif_speed]
    step_seconds = (
        max(decoded * DECODE_SECONDS_PER_MEGAPIXEL, frames * output_pixels * encode_rate) / 1e6
    )
    step_seconds = max(step_seconds, filters.step_seconds)
    return Cost(memory, decoded, output_pixels, step_seconds)


def _padding_pixels(canvas: tuple[int, int], options: Options) -> int:
    """The pixels `pad` adds around the canvas."""
    if options.padding is None:
        return 0
    top, right, bottom, left = (round(side * options.dpr) for side in options.padding)
    return (canvas[0] + left + right) * (canvas[1] + top + bottom) - canvas[0] * canvas[1]


def _overlay_bytes(options: Options) -> int:
    """Bytes per output pixel the overlays' drawing adds (the largest that applies)."""
    costs = [0]
    if options.backdrop is not None:
        costs.append(BACKDROP_BYTES_PER_PIXEL)
    if options.ninepatch is not None:
        costs.append(NINEPATCH_BYTES_PER_PIXEL)
    if options.wm_repeat is Repeat.GRID:
        costs.append(GRID_BYTES_PER_PIXEL)
    if options.watermark is not None or options.padding is not None:
        costs.append(OVERLAY_BYTES_PER_PIXEL)
    return max(costs)

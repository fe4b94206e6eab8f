"""The transform: open the source, run the ordered steps, encode.

Adding an operation is one function in `steps/`, one test, one line in `PIPELINE`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError

from .animation import animates, transform_frames
from .colour import ColourSettings
from .context import Context, Step
from .encode import encode, encode_frames
from .errors import ImageTooLarge, InvalidOption, UndecodableImage, UnsupportedImage
from .formats import FORMATS, Format
from .geometry import Geometry, Size, plan
from .options import Options
from .quality import QualityMemory, choose_best, choose_quality, searches
from .sniff import SNIFF_BYTES, sniff_format
from .steps.canvas import fit_canvas
from .steps.colour import to_srgb
from .steps.crop import crop_source
from .steps.effects import blur, gray, sharpen
from .steps.finish import choose_format, flatten, strip_metadata
from .steps.load import DECODE_ERRORS, TRANSPOSING_ORIENTATIONS, check_whole, decode, shrink_on_load
from .steps.mode import normalise_mode
from .steps.orient import auto_orient, read_orientation
from .steps.plan import plan_geometry
from .steps.resize import resize
from .steps.rotate import flip, rotate
from .steps.smartcrop import place_crop
from .steps.trim import trim
from .timings import Timings

DEFAULT_MAX_SOURCE_PIXELS = 50_000_000

PIPELINE: tuple[Step, ...] = (
    shrink_on_load,
    decode,
    auto_orient,
    to_srgb,
    normalise_mode,
    crop_source,
    trim,
    rotate,
    flip,
    plan_geometry,
    resize,
    place_crop,
    fit_canvas,
    blur,
    sharpen,
    gray,
    choose_format,
    flatten,
    strip_metadata,
)
# The steps that turn the source's bytes into upright sRGB pixels: the `decode` phase.
# The rest of `PIPELINE` is the `resize` phase (geometry and every operation).
DECODE_STEPS: frozenset[Step] = frozenset(
    {shrink_on_load, decode, auto_orient, to_srgb, normalise_mode}
)

# Pillow format names of sources, mapped to the output format that is "the same".
SOURCE_OUTPUT_FORMATS: dict[str, Format] = {
    "JPEG": FORMATS["jpeg"],
    "MPO": FORMATS["jpeg"],
    "PNG": FORMATS["png"],
    "GIF": FORMATS["gif"],
    "WEBP": FORMATS["webp"],
    "AVIF": FORMATS["avif"],
}


@dataclass(frozen=True)
class ImageLimits:
    """Bounds on the work one image may cost, checked before any pixel is decoded."""

    max_source_pixels: int = DEFAULT_MAX_SOURCE_PIXELS
    max_output_pixels: int = DEFAULT_MAX_SOURCE_PIXELS
    max_frames: int = 256
    max_animation_pixels: int = 250_000_000  # frames x width x height


@dataclass(frozen=True)
class Result:
    """Encoded bytes and what they are. `passthrough` means the source's own bytes.

    `timings`: seconds spent in each phase (`decode`, `resize`, `encode`, `quality`).
    `quality`: the quality a `q=auto` search chose, after `probes` encodes.
    """

    data: bytes
    format: Format
    size: tuple[int, int]
    passthrough: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    quality: int | None = None
    probes: int = 0


def open_image(source: bytes, limits: ImageLimits | None = None) -> Image.Image:
    """Open the header only, refusing non-images (415) and oversized ones (422)."""
    limits = limits or ImageLimits()
    sniffed = sniff_format(source[:SNIFF_BYTES])
    if sniffed is None:
        raise UnsupportedImage(
            "the file is not an image format pixserve reads "
            "(JPEG, PNG, GIF, WebP, AVIF, TIFF, BMP, JPEG 2000)"
        )
    formats = ["JPEG", "MPO"] if sniffed == "JPEG" else [sniffed]
    try:
        image = Image.open(io.BytesIO(source), formats=formats)
        frames = getattr(image, "n_frames", 1)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own guard, before ours; its message gives the size in pixels.
        raise ImageTooLarge(f"the image is too large to decode: {error}") from error
    except UnidentifiedImageError as error:
        raise UndecodableImage(f"the {sniffed} header cannot be read") from error
    except DECODE_ERRORS as error:
        raise UndecodableImage(f"the {sniffed} header cannot be read: {error}") from error
    width, height = image.size
    if width * height > limits.max_source_pixels:
        raise ImageTooLarge(
            f"the image is {width}x{height} ({width * height} pixels); "
            f"the limit is {limits.max_source_pixels} pixels"
        )
    if frames > limits.max_frames:
        raise ImageTooLarge(
            f"the image has {frames} frames; the limit is {limits.max_frames} frames"
        )
    if frames > 1 and frames * width * height > limits.max_animation_pixels:
        raise ImageTooLarge(
            f"the animation has {frames} frames of {width}x{height}, "
            f"{frames * width * height} pixels in all; the limit is "
            f"{limits.max_animation_pixels} pixels"
        )
    return image


def _check_output_size(geometry: Geometry, options: Options, limits: ImageLimits) -> None:
    width, height = geometry.canvas
    if width * height > limits.max_output_pixels:
        raise InvalidOption(
            f"the result would be {width}x{height} ({width * height} pixels); the limit is "
            f"{limits.max_output_pixels} pixels: ask for a smaller w or h",
            param="w" if options.width is not None or options.height is None else "h",
        )


def estimate_geometry(upright: Size, options: Options) -> Geometry:
    """The plan from the header alone: exact unless `trim` later cuts the picture.

    Also where an explicit crop is checked against the picture's bounds (400).
    """
    working = upright
    if options.crop is not None:
        x, y, width, height = options.crop
        if x + width > upright[0] or y + height > upright[1]:
            raise InvalidOption(
                f"crop {x},{y},{width},{height} reaches outside the {upright[0]}x{upright[1]} "
                "picture (x + w and y + h must not exceed its width and height)",
                param="crop",
            )
        working = (width, height)
    if options.rotate in (90, 270):
        working = (working[1], working[0])
    return plan(working, options.box, options.fit, options.enlarge)


def _select_frame(image: Image.Image, frame: int | None) -> None:
    if frame is None:
        return
    frames = getattr(image, "n_frames", 1)
    if frame >= frames:
        raise InvalidOption(
            f"frame must be below {frames} for this image (frames count from 0)", param="frame"
        )
    try:
        image.seek(frame)
    except DECODE_ERRORS as error:
        raise UndecodableImage(f"frame {frame} cannot be decoded: {error}") from error


def upright_size(source: bytes, limits: ImageLimits | None = None) -> tuple[int, int]:
    """The displayed (EXIF-oriented) size, read from the header without decoding."""
    image = open_image(source, limits)
    width, height = image.size
    return (
        (height, width) if read_orientation(image) in TRANSPOSING_ORIENTATIONS else (width, height)
    )


def transform(
    source: bytes,
    options: Options,
    output: Format | None,
    limits: ImageLimits | None = None,
    colour: ColourSettings | None = None,
    memory: QualityMemory | None = None,
    candidates: tuple[Format, ...] = (),
) -> Result:
    """Run the pipeline. `output` None means: PNG if the result has alpha, else JPEG.

    `memory` remembers what `q=auto` chose for this source, to start the next search
    (for another width) next to the answer. `candidates` (`fmt=best`): the formats the
    client accepts, the first of them also `output`; the smallest meeting the target
    is kept (animations are `output`).
    """
    limits = limits or ImageLimits()
    timings = Timings()
    with timings.phase("decode"):
        image = open_image(source, limits)
    orientation = read_orientation(image)
    upright = image.size[::-1] if orientation in TRANSPOSING_ORIENTATIONS else image.size
    _select_frame(image, options.frame)
    ctx = Context(
        image=image,
        options=options,
        output=output,
        geometry=estimate_geometry(upright, options),
        orientation=orientation,
        source_size=image.size,
        colour=colour or ColourSettings(),
    )
    same_format = output is not None and SOURCE_OUTPUT_FORMATS.get(image.format or "") is output
    if same_format and not options.reencodes:
        with timings.phase("decode"):
            check_whole(ctx)
        assert output is not None
        return Result(source, output, upright, passthrough=True, timings=timings.seconds)
    _check_output_size(ctx.geometry, options, limits)
    if animates(image, output, options.frame):
        assert output is not None
        with timings.phase("resize"):  # each frame is decoded and transformed in turn
            frames, durations = transform_frames(ctx)
        loop = image.info.get("loop")
        with timings.phase("encode"):
            data = encode_frames(frames, durations, loop, output, options)
        return Result(data, output, frames[0].size, timings=timings.seconds)
    for step in PIPELINE:
        with timings.phase("decode" if step in DECODE_STEPS else "resize"):
            step(ctx)
    assert ctx.output is not None
    try:
        if candidates:
            best = choose_best(ctx.image, candidates, options, ctx.icc_profile, memory, timings)
            return Result(
                best.chosen.data,
                best.format,
                ctx.image.size,
                timings=timings.seconds,
                quality=best.chosen.quality,
                probes=best.probes,
            )
        if searches(ctx.output, options):
            chosen = choose_quality(
                ctx.image, ctx.output, options, ctx.icc_profile, memory, timings
            )
            return Result(
                chosen.data,
                ctx.output,
                ctx.image.size,
                timings=timings.seconds,
                quality=chosen.quality,
                probes=chosen.probes,
            )
        with timings.phase("encode"):
            data = encode(ctx.image, ctx.output, options, ctx.icc_profile)
    except DECODE_ERRORS as error:  # lazily decoded frames can still fail here
        raise UndecodableImage(f"the image cannot be converted: {error}") from error
    return Result(data, ctx.output, ctx.image.size, timings=timings.seconds)

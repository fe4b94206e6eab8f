"""The transform: open the source, run the ordered steps, encode.

Adding an operation is one function in `steps/`, one test, one line in `PIPELINE`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from .context import Context, Step
from .encode import encode
from .errors import ImageTooLarge, InvalidOption, UndecodableImage, UnsupportedImage
from .formats import FORMATS, Format
from .geometry import Geometry, plan
from .options import Options
from .sniff import SNIFF_BYTES, sniff_format
from .steps.canvas import fit_canvas
from .steps.colour import to_srgb
from .steps.finish import choose_format, flatten, strip_metadata
from .steps.load import DECODE_ERRORS, check_whole, decode, shrink_on_load
from .steps.mode import normalise_mode
from .steps.orient import auto_orient, read_orientation
from .steps.resize import resize

DEFAULT_MAX_SOURCE_PIXELS = 50_000_000
_TRANSPOSING = {5, 6, 7, 8}  # EXIF orientations that swap width and height

PIPELINE: tuple[Step, ...] = (
    shrink_on_load,
    decode,
    auto_orient,
    to_srgb,
    normalise_mode,
    resize,
    fit_canvas,
    choose_format,
    flatten,
    strip_metadata,
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


@dataclass(frozen=True)
class Result:
    """Encoded bytes and what they are. `passthrough` means the source's own bytes."""

    data: bytes
    format: Format
    size: tuple[int, int]
    passthrough: bool = False


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
    return image


def _check_output_size(geometry: Geometry, options: Options, limits: ImageLimits) -> None:
    width, height = geometry.canvas
    if width * height > limits.max_output_pixels:
        raise InvalidOption(
            f"the result would be {width}x{height} ({width * height} pixels); the limit is "
            f"{limits.max_output_pixels} pixels: ask for a smaller w or h",
            param="w" if options.width is not None or options.height is None else "h",
        )


def upright_size(source: bytes, limits: ImageLimits | None = None) -> tuple[int, int]:
    """The displayed (EXIF-oriented) size, read from the header without decoding."""
    image = open_image(source, limits)
    width, height = image.size
    return (height, width) if read_orientation(image) in _TRANSPOSING else (width, height)


def transform(
    source: bytes,
    options: Options,
    output: Format | None,
    limits: ImageLimits | None = None,
) -> Result:
    """Run the pipeline. `output` None means: PNG if the result has alpha, else JPEG."""
    limits = limits or ImageLimits()
    image = open_image(source, limits)
    orientation = read_orientation(image)
    upright = image.size[::-1] if orientation in _TRANSPOSING else image.size
    ctx = Context(
        image=image,
        options=options,
        output=output,
        geometry=plan(upright, options.box, options.fit),
        orientation=orientation,
    )
    same_format = output is not None and SOURCE_OUTPUT_FORMATS.get(image.format or "") is output
    if same_format and not options.reencodes:
        check_whole(ctx)
        assert output is not None
        return Result(source, output, upright, passthrough=True)
    _check_output_size(ctx.geometry, options, limits)
    for step in PIPELINE:
        step(ctx)
    assert ctx.output is not None
    try:
        data = encode(ctx.image, ctx.output, options.quality)
    except DECODE_ERRORS as error:  # lazily decoded frames can still fail here
        raise UndecodableImage(f"the image cannot be converted: {error}") from error
    return Result(data, ctx.output, ctx.image.size)

"""The transform: open the source, run the ordered steps, encode.

Adding an operation is one function in `steps/`, one test, one line in `PIPELINE`.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

import pillow_heif
from PIL import Image, UnidentifiedImageError

from .animation import animates, transform_frames
from .budget import budgeted, fit_bytes, fit_still, start_quality
from .colour import ColourSettings
from .context import Check, Context, Step, unchecked
from .decoded import Decoded, DecodedSources
from .encode import DEFAULT_ENCODER, EncoderSettings, encode, encode_frames
from .errors import ImageTooLarge, InvalidOption, UndecodableImage, UnsupportedImage
from .faces import Face
from .formats import FORMATS, Format
from .geometry import Geometry, Size, plan, upright
from .options import Options
from .quality import QualityMemory, choose_best, choose_quality, searches
from .sniff import SNIFF_BYTES, sniff_format
from .steps.adjust import adjust_colours
from .steps.canvas import fit_canvas
from .steps.colour import to_srgb
from .steps.corners import round_corners
from .steps.crop import crop_source
from .steps.effects import blur, gray, sharpen
from .steps.finish import choose_format, flatten, strip_metadata
from .steps.load import HEADER_ERRORS, check_whole, decode, shrink_on_load
from .steps.mode import normalise_mode
from .steps.orient import auto_orient, read_orientation
from .steps.overlays import draw_nine_patch, draw_watermark, fill_backdrop, pad_canvas, padded_size
from .steps.pixels import add_noise, check_filter_work, convolve, pixelate
from .steps.plan import plan_geometry
from .steps.resize import resize
from .steps.rotate import flip, rotate
from .steps.smartcrop import aim_at_faces, place_crop
from .steps.trim import trim
from .steps.wavelet import wavelet_sharpen
from .timings import Timings

DEFAULT_MAX_SOURCE_PIXELS = 50_000_000

# HEIC/HEIF (iPhone photos) is read by pillow-heif, libheif's maintained Pillow plugin.
# A transform needs only the primary picture: not its thumbnails, depth or auxiliary
# images. libheif applies the orientation itself, and pillow-heif then reports it as 1.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

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
    aim_at_faces,
    resize,
    place_crop,
    fit_canvas,
    pad_canvas,
    fill_backdrop,
    adjust_colours,
    convolve,
    blur,
    sharpen,
    wavelet_sharpen,
    gray,
    pixelate,
    add_noise,
    draw_nine_patch,
    draw_watermark,
    choose_format,
    round_corners,
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
    # A smart crop's faces, and the part of the (cropped) picture a `cover` shows, as
    # fractions of it: what thumbor's `meta/` reports of a still.
    faces: tuple[Face, ...] = ()
    window: tuple[float, float, float, float] | None = None


def open_image(source: bytes, limits: ImageLimits | None = None) -> Image.Image:
    """Open the header only, refusing non-images (415) and oversized ones (422)."""
    limits = limits or ImageLimits()
    sniffed = sniff_format(source[:SNIFF_BYTES])
    if sniffed is None:
        raise UnsupportedImage(
            "the file is not an image format pixserve reads "
            "(JPEG, PNG, GIF, WebP, AVIF, HEIC/HEIF, TIFF, BMP, ICO, JPEG 2000)"
        )
    if sniffed == "ICO":
        _check_icon(source, limits)
    try:  # Pillow's JPEG opener gives an MPO image itself when the file is one
        image = Image.open(io.BytesIO(source), formats=[sniffed])
        frames = getattr(image, "n_frames", 1)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own guard fires inside `Image.open`, before ours: answer in our words.
        raise _too_large(_header_size(source, sniffed, error), limits) from error
    except UnidentifiedImageError as error:
        raise UndecodableImage(f"the {sniffed} header cannot be read") from error
    except HEADER_ERRORS as error:
        raise UndecodableImage(f"the {sniffed} header cannot be read: {error}") from error
    width, height = image.size
    if width * height > limits.max_source_pixels:
        raise _too_large(image.size, limits)
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


def _too_large(size: Size | int, limits: ImageLimits) -> ImageTooLarge:
    """In pixserve's words; `size` is the stated size, or only its pixel count."""
    if isinstance(size, int):
        stated = f"{size} pixels"
    else:
        stated = f"{size[0]}x{size[1]} ({size[0] * size[1]} pixels)"
    return ImageTooLarge(f"the image is {stated}; the limit is {limits.max_source_pixels} pixels")


def _header_size(source: bytes, sniffed: str, refusal: Exception) -> Size | int:
    """The size a header states, read by the format's own opener: unlike `Image.open`,
    most openers do not apply Pillow's decompression-bomb check, and none decodes.
    WebP's does, on its own; then the pixel count from Pillow's refusal is all there is."""
    factory, _ = Image.OPEN[sniffed]
    try:
        size: Size = factory(io.BytesIO(source), "").size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        found = re.search(r"\((\d+) pixels\)", str(refusal))
        return int(found[1]) if found else 0
    return size


def _check_icon(source: bytes, limits: ImageLimits) -> None:
    """Pillow decodes an icon's largest picture while opening it, and a picture stored
    as a PNG is decoded at the PNG's own size, whatever the icon's directory says. So
    each PNG's header is checked against the pixel limit before Pillow sees the file."""
    count = struct.unpack_from("<H", source, 4)[0]
    for entry in range(6, min(6 + 16 * count, len(source) - 15), 16):
        offset = struct.unpack_from("<I", source, entry + 12)[0]
        head = source[offset : offset + 24]
        if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) == 24:
            width, height = struct.unpack(">II", head[16:24])
            if width * height > limits.max_source_pixels:
                raise ImageTooLarge(
                    f"the icon holds a {width}x{height} PNG ({width * height} pixels); "
                    f"the limit is {limits.max_source_pixels} pixels"
                )


def _check_output_size(geometry: Geometry, options: Options, limits: ImageLimits) -> None:
    width, height = padded_size(geometry.canvas, options.padding, options.dpr)
    if width * height > limits.max_output_pixels:
        raise InvalidOption(
            f"the result would be {width}x{height} ({width * height} pixels); the limit is "
            f"{limits.max_output_pixels} pixels: ask for a smaller w or h",
            param="w" if options.width is not None or options.height is None else "h",
        )


def estimate_geometry(shown: Size, options: Options) -> Geometry:
    """The plan from the header alone: exact unless `trim` later cuts the picture.

    Also where an explicit crop is checked against the picture's bounds (400).
    """
    working = shown
    if options.crop is not None:
        x, y, width, height = options.crop
        if x + width > shown[0] or y + height > shown[1]:
            raise InvalidOption(
                f"crop {x},{y},{width},{height} reaches outside the {shown[0]}x{shown[1]} "
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
    except HEADER_ERRORS as error:
        raise UndecodableImage(f"frame {frame} cannot be decoded: {error}") from error


def upright_size(source: bytes, limits: ImageLimits | None = None) -> tuple[int, int]:
    """The displayed (EXIF-oriented) size, read from the header without decoding.

    For callers holding only the file's bytes (the web helpers); inside the pipeline
    the same answer is `geometry.upright(stored size, orientation)`.
    """
    image = open_image(source, limits)
    return upright(image.size, read_orientation(image))


def _run_pipeline(ctx: Context, timings: Timings, check: Check) -> None:
    """Every step of `PIPELINE` in order, each timed in its phase, `check` before each."""
    for step in PIPELINE:
        check()
        with timings.phase("decode" if step in DECODE_STEPS else "resize"):
            step(ctx)


def _run_still(
    ctx: Context,
    timings: Timings,
    source: bytes,
    decoded: DecodedSources | None,
    check: Check,
) -> None:
    """`PIPELINE` for a still picture, its decode taken from `decoded` when kept there:
    after `shrink_on_load` has chosen the decoded size, the other decode steps give the
    picture `decoded` keeps, and the rest of the steps work on it."""
    first = len(DECODE_STEPS)
    if (
        decoded is None
        or PIPELINE[0] is not shrink_on_load
        or frozenset(PIPELINE[:first]) != DECODE_STEPS
    ):
        _run_pipeline(ctx, timings, check)
        return
    check()
    with timings.phase("decode"):
        shrink_on_load(ctx)
    key = decoded.key(source, ctx) if decoded.wants(ctx) else None
    kept = decoded.take(key) if key is not None else None
    if kept is not None:
        kept.into(ctx)
    else:
        for step in PIPELINE[1:first]:
            check()
            with timings.phase("decode"):
                step(ctx)
        if key is not None:
            decoded.keep(key, Decoded.of(ctx))
    for step in PIPELINE[first:]:
        check()
        with timings.phase("resize"):
            step(ctx)


def transform(
    source: bytes,
    options: Options,
    output: Format | None,
    limits: ImageLimits | None = None,
    colour: ColourSettings | None = None,
    memory: QualityMemory | None = None,
    candidates: tuple[Format, ...] = (),
    decoded: DecodedSources | None = None,
    check: Check = unchecked,
    overlays: Mapping[str, Image.Image] | None = None,
    encoder: EncoderSettings = DEFAULT_ENCODER,
) -> Result:
    """Run the pipeline. `output` None means: PNG if the result has alpha, else JPEG.

    `memory` remembers what `q=auto` chose for this source, to start the next search
    (for another width) next to the answer. `candidates` (`fmt=best`): the formats the
    client accepts, the first of them also `output`; the smallest meeting the target
    is kept (animations are `output`). `decoded`: decoded sources kept for other
    transforms of the same source (a page's ladder); the output is the same either way.
    `check` is called between steps, frames, encodes and probes: the caller's way to
    stop the work (it raises), so an overrun is at most one step's C call.
    `overlays`: the decoded pictures `wm` and `ninepatch` name, by name (the caller
    finds and decodes them: `overlay_source.decode_overlay`). `encoder`: the server's
    encoder settings (`avif_speed`).
    """
    limits = limits or ImageLimits()
    timings = Timings()
    with timings.phase("decode"):
        image = open_image(source, limits)
    orientation = read_orientation(image)
    shown = upright(image.size, orientation)
    _select_frame(image, options.frame)
    ctx = Context(
        image=image,
        options=options,
        output=output,
        geometry=estimate_geometry(shown, options),
        orientation=orientation,
        source_size=image.size,
        colour=colour or ColourSettings(),
        encoder=encoder,
        overlays=overlays or {},
    )
    same_format = output is not None and SOURCE_OUTPUT_FORMATS.get(image.format or "") is output
    fits = options.max_bytes is None or len(source) <= options.max_bytes
    if same_format and not options.reencodes and fits:
        check()
        with timings.phase("decode"):
            check_whole(ctx)
        assert output is not None
        return Result(source, output, shown, passthrough=True, timings=timings.seconds)
    _check_output_size(ctx.geometry, options, limits)
    check_filter_work(ctx.geometry, options)
    if animates(image, output, options.frame):
        assert output is not None
        frames, durations = transform_frames(
            ctx, lambda frame: _run_pipeline(frame, timings, check)
        )
        loop = image.info.get("loop")
        check()
        with timings.phase("encode"):
            data = encode_frames(frames, durations, loop, output, options)
            if budgeted(output, options) and options.max_bytes is not None:
                data = fit_bytes(
                    lambda quality: encode_frames(
                        frames, durations, loop, output, options, quality=quality
                    ),
                    data,
                    start_quality(output, options),
                    options.max_bytes,
                    check,
                ).data
        return Result(data, output, frames[0].size, timings=timings.seconds)
    _run_still(ctx, timings, source, decoded, check)
    assert ctx.output is not None
    if candidates:
        best = choose_best(
            ctx.image, candidates, options, ctx.icc_profile, memory, timings, check, ctx.encoder
        )
        with timings.phase("encode"):
            fitted = fit_still(
                ctx.image,
                best.format,
                options,
                ctx.icc_profile,
                best.chosen.data,
                best.chosen.quality,
                check,
                ctx.encoder,
            )
        return Result(
            fitted.data,
            best.format,
            ctx.image.size,
            timings=timings.seconds,
            quality=fitted.quality,
            probes=best.probes + fitted.encodes - 1,
            faces=ctx.faces,
            window=ctx.window,
        )
    if searches(ctx.output, options):
        chosen = choose_quality(
            ctx.image,
            ctx.output,
            options,
            ctx.icc_profile,
            memory,
            timings,
            check,
            encoder=ctx.encoder,
        )
        with timings.phase("encode"):
            fitted = fit_still(
                ctx.image,
                ctx.output,
                options,
                ctx.icc_profile,
                chosen.data,
                chosen.quality,
                check,
                ctx.encoder,
            )
        return Result(
            fitted.data,
            ctx.output,
            ctx.image.size,
            timings=timings.seconds,
            quality=fitted.quality,
            probes=chosen.probes + fitted.encodes - 1,
            faces=ctx.faces,
            window=ctx.window,
        )
    check()
    with timings.phase("encode"):  # pixels are all decoded by now: errors here are ours
        data = encode(ctx.image, ctx.output, options, ctx.icc_profile, encoder=ctx.encoder)
        fitted = fit_still(
            ctx.image, ctx.output, options, ctx.icc_profile, data, check=check, encoder=ctx.encoder
        )
    return Result(
        fitted.data,
        ctx.output,
        ctx.image.size,
        timings=timings.seconds,
        quality=fitted.quality if fitted.encodes > 1 else None,
        faces=ctx.faces,
        window=ctx.window,
    )

"""imgproxy's size, format and budget options: `zoom`, `min-width`, `min-height`,
`extend_aspect_ratio`, `format_quality` and `max_bytes`, in pixserve's terms.

The size options follow imgproxy's `processing/prepare.go` (`calcScale`: zoom divides
the shrink, then the minimums raise the scale, enlarging if need be) and its result
crop and aspect-ratio extension; they are applied to the pairs `imgproxy.py` has made
for the other options, with the size pixserve plans for them, so what pixserve's
`w`, `h`, `fit` and `crop` already express is not done twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from pixserve.transformer import InvalidOption, Options, parse_options
from pixserve.transformer.geometry import GRAVITY_ANCHORS, Geometry
from pixserve.transformer.options import LOSSY_FORMATS, MAX_BYTES_LIMIT, Gravity
from pixserve.transformer.pipeline import estimate_geometry

from .common import PairBuilder, Size, integer, number, refuse

# What each becomes (docs/dialects.md's table).
OPTION_MAPPING = {
    "zoom": "w, h times the factors (the source's size when neither is given); two: stretched",
    "min-width": "raises the scale until the result is that wide (enlarging), then crops to w, h",
    "min-height": "raises the scale until the result is that high (enlarging), then crops to w, h",
    "extend_aspect_ratio": "fit=contain on the box of w:h's shape around the picture, centred",
    "format_quality": "fq (jpg, webp, avif; png and gif take no quality)",
    "max_bytes": "max_bytes (0: none; quality lowered until the bytes fit: JPEG, WebP, AVIF)",
}
MAX_ZOOM = 100.0
# Formats imgproxy's `format_quality` may name whose output has no quality here.
_NO_QUALITY = ("png", "gif", "bmp", "ico", "svg", "tiff", "heic", "jxl")
_ALIASES = {"jpg": "jpeg"}
# pixserve's `max_bytes` starts here; a smaller budget gets the same (smallest) answer.
MIN_BYTES = 100


@dataclass
class Sizing:
    """The options of this module as the URL set them (later ones win)."""

    zoom: tuple[float, float] = (1.0, 1.0)
    zoom_shown: str = ""
    min_width: int = 0
    min_height: int = 0
    minimum_shown: str = ""
    extend_aspect_ratio: bool = False
    aspect_shown: str = ""


def zoom(sizing: Sizing, args: tuple[str, ...], shown: str) -> None:
    """`zoom:%x_y` or `zoom:%x:%y`."""
    if not args or len(args) > 2:
        raise refuse(shown, "expected zoom:FACTOR or zoom:X:Y")
    factors = [number(shown, arg, low=0, high=MAX_ZOOM) for arg in args]
    if any(factor <= 0 for factor in factors):
        raise refuse(shown, "a zoom factor must be above 0")
    sizing.zoom, sizing.zoom_shown = (factors[0], factors[-1]), shown


def minimum(sizing: Sizing, args: tuple[str, ...], shown: str, side: str) -> None:
    """`min-width:%w` / `min-height:%h` (0: none)."""
    if len(args) != 1:
        raise refuse(shown, f"expected {side}:PIXELS")
    value = integer(shown, args[0], low=0, high=1_000_000)
    if side == "min-width":
        sizing.min_width = value
    else:
        sizing.min_height = value
    sizing.minimum_shown = shown


def extend_aspect_ratio(sizing: Sizing, args: tuple[str, ...], shown: str) -> None:
    """`extend_aspect_ratio:%extend:%gravity`: centred only, as pixserve's `extend`."""
    if not args or len(args) > 4:
        raise refuse(shown, "expected extend_aspect_ratio:BOOL[:GRAVITY]")
    enabled = args[0] in ("1", "t", "true", "True", "TRUE")
    if not enabled and args[0] not in ("0", "f", "false", "False", "FALSE"):
        raise refuse(shown, f"expected a boolean (1, 0, true, false), got {args[0][:40]!r}")
    if enabled and len(args) > 1 and args[1] not in ("", "ce"):
        raise refuse(shown, "pixserve centres the picture when it extends the canvas")
    if enabled and any(arg not in ("", "0") for arg in args[2:]):
        raise refuse(shown, "pixserve takes no extend offsets")
    sizing.extend_aspect_ratio, sizing.aspect_shown = enabled, shown


def format_quality(out: PairBuilder, args: tuple[str, ...], shown: str) -> None:
    """`format_quality:%f1:%q1:%f2:%q2...` as `fq`; a 0 quality is the default."""
    if not args or len(args) % 2:
        raise refuse(shown, "expected format_quality:FORMAT:QUALITY[:FORMAT:QUALITY...]")
    entries: dict[str, int] = {}
    for fmt, raw in zip(args[::2], args[1::2], strict=True):
        quality = integer(shown, raw, low=0, high=100)
        name = _ALIASES.get(fmt.lower(), fmt.lower())
        if name in LOSSY_FORMATS:
            if quality:
                entries[name] = quality
            else:
                entries.pop(name, None)
        elif name not in _NO_QUALITY:
            raise refuse(shown, f"no format {fmt[:40]!r}")
    if entries:
        out.set("fq", ",".join(f"{f}:{q}" for f, q in sorted(entries.items())), shown)
    else:
        out.drop("fq")


def max_bytes(out: PairBuilder, args: tuple[str, ...], shown: str) -> None:
    """`max_bytes:%bytes` (0: no budget)."""
    if len(args) != 1:
        raise refuse(shown, "expected max_bytes:BYTES")
    budget = integer(shown, args[0], low=0, high=MAX_BYTES_LIMIT)
    if budget:
        out.set("max_bytes", str(max(MIN_BYTES, budget)), shown)
    else:
        out.drop("max_bytes")


def emit_sizing(out: PairBuilder, sizing: Sizing, source: Size) -> None:
    """Apply zoom, then the minimums, then the aspect-ratio extension to the pairs."""
    if sizing.zoom != (1.0, 1.0):
        _zoomed(out, sizing, source)
    if sizing.min_width or sizing.min_height:
        _at_least(out, sizing, source)
    if sizing.extend_aspect_ratio:
        _extended(out, sizing, source)


def _planned(out: PairBuilder, source: Size) -> tuple[Options, Geometry] | None:
    """pixserve's plan for the pairs so far; None when they are refused (they are
    refused again, with their own message, when the translation is checked)."""
    try:
        options = parse_options(tuple(out.pairs.items()))
    except InvalidOption:
        return None
    return options, estimate_geometry(source, options)


def _zoomed(out: PairBuilder, sizing: Sizing, source: Size) -> None:
    """imgproxy divides the shrink and multiplies the result size by the factors: the
    box times them, or, with no box, the picture's own size. Two different factors
    stretch the picture imgproxy would make otherwise: that window, resized exactly."""
    (factor_x, factor_y), shown = sizing.zoom, sizing.zoom_shown
    if factor_x == factor_y and ("w" in out.pairs or "h" in out.pairs):
        for param in ("w", "h"):
            if param in out.pairs:
                out.set(param, str(max(1, round(int(out.pairs[param]) * factor_x))), shown)
        return
    planned = _planned(out, source)
    if planned is None:
        return
    options, geometry = planned
    width, height = geometry.canvas
    if factor_x == factor_y:
        out.set("w", str(max(1, round(width * factor_x))), shown)
        return
    if options.fit.value == "contain":
        raise refuse(shown, "pixserve zooms an extended picture by one factor only")
    if geometry.resize != geometry.canvas:  # a cover window: cut it first
        _window(out, options, geometry.resize, geometry.canvas, source, shown)
    out.drop("dpr")  # the sizes below are in device pixels
    out.set("w", str(max(1, round(width * factor_x))), shown)
    out.set("h", str(max(1, round(height * factor_y))), shown)
    out.set("fit", "fill", shown)  # unless enlarge, shrunk to show no side past 1:1


def _at_least(out: PairBuilder, sizing: Sizing, source: Size) -> None:
    """imgproxy raises the scale (past the source's size if need be) until the
    resized picture is `min-width` wide and `min-height` high (each times `dpr`), then
    cuts it to the box (`w`, `h`) where it overflows."""
    planned = _planned(out, source)
    if planned is None:
        return
    options, geometry = planned
    resize_w, resize_h = geometry.resize
    dpr, shown = options.dpr, sizing.minimum_shown
    factor = max(
        sizing.min_width * dpr / resize_w if sizing.min_width else 0.0,
        sizing.min_height * dpr / resize_h if sizing.min_height else 0.0,
    )
    if factor <= 1:
        return
    grown = (max(1, round(resize_w * factor)), max(1, round(resize_h * factor)))
    box_w, box_h = options.box
    canvas = (min(grown[0], box_w or grown[0]), min(grown[1], box_h or grown[1]))
    out.drop("dpr")  # the sizes below are in device pixels
    out.set("w", str(canvas[0]), shown)
    out.set("h", str(canvas[1]), shown)
    out.set("enlarge", "1", shown)
    if canvas == grown:
        out.set("fit", "fill", shown)  # the whole picture, at exactly that size
    elif canvas[0] == grown[0] or canvas[1] == grown[1]:
        out.set("fit", "cover", shown)  # cut on one side: cover's window and gravity
    else:  # cut on both sides: the window, in source pixels, then resized exactly
        _window(out, options, grown, canvas, source, shown)


def _window(
    out: PairBuilder, options: Options, grown: Size, canvas: Size, source: Size, shown: str
) -> None:
    """Cut the part of the (manually cropped) source that `canvas` shows of the
    picture enlarged to `grown`, placed by the gravity or focal point, and resize it
    to exactly `canvas`."""
    left, top, base_w, base_h = options.crop or (0, 0, *source)
    if options.rotate in (90, 270):
        raise refuse(shown, "pixserve cannot cut a turned picture enlarged to a minimum size")
    scale = grown[0] / base_w
    window = (min(base_w, round(canvas[0] / scale)), min(base_h, round(canvas[1] / scale)))
    gravity = out.pairs.get("gravity", "center")
    if "fx" in out.pairs or "fy" in out.pairs:
        centre = (float(out.pairs.get("fx", 0.5)), float(out.pairs.get("fy", 0.5)))
        x = min(max(round(centre[0] * base_w - window[0] / 2), 0), base_w - window[0])
        y = min(max(round(centre[1] * base_h - window[1] / 2), 0), base_h - window[1])
    elif Gravity(gravity) in GRAVITY_ANCHORS:
        anchor_x, anchor_y = GRAVITY_ANCHORS[Gravity(gravity)]
        x, y = int((base_w - window[0]) * anchor_x), int((base_h - window[1]) * anchor_y)
    else:
        raise refuse(shown, f"pixserve cannot cut by {gravity} a picture enlarged to a minimum")
    out.drop("gravity", "fx", "fy")
    out.set("crop", f"{left + x},{top + y},{window[0]},{window[1]}", shown)
    out.set("fit", "fill", shown)


def _extended(out: PairBuilder, sizing: Sizing, source: Size) -> None:
    """imgproxy pads the picture to the box's aspect ratio (never to a larger box): a
    `fit` result smaller than the box gets the smallest canvas of the box's shape
    around it. `fill`/`cover` results have that shape already; `extend` pads further."""
    planned = _planned(out, source)
    if planned is None:
        return
    options, geometry = planned
    box_w, box_h = options.box
    if box_w is None or box_h is None or options.fit.value != "inside":
        return
    width, height = geometry.resize
    if box_h / height > box_w / width:
        canvas = (width, max(height, round(width * box_h / box_w)))
    else:
        canvas = (max(width, round(height * box_w / box_h)), height)
    shown = sizing.aspect_shown
    out.drop("dpr")
    out.set("w", str(canvas[0]), shown)
    out.set("h", str(canvas[1]), shown)
    out.set("fit", "contain", shown)

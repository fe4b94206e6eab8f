"""thumbor's colour and pixel filters and imgproxy's adjustment options, in pixserve's
terms (`brightness`, `contrast`, `saturation`, `rgb`, `equalize`, `noise`, `colorize`,
`convolution`, `curve`, `radius`/`corner`, `pixelate`).

Each translation takes the arguments as the URL wrote them and gives pixserve query
pairs, a value None meaning "drop the parameter" (imgproxy's later option resets an
earlier one); pixserve's own parser then checks every value, and a refusal names the
dialect's filter as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .common import integer, number, refuse, text_number

Pairs = list[tuple[str, str | None]]
Translate = Callable[[str, str], Pairs]
_TRUE = ("true", "True", "1")
_BOOLEAN = (*_TRUE, "false", "False", "0")
_MATRIX = re.compile(r"-?\d+(?:\.\d*)?(?:;-?\d+(?:\.\d*)?)*")
_CURVE = re.compile(r"\[((?:\(\d+,\d+\),?)*)\]")
_POINT = re.compile(r"\((\d+),(\d+)\)")
_HEX = re.compile(r"[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class ThumborFilter:
    """What a filter becomes (for docs/dialects.md) and how."""

    becomes: str
    translate: Translate


def _arguments(args: str, shown: str, low: int, high: int) -> list[str]:
    parts = [part.strip() for part in args.split(",")] if args.strip() else []
    if not low <= len(parts) <= high:
        count = str(low) if low == high else f"{low} to {high}"
        raise refuse(shown, f"expected {count} arguments, got {len(parts)}")
    return parts


# thumbor's filters (thumbor/filters/*.py and the C in thumbor/ext/filters/).


def _brightness(args: str, shown: str) -> Pairs:
    # Beyond +-100 every level is already pushed past 0 or 255: the same picture.
    (value,) = _arguments(args, shown, 1, 1)
    percent = max(-100, min(100, integer(shown, value, low=-100_000, high=100_000)))
    return [("brightness", str(percent))]


def _contrast(args: str, shown: str) -> Pairs:
    (value,) = _arguments(args, shown, 1, 1)
    percent = integer(shown, value, low=-100, high=100)
    factor = (percent + 100) ** 2 // 100  # thumbor's C: an integer percentage
    return [("contrast", text_number(factor / 100))]


def _saturation(args: str, shown: str) -> Pairs:
    # thumbor's code multiplies by the value (its docs call it a percentage).
    (value,) = _arguments(args, shown, 1, 1)
    return [("saturation", text_number(number(shown, value, low=-100, high=100)))]


def _rgb(args: str, shown: str) -> Pairs:
    values = _arguments(args, shown, 3, 3)
    shifts = [max(-100, min(100, integer(shown, v, low=-100_000, high=100_000))) for v in values]
    return [("rgb", ",".join(str(shift) for shift in shifts))]


def _equalize(args: str, shown: str) -> Pairs:
    _arguments(args, shown, 0, 0)
    return [("equalize", "1")]


def _noise(args: str, shown: str) -> Pairs:
    values = _arguments(args, shown, 1, 2)
    amount = integer(shown, values[0], low=0, high=255)
    seed = integer(shown, values[1], low=0, high=2**31 - 1) if len(values) == 2 else 0
    # seed 0 leaves thumbor's C random generator unseeded: pixserve seeds from the URL
    return [("noise", f"{amount},{seed}" if seed else str(amount))]


def _colorize(args: str, shown: str) -> Pairs:
    values = _arguments(args, shown, 4, 4)
    percents = [str(integer(shown, value, low=0, high=100)) for value in values[:3]]
    colour = values[3].strip("'")
    if not _HEX.fullmatch(colour):
        raise refuse(shown, "expected colorize(red%,green%,blue%,RRGGBB)")
    return [("colorize", ",".join([*percents, colour.lower()]))]


def _convolution(args: str, shown: str) -> Pairs:
    values = _arguments(args, shown, 2, 3)
    if not _MATRIX.fullmatch(values[0]):
        raise refuse(shown, "expected convolution(w1;w2;...,columns[,normalize])")
    columns = integer(shown, values[1], low=1, high=1_000)
    if len(values) == 3 and values[2] not in _BOOLEAN:
        raise refuse(shown, "normalize is true or false")
    normalise = len(values) < 3 or values[2] in _TRUE
    weights = values[0].replace(";", ",")
    return [("convolution", f"{columns}:{weights}" + ("" if normalise else ":raw"))]


def _curve(args: str, shown: str) -> Pairs:
    lists = _CURVE.findall(args.replace(" ", ""))
    if len(lists) != 4 or ",".join(f"[{text}]" for text in lists) != args.replace(" ", ""):
        raise refuse(shown, "expected curve([(x,y),...],[...red],[...green],[...blue])")
    spelled = [",".join(f"{x}:{y}" for x, y in _POINT.findall(text)) for text in lists]
    return [("curve", ";".join(spelled))]


def _round_corner(args: str, shown: str) -> Pairs:
    values = _arguments(args, shown, 4, 5)
    radii = values[0].split("|")
    if len(radii) > 2:
        raise refuse(shown, "expected round_corner(a|b,r,g,b[,transparent])")
    across, down = [integer(shown, radius, low=0, high=100_000) for radius in (radii * 2)[:2]]
    rgb = [integer(shown, value, low=0, high=255) for value in values[1:4]]
    if len(values) == 5 and values[4] not in _BOOLEAN:
        raise refuse(shown, "transparent is true or false")
    transparent = len(values) == 5 and values[4] in _TRUE
    pairs: Pairs = [("radius", str(across) if across == down else f"{across},{down}")]
    pairs.append(("corner", None if transparent else "".join(f"{v:02x}" for v in rgb)))
    return pairs


THUMBOR_FILTERS = {
    "brightness": ThumborFilter("brightness (thumbor's percentage of 255, as its C)", _brightness),
    "colorize": ThumborFilter("colorize (percentages and colour)", _colorize),
    "contrast": ThumborFilter(
        "contrast (factor ((100 + n)² / 100) / 100, as thumbor's C)", _contrast
    ),
    "convolution": ThumborFilter(
        "convolution (odd rows and columns up to 9; edges extended, as thumbor)", _convolution
    ),
    "curve": ThumborFilter("curve (the same natural cubic spline, channel then all)", _curve),
    "equalize": ThumborFilter("equalize=1", _equalize),
    "noise": ThumborFilter("noise (a seed of 0: pixserve's, from the URL, not libc's)", _noise),
    "rgb": ThumborFilter("rgb (percentages of 255 per channel, as thumbor's C)", _rgb),
    "round_corner": ThumborFilter(
        "radius and corner (transparent=1: transparent corners where the format has alpha)",
        _round_corner,
    ),
    "saturation": ThumborFilter("saturation (a factor, as thumbor's code multiplies)", _saturation),
}


# imgproxy's options (docs: "Processing an image"); later options win.


def _one_argument(args: tuple[str, ...], shown: str) -> str:
    if len(args) != 1:
        raise refuse(shown, f"expected 1 argument, got {len(args)}")
    return args[0]


def _imgproxy_brightness(args: tuple[str, ...], shown: str) -> Pairs:
    levels = integer(shown, _one_argument(args, shown), low=-255, high=255)
    return [("brightness", text_number(levels * 100 / 255) if levels else None)]


def _imgproxy_contrast(args: tuple[str, ...], shown: str) -> Pairs:
    factor = number(shown, _one_argument(args, shown), low=0, high=10)
    return [("contrast", text_number(factor) if factor != 1 else None)]


def _imgproxy_saturation(args: tuple[str, ...], shown: str) -> Pairs:
    factor = number(shown, _one_argument(args, shown), low=0, high=100)
    return [("saturation", text_number(factor) if factor != 1 else None)]


def _imgproxy_pixelate(args: tuple[str, ...], shown: str) -> Pairs:
    size = integer(shown, _one_argument(args, shown), low=0, high=256)
    return [("pixelate", str(size) if size > 1 else None)]


@dataclass(frozen=True)
class ImgproxyOption:
    """What an option becomes (for docs/dialects.md) and how."""

    becomes: str
    translate: Callable[[tuple[str, ...], str], Pairs]


def _imgproxy_adjust(args: tuple[str, ...], shown: str) -> Pairs:
    """The meta-option `adjust:%brightness:%contrast:%saturation`; an empty argument
    leaves its setting as it is."""
    if not 1 <= len(args) <= 3:
        raise refuse(shown, f"expected 1 to 3 arguments, got {len(args)}")
    parts = (_imgproxy_brightness, _imgproxy_contrast, _imgproxy_saturation)
    pairs: Pairs = []
    for translate, arg in zip(parts, args, strict=False):
        if arg:
            pairs += translate((arg,), shown)
    return pairs


IMGPROXY_ALIASES = {"a": "adjust", "br": "brightness", "co": "contrast", "sa": "saturation"}
IMGPROXY_OPTIONS = {
    "adjust": ImgproxyOption("brightness, contrast, saturation (below)", _imgproxy_adjust),
    "brightness": ImgproxyOption(
        "brightness (levels -255 to 255, as a percentage of 255)", _imgproxy_brightness
    ),
    "contrast": ImgproxyOption("contrast (the factor; 1: none)", _imgproxy_contrast),
    "saturation": ImgproxyOption(
        "saturation (the factor, thumbor's formula; 1: none)", _imgproxy_saturation
    ),
    "pixelate": ImgproxyOption("pixelate (block size; 0, 1: none)", _imgproxy_pixelate),
}

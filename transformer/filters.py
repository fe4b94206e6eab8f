"""The colour and pixel filters' query parameters: their values, parsers and spelling.

`options.py` takes `FILTER_FIELDS` and `FILTER_PARSERS` into its own tables, so each
filter is one more parameter of the one parsing boundary: strict (a bad value is a
400 naming it), bounded, and spelled one way in the canonical query (cache key, ETag,
signature). A value that changes nothing (`brightness=0`, `contrast=1`) parses to the
default, so it never splits the cache. The pixels are `steps/adjust.py`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import InvalidOption

if TYPE_CHECKING:
    from .options import Colour, Limits

_SIGNED = re.compile(r"-?[0-9]{1,4}(\.[0-9]{1,6})?")
_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
# A kernel's side (odd, so it has a centre) and its cells: a 9x9 kernel costs 81
# multiply-adds per channel and output pixel.
MAX_KERNEL_SIDE = 9
MAX_KERNEL_WEIGHT = 1000.0
MAX_CURVE_POINTS = 64
MAX_WAVELET_AMOUNT = 100.0  # thumbor's docs show 0 to about 10
MAX_WAVELET_RADIUS = 10.0  # the level raised most: levels run 0 to 4
MAX_PIXELATE = 256
MAX_NOISE = 255
MAX_SEED = 2**31 - 1
CURVE_CHANNELS = ("all", "red", "green", "blue")


def _show(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "...")


def spell(value: float) -> str:
    """A number as the canonical query writes it: up to 3 decimals, no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _number(name: str, raw: str, low: float, high: float, what: str = "a number") -> float:
    value = float(raw) if _SIGNED.fullmatch(raw) else float("nan")
    if not low <= value <= high:
        raise InvalidOption(
            f"{name} must be {what} from {low:g} to {high:g}, got {_show(raw)}", param=name
        )
    return round(value, 3)


def _whole(name: str, raw: str, low: int, high: int) -> int:
    if not re.fullmatch(r"-?[0-9]{1,10}", raw) or not low <= int(raw) <= high:
        raise InvalidOption(
            f"{name} must be a whole number from {low} to {high}, got {_show(raw)}", param=name
        )
    return int(raw)


def _hex_colour(name: str, raw: str) -> Colour:
    from .options import Colour

    match = _HEX_COLOUR.fullmatch(raw)
    if match is None:
        raise InvalidOption(
            f"{name} needs a hex colour RRGGBB or RRGGBBAA, got {_show(raw)}", param=name
        )
    digits = match[1]
    return Colour(*(int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)))


# The values. Each spells itself as the canonical query does (`str`).


@dataclass(frozen=True)
class ChannelShift:
    """`rgb`: percentages of full scale added to red, green and blue (thumbor's `rgb`)."""

    red: float
    green: float
    blue: float

    def __str__(self) -> str:
        return ",".join(spell(value) for value in (self.red, self.green, self.blue))


@dataclass(frozen=True)
class Noise:
    """`noise`: uniform noise `amount` levels wide, the same on each channel of a pixel.
    `seed` None: seeded from the whole canonical query, so one URL is one set of bytes."""

    amount: int
    seed: int | None = None

    def __str__(self) -> str:
        return str(self.amount) if self.seed is None else f"{self.amount},{self.seed}"


@dataclass(frozen=True)
class Tint:
    """`colorize`: each channel moved `percent` of the way to `colour`'s."""

    red: int
    green: int
    blue: int
    colour: Colour

    def __str__(self) -> str:
        if self.red == self.green == self.blue:
            return f"{self.red},{self.colour}"
        return f"{self.red},{self.green},{self.blue},{self.colour}"


@dataclass(frozen=True)
class Kernel:
    """`convolution`: a `columns`-wide matrix of weights, rows and columns odd; with
    `normalise` each weight is divided by their sum (when that is not 0)."""

    columns: int
    weights: tuple[float, ...]
    normalise: bool = True

    @property
    def rows(self) -> int:
        return len(self.weights) // self.columns

    def __str__(self) -> str:
        text = f"{self.columns}:" + ",".join(spell(weight) for weight in self.weights)
        return text if self.normalise else text + ":raw"


@dataclass(frozen=True)
class WaveletSharpen:
    """`wavelet_sharpen`: thumbor's `sharpen(amount, radius, luminance_only)`."""

    amount: float
    radius: float
    luminance_only: bool = False

    def __str__(self) -> str:
        text = f"{spell(self.amount)},{spell(self.radius)}"
        return text + ",1" if self.luminance_only else text


def _wavelet_sharpen(name: str, raw: str, limits: Limits) -> Any:
    parts = raw.split(",")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("0", "1")):
        raise InvalidOption(
            f"{name} must be AMOUNT,RADIUS[,1 for luminance only], got {_show(raw)}", param=name
        )
    amount = _number(name, parts[0], 0, MAX_WAVELET_AMOUNT, "an amount")
    radius = _number(name, parts[1], 0, MAX_WAVELET_RADIUS, "a radius")
    luminance_only = len(parts) == 3 and parts[2] == "1"
    return WaveletSharpen(amount, radius, luminance_only) if amount else None


Points = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Curve:
    """`curve`: tone curves through points (x, y in 0..255), a natural cubic spline as
    thumbor draws them; `red`, `green`, `blue` first, then `all` on every channel. An
    empty tuple is the identity."""

    all: Points
    red: Points = ()
    green: Points = ()
    blue: Points = ()

    @property
    def per_channel(self) -> bool:
        return bool(self.red or self.green or self.blue)

    def __str__(self) -> str:
        lists = [self.all, self.red, self.green, self.blue] if self.per_channel else [self.all]
        return ";".join(",".join(f"{x}:{y}" for x, y in points) for points in lists)


@dataclass(frozen=True)
class Radius:
    """`radius`: the corners' radii across and down, in output pixels."""

    across: int
    down: int

    def __str__(self) -> str:
        return str(self.across) if self.across == self.down else f"{self.across},{self.down}"


# The parsers, `options.Parser`s: (name, raw, limits) -> value; None is the default.


def _brightness(name: str, raw: str, limits: Limits) -> Any:
    value = _number(name, raw, -100, 100, "a percentage")
    return value or None


def _contrast(name: str, raw: str, limits: Limits) -> Any:
    value = _number(name, raw, 0, 10, "a factor")
    return None if value == 1 else value


def _saturation(name: str, raw: str, limits: Limits) -> Any:
    value = _number(name, raw, -100, 100, "a factor")
    return None if value == 1 else value


def _rgb(name: str, raw: str, limits: Limits) -> Any:
    parts = raw.split(",")
    if len(parts) != 3:
        raise InvalidOption(
            f"{name} must be three percentages R,G,B (-100 to 100), got {_show(raw)}", param=name
        )
    shift = ChannelShift(*(_number(name, part, -100, 100, "three percentages") for part in parts))
    return shift if (shift.red, shift.green, shift.blue) != (0, 0, 0) else None


def _equalize(name: str, raw: str, limits: Limits) -> Any:
    if raw not in ("0", "1", "true", "false"):
        raise InvalidOption(f"{name} must be 1 or 0 (or true, false), got {_show(raw)}", param=name)
    return raw in ("1", "true")


def _noise(name: str, raw: str, limits: Limits) -> Any:
    parts = raw.split(",")
    if len(parts) > 2:
        raise InvalidOption(f"{name} must be AMOUNT or AMOUNT,SEED, got {_show(raw)}", param=name)
    amount = _whole(name, parts[0], 0, MAX_NOISE)
    seed = _whole(name, parts[1], 0, MAX_SEED) if len(parts) == 2 else None
    return Noise(amount, seed) if amount > 1 else None  # 0 and 1 add nothing


def _colorize(name: str, raw: str, limits: Limits) -> Any:
    parts = raw.split(",")
    if len(parts) not in (2, 4):
        raise InvalidOption(
            f"{name} must be PERCENT,RRGGBB or RED%,GREEN%,BLUE%,RRGGBB, got {_show(raw)}",
            param=name,
        )
    percents = [_whole(name, part, 0, 100) for part in parts[:-1]]
    red, green, blue = percents * 3 if len(percents) == 1 else percents
    colour = _hex_colour(name, parts[-1])
    if colour.alpha != 255:
        raise InvalidOption(f"{name} takes an opaque colour RRGGBB", param=name)
    return Tint(red, green, blue, colour) if any((red, green, blue)) else None


def _convolution(name: str, raw: str, limits: Limits) -> Any:
    parts = raw.split(":")
    usage = f"{name} must be COLUMNS:W1,W2,...[:raw] with odd rows and columns up to "
    usage += f"{MAX_KERNEL_SIDE}, got {_show(raw)}"
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "raw"):
        raise InvalidOption(usage, param=name)
    columns = _whole(name, parts[0], 1, MAX_KERNEL_SIDE)
    cells = parts[1].split(",")
    if len(cells) > MAX_KERNEL_SIDE * MAX_KERNEL_SIDE:
        raise InvalidOption(usage, param=name)
    weights = tuple(
        _number(name, cell, -MAX_KERNEL_WEIGHT, MAX_KERNEL_WEIGHT, "weights") for cell in cells
    )
    rows, rest = divmod(len(weights), columns)
    if rest or columns % 2 == 0 or rows % 2 == 0 or rows > MAX_KERNEL_SIDE:
        raise InvalidOption(usage, param=name)
    return Kernel(columns, weights, normalise=len(parts) == 2)


def parse_points(name: str, raw: str) -> Points:
    """`x:y,x:y,...` with x strictly rising, every value 0..255; empty: the identity."""
    if raw == "":
        return ()
    pairs = raw.split(",")
    if len(pairs) < 2 or len(pairs) > MAX_CURVE_POINTS:
        raise InvalidOption(
            f"{name} needs 2 to {MAX_CURVE_POINTS} points x:y per curve, got {_show(raw)}",
            param=name,
        )
    points: list[tuple[int, int]] = []
    for pair in pairs:
        x, colon, y = pair.partition(":")
        if not colon:
            raise InvalidOption(f"{name} points are written x:y, got {_show(pair)}", param=name)
        points.append((_whole(name, x, 0, 255), _whole(name, y, 0, 255)))
    if any(later[0] <= earlier[0] for earlier, later in zip(points, points[1:], strict=False)):
        raise InvalidOption(f"{name} points need rising x values, got {_show(raw)}", param=name)
    return tuple(points)


def _curve(name: str, raw: str, limits: Limits) -> Any:
    lists = raw.split(";")
    if len(lists) not in (1, 4):
        raise InvalidOption(
            f"{name} must be one curve x:y,x:y,... or four (all;red;green;blue), got {_show(raw)}",
            param=name,
        )
    curve = Curve(*(parse_points(name, text) for text in lists))
    return curve if curve.all or curve.per_channel else None


def _radius(name: str, raw: str, limits: Limits) -> Any:
    parts = raw.split(",")
    if len(parts) > 2:
        raise InvalidOption(f"{name} must be R or ACROSS,DOWN, got {_show(raw)}", param=name)
    radii = [_whole(name, part, 0, limits.max_dimension) for part in parts]
    across, down = radii * 2 if len(radii) == 1 else radii
    return Radius(across, down) if across and down else None


def _corner(name: str, raw: str, limits: Limits) -> Any:
    return _hex_colour(name, raw)


# The colour filters that are lookup tables, in the order they are applied unless
# `order` names another (thumbor applies its filters in the URL's order): parameter ->
# Options field.
TABLE_FILTERS = {
    "brightness": "brightness",
    "contrast": "contrast",
    "rgb": "channel_shift",
    "curve": "curve",
    "colorize": "tint",
}


def _order(name: str, raw: str, limits: Limits) -> Any:
    names = tuple(raw.split(","))
    if any(part not in TABLE_FILTERS for part in names) or len(set(names)) != len(names):
        shown = ", ".join(TABLE_FILTERS)
        raise InvalidOption(
            f"{name} lists colour table filters ({shown}), each once, got {_show(raw)}",
            param=name,
        )
    return names


def check_filters(fields: dict[str, Any]) -> None:
    """What no one parameter can check alone: `corner` colours the cut of `radius`, and
    `order` orders exactly the table filters the URL sets (dropped when it is the usual
    order, so that spelling has one cache entry)."""
    if fields.get("corner") is not None and fields.get("radius") is None:
        raise InvalidOption(
            "corner is the colour of rounded corners: it needs radius", param="corner"
        )
    order = fields.get("table_order")
    if order is not None:
        present = [name for name, field in TABLE_FILTERS.items() if fields.get(field) is not None]
        if sorted(order) != sorted(present):
            raise InvalidOption(
                f"order must name each colour table filter the URL sets, once: "
                f"{', '.join(present) or 'none is set'}; got {','.join(order)}",
                param="order",
            )
        if list(order) == present:
            del fields["table_order"]


def _pixelate(name: str, raw: str, limits: Limits) -> Any:
    size = _whole(name, raw, 0, MAX_PIXELATE)
    return size if size > 1 else None


Parser = Callable[[str, str, "Limits"], Any]
# Query parameter -> Options field, for options.FIELDS.
FILTER_FIELDS = {
    "brightness": "brightness",
    "contrast": "contrast",
    "saturation": "saturation",
    "rgb": "channel_shift",
    "equalize": "equalize",
    "noise": "noise",
    "colorize": "tint",
    "convolution": "kernel",
    "curve": "curve",
    "radius": "radius",
    "corner": "corner",
    "pixelate": "pixelate",
    "order": "table_order",
    "wavelet_sharpen": "wavelet_sharpen",
}
FILTER_PARSERS: dict[str, Parser] = {
    "brightness": _brightness,
    "contrast": _contrast,
    "saturation": _saturation,
    "rgb": _rgb,
    "equalize": _equalize,
    "noise": _noise,
    "colorize": _colorize,
    "convolution": _convolution,
    "curve": _curve,
    "radius": _radius,
    "corner": _corner,
    "pixelate": _pixelate,
    "order": _order,
    "wavelet_sharpen": _wavelet_sharpen,
}

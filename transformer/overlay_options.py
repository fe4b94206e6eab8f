"""The query parameters of overlays and padding: watermarks (`wm`, `wm_*`), the nine-patch
frame (`ninepatch`), padding (`pad`) and what fills the room `fit=contain` leaves
(`backdrop`). Their parsers and types live here so `options.py` only lists them.

A watermark or frame names another source (as `/image/<name>` would); the transformer
never reads it: the web layer finds, fetches and decodes it, and hands the pictures to
`transform` (see `overlay.py`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import InvalidOption

MAX_PADDING = 1000  # CSS pixels a side; times dpr 4, still within the output pixel limit
MAX_OVERLAY_NAME = 512
MAX_OFFSET = 100_000  # pixels; offsets past the picture are allowed and place nothing visible
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1," + str(MAX_OVERLAY_NAME) + "}")
_OFFSET = re.compile(r"(-?)([0-9]{1,6})(\.[0-9]{1,3})?(%?)")
_PERCENT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3})?")


class Placement(StrEnum):
    """Where a watermark sits: a side or corner (offsets count inward from it) or the
    centre (offsets move it right and down)."""

    CENTER = "center"
    NORTH = "north"
    SOUTH = "south"
    EAST = "east"
    WEST = "west"
    NORTHEAST = "northeast"
    NORTHWEST = "northwest"
    SOUTHEAST = "southeast"
    SOUTHWEST = "southwest"


class Repeat(StrEnum):
    """Tiling: `x`, `y`, `xy` spread as many whole copies as fit evenly across the
    picture, edge to edge (thumbor's `repeat`); `grid` tiles copies `wm_dx`, `wm_dy`
    apart, the pattern centred (imgproxy's `re`)."""

    X = "x"
    Y = "y"
    XY = "xy"
    GRID = "grid"


class Backdrop(StrEnum):
    """What fills the room `fit=contain` leaves around the picture instead of `bg`:
    the picture itself blurred and stretched (`blur`), or its average colour (`auto`)."""

    BLUR = "blur"
    AUTO = "auto"


@dataclass(frozen=True)
class Length:
    """An offset in output pixels, or a percentage of the picture's side."""

    value: float
    percent: bool = False

    def pixels(self, side: int, dpr: float = 1.0) -> int:
        """In output pixels: a percentage of `side`, or pixels times `dpr`."""
        if self.percent:
            return round(side * self.value / 100 + 1e-9 * (1 if self.value >= 0 else -1))
        return round(self.value * dpr)

    def __str__(self) -> str:
        number = f"{self.value:.3f}".rstrip("0").rstrip(".")
        return ("0" if number == "-0" else number) + ("%" if self.percent else "")


def _show(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "...")


def parse_name(name: str, raw: str, limits: object) -> Any:
    """A source name, as in `/image/<name>`: found (or not: a 400) by the web layer."""
    if not _NAME.fullmatch(raw) or raw.startswith("/"):
        raise InvalidOption(
            f"{name} must name a source image as /image/<name> does (1 to "
            f"{MAX_OVERLAY_NAME} characters, no leading /), got {_show(raw)}",
            param=name,
        )
    return raw


def parse_offset(name: str, raw: str, limits: object) -> Any:
    match = _OFFSET.fullmatch(raw)
    value = float(raw.rstrip("%")) if match else 0.0
    fraction_of_pixel = match is not None and bool(match[3]) and not match[4]
    if match is None or fraction_of_pixel or abs(value) > (100 if match[4] else MAX_OFFSET):
        raise InvalidOption(
            f"{name} must be whole pixels (-{MAX_OFFSET} to {MAX_OFFSET}) or a percentage "
            f"of the picture's side (-100% to 100%), got {_show(raw)}",
            param=name,
        )
    return Length(round(value, 3) + 0.0, percent=bool(match[4]))


def parse_opacity(name: str, raw: str, limits: object) -> Any:
    value = float(raw) if re.fullmatch(r"[01](\.[0-9]{1,3})?", raw) else -1.0
    if not 0 <= value <= 1:
        raise InvalidOption(f"{name} must be a number from 0 to 1, got {_show(raw)}", param=name)
    return value


def parse_percent(name: str, raw: str, limits: object) -> Any:
    value = float(raw) if _PERCENT.fullmatch(raw) else 0.0
    if not 0 < value <= 100:
        raise InvalidOption(
            f"{name} must be a percentage of the picture's side, above 0 up to 100, "
            f"got {_show(raw)}",
            param=name,
        )
    return value


def parse_padding(name: str, raw: str, limits: object) -> Any:
    """CSS order: one value for all sides, two (top-bottom, left-right), three or four."""
    parts = raw.split(",")
    if not 1 <= len(parts) <= 4 or not all(
        re.fullmatch(r"[0-9]{1,4}", part) and int(part) <= MAX_PADDING for part in parts
    ):
        raise InvalidOption(
            f"{name} must be 1 to 4 whole numbers of CSS pixels from 0 to {MAX_PADDING}, "
            f"comma-separated as in CSS (top,right,bottom,left), got {_show(raw)}",
            param=name,
        )
    values = [int(part) for part in parts]
    values += [values[0]] * (2 - len(values)) if len(values) < 2 else []
    values += [values[0]] if len(values) < 3 else []
    values += [values[1]] if len(values) < 4 else []
    top, right, bottom, left = values
    return None if not any((top, right, bottom, left)) else (top, right, bottom, left)


def parse_choice(kind: type[StrEnum]) -> Any:
    def parse(name: str, raw: str, limits: object) -> Any:
        try:
            return kind(raw)
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise InvalidOption(
                f"{name} must be one of {allowed}, got {_show(raw)}", param=name
            ) from None

    return parse


PARSERS = {
    "wm": parse_name,
    "wm_gravity": parse_choice(Placement),
    "wm_dx": parse_offset,
    "wm_dy": parse_offset,
    "wm_repeat": parse_choice(Repeat),
    "wm_opacity": parse_opacity,
    "wm_w": parse_percent,
    "wm_h": parse_percent,
    "ninepatch": parse_name,
    "pad": parse_padding,
    "backdrop": parse_choice(Backdrop),
}
FIELDS = {
    "wm": "watermark",
    "wm_gravity": "wm_gravity",
    "wm_dx": "wm_dx",
    "wm_dy": "wm_dy",
    "wm_repeat": "wm_repeat",
    "wm_opacity": "wm_opacity",
    "wm_w": "wm_w",
    "wm_h": "wm_h",
    "ninepatch": "ninepatch",
    "pad": "padding",
    "backdrop": "backdrop",
}


def check_overlay_options(given: Mapping[str, object]) -> None:
    """The `wm_*` parameters place a watermark: without `wm` they are a 400, not ignored;
    `backdrop` replaces `bg`'s colour, so not both."""
    if "wm" not in given:
        for param in sorted(given):
            if param.startswith("wm_"):
                raise InvalidOption(f"{param} places a watermark: give wm too", param=param)
    if "backdrop" in given and "bg" in given:
        raise InvalidOption(
            "backdrop fills the padding instead of bg's colour: give one of them",
            param="backdrop",
        )

"""The one parsing boundary: query parameters in, a frozen `Options` out.

Every parameter has one parser in `_PARSERS`; an unknown, repeated or invalid
parameter is an `InvalidOption` naming it and its allowed values, never silently
skipped. `Options.canonical()` is the normal form (sorted, defaults dropped, numbers
normalised) that feeds the cache key and the ETag, so two spellings of one transform
share one cache entry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, ClassVar

from . import filters
from .errors import InvalidOption
from .formats import FORMATS
from .overlay_options import FIELDS as OVERLAY_FIELDS
from .overlay_options import PARSERS as OVERLAY_PARSERS
from .overlay_options import Backdrop, Length, Placement, Repeat, check_overlay_options

DEFAULT_MAX_DIMENSION = 8192
MAX_DPR = 4.0
_VERSION_TOKEN = re.compile(r"[A-Za-z0-9._~-]{1,64}")
_INTEGER = re.compile(r"[0-9]{1,9}")
_NUMBER = re.compile(r"[0-9]{1,3}(\.[0-9]{1,6})?")


class Fit(StrEnum):
    """How the image fills a box given by both `w` and `h`."""

    INSIDE = "inside"
    COVER = "cover"
    CONTAIN = "contain"
    FILL = "fill"
    OUTSIDE = "outside"


class Gravity(StrEnum):
    """Which part of the picture `fit=cover` keeps."""

    CENTER = "center"
    NORTH = "north"
    SOUTH = "south"
    EAST = "east"
    WEST = "west"
    NORTHEAST = "northeast"
    NORTHWEST = "northwest"
    SOUTHEAST = "southeast"
    SOUTHWEST = "southwest"
    ENTROPY = "entropy"
    ATTENTION = "attention"


CropBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class Colour:
    """An sRGB colour with alpha, spelled as lowercase hex (6 digits when opaque)."""

    red: int
    green: int
    blue: int
    alpha: int = 255

    @property
    def rgba(self) -> tuple[int, int, int, int]:
        return (self.red, self.green, self.blue, self.alpha)

    def __str__(self) -> str:
        digits = self.rgba if self.alpha != 255 else self.rgba[:3]
        return "".join(f"{value:02x}" for value in digits)


FORMAT_ALIASES = {"jpg": "jpeg"}
AUTO = "auto"
# `fmt=best`: each format the client accepts is searched to the `q=auto` target (`good`
# unless `q` names another) and the smallest result is kept.
BEST = "best"


@dataclass(frozen=True)
class QualityTarget:
    """`q=auto:<level>` or `q=auto:<floor>`: the lowest quality whose output scores at
    least `floor` in SSIMULACRA2 against the unencoded picture (100 identical, about 90
    visually lossless, 70 high, 50 medium; `quality.py` searches for it). `q=auto` is
    `good`. A floor that is a level's is that level (one spelling, one cache entry)."""

    floor: int

    LOW: ClassVar[QualityTarget]
    GOOD: ClassVar[QualityTarget]
    HIGH: ClassVar[QualityTarget]

    @property
    def level(self) -> str | None:
        """`low`, `good` or `high` when the floor is that level's."""
        return next((name for name, floor in LEVELS.items() if floor == self.floor), None)

    @property
    def value(self) -> str:
        """How it is spelled in a query: `auto:good`, `auto:65`."""
        return f"{AUTO}:{self.level or self.floor}"

    def __str__(self) -> str:
        return self.value

    def lower(self) -> QualityTarget:
        """One level down (`Save-Data: on`): `high` to `good`, `good` to `low`, a named
        floor by the distance between two levels; never below `low`'s floor (or the
        floor itself, where that is lower)."""
        step = LEVELS["good"] - LEVELS["low"]
        return QualityTarget(min(self.floor, max(LEVELS["low"], self.floor - step)))

    @classmethod
    def levels(cls) -> tuple[QualityTarget, ...]:
        return tuple(cls(floor) for floor in LEVELS.values())

    @classmethod
    def parse(cls, raw: str) -> QualityTarget | None:
        """`auto`, `auto:low|good|high` or `auto:NN` (NN from `MIN_FLOOR` to
        `MAX_FLOOR`), else None."""
        if raw == AUTO:
            return cls.GOOD
        prefix, _, named = raw.partition(":")
        if prefix != AUTO:
            return None
        if named in LEVELS:
            return cls(LEVELS[named])
        if _INTEGER.fullmatch(named) and MIN_FLOOR <= int(named) <= MAX_FLOOR:
            return cls(int(named))
        return None


# The levels' SSIMULACRA2 floors (`benchmarks/auto_quality_floors.py` reports what each
# costs in bytes against the fixed defaults and the peers' defaults): `good` is above
# the worst score of Next.js' defaults on the corpus, `high` above IPX's (sharp's).
LEVELS: dict[str, int] = {"low": 50, "good": 60, "high": 70}
# A named floor's range: below 30 SSIMULACRA2 pictures are visibly broken, and above 95
# no lossy ladder reaches it (the answer would always be the ladder's top).
MIN_FLOOR = 30
MAX_FLOOR = 95
QualityTarget.LOW = QualityTarget(LEVELS["low"])
QualityTarget.GOOD = QualityTarget(LEVELS["good"])
QualityTarget.HIGH = QualityTarget(LEVELS["high"])


@dataclass(frozen=True)
class Options:
    """A validated transform request. Build it with `parse_options`."""

    width: int | None = None
    height: int | None = None
    dpr: float = 1.0
    fit: Fit = Fit.INSIDE
    fmt: str = AUTO
    quality: int | QualityTarget | None = None
    version: str | None = None
    gravity: Gravity = Gravity.CENTER
    focus_x: float | None = None
    focus_y: float | None = None
    crop: CropBox | None = None
    enlarge: bool = False
    background: Colour | None = None
    blur: float | None = None
    sharpen: float | None = None
    rotate: int = 0
    flip: str | None = None
    trim: int | None = None
    gray: bool = False
    lossless: bool = False
    palette: bool = False
    frame: int | None = None
    # The colour and pixel filters (filters.py, steps/adjust.py).
    brightness: float | None = None
    contrast: float | None = None
    saturation: float | None = None
    channel_shift: filters.ChannelShift | None = None
    equalize: bool = False
    noise: filters.Noise | None = None
    tint: filters.Tint | None = None
    kernel: filters.Kernel | None = None
    curve: filters.Curve | None = None
    radius: filters.Radius | None = None
    corner: Colour | None = None
    pixelate: int | None = None
    table_order: tuple[str, ...] = ()  # the colour table filters' order, when not the usual
    wavelet_sharpen: filters.WaveletSharpen | None = None
    max_bytes: int | None = None
    max_age: int | None = None
    format_quality: tuple[str, ...] = ()
    # overlays and padding (overlay_options.py, overlay.py)
    watermark: str | None = None
    wm_gravity: Placement = Placement.CENTER
    wm_dx: Length | None = None
    wm_dy: Length | None = None
    wm_repeat: Repeat | None = None
    wm_opacity: float = 1.0
    wm_w: float | None = None
    wm_h: float | None = None
    ninepatch: str | None = None
    padding: tuple[int, int, int, int] | None = None
    backdrop: Backdrop | None = None

    @property
    def box(self) -> tuple[int | None, int | None]:
        """The target box in device pixels: `w` and `h` multiplied by `dpr`."""
        return (_scaled(self.width, self.dpr), _scaled(self.height, self.dpr))

    @property
    def resizes(self) -> bool:
        return self.width is not None or self.height is not None

    @property
    def reencodes(self) -> bool:
        """True when the request asks for anything but the source's own bytes."""
        return any(
            getattr(self, name) != getattr(_DEFAULTS, name)
            for name in FIELDS.values()
            if name not in ("fmt", "version", *ANSWER_FIELDS)
        )

    def quality_for(self, fmt: str) -> int | None:
        """The fixed quality for output `fmt`: `q`, else `fq`'s entry for it, else None
        (the format's default, or a `q=auto` search)."""
        if self.quality is not None:
            return self.fixed_quality
        return dict(split_format_quality(entry) for entry in self.format_quality).get(fmt)

    @property
    def target(self) -> QualityTarget | None:
        """The `q=auto` target, or None for a fixed (or the format's default) quality."""
        return self.quality if isinstance(self.quality, QualityTarget) else None

    @property
    def fixed_quality(self) -> int | None:
        """`q` as a number, or None for the format's default (and for `q=auto`)."""
        return self.quality if isinstance(self.quality, int) else None

    def saving_data(self) -> Options:
        """The options for a client that sent `Save-Data: on`: a `q=auto` target steps
        down one (`high` to `good`, `good` to `low`); anything else is unchanged.

        An option rather than a transform argument so the cache key follows by itself.
        """
        target = self.target
        return self if target is None else replace(self, quality=target.lower())

    @property
    def focus(self) -> tuple[float, float] | None:
        """The focal point (0..1 each way) when `fx` or `fy` was given."""
        if self.focus_x is None and self.focus_y is None:
            return None
        return (
            0.5 if self.focus_x is None else self.focus_x,
            0.5 if self.focus_y is None else self.focus_y,
        )

    def canonical(self) -> str:
        """The normal query string: sorted keys, defaults dropped, numbers normalised."""
        pairs = [
            f"{param}={canonical_text(getattr(self, field))}"
            for param, field in sorted(FIELDS.items())
            if getattr(self, field) != getattr(_DEFAULTS, field)
        ]
        return "&".join(pairs)

    def normalised(self) -> Options:
        """Drop settings that cannot change the result, so they never split the cache."""
        both = self.width is not None and self.height is not None
        fit = self.fit if both else Fit.INSIDE
        crops = fit is Fit.COVER
        best = self.fmt == BEST
        return replace(
            self,
            quality=QualityTarget.GOOD if best and self.quality is None else self.quality,
            dpr=self.dpr if self.resizes else 1.0,
            fit=fit,
            enlarge=self.enlarge and self.resizes,
            gravity=self.gravity if crops else Gravity.CENTER,
            focus_x=self.focus_x if crops else None,
            focus_y=self.focus_y if crops else None,
            rotate=self.rotate % 360,
            format_quality=() if self.quality is not None else self.format_quality,
        )


_DEFAULTS = Options()
# Query parameter -> Options field.
FIELDS = {
    "w": "width",
    "h": "height",
    "dpr": "dpr",
    "fit": "fit",
    "fmt": "fmt",
    "q": "quality",
    "v": "version",
    "gravity": "gravity",
    "fx": "focus_x",
    "fy": "focus_y",
    "crop": "crop",
    "enlarge": "enlarge",
    "bg": "background",
    "blur": "blur",
    "sharpen": "sharpen",
    "rot": "rotate",
    "flip": "flip",
    "trim": "trim",
    "gray": "gray",
    "lossless": "lossless",
    "png8": "palette",
    "frame": "frame",
    **filters.FILTER_FIELDS,
    "max_bytes": "max_bytes",
    "max_age": "max_age",
    "fq": "format_quality",
    **OVERLAY_FIELDS,
}
# Fields that change how the answer is delivered, not which picture it shows: they never
# turn the source's own bytes into an encode (`max_bytes` does only when they are too big).
ANSWER_FIELDS = ("max_bytes", "max_age")
MAX_BYTES_LIMIT = 999_999_999
MAX_AGE_LIMIT = 999_999_999


def canonical_text(value: object) -> str:
    """How a parsed value is spelled in the canonical query (and in allowlists)."""
    if isinstance(value, StrEnum | QualityTarget):
        return str(value.value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Colour):
        return str(value)
    if isinstance(value, float):
        return _format_number(value)
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _scaled(value: int | None, dpr: float) -> int | None:
    return None if value is None else max(1, round(value * dpr))


def _show(raw: str) -> str:
    """Quote a client's value for an error message, cut short so messages stay small."""
    return repr(raw if len(raw) <= 40 else raw[:40] + "...")


def _format_number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


Parser = Callable[[str, str, "Limits"], Any]


@dataclass(frozen=True)
class Limits:
    """What the parser accepts beyond each parameter's own range; from the server's config.

    `allowed` maps a parameter to the canonical spellings it may take (an allowlist);
    `presets` maps a preset name to the query pairs it stands for; with `only_presets`
    a URL may name a preset (and a `v`) and nothing else.
    """

    max_dimension: int = DEFAULT_MAX_DIMENSION
    allowed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    presets: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    only_presets: bool = False


def _dimension(name: str, raw: str, limits: Limits) -> Any:
    allowed = f"an integer from 1 to {limits.max_dimension}"
    if not _INTEGER.fullmatch(raw) or not 1 <= int(raw) <= limits.max_dimension:
        raise InvalidOption(f"{name} must be {allowed}, got {_show(raw)}", param=name)
    return int(raw)


def _fmt(name: str, raw: str, limits: Limits) -> Any:
    value = FORMAT_ALIASES.get(raw, raw)
    if value not in (AUTO, BEST) and value not in FORMATS:
        allowed = ", ".join([AUTO, BEST, *FORMATS, *FORMAT_ALIASES])
        raise InvalidOption(f"{name} must be one of {allowed}, got {_show(raw)}", param=name)
    return value


def _version(name: str, raw: str, limits: Limits) -> Any:
    if not _VERSION_TOKEN.fullmatch(raw):
        raise InvalidOption(
            f"{name} must be 1 to 64 characters of letters, digits and . _ ~ -, got {_show(raw)}",
            param=name,
        )
    return raw


def _number_in(low: float, high: float, places: int) -> Parser:
    def parse(name: str, raw: str, limits: Limits) -> Any:
        value = float(raw) if _NUMBER.fullmatch(raw) else math.nan
        if not low <= value <= high:
            raise InvalidOption(
                f"{name} must be a number from {low:g} to {high:g}, got {_show(raw)}", param=name
            )
        return round(value, places)

    return parse


def _choice(kind: type[StrEnum], aliases: Mapping[str, str] | None = None) -> Parser:
    def parse(name: str, raw: str, limits: Limits) -> Any:
        try:
            return kind((aliases or {}).get(raw, raw))
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise InvalidOption(
                f"{name} must be one of {allowed}, got {_show(raw)}", param=name
            ) from None

    return parse


def _flag(name: str, raw: str, limits: Limits) -> Any:
    if raw not in ("0", "1", "true", "false"):
        raise InvalidOption(f"{name} must be 1 or 0 (or true, false), got {_show(raw)}", param=name)
    return raw in ("1", "true")


def _crop(name: str, raw: str, limits: Limits) -> Any:
    parts = raw.split(",")
    if len(parts) != 4 or not all(_INTEGER.fullmatch(part) for part in parts):
        raise InvalidOption(
            f"{name} must be x,y,w,h in source pixels (four whole numbers), got {_show(raw)}",
            param=name,
        )
    x, y, width, height = (int(part) for part in parts)
    if width < 1 or height < 1:
        raise InvalidOption(f"{name} needs a width and height of at least 1", param=name)
    return (x, y, width, height)


_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


def _colour(name: str, raw: str, limits: Limits) -> Any:
    match = _HEX_COLOUR.fullmatch(raw)
    if match is None:
        raise InvalidOption(
            f"{name} must be a hex colour RGB, RRGGBB or RRGGBBAA, got {_show(raw)}", param=name
        )
    digits = match[1]
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    values = [int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)]
    return Colour(*values)


def _rotation(name: str, raw: str, limits: Limits) -> Any:
    if raw not in ("0", "90", "180", "270"):
        raise InvalidOption(f"{name} must be one of 0, 90, 180, 270, got {_show(raw)}", param=name)
    return int(raw)


def _flip(name: str, raw: str, limits: Limits) -> Any:
    value = {"vh": "hv"}.get(raw, raw)
    if value not in ("h", "v", "hv"):
        raise InvalidOption(f"{name} must be one of h, v, hv, got {_show(raw)}", param=name)
    return value


def _quality(name: str, raw: str, limits: Limits) -> Any:
    target = QualityTarget.parse(raw)
    if target is not None:
        return target
    if _INTEGER.fullmatch(raw) and 1 <= int(raw) <= 100:
        return int(raw)
    levels = ", ".join(target.value for target in QualityTarget.levels())
    raise InvalidOption(
        f"{name} must be an integer from 1 to 100, auto, one of {levels}, or auto:NN with a "
        f"SSIMULACRA2 floor NN from {MIN_FLOOR} to {MAX_FLOOR}, got {_show(raw)}",
        param=name,
    )


def _bounded_integer(low: int, high: int) -> Parser:
    def parse(name: str, raw: str, limits: Limits) -> Any:
        if not _INTEGER.fullmatch(raw) or not low <= int(raw) <= high:
            raise InvalidOption(
                f"{name} must be an integer from {low} to {high}, got {_show(raw)}", param=name
            )
        return int(raw)

    return parse


# Formats with a quality setting, for `fq`.
LOSSY_FORMATS = ("jpeg", "webp", "avif")


def split_format_quality(entry: str) -> tuple[str, int]:
    """`webp:70` -> ("webp", 70)."""
    fmt, _, quality = entry.partition(":")
    return fmt, int(quality)


def _format_qualities(name: str, raw: str, limits: Limits) -> Any:
    entries: dict[str, int] = {}
    for part in raw.split(",")[:8]:
        fmt, colon, quality = part.partition(":")
        fmt = FORMAT_ALIASES.get(fmt, fmt)
        if fmt not in LOSSY_FORMATS or not colon or not _INTEGER.fullmatch(quality):
            entries.clear()
            break
        if fmt in entries or not 1 <= int(quality) <= 100:
            entries.clear()
            break
        entries[fmt] = int(quality)
    if not entries or len(raw.split(",")) > len(LOSSY_FORMATS):
        raise InvalidOption(
            f"{name} must be FORMAT:QUALITY pairs separated by commas, each format "
            f"({', '.join(LOSSY_FORMATS)}) once and each quality from 1 to 100, "
            f"e.g. webp:70,avif:50, got {_show(raw)}",
            param=name,
        )
    return tuple(f"{fmt}:{quality}" for fmt, quality in sorted(entries.items()))


_PARSERS: dict[str, Parser] = {
    "w": _dimension,
    "h": _dimension,
    "dpr": _number_in(1, MAX_DPR, 2),
    "fit": _choice(Fit),
    "fmt": _fmt,
    "q": _quality,
    "v": _version,
    "gravity": _choice(Gravity, {"centre": "center"}),
    "fx": _number_in(0, 1, 3),
    "fy": _number_in(0, 1, 3),
    "crop": _crop,
    "enlarge": _flag,
    "bg": _colour,
    "blur": _number_in(0.3, 100, 2),
    "sharpen": _number_in(0.3, 10, 2),
    "rot": _rotation,
    "flip": _flip,
    "trim": _bounded_integer(0, 255),
    "gray": _flag,
    "lossless": _flag,
    "png8": _flag,
    "frame": _bounded_integer(0, 100_000),
    **filters.FILTER_PARSERS,
    "max_bytes": _bounded_integer(100, MAX_BYTES_LIMIT),
    "max_age": _bounded_integer(0, MAX_AGE_LIMIT),
    "fq": _format_qualities,
    **OVERLAY_PARSERS,
}
PARAMETERS = tuple(_PARSERS)
PRESET = "preset"


def _expand_presets(
    pairs: list[tuple[str, str]], limits: Limits
) -> list[tuple[str, str, str | None]]:
    """Replace `preset=NAME` by its pairs, remembering which preset set each one."""
    named = [raw for name, raw in pairs if name == PRESET]
    if limits.only_presets:
        extra = sorted({name for name, _ in pairs if name not in (PRESET, "v")})
        if extra or not named:
            presets = ", ".join(sorted(limits.presets)) or "(none configured)"
            raise InvalidOption(
                f"only presets are accepted here: use preset= one of {presets}"
                + (f" instead of {', '.join(map(_show, extra))}" if extra else ""),
                param=extra[0][:40] if extra else PRESET,
            )
    if len(named) > 1:
        raise InvalidOption(f"{PRESET} is given more than once", param=PRESET)
    expanded: list[tuple[str, str, str | None]] = []
    if named:
        preset = limits.presets.get(named[0])
        if preset is None:
            presets = ", ".join(sorted(limits.presets)) or "(none configured)"
            raise InvalidOption(
                f"{PRESET} must be one of {presets}, got {_show(named[0])}", param=PRESET
            )
        expanded += [(name, raw, named[0]) for name, raw in preset]
    expanded += [(name, raw, None) for name, raw in pairs if name != PRESET]
    return expanded


def parse_options(pairs: Iterable[tuple[str, str]], limits: Limits | None = None) -> Options:
    """Build `Options` from query pairs, rejecting unknown, repeated and invalid ones."""
    limits = limits or Limits()
    fields: dict[str, Any] = {}
    origins: dict[str, str | None] = {}
    for name, raw, preset in _expand_presets(list(pairs), limits):
        parser = _PARSERS.get(name)
        if parser is None:
            allowed = ", ".join([*PARAMETERS, PRESET])
            raise InvalidOption(
                f"unknown parameter {_show(name)}; the parameters are {allowed}", param=name[:40]
            )
        if name in origins:
            by = origins[name] or preset
            detail = f"{name} is set by preset {by}" if by else f"{name} is given more than once"
            raise InvalidOption(detail, param=name)
        origins[name] = preset
        value = parser(name, raw, limits)
        allowed_values = limits.allowed.get(name)
        # `auto` formats and `q=auto`'s three levels are a handful of variants: always
        # allowed; a floor named in the URL (`auto:65`) only when the list names it.
        level = isinstance(value, QualityTarget) and value.level is not None
        if allowed_values is not None and value != AUTO and not level:
            if canonical_text(value) not in allowed_values:
                shown = ", ".join(sorted(allowed_values, key=_natural))
                raise InvalidOption(
                    f"{name} must be one of {shown} on this server, got {_show(raw)}", param=name
                )
        fields[FIELDS[name]] = value
    if fields.get("fmt") == BEST:
        if isinstance(fields.get("quality"), int):
            raise InvalidOption(
                "fmt=best chooses the quality too: give q=auto (or auto:low, auto:high) or no q",
                param="q",
            )
        if fields.get("format_quality"):
            raise InvalidOption(
                "fmt=best chooses the quality too: give q=auto (or auto:low, auto:high) or no fq",
                param="fq",
            )
        if fields.get("lossless"):
            raise InvalidOption(
                "fmt=best compares lossy encodings: with lossless=1 name the format",
                param="lossless",
            )
    filters.check_filters(fields)
    check_overlay_options(origins)
    if "gravity" in origins and ("fx" in origins or "fy" in origins):
        raise InvalidOption(
            "use either gravity or a focal point (fx, fy), not both", param="gravity"
        )
    return Options(**fields).normalised()


def _natural(text: str) -> tuple[float, str]:
    """Sort numbers as numbers and words alphabetically."""
    try:
        return (float(text), "")
    except ValueError:
        return (math.inf, text)

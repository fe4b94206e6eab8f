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
from typing import Any

from .errors import InvalidOption
from .formats import FORMATS

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


FORMAT_ALIASES = {"jpg": "jpeg"}
AUTO = "auto"


@dataclass(frozen=True)
class Options:
    """A validated transform request. Build it with `parse_options`."""

    width: int | None = None
    height: int | None = None
    dpr: float = 1.0
    fit: Fit = Fit.INSIDE
    fmt: str = AUTO
    quality: int | None = None
    version: str | None = None

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
        return self.resizes or self.quality is not None

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
        return replace(
            self,
            dpr=self.dpr if self.resizes else 1.0,
            fit=self.fit if both else Fit.INSIDE,
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
}


def canonical_text(value: object) -> str:
    """How a parsed value is spelled in the canonical query (and in allowlists)."""
    if isinstance(value, StrEnum):
        return str(value.value)
    if isinstance(value, float):
        return _format_number(value)
    return str(value)


def _scaled(value: int | None, dpr: float) -> int | None:
    return None if value is None else max(1, round(value * dpr))


def _show(raw: str) -> str:
    """Quote a client's value for an error message, cut short so messages stay small."""
    return repr(raw if len(raw) <= 40 else raw[:40] + "...")


def _format_number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


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


def _dpr(name: str, raw: str, limits: Limits) -> Any:
    allowed = f"a number from 1 to {MAX_DPR:g} (e.g. 1.5, 2)"
    value = float(raw) if _NUMBER.fullmatch(raw) else math.nan
    if not 1.0 <= value <= MAX_DPR:
        raise InvalidOption(f"{name} must be {allowed}, got {_show(raw)}", param=name)
    return round(value, 2)


def _fit(name: str, raw: str, limits: Limits) -> Any:
    try:
        return Fit(raw)
    except ValueError:
        allowed = ", ".join(fit.value for fit in Fit)
        raise InvalidOption(
            f"{name} must be one of {allowed}, got {_show(raw)}", param=name
        ) from None


def _fmt(name: str, raw: str, limits: Limits) -> Any:
    value = FORMAT_ALIASES.get(raw, raw)
    if value != AUTO and value not in FORMATS:
        allowed = ", ".join([AUTO, *FORMATS, *FORMAT_ALIASES])
        raise InvalidOption(f"{name} must be one of {allowed}, got {_show(raw)}", param=name)
    return value


def _quality(name: str, raw: str, limits: Limits) -> Any:
    if not _INTEGER.fullmatch(raw) or not 1 <= int(raw) <= 100:
        raise InvalidOption(
            f"{name} must be an integer from 1 to 100, got {_show(raw)}", param=name
        )
    return int(raw)


def _version(name: str, raw: str, limits: Limits) -> Any:
    if not _VERSION_TOKEN.fullmatch(raw):
        raise InvalidOption(
            f"{name} must be 1 to 64 characters of letters, digits and . _ ~ -, got {_show(raw)}",
            param=name,
        )
    return raw


_PARSERS: dict[str, Parser] = {
    "w": _dimension,
    "h": _dimension,
    "dpr": _dpr,
    "fit": _fit,
    "fmt": _fmt,
    "q": _quality,
    "v": _version,
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
        if allowed_values is not None and value != AUTO:
            if canonical_text(value) not in allowed_values:
                shown = ", ".join(sorted(allowed_values, key=_natural))
                raise InvalidOption(
                    f"{name} must be one of {shown} on this server, got {_show(raw)}", param=name
                )
        fields[FIELDS[name]] = value
    return Options(**fields).normalised()


def _natural(text: str) -> tuple[float, str]:
    """Sort numbers as numbers and words alphabetically."""
    try:
        return (float(text), "")
    except ValueError:
        return (math.inf, text)

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
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
        pairs: dict[str, str] = {}
        if self.dpr != 1.0:
            pairs["dpr"] = _format_number(self.dpr)
        if self.fit is not Fit.INSIDE:
            pairs["fit"] = self.fit.value
        if self.fmt != AUTO:
            pairs["fmt"] = self.fmt
        if self.height is not None:
            pairs["h"] = str(self.height)
        if self.quality is not None:
            pairs["q"] = str(self.quality)
        if self.version is not None:
            pairs["v"] = self.version
        if self.width is not None:
            pairs["w"] = str(self.width)
        return "&".join(f"{key}={value}" for key, value in sorted(pairs.items()))

    def normalised(self) -> Options:
        """Drop settings that cannot change the result, so they never split the cache."""
        both = self.width is not None and self.height is not None
        return replace(
            self,
            dpr=self.dpr if self.resizes else 1.0,
            fit=self.fit if both else Fit.INSIDE,
        )


def _scaled(value: int | None, dpr: float) -> int | None:
    return None if value is None else max(1, round(value * dpr))


def _show(raw: str) -> str:
    """Quote a client's value for an error message, cut short so messages stay small."""
    return repr(raw if len(raw) <= 40 else raw[:40] + "...")


def _format_number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


Parser = Callable[[str, str, "Limits"], tuple[str, Any]]


@dataclass(frozen=True)
class Limits:
    """Bounds the parser enforces; come from the server's config."""

    max_dimension: int = DEFAULT_MAX_DIMENSION


def _dimension(field: str) -> Parser:
    def parse(name: str, raw: str, limits: Limits) -> tuple[str, Any]:
        allowed = f"an integer from 1 to {limits.max_dimension}"
        if not _INTEGER.fullmatch(raw) or not 1 <= int(raw) <= limits.max_dimension:
            raise InvalidOption(f"{name} must be {allowed}, got {_show(raw)}", param=name)
        return field, int(raw)

    return parse


def _dpr(name: str, raw: str, limits: Limits) -> tuple[str, Any]:
    allowed = f"a number from 1 to {MAX_DPR:g} (e.g. 1.5, 2)"
    value = float(raw) if _NUMBER.fullmatch(raw) else math.nan
    if not 1.0 <= value <= MAX_DPR:
        raise InvalidOption(f"{name} must be {allowed}, got {_show(raw)}", param=name)
    return "dpr", round(value, 2)


def _fit(name: str, raw: str, limits: Limits) -> tuple[str, Any]:
    try:
        return "fit", Fit(raw)
    except ValueError:
        allowed = ", ".join(fit.value for fit in Fit)
        raise InvalidOption(
            f"{name} must be one of {allowed}, got {_show(raw)}", param=name
        ) from None


def _fmt(name: str, raw: str, limits: Limits) -> tuple[str, Any]:
    value = FORMAT_ALIASES.get(raw, raw)
    if value != AUTO and value not in FORMATS:
        allowed = ", ".join([AUTO, *FORMATS, *FORMAT_ALIASES])
        raise InvalidOption(f"{name} must be one of {allowed}, got {_show(raw)}", param=name)
    return "fmt", value


def _quality(name: str, raw: str, limits: Limits) -> tuple[str, Any]:
    if not _INTEGER.fullmatch(raw) or not 1 <= int(raw) <= 100:
        raise InvalidOption(
            f"{name} must be an integer from 1 to 100, got {_show(raw)}", param=name
        )
    return "quality", int(raw)


def _version(name: str, raw: str, limits: Limits) -> tuple[str, Any]:
    if not _VERSION_TOKEN.fullmatch(raw):
        raise InvalidOption(
            f"{name} must be 1 to 64 characters of letters, digits and . _ ~ -, got {_show(raw)}",
            param=name,
        )
    return "version", raw


_PARSERS: dict[str, Parser] = {
    "w": _dimension("width"),
    "h": _dimension("height"),
    "dpr": _dpr,
    "fit": _fit,
    "fmt": _fmt,
    "q": _quality,
    "v": _version,
}
PARAMETERS = tuple(_PARSERS)


def parse_options(pairs: Iterable[tuple[str, str]], limits: Limits | None = None) -> Options:
    """Build `Options` from query pairs, rejecting unknown, repeated and invalid ones."""
    limits = limits or Limits()
    fields: dict[str, Any] = {}
    seen: set[str] = set()
    for name, raw in pairs:
        parser = _PARSERS.get(name)
        if parser is None:
            allowed = ", ".join(PARAMETERS)
            raise InvalidOption(
                f"unknown parameter {_show(name)}; the parameters are {allowed}", param=name[:40]
            )
        if name in seen:
            raise InvalidOption(f"{name} is given more than once", param=name)
        seen.add(name)
        field, value = parser(name, raw, limits)
        fields[field] = value
    return Options(**fields).normalised()

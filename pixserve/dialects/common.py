"""What both dialects share: the translated request, the source mapping, refusals.

A dialect module is pure: a URL path in, a `Translated` out. It never touches the
file system itself; when a dialect option is defined relative to the source (thumbor's
`orig`, a focal box in pixels, imgproxy's crop gravity), it asks the `SizeOf` callable
it was given for the source's displayed size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from pixserve.transformer import InvalidOption, Limits, parse_options

Pairs = tuple[tuple[str, str], ...]
Size = tuple[int, int]
# The displayed (EXIF-oriented) size of a source by pixserve name; None: no such image.
SizeOf = Callable[[str], Size | None]


class Verdict(StrEnum):
    """What the URL's signature part says."""

    VALID = "valid"  # signed with one of the configured keys
    UNSIGNED = "unsigned"  # `unsafe`/`insecure`, and the settings allow that
    BAD = "bad"  # missing, malformed, wrong, or unsigned where that is not allowed


@dataclass(frozen=True)
class Translated:
    """A dialect URL in pixserve's terms.

    `name` is the source's path under pixserve's root, or None when the source mapping
    does not allow the reference (a 404). `pairs` are exactly the query pairs
    `?w=...&fit=...` would give. `format_open` says the URL left the output format to
    the server (auto-format rules apply). `meta` asks for thumbor's JSON description
    instead of the image, and `crops` are the boxes thumbor cuts, in its order (each
    in the pixels of the picture the one before left).
    """

    verdict: Verdict
    name: str | None = None
    pairs: Pairs = ()
    format_open: bool = False
    meta: bool = False
    crops: tuple[tuple[int, int, int, int], ...] = ()
    png_to_jpeg: bool = False  # thumbor's autojpg(): a PNG source without alpha as JPEG


DENIED = Translated(Verdict.BAD)


def refuse(option: str, detail: str) -> InvalidOption:
    """The 400 for a dialect option pixserve cannot honour; `option` names it as written."""
    shown = option if len(option) <= 40 else option[:40] + "..."
    return InvalidOption(f"{shown}: {detail}", param=shown)


@dataclass(frozen=True)
class SourceMap:
    """The old server's source prefixes, each mapped to a folder under pixserve's root.

    The longest matching prefix wins; a reference no prefix matches is refused (None),
    so a dialect URL can never make pixserve read anything the mapping does not name,
    let alone fetch from an arbitrary host.
    """

    entries: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, setting: str, specs: Iterable[str]) -> SourceMap:
        """From `OLD_PREFIX=FOLDER` texts (FOLDER may be empty: the root itself)."""
        entries: list[tuple[str, str]] = []
        for spec in specs:
            old, equals, folder = spec.rpartition("=")
            if not equals:
                raise ValueError(f"{setting}: expected OLD_PREFIX=FOLDER entries, got {spec!r}")
            folder = folder.strip("/")
            entries.append((old, f"{folder}/" if folder else ""))
        return cls(tuple(sorted(entries, key=lambda entry: len(entry[0]), reverse=True)))

    def resolve(self, reference: str) -> str | None:
        """The pixserve name for a source reference, or None when no prefix allows it."""
        for old, folder in self.entries:
            if reference.startswith(old):
                rest = reference[len(old) :].lstrip("/")
                return folder + rest if rest else None
        return None


@dataclass
class PairBuilder:
    """Collects pixserve pairs, remembering which dialect option set each, so a
    validation error names the option the client wrote."""

    pairs: dict[str, str]
    origins: dict[str, str]

    @classmethod
    def empty(cls) -> PairBuilder:
        return cls({}, {})

    def set(self, param: str, value: str, origin: str) -> None:
        self.pairs[param] = value
        self.origins[param] = origin

    def drop(self, *params: str) -> None:
        for param in params:
            self.pairs.pop(param, None)
            self.origins.pop(param, None)

    def checked(self, limits: Limits | None) -> Pairs:
        """The pairs in a stable order, after pixserve's own parser accepted them."""
        pairs = tuple(sorted(self.pairs.items()))
        try:
            parse_options(pairs, limits)
        except InvalidOption as error:
            origin = self.origins.get(error.param or "", "")
            if origin:
                raise refuse(origin, error.detail) from error
            raise
        return pairs


def number(option: str, raw: str, *, low: float, high: float) -> float:
    """A decimal number within bounds, or a 400 naming the option."""
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise refuse(option, f"expected a number from {low:g} to {high:g}, got {raw[:40]!r}")
    return value


def integer(option: str, raw: str, *, low: int, high: int) -> int:
    """A whole number within bounds, or a 400 naming the option."""
    text = raw[1:] if raw.startswith("-") else raw
    if not text.isdigit() or len(text) > 12 or not low <= int(raw) <= high:
        raise refuse(option, f"expected a whole number from {low} to {high}, got {raw[:40]!r}")
    return int(raw)


def text_number(value: float) -> str:
    """A number as pixserve's query spells it (no trailing zeros)."""
    return f"{value:.3f}".rstrip("0").rstrip(".")

"""`max_bytes`: the highest quality whose encoding fits a byte budget.

thumbor and imgproxy both lower the quality until the encoded picture fits, and both
stop at quality 10; they differ in the steps (thumbor multiplies by 0.75 and then
climbs back by 1.1, imgproxy jumps by how far over the budget it is) and in what a
budget nothing fits gets (thumbor its first encode, imgproxy its last, at 10). Here
the search interpolates between the nearest quality that fits and the nearest that
does not (regula falsi on the size and on its logarithm), so it ends on or next to
the highest fitting quality within `MAX_ENCODES` encodes, and a budget nothing fits
gets the quality-10 encoding: the smallest, as imgproxy answers.

Only lossy formats have a quality to lower: PNG, GIF and lossless WebP or AVIF are
encoded once, as they are, whatever their size (both servers do the same).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from .context import Check, unchecked
from .encode import encode
from .formats import Format
from .options import LOSSY_FORMATS, Options

# Both thumbor and imgproxy stop lowering the quality here.
FLOOR_QUALITY = 10
# Encodes one budget may cost, the first (at the requested quality) included: the
# first, the floor, then four interpolations, which on the corpus photos end within
# one or two quality steps of the highest that fits (tests/test_budget.py compares
# with every quality).
MAX_ENCODES = 6


@dataclass(frozen=True)
class Fitted:
    """The bytes kept, their quality and how many encodes the search made in all."""

    data: bytes
    quality: int
    encodes: int


def budgeted(fmt: Format, options: Options) -> bool:
    """Whether `max_bytes` can lower this output's quality: a lossy, non-lossless format."""
    return options.max_bytes is not None and fmt.name in LOSSY_FORMATS and not options.lossless


def fit_bytes(
    encode_at: Callable[[int], bytes],
    first: bytes,
    start: int,
    budget: int,
    check: Check = unchecked,
) -> Fitted:
    """The encoding at the highest quality from `FLOOR_QUALITY` to `start` whose size
    is at most `budget`, given `first`, the encoding at `start`; when none fits, the
    encoding at `FLOOR_QUALITY` (the smallest made). `check` goes before each encode."""
    if len(first) <= budget or start <= FLOOR_QUALITY:
        return Fitted(first, start, 1)
    made: dict[int, bytes] = {start: first}

    def size_at(quality: int) -> int:
        check()
        made[quality] = encode_at(quality)
        return len(made[quality])

    if size_at(FLOOR_QUALITY) > budget:
        return Fitted(made[FLOOR_QUALITY], FLOOR_QUALITY, len(made))
    # Regula falsi on size - budget, with the Illinois rule: an end kept twice in a
    # row counts half as far from the budget, so the bracket closes from both sides.
    fits, over = FLOOR_QUALITY, start  # the highest known to fit, the lowest known not to
    below, above = float(budget - len(made[fits])), float(len(made[over]) - budget)
    kept = ""
    while over - fits > 1 and len(made) < MAX_ENCODES:
        quality = _guess(fits, over, below, above, made, budget)
        if size_at(quality) <= budget:
            fits, below = quality, float(budget - len(made[quality]))
            above = above / 2 if kept == "over" else above
            kept = "over"
        else:
            over, above = quality, float(len(made[quality]) - budget)
            below = below / 2 if kept == "fits" else below
            kept = "fits"
    return Fitted(made[fits], fits, len(made))


def _guess(
    fits: int, over: int, below: float, above: float, made: dict[int, bytes], budget: int
) -> int:
    """The next quality to try, strictly inside (fits, over): halfway between the
    linear interpolation of the size (right for JPEG, whose size grows about linearly
    with quality) and that of its logarithm (right for steeper curves: AVIF, WebP)."""
    linear = below / (below + above) if below + above > 0 else 0.5
    low, high = math.log(len(made[fits])), math.log(len(made[over]))
    logarithmic = (math.log(budget) - low) / (high - low) if high > low else 0.5
    share = (linear + logarithmic) / 2
    return min(over - 1, max(fits + 1, fits + round(share * (over - fits))))


def start_quality(fmt: Format, options: Options, chosen: int | None = None) -> int:
    """The quality the first encoding used: a `q=auto` search's choice, else `q` or
    the `fq` entry, else the format's default."""
    if chosen is not None:
        return chosen
    quality = options.quality_for(fmt.name)
    return quality if quality is not None else fmt.default_quality or 75


def fit_still(
    image: Image.Image,
    fmt: Format,
    options: Options,
    icc_profile: bytes | None,
    first: bytes,
    chosen: int | None = None,
    check: Check = unchecked,
) -> Fitted:
    """`fit_bytes` for a still picture already encoded as `first` (at `chosen`, when a
    `q=auto` search chose the quality); unchanged when `max_bytes` does not apply."""
    start = start_quality(fmt, options, chosen)
    if not budgeted(fmt, options) or options.max_bytes is None:
        return Fitted(first, start, 1)

    def encode_at(quality: int) -> bytes:
        return encode(image, fmt, options, icc_profile, quality=quality)

    return fit_bytes(encode_at, first, start, options.max_bytes, check)

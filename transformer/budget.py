"""`max_bytes`: the highest quality whose encoding fits a byte budget.

thumbor and imgproxy both lower the quality until the encoded picture fits, and both
stop at quality 10; they differ in the steps (thumbor multiplies by 0.75 and then
climbs back by 1.1, imgproxy jumps by how far over the budget it is) and in what a
budget nothing fits gets (thumbor its first encode, imgproxy its last, at 10). Here
the search interpolates between the nearest quality that fits and the nearest that
does not (on the size and on its logarithm, kept off the bracket's ends), so it ends on
or next to the highest fitting quality within `MAX_ENCODES` encodes, and a budget
nothing fits gets the quality-10 encoding: the smallest, as imgproxy answers.

Only lossy formats have a quality to lower: PNG, GIF and lossless WebP or AVIF are
encoded once, as they are, whatever their size (both servers do the same).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from .context import Check, unchecked
from .encode import DEFAULT_ENCODER, EncoderSettings, encode
from .formats import Format
from .options import LOSSY_FORMATS, Options

# Both thumbor and imgproxy stop lowering the quality here.
FLOOR_QUALITY = 10
# Encodes one budget may cost, the first (at the requested quality) included: the
# first, the floor, then four guesses; and how far from the bracket's ends a guess
# stays. Chosen with `python -m benchmarks max_bytes` (figures in docs/url-api.md): on
# six corpus photos in JPEG, WebP and AVIF, 72 budgets, the answer is the highest
# quality that fits in 66 and at most 4 steps below it in all, where thumbor's rule
# ends a median 5 steps below and imgproxy's 6.5.
MAX_ENCODES = 6
EDGE_SHARE = 0.15


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
    fits, over = FLOOR_QUALITY, start  # the highest known to fit, the lowest known not to
    while over - fits > 1 and len(made) < MAX_ENCODES:
        quality = _guess(fits, over, made, budget)
        if size_at(quality) <= budget:
            fits = quality
        else:
            over = quality
    return Fitted(made[fits], fits, len(made))


def _guess(fits: int, over: int, made: dict[int, bytes], budget: int) -> int:
    """The next quality to try, strictly inside (fits, over): halfway between the
    linear interpolation of the size (right for JPEG, whose size grows about linearly
    with quality) and that of its logarithm (right for steeper curves), at least
    `EDGE_SHARE` of the bracket from either end."""
    low_size, high_size = len(made[fits]), len(made[over])
    linear = (budget - low_size) / (high_size - low_size) if high_size > low_size else 0.5
    low, high = math.log(low_size), math.log(high_size)
    logarithmic = (math.log(budget) - low) / (high - low) if high > low else 0.5
    # Kept off the bracket's ends: a curved size curve would otherwise keep every
    # guess next to one end, and the bracket would close from that side only.
    share = min(max((linear + logarithmic) / 2, EDGE_SHARE), 1 - EDGE_SHARE)
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
    encoder: EncoderSettings = DEFAULT_ENCODER,
) -> Fitted:
    """`fit_bytes` for a still picture already encoded as `first` (at `chosen`, when a
    `q=auto` search chose the quality, with the server's `encoder` settings); unchanged
    when `max_bytes` does not apply."""
    start = start_quality(fmt, options, chosen)
    if not budgeted(fmt, options) or options.max_bytes is None:
        return Fitted(first, start, 1)

    def encode_at(quality: int) -> bytes:
        return encode(image, fmt, options, icc_profile, quality=quality, encoder=encoder)

    return fit_bytes(encode_at, first, start, options.max_bytes, check)

"""thumbor's size, format and response filters: `proportion`, `max_bytes`, `max_age`,
`autojpg`, `cover` and `extract_focal`, in pixserve's terms.

Each follows thumbor 7.8's filter of that name (`thumbor/filters/<name>.py` and the
handler's use of what it sets); `thumbor.py` calls in here, so the translation of the
other filters stays as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pixserve.transformer import InvalidOption, parse_options
from pixserve.transformer.options import MAX_AGE_LIMIT, MAX_BYTES_LIMIT
from pixserve.transformer.pipeline import estimate_geometry

from .common import PairBuilder, Size, integer, number, refuse, text_number

if TYPE_CHECKING:
    from .thumbor import Request

# What each becomes (docs/dialects.md's table).
OPTION_FILTERS = {
    "autojpg": "a PNG source without transparency is answered as JPEG (with the format left open)",
    "cover": "frame=0: an animation's first frame, as a still",
    "extract_focal": "the focal box of the crop in a thumbor URL given as the image, and its image",
    "max_age": "max_age (a shorter Cache-Control lifetime, capped by the max_age setting)",
    "max_bytes": "max_bytes (quality lowered until the bytes fit; JPEG, WebP, AVIF)",
    "proportion": "w, h: the result scaled by the factor (enlarging above 1)",
}
# thumbor's `extract_focal` looks this many thumbor URLs deep for a crop.
MAX_NESTING = 10
# The smallest budget pixserve's `max_bytes` takes: no picture is smaller, so a lower
# one gets the same answer (the quality-10 encoding) with this.
MIN_BYTES = 100
# thumbor's `proportion` takes a decimal; this bounds the work a factor may ask for.
MAX_PROPORTION = 100.0
_HOST = re.compile(r"^(https?://)?.*?/")


@dataclass
class Settled:
    """What the option filters leave for after the other filters: the `proportion`
    factor and whether `autojpg` is on (the last of each filter wins, as in thumbor)."""

    proportion: float | None = None
    autojpg: bool = False


def option_filter(name: str, args: str, shown: str, out: PairBuilder, settled: Settled) -> None:
    """Apply one of `OPTION_FILTERS` (`extract_focal` was applied to the request first)."""
    value = args.strip()
    if name == "max_bytes":
        budget = integer(shown, value, low=1, high=MAX_BYTES_LIMIT)
        out.set("max_bytes", str(max(MIN_BYTES, budget)), shown)
    elif name == "max_age":
        out.set("max_age", str(integer(shown, value, low=0, high=MAX_AGE_LIMIT)), shown)
    elif name == "cover":
        if value:
            raise refuse(shown, "cover() takes no arguments")
        out.set("frame", "0", shown)
    elif name == "autojpg":
        settled.autojpg = _boolean(shown, value)
    elif name == "proportion":
        settled.proportion = number(shown, value, low=0, high=MAX_PROPORTION)
    elif name == "extract_focal" and value:
        raise refuse(shown, "extract_focal() takes no arguments")


def _boolean(shown: str, value: str) -> bool:
    """thumbor's `BaseFilter.Boolean`: empty (the default) or a spelling of true/false."""
    if value.lower() in ("", "true", "1", "on", "yes"):
        return True
    if value.lower() in ("false", "0", "off", "no"):
        return False
    raise refuse(shown, f"expected True or False, got {value[:40]!r}")


def proportioned(out: PairBuilder, factor: float, source: Size) -> None:
    """thumbor's `proportion(f)`: the result thumbor would make, then resized by `f`
    (each side; skipped when a side would fall below one pixel). Here: the size
    pixserve plans for the pairs so far, times `f`, asked for exactly."""
    try:
        planned = estimate_geometry(source, parse_options(tuple(out.pairs.items())))
    except InvalidOption:
        return  # the pairs are refused with their own message when checked
    width, height = planned.canvas[0] * factor, planned.canvas[1] * factor
    if width < 1 or height < 1:
        return
    shown = f"proportion({text_number(factor)})"
    out.set("w", str(int(width)), shown)  # thumbor's engines cut the fraction off
    out.set("h", str(int(height)), shown)
    if out.pairs.get("fit") in (None, "inside", "outside"):
        out.set("fit", "fill", shown)  # the planned shape, exactly
    if factor > 1:
        out.set("enlarge", "1", shown)


def with_extracted_focal(request: Request) -> Request:
    """thumbor's `extract_focal()`: when the image is itself a thumbor URL (signed or
    `unsafe`, after a host) with a manual crop, up to `MAX_NESTING` URLs deep, the
    image is that URL's image and the crop box becomes a focal box; otherwise the
    filter does nothing."""
    if not any(item.name == "extract_focal" for item in request.filters):
        return request
    from .thumbor import Filter, parse  # thumbor.py imports this module

    filters = tuple(item for item in request.filters if item.name != "extract_focal")
    reference = request.image
    for _ in range(MAX_NESTING):
        try:
            inner = parse(_HOST.sub("", reference, count=1))
        except InvalidOption:
            break
        if not inner.image or not (inner.signature or inner.unsafe):
            break
        if inner.crop is not None:
            left, top, right, bottom = inner.crop
            focal = Filter("focal", f"{left}x{top}:{right}x{bottom}")
            return replace(request, image=inner.image, filters=(*filters, focal))
        reference = inner.image
    return replace(request, filters=filters)

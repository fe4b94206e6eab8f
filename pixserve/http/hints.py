"""Client Hints (opt-in `client_hints`): size an image by the browser's own numbers.

A page answered with `Accept-CH: Sec-CH-DPR, Sec-CH-Width` makes Chromium send, with
each image request, its device pixel ratio and the width the image will be laid out at
in physical pixels (from `sizes`). A URL without `w` (and `h`) and `dpr` then gets
`w = Sec-CH-Width / DPR` and `dpr = DPR`: one plain URL, the right size for every screen.
Responses that could depend on them say `Vary: Sec-CH-DPR, Sec-CH-Width`.

Under signing (or a width allowlist) the hinted width instead snaps up to a ladder:
the `allowed_widths`, or the widths `image_srcset` would offer for this source. A
signed URL is a promise of bounded work; without the snap, one of them reached every
width from 1 to 8192 through the header alone.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence

from pixserve.config.settings import Config
from pixserve.ladder import DEFAULT_WIDTHS, ladder_widths
from pixserve.sources import Source
from pixserve.sources.facts import UNREADABLE, header_facts
from pixserve.transformer import InvalidOption, Limits, Options, parse_options
from pixserve.transformer.options import MAX_DPR

HINT_HEADERS = ("Sec-CH-DPR", "Sec-CH-Width")


def hints_apply(pairs: Sequence[tuple[str, str]]) -> bool:
    """Whether the hints may size this URL: it names no width, height or dpr."""
    return not {name for name, _ in pairs} & {"w", "h", "dpr", "preset"}


def hint_ladder(config: Config, source: Source) -> tuple[int, ...]:
    """The widths hints may choose for `source`; empty when any width goes.

    The allowlist when set; else, when URLs are signed, the srcset ladder capped at
    the source's width (the whole ladder if its header cannot be read: still bounded).
    """
    if config.http.allowed_widths:
        return tuple(sorted(config.http.allowed_widths))
    if not config.http.signing_keys:
        return ()
    try:
        return tuple(ladder_widths(header_facts(source).size[0]))
    except UNREADABLE:
        return DEFAULT_WIDTHS


def snap(width: int, ladder: Sequence[int]) -> int:
    """The smallest width of the sorted `ladder` at least `width` (else its largest):
    never blurrier than asked for."""
    return ladder[min(bisect.bisect_left(ladder, width), len(ladder) - 1)]


def with_hints(
    options: Options,
    pairs: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    limits: Limits,
    ladder: Sequence[int] = (),
) -> Options:
    """`options` sized by the hints when they apply and make sense, else unchanged.

    With a `ladder`, the physical width snaps to it (at `dpr` 1, the same pixels), so
    the hints can choose among only that many results.
    """
    if not hints_apply(pairs):
        return options
    try:
        dpr = min(MAX_DPR, max(1.0, float(headers.get("Sec-CH-DPR") or 1)))
        width = int(float(headers.get("Sec-CH-Width") or 0))
    except (ValueError, OverflowError):
        return options
    if width <= 0:
        return options
    if ladder:
        hinted = [*pairs, ("w", str(snap(width, ladder)))]
    else:
        hinted = [*pairs, ("w", str(math.ceil(width / dpr))), ("dpr", f"{dpr:.2f}")]
    try:
        return parse_options(hinted, limits)
    except InvalidOption:
        return options  # e.g. outside an allowlist: the URL as written still stands

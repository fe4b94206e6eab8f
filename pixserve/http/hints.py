"""Client Hints (opt-in `client_hints`): size an image by the browser's own numbers.

A page answered with `Accept-CH: Sec-CH-DPR, Sec-CH-Width` makes Chromium send, with
each image request, its device pixel ratio and the width the image will be laid out at
in physical pixels (from `sizes`). A URL without `w` (and `h`) and `dpr` then gets
`w = Sec-CH-Width / DPR` and `dpr = DPR`: one plain URL, the right size for every screen.
Responses that could depend on them say `Vary: Sec-CH-DPR, Sec-CH-Width`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pixserve.transformer import InvalidOption, Limits, Options, parse_options
from pixserve.transformer.options import MAX_DPR

HINT_HEADERS = ("Sec-CH-DPR", "Sec-CH-Width")


def hints_apply(pairs: Sequence[tuple[str, str]]) -> bool:
    """Whether the hints may size this URL: it names no width, height or dpr."""
    return not {name for name, _ in pairs} & {"w", "h", "dpr", "preset"}


def with_hints(
    options: Options,
    pairs: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    limits: Limits,
) -> Options:
    """`options` sized by the hints when they apply and make sense, else unchanged."""
    if not hints_apply(pairs):
        return options
    try:
        dpr = min(MAX_DPR, max(1.0, float(headers.get("Sec-CH-DPR") or 1)))
        width = int(float(headers.get("Sec-CH-Width") or 0))
    except ValueError:
        return options
    if width <= 0:
        return options
    hinted = [*pairs, ("w", str(math.ceil(width / dpr))), ("dpr", f"{dpr:.2f}")]
    try:
        return parse_options(hinted, limits)
    except InvalidOption:
        return options  # e.g. outside an allowlist: the URL as written still stands

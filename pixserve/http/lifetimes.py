"""`max_age=`: a URL's own, shorter `Cache-Control` lifetime (thumbor's `max_age()`).

The operator's setting is the ceiling: a URL may ask for less, never more. It is
applied to every answer of the request (200, 206, 304, hits and misses alike), since
the header is made from the request's options each time and never stored with the
result; the cache key leaves it out, so the bytes are shared.
"""

from __future__ import annotations

import re

_MAX_AGE = re.compile(r"max-age=(\d+)")


def capped_max_age(value: str, requested: int | None) -> str:
    """`value` (a `Cache-Control` made from the settings) with its `max-age` lowered
    to `requested` when that is shorter; a shortened lifetime drops `immutable`."""
    if requested is None:
        return value
    found = _MAX_AGE.match(value)
    if found is None or int(found[1]) <= requested:
        return value
    rest = value[found.end() :].replace(", immutable", "")
    return f"max-age={requested}{rest}"

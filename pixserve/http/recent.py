"""Requests understood recently: a repeated URL skips parsing, signing and hashing.

Understanding a request (`request.py`: options, signature, hints, `Accept`, cache key)
is a pure function of what the client sent and of the source's identity. A repeated
request (the same path, query and the headers that can change the answer) therefore
gets the same `ImageRequest` back, once the source is found again and is still the
very one it was made from (`Sources.find` returns an equal value only for an unchanged
original; a local file is checked with one `lstat`, see `pixserve.sources.local`).
Only requests that passed every check are remembered, so a memo never lets through
what the full path would refuse: the signature covers the path and query in the key.
Only local sources are: a mount's source is a new value at each find (its fetch).

Measured in `benchmarks/cache_hits.py` and the sharp race's hits (README: Performance).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from pixserve.http.request import ImageRequest
    from pixserve.sources import Source

RECENT_MAX = 4096  # requests remembered per process (the oldest forgotten first)
# What a request's understanding reads besides the source: its path and query, and
# the headers negotiation, Save-Data and the client hints look at.
_READ_FROM_ENVIRON = (
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_ACCEPT",
    "HTTP_SAVE_DATA",
    "HTTP_SEC_CH_DPR",
    "HTTP_SEC_CH_WIDTH",
)

RequestKey: TypeAlias = tuple[Any, ...]


def request_key(kind: str, environ: dict[str, Any]) -> RequestKey:
    """Everything of the request its understanding depends on, as a hashable key."""
    return (kind, *map(environ.get, _READ_FROM_ENVIRON))


class RecentRequests:
    """A bounded per-process memo from `request_key` to the `ImageRequest` it gave."""

    def __init__(self, size: int = RECENT_MAX) -> None:
        self.size = size
        self._understood: dict[RequestKey, ImageRequest] = {}

    def __contains__(self, key: RequestKey) -> bool:
        return key in self._understood

    def get(self, key: RequestKey, source: Source | None) -> ImageRequest | None:
        """The remembered request for `key` when it was made from `source` as found now."""
        remembered = self._understood.get(key)
        if remembered is None:
            return None
        if source is not None and (remembered.source is source or remembered.source == source):
            return remembered
        self._understood.pop(key, None)  # the source changed or went away
        return None

    def remember(self, key: RequestKey, understood: ImageRequest) -> None:
        if len(self._understood) >= self.size:
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):  # threads race
                del self._understood[next(iter(self._understood))]
        self._understood[key] = understood

"""Requests seen recently: the one per-process memo of the hit path, shared by the
Flask path (`request.py`) and the hit shortcut (`shortcut.py`).

Understanding a request (`request.py`: options, signature, hints, `Accept`, cache key)
is a pure function of what the client sent and of the source's identity. A repeated
request (the same path, query and the headers that can change the answer) therefore
gets the same `ImageRequest` back, once the source is found again and is still the
very one it was made from (`Sources.find` returns an equal value only for an unchanged
original; a local file is checked with one `lstat`, see `pixserve.sources.local`).
Only requests that passed every check are remembered, so a memo never lets through
what the full path would refuse: the signature covers the path and query in the key.
Only local sources are: a mount's source is a new value at each find (its fetch).

Beside the understood request, its entry keeps the answers the shortcut replays (a
hit's and a 304's status and headers): they belong to that request, so a request made
anew (its source changed) starts with none. The key holds `Origin` too, as the kept
headers do (CORS). One key per request: the shortcut looks it up once, and when the
app answers after all it leaves what it found in the environ (`RECALLED`) for the view.

Measured in `benchmarks/cache_hits.py` and the sharp race's hits (docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from pixserve.cache.lru import LRU

if TYPE_CHECKING:
    from pixserve.http.request import ImageRequest
    from pixserve.http.shortcut import Replay
    from pixserve.sources import Source

RECENT_MAX = 4096  # requests remembered per process (the least recently seen forgotten)
# What a request's understanding reads besides the source: its path and query, and
# the headers negotiation, Save-Data and the client hints look at; and `Origin`,
# which the CORS headers of a kept answer depend on.
_READ_FROM_ENVIRON = (
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_ACCEPT",
    "HTTP_SAVE_DATA",
    "HTTP_SEC_CH_DPR",
    "HTTP_SEC_CH_WIDTH",
    "HTTP_ORIGIN",
)
# Where the shortcut leaves a request's key and entry (`Recalled`) for the view.
RECALLED = "pixserve.recalled"

RequestKey: TypeAlias = tuple[Any, ...]


def request_key(kind: str, environ: dict[str, Any]) -> RequestKey:
    """Everything of the request its understanding depends on, as a hashable key."""
    return (kind, *map(environ.get, _READ_FROM_ENVIRON))


@dataclass
class Remembered:
    """A request understood, and the app's answers to it that the shortcut replays."""

    request: ImageRequest
    hit: Replay | None = None
    not_modified: Replay | None = None


@dataclass(frozen=True)
class Recalled:
    """A request's key and what the memo held for it when the shortcut looked."""

    key: RequestKey
    remembered: Remembered | None


class RecentRequests:
    """A bounded per-process memo from `request_key` to what was `Remembered`."""

    def __init__(self, size: int = RECENT_MAX) -> None:
        self._memo: LRU[RequestKey, Remembered] = LRU(size)

    def __len__(self) -> int:
        return len(self._memo)

    def get(self, key: RequestKey) -> Remembered | None:
        """What was remembered for `key`, unchecked (see `still`)."""
        return self._memo.get(key)

    def still(self, key: RequestKey, remembered: Remembered, source: Source | None) -> bool:
        """Was `remembered` made from `source` as found now? If not, it is forgotten."""
        made_from = remembered.request.source
        if source is not None and (made_from is source or made_from == source):
            return True
        self._memo.pop(key, remembered)  # the source changed or went away
        return False

    def remember(self, key: RequestKey, understood: ImageRequest) -> Remembered:
        remembered = Remembered(understood)
        self._memo.put(key, remembered)
        return remembered

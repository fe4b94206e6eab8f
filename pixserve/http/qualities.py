"""Where `q=auto` remembers its choices: tiny entries in the result cache.

One entry per (source version, picture, format, target, size bucket) holds the chosen
quality as text, under its own extension (`.quality`), so the cache's size limit,
eviction, expiry and `pixserve cache purge <source>` cover it like any result. Every
worker and every node sharing the cache folder then starts from one search.
"""

from __future__ import annotations

import hashlib

from pixserve import transformer
from pixserve.cache import DiskCache
from pixserve.sources.base import Source

EXTENSION = "quality"


class CachedQualities:
    """A `transformer.quality.QualityMemory` for one source version."""

    def __init__(self, cache: DiskCache, source: Source) -> None:
        self.cache = cache
        self.source = source

    def _key(self, key: str) -> str:
        parts = (
            transformer.VERSION,
            EXTENSION,
            self.source.name,
            self.source.version,
            key,
        )
        return hashlib.blake2b("\n".join(parts).encode(), digest_size=20).hexdigest()

    def get(self, key: str) -> int | None:
        path = self.cache.lookup(self._key(key), (EXTENSION,))
        if path is None:
            return None
        try:
            text = path.read_text("ascii")
        except (OSError, UnicodeDecodeError):
            return None  # evicted meanwhile, or not ours: search afresh
        return int(text) if text.isdigit() else None

    def put(self, key: str, quality: int) -> None:
        self.cache.store(self._key(key), EXTENSION, str(quality).encode(), self.source.name)

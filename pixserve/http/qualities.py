"""Where `q=auto` remembers its choices (tiny entries in the result cache), and the
`auto_quality` setting's default target.

One entry per (source version, picture, format, target, size bucket) holds the chosen
quality as text, under its own extension (`.quality`), so the cache's size limit,
eviction, expiry and `pixserve cache purge <source>` cover it like any result. Every
worker and every node sharing the cache folder then starts from one search.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from pixserve import transformer
from pixserve.cache import DiskCache
from pixserve.http.negotiate import Choice
from pixserve.sources.base import Source
from pixserve.transformer import SOURCE_OUTPUT_FORMATS, Options
from pixserve.transformer.options import QualityTarget

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


def with_default_target(
    options: Options, target: QualityTarget | None, source: Source, choice: Choice
) -> Options:
    """`auto_quality`: a URL without `q` gets the configured `q=auto` target.

    It is set on the options, so the canonical query, the cache key, the ETag and
    `Vary: Save-Data` follow: toggling the setting never serves the other's results.
    A request answered with the source's own bytes (no option changes the picture and
    the output format is the source's) is left alone: a setting must not turn those
    into encodes.
    """
    if target is None or options.quality is not None or options.format_quality:
        return options  # the URL chose its qualities (`q`, or `fq` per format)
    own_format = SOURCE_OUTPUT_FORMATS.get(source.format or "")
    if not options.reencodes and choice.format is not None and choice.format is own_format:
        return options
    return replace(options, quality=target)

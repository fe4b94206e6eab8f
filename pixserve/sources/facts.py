"""A source's header facts (displayed size, frames, transparency), read once per version.

The template helpers, client hints and the thumbor/imgproxy routes all need them
before any result exists; they share this one cache instead of each reading the file.
"""

from __future__ import annotations

import functools

from pixserve.sources.base import Source
from pixserve.transformer import ImageLimits
from pixserve.transformer.info import HeaderFacts, read_header


def header_facts(source: Source, limits: ImageLimits | None = None) -> HeaderFacts:
    """Raises what reading the source or its header raises (OSError, TransformError)."""
    return _facts(source.name, source.version, source, limits)


@functools.lru_cache(maxsize=1024)
def _facts(name: str, version: str, source: Source, limits: ImageLimits | None) -> HeaderFacts:
    return read_header(source.read(), limits)

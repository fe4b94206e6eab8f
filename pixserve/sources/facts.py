"""A source's header facts (displayed size, frames, transparency), read once per version.

The template helpers, client hints and the thumbor/imgproxy routes all need them
before any result exists; they share this one cache instead of each reading the file.
"""

from __future__ import annotations

import functools

from werkzeug.exceptions import NotFound

from pixserve.sources.base import Source
from pixserve.sources.errors import OriginAddressRefused, OriginFailed, OriginTimeout
from pixserve.transformer import ImageLimits, TransformError
from pixserve.transformer.info import HeaderFacts, read_header

# What finding or reading a source raises when it cannot be had: gone or unreadable
# locally, not an image, not at its origin (`NotFound`), or an origin that failed or
# was too slow. The helpers, hints
# and `cache warm` fall back on these (a page never fails for one image); a request
# for the image itself answers each as its problem.
UNREADABLE = (
    OSError,
    TransformError,
    NotFound,
    OriginFailed,
    OriginAddressRefused,
    OriginTimeout,
)


def header_facts(source: Source, limits: ImageLimits | None = None) -> HeaderFacts:
    """Raises what reading the source or its header raises (`UNREADABLE`)."""
    return _facts(source.name, source.version, source, limits)


@functools.lru_cache(maxsize=1024)
def _facts(name: str, version: str, source: Source, limits: ImageLimits | None) -> HeaderFacts:
    return read_header(source.read(), limits)

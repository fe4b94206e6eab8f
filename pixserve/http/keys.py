"""The cache key, which is also the ETag: computed without decoding anything.

It hashes everything that decides the output bytes: the transformer's version, the
source's identity (its name and `version`, the same on every node for the same
object), the canonical options (less `max_age`, which sets a header, not the bytes:
URLs differing only in it share one entry) and the output format choice. The same request gets
the same key after a restart and on every node; a changed source, a new `v=` or a new
transformer version gets a new one. So does an AVIF made with another `avif_speed`
than the default (other formats do not depend on it).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from pixserve import transformer
from pixserve.http.negotiate import Choice
from pixserve.sources import Source
from pixserve.transformer import EncoderSettings, Options
from pixserve.transformer.encode import DEFAULT_ENCODER
from pixserve.transformer.formats import AVIF


def cache_key(
    source: Source,
    options: Options,
    choice: Choice,
    overlays: str = "",
    encoder: EncoderSettings = DEFAULT_ENCODER,
) -> str:
    """A 40-hex-digit digest; the strong ETag is this value in quotes. `overlays`: the
    identity of the pictures drawn on it (`sources/watermarks.py`), when any; `encoder`:
    the server's encoder settings."""
    may_be_avif = any(f is AVIF for f in (choice.format, *choice.candidates))
    encoding = encoder.token if may_be_avif else ""
    parts = (
        transformer.VERSION,
        source.name,
        source.version,
        replace(options, max_age=None).canonical(),  # a header's value, not the bytes
        choice.token,
        *((overlays,) if overlays else ()),
        *((encoding,) if encoding else ()),
    )
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=20).hexdigest()


def info_key(source: Source, version: str | None) -> str:
    """The key and ETag of a source's `/info` document."""
    parts = (
        transformer.VERSION,
        "info",
        source.name,
        source.version,
        version or "",
    )
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=20).hexdigest()

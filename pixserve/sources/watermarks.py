"""The pictures a request draws onto its result (`wm`, `ninepatch`): found as any
source is, kept decoded per process.

A watermark is a source name, as in `/image/<name>`, so it may live under the root or
on any mount (S3, an HTTP origin). Finding it is what finding an original is: for a
mount, one fetch per `source_ttl` per node, shared by the workers through the
originals area. Its identity (name and version) goes into the result's cache key and
ETag, so a changed watermark gives new results (on a mount, once `source_ttl` has
passed). Decoding it is done once per version and process, and the decoded pictures
are kept within `OVERLAY_CACHE_BYTES`, least recently used out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from PIL import Image
from werkzeug.exceptions import NotFound

from pixserve.sources.base import Source
from pixserve.transformer import ImageTooLarge, InvalidOption, Options, UnsupportedImage
from pixserve.transformer.overlay_source import decode_overlay

# An overlay is drawn on every result that names it, and kept decoded (4 bytes a
# pixel): 4 megapixels (2000x2000, 16 MB decoded) is far past any logo or frame.
MAX_OVERLAY_PIXELS = 4_000_000
# Decoded overlays kept per process: a handful of logos and frames at most sizes.
OVERLAY_CACHE_BYTES = 64 * 1024 * 1024
# (parameter, Options field) of every option that names a picture to draw.
OVERLAY_PARAMS = (("ninepatch", "ninepatch"), ("wm", "watermark"))


class SourceFinder(Protocol):
    """What `find_overlays` needs of `pixserve.sources.router.Sources`."""

    def find(self, name: str) -> Source | None: ...


@dataclass(frozen=True)
class Overlays:
    """The overlay sources one request names, found: (parameter, name, source)."""

    found: tuple[tuple[str, str, Source], ...]

    @property
    def identity(self) -> str:
        """What the cache key adds: each overlay's parameter, name and version."""
        return "\n".join(f"{param}={name}@{source.version}" for param, name, source in self.found)


def overlay_identity(overlays: Overlays | None) -> str:
    return "" if overlays is None else overlays.identity


def find_overlays(sources: SourceFinder, options: Options, max_bytes: int) -> Overlays | None:
    """The sources `options` draws, found now; None when it draws none. One that is
    missing (or refused) is a 400 naming the parameter; one that is no image a 415;
    an origin that fails is the 502 or 504 it would be for an original."""
    found: list[tuple[str, str, Source]] = []
    for param, field_name in OVERLAY_PARAMS:
        name: str | None = getattr(options, field_name)
        if name is None:
            continue
        try:
            source = sources.find(name)
        except NotFound:  # a mount's origin has no such object: the URL's fault, as for a file
            source = None
        if source is None:
            raise InvalidOption(f"{param}: no image named {name[:80]!r}", param=param)
        if source.format is None:
            raise UnsupportedImage(f"{param}: {name[:80]!r} is not an image format pixserve reads")
        if source.size > max_bytes:
            raise ImageTooLarge(
                f"{param}: {name[:80]!r} is {source.size} bytes; the limit is {max_bytes} bytes",
                param=param,
            )
        found.append((param, name, source))
    return Overlays(tuple(found)) if found else None


class DecodedOverlays:
    """Overlays decoded once per (name, version) and process, within `budget` bytes."""

    def __init__(
        self, budget: int = OVERLAY_CACHE_BYTES, max_pixels: int = MAX_OVERLAY_PIXELS
    ) -> None:
        self.budget = budget
        self.max_pixels = max_pixels
        self._kept: OrderedDict[tuple[str, str], Image.Image] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.decodes = 0  # how many times a picture was decoded (tests, metrics)

    def pictures(self, overlays: Overlays) -> dict[str, Image.Image]:
        """Each overlay's decoded picture, by name (what `transform(overlays=...)` takes)."""
        return {name: self._picture(param, name, source) for param, name, source in overlays.found}

    def _picture(self, param: str, name: str, source: Source) -> Image.Image:
        key = (name, source.version)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
                return kept
        try:
            data = source.read()
        except OSError:  # removed since it was found
            raise InvalidOption(f"{param}: no image named {name[:80]!r}", param=param) from None
        picture = decode_overlay(data, self.max_pixels, param, name)
        self._keep(key, picture)
        return picture

    def _keep(self, key: tuple[str, str], picture: Image.Image) -> None:
        size = picture.width * picture.height * len(picture.getbands())
        with self._lock:
            self.decodes += 1
            if size > self.budget or key in self._kept:
                return
            self._kept[key] = picture
            self._bytes += size
            while self._bytes > self.budget:
                _, dropped = self._kept.popitem(last=False)
                self._bytes -= dropped.width * dropped.height * len(dropped.getbands())

"""Decoded sources kept for the next transform of the same picture at the same scale.

Why: a page asks for each source several times at once: each width of its srcset
ladder, and each width in AVIF for one browser and WebP for another. The widths of a
ladder often decode at the same JPEG scale (the street photo at 960 and 1280 px both
at 1/2), and both formats of a width always do; decoding is the biggest part of a
small transform. So the decoded, upright, sRGB picture is kept, within a byte budget
and for a short while (a page's first visit is a burst), keyed by the source's digest,
the decoded size and what else the decode steps read. A kept picture gives exactly
the pixels a fresh decode would, so the output is the same bytes either way.
(imagor keeps a byte-budgeted cache of decoded sources for the same reason.)
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

from PIL import Image

from .context import Context
from .faces import Face

# How long a decoded source is kept unused: a page's first visit asks for all its
# variants within seconds; keeping it longer only holds memory.
KEEP_SECONDS = 30.0


def pixel_bytes(image: Image.Image) -> int:
    """What Pillow stores a pixel in: one byte for one band, else four (RGB too)."""
    return 1 if len(image.getbands()) == 1 else 4


@dataclass(frozen=True)
class Decoded:
    """What the decode steps leave in a `Context`: the picture and the facts about it."""

    image: Image.Image
    scale: float
    extent: tuple[float, float] | None
    icc_profile: bytes | None
    # shared by every transform given this decode: a smart crop's faces, found once
    faces_memo: list[tuple[Face, ...]] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return self.image.width * self.image.height * pixel_bytes(self.image)

    @classmethod
    def of(cls, ctx: Context) -> Decoded:
        """A copy of `ctx`'s decoded picture: later steps may change theirs in place."""
        return cls(ctx.image.copy(), ctx.scale, ctx.extent, ctx.icc_profile, ctx.faces_memo)

    def into(self, ctx: Context) -> None:
        """Give `ctx` its own copy, as if it had decoded the source itself."""
        ctx.image = self.image.copy()
        ctx.scale, ctx.extent, ctx.icc_profile = self.scale, self.extent, self.icc_profile
        ctx.faces_memo = self.faces_memo


class DecodedSources:
    """A least-recently-used set of `Decoded` within `budget` bytes; thread-safe.

    A picture over half the budget is not kept (it would push out all the others).
    """

    def __init__(self, budget: int, keep_seconds: float = KEEP_SECONDS) -> None:
        self.budget = budget
        self.keep_seconds = keep_seconds
        self._kept: OrderedDict[Hashable, tuple[Decoded, float]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(source: bytes, ctx: Context) -> Hashable:
        """Everything the decode steps read: the source, the size the decoder was asked
        for (`shrink_on_load` has set it), the frame and the colour settings."""
        digest = hashlib.blake2b(source, digest_size=16).digest()
        return (digest, ctx.image.size, ctx.options.frame, ctx.colour)

    def take(self, key: Hashable) -> Decoded | None:
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            found = self._kept.get(key)
            if found is None:
                self.misses += 1
                return None
            self._kept[key] = (found[0], now)
            self._kept.move_to_end(key)
            self.hits += 1
            return found[0]

    def keep(self, key: Hashable, decoded: Decoded) -> None:
        size = decoded.nbytes
        if size > self.budget // 2:
            return
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self._bytes -= old[0].nbytes
            self._kept[key] = (decoded, time.monotonic())
            self._bytes += size
            while self._bytes > self.budget:
                _, (dropped, _) = self._kept.popitem(last=False)
                self._bytes -= dropped.nbytes

    def wants(self, ctx: Context) -> bool:
        """Only stills, and only pictures it would keep (a cheap check before hashing)."""
        width, height = ctx.image.size
        return ctx.animation_frame is None and width * height * 4 <= self.budget // 2

    @property
    def kept_bytes(self) -> int:
        return self._bytes

    def _expire(self, now: float) -> None:
        while self._kept:
            key, (decoded, used) = next(iter(self._kept.items()))
            if now - used <= self.keep_seconds:
                return
            del self._kept[key]
            self._bytes -= decoded.nbytes

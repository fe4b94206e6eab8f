"""The output formats: one table holding everything each format needs.

Default qualities were chosen with `benchmarks/encoders.py` (figures in docs/quality.md):
for each format, the lowest setting whose SSIM against a full-decode LANCZOS reference
stays at or above 0.95 on every photo of the corpus at 640 px, the point past which
lower settings show visible loss on detailed photos (street scene) first.

`max_side` is the longest side each encoder can write (None: no limit below our pixel
limits), found by encoding 8 x N pictures at the edges: libwebp's 16383, libjpeg's
65500, GIF's 16-bit fields (65535) and AV1's 65536.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Format:
    """An encodable output format."""

    name: str
    pillow_name: str
    mimetype: str
    extension: str
    default_quality: int | None
    has_alpha: bool
    max_side: int | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        """Unpickled as the table's own entry (from a transform run in a child process),
        so formats still compare by identity."""
        return (_named, (self.name,))


JPEG = Format("jpeg", "JPEG", "image/jpeg", "jpg", 75, has_alpha=False, max_side=65500)
PNG = Format("png", "PNG", "image/png", "png", None, has_alpha=True)
WEBP = Format("webp", "WEBP", "image/webp", "webp", 80, has_alpha=True, max_side=16383)
AVIF = Format("avif", "AVIF", "image/avif", "avif", 60, has_alpha=True, max_side=65536)
GIF = Format("gif", "GIF", "image/gif", "gif", None, has_alpha=True, max_side=65535)

FORMATS: dict[str, Format] = {f.name: f for f in (JPEG, PNG, WEBP, AVIF, GIF)}
BY_EXTENSION: dict[str, Format] = {f.extension: f for f in FORMATS.values()}


def _named(name: str) -> Format:
    return FORMATS[name]

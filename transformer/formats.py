"""The output formats: one table holding everything each format needs.

Default qualities were chosen with `benchmarks/encoders.py` (figures in the README):
for each format, the lowest setting whose SSIM against a full-decode LANCZOS reference
stays at or above 0.95 on every photo of the corpus at 640 px, the point past which
lower settings show visible loss on detailed photos (street scene) first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    """An encodable output format."""

    name: str
    pillow_name: str
    mimetype: str
    extension: str
    default_quality: int | None
    has_alpha: bool


JPEG = Format("jpeg", "JPEG", "image/jpeg", "jpg", 75, has_alpha=False)
PNG = Format("png", "PNG", "image/png", "png", None, has_alpha=True)
WEBP = Format("webp", "WEBP", "image/webp", "webp", 80, has_alpha=True)
AVIF = Format("avif", "AVIF", "image/avif", "avif", 60, has_alpha=True)
GIF = Format("gif", "GIF", "image/gif", "gif", None, has_alpha=True)

FORMATS: dict[str, Format] = {f.name: f for f in (JPEG, PNG, WEBP, AVIF, GIF)}
BY_EXTENSION: dict[str, Format] = {f.extension: f for f in FORMATS.values()}

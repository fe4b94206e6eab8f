"""Encode a finished picture with per-format settings."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from .formats import AVIF, GIF, JPEG, PNG, WEBP, Format

# AVIF's speed 0..10 trades encode time for size. Measured at 640 px (benchmarks/
# encoders.py): speed 8 encodes in ~23 ms, speed 6 in ~95 ms and speed 4 in ~600 ms,
# for only 6-8% fewer bytes at the same SSIM.
AVIF_SPEED = 8


def _settings(fmt: Format, quality: int | None, lossless: bool = False) -> dict[str, Any]:
    if fmt is JPEG:
        return {"quality": quality or JPEG.default_quality, "optimize": True}
    if fmt is WEBP:
        if lossless:  # quality is then the effort spent on compression
            return {"lossless": True, "quality": quality or WEBP.default_quality, "method": 4}
        return {"quality": quality or WEBP.default_quality, "method": 4}
    if fmt is AVIF:
        if lossless:
            # Pillow's AVIF encoder always goes through YUV, so the closest it offers is
            # quality 100 with full-resolution chroma: visually, not bit-exactly, lossless.
            return {"quality": 100, "subsampling": "4:4:4", "speed": AVIF_SPEED}
        return {"quality": quality or AVIF.default_quality, "speed": AVIF_SPEED}
    if fmt is PNG:
        return {"compress_level": 6}
    if fmt is GIF:
        return {"optimize": False}
    raise AssertionError(f"no encoder settings for {fmt.name}")


def encode(
    image: Image.Image,
    fmt: Format,
    quality: int | None,
    lossless: bool = False,
    icc_profile: bytes | None = None,
) -> bytes:
    """Encode `image` as `fmt`, with no metadata but a kept ICC profile (if any).

    `lossless` matters for WebP and AVIF only (JPEG has none; PNG and GIF always are).
    """
    buffer = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile and fmt is not GIF else {}
    image.save(buffer, fmt.pillow_name, **_settings(fmt, quality, lossless), **extra)
    return buffer.getvalue()


def encode_frames(
    frames: list[Image.Image],
    durations: list[int],
    loop: int | None,
    fmt: Format,
    quality: int | None,
    lossless: bool = False,
) -> bytes:
    """Encode an animation (GIF or WebP) with per-frame durations and a loop count.

    Frames are whole pictures, so GIF frames replace each other (disposal 2).
    """
    buffer = io.BytesIO()
    extra: dict[str, Any] = {} if loop is None else {"loop": loop}
    if fmt is GIF:
        extra["disposal"] = 2
    frames[0].save(
        buffer,
        fmt.pillow_name,
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        **_settings(fmt, quality, lossless),
        **extra,
    )
    return buffer.getvalue()

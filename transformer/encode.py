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


def _settings(fmt: Format, quality: int | None) -> dict[str, Any]:
    if fmt is JPEG:
        return {"quality": quality or JPEG.default_quality, "optimize": True}
    if fmt is WEBP:
        return {"quality": quality or WEBP.default_quality, "method": 4}
    if fmt is AVIF:
        return {"quality": quality or AVIF.default_quality, "speed": AVIF_SPEED}
    if fmt is PNG:
        return {"compress_level": 6}
    if fmt is GIF:
        return {"optimize": False}
    raise AssertionError(f"no encoder settings for {fmt.name}")


def encode(image: Image.Image, fmt: Format, quality: int | None) -> bytes:
    """Encode `image` as `fmt`; the picture has no metadata left to carry."""
    buffer = io.BytesIO()
    image.save(buffer, fmt.pillow_name, **_settings(fmt, quality))
    return buffer.getvalue()


def encode_frames(
    frames: list[Image.Image],
    durations: list[int],
    loop: int | None,
    fmt: Format,
    quality: int | None,
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
        **_settings(fmt, quality),
        **extra,
    )
    return buffer.getvalue()

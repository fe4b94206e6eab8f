"""Encode a finished picture with per-format settings."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from .formats import AVIF, GIF, JPEG, PNG, WEBP, Format
from .options import Options

# AVIF's speed 0..10 trades encode time for size. Measured at 640 px (benchmarks/
# encoders.py): speed 8 encodes in ~23 ms, speed 6 in ~95 ms and speed 4 in ~600 ms,
# for only 6-8% fewer bytes at the same SSIM.
AVIF_SPEED = 8

# Chosen with benchmarks/encoder_options.py (figures in the README):
# - Progressive JPEG saves 1-2% on large detailed photos but adds bytes to small or
#   smooth ones and doubles the encode time; large pictures also show sooner with it.
PROGRESSIVE_FROM_PIXELS = 500_000
# - WebP method 6 makes pictures 4-8% smaller, for 1.4-3.7 ms more up to thumbnail
#   sizes (160 px) but 3.5-8.7 ms at 300 px and 10-33 ms at 640 px, which would add a
#   third to a cold request: so only thumbnails get it.
WEBP_SLOW_UP_TO_PIXELS = 40_000
WEBP_METHOD_SMALL, WEBP_METHOD = 6, 4


def _settings(
    fmt: Format, quality: int | None, lossless: bool = False, pixels: int = 0
) -> dict[str, Any]:
    if fmt is JPEG:
        return {
            "quality": quality or JPEG.default_quality,
            "optimize": True,
            "progressive": pixels >= PROGRESSIVE_FROM_PIXELS,
        }
    if fmt is WEBP:
        method = WEBP_METHOD_SMALL if pixels <= WEBP_SLOW_UP_TO_PIXELS else WEBP_METHOD
        if lossless:  # quality is then the effort spent on compression
            return {"lossless": True, "quality": quality or WEBP.default_quality, "method": method}
        return {"quality": quality or WEBP.default_quality, "method": method}
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
    options: Options,
    icc_profile: bytes | None = None,
    quality: int | None = None,
) -> bytes:
    """Encode `image` as `fmt` by the options' `q`, `lossless` and `png8`, with no
    metadata but a kept ICC profile (if any). `quality` overrides `q` (a `q=auto` probe)."""
    buffer = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile and fmt is not GIF else {}
    if fmt is PNG and options.palette:
        image = to_palette(image)
    quality = quality if quality is not None else options.fixed_quality
    settings = _settings(fmt, quality, options.lossless, image.width * image.height)
    image.save(buffer, fmt.pillow_name, **settings, **extra)
    return buffer.getvalue()


def to_palette(image: Image.Image) -> Image.Image:
    """At most 256 colours (`png8=1`): often a quarter of the bytes, but gradients band
    and soft alpha edges lose levels (benchmarks/encoder_options.py), hence opt-in."""
    if image.mode in ("RGBA", "LA"):
        return image.convert("RGBA").quantize(256, method=Image.Quantize.FASTOCTREE)
    return image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)


def encode_frames(
    frames: list[Image.Image],
    durations: list[int],
    loop: int | None,
    fmt: Format,
    options: Options,
) -> bytes:
    """Encode an animation (GIF or WebP) with per-frame durations and a loop count.

    Frames are whole pictures, so GIF frames replace each other (disposal 2).
    """
    buffer = io.BytesIO()
    extra: dict[str, Any] = {} if loop is None else {"loop": loop}
    if fmt is GIF:
        extra["disposal"] = 2
    pixels = frames[0].width * frames[0].height
    frames[0].save(
        buffer,
        fmt.pillow_name,
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        **_settings(fmt, options.fixed_quality, options.lossless, pixels),
        **extra,
    )
    return buffer.getvalue()

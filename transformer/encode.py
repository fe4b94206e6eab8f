"""Encode a finished picture with per-format settings."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageChops

from .errors import InvalidOption
from .formats import AVIF, GIF, JPEG, PNG, WEBP, Format
from .options import Options

# AVIF's speed 0..10 trades encode time for size and quality. Chosen per output size
# against the sharp-based peers (benchmarks/avif_speeds.py: bytes, SSIM against a
# full-decode LANCZOS reference, CPU): speed 8 scored 0.004-0.005 SSIM under Next.js'
# AVIF (sharp effort 3) at 320-1280 px. Up to AVIF_SMALL_PIXELS speed 6 matches it
# (street photo 320 px: 0.945 vs 0.947 at 8% fewer bytes; 640 px 0.948 vs 0.950) for
# about 2.5x speed 8's CPU, still under Next's; above, speed 7 (gain-map photo at
# 1280 px 0.989 vs 0.990 at 4% fewer bytes) for 2x, where speed 6 would cost 3x.
AVIF_SPEED = 7
AVIF_SPEED_SMALL = 6
AVIF_SMALL_PIXELS = 400_000
SLOWEST_AVIF_SPEED, FASTEST_AVIF_SPEED = 0, 9  # libaom's still-picture range


@dataclass(frozen=True)
class EncoderSettings:
    """What the server's config chooses for every encode.

    `avif_speed` fixes AVIF's encoder speed for every size (None: by size, above):
    slower speeds give fewer bytes at the same SSIMULACRA2 for several times the CPU
    (speed 5, sharp's default effort: a median 0.93x speed 6-7's bytes at a `q=auto`
    floor for 3.3x the CPU, `benchmarks/auto_quality.py --peers --avif-speed=5`), a
    trade only the operator can make.
    """

    avif_speed: int | None = None

    @property
    def token(self) -> str:
        """What makes its outputs differ from the defaults' (cache keys): "" for none."""
        return "" if self.avif_speed is None else f"avif_speed={self.avif_speed}"


DEFAULT_ENCODER = EncoderSettings()

# Chosen with benchmarks/encoder_options.py (figures in docs/quality.md):
# - Progressive JPEG saves 1-2% on large detailed photos but adds bytes to small or
#   smooth ones and doubles the encode time; large pictures also show sooner with it.
PROGRESSIVE_FROM_PIXELS = 500_000
# - WebP method 6 makes pictures 4-8% smaller, for 1.4-3.7 ms more up to thumbnail
#   sizes (160 px) but 3.5-8.7 ms at 300 px and 10-33 ms at 640 px, which would add a
#   third to a cold request: so only thumbnails get it.
WEBP_SLOW_UP_TO_PIXELS = 40_000
WEBP_METHOD_SMALL, WEBP_METHOD = 6, 4

# The longest frame each animated format can state: GIF counts 16-bit centiseconds,
# WebP 24-bit milliseconds, and Pillow's WebP encoder adds them up in a C int.
# Durations come from the source, which may claim anything (a damaged WebP in the
# fuzz said 70 minutes), so they are cut to fit rather than failing the encoder.
MAX_FRAME_MS = {GIF: 65535 * 10, WEBP: 2**24 - 1}
MAX_ANIMATION_MS = 2**31 - 1


def _settings(
    fmt: Format,
    quality: int | None,
    lossless: bool = False,
    pixels: int = 0,
    full_chroma: bool = False,
    encoder: EncoderSettings = DEFAULT_ENCODER,
) -> dict[str, Any]:
    if fmt is JPEG:
        return {
            "quality": quality or JPEG.default_quality,
            "optimize": True,
            "progressive": pixels >= PROGRESSIVE_FROM_PIXELS,
            **({"subsampling": 0} if full_chroma else {}),
        }
    if fmt is WEBP:
        method = WEBP_METHOD_SMALL if pixels <= WEBP_SLOW_UP_TO_PIXELS else WEBP_METHOD
        if lossless:  # quality is then the effort spent on compression
            return {"lossless": True, "quality": quality or WEBP.default_quality, "method": method}
        return {"quality": quality or WEBP.default_quality, "method": method}
    if fmt is AVIF:
        speed = avif_speed(pixels, encoder)
        if lossless:
            # Pillow's AVIF encoder always goes through YUV, so the closest it offers is
            # quality 100 with full-resolution chroma: visually, not bit-exactly, lossless.
            return {"quality": 100, "subsampling": "4:4:4", "speed": speed}
        chroma = {"subsampling": "4:4:4"} if full_chroma else {}
        return {"quality": quality or AVIF.default_quality, "speed": speed, **chroma}
    if fmt is PNG:
        return {"compress_level": 6}
    if fmt is GIF:
        return {"optimize": False}
    raise AssertionError(f"no encoder settings for {fmt.name}")


def avif_speed(pixels: int, encoder: EncoderSettings = DEFAULT_ENCODER) -> int:
    """The AVIF encoder speed for a picture of `pixels`: the config's, else slower
    (better) when small."""
    if encoder.avif_speed is not None:
        return encoder.avif_speed
    return AVIF_SPEED_SMALL if pixels <= AVIF_SMALL_PIXELS else AVIF_SPEED


def check_fits(size: tuple[int, int], fmt: Format) -> None:
    """Refuse (400) a picture longer than `fmt` can hold, before its encoder fails on it."""
    if fmt.max_side is None or max(size) <= fmt.max_side:
        return
    width, height = size
    raise InvalidOption(
        f"the result would be {width}x{height} pixels; a {fmt.name} picture is at most "
        f"{fmt.max_side} pixels on a side: ask for a smaller w or h, or another fmt",
        param="w" if width > fmt.max_side else "h",
    )


def encode(
    image: Image.Image,
    fmt: Format,
    options: Options,
    icc_profile: bytes | None = None,
    quality: int | None = None,
    full_chroma: bool = False,
    encoder: EncoderSettings = DEFAULT_ENCODER,
) -> bytes:
    """Encode `image` as `fmt` by the options' `q`, `lossless` and `png8`, with no
    metadata but a kept ICC profile (if any). `quality` overrides `q` (a `q=auto` probe);
    `full_chroma` keeps JPEG's and AVIF's colour at full resolution (4:4:4), for a
    `q=auto` floor that 4:2:0 cannot reach (`quality.choose_quality`); `encoder`: the
    server's settings."""
    check_fits(image.size, fmt)
    buffer = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile and fmt is not GIF else {}
    if fmt is PNG and options.palette:
        image = to_palette(image)
    quality = quality if quality is not None else options.quality_for(fmt.name)
    pixels = image.width * image.height
    settings = _settings(fmt, quality, options.lossless, pixels, full_chroma, encoder)
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
    quality: int | None = None,
) -> bytes:
    """Encode an animation (GIF or WebP) with per-frame durations and a loop count;
    `quality` overrides the options' (a `max_bytes` probe).

    Frames are whole pictures, so GIF frames replace each other (disposal 2).
    """
    check_fits(frames[0].size, fmt)
    frames, durations = fit_durations(frames, durations, fmt)
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
        **_settings(fmt, quality or options.quality_for(fmt.name), options.lossless, pixels),
        **extra,
    )
    return buffer.getvalue()


def fit_durations(
    frames: list[Image.Image], durations: list[int], fmt: Format
) -> tuple[list[Image.Image], list[int]]:
    """Frames and durations `fmt` can state (see `MAX_FRAME_MS`).

    Pillow's GIF writer merges a frame identical to the one before into it, adding the
    durations, which could overflow GIF's field however short each frame is. So when
    the whole animation is longer than one frame may be, repeated frames are merged
    here first, each run cut to the longest frame.
    """
    longest = min(MAX_FRAME_MS[fmt], MAX_ANIMATION_MS // len(frames))
    if sum(durations) > MAX_FRAME_MS[fmt]:
        frames, durations = _merge_repeats(frames, durations)
    return frames, [min(duration, longest) for duration in durations]


def _merge_repeats(
    frames: list[Image.Image], durations: list[int]
) -> tuple[list[Image.Image], list[int]]:
    kept, times = [frames[0]], [durations[0]]
    for frame, duration in zip(frames[1:], durations[1:], strict=True):
        if ImageChops.difference(frame, kept[-1]).getbbox(alpha_only=False) is None:
            times[-1] += duration
        else:
            kept.append(frame)
            times.append(duration)
    return kept, times

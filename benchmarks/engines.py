"""In-process contenders, without HTTP: pixserve's transform, the bare codec floor, libvips.

Why in-process: the per-image speed of an engine is a property of its codec work, not
of a web server; and the "codec floor" (open, shrink-on-load, decode, resize, encode
with the same settings, nothing else) is what every Pillow server pays at least, so a
cold request over HTTP is judged against it.

libvips runs with one thread (`VIPS_CONCURRENCY=1`, set before pyvips loads) and its
operation cache off, so a repeated call does the whole work again; pixserve's transform
likewise keeps its resize on one thread here (no second band, `transformer/bands.py`),
so the per-image figures compare one thread's work with one thread's.
"""

from __future__ import annotations

import os
import time

os.environ["VIPS_CONCURRENCY"] = "1"

import pyvips

from benchmarks import floor
from benchmarks.cases import QUALITY, Transform
from benchmarks.floor import Stages
from pixserve.transformer import FORMATS, Options, bands, parse_options, transform
from pixserve.transformer.encode import avif_speed

pyvips.cache_set_max(0)
bands.SPLIT_FROM_PIXELS = 1 << 62  # one thread, as libvips here
VIPS_HUGE = 10_000_000  # "no limit" for the other axis of a width-only thumbnail


def options_for(t: Transform) -> Options:
    pairs = [("w", str(t.width)), ("fmt", t.fmt)]
    if t.cover:
        pairs += [("h", str(t.width)), ("fit", "cover")]
    return parse_options(pairs)


def pixserve(source: bytes, t: Transform) -> bytes:
    """The whole transformer pipeline, as a cold request runs it."""
    return transform(source, options_for(t), FORMATS[t.fmt]).data


# The codec floor's stages; the transformer's own phases also count q=auto's search.
STAGES = ("decode", "resize", "encode")


def codec_floor(source: bytes, t: Transform) -> tuple[bytes, Stages]:
    """The codec floor (`floor.py`) for one case: its output and its stages."""
    run = floor.codec_floor(source, options_for(t), FORMATS[t.fmt])
    return run.data, run.stages


def vips(source: bytes, t: Transform) -> bytes:
    """libvips `thumbnail_buffer` (shrink-on-load, lanczos3) and a save with our settings."""
    if t.cover:
        image = pyvips.Image.thumbnail_buffer(source, t.width, height=t.width, crop="centre")
    else:
        image = pyvips.Image.thumbnail_buffer(source, t.width, height=VIPS_HUGE, size="down")
    quality = QUALITY[t.fmt]
    if t.fmt == "webp":
        return bytes(image.webpsave_buffer(Q=quality, effort=4, keep="none"))
    if t.fmt == "jpeg":
        if image.hasalpha():
            image = image.flatten(background=[255, 255, 255])
        return bytes(image.jpegsave_buffer(Q=quality, optimize_coding=True, keep="none"))
    if t.fmt == "avif":
        # libvips' effort 0..9 is aom's speed 9..0: effort 1 is our speed 8 (`avif_speed` per size).
        effort = 9 - avif_speed(image.width * image.height)
        return bytes(
            image.heifsave_buffer(Q=quality, compression="av1", effort=effort, keep="none")
        )
    raise ValueError(f"no libvips saver for {t.fmt}")


def vips_version() -> str:
    return f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"


def clock(run: object, *args: object) -> float:
    """Milliseconds one call of `run(*args)` takes."""
    assert callable(run)
    start = time.perf_counter()
    run(*args)
    return (time.perf_counter() - start) * 1000


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2

"""What isolating a transform in a child costs, and how long steps take per pixel.

Why: `pixserve/http/policy.py` decides whether a transform runs in place (stoppable
only between steps: it can overrun the time limit by its longest step) or in a child
process the limit kills (a fork per transform). That needs (1) what the fork and the
pipe cost, against the transform; (2) how long the uninterruptible steps take per
pixel, per encoder, for `transformer/cost.py`'s work estimate; (3) how much longer
AVIF's encode takes at each libaom speed the `avif_speed` setting may choose, against
speed 7 (at `--speed-side`, so speed 0 takes seconds, not minutes). Each figure is CPU
seconds in this process, the median of `--rounds`, on a noisy but smooth picture (as
`memory_cost.py` draws it), so encoders get real work.

Run: `.venv/bin/python -m benchmarks isolation [--rounds 3] [--side 2000]` (a minute
or two on 2 cores). Prints a Markdown report, also written to
`benchmarks/out/isolation.md`.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from functools import partial
from urllib.parse import parse_qsl

import numpy as np
from PIL import Image

from benchmarks.cases import ROOT
from benchmarks.results_md import publish
from pixserve.http.deadline import Deadline
from pixserve.http.isolation import run_isolated, transform_isolated
from pixserve.transformer import FORMATS, EncoderSettings, ImageLimits, parse_options, transform
from pixserve.transformer.encode import AVIF_SPEED, FASTEST_AVIF_SPEED, SLOWEST_AVIF_SPEED, encode

OUT = ROOT / "benchmarks" / "out" / "isolation.md"
# name in cost.py's tables: (format, query)
ENCODES = {
    "jpeg": ("jpeg", ""),
    "png": ("png", ""),
    "webp": ("webp", ""),
    "webp-lossless": ("webp", "lossless=1"),
    "avif": ("avif", ""),
    "gif": ("gif", ""),
}


def draw(side: int) -> Image.Image:
    noise = np.random.default_rng(1).integers(0, 255, (side // 8, side // 8, 3), dtype=np.uint8)
    return Image.fromarray(noise, "RGB").resize((side, side), Image.Resampling.BILINEAR)


def median_seconds(work: Callable[[], object], rounds: int, clock: Callable[[], float]) -> float:
    """The median seconds of `work()` by `clock`: `time.process_time` for this process'
    CPU, `time.perf_counter` for wall time."""
    spent = []
    for _ in range(rounds):
        started = clock()
        work()
        spent.append(clock() - started)
    return statistics.median(spent)


def wall_seconds(work: Callable[[], object], rounds: int) -> float:
    return median_seconds(work, rounds, time.perf_counter)


def decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as picture:
        picture.load()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--side", type=int, default=2000)
    parser.add_argument("--speed-side", type=int, default=640)
    args = parser.parse_args()
    picture = draw(args.side)
    megapixels = args.side * args.side / 1e6
    lines = [
        "# Isolation: the fork's cost, and seconds per megapixel of each step",
        "",
        f"Picture {args.side}x{args.side} ({megapixels:.1f} MP), median of {args.rounds}; "
        "CPU counts every thread (libaom uses several).",
        "",
        "| step | CPU s | wall s | wall s per MP |",
        "| --- | ---: | ---: | ---: |",
    ]

    def row(name: str, work: Callable[[], object]) -> None:
        seconds, took = (
            median_seconds(work, args.rounds, time.process_time),
            median_seconds(work, args.rounds, time.perf_counter),
        )
        lines.append(f"| {name} | {seconds:.3f} | {took:.3f} | {took / megapixels:.4f} |")
        print(lines[-1], flush=True)

    for name, (fmt, query) in ENCODES.items():
        options = parse_options(parse_qsl(query))
        picture_for = picture.convert("P") if fmt == "gif" else picture
        row(f"encode {name}", partial(encode, picture_for, FORMATS[fmt], options))
    sources = {}
    for kind in ("PNG", "JPEG"):
        buffer = io.BytesIO()
        picture.save(buffer, kind, **({"quality": 90} if kind == "JPEG" else {"compress_level": 6}))
        sources[kind] = buffer.getvalue()
        data = sources[kind]
        row(f"decode {kind}", partial(decode, data))
    half = (args.side // 2, args.side // 2)
    row("resize to 1/2 (LANCZOS)", lambda: picture.resize(half, Image.Resampling.LANCZOS))

    limits = ImageLimits(max_source_pixels=60_000_000)
    small = parse_options([("w", "320"), ("fmt", "webp")])
    source = sources["JPEG"]
    deadline = Deadline(3600)
    here = wall_seconds(lambda: transform(source, small, FORMATS["webp"], limits), args.rounds * 3)
    apart = wall_seconds(
        lambda: transform_isolated(deadline, source, small, FORMATS["webp"], limits),
        args.rounds * 3,
    )
    fork = wall_seconds(lambda: run_isolated(lambda: None, deadline), args.rounds * 3)
    with open("/proc/self/statm") as statm:
        rss = int(statm.read().split()[1]) * 4096 >> 20
    forking = f"Forking this process ({rss} MiB RSS) for nothing: {fork * 1000:.1f} ms wall."
    in_child = (
        f"{args.side}-px JPEG to 320-px WebP: in place {here * 1000:.1f} ms, in a child "
        f"{apart * 1000:.1f} ms wall."
    )
    publish("\n".join([*lines, "", forking, in_child, "", *speed_table(args)]), OUT)


def speed_table(args: argparse.Namespace) -> list[str]:
    """AVIF's encode CPU at each speed, against the default large-picture speed's."""
    picture = draw(args.speed_side)
    options = parse_options([])
    seconds, sizes = {}, {}
    made: list[bytes] = []  # the timed encodes' output: the last one's size is the bytes column
    for speed in range(FASTEST_AVIF_SPEED, SLOWEST_AVIF_SPEED - 1, -1):
        settings = EncoderSettings(avif_speed=speed)

        def work(settings: EncoderSettings = settings) -> None:
            made.append(encode(picture, FORMATS["avif"], options, encoder=settings))

        seconds[speed] = median_seconds(work, args.rounds, time.process_time)
        sizes[speed] = len(made[-1])
        print(f"  speed {speed}: {seconds[speed]:.3f} s, {sizes[speed]} B", flush=True)
    side = args.speed_side
    return [
        f"AVIF encode CPU at each speed against speed {AVIF_SPEED}, {side}x{side}, q60:",
        "",
        f"| speed | CPU s | against speed {AVIF_SPEED} | bytes |",
        "| ---: | ---: | ---: | ---: |",
        *(
            f"| {speed} | {spent:.3f} | {spent / seconds[AVIF_SPEED]:.2f}x | {sizes[speed]} |"
            for speed, spent in seconds.items()
        ),
    ]


if __name__ == "__main__":
    main()

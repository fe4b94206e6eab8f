"""A lone request's transform with its resize split into two bands, against unsplit.

Why: Pillow's resize is one C call on one core while libvips spreads a request over
every core (`transformer/bands.py`). This runs the sharp race's cases in-process, one
at a time, with the split on and off alternating within each repeat, and reports
medians of wall time (what a lone request waits; the other core idle) and CPU time
(what the split costs when every core is busy). Run it on a quiet machine: with the
other core busy the split cannot gain. Usage: `python -m benchmarks bands`
(BENCH_ROUNDS repeats, default 15).
"""

from __future__ import annotations

import os
import statistics
import time

from benchmarks.cases import CORPUS, GAIN_MAP, STREET
from pixserve.transformer import bands, transform
from pixserve.transformer.formats import FORMATS, Format
from pixserve.transformer.options import Options

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
CASES = [
    (photo, width, fmt)
    for photo in (STREET, GAIN_MAP, "alpha/test-pattern.png")
    for width, fmt in ((320, "jpeg"), (640, "jpeg"), (640, "webp"), (1280, "webp"))
]


def timed(source: bytes, options: Options, output: Format) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    transform(source, options, output)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    split_from = bands.SPLIT_FROM_PIXELS
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    print("| case | unsplit wall ms | split wall ms | wall split/unsplit | CPU split/unsplit |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for photo, width, fmt in CASES:
        if photo.endswith(".png") and fmt == "jpeg":
            continue
        source = (CORPUS / photo).read_bytes()
        options = Options(width=width, fmt=fmt)
        output = FORMATS[fmt]
        samples: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        transform(source, options, output)  # warm the codecs and the helper threads
        for _ in range(ROUNDS):
            for split in (False, True):
                bands.SPLIT_FROM_PIXELS = split_from if split else 1 << 62
                samples[split].append(timed(source, options, output))
        bands.SPLIT_FROM_PIXELS = split_from
        wall = {k: statistics.median(s[0] for s in v) * 1000 for k, v in samples.items()}
        cpu = {k: statistics.median(s[1] for s in v) * 1000 for k, v in samples.items()}
        name = f"{photo.rsplit('/', 1)[-1].split('-')[0]} → {width} px {fmt.upper()}"
        print(
            f"| {name} | {wall[False]:.1f} | {wall[True]:.1f} | "
            f"{wall[True] / wall[False]:.2f}x | {cpu[True] / cpu[False]:.2f}x |"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""What fixing glibc's mmap threshold (`pixserve.ops.allocator`) costs cold transforms.

Why: `pixserve serve` maps buffers of 4 MiB or more apart so their memory goes back
when freed (idle RSS after big work); a mapped buffer is zeroed page by page when
first touched, where the heap would have reused warm pages. This times the corpus
photos (street, gain map, flowers) to 320, 640 and 1280 px, JPEG and WebP, in one
process per contender per round, contenders alternating: glibc's default, the
threshold at 4 MiB (pixserve's), and at 1 MiB. Reports each one's time over the
default's, median and min-max over the rounds.

Run: `.venv/bin/python -m benchmarks.experiments.allocator [--rounds 5]`. Its conclusion
is recorded in `pixserve/ops/allocator.py`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

from benchmarks.cases import CORPUS

PHOTOS_DIR = CORPUS / "photos"
PHOTOS = ("street-2725x2225.jpg", "gain-map-3840x2160.jpg", "flowers-1920x1080.jpg")
CONTENDERS = {"glibc default": None, "4 MiB (pixserve)": 4 << 20, "1 MiB": 1 << 20}

PROBE = r"""
import sys, time
from pathlib import Path
from pixserve.ops.allocator import map_big_buffers_apart
from pixserve.transformer import FORMATS, parse_options, transform
if sys.argv[1] != "None":
    assert map_big_buffers_apart(int(sys.argv[1]))
sources = [Path(path).read_bytes() for path in sys.argv[2:]]
cases = [(width, fmt) for width in (320, 640, 1280) for fmt in ("jpeg", "webp")]
for source in sources:  # warm: codecs loaded, first allocations made
    transform(source, parse_options([("w", "640")]), FORMATS["jpeg"])
started = time.perf_counter()
for _ in range(3):
    for source in sources:
        for width, fmt in cases:
            transform(source, parse_options([("w", str(width))]), FORMATS[fmt])
print(time.perf_counter() - started)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    photos = [str(PHOTOS_DIR / name) for name in PHOTOS]
    seconds: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for _ in range(rounds):
        for name, threshold in CONTENDERS.items():
            command = [sys.executable, "-c", PROBE, str(threshold), *photos]
            run = subprocess.run(command, capture_output=True, text=True, check=True)
            seconds[name].append(float(run.stdout))
    base = seconds["glibc default"]
    print(f"| mmap threshold | time over glibc's default ({rounds} rounds) |")
    print("| --- | --- |")
    for name, times in seconds.items():
        ratios = [time / default for time, default in zip(times, base, strict=True)]
        print(
            f"| {name} | {statistics.median(ratios):.3f}x "
            f"(min {min(ratios):.3f}, max {max(ratios):.3f}) |"
        )


if __name__ == "__main__":
    main()

"""Issue 14's decode-scale and resize levers, measured in-process: SSIM and time.

Why: the 2x-draft rule (transformer/steps/load.py DRAFT_GAP) was chosen against SSIM
alone; libvips decodes at the DCT scale nearest above the target and still scores
higher. This times each way of getting from the JPEG to the output size (the draft
gap, then LANCZOS with or without `reducing_gap`, or a cheaper filter), encodes the
result with pixserve's settings, and scores it (bytes, SSIM against the full-decode
LANCZOS reference, as the races do). Variants alternate within each repeat; medians.
Usage: `python benchmarks/levers.py` (BENCH_ROUNDS repeats, default 5).
"""

from __future__ import annotations

import io
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass

import quality
from cases import GAIN_MAP, STREET, Case, Transform
from PIL import Image

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SAVE = {
    "webp": {"quality": 80, "method": 4},
    "jpeg": {"quality": 75, "optimize": True},
}


@dataclass(frozen=True)
class Way:
    """A decode gap (how many times the output the JPEG decoder must still give) and a
    resize (filter and reducing_gap)."""

    gap: float
    resample: Image.Resampling
    reducing_gap: float | None

    @property
    def label(self) -> str:
        gap = f"{self.gap:g}x"
        return f"draft {gap}, {self.resample.name.lower()}, reducing_gap {self.reducing_gap}"


WAYS = (
    Way(2.0, Image.Resampling.LANCZOS, 3.0),  # pixserve today
    Way(1.0, Image.Resampling.LANCZOS, 3.0),  # libvips-like: nearest DCT scale above
    Way(1.0, Image.Resampling.LANCZOS, None),
    Way(1.5, Image.Resampling.LANCZOS, 3.0),
    Way(1.0, Image.Resampling.BICUBIC, None),
    Way(2.0, Image.Resampling.LANCZOS, 2.0),
)


def run(source: bytes, width: int, fmt: str, way: Way) -> tuple[bytes, float, float, float]:
    """The output and the decode, resize and encode milliseconds."""
    begin = time.perf_counter()
    image = Image.open(io.BytesIO(source))
    height = round(image.height * width / image.width)
    wanted = (
        max(width, min(math.ceil(width * way.gap), image.width // 2) if way.gap > 1 else width),
        max(height, min(math.ceil(height * way.gap), image.height // 2) if way.gap > 1 else height),
    )
    image.draft("RGB", wanted)
    image.load()
    decoded = time.perf_counter()
    resized = image.resize((width, height), way.resample, reducing_gap=way.reducing_gap)
    shrunk = time.perf_counter()
    buffer = io.BytesIO()
    resized.save(buffer, fmt.upper(), **SAVE[fmt])
    done = time.perf_counter()
    return (
        buffer.getvalue(),
        (decoded - begin) * 1000,
        (shrunk - decoded) * 1000,
        (done - shrunk) * 1000,
    )


def main() -> int:
    cases = [
        Case(photo, Transform(width, fmt))
        for photo in (STREET, GAIN_MAP)
        for width in (300, 640, 1280)
        for fmt in ("webp", "jpeg")
    ]
    print("| case | way | decode ms | resize ms | encode ms | total ms | bytes | SSIM |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for case in cases:
        source = case.path.read_bytes()
        times: dict[Way, list[tuple[float, float, float]]] = {way: [] for way in WAYS}
        outputs: dict[Way, bytes] = {}
        for _ in range(ROUNDS):
            for way in WAYS:
                data, *stages = run(source, case.transform.width, case.transform.fmt, way)
                times[way].append((stages[0], stages[1], stages[2]))
                outputs[way] = data
        for way in WAYS:
            stage = [statistics.median(t[i] for t in times[way]) for i in range(3)]
            total = statistics.median(sum(t) for t in times[way])
            _, ssim = quality.score(case, outputs[way])
            print(
                f"| {case.label} | {way.label} | {stage[0]:.1f} | {stage[1]:.1f} | "
                f"{stage[2]:.1f} | {total:.1f} | {len(outputs[way]):,} | {ssim:.4f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

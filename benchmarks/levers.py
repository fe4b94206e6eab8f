"""Issue 14's decode-scale and resize levers, measured in-process: SSIM and time.

Why: the 2x-draft rule (transformer/steps/load.py DRAFT_GAP) was chosen against SSIM
alone; libvips decodes at the DCT scale nearest above the target and still scores
higher. This times each way of getting from the JPEG to the output size (the draft
gap, then LANCZOS with or without `reducing_gap`, or a cheaper filter, each reading
the picture's exact extent as pixserve does), encodes the result with pixserve's
settings, and scores it (bytes, SSIM against the full-decode LANCZOS reference, as the
races do). Times are CPU (`process_time`), which other work on a shared machine
inflates far less than wall time. Variants alternate within each repeat; medians.
Usage: `python -m benchmarks levers [WORD...]` (only cases whose label has the words;
BENCH_ROUNDS repeats, default 5).
"""

from __future__ import annotations

import io
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass

from PIL import Image

from benchmarks import quality
from benchmarks.cases import GAIN_MAP, STREET, Case, Transform
from benchmarks.results_md import print_row
from pixserve.transformer.steps.load import decoded_extent

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
    Way(1.0, Image.Resampling.LANCZOS, 3.0),  # sharp-like: the nearest DCT scale above
    Way(1.0, Image.Resampling.BICUBIC, 3.0),
    Way(2.0, Image.Resampling.LANCZOS, 3.0),  # the 2x draft gap: LANCZOS does >= 2x
    Way(2.0, Image.Resampling.LANCZOS, 1.0),  # libvips-like: 2x gap, box reduce, LANCZOS
    Way(2.0, Image.Resampling.BICUBIC, 1.0),
)


def run(source: bytes, width: int, fmt: str, way: Way) -> tuple[bytes, float, float, float]:
    """The output and the decode, resize and encode milliseconds."""
    begin = time.process_time()
    image = Image.open(io.BytesIO(source))
    stored = image.size
    height = round(image.height * width / image.width)
    wanted = (
        max(width, min(math.ceil(width * way.gap), image.width // 2) if way.gap > 1 else width),
        max(height, min(math.ceil(height * way.gap), image.height // 2) if way.gap > 1 else height),
    )
    image.draft("RGB", wanted)
    image.load()
    extent = decoded_extent(stored, image.size)
    box = (0.0, 0.0, *extent) if extent else None
    decoded = time.process_time()
    resized = image.resize((width, height), way.resample, box=box, reducing_gap=way.reducing_gap)
    shrunk = time.process_time()
    buffer = io.BytesIO()
    resized.save(buffer, fmt.upper(), **SAVE[fmt])
    done = time.process_time()
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
    wanted = sys.argv[1:]  # optional words a case's label must contain
    cases = [c for c in cases if all(word in c.label for word in wanted)] if wanted else cases
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
            milliseconds = [f"{value:.1f}" for value in (*stage, total)]
            print_row(case.label, way.label, *milliseconds, f"{len(outputs[way]):,}", f"{ssim:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

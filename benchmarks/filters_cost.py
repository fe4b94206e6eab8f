"""What each colour and pixel filter adds to a transform's memory and time, for
`transformer/cost.py`'s estimate.

Why: the web layer admits a transform by its estimated peak memory and decides where
it runs by the CPU seconds of its longest uninterruptible step; a filter step is one
such step and makes working copies of the output picture. Each case runs in a fresh
process: it draws a noisy 3000x3000 picture (PNG), forks a child that notes its RSS,
transforms it to a full-size JPEG (2000 px wide for the 9x9 kernel) with and without
the filter, and reports the peak RSS (`ru_maxrss`) over the RSS before, the CPU
seconds of the filter's own step (the transform's with the filter minus without, best
of three) and the estimate.
Run: `.venv/bin/python benchmarks/filters_cost.py` (about a minute). Prints a
Markdown table, also written to `benchmarks/out/filters_cost.md`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "filters_cost.md"
SIDE = 3000
CASES = [
    "",
    "brightness=10&contrast=1.2&rgb=5,0,-5&curve=0:0,128:150,255:255&colorize=10,ff0000",
    "saturation=1.5",
    "equalize=1",
    "noise=40",
    "pixelate=16",
    "wavelet_sharpen=2,1",
    "radius=200&corner=ff0000",
    "convolution=3:1,2,1,2,4,2,1,2,1",
    "w=2000&convolution=9:" + ",".join(["1"] * 81),  # 9x9 over 9 MP is over the limit
]

PROBE = r"""
import io, json, os, resource, sys, time
import numpy as np
from PIL import Image
from pixserve.transformer import FORMATS, ImageLimits, parse_options, transform
from pixserve.transformer.cost import estimate_cost
side, query = int(sys.argv[1]), sys.argv[2]
noise = np.random.default_rng(1).integers(0, 255, (side // 8, side // 8, 3), dtype=np.uint8)
picture = Image.fromarray(noise, "RGB").resize((side, side), Image.BILINEAR)
buffer = io.BytesIO()
picture.save(buffer, "PNG", compress_level=1)
source = buffer.getvalue()
del picture, noise, buffer
def rss_kib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
pairs = [tuple(pair.split("=", 1)) for pair in query.split("&") if pair]
options = parse_options(pairs)
plain = parse_options([pair for pair in pairs if pair[0] == "w"])  # the same size, no filter
limits = ImageLimits(max_source_pixels=60_000_000, max_output_pixels=60_000_000)
estimate = estimate_cost(source, options, FORMATS["jpeg"], limits)
if os.fork() == 0:
    before = rss_kib()
    transform(source, options, FORMATS["jpeg"], limits)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(3):
        start = cpu()
        transform(source, options, FORMATS["jpeg"], limits)
        middle = cpu()
        transform(source, plain, FORMATS["jpeg"], limits)
        times.append((middle - start) - (cpu() - middle))
    print(json.dumps({
        "measured": (peak - before) * 1024,
        "estimated": estimate.memory,
        "filter_seconds": max(0.0, min(times)),
        "step_seconds": estimate.step_seconds,
        "output_pixels": estimate.output_pixels,
    }))
    sys.stdout.flush()
    os._exit(0)
os.wait()
"""


def main() -> None:
    rows = []
    for query in CASES:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(SIDE), query],
            capture_output=True,
            text=True,
            check=True,
        )
        found = json.loads(done.stdout)
        megapixels = found["output_pixels"] / 1e6
        shown = query if len(query) < 60 else query[:57] + "..."
        rows.append(
            f"| `{shown or '(none)'}` | {found['measured'] / 2**20:.0f} | "
            f"{found['estimated'] / 2**20:.0f} | "
            f"{found['filter_seconds'] / megapixels:.3f} | {found['step_seconds']:.2f} |"
        )
    table = "\n".join(
        [
            f"{SIDE}x{SIDE} PNG to a full-size JPEG, one fresh process per row.",
            "",
            "| filters | peak MiB | estimate MiB | filter CPU s/MP | estimated longest step s |",
            "| --- | --- | --- | --- | --- |",
            *rows,
        ]
    )
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()

"""Memory of one transform against `transformer.cost`'s estimate, case by case.

Why: the web layer admits transforms against a node-wide memory budget by
`estimate_cost`; an estimate under the real peak lets the budget be overrun, one far
over it wastes the machine. Each case runs in a fresh process: it draws a noisy
picture of the size (so encoders get real work), then forks a child (whose peak
starts at the RSS it has then, not at the drawing's), which notes its RSS,
transforms (in place: the transformer forks nothing, so one peak counts it all), and
reports its peak RSS (`ru_maxrss`) over that. Run: `.venv/bin/python
benchmarks/memory_cost.py [--quick]` (a few minutes; `--quick` skips the 50-MP
AVIF and lossless cases). Prints a Markdown table, also written to
`benchmarks/out/memory_cost.md`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "memory_cost.md"
# (width, height, source format, query, output format)
CASES = [
    (7071, 7071, "PNG", "", "jpeg"),
    (7071, 7071, "PNG", "", "avif"),
    (7071, 7071, "PNG", "lossless=1", "webp"),
    (7071, 7071, "PNG", "", "webp"),
    (7071, 7071, "PNG", "w=1280", "avif"),
    (7071, 7071, "JPEG", "w=640", "jpeg"),
    (4000, 3000, "JPEG", "w=1280", "webp"),
    (4000, 3000, "JPEG", "", "avif"),
]
HEAVY = {"avif", "webp"}

PROBE = r"""
import io, json, os, resource, sys
import numpy as np
from PIL import Image
from pixserve.transformer import FORMATS, ImageLimits, parse_options, transform
from pixserve.transformer.cost import estimate_cost
width, height, kind, query, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
width, height = int(width), int(height)
noise = np.random.default_rng(1).integers(0, 255, (height // 8, width // 8, 3), dtype=np.uint8)
picture = Image.fromarray(noise, "RGB").resize((width, height), Image.BILINEAR)
buffer = io.BytesIO()
picture.save(buffer, kind, **({"quality": 90} if kind == "JPEG" else {"compress_level": 1}))
source = buffer.getvalue()
del picture, noise, buffer
def rss_kib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4
options = parse_options([tuple(p.split("=")) for p in query.split("&") if p])
limits = ImageLimits(max_source_pixels=60_000_000, max_output_pixels=60_000_000)
estimate = estimate_cost(source, options, FORMATS[out], limits)
# Measured in a child forked now: its peak starts at today's RSS, not at the drawing's.
if os.fork() == 0:
    before = rss_kib()
    transform(source, options, FORMATS[out], limits)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"measured": (peak - before) * 1024, "estimated": estimate.memory}))
    sys.stdout.flush()
    os._exit(0)
os.wait()
"""


def main() -> None:
    quick = "--quick" in sys.argv
    rows = []
    for width, height, kind, query, out in CASES:
        if quick and width * height > 20_000_000 and (out in HEAVY):
            continue
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(width), str(height), kind, query, out],
            capture_output=True,
            text=True,
            check=True,
        )
        found = json.loads(done.stdout)
        measured, estimated = found["measured"] / 2**20, found["estimated"] / 2**20
        rows.append(
            f"| {width}x{height} {kind} | `{query or '-'}` | {out} | {measured:,.0f} | "
            f"{estimated:,.0f} | {estimated / max(measured, 1):.2f} |"
        )
        print(rows[-1], flush=True)
    report = "\n".join(
        [
            "# Memory of one transform: measured peak against the estimate",
            "",
            "| source | query | to | measured MiB | estimated MiB | estimate / measured |",
            "| --- | --- | --- | ---: | ---: | ---: |",
            *rows,
            "",
        ]
    )
    print(report)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(report)


if __name__ == "__main__":
    main()

"""What watermarks, frames, padding and backdrops add to one transform: time and peak memory.

Why: `transformer.cost` admits each transform against the node's memory budget; the
overlays work on the output-sized picture (a copy to draw on, a canvas-sized layer for
`wm_repeat=grid`, the backdrop and the frame), so their peak is counted per output
pixel there (`OVERLAY_BYTES_PER_PIXEL`), from this table. Each case runs in a fresh
process, as `memory_cost.py` does: it draws a noisy 4000x3000 JPEG, forks a child that
notes its RSS, transforms (best of 3 for the time, the first for the peak) and reports
its peak RSS over that, beside the estimate. Run: `.venv/bin/python -m
benchmarks overlay_cost` (about a minute). Prints a Markdown table, also written to
`benchmarks/out/overlay_cost.md`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.results_md import publish

OUT = Path(__file__).resolve().parent / "out" / "overlay_cost.md"
CASES = [
    "q=85&fmt=jpeg",
    "q=85&fmt=jpeg&wm=logo&wm_gravity=southeast&wm_dx=20&wm_dy=20",
    "q=85&fmt=jpeg&wm=logo&wm_repeat=xy&wm_opacity=0.3",
    "q=85&fmt=jpeg&wm=logo&wm_repeat=grid&wm_dx=40&wm_dy=40&wm_opacity=0.3",
    "q=85&fmt=jpeg&ninepatch=frame",
    "q=85&fmt=jpeg&pad=50&bg=ffffff",
    "q=85&fmt=jpeg&w=4000&h=4000&fit=contain&backdrop=blur",
    "q=85&fmt=jpeg&w=1280&wm=logo&wm_repeat=grid&wm_dx=40&wm_dy=40",
]

PROBE = r"""
import io, json, os, resource, sys, time
import numpy as np
from PIL import Image
from pixserve.transformer import FORMATS, ImageLimits, parse_options, transform
from pixserve.transformer.cost import estimate_cost
from pixserve.transformer.overlay_source import decode_overlay
from pixserve.web.samples import logo, nine_patch_frame
query = sys.argv[1]
noise = np.random.default_rng(1).integers(0, 255, (375, 500, 3), dtype=np.uint8)
picture = Image.fromarray(noise, "RGB").resize((4000, 3000), Image.BILINEAR)
buffer = io.BytesIO()
picture.save(buffer, "JPEG", quality=90)
source = buffer.getvalue()
def png(image):
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
overlays = {
    "logo": decode_overlay(png(logo(240)), 4_000_000, "wm", "logo"),
    "frame": decode_overlay(png(nine_patch_frame()), 4_000_000, "ninepatch", "frame"),
}
del picture, noise, buffer
def rss_kib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4
options = parse_options([tuple(p.split("=")) for p in query.split("&") if p])
limits = ImageLimits(max_output_pixels=60_000_000)
estimate = estimate_cost(source, options, FORMATS["jpeg"], limits)
if os.fork() == 0:
    before = rss_kib()
    seconds = []
    for _ in range(3):
        started = time.perf_counter()
        transform(source, options, FORMATS["jpeg"], limits, overlays=overlays)
        seconds.append(time.perf_counter() - started)
        if len(seconds) == 1:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = {"measured": (peak - before) * 1024, "estimated": estimate.memory,
             "seconds": min(seconds)}
    print(json.dumps(found), flush=True)
    os._exit(0)
os.wait()
"""


def measured_row(query: str) -> str:
    """One case in a fresh process, as a table row."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, query], capture_output=True, text=True, check=True
    )
    found = json.loads(done.stdout)
    measured, estimated = found["measured"] / 2**20, found["estimated"] / 2**20
    return (
        f"| `{query}` | {found['seconds'] * 1000:,.0f} | {measured:,.0f} | "
        f"{estimated:,.0f} | {estimated / max(measured, 1):.2f} |"
    )


def main() -> None:
    rows = [measured_row(query) for query in CASES]
    header = "| query | ms (best of 3) | measured MiB | estimated MiB | estimate / measured |"
    title = "# Overlays on a 4000x3000 JPEG: time and peak memory against the estimate"
    rule = "| --- | ---: | ---: | ---: | ---: |"
    publish("\n".join([title, "", header, rule, *rows]), OUT)


if __name__ == "__main__":
    main()

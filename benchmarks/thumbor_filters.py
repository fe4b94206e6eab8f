"""thumbor's colour and pixel filters side by side: real thumbor and pixserve's mount.

Why: pixserve's filters keep thumbor's C arithmetic so that a thumbor URL gives
thumbor's pixels; this asks thumbor itself. The URLs are the examples of each
filter's docs page (thumbor's `docs/*.rst`), over two corpus photos and a picture with
transparency, by width only (no crop window) and at quality 95 on both sides, so the
comparison sees the filters, not the geometry or the encoder. `noise` and a
`contrast():brightness()` chain are listed to show what differs by design (pixserve's
random numbers are seeded from the URL; its table filters run in a fixed order).
Servers and comparison are `thumbor_dialect.py`'s.

Run: `.venv/bin/python -m benchmarks thumbor_filters` after `make bench` installed
thumbor (about a minute). Prints Markdown and writes `benchmarks/out/thumbor_filters.md`.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from benchmarks import servers
from benchmarks.cases import ROOT
from benchmarks.results_md import publish
from benchmarks.thumbor_dialect import PixserveWithThumbor, compare, comparison_lines

OUT = ROOT / "benchmarks" / "out" / "thumbor_filters.md"
STREET = "photos/street-2725x2225.jpg"
LANDSCAPE = "orientation/Landscape_1.jpg"
ALPHA = "alpha/with-alpha.png"
CURVE = (
    "[(0,0),(40,59),(255,255)],[(32,59),(64,80),(92,111),(128,153),(140,169),(164,201),"
    "(192,214),(224,215),(240,214),(255,212)],[(34,41),(64,51),(92,76),(128,112),(140,124),"
    "(164,147),(192,180),(224,216),(240,236),(255,255)],[(40,46),(64,55),(92,83),(128,127),"
    "(140,144),(164,174),(192,197),(224,199),(240,197),(255,198)]"
)
FILTERS = (
    "brightness(40)",
    "brightness(-40)",
    "contrast(40)",
    "contrast(-40)",
    "saturation(40)",
    "saturation(-40)",
    "saturation(1.5)",
    "rgb(20,-20,20)",
    "equalize()",
    "colorize(20,40,60,ff8800)",
    "convolution(1;2;1;2;4;2;1;2;1,3,true)",
    "convolution(-1;-1;-1;-1;8;-1;-1;-1;-1,3,false)",
    f"curve({CURVE})",
    "round_corner(20,255,255,255)",
    "round_corner(20|40,0,0,0)",
    "brightness(10):contrast(20)",
    "contrast(20):brightness(10)",  # pixserve's order is fixed: brightness first
    "noise(40)",
)
# Each picture first without a filter: where the resize alone differs (the street
# photo's detail, issue 25's geometry), the filtered rows cannot score higher.
CASES = (
    f"300x0/filters:quality(95)/{LANDSCAPE}",
    *(f"300x0/filters:{name}:quality(95)/{LANDSCAPE}" for name in FILTERS),
    f"300x0/filters:round_corner(30,0,0,0,1):format(png)/{LANDSCAPE}",
    f"300x0/filters:quality(95)/{STREET}",
    *(f"300x0/filters:{name}:quality(95)/{STREET}" for name in FILTERS[:12]),
    f"200x0/filters:format(png)/{ALPHA}",
    f"200x0/filters:brightness(30):saturation(1.5):format(png)/{ALPHA}",
    f"200x0/filters:equalize():format(png)/{ALPHA}",
)


def render(rows: list[dict[str, Any]], seconds: float) -> str:
    title = "# thumbor's colour and pixel filters: thumbor itself vs pixserve's thumbor mount"
    return "\n".join(comparison_lines(title, rows, seconds)) + "\n"


def main() -> int:
    if servers.thumbor_missing("thumbor_filters"):
        return 1
    started = time.perf_counter()
    with servers.Thumbor(2) as thumbor, PixserveWithThumbor(1) as pixserve:
        rows = [compare(thumbor, pixserve, path) for path in CASES]
    report = render(rows, time.perf_counter() - started)
    publish(report, OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())

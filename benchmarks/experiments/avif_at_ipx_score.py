"""AVIF bytes at IPX's own score: how far pixserve's AVIF encoder settings are from sharp's.

Why: issue 26's AVIF-against-IPX check stayed unmet at pixserve's default speeds while
every other pair was met; this asks, picture by picture, how many bytes pixserve's AVIF
needs to score what IPX's default answer scores, and which encoder setting closes the
gap: libaom's speed, 4:4:4 chroma (sharp's default), or one of libaom's options
through Pillow's `advanced` (`tune`, `enable-restoration`, `deltaq-mode`...).

Method: every corpus photo at 640 and 1280 px (a size already done is skipped), as
`q=auto`'s picture (the pipeline ending in PNG); IPX's default AVIF of the same size
from a real IPX server (`node_peers.py`, `make node-peers`). Both are scored in-request
(`transformer/ssimulacra.py`, the package's to 0.05) against the neutral full-decode
LANCZOS reference (`benchmarks/quality.py`). pixserve's picture is encoded with each
variant at qualities 30-86 (step 8) and its bytes interpolated (log bytes, linear in
score) at IPX's score, and at 63 (IPX's worst over the corpus). Reported per variant:
the median over pictures of those bytes against IPX's, and the median encode CPU
against pixserve's settings (one thread, `max_threads=1`).

Run: `.venv/bin/python -m benchmarks.experiments.avif_at_ipx_score [OPTION=VALUE,...]`
(about 10 minutes on 2 cores; each argument is one more variant: libaom options given
as `key=value` pairs joined by commas, `speed=N` and `sub=4:4:4` for Pillow's own).
Prints Markdown, also written to `benchmarks/out/avif_at_ipx_score.md`.
"""

from __future__ import annotations

import io
import math
import statistics
import sys
import time
from typing import Any
from urllib.parse import quote

from PIL import Image

from benchmarks import node_peers
from benchmarks import quality as neutral
from benchmarks.auto_quality import options, photos
from benchmarks.cases import ROOT, Case, Transform
from benchmarks.results_md import publish
from pixserve.transformer import FORMATS, ssimulacra, transform
from pixserve.transformer.encode import avif_speed

OUT = ROOT / "benchmarks" / "out" / "avif_at_ipx_score.md"
WIDTHS = (640, 1280)
QUALITIES = tuple(range(30, 87, 8))
IPX_WORST = 63.0


def variants(pixels: int) -> dict[str, dict[str, Any]]:
    """pixserve's settings (first) and each variant, by name."""
    speed = avif_speed(pixels)
    found: dict[str, dict[str, Any]] = {
        "pixserve": {"speed": speed},
        "one speed slower": {"speed": speed - 1},
        "4:4:4": {"speed": speed, "subsampling": "4:4:4"},
        "speed 5, 4:4:4 (sharp's)": {"speed": 5, "subsampling": "4:4:4"},
    }
    for argument in sys.argv[1:]:
        pairs = dict(pair.partition("=")[::2] for pair in argument.split(","))
        chosen: dict[str, Any] = {"speed": int(pairs.pop("speed", speed))}
        if "sub" in pairs:
            chosen["subsampling"] = pairs.pop("sub")
        if pairs:
            chosen["advanced"] = pairs
        found[argument] = chosen
    return found


def at_score(points: list[tuple[float, int]], target: float) -> float | None:
    """The bytes at `target`, interpolated between the two qualities around it."""
    ordered = sorted(points)
    for (low, low_bytes), (high, high_bytes) in zip(ordered, ordered[1:], strict=False):
        if low <= target <= high and high > low:
            share = (target - low) / (high - low)
            return math.exp(math.log(low_bytes) + share * math.log(high_bytes / low_bytes))
    return None


def measure() -> tuple[list[str], dict[str, list[tuple[float | None, float | None, float]]]]:
    """Per variant, per picture: (bytes at IPX's score, at 63, both against IPX's; CPU
    against pixserve's settings)."""
    found: dict[str, list[tuple[float | None, float | None, float]]] = {}
    pictures: list[str] = []
    with node_peers.IPX() as ipx:
        assert isinstance(ipx, node_peers.IPX)
        for path in photos():
            source = path.read_bytes()
            seen: set[tuple[int, int]] = set()
            for width in WIDTHS:
                made = transform(source, options(width, "auto:good"), FORMATS["png"])
                if made.size in seen:
                    continue
                seen.add(made.size)
                with Image.open(io.BytesIO(made.data)) as opened:
                    picture = opened.convert("RGB")
                case = Case(f"photos/{path.name}", Transform(picture.width, "avif"))
                reference = ssimulacra.Reference(neutral.references(case, picture.size)[0])
                _, _, body = ipx.get(f"/w_{picture.width},f_avif/photos/{quote(path.name)}", {})
                with Image.open(io.BytesIO(body)) as answer:
                    shown = neutral._displayed(answer)
                if shown.size != picture.size:  # IPX read another item of the file
                    continue
                target = reference.score(shown)
                pictures.append(
                    f"{path.name} at {picture.width} px: IPX {len(body)} B, {target:.1f}"
                )
                base_cpu = 0.0
                for name, settings in variants(picture.width * picture.height).items():
                    points, cpu = [], []
                    for quality in QUALITIES:
                        buffer = io.BytesIO()
                        started = time.process_time()
                        picture.save(buffer, "AVIF", quality=quality, max_threads=1, **settings)
                        cpu.append(time.process_time() - started)
                        with Image.open(buffer) as decoded:
                            points.append((reference.score(decoded), len(buffer.getvalue())))
                    median_cpu = statistics.median(cpu)
                    base_cpu = base_cpu or median_cpu
                    at_ipx, at_worst = at_score(points, target), at_score(points, IPX_WORST)
                    found.setdefault(name, []).append(
                        (
                            None if at_ipx is None else at_ipx / len(body),
                            None if at_worst is None else at_worst / len(body),
                            median_cpu / base_cpu,
                        )
                    )
                print(f"  {pictures[-1]}", file=sys.stderr, flush=True)
    return pictures, found


def main() -> None:
    pictures, found = measure()
    lines = [
        "# pixserve's AVIF at IPX's own score",
        "",
        f"Pictures: {'; '.join(pictures)}.",
        "",
        "| variant | bytes at IPX's score vs IPX's (median, pictures) | bytes at 63 vs IPX's "
        "| CPU vs pixserve's |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, rows in found.items():
        at_ipx = [row[0] for row in rows if row[0] is not None]
        at_worst = [row[1] for row in rows if row[1] is not None]
        lines.append(
            f"| {name} | {statistics.median(at_ipx):.3f}x ({len(at_ipx)}) | "
            f"{statistics.median(at_worst):.3f}x ({len(at_worst)}) | "
            f"{statistics.median(row[2] for row in rows):.2f}x |"
        )
    publish("\n".join(lines), OUT)


if __name__ == "__main__":
    main()

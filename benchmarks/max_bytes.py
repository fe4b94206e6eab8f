"""max_bytes: pixserve's budget search against thumbor's and imgproxy's rules.

Each corpus photo is resized to 640 px (its own size when smaller) and encoded at every
quality from 10 to the format's default (JPEG 75, WebP 80, AVIF 60); budgets are set at
20, 40, 60 and 80% of the way from the quality-10 size to the default's, and at half the
quality-10 size (nothing fits). Three rules then search those sizes, counting encodes
(the first, at the default quality, included):

- pixserve (`transformer/budget.py`): quality 10, then interpolation between the
  highest fitting and the lowest failing quality, at most `MAX_ENCODES`;
- thumbor 7.8 (`reload_to_fit_in_kb`, re-expressed): times 0.75 until it fits (its
  first encode when that goes below 10), then one encode at the first quality again;
- imgproxy (`saveImageToFitBytes`, re-expressed): times 0.25, 0.5 or 0.75 by how far
  over the budget, at least one step, until it fits or reaches 10.

For each: how many encodes, how often the answer fits, and how far its quality is
below the highest that fits ("gap", in quality steps). Sizes are encoded once per
quality, so the rules are compared on the same bytes.

Run: .venv/bin/python -m benchmarks max_bytes (about 1 minute; prints a Markdown report,
also written to benchmarks/out/max_bytes.md).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from benchmarks.results_md import publish, table_head
from pixserve.transformer import FORMATS, parse_options
from pixserve.transformer.budget import FLOOR_QUALITY, fit_bytes
from pixserve.transformer.encode import encode

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "photos"
OUT = ROOT / "benchmarks" / "out" / "max_bytes.md"
PHOTOS = (
    "street-2725x2225.jpg",
    "flowers-1920x1080.jpg",
    "gain-map-3840x2160.jpg",
    "4-1024x772.webp",
    "small-320x240.jpg",
    "concert-gray.jpg",
)
WIDTH = 640
SHARES = (0.2, 0.4, 0.6, 0.8)
FORMAT_NAMES = ("jpeg", "webp", "avif")
Search = Callable[[dict[int, int], int, int], tuple[int, int]]  # -> (quality, encodes)


def sizes_at_every_quality(image: Image.Image, fmt: str) -> dict[int, int]:
    options = parse_options([("fmt", fmt)])
    top = FORMATS[fmt].default_quality or 75
    return {
        quality: len(encode(image, FORMATS[fmt], options, quality=quality))
        for quality in range(FLOOR_QUALITY, top + 1)
    }


def pixserve(sizes: dict[int, int], start: int, budget: int) -> tuple[int, int]:
    fitted = fit_bytes(lambda q: b"x" * sizes[q], b"x" * sizes[start], start, budget)
    return fitted.quality, fitted.encodes


def thumbor(sizes: dict[int, int], start: int, budget: int) -> tuple[int, int]:
    quality, encodes = start, 1
    if sizes[start] <= budget:
        return start, encodes
    while sizes[quality] > budget:
        quality = int(quality * 0.75)
        if quality < 10:
            return start, encodes  # its first encoding, over the budget
        encodes += 1
    return quality, encodes + 1  # and one more at the first quality, discarded


def imgproxy(sizes: dict[int, int], start: int, budget: int) -> tuple[int, int]:
    quality, encodes = start, 1
    while sizes[quality] > budget and quality > 10:
        delta = sizes[quality] / budget
        factor = 0.25 if delta > 3 else 0.5 if delta > 1.5 else 0.75
        quality = max(10, min(quality - 1, round(quality * factor)))
        encodes += 1
    return quality, encodes


RULES: dict[str, Search] = {"pixserve": pixserve, "thumbor": thumbor, "imgproxy": imgproxy}


def photo(name: str) -> Image.Image:
    with Image.open(CORPUS / name) as image:
        picture = image.convert("RGB")
    if picture.width > WIDTH:
        height = round(picture.height * WIDTH / picture.width)
        picture = picture.resize((WIDTH, height), Image.Resampling.LANCZOS)
    return picture


def main() -> int:
    rows: dict[tuple[str, str], list[tuple[int, bool, int]]] = {}
    for name in PHOTOS:
        image = photo(name)
        for fmt in FORMAT_NAMES:
            sizes = sizes_at_every_quality(image, fmt)
            start = max(sizes)
            budgets = [
                int(sizes[FLOOR_QUALITY] + (sizes[start] - sizes[FLOOR_QUALITY]) * share)
                for share in SHARES
            ] + [sizes[FLOOR_QUALITY] // 2]
            for budget in budgets:
                fitting = [q for q, size in sizes.items() if size <= budget]
                best = max(fitting) if fitting else None
                for rule, search in RULES.items():
                    quality, encodes = search(sizes, start, budget)
                    fits = sizes[quality] <= budget
                    gap = best - quality if best is not None and fits else -1
                    rows.setdefault((rule, fmt), []).append((encodes, fits, gap))
    lines = [
        f"# max_bytes: budget searches on {len(PHOTOS)} corpus photos at {WIDTH} px",
        "",
        "Per rule and format, over the budgets 20-80% of the way from the quality-10 size",
        "to the default quality's, and half the quality-10 size (nothing fits):",
        "",
        *table_head(["rule, format", "encodes (median, max)", "fits", "gap median", "gap max"]),
    ]
    for (rule, fmt), results in rows.items():
        counts = [row[0] for row in results]
        gaps = [row[2] for row in results if row[2] >= 0]
        fitted = sum(row[1] for row in results)
        lines.append(
            f"| {rule}, {fmt} | {statistics.median(counts):g}, {max(counts)} "
            f"| {fitted}/{len(results)} | {statistics.median(gaps):g} | {max(gaps)} |"
        )
    publish("\n".join(lines), OUT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

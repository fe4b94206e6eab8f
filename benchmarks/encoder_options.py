"""The measurements behind three encoder choices (issue: "where they pay off").

1. JPEG: baseline with optimised Huffman tables vs progressive, at 300/640/1280 px.
2. PNG: truecolour vs an adaptive 256-colour palette (PNG8), on pictures with alpha:
   bytes and SSIM against the truecolour PNG, to decide when quantising keeps quality.
3. WebP effort: method 4 vs 6 for small outputs, where a slower method costs little.

Run: .venv/bin/python -m benchmarks encoder_options (prints a Markdown report).
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

from benchmarks.cases import CORPUS
from benchmarks.results_md import table_head
from benchmarks.ssim import ssim_images

PHOTOS = ("photos/street-2725x2225.jpg", "photos/gain-map-3840x2160.jpg")
ALPHA = (
    "alpha/embedgravitybird.png",
    "alpha/test-pattern.png",
    "alpha/with-alpha.png",
    "alpha/palette-alpha.png",
    "alpha/grey-8bit-alpha.png",
)


def timed(image: Image.Image, fmt: str, **params: object) -> tuple[bytes, float]:
    """The encoded bytes and the median encode time of five, in ms."""
    times, data = [], b""
    for _ in range(5):
        started = time.perf_counter()
        data = save(image, fmt, **params)
        times.append((time.perf_counter() - started) * 1000)
    return data, statistics.median(times)


def save(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def photo(name: str, width: int) -> Image.Image:
    with Image.open(CORPUS / name) as image:
        image.draft("RGB", (width * 2, width * 2))
        picture = image.convert("RGB")
    return picture.resize(
        (width, round(picture.height * width / picture.width)), Image.Resampling.LANCZOS
    )


def main() -> int:
    if not CORPUS.is_dir():
        print(f"encoder_options.py: no corpus at {CORPUS}", file=sys.stderr)
        return 1
    lines = [
        "# Encoder options",
        "",
        "## JPEG q75: optimised baseline vs progressive",
        "",
        *table_head(
            ["photo", "width", "baseline bytes", "ms", "progressive bytes", "ms", "bytes ratio"]
        ),
    ]
    for name in PHOTOS:
        for width in (300, 640, 1280):
            image = photo(name, width)
            base, base_ms = timed(image, "JPEG", quality=75, optimize=True)
            prog, prog_ms = timed(image, "JPEG", quality=75, optimize=True, progressive=True)
            lines.append(
                f"| {Path(name).stem} | {width} | {len(base):,} | {base_ms:.1f} | {len(prog):,} "
                f"| {prog_ms:.1f} | {len(prog) / len(base):.3f} |"
            )
    lines += [
        "",
        "## PNG with alpha: truecolour vs 256-colour palette (FASTOCTREE)",
        "",
        *table_head(
            [
                "picture",
                "truecolour bytes",
                "PNG8 bytes",
                "bytes ratio",
                "SSIM",
                "alpha levels kept",
            ]
        ),
    ]
    for name in ALPHA:
        with Image.open(CORPUS / name) as source:
            rgba = source.convert("RGBA")
        full = save(rgba, "PNG")
        quantised = rgba.quantize(256, method=Image.Quantize.FASTOCTREE)
        small = save(quantised, "PNG")
        back = Image.open(io.BytesIO(small)).convert("RGBA")
        score = ssim_images(rgba, back)
        alpha_levels = len(set(back.getchannel("A").tobytes()))
        lines.append(
            f"| {Path(name).name} | {len(full):,} | {len(small):,} | {len(small) / len(full):.2f} "
            f"| {score:.4f} | {alpha_levels} of {len(set(rgba.getchannel('A').tobytes()))} |"
        )
    lines += [
        "",
        "## WebP q80 effort by output size: method 4 vs 6",
        "",
        *table_head(["photo", "width", "m4 bytes", "m4 ms", "m6 bytes", "m6 ms"]),
    ]
    for name in PHOTOS:
        for width in (160, 300, 640):
            image = photo(name, width)
            four, four_ms = timed(image, "WEBP", quality=80, method=4)
            six, six_ms = timed(image, "WEBP", quality=80, method=6)
            lines.append(
                f"| {Path(name).stem} | {width} | {len(four):,} | {four_ms:.1f} | {len(six):,} "
                f"| {six_ms:.1f} |"
            )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Would JPEG XL (`pillow-jxl-plugin`) or jpegli (`pyjpegli`) be worth a dependency?

Why: issue 17 asks for measurements before adopting either. Four corpus photos are
resized by pixserve (no encode: the same pipeline ending in PNG) to 640 px, then
encoded at a sweep of qualities by Pillow's JPEG (libjpeg-turbo, optimised Huffman,
as pixserve does), jpegli, JPEG XL (effort 7, the plugin's default, one thread) and,
for scale, WebP as pixserve sets it. Each output is scored with SSIMULACRA2
against the unencoded picture; per photo, the bytes needed to reach a score are read
off each codec's curve (linear between sweep points), and the table gives the median
ratio to Pillow's JPEG at that score, with the median encode time at the quality
nearest to it. JPEG XL is also decoded back through the plugin to check reading.

Run: `.venv/bin/pip install pillow-jxl-plugin pyjpegli ssimulacra2`, then
`.venv/bin/python -m benchmarks.experiments.more_codecs` (about 10 minutes on 2 cores).
Prints
Markdown, also written to `benchmarks/out/more_codecs.md`.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable

import pillow_jxl  # noqa: F401  (registers JXL with Pillow)
import pyjpegli
from PIL import Image
from ssimulacra2 import compute_ssimulacra2

from benchmarks.cases import CORPUS, ROOT
from benchmarks.results_md import publish
from pixserve.transformer import FORMATS, parse_options, transform
from pixserve.transformer.encode import encode

OUT = ROOT / "benchmarks" / "out" / "more_codecs.md"
WIDTH = 640
SCORES = (60.0, 70.0, 80.0)

Encoder = Callable[[Image.Image, int], bytes]


def pillow_jpeg(image: Image.Image, quality: int) -> bytes:
    return encode(image.convert("RGB"), FORMATS["jpeg"], parse_options([("q", str(quality))]))


def jpegli(image: Image.Image, quality: int) -> bytes:
    rgb = image.convert("RGB")
    return bytes(pyjpegli.encode(rgb.tobytes(), rgb.width, rgb.height, quality))


def jxl(effort: int) -> Encoder:
    def run(image: Image.Image, quality: int) -> bytes:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JXL", quality=quality, effort=effort, num_threads=1)
        return buffer.getvalue()

    return run


def pixserve_format(name: str) -> Encoder:
    def run(image: Image.Image, quality: int) -> bytes:
        return encode(image, FORMATS[name], parse_options([("q", str(quality))]))

    return run


CODECS: dict[str, tuple[Encoder, tuple[int, ...]]] = {
    "JPEG (Pillow, libjpeg-turbo)": (pillow_jpeg, (40, 60, 75, 90)),
    "jpegli": (jpegli, (40, 60, 75, 90)),
    "JPEG XL effort 7": (jxl(7), (15, 30, 50, 80)),
    "WebP (pixserve)": (pixserve_format("webp"), (40, 65, 80, 92)),
}
# Four photos, from smooth to detailed: SSIMULACRA2 takes seconds per score.
PHOTOS = (
    "flowers-1920x1080.jpg",
    "4-1024x772.webp",
    "gain-map-3840x2160.jpg",
    "street-2725x2225.jpg",
)


def bytes_at(curve: list[tuple[float, int]], score: float) -> float | None:
    """Bytes to reach `score`, linear between the sweep's points; None off the curve."""
    points = sorted(curve)
    for (low_score, low_bytes), (high_score, high_bytes) in zip(points, points[1:], strict=False):
        if low_score <= score <= high_score and high_score > low_score:
            share = (score - low_score) / (high_score - low_score)
            return low_bytes + share * (high_bytes - low_bytes)
    return None


def main() -> None:
    ratios: dict[str, dict[float, list[float]]] = {c: {s: [] for s in SCORES} for c in CODECS}
    times: dict[str, list[float]] = {c: [] for c in CODECS}
    jxl_reads = 0
    for path in (CORPUS / "photos" / name for name in PHOTOS):
        source = path.read_bytes()
        unencoded = transform(source, parse_options([("w", str(WIDTH))]), FORMATS["png"]).data
        with Image.open(io.BytesIO(unencoded)) as opened:
            picture = opened.convert("RGB")
        curves: dict[str, list[tuple[float, int]]] = {}
        for codec, (run, qualities) in CODECS.items():
            curve = []
            for quality in qualities:
                started = time.perf_counter()
                data = run(picture, quality)
                times[codec].append(time.perf_counter() - started)
                if codec.startswith("JPEG XL"):
                    with Image.open(io.BytesIO(data)) as decoded:
                        decoded.load()
                        assert decoded.size == picture.size
                        jxl_reads += 1
                    shown = io.BytesIO()
                    Image.open(io.BytesIO(data)).convert("RGB").save(shown, "PNG")
                    data_for_score = shown.getvalue()
                else:
                    data_for_score = data
                score = float(
                    compute_ssimulacra2(io.BytesIO(unencoded), io.BytesIO(data_for_score))
                )
                curve.append((score, len(data)))
                print(
                    f"  {path.name} {codec} q{quality}: {len(data)} B, {score:.1f}", file=sys.stderr
                )
            curves[codec] = curve
        for score in SCORES:
            base = bytes_at(curves["JPEG (Pillow, libjpeg-turbo)"], score)
            for codec in CODECS:
                mine = bytes_at(curves[codec], score)
                if base and mine:
                    ratios[codec][score].append(mine / base)
    lines = [
        f"# More codecs at {WIDTH} px: bytes at equal SSIMULACRA2, against Pillow's JPEG",
        "",
        "| codec | " + " | ".join(f"bytes at {s:g}" for s in SCORES) + " | median encode ms |",
        "| --- | " + " | ".join("---:" for _ in SCORES) + " | ---: |",
    ]
    for codec in CODECS:
        cells = []
        for score in SCORES:
            found = ratios[codec][score]
            cells.append(
                f"{statistics.median(found) - 1:+.0%} (n={len(found)})" if found else "n/a"
            )
        lines.append(
            f"| {codec} | "
            + " | ".join(cells)
            + f" | {statistics.median(times[codec]) * 1000:.1f} |"
        )
    lines += ["", f"JPEG XL files decoded back through the plugin: {jxl_reads}, all at full size."]
    publish("\n".join(lines), OUT)


if __name__ == "__main__":
    main()

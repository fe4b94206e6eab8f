"""Encoder settings at a SSIMULACRA2 floor: does 4:4:4 chroma or an AVIF tune save bytes?

Why: issue 26 asks for fewer bytes at `q=auto`'s floors from settings a peer does not
choose per picture: chroma subsampling (4:4:4 for sharp colour edges) and AVIF's
encoder options, where Pillow exposes them (Pillow's WebP encoder exposes no
`use_sharp_yuv` and always subsamples lossy chroma, so WebP has nothing to try).

Method: the corpus photos at 640 and 1280 px and scikit-image's four photos at their
own size, resized by pixserve (no encode: the pipeline ending in PNG). Each is encoded
with pixserve's settings for the format (`encode.py`: JPEG optimised Huffman,
progressive from 0.5 MP, 4:2:0; AVIF at pixserve's speed, 4:2:0) and with each
variant, at every quality of the format's `q=auto` ladder; for each, the bytes at the
lowest quality scoring the floor (SSIMULACRA2 in-request, `transformer/ssimulacra.py`).
Reported per variant: the median bytes against pixserve's setting, on how many
pictures it is smaller, the median saving of a per-picture choice (an oracle: the
smaller of the two, what a perfect per-picture rule would get), and the median encode
time against pixserve's at the chosen quality (CPU, on the shared machine).

Run: `.venv/bin/pip install -e '.[bench]'`, then
`.venv/bin/python -m benchmarks.experiments.chroma_at_floor [--floor=60]` (about 5
minutes). Prints Markdown, also written to `benchmarks/out/chroma_at_floor.md`.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from typing import Any

from PIL import Image

from benchmarks.auto_quality_floors import resized_photos
from benchmarks.cases import ROOT
from benchmarks.results_md import publish
from pixserve.transformer import ssimulacra
from pixserve.transformer.encode import PROGRESSIVE_FROM_PIXELS, avif_speed
from pixserve.transformer.quality import LADDERS

OUT = ROOT / "benchmarks" / "out" / "chroma_at_floor.md"
WIDTHS = (640, 1280)


def settings(fmt: str, pixels: int) -> dict[str, dict[str, Any]]:
    """pixserve's settings for `fmt` (first) and the variants tried, by name."""
    if fmt == "jpeg":
        base: dict[str, Any] = {
            "optimize": True,
            "progressive": pixels >= PROGRESSIVE_FROM_PIXELS,
        }
        return {"pixserve (4:2:0)": base | {"subsampling": 2}, "4:4:4": base | {"subsampling": 0}}
    base = {"speed": avif_speed(pixels)}
    return {
        "pixserve (4:2:0)": base,
        "4:4:4": base | {"subsampling": "4:4:4"},
        "tune=ssim": base | {"advanced": {"tune": "ssim"}},
        "tune=iq": base | {"advanced": {"tune": "iq"}},
        "tune=ssimulacra2": base | {"advanced": {"tune": "ssimulacra2"}},
    }


def at_floor(
    picture: Image.Image, fmt: str, kwargs: dict[str, Any], floor: float
) -> tuple[int, float] | None:
    """Bytes and encode CPU seconds at the lowest ladder quality scoring `floor`."""
    reference = ssimulacra.Reference(picture)
    for quality in LADDERS[fmt]:
        buffer = io.BytesIO()
        began = time.process_time()
        try:
            picture.save(buffer, fmt.upper(), quality=quality, **kwargs)
        except (ValueError, OSError):
            return None  # an option this build of the encoder does not take
        seconds = time.process_time() - began
        with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
            if reference.score(decoded) >= floor:
                return len(buffer.getvalue()), seconds
    return None


def main() -> None:
    floor = 60.0
    for arg in sys.argv[1:]:
        if arg.startswith("--floor="):
            floor = float(arg.split("=", 1)[1])
    pictures = [
        (name, Image.open(io.BytesIO(data)).convert("RGB")) for name, data in resized_photos(WIDTHS)
    ]
    lines = [
        f"## Encoder settings at SSIMULACRA2 {floor:.0f}: bytes against pixserve's",
        "",
        f"{len(pictures)} pictures (corpus photos at {WIDTHS} px, scikit-image's at their size).",
        "",
        "| format | variant | pictures | median bytes vs pixserve | smaller on | "
        "per-picture choice saves (median) | encode CPU vs pixserve (median) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for fmt in ("jpeg", "avif"):
        results: dict[str, dict[str, tuple[int, float]]] = {}
        for name, picture in pictures:
            for variant, kwargs in settings(fmt, picture.width * picture.height).items():
                at = at_floor(picture, fmt, kwargs, floor)
                if at is not None:
                    results.setdefault(variant, {})[name] = at
            print(f"  {fmt} {name}", file=sys.stderr, flush=True)
        base_name = next(iter(settings(fmt, 0)))
        base = results[base_name]
        for variant, found in results.items():
            if variant == base_name:
                continue
            both = [n for n in found if n in base]
            if not both:
                lines.append(f"| {fmt} | {variant} | 0 | | | | |")
                continue
            ratios = [found[n][0] / base[n][0] for n in both]
            oracle = [min(found[n][0], base[n][0]) / base[n][0] for n in both]
            times = [found[n][1] / max(base[n][1], 1e-6) for n in both]
            smaller = sum(1 for r in ratios if r < 1)
            lines.append(
                f"| {fmt} | {variant} | {len(both)} | {statistics.median(ratios) - 1:+.0%} | "
                f"{smaller} | {1 - statistics.median(oracle):.0%} | "
                f"{statistics.median(times):.2f}x |"
            )
    publish("\n".join(lines), OUT)


if __name__ == "__main__":
    main()

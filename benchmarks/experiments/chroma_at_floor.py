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
`--high-answers` instead sweeps every ladder quality of 4:2:0 and 4:4:4 (JPEG and
AVIF; the photos at 320 px too) and asks, at floors 50, 60 and 70, whether 4:4:4 pays
where 4:2:0's answer is a high quality (`benchmarks/out/chroma_at_floor_high.md`,
about 4 minutes).
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


# `--high-answers`: does 4:4:4 pay where 4:2:0 needs a high quality (saturated colour
# that 4:2:0 smears)? Thresholds tried, per format: each ladder's top quarter and
# around it.
HIGH_FROM = {"jpeg": (70, 80, 90), "avif": (60, 70, 80)}
FLOORS = (50.0, 60.0, 70.0)


def sweep(picture: Image.Image, fmt: str, kwargs: dict[str, Any]) -> dict[int, tuple[int, float]]:
    """Bytes and in-request score at every ladder quality."""
    reference = ssimulacra.Reference(picture)
    found = {}
    for quality in LADDERS[fmt]:
        buffer = io.BytesIO()
        picture.save(buffer, fmt.upper(), quality=quality, **kwargs)
        with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
            found[quality] = (len(buffer.getvalue()), reference.score(decoded))
    return found


def high_answer_lines(pictures: list[tuple[str, Image.Image]]) -> list[str]:
    """Per format and threshold: the cases (picture x floor) whose 4:2:0 answer is at
    least the threshold, how often 4:4:4's answer is smaller there, and the mean saving
    over every case of keeping the smaller of the two for those."""
    lines = [
        "| format | 4:2:0 answer at least | cases (of all) | 4:4:4 smaller on | "
        "4:4:4 bytes vs 4:2:0 there: median (smallest) | mean saving over all cases |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for fmt in ("jpeg", "avif"):
        answers = []  # (4:2:0 quality, 4:2:0 bytes, 4:4:4 bytes or None) per case
        for name, picture in pictures:
            variants = settings(fmt, picture.width * picture.height)
            plain = sweep(picture, fmt, variants["pixserve (4:2:0)"])
            full = sweep(picture, fmt, variants["4:4:4"])
            for floor in FLOORS:
                quality = next((q for q, (_, sc) in plain.items() if sc >= floor), None)
                other = next((q for q, (_, sc) in full.items() if sc >= floor), None)
                if quality is not None:
                    answers.append(
                        (quality, plain[quality][0], None if other is None else full[other][0])
                    )
            print(f"  high answers: {fmt} {name}", file=sys.stderr, flush=True)
        for threshold in HIGH_FROM[fmt]:
            high = [(b, f) for q, b, f in answers if q >= threshold and f is not None]
            ratios = [f / b for b, f in high]
            saved = sum(b - min(b, f) for b, f in high) / sum(b for _, b, _ in answers)
            spread = f"{statistics.median(ratios):.2f} ({min(ratios):.2f})" if ratios else "-"
            lines.append(
                f"| {fmt} | q{threshold} | {len(high)} ({len(answers)}) | "
                f"{sum(r < 1 for r in ratios)} | {spread} | {saved:.1%} |"
            )
    return lines


def main() -> None:
    floor = 60.0
    for arg in sys.argv[1:]:
        if arg.startswith("--floor="):
            floor = float(arg.split("=", 1)[1])
    high = "--high-answers" in sys.argv[1:]
    widths = (320, *WIDTHS) if high else WIDTHS
    pictures = [
        (name, Image.open(io.BytesIO(data)).convert("RGB")) for name, data in resized_photos(widths)
    ]
    if high:
        publish("\n".join(high_answer_lines(pictures)), OUT.with_stem(OUT.stem + "_high"))
        return
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

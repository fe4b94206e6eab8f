"""Encoder sweep: the measurement behind the default qualities and the AVIF default.

Why: `transformer/formats.py` picks, per format, the lowest quality whose SSIM
against a clean LANCZOS reference stays at or above ~0.95 on real photos, and AVIF
is off by default because of what it costs a cold request. This script re-measures
both on the shared photo corpus so the choice can be checked after a Pillow or codec
upgrade.

Method: each photo is fully decoded (no draft), converted to RGB and resized to
640 px wide with LANCZOS (no reducing_gap): that is the reference. The reference is
encoded at each setting (one untimed warm-up, then the median of `REPEATS` timed
encodes), decoded back, and compared on luma with `ssim.py`. A second set at
1280 px compares WebP q80 with AVIF q60 speed 8, the cold-request cost of turning
AVIF on.

Run: `.venv/bin/python -m benchmarks encoders` (about a minute on 2 cores). Prints a
Markdown report and writes it to `benchmarks/out/encoders.md`.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import PIL
from PIL import Image, features

from benchmarks.cases import CORPUS, ROOT, check_corpus
from benchmarks.results_md import publish
from benchmarks.ssim import Plane, luma, ssim

OUT = ROOT / "benchmarks" / "out" / "encoders.md"

PHOTOS = (
    "photos/street-2725x2225.jpg",
    "photos/gain-map-3840x2160.jpg",
    "photos/flowers-1920x1080.jpg",
)
WIDTH = 640
WIDE = 1280
REPEATS = 5
THRESHOLD = 0.95
AVIF_SWEEP_SPEED = 8


@dataclass(frozen=True)
class Setting:
    """One encoder configuration: a Pillow format name and its save() keywords."""

    fmt: str
    quality: int
    options: tuple[tuple[str, Any], ...]

    @property
    def label(self) -> str:
        extra = ", ".join(f"{key}={value}" for key, value in self.options)
        return f"q{self.quality}" + (f", {extra}" if extra else "")

    def kwargs(self) -> dict[str, Any]:
        return {"quality": self.quality, **dict(self.options)}


def jpeg(quality: int) -> Setting:
    return Setting("JPEG", quality, (("optimize", True),))


def webp(quality: int) -> Setting:
    return Setting("WEBP", quality, (("method", 4),))


def avif(quality: int, speed: int, threads: int | None = None) -> Setting:
    options: tuple[tuple[str, Any], ...] = (("speed", speed),)
    if threads is not None:
        options += (("max_threads", threads),)
    return Setting("AVIF", quality, options)


SWEEP: tuple[Setting, ...] = (
    *(jpeg(q) for q in (60, 70, 75, 80, 85, 90)),
    *(webp(q) for q in (60, 70, 75, 80, 85, 90)),
    *(avif(q, AVIF_SWEEP_SPEED) for q in (40, 50, 60, 70, 80)),
    *(avif(60, speed) for speed in (4, 6, 10)),
)
WIDE_WEBP = webp(80)
WIDE_AVIF = avif(60, 8)
# Pillow gives libavif every core by default; a busy server has no spare core.
WIDE_AVIF_ONE_THREAD = avif(60, 8, threads=1)
WIDE_SET: tuple[Setting, ...] = (WIDE_WEBP, WIDE_AVIF, WIDE_AVIF_ONE_THREAD)


@dataclass(frozen=True)
class Measure:
    """One setting on one photo."""

    size: int
    encode_ms: float
    ssim: float


def reference(path: Path, width: int) -> Image.Image:
    """Full decode (no draft), RGB, LANCZOS to `width` px wide without reducing_gap."""
    with Image.open(path) as source:
        source.load()
        rgb = source.convert("RGB")
    height = max(1, round(rgb.height * width / rgb.width))
    return rgb.resize((width, height), Image.Resampling.LANCZOS)


def measure(image: Image.Image, reference_luma: Plane, setting: Setting) -> Measure:
    """Encode once untimed (those bytes are scored), then time `REPEATS` encodes."""

    def encode() -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, setting.fmt, **setting.kwargs())
        return buffer.getvalue()

    data = encode()
    timings = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        encode()
        timings.append((time.perf_counter() - start) * 1000)
    with Image.open(io.BytesIO(data)) as decoded:
        decoded.load()
        score = ssim(reference_luma, luma(decoded))
    return Measure(len(data), statistics.median(timings), score)


def short_name(photo: str) -> str:
    return Path(photo).stem.split("-")[0] if "gain-map" not in photo else "gain-map"


def default_marks() -> dict[tuple[str, int, int | None], str]:
    """(format, quality, speed) of the transformer's current defaults, to flag them."""
    from pixserve.transformer import FORMATS
    from pixserve.transformer.encode import AVIF_SPEED

    marks: dict[tuple[str, int, int | None], str] = {}
    for name, speed in (("jpeg", None), ("webp", None), ("avif", AVIF_SPEED)):
        quality = FORMATS[name].default_quality
        if quality is not None:
            marks[(FORMATS[name].pillow_name, quality, speed)] = "current default"
    return marks


def speed_of(setting: Setting) -> int | None:
    speed = dict(setting.options).get("speed")
    return speed if isinstance(speed, int) else None


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right_from: int = 1) -> list[str]:
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def recommend(
    results: dict[Setting, list[Measure]],
    kind: str,
    combine: Callable[[list[float]], float],
) -> list[str]:
    """Per format, the lowest swept quality whose combined SSIM reaches `THRESHOLD`.

    AVIF is judged at the sweep speed only; `combine` is the mean (the stated rule)
    or the minimum over the photos (the hardest photo decides).
    """
    lines = []
    for fmt in ("JPEG", "WEBP", "AVIF"):
        candidates = sorted(
            (
                (setting, measures)
                for setting, measures in results.items()
                if setting.fmt == fmt and speed_of(setting) in (None, AVIF_SWEEP_SPEED)
            ),
            key=lambda item: item[0].quality,
        )
        scores = [combine([m.ssim for m in measures]) for _, measures in candidates]
        index = next((i for i, score in enumerate(scores) if score >= THRESHOLD), None)
        if index is None:
            lines.append(
                f"- {fmt}, {kind} SSIM: no swept quality reaches {THRESHOLD} "
                f"(best {max(scores):.4f})."
            )
            continue
        setting, measures = candidates[index]
        floor = " (the lowest swept: the threshold lies lower)" if index == 0 else ""
        lines.append(
            f"- {fmt}, {kind} SSIM >= {THRESHOLD}: {setting.label}{floor}: "
            f"mean SSIM {statistics.mean(m.ssim for m in measures):.4f}, "
            f"min {min(m.ssim for m in measures):.4f}, "
            f"{statistics.mean(m.size for m in measures):,.0f} bytes, "
            f"{statistics.mean(m.encode_ms for m in measures):.1f} ms at {WIDTH} px."
        )
    return lines


def corpus_photos() -> list[Path]:
    paths = [CORPUS / photo for photo in PHOTOS]
    check_corpus(paths)
    return paths


def main() -> int:
    paths = corpus_photos()
    started = time.perf_counter()
    names = [short_name(photo) for photo in PHOTOS]

    results: dict[Setting, list[Measure]] = {setting: [] for setting in SWEEP}
    wide: dict[Setting, list[Measure]] = {setting: [] for setting in WIDE_SET}
    for path in paths:
        for width, settings, into in ((WIDTH, SWEEP, results), (WIDE, WIDE_SET, wide)):
            ref = reference(path, width)
            ref_luma = luma(ref)
            for setting in settings:
                into[setting].append(measure(ref, ref_luma, setting))
            print(f"  {path.name} at {width} px done", file=sys.stderr)

    marks = default_marks()
    lines = [
        "# Encoder sweep",
        "",
        f"Pillow {PIL.__version__}; libjpeg {features.version('jpg')}, "
        f"libwebp {features.version('webp')}, libavif {features.version('avif')}; "
        f"{os.cpu_count()} CPUs. Reference: full decode, RGB, LANCZOS to {WIDTH} px wide. "
        f"Photos: {', '.join(PHOTOS)}. Bytes and SSIM (luma, Gaussian sigma 1.5) are means "
        f"over the photos; encode ms is the median of {REPEATS} encodes per photo, averaged "
        "over the photos.",
        "",
        f"## Quality sweep at {WIDTH} px",
        "",
    ]
    rows = []
    for setting, measures in results.items():
        mark = marks.get((setting.fmt, setting.quality, speed_of(setting)), "")
        rows.append(
            [
                setting.fmt,
                setting.label + (f" ({mark})" if mark else ""),
                f"{statistics.mean(m.size for m in measures):,.0f}",
                f"{statistics.mean(m.encode_ms for m in measures):.1f}",
                f"{statistics.mean(m.ssim for m in measures):.4f}",
                *(f"{m.ssim:.4f}" for m in measures),
            ]
        )
    header = ["format", "setting", "mean bytes", "encode ms", "mean SSIM"]
    lines += table(header + [f"SSIM {name}" for name in names], rows, right_from=2)

    lines += [
        "",
        f"## Cold-request cost at {WIDE} px: WebP q80 vs AVIF q60 speed 8",
        "",
        f"Encode ms is the median of {REPEATS}. The last AVIF column limits libavif to one "
        "thread (Pillow's default is every core, which a loaded server does not have).",
        "",
    ]
    rows = []
    for index, name in enumerate(names + ["mean"]):

        def pick(setting: Setting, attribute: str, i: int = index) -> float:
            values = [getattr(m, attribute) for m in wide[setting]]
            return float(values[i] if i < len(names) else statistics.mean(values))

        webp_ms, avif_ms = pick(WIDE_WEBP, "encode_ms"), pick(WIDE_AVIF, "encode_ms")
        webp_bytes, avif_bytes = pick(WIDE_WEBP, "size"), pick(WIDE_AVIF, "size")
        rows.append(
            [
                name,
                f"{webp_bytes:,.0f}",
                f"{webp_ms:.1f}",
                f"{pick(WIDE_WEBP, 'ssim'):.4f}",
                f"{avif_bytes:,.0f}",
                f"{avif_ms:.1f}",
                f"{pick(WIDE_AVIF, 'ssim'):.4f}",
                f"{pick(WIDE_AVIF_ONE_THREAD, 'encode_ms'):.1f}",
                f"{avif_ms / webp_ms:.2f}",
                f"{avif_bytes / webp_bytes:.2f}",
            ]
        )
    header = [
        "photo",
        "WebP bytes",
        "WebP ms",
        "WebP SSIM",
        "AVIF bytes",
        "AVIF ms",
        "AVIF SSIM",
        "AVIF ms 1 thread",
        "ms AVIF/WebP",
        "bytes AVIF/WebP",
    ]
    lines += table(header, rows)

    lines += ["", "## Recommendation", ""]
    lines += recommend(results, "mean", statistics.mean)
    lines += recommend(results, "worst-photo", min)
    webp_ms = statistics.mean(m.encode_ms for m in wide[WIDE_WEBP])
    avif_ms = statistics.mean(m.encode_ms for m in wide[WIDE_AVIF])
    one_ms = statistics.mean(m.encode_ms for m in wide[WIDE_AVIF_ONE_THREAD])
    webp_bytes = statistics.mean(m.size for m in wide[WIDE_WEBP])
    avif_bytes = statistics.mean(m.size for m in wide[WIDE_AVIF])
    lines.append(
        f"- AVIF q60 speed 8 vs WebP q80 at {WIDE} px: encode time x{avif_ms / webp_ms:.2f} "
        f"({avif_ms:.0f} vs {webp_ms:.0f} ms; x{one_ms / webp_ms:.2f} with one thread), "
        f"bytes x{avif_bytes / webp_bytes:.2f} ({avif_bytes:,.0f} vs {webp_bytes:,.0f})."
    )
    lines += ["", f"_Run time {time.perf_counter() - started:.0f} s._"]

    publish("\n".join(lines) + "\n", OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())

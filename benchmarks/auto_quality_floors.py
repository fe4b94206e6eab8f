"""`q=auto` floors in SSIMULACRA2: per format, the in-request threshold that keeps a
floor on pictures it was calibrated on, checked on pictures it was not (issue 26).

Why: a level of `q=auto` should promise a number on the scale the field uses
(SSIMULACRA2), while a request can only afford the cheap SSIM of `metric.py`. So the
threshold on the cheap score is chosen per format and per floor on one set of pictures
and then checked on another.

Method:
- Pictures: the corpus photos sorted by name, alternately calibration (even places)
  and held out (odd places); every width in `--widths=` (default 640) the photo
  allows. Each is encoded at every quality of the format's `q=auto` ladder through
  pixserve's own pipeline, and scored against pixserve's unencoded picture at that
  size (PNG) with the in-request score (`quality.WEIGHTS`, sampled as in requests) and
  SSIMULACRA2 (PyPI `ssimulacra2`, computed only where a choice needs it).
- Calibration: for each floor, the lowest threshold (steps of 0.0025) whose choice
  (the lowest ladder quality at or above it, else the top) scores at least the floor
  on every calibration case, or is the ladder's top.
- `--leave-one-out`: instead of two halves, each corpus photo is held out in turn and
  the threshold calibrated on all the others (a fold per photo).
- Held-out check: the same threshold's choice on the held-out cases; a case holds when
  it scores at least the floor or is the top of the ladder. The bytes are reported
  against the fixed default quality's.

Run: `.venv/bin/pip install -e '.[bench]'` then `.venv/bin/python -m benchmarks
auto_quality_floors [--formats=jpeg,webp] [--widths=640,1280]
[--floors=50,60,70] [--bottom=jpeg:45] [--leave-one-out]`. Prints Markdown, also written to
`benchmarks/out/auto_quality_floors.md`.
"""

from __future__ import annotations

import io
import statistics
import sys
from dataclasses import dataclass, field

from PIL import Image
from ssimulacra2 import compute_ssimulacra2

from benchmarks.cases import CORPUS, ROOT
from benchmarks.results_md import publish
from pixserve.transformer import FORMATS, parse_options, transform
from pixserve.transformer.metric import PictureReference
from pixserve.transformer.quality import LADDERS, WEIGHTS

OUT = ROOT / "benchmarks" / "out" / "auto_quality_floors.md"
THRESHOLDS = tuple(round(0.90 + 0.0025 * step, 4) for step in range(40))


def _argument(name: str, default: str) -> list[str]:
    for arg in sys.argv[1:]:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1].split(",")
    return default.split(",")


@dataclass
class Case:
    """One photo at one width in one format: every ladder quality's bytes and
    in-request score, and SSIMULACRA2 where computed."""

    photo: str
    width: int
    unencoded: bytes
    outputs: dict[int | None, bytes]
    in_request: dict[int, float]
    ssimulacra: dict[int, float] = field(default_factory=dict)

    def score(self, quality: int) -> float:
        if quality not in self.ssimulacra:
            self.ssimulacra[quality] = float(
                compute_ssimulacra2(io.BytesIO(self.unencoded), io.BytesIO(self.outputs[quality]))
            )
        return self.ssimulacra[quality]


# Extra calibration photos from scikit-image's data (`pip install scikit-image`), each
# free to use by the licence its `skimage.data` docstring states: astronaut (NASA,
# public domain), chelsea and coffee (CC0, their photographers), rocket (SpaceX, public
# domain). All are at most 640 px wide, so they count at their own size.
EXTRA = ("astronaut", "chelsea", "coffee", "rocket")


def extra_photos() -> list[tuple[str, bytes]]:
    """scikit-image's sample photos as PNG bytes, or none when it is not installed."""
    try:
        from skimage import data  # noqa: PLC0415 (optional)
    except ImportError:
        return []
    found = []
    for name in EXTRA:
        buffer = io.BytesIO()
        Image.fromarray(getattr(data, name)()).save(buffer, "PNG")
        found.append((f"skimage:{name}", buffer.getvalue()))
    return found


def cases(fmt: str, photos: list[tuple[str, bytes]], widths: list[int]) -> list[Case]:
    found = []
    for name, source in photos:
        seen: set[tuple[int, int]] = set()
        for width in widths:
            unencoded = transform(source, parse_options([("w", str(width))]), FORMATS["png"])
            if unencoded.size in seen:
                continue
            seen.add(unencoded.size)
            with Image.open(io.BytesIO(unencoded.data)) as picture:
                reference = PictureReference(picture, WEIGHTS)
            case = Case(name, width, unencoded.data, {}, {})
            for quality in (None, *LADDERS[fmt]):
                pairs = [("w", str(width))] + ([] if quality is None else [("q", str(quality))])
                case.outputs[quality] = transform(source, parse_options(pairs), FORMATS[fmt]).data
                if quality is not None:
                    with Image.open(io.BytesIO(case.outputs[quality])) as decoded:
                        case.in_request[quality] = reference.score(decoded)
            found.append(case)
            print(f"  {fmt} {name} {width}", file=sys.stderr, flush=True)
    return found


def _bottoms() -> dict[str, int]:
    """`--bottom=jpeg:45,webp:40`: the lowest quality a format's ladder may choose (a
    trial of a higher bottom than `quality.LADDERS`'s)."""
    pairs = [item.split(":") for item in _argument("bottom", "") if item]
    return {fmt: int(quality) for fmt, quality in pairs}


def ladder_of(fmt: str) -> tuple[int, ...]:
    bottom = _bottoms().get(fmt, 0)
    return tuple(q for q in LADDERS[fmt] if q >= bottom)


def choice(case: Case, ladder: tuple[int, ...], threshold: float) -> int:
    return next((q for q in ladder if case.in_request[q] >= threshold), ladder[-1])


def holds(case: Case, ladder: tuple[int, ...], quality: int, floor: float) -> bool:
    return quality == ladder[-1] or case.score(quality) >= floor


def calibrate(fmt: str, calibration: list[Case], floor: float) -> float | None:
    ladder = ladder_of(fmt)
    for threshold in THRESHOLDS:
        if all(holds(c, ladder, choice(c, ladder, threshold), floor) for c in calibration):
            return threshold
    return None


def fold_lines(
    fmt: str, fold: str, calibration: list[Case], held_out: list[Case], floors: list[float]
) -> list[str]:
    """One table row per floor: the threshold calibrated on `calibration`, checked on
    `held_out` (the cases that fall short named)."""
    ladder = ladder_of(fmt)
    lines = []
    for floor in floors:
        threshold = calibrate(fmt, calibration, floor)
        if threshold is None:
            lines.append(f"| {fmt} | {fold} | {floor:.0f} | none | | | | | | |")
            continue
        worst = min(c.score(choice(c, ladder, threshold)) for c in calibration)
        picked = [(c, choice(c, ladder, threshold)) for c in held_out]
        scores = [c.score(q) for c, q in picked]
        short = [
            f"{c.photo}@{c.width} q{q} {c.score(q):.1f}"
            for c, q in picked
            if not holds(c, ladder, q, floor)
        ]
        ratios = [len(c.outputs[q]) / len(c.outputs[None]) for c, q in picked]
        lines.append(
            f"| {fmt} | {fold} | {floor:.0f} | {threshold:.4f} | {worst:.1f} | "
            f"{min(scores):.1f} | {len(picked) - len(short)}/{len(picked)} | "
            f"{statistics.median(scores):.1f} | {statistics.median(ratios) - 1:+.0%} | "
            f"{'; '.join(short)} |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    return lines


def main() -> None:
    formats = _argument("formats", "jpeg,webp,avif")
    widths = [int(w) for w in _argument("widths", "640")]
    floors = [float(f) for f in _argument("floors", "50,60,70")]
    corpus = [(p.name, p.read_bytes()) for p in sorted((CORPUS / "photos").iterdir())]
    halves = {"A": (corpus[0::2], corpus[1::2]), "B": (corpus[1::2], corpus[0::2])}
    if "--leave-one-out" in sys.argv[1:]:
        halves = {
            f"all but {name}": ([p for p in corpus if p[0] != name], [(name, data)])
            for name, data in corpus
        }
    extra = extra_photos()
    lines = [
        "## q=auto floors in SSIMULACRA2: calibrated, then checked on held-out photos",
        "",
        *(
            f"Fold {fold} holds out {', '.join(n for n, _ in held)}."
            for fold, (_, held) in halves.items()
        ),
        f"Every fold calibrates on the other corpus photos and on "
        f"{', '.join(n for n, _ in extra) or 'no extra photos'}. Widths {widths}; "
        f"ladder bottoms {_bottoms() or 'as in quality.LADDERS'}.",
        "",
        "| format | fold | floor | threshold | calibration worst | held out worst | "
        "held out holds | held out median | held out bytes vs default (median) | "
        "held out short |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for fmt in formats:
        extra_cases = cases(fmt, extra, widths)
        corpus_cases = {name: cases(fmt, [(name, data)], widths) for name, data in corpus}
        for fold, (calibrating, holding) in halves.items():
            calibration = extra_cases + [c for n, _ in calibrating for c in corpus_cases[n]]
            held_out = [c for n, _ in holding for c in corpus_cases[n]]
            lines += fold_lines(fmt, fold, calibration, held_out, floors)
    publish("\n".join(lines), OUT)


if __name__ == "__main__":
    main()

"""`q=auto` floors in SSIMULACRA2: in-request score vs the package, margins, search.

Issue 26: the in-request score against the `ssimulacra2` package, the margin per
format that keeps a floor on held-out photos, and the search's constants.

Why: a level of `q=auto` promises a number on the scale the field uses (SSIMULACRA2,
PyPI `ssimulacra2`, the offline reference) while a request scores its probes with its
own code (`transformer/ssimulacra.py`). So this measures how the two agree, calibrates
the margin per format over the in-request score on some photos and checks it on
others, and measures where the search should start and how far it jumps.

Method:
- Pictures: the corpus photos at every width in `--widths=` (default 640,1280) the
  photo allows, and four photos from scikit-image's `skimage.data` at their own size
  (astronaut and rocket: public domain; chelsea and coffee: CC0, as each function's
  docstring states). `q=auto`'s unencoded picture at that size (PNG: its faithful
  decode and resize) is encoded at every quality of the format's `q=auto` ladder and
  scored against that picture with the in-request score, as a request does.
- Agreement: the package against the same picture at every multiple of 10: per
  format, Spearman's rank correlation between the two scores, the largest
  difference, and the CPU time of one score per width (median of the probes).
- Calibration, from outside: the package scores the qualities the calibration looks
  at against the neutral reference (the original decoded whole, LANCZOS to the size:
  `quality.py`, the issue's measure), so the margin covers what the resize loses as
  well as the two scores' difference. For each floor, the lowest margin (steps of
  0.5) whose choice (the lowest ladder quality scoring at least floor + margin
  in-request, else the top) scores at least the floor from outside on every
  calibration case, or is the top.
  Folds: the corpus halves (A holds out every other photo, B the rest), or with
  `--leave-one-out` one fold per corpus photo; every fold calibrates on the others and
  on the scikit-image photos.
- Held-out check: the same margin's choice on the held-out cases; a case holds when
  it scores at least the floor from outside, or it is the top of the ladder. Bytes are
  against the fixed default quality's.
- Search: per format, the median lowest quality meeting `good`'s floor (where the
  search starts, `quality.START`) and the median change of log(100 - score) per ladder
  step within 10 points of it (`quality.LOG_DISTORTION_PER_STEP`); then the search
  replayed on the recorded scores for every level: probes (mean) and how many answers
  are the lowest quality meeting the floor.

Run: `.venv/bin/pip install -e '.[bench]'` then `.venv/bin/python -m benchmarks
auto_quality_floors [--formats=jpeg,webp] [--widths=640] [--floors=50,60,70]
[--leave-one-out]`; `--score-cost` only times one in-request score and its reference
on four pictures. Prints Markdown, also written to
`benchmarks/out/auto_quality_floors.md`. About 10 minutes (9 with `--leave-one-out` on
the shared 2-core machine at load average 3-5).
"""

from __future__ import annotations

import io
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from PIL import Image
from ssimulacra2 import compute_ssimulacra2

from benchmarks import quality as neutral
from benchmarks.cases import CORPUS, ROOT, Transform
from benchmarks.cases import Case as CorpusCase
from benchmarks.results_md import publish
from pixserve.transformer import FORMATS, Result, parse_options, ssimulacra, transform
from pixserve.transformer.options import LEVELS
from pixserve.transformer.quality import LADDERS, START, Search

OUT = ROOT / "benchmarks" / "out" / "auto_quality_floors.md"
MARGINS = tuple(0.5 * step for step in range(41))


def _argument(name: str, default: str) -> list[str]:
    for arg in sys.argv[1:]:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1].split(",")
    return default.split(",")


@dataclass
class Case:
    """One photo at one width in one format: every ladder quality's bytes and
    in-request score, and the package's score where computed."""

    photo: str
    width: int
    unencoded: bytes
    outputs: dict[int | None, bytes]
    in_request: dict[int, float]
    neutral: bytes = b""  # the original resized faithfully (PNG): what a user compares with
    seconds: list[float] = field(default_factory=list)
    package: dict[int, float] = field(default_factory=dict)
    package_seconds: list[float] = field(default_factory=list)
    outside: dict[int, float] = field(default_factory=dict)

    def score(self, quality: int) -> float:
        """The package's score against pixserve's unencoded picture (the in-request
        score's reference: their agreement)."""
        if quality not in self.package:
            began = time.process_time()
            self.package[quality] = float(
                compute_ssimulacra2(io.BytesIO(self.unencoded), io.BytesIO(self.outputs[quality]))
            )
            self.package_seconds.append(time.process_time() - began)
        return self.package[quality]

    def from_outside(self, quality: int) -> float:
        """The package's score against the neutral reference: the floor's promise."""
        if quality not in self.outside:
            self.outside[quality] = float(
                compute_ssimulacra2(io.BytesIO(self.neutral), io.BytesIO(self.outputs[quality]))
            )
        return self.outside[quality]


def scored_in_request(case: Case, quality: int) -> tuple[bytes, float]:
    """A replayed probe: no bytes, the in-request score the run recorded."""
    return b"", case.in_request[quality]


# Extra calibration photos from scikit-image's data (`pip install scikit-image`), each
# free to use by the licence its `skimage.data` docstring states: astronaut (NASA,
# public domain), chelsea and coffee (CC0, their photographers), rocket (SpaceX, public
# domain). All are at most 640 px wide, so they count at their own size.
EXTRA = ("astronaut", "chelsea", "coffee", "rocket")


def resized_photos(widths: tuple[int, ...]) -> list[tuple[str, bytes]]:
    """The corpus photos resized by pixserve to each of `widths` as `q=auto` resizes
    them (PNG; a size a smaller width already gave is skipped), then scikit-image's at
    their own size."""
    found = []
    for path in sorted((CORPUS / "photos").iterdir()):
        seen: set[tuple[int, int]] = set()
        for width in widths:
            asked = parse_options([("w", str(width)), ("q", "auto")])
            made = transform(path.read_bytes(), asked, FORMATS["png"])
            if made.size not in seen:
                seen.add(made.size)
                found.append((f"{path.name}@{width}", made.data))
    return found + extra_photos()


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
    """Each photo at each width: `q=auto`'s unencoded picture (its faithful decode and
    resize, `load.faithful`) encoded at every ladder quality, and the fixed default
    as a user gets it. A corpus photo's neutral reference is its full-decode LANCZOS
    (`quality.references`); scikit-image's are at their own size."""
    found = []
    for name, source in photos:
        seen: set[tuple[int, int]] = set()
        for width in widths:
            pairs = [("w", str(width))]
            unencoded = transform(source, parse_options([*pairs, ("q", "auto")]), FORMATS["png"])
            if unencoded.size in seen:
                continue
            seen.add(unencoded.size)
            with Image.open(io.BytesIO(unencoded.data)) as picture:
                reference = ssimulacra.Reference(picture)
            case = Case(name, width, unencoded.data, {}, {}, _neutral(name, unencoded))
            case.outputs[None] = transform(source, parse_options(pairs), FORMATS[fmt]).data
            for quality in LADDERS[fmt]:
                case.outputs[quality] = transform(
                    unencoded.data, parse_options([*pairs, ("q", str(quality))]), FORMATS[fmt]
                ).data
                if quality is not None:
                    with Image.open(io.BytesIO(case.outputs[quality])) as decoded:
                        decoded.load()
                        began = time.process_time()
                        case.in_request[quality] = reference.score(decoded)
                        case.seconds.append(time.process_time() - began)
            found.append(case)
            print(f"  {fmt} {name} {width}", file=sys.stderr, flush=True)
    return found


def _neutral(name: str, unencoded: Result) -> bytes:
    """The neutral reference at the unencoded picture's size, as PNG."""
    if name.startswith("skimage:"):
        return unencoded.data
    size = unencoded.size
    case = CorpusCase(f"photos/{name}", Transform(size[0], "png"))
    return neutral.png(neutral.references(case, size)[0])


def choice(case: Case, ladder: tuple[int, ...], threshold: float) -> int:
    return next((q for q in ladder if case.in_request[q] >= threshold), ladder[-1])


def holds(case: Case, ladder: tuple[int, ...], quality: int, floor: float) -> bool:
    return quality == ladder[-1] or case.from_outside(quality) >= floor


def calibrate(fmt: str, calibration: list[Case], floor: float) -> float | None:
    ladder = LADDERS[fmt]
    for margin in MARGINS:
        if all(holds(c, ladder, choice(c, ladder, floor + margin), floor) for c in calibration):
            return margin
    return None


def fold_lines(
    fmt: str, fold: str, calibration: list[Case], held_out: list[Case], floors: list[float]
) -> list[str]:
    """One table row per floor: the margin calibrated on `calibration`, checked on
    `held_out` (the cases that fall short named)."""
    ladder = LADDERS[fmt]
    lines = []
    for floor in floors:
        margin = calibrate(fmt, calibration, floor)
        if margin is None:
            lines.append(f"| {fmt} | {fold} | {floor:.0f} | none | | | | | | |")
            continue
        worst = min(c.from_outside(choice(c, ladder, floor + margin)) for c in calibration)
        picked = [(c, choice(c, ladder, floor + margin)) for c in held_out]
        scores = [c.from_outside(q) for c, q in picked]
        short = [
            f"{c.photo}@{c.width} q{q} {c.from_outside(q):.1f}"
            for c, q in picked
            if not holds(c, ladder, q, floor)
        ]
        tops = sum(1 for _, q in picked if q == ladder[-1])
        ratios = [len(c.outputs[q]) / len(c.outputs[None]) for c, q in picked]
        lines.append(
            f"| {fmt} | {fold} | {floor:.0f} | {margin:.1f} | {worst:.1f} | "
            f"{min(scores):.1f} | {len(picked) - len(short)}/{len(picked)} ({tops} at the top) | "
            f"{statistics.median(scores):.1f} | {statistics.median(ratios) - 1:+.0%} | "
            f"{'; '.join(short) or '-'} |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    return lines


def _ranks(values: list[float]) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    return ranks


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation (ties are rare in continuous scores: not averaged)."""
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


def agreement_lines(fmt: str, found: list[Case]) -> list[str]:
    """Per format: rank correlation and the largest difference over every quality the
    package scored (multiples of 10 and the calibration's choices), and each score's
    CPU time per call at each width."""
    for case in found:
        for quality in LADDERS[fmt]:
            if quality % 10 == 0:
                case.score(quality)
    pairs = [(c.in_request[q], s) for c in found for q, s in c.package.items()]
    ours, theirs = [p[0] for p in pairs], [p[1] for p in pairs]
    largest = max(abs(a - b) for a, b in pairs)
    timing = []
    for width in sorted({c.width for c in found if not c.photo.startswith("skimage:")}):
        at = [c for c in found if c.width == width and not c.photo.startswith("skimage:")]
        mine = statistics.median(s for c in at for s in c.seconds) * 1000
        package = statistics.median(s for c in at for s in c.package_seconds) * 1000
        timing.append(f"{width} px: {mine:.0f} ms vs {package:.0f} ms")
    return [
        f"| {fmt} | {len(pairs)} | {spearman(ours, theirs):.4f} | {largest:.2f} | "
        f"{'; '.join(timing)} |"
    ]


def _log_distortion(score: float) -> float:
    return math.log(max(1e-3, 100.0 - score))


def search_constants(scores: list[dict[int, float]], ladder: tuple[int, ...]) -> tuple[int, float]:
    """Where a search should start and how far it jumps, from every quality's recorded
    score per picture: the ladder quality nearest the median lowest meeting `good`'s
    floor, and the median change of log(100 - score) per step within 10 points of it."""
    good = LEVELS["good"]
    lowest = [next((q for q in ladder if by[q] >= good), ladder[-1]) for by in scores]
    slopes = [
        _log_distortion(by[upper]) - _log_distortion(by[lower])
        for by in scores
        for lower, upper in zip(ladder, ladder[1:], strict=False)
        if abs(by[lower] - good) <= 10 or abs(by[upper] - good) <= 10
    ]
    start = min(ladder, key=lambda q: abs(q - statistics.median(lowest)))
    return start, statistics.median(slopes)


def search_lines(fmt: str, found: list[Case]) -> list[str]:
    """The search's constants for `fmt` from the recorded scores, then the search (as
    `quality.py` runs it) replayed on them, from the measured median and from
    `quality.START` (where they differ)."""
    ladder = LADDERS[fmt]
    lowest = [choice(c, ladder, LEVELS["good"]) for c in found]
    median, slope = search_constants([c.in_request for c in found], ladder)
    lines = []
    for begin in dict.fromkeys((median, START[fmt])):
        replays = []
        for level, floor in LEVELS.items():
            probes, exact = [], 0
            for case in found:
                search = Search(partial(scored_in_request, case), floor, ladder, slope)
                index = search.secant(ladder.index(begin))
                quality = ladder[min(index, len(ladder) - 1)]
                probes.append(len(search.results))
                exact += quality == choice(case, ladder, floor)
            replays.append(
                f"{level} {statistics.mean(probes):.1f} probes, {exact}/{len(found)} lowest"
            )
        lines.append(
            f"| {fmt} | {statistics.median(lowest):.0f} | {begin} | {slope:.3f} | "
            f"{'; '.join(replays)} |"
        )
    return lines


# `--score-cost`: one in-request score's CPU, on JPEG q50 probes of a smooth and a
# detailed photo (the figure `transformer/ssimulacra.py` quotes).
SCORE_CASES = (
    ("flowers-1920x1080.jpg", 640),
    ("street-2725x2225.jpg", 320),
    ("street-2725x2225.jpg", 640),
    ("street-2725x2225.jpg", 1280),
)


def score_cost_lines() -> list[str]:
    """One score's CPU and one `Reference`'s (median of 9) per picture."""
    lines = ["| picture | one score (CPU) | its reference (CPU) |", "| --- | ---: | ---: |"]
    for name, width in SCORE_CASES:
        source = (CORPUS / "photos" / name).read_bytes()
        pairs = [("w", str(width))]
        unencoded = transform(source, parse_options(pairs), FORMATS["png"]).data
        probe = transform(source, parse_options([*pairs, ("q", "50")]), FORMATS["jpeg"]).data
        with Image.open(io.BytesIO(unencoded)) as picture:
            picture.load()
            reference = ssimulacra.Reference(picture)
            preparing = _median_cpu(partial(ssimulacra.Reference, picture))
        decoded = Image.open(io.BytesIO(probe))
        decoded.load()
        scoring = _median_cpu(partial(reference.score, decoded))
        lines.append(
            f"| {name} at {decoded.width}x{decoded.height} | {scoring * 1000:.1f} ms "
            f"| {preparing * 1000:.1f} ms |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    return lines


def _median_cpu(work: Callable[[], object]) -> float:
    """The median CPU seconds of nine runs of `work`."""
    seconds = []
    for _ in range(9):
        began = time.process_time()
        work()
        seconds.append(time.process_time() - began)
    return statistics.median(seconds)


def main() -> None:
    if "--score-cost" in sys.argv[1:]:
        publish("\n".join(score_cost_lines()), OUT.with_stem(OUT.stem + "_score_cost"))
        return
    formats = _argument("formats", "jpeg,webp,avif")
    widths = [int(w) for w in _argument("widths", "640,1280")]
    floors = [float(f) for f in _argument("floors", ",".join(map(str, LEVELS.values())))]
    corpus = [(p.name, p.read_bytes()) for p in sorted((CORPUS / "photos").iterdir())]
    halves = {"A": (corpus[0::2], corpus[1::2]), "B": (corpus[1::2], corpus[0::2])}
    if "--leave-one-out" in sys.argv[1:]:
        halves = {
            f"all but {name}": ([p for p in corpus if p[0] != name], [(name, data)])
            for name, data in corpus
        }
    extra = extra_photos()
    calibration_lines = [
        "| format | fold | floor | margin | calibration worst | held out worst | "
        "held out holds | held out median | held out bytes vs default (median) | "
        "held out short |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    agreement = [
        "| format | scores compared | Spearman | largest difference | "
        "CPU ms per score: in-request vs package (median) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    search = [
        "| format | median lowest quality at `good` | start | log(100 - score) per step | "
        "search replayed: probes, lowest |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for fmt in formats:
        extra_cases = cases(fmt, extra, widths)
        corpus_cases = {name: cases(fmt, [(name, data)], widths) for name, data in corpus}
        everything = extra_cases + [c for found in corpus_cases.values() for c in found]
        for fold, (calibrating, holding) in halves.items():
            calibration = extra_cases + [c for n, _ in calibrating for c in corpus_cases[n]]
            held_out = [c for n, _ in holding for c in corpus_cases[n]]
            calibration_lines += fold_lines(fmt, fold, calibration, held_out, floors)
        agreement += agreement_lines(fmt, everything)
        search += search_lines(fmt, everything)
    lines = [
        "## q=auto floors in SSIMULACRA2: the in-request score, calibrated and checked",
        "",
        f"Widths {widths} (the corpus photos; scikit-image's {', '.join(EXTRA)} at their own"
        " size).",
        "",
        "### The in-request score against the `ssimulacra2` package",
        "",
        *agreement,
        "",
        "### Margins calibrated on some photos, checked on the others",
        "",
        *(
            f"Fold {fold} holds out {', '.join(n for n, _ in held)}."
            for fold, (_, held) in halves.items()
        ),
        "",
        *calibration_lines,
        "",
        "### The search",
        "",
        *search,
    ]
    publish("\n".join(lines), OUT)


if __name__ == "__main__":
    main()

"""AVIF's `q=auto` search: how fine a ladder, and whether quick drafts can do the probing.

Why: issue 26 asks for fewer bytes at the floor and a cheaper first width. A step of 5
on AVIF's ladder is about 5 points of SSIMULACRA2, so the answer can sit far above its
floor; and libaom's speed 9 encodes in about a tenth of the CPU of pixserve's speed 6-7,
so a search could probe such drafts and encode only its answer at the real speed. This
one-off experiment (its conclusions in docs/quality.md) measures both.

Method: the corpus photos at 320, 640 and 1280 px (sizes a smaller width already gave
are skipped) and scikit-image's four at their own size, resized by pixserve (the
pipeline ending in PNG). Each is encoded at every AVIF quality from 10 to 90 at
pixserve's speed and, on the even ones, at speed 9 (a draft); each is scored in-request
(`transformer/ssimulacra.py`) and its encode CPU recorded. At floors 50, 60 and 70:
- Ladders of 5, 2 and 1 (10..90): the search (`quality.Search`, from the start and
  slope `auto_quality_floors.search_constants` derives for each) replayed on the
  recorded scores; mean real probes and bytes over the lowest quality of all meeting
  the floor.
- Drafts on the ladder of 2: the search replayed on draft scores aiming 2 points under
  the floor (a draft scores a median 2-3 points under the real encode), then the real
  encode where it landed, a step up while that falls short ("drafts"); and the same
  then checking the lowest quality the drafts name once their scores are raised by the
  real encode's lead over its draft where they landed, searching on between when it
  falls short ("drafts, corrected"). Bytes over the real search's on the ladder of 2,
  and encode CPU (drafts and real encodes, as recorded) against it.

Run: `.venv/bin/pip install -e '.[bench]'`, then
`.venv/bin/python -m benchmarks.experiments.avif_search` (about 3 minutes on 2 cores).
Prints Markdown, also written to `benchmarks/out/avif_search.md`.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from PIL import Image

from benchmarks.auto_quality_floors import resized_photos, search_constants
from benchmarks.cases import ROOT
from benchmarks.results_md import publish
from pixserve.transformer import ssimulacra
from pixserve.transformer.encode import avif_speed
from pixserve.transformer.quality import Search

OUT = ROOT / "benchmarks" / "out" / "avif_search.md"
WIDTHS = (320, 640, 1280)
QUALITIES = range(10, 91)
FLOORS = (50.0, 60.0, 70.0)
DRAFT_SPEED = 9
DRAFT_MARGIN = -2.0
STEPS = (5, 2, 1)


@dataclass
class Probe:
    """One recorded encode: its bytes, in-request score and encode CPU seconds."""

    size: int
    score: float
    seconds: float


@dataclass
class Recorded:
    name: str
    real: dict[int, Probe]
    draft: dict[int, Probe]


def _encode(
    picture: Image.Image, reference: ssimulacra.Reference, quality: int, speed: int
) -> Probe:
    buffer = io.BytesIO()
    began = time.process_time()
    picture.save(buffer, "AVIF", quality=quality, speed=speed)
    seconds = time.process_time() - began
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return Probe(len(buffer.getvalue()), reference.score(decoded), seconds)


def record(item: tuple[str, bytes]) -> Recorded:
    """Every quality at pixserve's speed, the even ones as drafts too."""
    name, png = item
    with Image.open(io.BytesIO(png)) as opened:
        picture = opened.convert("RGB")
    reference = ssimulacra.Reference(picture)
    speed = avif_speed(picture.width * picture.height)
    real = {q: _encode(picture, reference, q, speed) for q in QUALITIES}
    draft = {q: _encode(picture, reference, q, DRAFT_SPEED) for q in QUALITIES if q % 2 == 0}
    print(f"  {name}", file=sys.stderr, flush=True)
    return Recorded(name, real, draft)


def lowest_meeting(probes: dict[int, Probe], ladder: tuple[int, ...], floor: float) -> int:
    return next((q for q in ladder if probes[q].score >= floor), ladder[-1])


def replayer(probes: dict[int, Probe]) -> Callable[[int], tuple[bytes, float]]:
    return lambda quality: (b"", probes[quality].score)


def real_search(
    case: Recorded, ladder: tuple[int, ...], slope: float, start: int, floor: float
) -> Search:
    search = Search(replayer(case.real), floor, ladder, slope)
    search.secant(ladder.index(start))
    return search


def answer(search: Search) -> int:
    met = [q for q, (_, score) in search.results.items() if score >= search.threshold]
    return min(met) if met else max(search.results)


def drafted(
    case: Recorded, ladder: tuple[int, ...], slope: float, start: int, floor: float, corrected: bool
) -> tuple[int, float]:
    """The quality the drafted search serves and the encode CPU it spent."""
    draft = Search(replayer(case.draft), floor + DRAFT_MARGIN, ladder, slope)
    landed = min(draft.secant(ladder.index(start)), len(ladder) - 1)
    real = Search(replayer(case.real), floor, ladder, slope)
    index = real.from_start(landed)
    if corrected and index == landed and ladder[landed] in draft.results:
        lead = real.score(landed) - draft.score(landed)
        raised = Search(replayer(case.draft), floor - lead, ladder, slope)
        raised.results = draft.results
        for i, quality in enumerate(ladder):
            if quality in draft.results:
                raised.meets(i)
        lower = raised.secant(landed)
        if real.failing < lower < landed and not real.meets(lower):
            real.secant(lower)
    seconds = sum(case.draft[q].seconds for q in draft.results)
    seconds += sum(case.real[q].seconds for q in real.results)
    return answer(real), seconds


def main() -> None:
    with ProcessPoolExecutor(2) as pool:
        cases = list(pool.map(record, resized_photos(WIDTHS)))
    lines = [
        "## AVIF's q=auto search: ladder steps and drafts",
        "",
        f"{len(cases)} pictures (corpus photos at {WIDTHS} px, scikit-image's at their size),"
        f" floors {', '.join(f'{f:.0f}' for f in FLOORS)}.",
        "",
        "| ladder | start | slope per step | real probes (mean) "
        "| bytes over the lowest of 10..90: mean / median / worst |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    constants = {}
    for step in STEPS:
        ladder = tuple(range(10, 91, step))
        scores = [{q: p.score for q, p in case.real.items()} for case in cases]
        start, slope = constants[step] = search_constants(scores, ladder)
        probes, extra = [], []
        for case in cases:
            for floor in FLOORS:
                search = real_search(case, ladder, slope, start, floor)
                probes.append(len(search.results))
                lowest = lowest_meeting(case.real, tuple(QUALITIES), floor)
                extra.append(case.real[answer(search)].size / case.real[lowest].size - 1)
        lines.append(
            f"| {step} | {start} | {slope:.3f} | {statistics.mean(probes):.2f} | "
            f"{statistics.mean(extra):+.1%} / {statistics.median(extra):+.1%} / {max(extra):+.0%} |"
        )
    gaps = [case.real[q].score - case.draft[q].score for case in cases for q in case.draft]
    draft_ratio = [c.draft[q].seconds / c.real[q].seconds for c in cases for q in c.draft]
    lines += [
        "",
        f"Drafts (speed {DRAFT_SPEED}): real minus draft score median {statistics.median(gaps):.1f}"
        f" (stdev {statistics.stdev(gaps):.1f}, worst {max(gaps):.1f}); a draft's encode CPU"
        f" {statistics.median(draft_ratio):.2f}x the real encode's (median).",
        "",
        "| search on the ladder of 2 | bytes vs the real search: mean / median / worst "
        "| encode CPU vs the real search (median) |",
        "| --- | ---: | ---: |",
    ]
    ladder = tuple(range(10, 91, 2))
    start, slope = constants[2]
    for label, corrected in (("drafts", False), ("drafts, corrected", True)):
        growth, cost = [], []
        for case in cases:
            for floor in FLOORS:
                search = real_search(case, ladder, slope, start, floor)
                base_seconds = sum(case.real[q].seconds for q in search.results)
                quality, seconds = drafted(case, ladder, slope, start, floor, corrected)
                growth.append(case.real[quality].size / case.real[answer(search)].size - 1)
                cost.append(seconds / base_seconds)
        lines.append(
            f"| {label} | {statistics.mean(growth):+.1%} / {statistics.median(growth):+.1%} / "
            f"{max(growth):+.0%} | {statistics.median(cost):.2f}x |"
        )
    publish("\n".join(lines), OUT)


if __name__ == "__main__":
    main()

"""`q=auto`: the lowest quality whose encoded output still scores a SSIMULACRA2 floor.

Each probe encodes the finished picture at one quality, decodes it again and scores
it with SSIMULACRA2 against the unencoded picture at output size (`ssimulacra.py`, the
score PyPI `ssimulacra2` computes, to a few hundredths). That picture is made close to
the original resized faithfully (`steps.load.faithful`), which is what the floor is
promised against. A level (`low`, `good`, `high`) or a floor named in the URL
(`q=auto:65`) sets the floor (`options.LEVELS`); the answer scores at least its floor
plus the format's margin (`MARGINS`) in the request, or it is the format's best
encode (beyond the ladder's top: `BEYOND_LADDER_QUALITY`). The qualities tried come
from a short ladder per format; the search starts at the format's usual answer and
interpolates log(100 - score) between probes to the next (about two probes, where
bisection took four; see `START`). A quality remembered
for the same picture at this size or the next size up or down is only where the search
starts: it is kept when its probe at this size meets the floor (it may then be a step
above the lowest: the price of paying the search once per srcset ladder), and the
search goes on from that probe's score when it does not, so every width is verified
against its floor. The chosen probe's bytes are the result: nothing is encoded twice.
"""

from __future__ import annotations

import hashlib
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from PIL import Image

from . import ssimulacra
from .context import Check, unchecked
from .encode import DEFAULT_ENCODER, EncoderSettings, encode
from .formats import AVIF, JPEG, PNG, WEBP, Format
from .options import Options, QualityTarget
from .steps.mode import has_transparency
from .timings import Timings

# What the in-request score must exceed the floor by, per format: the lowest margin
# (steps of 0.5) whose choices score the floor from outside (the `ssimulacra2`
# package against the original decoded whole and resized with LANCZOS) on every
# calibration picture, the corpus photos at 320, 640 and 1280 px, each held out in
# turn (`benchmarks/auto_quality_floors.py --leave-one-out --widths=320,640,1280`).
# The in-request score is the package's to 0.05; what a margin covers is what
# `q=auto`'s own resize still loses on a detailed photo decoded at a JPEG scale, and
# only at floor 70 (street-2725x2225.jpg at 320 px meets it in the request at JPEG
# q65, which scores 69.7 from outside, and at WebP q70, 69.8). Floors 50 and 60 need
# none.
MARGINS: dict[str, float] = {"jpeg": 1.0, "webp": 0.5, "avif": 0.0}


def threshold(fmt: Format, target: QualityTarget) -> float:
    """The in-request SSIMULACRA2 a `q=auto` output in `fmt` must reach for `target`."""
    return target.floor + MARGINS[fmt.name]


# The qualities a search may choose, per format. SSIMULACRA2 sees the blocks and
# smears of low qualities, so the bottoms are where the corpus' smoothest pictures
# still score `high` at some width (WebP q15 of the small photo: 72.4, 17% fewer bytes
# than q30; AVIF q10 of the flowers: 71.3) and JPEG's where the flowers score under
# `low` (q20: 27.5): lower would only add steps (`benchmarks/auto_quality_floors.py`
# reports the bytes at each floor). JPEG and WebP step by 5, AVIF by 2: a step of 5
# is about 5 points of SSIMULACRA2 there: over the corpus and scikit-image photos at
# 320-1280 px and three floors, the search's answers took a mean 1.3% more bytes than
# the lowest quality of all meeting the floor on a ladder of 2, 5.2% on one of 5, for
# 2.75 probes instead of 2.27 (`benchmarks/experiments/avif_search.py`).
LADDERS: dict[str, tuple[int, ...]] = {
    JPEG.name: tuple(range(20, 96, 5)),
    WEBP.name: tuple(range(15, 96, 5)),
    AVIF.name: tuple(range(10, 91, 2)),
}


# Where even the ladder's top (at 4:4:4, below, for JPEG and AVIF) misses the floor,
# the format's best encode is tried and kept when it scores higher: WebP lossless, JPEG
# and AVIF at quality 100 with full chroma. Only small, saturated pictures get there:
# the 4096x800 strip at 320x62 scores 40.3 in WebP q95 (6 KB) and 100 lossless (21 KB),
# 55.7 in JPEG q95 4:4:4 and 84.4 at q100, 57.1 in AVIF q90 4:4:4 and 88.9 at q100 (20
# KB), from outside (`python -m benchmarks auto_quality --quality`).
BEYOND_LADDER_QUALITY = 100
# The encodings a search tries: the format's usual chroma, 4:4:4, beyond the ladder.
SUBSAMPLED, FULL, BEST = "subsampled", "full", "best"

# SSIMULACRA2 of a lossless encoding: identical.
IDENTICAL = 100.0

# `fmt=best` also tries a lossless encoding of pictures with at most this many colours
# (flat graphics: logos, charts, screenshots), where it is often the smallest.
FLAT_COLOURS = 256


def searches(fmt: Format, options: Options) -> bool:
    """Whether `q=auto` means a search for this output: lossy, still formats only."""
    return options.target is not None and fmt.name in LADDERS and not options.lossless


class QualityMemory(Protocol):
    """Where chosen qualities are remembered between requests (the web layer provides
    one, scoped to one source version). Keys are short ASCII strings."""

    def get(self, key: str) -> int | None: ...

    def put(self, key: str, quality: int) -> None: ...


def size_bucket(size: tuple[int, int]) -> int:
    """Output sizes whose linear size differs by less than 2x share a bucket."""
    return int(math.log2(max(1, size[0] * size[1])) // 2)


def memory_key(fmt: Format, target: QualityTarget, options: Options, bucket: int) -> str:
    """What the chosen quality depends on besides the source: the format, the target,
    the size bucket and every option that changes the picture (crop, blur, ...), but
    not the size itself, so the other widths of a srcset ladder find it (a box's
    aspect ratio stays: `cover` crops by it)."""
    picture = replace(options, width=None, height=None, dpr=1.0, fmt="auto", quality=None)
    aspect = ""
    if options.width is not None and options.height is not None:
        aspect = f"{options.width / options.height:.2f}"
    text = f"{picture.canonical()}\n{aspect}"
    digest = hashlib.blake2b(text.encode(), digest_size=6).hexdigest()
    floor = target.value.partition(":")[2]
    return f"{fmt.name}-{floor}-{bucket}-{digest}"


@dataclass
class Chosen:
    """The search's outcome: the bytes at `quality`, after `probes` encodes."""

    data: bytes
    quality: int
    probes: int
    score: float


# Where a cold search starts and how far it jumps: the median lowest quality meeting
# `good`'s floor, and the median change of log(100 - score) per ladder step within 10
# points of it, over the corpus photos at 640 and 1280 px and scikit-image's four
# (`benchmarks/auto_quality_floors.py`, which also replays the search on those
# scores: about two probes for `good`, two and a half for `low` and `high`).
START: dict[str, int] = {JPEG.name: 55, WEBP.name: 55, AVIF.name: 46}
LOG_DISTORTION_PER_STEP: dict[str, float] = {
    JPEG.name: -0.073,
    WEBP.name: -0.067,
    AVIF.name: -0.051,
}


# A quality remembered for the next size up (a larger picture) starts the search this
# much higher (in quality, the next ladder quality at or above it), and one remembered
# for the next size down this much higher: a probe where the answer usually is, kept
# when it meets the floor, saves a probe. `benchmarks/auto_quality.py --cost`, three
# photos in three formats, 640 px then 320 and 1280, scored by SSIMULACRA2: from the
# larger, 5 up (a step of JPEG's ladder) took 1.7 probes instead of 2.0 (2.09x a fixed
# quality's CPU instead of 2.16x) for a cold search's bytes +7% at the median (+0% as
# remembered); from the smaller, 5 down (what the 8x8 SSIM wanted) took 2.3 probes
# instead of 1.3 (3.90x instead of 2.63x) for the same bytes: by SSIMULACRA2 a larger
# picture does not usually need less quality.
FROM_LARGER_QUALITY = 5
FROM_SMALLER_QUALITY = 0

# Formats whose encoder can keep full-resolution chroma (4:4:4), and the 4:2:0 answer
# from which the search is run again at 4:4:4, the smaller answer kept: saturated
# colour that 4:2:0 smears needs a high quality to meet a floor, where 4:4:4 meets it
# lower for fewer bytes (the night sky at 320 px, `low`: AVIF 4:2:0 q80 14.5 KB, 4:4:4
# q60 9.1 KB). Over the corpus and scikit-image photos at 320-1280 px and three floors,
# from JPEG q80 and AVIF q60 one search in eight is run again, for 1.8% and 2.3% of all
# the bytes (from JPEG q70 2.0% for twice the searches, from AVIF q70 0.7%; `python -m
# benchmarks.experiments.chroma_at_floor --high-answers`). A floor out of 4:2:0's reach
# even at the top is searched at 4:4:4 too (cosmos at 320 px: AVIF 4:2:0 51.4 at q90,
# 4:4:4 77.8). WebP's lossy encoder has no 4:4:4.
FULL_CHROMA_FROM: dict[str, int] = {JPEG.name: 80, AVIF.name: 60}


def _log_distortion(score: float) -> float:
    """What the search interpolates: SSIMULACRA2's distance from identical, as a log
    (about linear in the ladder's steps near the floors)."""
    return math.log(max(1e-3, 100.0 - score))


@dataclass
class Search:
    """The probes of one search, each encoded, decoded and scored once.

    `failing` is the highest ladder index known to fall short (-1: none yet), `meeting`
    the lowest known to meet the target (len(ladder): none yet).
    """

    probe: Callable[[int], tuple[bytes, float]]
    threshold: float
    ladder: tuple[int, ...]
    slope: float
    results: dict[int, tuple[bytes, float]] = field(default_factory=dict)
    failing: int = -1
    meeting: int = -1

    def __post_init__(self) -> None:
        self.meeting = len(self.ladder)

    def score(self, index: int) -> float:
        return self.results[self.ladder[index]][1]

    def meets(self, index: int) -> bool:
        quality = self.ladder[index]
        if quality not in self.results:
            self.results[quality] = self.probe(quality)
        met = self.results[quality][1] >= self.threshold
        if met:
            self.meeting = min(self.meeting, index)
        else:
            self.failing = max(self.failing, index)
        return met

    def secant(self, start: int) -> int:
        """The lowest index meeting the target, found by interpolating log(100 - score)
        between probes (the two nearest, or the bracket's ends once there is one; the
        format's usual slope after the first probe), assuming the score rises with
        quality. It stops when the bracket closes, or when the interpolation puts the
        crossing at the lowest index known to meet (so the step below it is not
        probed). `len(ladder)` when none do.
        """
        top = len(self.ladder)
        index = start
        while True:
            self.meets(index)
            if self.meeting - self.failing <= 1:
                return self.meeting
            origin, other = index, self._nearest_other(index)
            if self.failing >= 0 and self.meeting < top:
                origin, other = self.failing, self.meeting
            slope = self.slope
            if other is not None:
                rise = _log_distortion(self.score(other)) - _log_distortion(self.score(origin))
                if rise / (other - origin) < 0:
                    slope = rise / (other - origin)
            steps = (_log_distortion(self.threshold) - _log_distortion(self.score(origin))) / slope
            jump = origin + math.ceil(steps - 1e-9)
            following = max(self.failing + 1, min(self.meeting, top - 1, jump))
            if following == self.meeting or self.ladder[following] in self.results:
                return self.meeting
            index = following

    def _nearest_other(self, index: int) -> int | None:
        """The probed index nearest `index` (the secant's other end), if any."""
        probed = [self.ladder.index(q) for q in self.results if self.ladder.index(q) != index]
        return min(probed, key=lambda other: abs(other - index), default=None)

    def from_start(self, start: int) -> int:
        """Search from a remembered answer: kept when it meets the target (one probe,
        the usual case for the next width of a ladder); when it falls short (a smaller
        width usually needs a higher quality), the interpolating search from its score."""
        if self.meets(start):
            return start
        return self.secant(start)


def choose_quality(
    image: Image.Image,
    fmt: Format,
    options: Options,
    icc_profile: bytes | None,
    memory: QualityMemory | None = None,
    timings: Timings | None = None,
    check: Check = unchecked,
    reference: ssimulacra.Reference | None = None,
    encoder: EncoderSettings = DEFAULT_ENCODER,
) -> Chosen:
    """Encode `image` as `fmt` at the lowest ladder quality meeting the options' target.

    When no quality meets it, the highest is used. Timings: the chosen encode counts as
    `encode`; every other probe, decode and score as `quality` (what `q=auto` added).
    `check` goes before every probe: a search is several encodes, stoppable between them.
    `reference`: the unencoded picture already prepared for scoring (`fmt=best`'s
    searches share one), else made here. `encoder`: the server's encoder settings.
    """
    target = options.target
    assert target is not None, "choose_quality needs a q=auto target"
    started = time.perf_counter()
    if reference is None:
        reference = ssimulacra.Reference(image)
    encode_seconds: dict[tuple[int, str], float] = {}

    def prober(variant: str) -> Callable[[int], tuple[bytes, float]]:
        """Encodes at a quality and scores. `variant`: `SUBSAMPLED` (the format's usual
        chroma), `FULL` (4:4:4) or `BEST` (beyond the ladder: WebP lossless, else 4:4:4)."""
        full_chroma = variant != SUBSAMPLED
        lossless = variant == BEST and fmt is WEBP  # its effort: the format's default
        settings = replace(options, lossless=True, quality=None) if lossless else options

        def probe(quality: int) -> tuple[bytes, float]:
            check()
            began = time.perf_counter()
            asked = None if lossless else quality
            data = encode(image, fmt, settings, icc_profile, asked, full_chroma, encoder)
            encode_seconds[quality, variant] = time.perf_counter() - began
            with Image.open(io.BytesIO(data)) as decoded:
                score = reference.score(decoded)
            return data, score

        return probe

    ladder = LADDERS[fmt.name]
    slope = LOG_DISTORTION_PER_STEP[fmt.name]
    floor = threshold(fmt, target)
    search = Search(prober(SUBSAMPLED), floor, ladder, slope)
    bucket = size_bucket(image.size)
    remembered, remembered_bucket = _recall(memory, fmt, target, options, bucket, ladder)
    exact = remembered is not None and remembered_bucket == bucket
    if not reference.scales:
        # Under 8 px either way SSIMULACRA2 has no scale to judge by (it says 100 to
        # anything): nothing can be verified, so the answer is the ladder's top.
        index = len(ladder) - 1
        search.meets(index)
    elif remembered is None:
        index = search.secant(ladder.index(START[fmt.name]))
    else:
        raised = {bucket: 0, bucket + 1: FROM_LARGER_QUALITY, bucket - 1: FROM_SMALLER_QUALITY}
        wanted = ladder[remembered] + raised[remembered_bucket]
        start = next((i for i, q in enumerate(ladder) if q >= wanted), len(ladder) - 1)
        index = search.from_start(start)
    quality, variant = _answer(search, index), SUBSAMPLED
    probes = len(search.results)
    missed = search.meeting == len(ladder)
    if reference.scales and quality >= FULL_CHROMA_FROM.get(fmt.name, ladder[-1] + 1):
        # Colour 4:2:0 smears needs a high quality, or even the top falls short (a
        # saturated night sky tops out at 51 for a floor of 60): the same search at
        # full chroma resolution, kept when it scores higher than a miss or meets the
        # floor in fewer bytes.
        full = Search(prober(FULL), floor, ladder, slope)
        found = _answer(full, full.secant(ladder.index(START[fmt.name])))
        probes += len(full.results)
        (full_data, full_score), (data, score) = full.results[found], search.results[quality]
        if missed:
            better = full_score > score
        else:
            better = full_score >= floor and len(full_data) < len(data)
        if better:
            search, quality, variant = full, found, FULL
    data, score = search.results[quality]
    if reference.scales and score < floor:
        # Out of the ladder's reach: the format's best encode, kept if it scores higher.
        best_data, best_score = prober(BEST)(BEYOND_LADDER_QUALITY)
        probes += 1
        if best_score > score:
            data, score, quality, variant = best_data, best_score, BEYOND_LADDER_QUALITY, BEST
    if (
        memory is not None
        and variant == SUBSAMPLED
        and not (exact and ladder[remembered or 0] == quality)
    ):
        memory.put(memory_key(fmt, target, options, bucket), quality)
    if timings is not None:
        total = time.perf_counter() - started
        timings.add("encode", encode_seconds[quality, variant])
        timings.add("quality", total - encode_seconds[quality, variant])
    return Chosen(data, quality, probes, score)


def _answer(search: Search, index: int) -> int:
    """The quality a finished search chose: the lowest meeting the target, else (none
    did) the top, which it probed."""
    quality = search.ladder[min(index, len(search.ladder) - 1)]
    return quality if quality in search.results else max(search.results)


def _recall(
    memory: QualityMemory | None,
    fmt: Format,
    target: QualityTarget,
    options: Options,
    bucket: int,
    ladder: tuple[int, ...],
) -> tuple[int | None, int]:
    """The ladder index to start from, remembered for this size bucket or, failing that,
    a neighbour's (the next width down or up a srcset ladder); and the bucket it was
    remembered for (this one's own: nothing new to remember when it is kept)."""
    if memory is None:
        return None, bucket
    for near in (bucket, bucket - 1, bucket + 1):
        quality = memory.get(memory_key(fmt, target, options, near))
        if quality is not None and quality in ladder:
            return ladder.index(quality), near
    return None, bucket


@dataclass
class Best:
    """`fmt=best`'s outcome: the smallest format meeting the target and its search."""

    format: Format
    chosen: Chosen
    probes: int


def choose_best(
    image: Image.Image,
    candidates: tuple[Format, ...],
    options: Options,
    icc_profile: bytes | None,
    memory: QualityMemory | None = None,
    timings: Timings | None = None,
    check: Check = unchecked,
    encoder: EncoderSettings = DEFAULT_ENCODER,
) -> Best:
    """Search each candidate format to the options' target and keep the smallest of
    those meeting it (when none does, the highest-scoring: each is its format's top).

    JPEG is skipped for a picture with transparency (PNG takes its place); a flat
    picture (few colours) is also encoded losslessly, as WebP when that is a candidate,
    else PNG, and wins when smaller (lossless meets any target).
    """
    target = options.target
    assert target is not None, "choose_best needs a q=auto target"
    started = time.perf_counter()
    lossy: list[tuple[Format, Image.Image]] = []
    transparent = has_transparency(image)
    for fmt in candidates:
        if fmt is JPEG:
            if transparent:
                continue
            lossy.append((fmt, image.convert("L" if image.mode in ("L", "LA") else "RGB")))
        elif fmt.name in LADDERS:
            lossy.append((fmt, image))
    results: list[tuple[Format, Chosen]] = []
    encode_seconds: dict[int, float] = {}
    # One reference for every format: what JPEG gets converted to (RGB, or L) is the
    # same picture as shown (JPEG never gets one with transparency).
    reference = ssimulacra.Reference(image) if lossy else None
    for fmt, picture in lossy:
        phases = Timings()
        chosen = choose_quality(
            picture, fmt, options, icc_profile, memory, phases, check, reference, encoder
        )
        encode_seconds[id(chosen)] = phases.seconds["encode"]
        results.append((fmt, chosen))
    if not results or image.getcolors(FLAT_COLOURS) is not None:
        lossless = WEBP if WEBP in candidates else PNG
        check()
        began = time.perf_counter()
        lossless_options = replace(options, lossless=True, quality=None)
        data = encode(image, lossless, lossless_options, icc_profile, encoder=encoder)
        chosen = Chosen(data, 100, 1, IDENTICAL)
        encode_seconds[id(chosen)] = time.perf_counter() - began
        results.append((lossless, chosen))
    meeting = [
        (f, c) for f, c in results if f.name not in LADDERS or c.score >= threshold(f, target)
    ]
    if meeting:
        fmt, smallest = min(meeting, key=lambda pair: len(pair[1].data))
    else:  # every format's top misses: the picture closest to the floor
        fmt, smallest = max(results, key=lambda pair: pair[1].score)
    if timings is not None:
        shipped = encode_seconds[id(smallest)]
        timings.add("encode", shipped)
        timings.add("quality", time.perf_counter() - started - shipped)
    return Best(fmt, smallest, sum(chosen.probes for _, chosen in results))

"""`q=auto` checked offline: bytes and SSIMULACRA2 against the fixed default qualities.

Why: `q=auto` chooses by SSIMULACRA2 computed in the request
(`transformer/ssimulacra.py`); this checks each choice with the `ssimulacra2` package
(the offline reference, far too slow for requests), compares bytes and scores with the
fixed defaults and with real peers, and measures what the search costs a cold request.
How the in-request score agrees with the package, its margins and the search's
constants are `auto_quality_floors.py`'s.

Method:
- Quality: every corpus photo at 320, 640 and 1280 px wide (sizes a smaller width
  already gave are skipped), as WebP, AVIF and JPEG, at pixserve's fixed default
  quality and at `q=auto:low|good|high`. Each output is scored from outside by the
  package, against the neutral full-decode LANCZOS reference at its size (the floor's
  promise: SSIMULACRA2, 100 = identical, ~90 visually lossless, ~70 high quality, ~50
  medium), and by the in-request score against its own path's unencoded picture (the
  same pipeline ending in PNG); a `q=auto` answer under its floor from outside and not
  at the ladder's top is counted.
- Cost: per photo (`COST_PHOTOS`) and format, a srcset ladder 640, then 320 and
  1280 px: the cold transform at the fixed default against `q=auto:good`, the first
  width with no remembered quality, the next two with the first one's remembered (an
  in-memory store; 320 px starts from a larger picture's quality, 1280 px from a
  smaller one's), with the search's cost lever on and off ("before": the remembered
  quality tried as it is, not a step up or down) in the same rounds. Alternating
  rounds (`BENCH_ROUNDS`, 5); the ratio of medians per case, of CPU time (steady on a
  shared machine) and of wall time, then the median and the worst over cases. The
  bytes the remembered start costs against a cold search of the same width are
  reported too.
- Peers: the same photos and widths as real servers on loopback (`node_peers.py`,
  `make node-peers`): Next.js' image optimizer as shipped (q=75, mozjpeg) and IPX
  with no `q` (sharp's defaults), against pixserve's default and `auto:good`. Every
  output is scored against the neutral full-decode LANCZOS reference at its own size
  (`quality.py`), since each server resizes its own way.

- Fidelity: the picture before encoding, every corpus photo at each width, as the
  fixed-quality path resizes it (shrink on load at the nearest JPEG scale, Pillow's
  box reduce) and as `q=auto`'s does (`load.faithful`), scored by the package against
  the neutral reference: what the output loses before the encoder has touched it,
  which `q=auto`'s search cannot see. With the CPU of decoding and resizing (the
  transform's CPU less its PNG encode's), median of 5.

Run: `.venv/bin/pip install -e '.[bench]'` then `.venv/bin/python
benchmarks/auto_quality.py` (20-30 minutes on 2 cores, mostly SSIMULACRA2 at 1280 px;
`--quick` does 320 and 640 px only; `--cost`, `--quality`, `--peers`, `--fidelity`
run only those parts; `--formats=avif,jpeg` limits any part to those formats;
`--avif-speed=5` makes pixserve's answers with that `avif_speed` setting, and the peers
part then also reports their bytes and CPU against the default speed's; `--floors=63`
also asks the peers part for `q=auto:63`, a floor named to match a peer's worst). Prints
Markdown, also written to `benchmarks/out/auto_quality*.md`.
"""

from __future__ import annotations

import io
import itertools
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from PIL import Image

from benchmarks import node_peers
from benchmarks import quality as neutral
from benchmarks.cases import CORPUS, ROOT, Case, Transform
from pixserve.transformer import (
    FORMATS,
    EncoderSettings,
    Format,
    Options,
    Result,
    parse_options,
    ssimulacra,
    transform,
)
from pixserve.transformer import quality as auto
from pixserve.transformer.encode import DEFAULT_ENCODER

OUT = ROOT / "benchmarks" / "out" / "auto_quality.md"
WIDTHS = (320, 640, 1280)


def _argument(name: str) -> str | None:
    """The value of `--name=value`, if given."""
    for arg in sys.argv[1:]:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None


# `--formats=avif,jpeg` limits a run to those output formats.
OUTPUT_FORMATS = tuple((_argument("formats") or "webp,avif,jpeg").split(","))
# `--avif-speed=5`: pixserve's `avif_speed` setting for every part (default: by size).
_SPEED = _argument("avif-speed")
ENCODER = EncoderSettings(avif_speed=None if _SPEED is None else int(_SPEED))
# `--floors=63,65`: floors named directly (`q=auto:63`) that the peers part also asks
# for, as a user would to match a peer's worst picture.
EXTRA_FLOORS = tuple(f"auto:{floor}" for floor in (_argument("floors") or "").split(",") if floor)
VARIANTS = ("default", "auto:low", "auto:good", "auto:high")
LADDER = (640, 320, 1280)  # the first width pays the search; the others remember
# The cost is timed on three photos (smooth, detailed, large): timing all is slow.
COST_PHOTOS = ("flowers-1920x1080.jpg", "street-2725x2225.jpg", "gain-map-3840x2160.jpg")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def photos() -> list[Path]:
    return sorted((CORPUS / "photos").iterdir())


def options(width: int, variant: str) -> Options:
    pairs = [("w", str(width))]
    if variant != "default":
        pairs.append(("q", variant))
    return parse_options(pairs)


@dataclass
class Scored:
    photo: str
    width: int
    fmt: str
    variant: str
    size: tuple[int, int]
    bytes: int
    quality: int | None
    probes: int
    ssim: float  # the in-request score, against its own path's unencoded picture
    ssimulacra2: float  # the package's, from outside

    def under_floor(self) -> float:
        """How far a `q=auto` answer not at the ladder's top scores under its floor from
        outside (0: it holds, or it is not a search's answer)."""
        target = options(self.width, self.variant).target
        tops = (auto.LADDERS[self.fmt][-1], auto.BEYOND_LADDER_QUALITY)
        if target is None or self.quality in tops:
            return 0.0
        return max(0.0, target.floor - self.ssimulacra2)


def score_all(widths: tuple[int, ...]) -> list[Scored]:
    rows: list[Scored] = []
    for path in photos():
        source = path.read_bytes()
        seen: set[tuple[int, int]] = set()
        for width in widths:
            references = {}
            for path_of in ("auto", "default"):  # q=auto's picture, the fixed path's
                unencoded = transform(source, options(width, path_of), FORMATS["png"])
                if unencoded.size in seen:
                    break
                with Image.open(io.BytesIO(unencoded.data)) as picture:
                    references[path_of] = ssimulacra.Reference(picture)
            if not references:
                continue
            seen.add(unencoded.size)
            for fmt in OUTPUT_FORMATS:
                for variant in VARIANTS:
                    result = transform(
                        source, options(width, variant), FORMATS[fmt], encoder=ENCODER
                    )
                    reference = references["default" if variant == "default" else "auto"]
                    with Image.open(io.BytesIO(result.data)) as decoded:
                        in_request = reference.score(decoded)
                    case = Case(f"photos/{path.name}", Transform(result.size[0], fmt))
                    _, offline = _neutral_ssimulacra2(case, result.data)
                    rows.append(
                        Scored(
                            path.name,
                            width,
                            fmt,
                            variant,
                            result.size,
                            len(result.data),
                            result.quality,
                            result.probes,
                            in_request,
                            float(offline),
                        )
                    )
                    print(
                        f"  {path.name} {width} {fmt} {variant}: {len(result.data)} B, "
                        f"q {result.quality}, in-request {in_request:.1f}, "
                        f"SSIMULACRA2 {offline:.1f}",
                        file=sys.stderr,
                        flush=True,
                    )
    return rows


def under(rows: list[Scored]) -> str:
    """The answers under their floor from outside, of all, and the largest shortfall."""
    if all(options(r.width, r.variant).target is None for r in rows):
        return ""
    short = [r.under_floor() for r in rows if r.under_floor() > 0]
    return f"{len(short)}/{len(rows)}, {max(short, default=0.0):.1f}"


def quality_table(rows: list[Scored]) -> list[str]:
    lines = [
        "| format | setting | median bytes vs default | median SSIMULACRA2 | worst "
        "SSIMULACRA2 | worst in-request score | median q | probes (mean) | under the floor "
        "(not at the top): answers, most |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for fmt in OUTPUT_FORMATS:
        defaults = {(r.photo, r.width): r for r in rows if r.fmt == fmt and r.variant == "default"}
        for variant in VARIANTS:
            mine = [r for r in rows if r.fmt == fmt and r.variant == variant]
            ratios = [r.bytes / defaults[(r.photo, r.width)].bytes for r in mine]
            qualities = [r.quality for r in mine if r.quality is not None]
            quality = f"{statistics.median(qualities):g}" if qualities else "fixed"
            lines.append(
                f"| {fmt} | {variant} | {statistics.median(ratios) - 1:+.0%} | "
                f"{statistics.median(r.ssimulacra2 for r in mine):.1f} | "
                f"{min(r.ssimulacra2 for r in mine):.1f} | {min(r.ssim for r in mine):.1f} | "
                f"{quality} | {statistics.mean(r.probes for r in mine):.1f} | "
                f"{under(mine)} |"
            )
    return lines


class DictMemory:
    """The remembered qualities of one benchmark ladder, in a dict."""

    def __init__(self) -> None:
        self.qualities: dict[str, int] = {}

    def get(self, key: str) -> int | None:
        return self.qualities.get(key)

    def put(self, key: str, quality: int) -> None:
        self.qualities[key] = quality


def timed(
    source: bytes,
    chosen: Options,
    output: Format,
    memory: DictMemory | None = None,
    encoder: EncoderSettings = ENCODER,
) -> tuple[tuple[float, float], Result]:
    """Wall seconds and CPU seconds (every thread of this process: libavif's too)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = transform(source, chosen, output, memory=memory, encoder=encoder)
    return (time.perf_counter() - started, time.process_time() - cpu), result


@contextmanager
def levers(on: bool) -> Iterator[None]:
    """The search's cost levers (`quality.FROM_LARGER_QUALITY`, `FROM_SMALLER_QUALITY`) as
    they are, or off (a remembered quality tried as it is)."""
    saved = auto.FROM_LARGER_QUALITY, auto.FROM_SMALLER_QUALITY
    if not on:
        auto.FROM_LARGER_QUALITY, auto.FROM_SMALLER_QUALITY = 0, 0
    try:
        yield
    finally:
        auto.FROM_LARGER_QUALITY, auto.FROM_SMALLER_QUALITY = saved


# The contenders of `--cost`, timed in turn in every round.
COST_CONTENDERS = ("fixed", "before", "auto")


def cost_table() -> list[str]:
    """Cold transform time of q=auto:good against the fixed default, ladder position
    by ladder position, with the cost levers on ("auto") and off ("before"), in
    alternating rounds. Wall time and CPU time: on a shared machine the CPU seconds a
    transform used are far steadier than its wall time. The ladder's 320 px starts from
    a larger size's quality, its 1280 px from a smaller one's (`LADDER`)."""
    searched = COST_CONTENDERS[1:]
    ratios: dict[tuple[str, str, int], list[float]] = {}
    extra_bytes: dict[tuple[str, int], list[float]] = {}
    probes: dict[tuple[str, int], list[int]] = {}
    for path in (CORPUS / "photos" / name for name in COST_PHOTOS):
        source = path.read_bytes()
        for fmt in OUTPUT_FORMATS:
            output = FORMATS[fmt]
            seconds = {(c, w): list[tuple[float, float]]() for c in COST_CONTENDERS for w in LADDER}
            results: dict[tuple[str, int], Result] = {}
            for _ in range(ROUNDS):
                memories = {c: DictMemory() for c in searched}
                for width in LADDER:
                    elapsed, _ = timed(source, options(width, "default"), output)
                    seconds["fixed", width].append(elapsed)
                    for contender in searched:
                        with levers(contender == "auto"):
                            elapsed, results[contender, width] = timed(
                                source, options(width, "auto:good"), output, memories[contender]
                            )
                        seconds[contender, width].append(elapsed)
            for contender, width in itertools.product(searched, LADDER):
                probes.setdefault((contender, width), []).append(results[contender, width].probes)
                if width != LADDER[0]:
                    with levers(contender == "auto"):
                        cold = transform(
                            source, options(width, "auto:good"), output, encoder=ENCODER
                        )
                    growth = len(results[contender, width].data) / len(cold.data) - 1
                    extra_bytes.setdefault((contender, width), []).append(growth)
                for clock, column in (("wall", 0), ("cpu", 1)):
                    ratio = statistics.median(s[column] for s in seconds[contender, width]) / (
                        statistics.median(s[column] for s in seconds["fixed", width])
                    )
                    ratios.setdefault((contender, clock, width), []).append(ratio)
            for contender in searched:
                rounded = {w: round(ratios[contender, "cpu", w][-1], 2) for w in LADDER}
                print(f"  cost {path.name} {fmt} {contender} cpu: {rounded}", file=sys.stderr)

    def cells(contender: str, widths: tuple[int, ...]) -> str:
        found = [
            f"{statistics.mean(p for w in widths for p in probes[contender, w]):.1f}",
        ]
        for clock in ("cpu", "wall"):
            values = [r for w in widths for r in ratios[contender, clock, w]]
            found.append(f"{statistics.median(values):.2f}x ({max(values):.2f}x)")
        if widths[0] != LADDER[0]:
            growth = [g for w in widths for g in extra_bytes[contender, w]]
            found.append(f"{statistics.median(growth):+.0%} ({max(growth):+.0%})")
        else:
            found.append("")
        return " | ".join(found)

    labels = {
        (LADDER[0],): f"first width ({LADDER[0]} px, nothing remembered)",
        (320,): "320 px (from 640's quality: larger)",
        (1280,): "1280 px (from 640's quality: smaller)",
        LADDER[1:]: "next widths together",
    }
    return [
        "| ladder position | probes | CPU vs fixed: median (worst) | wall: median (worst) "
        "| bytes vs a cold search: median (worst) | before: probes | before: CPU | "
        "before: wall | before: bytes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {label} | {cells('auto', widths)} | {cells('before', widths)} |"
            for widths, label in labels.items()
        ),
        "",
        f"{ROUNDS} rounds. Load average after the run: "
        f"{' '.join(f'{load:.1f}' for load in os.getloadavg())}.",
    ]


def fidelity_table(widths: tuple[int, ...]) -> list[str]:
    """Each photo's unencoded picture, by the fixed path and by `q=auto`'s, against the
    neutral reference, with the CPU of making it."""
    lines = [
        "| photo | size | fixed path: SSIMULACRA2 | CPU | q=auto's path: SSIMULACRA2 | CPU |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for path in photos():
        source = path.read_bytes()
        seen: set[tuple[int, int]] = set()
        for width in widths:
            cells = []
            for variant in ("default", "auto:good"):
                cpu = []
                for _ in range(5):
                    began = time.process_time()
                    made = transform(source, options(width, variant), FORMATS["png"])
                    cpu.append(time.process_time() - began - made.timings["encode"])
                case = Case(f"photos/{path.name}", Transform(made.size[0], "png"))
                _, score = _neutral_ssimulacra2(case, made.data)
                cells.append(f"{score:.1f} | {statistics.median(cpu) * 1000:.0f} ms")
            if made.size in seen:
                continue
            seen.add(made.size)
            lines.append(f"| {path.name} | {made.size[0]}x{made.size[1]} | {' | '.join(cells)} |")
            print(lines[-1], file=sys.stderr, flush=True)
    return lines


# The peers' own defaults: Next.js' image optimizer as shipped (`next/image` asks for
# q=75; its JPEG encoder is mozjpeg), IPX with no `q` (sharp's defaults: 80 for WebP
# and JPEG, 50 for AVIF).
NEXT_DEFAULT_Q = 75
PEER_VARIANTS = ("default", "auto:low", "auto:good", "auto:high")
# A peer's answer whose size is further than this from pixserve's, in pixels on either
# side, is a different picture (rounding makes 1 px).
SAME_SIZE = 2


def _floor(variant: str) -> float:
    target = options(640, variant).target
    assert target is not None, variant
    return target.floor


LEVEL_CONTENDERS = tuple(
    f"pixserve {variant}"
    for variant in sorted(
        (*PEER_VARIANTS[1:], *EXTRA_FLOORS),
        key=_floor,
    )
)
CONTENDERS = ("pixserve default", *LEVEL_CONTENDERS, "next", "ipx")


@dataclass
class PeerScored:
    photo: str
    width: int
    fmt: str
    contender: str
    size: tuple[int, int]
    bytes: int
    ssimulacra2: float


def _neutral_ssimulacra2(case: Case, data: bytes) -> tuple[tuple[int, int], float]:
    """SSIMULACRA2 against the full-decode LANCZOS reference at the output's own size
    (`quality.py`): every contender resizes its own way, so none is its own reference."""
    # The package is `make bench`'s (imported here, so `make test` checks this module).
    from ssimulacra2 import compute_ssimulacra2

    with Image.open(io.BytesIO(data)) as output:
        output.load()
        shown = neutral._displayed(output)
    reference = neutral.references(case, shown.size)[0]
    pngs = (io.BytesIO(neutral.png(reference)), io.BytesIO(neutral.png(shown)))
    return shown.size, float(compute_ssimulacra2(*pngs))


def peer_outputs(
    next_server: node_peers.Next, ipx: node_peers.IPX, name: str, width: int, fmt: str, shown: int
) -> dict[str, bytes]:
    """Next's and IPX's default output for one request (`shown`: pixserve's width, for
    IPX, which would enlarge); a peer answering in another format is left out (Next
    keeps an AVIF or WebP source's format for a client that accepts neither)."""
    source = quote(f"/photos/{name}", safe="")
    found: dict[str, bytes] = {}
    asks = {
        "next": (
            next_server,
            f"/_next/image?w={width}&q={NEXT_DEFAULT_Q}&url={source}",
            {"Accept": f"image/{fmt}"},
        ),
        "ipx": (ipx, f"/w_{shown},f_{fmt}/photos/{quote(name)}", {}),
    }
    for contender, (server, path, headers) in asks.items():
        status, answered, body = server.get(path, headers)
        kind = {k.lower(): v for k, v in answered.items()}.get("content-type", "")
        if status == 200 and kind == f"image/{fmt}":
            found[contender] = body
        else:
            print(f"  {contender} {name} {width} {fmt}: {status} {kind}", file=sys.stderr)
    return found


@dataclass
class SpeedTrade:
    """One pixserve answer at `--avif-speed` against the default speed's: bytes, CPU."""

    fmt: str
    variant: str
    bytes: float
    cpu: float


def score_peers(widths: tuple[int, ...]) -> tuple[list[PeerScored], list[SpeedTrade]]:
    """Every contender's answers, scored; with `--avif-speed`, each pixserve answer
    also made at the default speed, for the bytes and the CPU the setting trades."""
    node_peers.check_node_peers()
    rows: list[PeerScored] = []
    trades: list[SpeedTrade] = []
    node_peers.clear_next_cache()
    with node_peers.Next(mozjpeg=True) as next_server, node_peers.IPX() as ipx:
        assert isinstance(next_server, node_peers.Next) and isinstance(ipx, node_peers.IPX)
        for path in photos():
            source = path.read_bytes()
            seen: set[tuple[int, int]] = set()
            for width in widths:
                size = transform(source, options(width, "default"), FORMATS["png"]).size
                if size in seen:
                    continue
                seen.add(size)
                for fmt in OUTPUT_FORMATS:
                    outputs = {}
                    for variant in (*PEER_VARIANTS, *EXTRA_FLOORS):
                        chosen = options(width, variant)
                        (_, cpu), made = timed(source, chosen, FORMATS[fmt])
                        outputs[f"pixserve {variant}"] = made.data
                        if ENCODER != DEFAULT_ENCODER:
                            (_, plain_cpu), plain = timed(
                                source, chosen, FORMATS[fmt], encoder=DEFAULT_ENCODER
                            )
                            ratio = len(made.data) / len(plain.data)
                            trades.append(SpeedTrade(fmt, variant, ratio, cpu / plain_cpu))
                    outputs |= peer_outputs(next_server, ipx, path.name, width, fmt, size[0])
                    case = Case(f"photos/{path.name}", Transform(size[0], fmt))
                    for contender, data in outputs.items():
                        shown, score = _neutral_ssimulacra2(case, data)
                        rows.append(
                            PeerScored(path.name, width, fmt, contender, shown, len(data), score)
                        )
                        print(
                            f"  {path.name} {width} {fmt} {contender}: {shown[0]}x{shown[1]} "
                            f"{len(data)} B, SSIMULACRA2 {score:.1f}",
                            file=sys.stderr,
                            flush=True,
                        )
    node_peers.clear_next_cache()
    return rows, trades


def trades_table(trades: list[SpeedTrade]) -> list[str]:
    """What `--avif-speed` changed against the default speed, per format and setting."""
    if not trades:
        return []
    lines = [
        f"With avif_speed={ENCODER.avif_speed}, against the default speed (the same "
        "transform, in process, CPU time):",
        "",
        "| format | setting | bytes: median (min-max) | CPU: median (min-max) |",
        "| --- | --- | ---: | ---: |",
    ]
    for fmt in OUTPUT_FORMATS:
        for variant in (*PEER_VARIANTS, *EXTRA_FLOORS):
            mine = [t for t in trades if t.fmt == fmt and t.variant == variant]
            if not mine:
                continue
            sizes, cpus = [t.bytes for t in mine], [t.cpu for t in mine]
            lines.append(
                f"| {fmt} | {variant} | {statistics.median(sizes):.2f}x "
                f"({min(sizes):.2f}-{max(sizes):.2f}) | {statistics.median(cpus):.2f}x "
                f"({min(cpus):.2f}-{max(cpus):.2f}) |"
            )
    return [*lines, ""]


def peers_table(rows: list[PeerScored]) -> list[str]:
    """Per format: each contender's median bytes against pixserve auto:good's (on the
    requests every contender answered), and its median and worst SSIMULACRA2; then
    whether the goal is met against each peer."""
    lines = [
        "| format | contender | median bytes | auto:good's bytes vs it (median) "
        "| median SSIMULACRA2 | worst SSIMULACRA2 |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    verdicts: list[str] = []
    other_pictures: list[str] = []
    for fmt in OUTPUT_FORMATS:
        by_request: dict[tuple[str, int], dict[str, PeerScored]] = {}
        for row in rows:
            if row.fmt == fmt:
                by_request.setdefault((row.photo, row.width), {})[row.contender] = row
        for (photo, width), answers in by_request.items():
            ours = answers["pixserve auto:good"].size
            for contender, row in list(answers.items()):
                if max(abs(a - b) for a, b in zip(row.size, ours, strict=True)) > SAME_SIZE:
                    # Another picture (IPX's sharp reads an AVIF's other item): not comparable.
                    del answers[contender]
                    other_pictures.append(
                        f"{contender} {photo} {width} {fmt}: {row.size[0]}x{row.size[1]}"
                    )
        for contender in CONTENDERS:
            answered = [r for r in by_request.values() if contender in r]
            if not answered:
                continue
            savings = [r["pixserve auto:good"].bytes / r[contender].bytes - 1 for r in answered]
            mine = [r[contender] for r in answered]
            lines.append(
                f"| {fmt} | {contender} | {statistics.median(r.bytes for r in mine):.0f} | "
                f"{statistics.median(savings):+.0%} | "
                f"{statistics.median(r.ssimulacra2 for r in mine):.1f} | "
                f"{min(r.ssimulacra2 for r in mine):.1f} |"
            )
            if contender in ("next", "ipx"):
                verdicts.append(_verdict(fmt, contender, answered))
    return [
        *lines,
        "",
        f"Left out, a picture of another size than pixserve's ({len(other_pictures)}): "
        + ("; ".join(other_pictures) or "none")
        + ".",
        "",
        "Issue 26's check, per format and peer: the lowest level whose worst SSIMULACRA2 "
        "is no lower than the peer's default's worst, and whether its median bytes are "
        "at most 0.80x the peer's (each level's worst and bytes in brackets):",
        "",
        *verdicts,
    ]


def _verdict(fmt: str, peer: str, answered: list[dict[str, PeerScored]]) -> str:
    """Issue 26's acceptance for one format and peer, on the requests both answered."""
    theirs = min(r[peer].ssimulacra2 for r in answered)
    levels = []
    for level in LEVEL_CONTENDERS:
        ratio = statistics.median(r[level].bytes / r[peer].bytes for r in answered)
        levels.append((level, min(r[level].ssimulacra2 for r in answered), ratio))
    found = next((item for item in levels if item[1] >= theirs), None)
    if found is None:
        outcome = "not met: no level's worst reaches the peer's"
    else:
        met = "met" if found[2] <= 0.80 else "not met"
        outcome = f"{met}: {found[0]} worst {found[1]:.1f}, bytes {found[2]:.2f}x"
    each = "; ".join(f"{name[9:]} {worst:.1f}, {ratio:.2f}x" for name, worst, ratio in levels)
    return (
        f"- {fmt} against {peer} ({len(answered)} requests, peer's worst {theirs:.1f}): "
        f"{outcome} ({each})"
    )


def main() -> None:
    widths = WIDTHS[:2] if "--quick" in sys.argv else WIDTHS
    every = {"cost", "quality", "peers", "fidelity"}
    parts = {arg[2:] for arg in sys.argv[1:]} & every
    parts = parts or every
    report = ["# q=auto against fixed qualities", ""]
    if "cost" in parts:
        report += cost_table() + [""]
    if "quality" in parts:
        report += quality_table(score_all(widths)) + [""]
    if "fidelity" in parts:
        report += fidelity_table(widths) + [""]
    if "peers" in parts:
        scored, trades = score_peers(widths)
        report += trades_table(trades) + peers_table(scored)
    text = "\n".join(report) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    suffix = "" if parts == every else "_" + "_".join(sorted(parts))
    OUT.with_stem(OUT.stem + suffix).write_text(text)
    print(text)


if __name__ == "__main__":
    main()

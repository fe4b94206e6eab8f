"""What `q=auto` costs a real server: its CPU per request against a fixed quality's.

Why: issue 26 asks that a first-width `q=auto` miss cost at most 1.5x a fixed-quality
miss, and the next widths of a srcset ladder 1.1x, measured as server CPU per
request. `auto_quality.py --cost` times the transform in process; this asks a running
`pixserve serve` (one worker, one thread, a fresh cache, `benchmarks/servers.py`) and
reads the CPU its processes used (`/proc`, user and system, reaped children included),
so the request's own work (HTTP, reading the source, the cache's write) counts on both
sides.

Method: the cost photos (`auto_quality.COST_PHOTOS`) in each format, as a srcset
ladder: 640 px, then 320 and 1280 px. Each round serves its own copies of the photos
(`COPIES` per photo, in a temporary folder), so every request is a cold miss and
`q=auto`'s 640 px finds no remembered quality (qualities are remembered per source);
the 320 and 1280 px requests find 640's, as a page's ladder does. A batch is the
`COPIES` requests of one contender at one width; `/proc` counts in clock ticks (10 ms),
so a batch's CPU divided by its requests is the figure. Contenders alternate which goes
first, round by round (`BENCH_ROUNDS`, 5); the ratio of medians per case, then the
median and the worst over cases. The decoded-source cache is off (`servers.Pixserve`),
as in process: with it on, the next widths of both contenders skip their decode.

Run: `.venv/bin/python -m benchmarks.auto_quality_server` (about 10 minutes on 2
cores; `--formats=avif,jpeg` limits the formats). Prints Markdown, also written to
`benchmarks/out/auto_quality_server.md`.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from benchmarks.auto_quality import COST_PHOTOS, LADDER, OUTPUT_FORMATS, ROUNDS
from benchmarks.cases import CORPUS, ROOT
from benchmarks.node_peers import cpu_seconds
from benchmarks.results_md import publish
from benchmarks.servers import BenchmarkError, Pixserve

OUT = ROOT / "benchmarks" / "out" / "auto_quality_server.md"
COPIES = 4
QUERIES = {"fixed": "", "auto": "&q=auto:good"}


class CopiesServer(Pixserve):
    """`pixserve serve` over a folder of the rounds' copies."""

    def __init__(self, root: Path) -> None:
        super().__init__(1, threads=1)
        self.root = root


def _copies(folder: Path) -> None:
    for photo in COST_PHOTOS:
        for round_ in range(ROUNDS):
            for copy in range(COPIES):
                shutil.copyfile(CORPUS / "photos" / photo, folder / f"r{round_}c{copy}-{photo}")


def _batch(
    server: Pixserve, round_: int, photo: str, fmt: str, contender: str, width: int
) -> float:
    """CPU seconds per request of one contender at one width, over the round's copies."""
    before = cpu_seconds(server)
    for copy in range(COPIES):
        name = quote(f"r{round_}c{copy}-{photo}")
        status, headers, _ = server.get(f"/image/{name}?w={width}&fmt={fmt}{QUERIES[contender]}")
        cached = {k.lower(): v for k, v in headers.items()}.get("x-cache")
        if status != 200 or cached != "MISS":
            raise BenchmarkError(f"{name} {width} {fmt} {contender}: {status} {cached}")
    return (cpu_seconds(server) - before) / COPIES


def server_cost_table() -> list[str]:
    ratios: dict[str, list[float]] = {"first": [], "next": []}
    fixed_ms: list[float] = []
    lines = [
        "| photo | format | fixed: ms per request (640 / 320 / 1280) | q=auto:good vs fixed: "
        "640 (first) | 320 | 1280 |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    with tempfile.TemporaryDirectory(prefix="pixserve-auto-cost-") as folder:
        _copies(Path(folder))
        with CopiesServer(Path(folder)) as server:
            assert isinstance(server, Pixserve)
            for photo in COST_PHOTOS:
                for fmt in OUTPUT_FORMATS:
                    seconds: dict[tuple[str, int], list[float]] = {}
                    for round_ in range(ROUNDS):
                        order = list(QUERIES) if round_ % 2 == 0 else list(reversed(QUERIES))
                        for contender in order:
                            for width in LADDER:  # 640 first: the others remember its quality
                                spent = _batch(server, round_, photo, fmt, contender, width)
                                seconds.setdefault((contender, width), []).append(spent)
                    median = {key: statistics.median(values) for key, values in seconds.items()}
                    case = {w: median["auto", w] / median["fixed", w] for w in LADDER}
                    ratios["first"].append(case[LADDER[0]])
                    ratios["next"] += [case[w] for w in LADDER[1:]]
                    fixed_ms.append(median["fixed", LADDER[0]] * 1000)
                    widths = " / ".join(
                        f"{median['fixed', w] * 1000:.0f}" for w in (640, 320, 1280)
                    )
                    lines.append(
                        f"| {photo} | {fmt} | {widths} | {case[640]:.2f}x | {case[320]:.2f}x | "
                        f"{case[1280]:.2f}x |"
                    )
                    print(f"  {photo} {fmt}: {case}", file=sys.stderr, flush=True)
    summary = ", ".join(
        f"{label} width{'s' if label == 'next' else ''} {statistics.median(values):.2f}x "
        f"(worst {max(values):.2f}x)"
        for label, values in ratios.items()
    )
    return [
        *lines,
        "",
        f"Server CPU per request, q=auto:good against the fixed default: {summary} "
        f"(issue 26 asks 1.5x and 1.1x); a fixed 640 px miss takes a median "
        f"{statistics.median(fixed_ms):.0f} ms of server CPU.",
    ]


def main() -> None:
    publish("\n".join(["# q=auto's server CPU per request", "", *server_cost_table()]), OUT)


if __name__ == "__main__":
    main()

"""Request-path benchmark: what a real server adds on top of the imaging work.

Why: a cold request should cost little more than decoding, resizing and encoding;
a cache hit and a 304 should cost almost nothing. This starts `pixserve serve` (one
worker, one thread, a fresh cache) on a free loopback port and times, over one
keep-alive connection per phase:

- miss: a cold result, made cold by a distinct `v=` token per request (after one
  untimed warm-up miss), interleaved round by round with the in-process runs below so
  that background load hits all of them alike;
- hit: the same URL repeated, served from the disk cache;
- 304: the same URL with `If-None-Match` set to its ETag.

In-process, without HTTP, it times the bare codec floor (Pillow open + draft + load +
LANCZOS resize with reducing_gap 3 + encode with `transformer.encode`'s settings) and
the full `transformer.transform`, so the ratios show what Flask, the server, the cache
and the transformer's extra steps (orientation, colour, metadata) cost. It checks
statuses, `X-Cache` and Content-Type and fails loudly on anything unexpected.

Run: `.venv/bin/python -m benchmarks request_path` (under a minute on 2 cores).
Prints a Markdown report and writes it to `benchmarks/out/request_path.md`.
"""

from __future__ import annotations

import http.client
import io
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote

from PIL import Image

from benchmarks.cases import CORPUS, ROOT, check_corpus
from benchmarks.floor import codec_floor
from benchmarks.servers import BIN, BenchmarkError, Pixserve, measure_and_publish
from loopback.harness import HOST
from pixserve.transformer import FORMATS, parse_options, transform

OUT = ROOT / "benchmarks" / "out" / "request_path.md"
PIXSERVE = BIN / "pixserve"

STREET = "photos/street-2725x2225.jpg"
GAIN_MAP = "photos/gain-map-3840x2160.jpg"
CASES: tuple[tuple[str, str], ...] = (
    (STREET, "w=300&fmt=webp"),
    (STREET, "w=640&fmt=jpeg"),
    (STREET, "w=1280&fmt=avif"),
    (STREET, "w=200&h=200&fit=cover&fmt=webp"),
    (GAIN_MAP, "w=300&fmt=webp"),
)
MISSES = 15
HITS = 100
REVALIDATIONS = 100
RUN_TOKEN = f"{os.getpid()}-{time.time_ns()}"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    ms: float


class Client:
    """One keep-alive connection; reopened (untimed) if the server closed it while idle."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._connection = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(HOST, self._port, timeout=60)

    def close(self) -> None:
        self._connection.close()

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        """One timed GET, body read to the end."""
        try:
            return self._get(path, headers or {})
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # the server drops idle connections (`header_timeout`); a GET is safe to resend.
            self._connection.close()
            self._connection = self._connect()
            return self._get(path, headers or {})

    def _get(self, path: str, headers: dict[str, str]) -> Reply:
        start = time.perf_counter()
        self._connection.request("GET", path, headers=headers)
        response = self._connection.getresponse()
        body = response.read()
        ms = (time.perf_counter() - start) * 1000
        return Reply(response.status, response.headers, body, ms)


def expect(reply: Reply, path: str, status: int, cache: str | None, mimetype: str | None) -> None:
    """Fail loudly when a reply is not what this phase must produce."""
    problems = []
    if reply.status != status:
        problems.append(f"status {reply.status}, expected {status}")
    if cache is not None and reply.headers.get("X-Cache") != cache:
        problems.append(f"X-Cache {reply.headers.get('X-Cache')!r}, expected {cache!r}")
    if mimetype is not None and reply.headers.get("Content-Type") != mimetype:
        problems.append(f"Content-Type {reply.headers.get('Content-Type')!r}, expected {mimetype}")
    if status == 304 and reply.body:
        problems.append(f"a 304 with a {len(reply.body)}-byte body")
    if problems:
        body = reply.body[:500].decode("utf-8", errors="replace") if reply.status != 200 else ""
        raise BenchmarkError(f"GET {path}: " + "; ".join(problems) + (f"\n{body}" if body else ""))


def median_p90(values: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[math.ceil(0.9 * len(ordered)) - 1]


@dataclass(frozen=True)
class Row:
    name: str
    query: str
    size: int
    miss: tuple[float, float]
    hit: tuple[float, float]
    revalidate: float
    floor: float
    transform: float


def clock(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def measure_case(server: Pixserve, name: str, query: str) -> Row:
    """All phases for one URL, each reply checked.

    Misses, codec-floor runs and transform() runs are interleaved round by round, so
    background load on a shared machine hits all three alike and the ratios hold.
    """
    source = (CORPUS / name).read_bytes()
    options = parse_options(parse_qsl(query, keep_blank_values=True))
    fmt = FORMATS[options.fmt]
    base = f"/image/{quote(name)}?{query}"
    client = Client(server.port)
    try:
        # Untimed warm-up of the worker and of this process; also fills the cache.
        warm = client.get(base)
        expect(warm, base, 200, "MISS", fmt.mimetype)
        with Image.open(io.BytesIO(warm.body)) as served:
            size = served.size
        floor_size = codec_floor(source, options, fmt).size
        result_size = transform(source, options, fmt).size
        if not size == floor_size == result_size:
            raise BenchmarkError(
                f"{base}: sizes differ: server {size}, floor {floor_size}, transform {result_size}"
            )

        misses, floors, transforms = [], [], []
        for n in range(MISSES):
            path = f"{base}&v={RUN_TOKEN}-{n}"
            reply = client.get(path)
            expect(reply, path, 200, "MISS", fmt.mimetype)
            misses.append(reply.ms)
            floors.append(clock(lambda: codec_floor(source, options, fmt)))
            transforms.append(clock(lambda: transform(source, options, fmt)))

        hit = client.get(base)
        expect(hit, base, 200, "HIT", fmt.mimetype)
        if hit.body != warm.body:
            raise BenchmarkError(f"GET {base}: the cached bytes differ from the first response")
        hits = []
        for _ in range(HITS):
            reply = client.get(base)
            expect(reply, base, 200, "HIT", fmt.mimetype)
            hits.append(reply.ms)

        etag = hit.headers.get("ETag")
        if not etag:
            raise BenchmarkError(f"GET {base}: no ETag on a cache hit")
        revalidations = []
        for _ in range(REVALIDATIONS):
            reply = client.get(base, {"If-None-Match": etag})
            expect(reply, base, 304, None, None)
            revalidations.append(reply.ms)
    finally:
        client.close()
    return Row(
        name=name,
        query=query,
        size=len(hit.body),
        miss=median_p90(misses),
        hit=median_p90(hits),
        revalidate=statistics.median(revalidations),
        floor=statistics.median(floors),
        transform=statistics.median(transforms),
    )


def check_setup() -> None:
    check_corpus(CORPUS / name for name, _ in CASES)
    if not PIXSERVE.is_file():
        sys.exit(f"request_path.py: {PIXSERVE} is missing; run `make` to build the venv first")


def render(rows: Sequence[Row], seconds: float) -> str:
    header = [
        "image",
        "query",
        "bytes",
        "miss med",
        "miss p90",
        "hit med",
        "hit p90",
        "304 med",
        "codec floor",
        "transform()",
        "miss/floor",
        "miss/transform",
    ]
    lines = [
        "# Request path",
        "",
        f"`pixserve serve --workers 1 --threads 1`, fresh cache, loopback, keep-alive; "
        f"{os.cpu_count()} CPUs. Times in ms. miss: median/p90 of {MISSES} cold results "
        f"(distinct `v=`); hit: median/p90 of {HITS}; 304: median of {REVALIDATIONS} "
        f"`If-None-Match` revalidations; codec floor and transform(): in-process medians "
        f"of {MISSES}.",
        "",
        "| " + " | ".join(header) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in header[2:]) + " |",
    ]
    for row in rows:
        cells = [
            Path(row.name).name,
            f"`{row.query}`",
            f"{row.size:,}",
            f"{row.miss[0]:.1f}",
            f"{row.miss[1]:.1f}",
            f"{row.hit[0]:.2f}",
            f"{row.hit[1]:.2f}",
            f"{row.revalidate:.2f}",
            f"{row.floor:.1f}",
            f"{row.transform:.1f}",
            f"{row.miss[0] / row.floor:.2f}",
            f"{row.miss[0] / row.transform:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"_Run time {seconds:.0f} s._"]
    return "\n".join(lines) + "\n"


def main() -> int:
    check_setup()
    server = Pixserve(workers=1, threads=1)  # a fresh cache; settings from flags only
    return measure_and_publish("request_path", server, measure_cases, render, OUT)


def measure_cases(server: Pixserve) -> list[Row]:
    rows = []
    for name, query in CASES:
        rows.append(measure_case(server, name, query))
        print(f"  {name}?{query} done", file=sys.stderr)
    return rows


if __name__ == "__main__":
    sys.exit(main())

"""Cache-hit benchmark: what the SQLite index costs on the hit path.

Why: the index makes the cache bounded across workers, but hits are the requests an
image server answers most; they must stay a `stat` and a `sendfile`. In-process, it
times `DiskCache.lookup` alone against the floor, the 0.1 cache's lookup (`PlainCache`:
no index, a hit is a `stat` and an `os.utime`): a settled entry (one `stat`), an entry
younger than `SETTLED_AFTER` (read and checksummed at every hit), and the 0.1 lookup.
Served, it starts `pixserve serve` (one worker, one thread, a fresh cache) on a free
loopback port, makes 20 results, waits until they have settled, then times 15 rounds
of 600 hits over one keep-alive connection, cycling through the 20 URLs, and reports
the median requests per second. (The 0.1 cache cannot be swapped into a served
`pixserve serve`: granian's workers import the app anew.)

Run: `.venv/bin/python -m benchmarks cache_hits` (about a minute on 2 cores).
`--against REV` adds a third server running this repository's tree at commit REV
(exported with `git archive`), in the same alternating rounds: what a change did to
the hit path, side by side in one run. Each round also times as many 304s (each URL's
ETag in `If-None-Match`). Every timed run also records the server's CPU time per
request (its processes from /proc, reaped workers included): unlike requests/s on a
shared machine, it hardly moves with other processes' load.
`--connections N` times the hits and 304s as the sharp race does instead: wrk (or
`load.py`'s fallback) with N keep-alive connections on one URL for `RUN_SECONDS`
each, every server with the race's layout (`--workers 2`, the default threads).
Prints a Markdown report and writes it to `benchmarks/out/cache_hits.md`
(`cache_hits_connections.md` with `--connections`).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from benchmarks import load
from benchmarks.cases import ROOT
from benchmarks.rounds import in_turn, wait_until_idle
from loopback.harness import HOST, children, free_port, serving
from pixserve.cache import DiskCache
from pixserve.cache.disk import SETTLED_AFTER

OUT = ROOT / "benchmarks" / "out" / "cache_hits.md"
URLS = [f"/image/photo.jpg?w={width}&fmt=webp" for width in range(300, 320)]
ROUNDS = 15
HITS_PER_ROUND = 600
LOOKUPS = 20000
RUN_SECONDS = 2  # each server's hits, then its 304s, per round with `--connections`
RACE_WORKERS = 2  # the sharp race's layout on this 2-core machine


class PlainCache:
    """The 0.1 cache's hit and store path, without index, bound or single flight."""

    def __init__(self, directory: Path, max_bytes: int, max_age: float = 0) -> None:
        self.directory = Path(directory)

    def path_for(self, key: str, extension: str) -> Path:
        return self.directory / key[:2] / key[2:4] / f"{key}.{extension}"

    def lookup(self, key: str, extensions: tuple[str, ...]) -> Path | None:
        for extension in extensions:
            path = self.path_for(key, extension)
            try:
                if path.stat().st_size == 0:
                    continue
                os.utime(path)
            except FileNotFoundError:
                continue
            return path
        return None

    def store(self, key: str, extension: str, data: bytes, source: str) -> Path | None:
        path = self.path_for(key, extension)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temp, path)
        return path

    def single_flight(self, key: str) -> contextlib.nullcontext[bool]:
        return contextlib.nullcontext(True)

    def recover(self) -> None:
        pass


@contextlib.contextmanager
def server(
    kind: str, root: Path, cache_dir: Path, checkout: Path | None = None, race: bool = False
) -> Iterator[tuple[int, int]]:
    """`pixserve serve` (`loopback.harness`), logging to `kind`.log: its port and pid.

    `checkout`: run the pixserve of that folder (another commit's tree) instead.
    One worker with one thread, or with `race` the sharp race's layout.
    """
    port = free_port()
    serve = ["serve", "--root", str(root), "--cache-dir", str(cache_dir), "--port", str(port)]
    serve += ["--workers", str(RACE_WORKERS)] if race else ["--workers", "1", "--threads", "1"]
    env = None
    command = [sys.executable, "-m", "pixserve.cli", *serve]
    if checkout is not None:
        env = {**os.environ, "PYTHONPATH": str(checkout)}
    with serving(command, port, cache_dir.with_name(f"{kind}.log"), env=env, cwd=checkout) as live:
        yield port, live.process.pid


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a server: its master, live workers and reaped ones."""
    total = 0
    for each in (pid, *children(pid)):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def exported(revision: str, work: Path) -> Iterator[Path]:
    """The tree of `revision` of this repository, in a folder of `work`."""
    folder = work / f"tree-{revision}"
    folder.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    yield folder


def fetch(connection: http.client.HTTPConnection, url: str, expect: str) -> str:
    """GET `url`, which must answer 200 with `X-Cache: expect`; its ETag."""
    connection.request("GET", url)
    response = connection.getresponse()
    response.read()
    if response.status != 200 or response.getheader("X-Cache") != expect:
        raise RuntimeError(f"{url}: {response.status} {response.getheader('X-Cache')}")
    return response.getheader("ETag") or ""


def revalidate(connection: http.client.HTTPConnection, url: str, etag: str) -> None:
    connection.request("GET", url, headers={"If-None-Match": etag})
    response = connection.getresponse()
    response.read()
    if response.status != 304:
        raise RuntimeError(f"{url} with If-None-Match: {response.status}")


def hits_per_second(port: int, etags: dict[str, str] | None = None) -> float:
    """Hits, or with `etags` 304s (each URL's ETag in If-None-Match), per second."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        started = time.perf_counter()
        for n in range(HITS_PER_ROUND):
            url = URLS[n % len(URLS)]
            if etags is None:
                fetch(connection, url, "HIT")
            else:
                revalidate(connection, url, etags[url])
        return HITS_PER_ROUND / (time.perf_counter() - started)
    finally:
        connection.close()


def timed(
    server: tuple[int, int], connections: int, etags: dict[str, str] | None = None
) -> tuple[float, float]:
    """Hits (or with `etags` 304s) per second and the server's CPU microseconds per
    request: one connection cycling through `URLS`, or wrk's `connections` on one URL."""
    port, pid = server
    before = cpu_seconds(pid)
    if connections == 1:
        rate = hits_per_second(port, etags)
        requests = HITS_PER_ROUND
    else:
        url = URLS[0]
        inm = None if etags is None else etags[url]
        run = load.run_cleanly(
            port, url, connections=connections, seconds=RUN_SECONDS, if_none_match=inm
        )
        rate, requests = run.rps, run.requests
    return rate, (cpu_seconds(pid) - before) / requests * 1e6


def lookup_microseconds(cache: DiskCache | PlainCache, keys: list[str]) -> float:
    started = time.perf_counter()
    for n in range(LOOKUPS):
        if cache.lookup(keys[n % len(keys)], ("webp",)) is None:
            raise RuntimeError("a lookup missed")
    return (time.perf_counter() - started) / LOOKUPS * 1e6


def lookups(work: Path) -> dict[str, float]:
    keys = [f"{n:040x}" for n in range(len(URLS))]
    data = os.urandom(20_000)
    index, plain = DiskCache(work / "lookup-index", 1 << 30), PlainCache(work / "lookup-plain", 0)
    for key in keys:
        index.store(key, "webp", data, "photo.jpg")
        plain.store(key, "webp", data, "photo.jpg")
    young = lookup_microseconds(index, keys)  # checksummed: written under 2 s ago
    time.sleep(SETTLED_AFTER + 0.1)
    return {
        "index, settled entry (stat)": lookup_microseconds(index, keys),
        f"index, entry younger than {SETTLED_AFTER:.0f} s (read + checksum, 20 kB)": young,
        "0.1 cache (stat + utime)": lookup_microseconds(plain, keys),
    }


def _option(name: str) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


def main() -> None:
    against = _option("--against")
    connections = int(_option("--connections") or 1)
    race = connections > 1
    wait_until_idle()
    with tempfile.TemporaryDirectory(prefix="pixserve-bench-") as temp:
        work = Path(temp)
        (work / "root").mkdir()
        picture = Image.linear_gradient("L").resize((1600, 1200)).convert("RGB")
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=90)
        (work / "root" / "photo.jpg").write_bytes(buffer.getvalue())

        micro = lookups(work)
        rates: dict[str, list[float]] = {"index": []}
        revalidations: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}  # "hits|kind" and "304s|kind": µs per request
        with contextlib.ExitStack() as servers:
            started = {
                kind: servers.enter_context(
                    server(kind, work / "root", work / f"cache-{kind}", race=race)
                )
                for kind in rates
            }
            if against is not None:
                tree = servers.enter_context(exported(against, work))
                kind = f"index at {against}"
                rates[kind] = []
                started[kind] = servers.enter_context(
                    server("index", work / "root", work / "cache-against", tree, race=race)
                )
            etags: dict[str, dict[str, str]] = {}
            for kind, (port, _) in started.items():
                connection = http.client.HTTPConnection(HOST, port, timeout=60)
                etags[kind] = {url: fetch(connection, url, "MISS") for url in URLS}
                connection.close()
            time.sleep(SETTLED_AFTER + 0.1)
            for each in started.values():  # untimed: each worker checks each entry once
                timed(each, connections)
            for round_index in range(ROUNDS):
                for kind, each in in_turn(list(started.items()), round_index):
                    rate, micros = timed(each, connections)
                    rates[kind].append(rate)
                    cpu.setdefault(f"hits|{kind}", []).append(micros)
                    rate, micros = timed(each, connections, etags[kind])
                    revalidations.setdefault(kind, []).append(rate)
                    cpu.setdefault(f"304s|{kind}", []).append(micros)

    index_rate = statistics.median(rates["index"])
    if race:
        how = (
            f"{RACE_WORKERS} workers (default threads), loopback, {load.generator_name()} with "
            f"{connections} keep-alive connections on one WebP result; {ROUNDS} rounds of "
            f"{RUN_SECONDS} s, median"
        )
    else:
        how = (
            f"One worker, one thread, loopback, one keep-alive connection; {ROUNDS} rounds "
            f"of {HITS_PER_ROUND:,} hits over {len(URLS)} WebP results, median"
        )
    lines = [
        "# Cache hits: the index's cost",
        "",
        f"{how}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| cache | hits/s | per hit | CPU per hit |",
        "| --- | ---: | ---: | ---: |",
        f"| with the index (SQLite) | {index_rate:,.0f} | {1e3 / index_rate:.3f} ms | "
        f"{statistics.median(cpu['hits|index']):.0f} µs |",
        "",
        "Rounds: " + "; ".join(f"{k} " + ", ".join(f"{r:,.0f}" for r in rates[k]) for k in rates),
        *_against_lines(rates),
        *_against_lines(_kinds(cpu, "hits"), "CPU µs per hit"),
        "",
        "304s (If-None-Match, same rounds): "
        + "; ".join(f"{k} {statistics.median(v):,.0f}/s" for k, v in revalidations.items())
        + "; CPU per 304: "
        + "; ".join(f"{k} {statistics.median(v):.0f} µs" for k, v in _kinds(cpu, "304s").items()),
        *_against_lines(revalidations, "304s"),
        *_against_lines(_kinds(cpu, "304s"), "CPU µs per 304"),
        "",
        f"`DiskCache.lookup` alone, in-process, {LOOKUPS:,} lookups over {len(URLS)} entries:",
        "",
        "| lookup | µs |",
        "| --- | ---: |",
        *(f"| {name} | {micros:.1f} |" for name, micros in micro.items()),
        "",
    ]
    report = "\n".join(lines)
    print(report)
    target = OUT.with_name("cache_hits_connections.md") if race else OUT
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(report)


def _kinds(cpu: dict[str, list[float]], what: str) -> dict[str, list[float]]:
    return {key.partition("|")[2]: v for key, v in cpu.items() if key.startswith(what + "|")}


def _against_lines(rates: dict[str, list[float]], what: str = "hits") -> list[str]:
    """With `--against REV`: this checkout's `what` against REV's, round by round."""
    other = next((kind for kind in rates if kind.startswith("index at ")), None)
    if other is None:
        return []
    ratios = sorted(
        mine / theirs for mine, theirs in zip(rates["index"], rates[other], strict=True)
    )
    unit = "" if what.startswith("CPU") else "/s"
    return [
        "",
        f"{what[0].upper()}{what[1:]}, this checkout / {other.removeprefix('index at ')}: median "
        f"{statistics.median(ratios):.2f}x (min {ratios[0]:.2f}x, max {ratios[-1]:.2f}x over "
        f"{len(ratios)} alternating rounds); medians {statistics.median(rates['index']):,.0f} "
        f"against {statistics.median(rates[other]):,.0f} {what}{unit}.",
    ]


if __name__ == "__main__":
    main()

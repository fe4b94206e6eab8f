"""pixserve against the sharp-based peers (Next.js' image optimizer, IPX): `make bench`.

Why a race of its own: issue 14's cases (the two photos at 300/320/640/1280 px, WebP
q80, JPEG q75, AVIF) against the servers web developers compare with, each given both
cores its own way: pixserve `--workers 2` (gthread, default threads), Next.js and IPX
one Node process each with sharp's defaults. Contenders alternate within every round
and their order rotates; the report gives medians and min-max of per-round ratios.

It checks what it times: a cold probe of every server must be a miss and its repeat a
hit (pixserve `X-Cache`, Next `X-Nextjs-Cache`; IPX has no result cache and sends no
such header), and after every cold run each caching server must have written about
one new cache entry per request (so the load generator's tokens really missed).

Phases: output quality (bytes, SSIM against a full-decode LANCZOS reference); CPU per
cold request (requests one after another, every case including AVIF); cold
req/s at 1 and 4 connections; hits and 304s of a repeated URL at 4 connections; peak
RSS (summed) and peak PSS (sampled) of each server's whole process tree. Writes
`benchmarks/out/sharp_race.json`, then
`sharp_report.py` puts its section into docs/results.md and draws `sharp_race.png`.
Settings: BENCH_ROUNDS (3), BENCH_SECONDS (2), BENCH_WORKERS (the CPU count),
BENCH_CPU_REQUESTS (4).
`BENCH_PHASES=hits` races only the hits and 304s (pixserve and Next.js; a few minutes,
so more rounds fit): it prints its tables and writes `benchmarks/out/sharp_race_hits.json`,
leaving docs/results.md to a full run. Each hit run also records the server's CPU time per
request (its whole process tree, from /proc): unlike req/s on a shared machine, it
hardly moves with other processes' load.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import Any

from benchmarks import load, node_peers, quality, servers, sharp_report
from benchmarks.cases import GAIN_MAP, STREET, Case, Transform, check_corpus
from benchmarks.races import HIT_SECONDS, OUT, ROUNDS, SECONDS, WORKERS
from benchmarks.rounds import in_turn, wait_until_idle
from pixserve import transformer

CONNECTIONS = (1, 4)
HIT_CONNECTIONS = 4
HITS_ONLY = os.environ.get("BENCH_PHASES", "").strip() == "hits"
RUN = f"{os.getpid()}x{time.time_ns() % 10**9}"
# A cold run must leave about one cache entry per request; a little slack for entries
# still being written when the count is taken (Next writes its cache after replying).
MISS_SHARE = 0.9
MIN_REQUESTS = 3  # per connection and cold run, else it runs longer (see timed_run)
CPU_REQUESTS = int(os.environ.get("BENCH_CPU_REQUESTS", "4"))  # per case, server and round

TRANSFORMS = (
    Transform(300, "webp"),
    Transform(320, "webp"),
    Transform(640, "webp"),
    Transform(1280, "webp"),
    Transform(320, "jpeg"),
    Transform(640, "jpeg"),
    Transform(320, "avif"),
)
# The cases and the same at 320 px and in AVIF (at 320 px only: sharp's AVIF
# takes seconds a picture on a loaded 2-core machine, and the run must fit a session).
CASES: tuple[Case, ...] = tuple(Case(photo, t) for photo in (STREET, GAIN_MAP) for t in TRANSFORMS)
# AVIF is scored (bytes, SSIM) but raced cold only with BENCH_COLD_AVIF=1: under load
# IPX's AVIF (sharp's effort 4) took over wrk's 30-s timeout at 4 connections, and
# the page race measures AVIF's cost as CPU seconds, which load does not inflate.
COLD_CASES = tuple(
    c for c in CASES if c.transform.fmt != "avif" or os.environ.get("BENCH_COLD_AVIF") == "1"
)
HIT_CASES = (Case(STREET, Transform(640, "webp")), Case(STREET, Transform(640, "jpeg")))


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


class Contender:
    """How one server is asked for a case, and how its cache shows a miss or a hit."""

    def __init__(self, server: servers.Server) -> None:
        self.server = server
        self.name = server.name
        self.peer = server if isinstance(server, node_peers.NodePeer) else None

    def runs(self, case: Case) -> bool:
        """Next's shipped (mozjpeg) setting is raced on the JPEG cases only."""
        return self.name != "next-mozjpeg" or case.transform.fmt == "jpeg"

    @property
    def cache_header(self) -> str | None:
        return "x-cache" if self.peer is None else (self.peer.cache_header or "").lower() or None

    def path(self, case: Case, token: str | None) -> str:
        if self.peer is not None:
            return self.peer.path(case, token)
        return case.pixserve_path + (f"&v={token}" if token else "")

    def cold_path(self, case: Case) -> tuple[str, bool]:
        """The path the load generator varies, and whether it must (IPX never caches)."""
        if self.peer is None:
            return case.pixserve_path, True
        if isinstance(self.peer, node_peers.Next):
            return self.peer.path(case, load.COLD_SLOT), True
        return self.peer.path(case, None), False

    def accept(self, case: Case) -> str | None:
        return None if self.peer is None else self.peer.accept(case)

    def get(self, case: Case, token: str | None, **extra: str) -> tuple[int, dict[str, str], bytes]:
        headers = dict(extra)
        accept = self.accept(case)
        if accept:
            headers["Accept"] = accept
        status, found, body = self.server.get(self.path(case, token), headers)
        return status, lower(found), body

    def cached_entries(self) -> int | None:
        if self.peer is not None:
            return self.peer.cached_entries()
        assert isinstance(self.server, servers.Pixserve)
        folder = self.server.temp / "cache"
        return sum(len(files) for _, _, files in os.walk(folder))


def expect(contender: Contender, case: Case, token: str, state: str | None) -> bytes:
    """GET and fail unless it is a 200 of the right format and cache state."""
    status, headers, body = contender.get(case, token)
    problems = []
    if status != 200:
        problems.append(f"status {status}")
    if headers.get("content-type") != f"image/{case.transform.fmt}":
        problems.append(f"Content-Type {headers.get('content-type')!r}")
    header = contender.cache_header
    if header is None:
        stray = [h for h in ("x-cache", "x-nextjs-cache") if h in headers]
        if stray:
            problems.append(f"unexpected cache headers {stray}")
    elif state is not None and headers.get(header) != state:
        problems.append(f"{header} {headers.get(header)!r}, expected {state}")
    if problems:
        path = contender.path(case, token)
        raise RuntimeError(f"{contender.name} GET {path}: {'; '.join(problems)}: {body[:200]!r}")
    return body


def outputs(contenders: list[Contender]) -> dict[str, Any]:
    """Bytes and SSIM of every output; each cold probe a miss and its repeat a hit."""
    results: dict[str, Any] = {}
    for index, case in enumerate(CASES):
        row = {}
        for contender in contenders:
            if not contender.runs(case):
                continue
            token = f"{RUN}-q{index}-{contender.name}"
            body = expect(contender, case, token, "MISS")
            again = expect(contender, case, token, "HIT")
            if contender.cache_header and again != body:
                raise RuntimeError(f"{contender.name} {case.label}: a hit differs from its miss")
            size, similarity = quality.score(case, body)
            row[contender.name] = {"bytes": len(body), "size": size, "ssim": similarity}
        results[case.label] = row
        say(f"  quality {case.label}: " + ", ".join(f"{k} {v}" for k, v in row.items()))
    return results


def timed_run(port: int, path: str, connections: int, **settings: Any) -> load.Rate:
    """A cold run of SECONDS, doubled (up to 32x) until every connection completed
    MIN_REQUESTS.

    Why: IPX's AVIF (sharp's default effort) can take seconds a picture on a loaded
    machine; a timed run counts only finished requests, so a run that finished few
    understates the slow server's rate, and one that finished none measures nothing.
    """
    seconds = SECONDS
    while True:
        if settings.get("cold_prefix"):  # each attempt its own tokens: all of them misses
            settings["cold_prefix"] = f"{settings['cold_prefix'].split('~')[0]}~{seconds:g}s"
        rate = load.run(port, path, connections=connections, seconds=seconds, **settings)
        if rate.requests >= MIN_REQUESTS * connections or seconds >= 32 * SECONDS:
            if rate.requests == 0:
                raise RuntimeError(f"no request to {path} finished in {seconds:g} s")
            return rate
        seconds *= 2


def cold(contenders: list[Contender]) -> dict[str, Any]:
    """Every request a miss; contenders alternate, their order rotating per round and case."""
    rates: dict[str, list[dict[str, float]]] = {}
    for round_index in range(ROUNDS):
        for case_index, case in enumerate(COLD_CASES):
            racing = [c for c in contenders if c.runs(case)]
            shift = (round_index + case_index) % len(racing)
            racing = racing[shift:] + racing[:shift]
            for connections in CONNECTIONS:
                for contender in racing:
                    path, bust = contender.cold_path(case)
                    prefix = f"{RUN}-{contender.name}-{round_index}-{case_index}-{connections}"
                    before = contender.cached_entries()
                    rate = timed_run(
                        contender.server.port,
                        path,
                        connections=connections,
                        cold_prefix=prefix if bust else None,
                        accept=contender.accept(case),
                    )
                    if rate.errors:
                        raise RuntimeError(f"{contender.name} {path}: {rate}")
                    if before is not None:
                        time.sleep(0.2)  # let the last cache writes land
                        written = (contender.cached_entries() or 0) - before
                        if written < MISS_SHARE * rate.requests:
                            raise RuntimeError(
                                f"{contender.name} {case.label}: {rate.requests} cold requests "
                                f"wrote {written} cache entries: some were hits"
                            )
                    key = f"{case.label}|{contender.name}|{connections}"
                    rates.setdefault(key, []).append(rate.__dict__)
        say(f"  cold round {round_index + 1}/{ROUNDS} done")
    return rates


def cpu_per_request(contenders: list[Contender]) -> dict[str, list[float]]:
    """CPU milliseconds per cold request: CPU_REQUESTS misses one after another, the
    server's whole process tree read from /proc before and after; contenders alternate.

    Why: on a shared machine req/s measures how much of the cores each server's threads
    win from the other work as much as its own cost; CPU per request is its cost. And a
    server that splits one request over both cores (libvips does) wins at 1 connection
    by spending more CPU, which this shows.
    """
    found: dict[str, list[float]] = {}
    for round_index in range(ROUNDS):
        for case_index, case in enumerate(CASES):
            racing = in_turn([c for c in contenders if c.runs(case)], round_index + case_index)
            for contender in racing:
                before = node_peers.cpu_seconds(contender.server)
                for request in range(CPU_REQUESTS):
                    token = f"{RUN}-cpu{round_index}-{case_index}-{request}-{contender.name}"
                    expect(contender, case, token, "MISS" if contender.cache_header else None)
                time.sleep(0.3)  # let post-reply work (cache writes) be counted
                spent = node_peers.cpu_seconds(contender.server) - before
                key = f"{case.label}|{contender.name}"
                found.setdefault(key, []).append(spent / CPU_REQUESTS * 1000)
        say(f"  CPU round {round_index + 1}/{ROUNDS} done")
    return found


def hits(contenders: list[Contender]) -> dict[str, Any]:
    """A repeated URL (a hit, checked) and its 304, at HIT_CONNECTIONS connections."""
    results: dict[str, Any] = {"hits": {}, "revalidations": {}}
    caching = [c for c in contenders if c.cache_header and c.name != "next-mozjpeg"]
    for round_index in range(ROUNDS):
        order = in_turn(caching, round_index)
        for index, case in enumerate(HIT_CASES):
            for contender in order:
                token = f"{RUN}-h{index}"
                expect(contender, case, token, None)
                expect(contender, case, token, "HIT")
                status, headers, _ = contender.get(case, token)
                etag = headers["etag"]
                status, _, _ = contender.get(case, token, **{"If-None-Match": etag})
                if status != 304:
                    raise RuntimeError(
                        f"{contender.name} {case.label}: If-None-Match gave {status}"
                    )
                path = contender.path(case, token)
                for phase, inm in (("hits", None), ("revalidations", etag)):
                    cpu_before = node_peers.cpu_seconds(contender.server)
                    rate = load.run(
                        contender.server.port,
                        path,
                        connections=HIT_CONNECTIONS,
                        seconds=HIT_SECONDS,
                        if_none_match=inm,
                        accept=contender.accept(case),
                    )
                    if rate.errors or rate.requests == 0:
                        raise RuntimeError(f"{contender.name} {path}: {rate}")
                    cpu = node_peers.cpu_seconds(contender.server) - cpu_before
                    key = f"{case.label}|{contender.name}"
                    run = {**rate.__dict__, "cpu_us": cpu / rate.requests * 1e6}
                    results[phase].setdefault(key, []).append(run)
        say(f"  hits round {round_index + 1}/{ROUNDS} done")
    return results


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "busy_at_start": wait_until_idle(),
        "load_start": os.getloadavg(),
        "workers": WORKERS,
        "rounds": ROUNDS,
        "seconds": SECONDS,
        "connections": list(CONNECTIONS),
        "hit_connections": HIT_CONNECTIONS,
        "transformer_version": transformer.VERSION,
        "load_generator": load.generator_name(),
        **node_peers.versions(),
    }


def start(
    stack: contextlib.ExitStack[bool | None], *contenders: servers.Server
) -> list[servers.Server]:
    """Start each server in turn, all stopped when `stack` closes (also on a failed start)."""
    return [stack.enter_context(server) for server in contenders]


def hits_only() -> int:
    """`BENCH_PHASES=hits`: pixserve's and Next's hits and 304s, nothing else."""
    node_peers.check_node_peers()
    results: dict[str, Any] = {"machine": {**machine(), "hit_seconds": HIT_SECONDS}}
    say(f"sharp race, hits only: {results['machine']}")
    node_peers.clear_next_cache()
    with contextlib.ExitStack() as stack:
        started_servers = start(stack, servers.Pixserve(WORKERS), node_peers.Next())
        results.update(hits([Contender(s) for s in started_servers]))
    node_peers.clear_next_cache()
    results["machine"]["load_end"] = os.getloadavg()
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / "sharp_race_hits.json"
    target.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print("\n".join(sharp_report.hits_only(results)))
    return 0


def main() -> int:
    if HITS_ONLY:
        return hits_only()
    check_corpus()
    node_peers.check_node_peers()
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine()}
    say(f"sharp race: {results['machine']}")
    node_peers.clear_next_cache()
    with contextlib.ExitStack() as stack:
        peers = (node_peers.Next(), node_peers.IPX(), node_peers.Next(mozjpeg=True))
        started_servers = start(stack, servers.Pixserve(WORKERS), *peers)
        contenders = [Contender(s) for s in started_servers]
        memory = node_peers.PeakMemory(started_servers)
        memory.start()
        say("sharp race: output quality, misses and hits checked")
        results["quality"] = outputs(contenders)
        say("sharp race: CPU per cold request")
        results["cpu"] = cpu_per_request(contenders)
        say("sharp race: cold transforms")
        results["cold"] = cold(contenders)
        say("sharp race: hits and 304s")
        results.update(hits(contenders))
        results["rss"] = {s.name: node_peers.total_peak_rss_mib(s) for s in started_servers}
        results["pss"] = memory.stop()
    node_peers.clear_next_cache()
    results["machine"]["load_end"] = os.getloadavg()
    results["machine"]["run_seconds"] = time.perf_counter() - started
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / "sharp_race.json"
    target.write_text(json.dumps(results, indent=1), encoding="utf-8")
    sharp_report.write(results)
    say(f"sharp race: done in {results['machine']['run_seconds']:.0f} s ({target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

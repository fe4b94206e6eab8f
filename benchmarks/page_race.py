"""A page, not a URL: CPU seconds to serve first visits to a gallery page (issue 14).

Why: a page asks for several sources, each through its srcset ladder, and browsers
of two kinds ask for different formats; what a host pays for a new page is the CPU
all those first requests cost, including any decode work a server shares across a
ladder. The page here is what pixserve's `picture()` helper (and Nuxt's
<NuxtPicture>) writes: per source a <source type="image/avif"> and a
<source type="image/webp">, each with the ladder below; first visits from an
AVIF-capable and a WebP-only browser at every ladder width ask for every variant
once. For Next.js (one <Image>, the format from `Accept`) the same variants are
asked with each browser's `Accept`, and `q` set so sharp gets pixserve's qualities.

Each replay is cold (a fresh cache-busting token; each miss checked by the cache
header); the contenders alternate over BENCH_ROUNDS rounds. CPU is read from /proc
for each server's whole process tree before and after a replay. Writes
`benchmarks/out/page_race.json` and its section of docs/results.md.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import json
import os
import statistics
import sys
import time
from typing import Any

from benchmarks import node_peers, servers
from benchmarks.cases import GAIN_MAP, STREET, Case, Transform, check_corpus
from benchmarks.races import OUT, ROUNDS, WORKERS
from benchmarks.results_md import PAGE_BEGIN, PAGE_END, RESULTS_MD, insert, spread, table
from benchmarks.rounds import wait_until_idle
from benchmarks.sharp_race import Contender
from loopback.harness import HOST

SOURCES = (STREET, GAIN_MAP, "photos/flowers-1920x1080.jpg")
LADDER = (320, 640, 960, 1280)
BROWSERS = {  # a browser kind: the format its <picture> takes
    "AVIF-capable": "avif",
    "WebP-only": "webp",
}
CONNECTIONS = 6  # a browser's connections per host over HTTP/1.1
RUN = f"{os.getpid()}x{time.time_ns() % 10**9}"
BEGIN, END = PAGE_BEGIN, PAGE_END
OUT_JSON = OUT / "page_race.json"


class AvifPixserve(servers.Pixserve):
    """pixserve with AVIF offered (`PIXSERVE_AVIF=1`), as a page with AVIF sources needs,
    and its default `decoded_cache` (a page's ladder shares decodes)."""

    def environment(self) -> dict[str, str]:
        found = {**super().environment(), "PIXSERVE_AVIF": "1"}
        del found["PIXSERVE_DECODED_CACHE"]
        return found


class UnsharedPixserve(AvifPixserve):
    """The same with `decoded_cache=0`, every request decoding its source: what sharing
    decodes across the page's ladder saves."""

    name = "pixserve-unshared"

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "PIXSERVE_DECODED_CACHE": "0"}


def variants() -> list[Case]:
    """Every request of the page's first visits: browsers x ladder x sources."""
    return [
        Case(source, Transform(width, fmt))
        for fmt in BROWSERS.values()
        for width in LADDER
        for source in SOURCES
    ]


def fetch(contender: Contender, case: Case, token: str) -> tuple[int, str | None]:
    """One request on its own connection; its body size and cache state, checked."""
    headers = {}
    accept = contender.accept(case)
    if accept:
        headers["Accept"] = accept
    connection = http.client.HTTPConnection(HOST, contender.server.port, timeout=900)
    try:
        connection.request("GET", contender.path(case, token), headers=headers)
        response = connection.getresponse()
        body = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()
    kind = found.get("content-type")
    if response.status != 200 or kind != f"image/{case.transform.fmt}":
        raise RuntimeError(
            f"{contender.name} {case.label}: {response.status} {kind}: {body[:200]!r}"
        )
    state = found.get(contender.cache_header) if contender.cache_header else None
    if contender.cache_header and state != "MISS":
        raise RuntimeError(f"{contender.name} {case.label}: a first visit was {state}")
    return len(body), state


def replay(contender: Contender, token: str) -> dict[str, float]:
    """All first visits of the page, CONNECTIONS at a time; CPU and wall seconds."""
    cpu_before = node_peers.cpu_seconds(contender.server)
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(CONNECTIONS) as pool:
        sizes = list(pool.map(lambda case: fetch(contender, case, token)[0], variants()))
    wall = time.perf_counter() - started
    time.sleep(0.3)  # let post-reply work (cache writes) be counted
    cpu = node_peers.cpu_seconds(contender.server) - cpu_before
    return {"cpu_s": cpu, "wall_s": wall, "bytes": float(sum(sizes)), "requests": len(sizes)}


def main() -> int:
    check_corpus()
    node_peers.check_node_peers()
    started = time.perf_counter()
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "busy_at_start": wait_until_idle(),
            "load_start": os.getloadavg(),
            "rounds": ROUNDS,
            "workers": WORKERS,
            "requests_per_page": len(variants()),
            "sources": list(SOURCES),
            "ladder": list(LADDER),
            "browsers": BROWSERS,
            **node_peers.versions(),
        },
        "pages": {},
    }
    node_peers.clear_next_cache()
    with contextlib.ExitStack() as stack:
        contenders = [
            Contender(stack.enter_context(server))
            for server in (
                AvifPixserve(WORKERS),
                UnsharedPixserve(WORKERS),
                node_peers.Next(),
                node_peers.IPX(),
            )
        ]
        memory = node_peers.PeakMemory([c.server for c in contenders])
        memory.start()
        for contender in contenders:  # warm up: code paths loaded, not the caches
            fetch(contender, variants()[0], f"{RUN}-warm")
        for round_index in range(ROUNDS):
            shift = round_index % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                page = replay(contender, f"{RUN}-page{round_index}")
                results["pages"].setdefault(contender.name, []).append(page)
                print(f"  page round {round_index + 1}: {contender.name} {page}", file=sys.stderr)
        results["rss"] = {c.name: node_peers.total_peak_rss_mib(c.server) for c in contenders}
        results["pss"] = memory.stop()
    node_peers.clear_next_cache()
    results["machine"]["load_end"] = os.getloadavg()
    results["machine"]["run_seconds"] = time.perf_counter() - started
    OUT.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps(results, indent=1), encoding="utf-8")
    write(results)
    return 0


def section(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    pages: dict[str, list[dict[str, float]]] = results["pages"]

    def middle(name: str, field: str) -> float:
        return statistics.median(page[field] for page in pages[name])

    def spread_of(name: str, field: str) -> str:
        return spread([page[field] for page in pages[name]])

    rows = []
    for name in pages:
        ratio = middle(name, "cpu_s") / middle("pixserve", "cpu_s")
        rows.append(
            [
                name,
                spread_of(name, "cpu_s"),
                f"{ratio:.2f}x",
                spread_of(name, "wall_s"),
                f"{middle(name, 'bytes') / 1024:,.0f} KiB",
                f"{results['rss'][name]:.0f} MiB",
                f"{results['pss'][name]:.0f} MiB" if "pss" in results else "-",
            ]
        )
    header = [
        "server",
        "CPU s per page",
        "its CPU / pixserve's",
        "wall s per page",
        "bytes per page",
        "peak RSS (summed)",
        "peak PSS",
    ]
    load_start, load_end = m["load_start"][0], m["load_end"][0]
    return [
        BEGIN,
        "## A page, not a URL: first visits to a gallery page",
        "",
        f"`python -m benchmarks page_race`, {m['run_seconds'] / 60:.1f} minutes, load average "
        f"{load_start:.2f} at the start and {load_end:.2f} at the end. The page: "
        f"{len(m['sources'])} photos ({', '.join(s.split('/')[-1] for s in m['sources'])}), "
        f"each with the srcset ladder {', '.join(map(str, m['ladder']))} px in AVIF and WebP "
        "<source>s; first visits from an AVIF-capable and a WebP-only browser at every "
        f"ladder width ask for each of the {m['requests_per_page']} variants once (pixserve "
        "quality defaults: WebP 80, AVIF 60, given to the peers too), 6 connections. CPU "
        "seconds are the servers' whole process trees' user + system time over one page "
        f"(medians and min-max of {m['rounds']} cold replays, contenders alternating); "
        "pixserve runs with `PIXSERVE_AVIF=1` and its default `decoded_cache` (decoded "
        "sources kept for the other widths and formats); pixserve-unshared is the same "
        "with `decoded_cache=0`. Lower CPU is better: the ratio is the "
        "peer's CPU over pixserve's. Peak RSS is each process' high-water mark summed "
        "over the server's processes (it counts the pages pixserve's forked workers share "
        "with their master once per process); peak PSS splits each shared page between "
        "its sharers, sampled every 0.5 s over the whole run.",
        "",
        *table(header, rows),
        END,
    ]


def write(results: dict[str, Any]) -> None:
    existing = RESULTS_MD.read_text(encoding="utf-8") if RESULTS_MD.exists() else ""
    updated = insert(existing, section(results), BEGIN, END)
    RESULTS_MD.write_text(updated, encoding="utf-8")
    print(f"(written the page race into {RESULTS_MD.name})", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

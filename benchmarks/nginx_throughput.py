"""Throughput through `deploy/nginx.conf` against pixserve direct, for docs/deploy.md.

Why: putting nginx in front should make repeated requests cost nginx's speed, not
Python's, and cost next to nothing on misses. Two pixserve servers with the default
layout on the shared corpus, and Debian's nginx with the shipped config in front of
the second (which has `accel_redirect` on), measured with wrk (load.py):

- hit, direct: a pixserve cache hit, Python sending the file;
- hit, nginx cache: a repeated request answered by nginx's proxy_cache;
- hit, X-Accel-Redirect: in pixserve's cache but not nginx's (warmed directly), so
  pixserve finds it and nginx sends the file;
- cold, direct and through nginx: every request a new result.

Rounds interleave the five runs (a busy neighbour on the machine slows all alike);
medians, and CPU per request of the server processes (nginx's and pixserve's) and of
wrk. Run: `.venv/bin/python -m benchmarks nginx_throughput` (about a minute on 2
cores). Prints Markdown, also written to `benchmarks/out/nginx_throughput.md`.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import load
from benchmarks.cases import CORPUS, ROOT
from benchmarks.layouts import CORES, URL, cpu_seconds
from loopback.harness import answers, free_port, get, serving
from loopback.nginx_front import find_nginx, nginx_in_front

OUT = ROOT / "benchmarks" / "out" / "nginx_throughput.md"
ACCEL_URL = URL.replace("w=640", "w=641")  # warmed in pixserve only: the X-Accel path
SECONDS = 3
ROUNDS = 3
CONNECTIONS = 8


@contextlib.contextmanager
def pixserve(folder: Path, *settings: str) -> Iterator[tuple[int, int]]:
    """`pixserve serve` with the defaults (and `settings`), its cache and log in `folder`:
    its port and pid."""
    port = free_port()
    command = [sys.executable, "-m", "pixserve.cli", "serve", "--root", str(CORPUS)]
    command += ["--cache-dir", str(folder / "cache"), "--port", str(port), *settings]
    folder.mkdir()
    with serving(command, port, folder / "server.log", ready=answers("/readyz", 200)) as served:
        yield port, served.process.pid


@dataclass
class Case:
    label: str
    port: int
    url: str
    mode: str
    pids: tuple[int, ...]
    rates: list[load.Rate] = field(default_factory=list)
    cpu: float = 0.0

    def row(self) -> str:
        rate = load.median_rate(self.rates)
        return (
            f"| {self.label} | {rate.rps:,.0f} | {rate.p50_ms:.1f} | {rate.p99_ms:.1f}"
            f" | {self.cpu / rate.requests * 1000:.2f} |"
        )


def measure() -> str:
    nginx = find_nginx()
    if nginx is None:
        raise SystemExit("nginx is not installed: apt-get install nginx (Debian's package)")
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        # as the recipe sets a host up (docs/operations.md, "Behind nginx"): nginx's
        # unprivileged workers read pixserve's cache through a shared group
        folder.chmod(0o750)
        direct_port, direct_pid = stack.enter_context(pixserve(folder / "direct"))
        accel = "--set", "accel_redirect=/_pixserve_cache/", "--set", "cache_file_mode=0640"
        behind_port, behind_pid = stack.enter_context(pixserve(folder / "behind", *accel))
        front = stack.enter_context(
            nginx_in_front(nginx, behind_port, folder / "behind" / "cache", folder / "ng")
        )
        both = (front.process.pid, behind_pid)
        warm: list[Callable[[], object]] = [
            lambda: get(direct_port, URL),
            lambda: get(front.port, URL),  # into both caches: then nginx HITs
            lambda: get(behind_port, ACCEL_URL),  # pixserve's cache only: X-Accel
        ]
        for step in warm:
            step()
        cases = [
            Case("hit, pixserve direct", direct_port, URL, "hot", (direct_pid,)),
            Case("hit, nginx cache", front.port, URL, "hot", both),
            Case("hit, pixserve cache sent by nginx (X-Accel)", front.port, ACCEL_URL, "hot", both),
            Case("cold, pixserve direct", direct_port, URL, "cold", (direct_pid,)),
            Case("cold, through nginx", front.port, URL, "cold", both),
        ]
        for number in range(ROUNDS):
            for case in cases:
                before = sum(cpu_seconds(pid) for pid in case.pids)
                rate = load.run_cleanly(
                    case.port,
                    case.url,
                    seconds=SECONDS,
                    connections=CONNECTIONS,
                    cold_prefix=f"n{number}" if case.mode == "cold" else None,
                )
                case.cpu += sum(cpu_seconds(pid) for pid in case.pids) - before
                case.rates.append(rate)
            print(f"round {number + 1} of {ROUNDS} done", file=sys.stderr, flush=True)
    return "\n".join(
        [
            f"{CORES} cores shared by wrk, nginx and pixserve; wrk -t2 -c{CONNECTIONS},"
            f" {ROUNDS} rounds of {SECONDS} s per row, medians; `{URL}`",
            "",
            "| request | req/s | p50 ms | p99 ms | server CPU ms/req |",
            "| --- | ---: | ---: | ---: | ---: |",
            *(case.row() for case in cases),
        ]
    )


def main() -> None:
    if not CORPUS.is_dir():
        raise SystemExit(f"the corpus is not at {CORPUS}")
    report = measure()
    print(report)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(report + "\n")


if __name__ == "__main__":
    main()

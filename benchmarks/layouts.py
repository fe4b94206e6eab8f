"""Which layout should `pixserve serve` use? Measured, on cold, burst and hit traffic.

Why: image work is CPU-bound but Pillow releases the GIL while it decodes, resizes and
encodes, and a cache hit is almost all Python (Flask, the cache check, the file send).
So how many processes (`workers`), threads (granian's blocking threads, `threads`) and
transforms at once per process (`transforms_per_process`) is not obvious, and the
machine decides. This runs `pixserve serve` under each layout on the project's real
app and config, every server up at once and the rounds interleaved, and measures with
wrk (load.py):

- cold: every request a new result (its own `v=` token): decode + resize + encode of
  `photos/street-2725x2225.jpg` at 640 px JPEG, the reference request of docs/performance.md, at
  `CONNECTIONS` and at 4x as many connections;
- burst: 64 connections of small cold misses (a gallery page's thumbnails), with the
  count of 503 answers (none is the target);
- hit: the same URL again and again, served from the disk cache, at 64 connections.

`--memory` instead measures how a worker's resident memory grows over cold requests
of varied sizes and formats (the case for `worker_max_rss`).

Run: `.venv/bin/python -m benchmarks layouts` (about five minutes on 2 cores; the
corpus from ../shared/corpus). Prints a Markdown table, also written to
`benchmarks/out/layouts.md`. Loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks import load
from benchmarks.cases import CORPUS, ROOT
from benchmarks.rounds import in_turn, wait_until_idle
from loopback.harness import Served, answers, children, free_port, get, serving

OUT = ROOT / "benchmarks" / "out" / "layouts.md"
URL = "/image/photos/street-2725x2225.jpg?w=640&fmt=jpeg"
SECONDS = 3
ROUNDS = 3
CONNECTIONS = 8
SMALL = "/image/photos/small-320x240.jpg?w=64&fmt=webp"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Layout:
    workers: int
    threads: int
    transforms: int  # transforms_per_process

    @property
    def name(self) -> str:
        return f"{self.workers} x {self.threads} threads, {self.transforms} transforms"

    def flags(self) -> list[str]:
        return [
            *("--workers", str(self.workers), "--threads", str(self.threads)),
            *("--set", f"transforms_per_process={self.transforms}"),
        ]


CORES = os.cpu_count() or 1
LAYOUTS = (
    Layout(CORES, 32, 2),
    Layout(2 * CORES, 32, 1),
    Layout(2 * CORES, 32, 2),
    Layout(2 * CORES, 8, 2),
    Layout(CORES, 32, 4),
)


@contextlib.contextmanager
def layout_server(layout: Layout, folder: Path) -> Iterator[Served]:
    """A layout's `pixserve serve` (`loopback.harness`), its cache and log in `folder`."""
    port = free_port()
    command = [sys.executable, "-m", "pixserve.cli", "serve", "--root", str(CORPUS)]
    command += ["--cache-dir", str(folder / "cache"), "--port", str(port), *layout.flags()]
    with serving(command, port, folder / "server.log", ready=answers("/readyz", 200)) as served:
        yield served


def cpu_seconds(pid: int) -> float:
    """CPU time of a server: its master, its live workers, and workers already reaped."""
    total = 0.0
    for process in (pid, *children(pid)):
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        used = fields[11:13] + (fields[13:15] if process == pid else [])  # + reaped children
        total += sum(int(ticks) for ticks in used) / TICKS
    return total


def pss_mib(pid: int) -> float:
    """Proportional set size of a server, master and workers: shared pages counted once."""
    total = 0
    for process in (pid, *children(pid)):
        for line in Path(f"/proc/{process}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total / 1024


@dataclass
class Cell:
    """One layout's runs of one kind of traffic: rates, and CPU per request."""

    rates: list[load.Rate]
    cpu: float = 0.0

    def row(self) -> str:
        rate = load.median_rate(self.rates)
        cpu_ms = self.cpu / max(1, rate.requests) * 1000
        return f"{rate.rps:,.0f} | {rate.p99_ms:.0f} | {cpu_ms:.2f}"


KINDS = {  # name: (path, connections, cold)
    f"cold {CONNECTIONS}": (URL, CONNECTIONS, True),
    f"cold {4 * CONNECTIONS}": (URL, 4 * CONNECTIONS, True),
    "burst 64": (SMALL, 64, True),
    "hit 64": (URL, 64, False),
}


def measure_layouts() -> str:
    """Every layout's server up at once; rounds interleave them, so that a busy
    neighbour on the machine slows all layouts alike. Medians of the rounds."""
    cells = {(layout, kind): Cell([]) for layout in LAYOUTS for kind in KINDS}
    with contextlib.ExitStack() as stack:
        servers = {}
        for layout in LAYOUTS:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            servers[layout] = stack.enter_context(layout_server(layout, folder))
            assert get(servers[layout].port, URL)[0] == 200  # warm: the hit URL is cached
        for round_number in range(ROUNDS):
            for layout, server in in_turn(list(servers.items()), round_number):
                for kind, (path, connections, cold) in KINDS.items():
                    before = cpu_seconds(server.process.pid)
                    rate = load.run(
                        server.port,
                        path,
                        seconds=SECONDS,
                        connections=connections,
                        cold_prefix=f"r{round_number}" if cold else None,
                    )
                    cell = cells[(layout, kind)]
                    cell.cpu += cpu_seconds(server.process.pid) - before
                    cell.rates.append(rate)
            print(f"round {round_number + 1} of {ROUNDS} done", file=sys.stderr, flush=True)
        memory = {layout: pss_mib(server.process.pid) for layout, server in servers.items()}
    rows = []
    for layout in LAYOUTS:
        errors = [sum(r.errors for r in cells[(layout, kind)].rates) for kind in KINDS]
        rows.append(
            f"| {layout.name} | "
            + " | ".join(cells[(layout, kind)].row() for kind in KINDS)
            + f" | {', '.join(map(str, errors))} | {memory[layout]:.0f} |"
        )
    heads = " | ".join(f"{kind} req/s | p99 ms | CPU ms/req" for kind in KINDS)
    return "\n".join(
        [
            f"{CORES} cores, load average {os.getloadavg()[0]:.1f} at the end; "
            f"{load.generator_name()}, {ROUNDS} rounds of {SECONDS} s per cell, medians; "
            f"cold and hit `{URL}`, burst `{SMALL}`",
            "",
            f"| layout | {heads} | errors (503s) per kind | memory (PSS) MiB |",
            "| --- | " + " | ".join("---:" for _ in range(3 * len(KINDS) + 2)) + " |",
            *rows,
        ]
    )


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def measure_memory(total: int = 1500, every: int = 300) -> str:
    """One worker, two threads: its RSS as cold requests of varied work go by."""
    names = [
        "photos/street-2725x2225.jpg",
        "photos/flowers-1920x1080.jpg",
        "photos/4-1024x772.webp",
        "photos/concert-gray.jpg",
        "alpha/embedgravitybird.png",
    ]
    queries = itertools.cycle(
        f"/image/{name}?w={width}&fmt={fmt}&v=m{n}"
        for n, (name, width, fmt) in enumerate(
            itertools.product(names, (160, 480, 1200), ("jpeg", "webp", "png"))
        )
    )
    samples = []
    lock = threading.Lock()
    done = 0
    with tempfile.TemporaryDirectory() as folder:
        with layout_server(Layout(1, 2, 2), Path(folder)) as server:
            (worker,) = server.workers()
            samples.append((0, rss_kib(worker)))

            def client() -> None:
                nonlocal done
                while True:
                    with lock:
                        if done >= total:
                            return
                        done += 1
                        count, path = done, f"{next(queries)}-{done}"
                    assert get(server.port, path)[0] == 200
                    if count % every == 0:
                        samples.append((count, rss_kib(worker)))

            threads = [threading.Thread(target=client) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert server.workers() == [worker]
    rows = [f"| {count:,} | {kib / 1024:.1f} |" for count, kib in sorted(samples)]
    return "\n".join(["| cold requests served | worker RSS MiB |", "| ---: | ---: |", *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--memory", action="store_true", help="the RSS growth run instead")
    args = parser.parse_args()
    wait_until_idle()
    if not CORPUS.is_dir():
        raise SystemExit(f"the corpus is not at {CORPUS}")
    report = measure_memory() if args.memory else measure_layouts()
    print(report)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(report + "\n")


if __name__ == "__main__":
    main()

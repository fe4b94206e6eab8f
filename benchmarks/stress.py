"""Stress: concurrent 50-MP transforms to AVIF and lossless WebP against one
`pixserve serve` with its defaults, `/healthz` polled meanwhile.

Why: legitimate-looking work at volume is what broke pixserve before the memory
budget (issue 13: eight such requests peaked at 9.9 GB). This runs waves of 8 and 32
concurrent requests for distinct results of a 7071x7071 noisy PNG (just under
`max_source_pixels`), alternating AVIF and lossless WebP; polls `/healthz` every
0.5 s on fresh connections; samples the server's memory every
0.2 s (PSS of every process of the tree, the children forked for big work
included); and reports peak PSS against `memory_budget`, the longest request against
`time_limit`, each wave's statuses (200, or 503 from the budget), the `/healthz`
p99, and the idle RSS: at start, once warm (a few small requests of each format have
loaded the codecs and numpy, as any server that has answered once has), and after.

Run: `.venv/bin/python -m benchmarks stress [--waves 8,32]` (several minutes on 2
cores). Prints a Markdown report, also written to `benchmarks/out/stress.md`.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.cases import ROOT
from benchmarks.results_md import publish
from loopback.harness import free_port, get, proportional_set_size, serving
from pixserve.config.settings import default_memory_budget

OUT = ROOT / "benchmarks" / "out" / "stress.md"
SIDE = 7071
TIME_LIMIT = 10.0  # pixserve's default


def draw_source(folder: Path) -> None:
    # smooth enough to stay under max_source_bytes (50 MiB) as a PNG, busy enough for encoders
    noise = np.random.default_rng(7).integers(0, 255, (SIDE // 32, SIDE // 32, 3), dtype=np.uint8)
    picture = Image.fromarray(noise, "RGB").resize((SIDE, SIDE), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=6)
    assert buffer.tell() < 50 << 20, f"the source is {buffer.tell():,} bytes"
    (folder / "big.png").write_bytes(buffer.getvalue())
    Image.new("RGB", (800, 600), "teal").save(folder / "small.png")


class Sampler(threading.Thread):
    """RSS of the server every 0.2 s, `/healthz` latency every 0.5 s."""

    def __init__(self, pid: int, port: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.port = pid, port
        self.rss: list[int] = []
        self.healthz: list[float] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        next_probe = 0.0
        while not self.stopped.is_set():
            self.rss.append(proportional_set_size(self.pid))
            if time.monotonic() >= next_probe:
                next_probe = time.monotonic() + 0.5
                threading.Thread(target=self._probe, daemon=True).start()
            time.sleep(0.2)

    def _probe(self) -> None:
        started = time.monotonic()
        try:
            get(self.port, "/healthz", timeout=30)
            self.healthz.append(time.monotonic() - started)
        except OSError:
            self.healthz.append(30.0)


def warm_up(port: int) -> None:
    """Small requests of every kind the waves make, a few per worker."""
    queries = ("fmt=avif", "fmt=webp&lossless=1", "fmt=webp", "fmt=jpeg", "fmt=webp&q=auto")
    for round_ in range(8):
        for query in queries:
            get(port, f"/image/small.png?{query}&v=warm{round_}", timeout=60)


def wave(port: int, size: int, start: int) -> list[tuple[int, float]]:
    def one(number: int) -> tuple[int, float]:
        query = "fmt=avif" if number % 2 else "fmt=webp&lossless=1"
        started = time.monotonic()
        status = get(port, f"/image/big.png?{query}&v=s{number}", timeout=300)[0]
        return status, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=size) as pool:
        return list(pool.map(one, range(start, start + size)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--waves", default="8,32")
    sizes = [int(size) for size in parser.parse_args().waves.split(",")]
    lines = [
        "# Stress: concurrent 50-MP AVIF and lossless-WebP requests",
        "",
        f"`pixserve serve` with its defaults (memory_budget {default_memory_budget() >> 20:,} "
        f"MiB, time_limit {TIME_LIMIT:g} s); source {SIDE}x{SIDE} PNG.",
        "",
        "| wave | statuses | longest request | peak PSS | /healthz p99 | /healthz max |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    with tempfile.TemporaryDirectory(prefix="pixserve-stress-") as temp:
        work = Path(temp)
        (work / "root").mkdir()
        draw_source(work / "root")
        port = free_port()
        command = [sys.executable, "-m", "pixserve.cli", "serve", "--root", str(work / "root")]
        command += ["--cache-dir", str(work / "cache"), "--port", str(port)]
        with serving(command, port, work / "server.log") as served:
            time.sleep(2)
            idle_at_start = proportional_set_size(served.process.pid)
            warm_up(port)
            time.sleep(1)
            idle_before = proportional_set_size(served.process.pid)
            start = 0
            for size in sizes:
                sampler = Sampler(served.process.pid, port)
                sampler.start()
                results = wave(port, size, start)
                start += size
                sampler.stopped.set()
                time.sleep(0.6)
                counts = {s: sum(1 for r, _ in results if r == s) for s, _ in results}
                healthz = sorted(sampler.healthz)
                p99 = healthz[min(len(healthz) - 1, int(len(healthz) * 0.99))]
                lines.append(
                    f"| {size} | {', '.join(f'{n}x {s}' for s, n in sorted(counts.items()))} | "
                    f"{max(seconds for _, seconds in results):.1f} s | "
                    f"{max(sampler.rss) >> 20:,} MiB | {p99:.2f} s | {healthz[-1]:.2f} s |"
                )
                print(lines[-1], flush=True)
            time.sleep(3)
            idle_after = proportional_set_size(served.process.pid)
    lines += [
        "",
        f"Idle memory (PSS of the whole tree): {idle_at_start >> 20:,} MiB at start, "
        f"{idle_before >> 20:,} MiB once warm, {idle_after >> 20:,} MiB after the waves "
        f"({idle_after / idle_before:.2f}x warm, {idle_after / idle_at_start:.2f}x start).",
        "",
    ]
    publish("\n".join(lines), OUT)


if __name__ == "__main__":
    main()

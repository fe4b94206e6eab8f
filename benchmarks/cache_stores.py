"""Cache-store benchmark: what keeping the WAL small costs a store.

Why: the index's WAL stayed at 4 MiB under SQLite's default checkpoint (every 1,000
pages, never cut back), four times a 1 MiB cache. `cache.index` checkpoints once the
WAL holds 1/64 of the bound (128 KiB to 4 MiB, `wal_bytes_for`) and cuts it back to
that. Checkpoints cost writes and fsyncs, so this times `DiskCache.store` in-process,
one thread, 20 kB entries with distinct keys, for three WAL sizes:

- 128 KiB (32 pages: what a 1 MiB cache gets);
- 4 MiB (1,000 pages, cut back: what a 1 GiB cache gets);
- SQLite's default (1,000 pages, never cut back), as before;

each into a 1 MiB cache (every store evicts) and a 1 GiB one (none does), in
alternating rounds so background load hits them alike. It reports the median
microseconds per store, each against the default, and the largest WAL seen.

Run: `.venv/bin/python -m benchmarks cache_stores` (about a minute on 2 cores).
Prints a Markdown report and writes it to `benchmarks/out/cache_stores.md`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.cases import ROOT
from benchmarks.results_md import publish
from benchmarks.rounds import in_turn
from pixserve.cache import DiskCache

OUT = ROOT / "benchmarks" / "out" / "cache_stores.md"
ROUNDS = 9
STORES_PER_ROUND = 300
ENTRY = os.urandom(20_000)
WALS = {"128 KiB": 128 * 1024, "4 MiB": 4 << 20, "default": -1}
BOUNDS = {"1 MiB": 1 << 20, "1 GiB": 1 << 30}


def one_round(wal: str, bound: int, start: int) -> tuple[float, int]:
    """Microseconds per store, and the largest WAL seen, for one fresh cache."""
    with tempfile.TemporaryDirectory(prefix="pixserve-stores-") as folder:
        cache = DiskCache(Path(folder), bound, wal_bytes=WALS[wal])
        if WALS[wal] < 0:  # SQLite's default: checkpoint at 1,000 pages, never cut
            cache._index.wal_bytes = 1000 * 4096
            cache._index.connection().execute("PRAGMA journal_size_limit = -1")
        wal_file = Path(folder) / "index.sqlite3-wal"
        largest = 0
        began = time.perf_counter()
        for n in range(start, start + STORES_PER_ROUND):
            cache.store(f"{n * 2654435761 % (1 << 64):040x}", "png", ENTRY, "bench.jpg")
            if n % 25 == 0:
                largest = max(largest, wal_file.stat().st_size if wal_file.exists() else 0)
        elapsed = time.perf_counter() - began
        cache.close()
    return elapsed / STORES_PER_ROUND * 1e6, largest


def main() -> None:
    times: dict[tuple[str, str], list[float]] = {}
    wals: dict[tuple[str, str], int] = {}
    for round_number in range(ROUNDS):
        for bound_name, bound in BOUNDS.items():
            order = in_turn(list(WALS), round_number)
            for wal in order:
                micros, largest = one_round(wal, bound, round_number * STORES_PER_ROUND)
                times.setdefault((wal, bound_name), []).append(micros)
                wals[wal, bound_name] = max(wals.get((wal, bound_name), 0), largest)
    lines = [
        "# Cache stores: WAL sizes against SQLite's defaults",
        "",
        f"In-process, one thread, {STORES_PER_ROUND} stores of 20 kB per round, "
        f"{ROUNDS} alternating rounds; median microseconds per store (x the default), "
        "largest WAL seen.",
        "",
        "| bound | " + " | ".join(f"WAL {wal}" for wal in WALS) + " |",
        "| --- |" + " --- |" * len(WALS),
    ]
    for bound_name in BOUNDS:
        default = statistics.median(times["default", bound_name])
        cells = []
        for wal in WALS:
            median = statistics.median(times[wal, bound_name])
            cells.append(
                f"{median:.0f} µs ({median / default:.2f}x), {wals[wal, bound_name] // 1024} KiB"
            )
        lines.append(f"| {bound_name} | " + " | ".join(cells) + " |")
    publish("\n".join(lines) + "\n", OUT)


if __name__ == "__main__":
    main()

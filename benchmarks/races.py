"""The knobs the server races (`peers`, `sharp_race`, `page_race`) share, from the environment.

Why here: `make bench` runs the races one after another, and `BENCH_ROUNDS=1
BENCH_SECONDS=1 make bench` (a quick check) must shorten all of them alike.
"""

from __future__ import annotations

import os

from benchmarks.cases import ROOT

OUT = ROOT / "benchmarks" / "out"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))  # contenders alternate within each round
SECONDS = float(os.environ.get("BENCH_SECONDS", "2"))  # of wrk load per contender and case
HIT_SECONDS = max(1.0, SECONDS / 2)
WORKERS = int(os.environ.get("BENCH_WORKERS") or os.cpu_count() or 1)

"""What every side-by-side benchmark does the same way: start on an idle machine, and
let the contenders take turns round by round.

Why: on a shared machine the load of other processes moves every figure. Waiting
until the cores are idle before a run starts, and alternating the contenders' order
in every round, spreads what load remains over all of them alike, so their ratios
hold where their absolute figures do not.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import TypeVar

Contender = TypeVar("Contender")

# Idle: under 15% of all cores busy for 3 s in a row (a shell, an editor, a helper
# session's idle Python stay under it; a test run or a compile does not).
IDLE_BUSY_FRACTION = 0.15
IDLE_SECONDS = 3
# How long a run waits for an idle machine before it starts anyway and says so.
IDLE_WAIT = float(os.environ.get("BENCH_IDLE_WAIT", "60"))


def in_turn(contenders: Sequence[Contender], round_index: int) -> list[Contender]:
    """One round's order: as given in even rounds, reversed in odd ones, so going first
    (a colder cache, a quieter neighbour) favours no contender over the run."""
    return list(contenders) if round_index % 2 == 0 else list(reversed(contenders))


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_fraction(seconds: float = 1.0) -> float:
    """The share of all cores' time spent busy over the next `seconds`."""
    busy_before, total_before = _cpu_ticks()
    time.sleep(seconds)
    busy_after, total_after = _cpu_ticks()
    return (busy_after - busy_before) / max(1, total_after - total_before)


def wait_until_idle(within: float = IDLE_WAIT) -> float:
    """Wait until the cores have been idle for `IDLE_SECONDS`, at most `within` seconds;
    the last second's busy fraction (what a report should state when it is not ~0)."""
    deadline = time.monotonic() + within
    quiet = 0
    busy = busy_fraction()
    while True:
        quiet = quiet + 1 if busy < IDLE_BUSY_FRACTION else 0
        if quiet >= IDLE_SECONDS:
            return busy
        if time.monotonic() >= deadline:
            print(
                f"benchmarks: the machine is still {busy:.0%} busy after {within:.0f} s; "
                "starting anyway (compare ratios, not absolute figures)",
                file=sys.stderr,
            )
            return busy
        busy = busy_fraction()

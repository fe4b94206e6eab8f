"""The C allocator's settings for a long-lived image server (glibc; elsewhere nothing).

glibc serves a freed big buffer's memory again from the heap once it has seen one
freed: its mmap threshold rises with every big free, up to 32 MiB, so the decoded
pictures, source bytes and encoder buffers of later requests land in per-thread heaps
that fragment and are never given back, `malloc_trim` or not. `pixserve serve`
fixes the threshold at `MMAP_THRESHOLD` instead: such buffers are mapped for
themselves and unmapped when freed, and the threads of a worker share two heaps
(`ARENAS`). Measured with two waves of 8 concurrent 50-MP
requests (`benchmarks/stress.py`'s work, after a warm-up): the server's idle RSS grew
28-29% over its warmed level with glibc's default, under 1% with this. On cold
transforms of the corpus photos the time was 0.87x the default's (min 0.65, max
1.05, 5 rounds under load: no cost seen; `benchmarks/experiments/allocator.py`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

MMAP_THRESHOLD = 4 << 20  # bytes: a decoded picture of 1 MP or more is mapped apart
# glibc gives each thread that allocates at once a heap of its own, up to 8 per core:
# with 8 threads a worker, each heap fragments on its own and the worker grows. Two
# heaps a process: in `benchmarks/soak.py` (4 minutes, mixed traffic) the server's RSS
# went 516 -> 545 MiB from the second minute to the last (1.05x, peak 595), against
# 608, 785, 857, 978 MiB minute by minute with glibc's default (1.25x and rising).
# Threads mostly wait on the GIL or in Pillow's C calls, not in malloc.
ARENAS = 2
_M_MMAP_THRESHOLD = -3  # mallopt's parameter numbers (malloc.h)
_M_ARENA_MAX = -8


def _libc() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim, libc.mallopt  # noqa: B018 - glibc has both; musl neither
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def map_big_buffers_apart(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix the mmap threshold (see above) for this process and those it forks later;
    False where the allocator is not glibc's."""
    return _LIBC is not None and bool(_LIBC.mallopt(_M_MMAP_THRESHOLD, threshold))


def share_heaps(arenas: int = ARENAS) -> bool:
    """At most `arenas` heaps for all of this process's threads (see above), for it and
    those it forks later; False where the allocator is not glibc's."""
    return _LIBC is not None and bool(_LIBC.mallopt(_M_ARENA_MAX, arenas))


def release_free_memory() -> None:
    """Return the allocator's free pages to the system (glibc; elsewhere nothing)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)

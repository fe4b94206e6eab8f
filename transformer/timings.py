"""Where one transform's time goes, by phase, for the web layer to report.

The transformer only measures; `pixserve` turns the figures into metrics and a
`Server-Timing` header. Phases: `decode` (header, pixels, orientation, colour to
sRGB), `resize` (geometry and every operation), `encode`, and `quality` (what a
`q=auto` search adds: its other probes and their scoring).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

# The phases a transform is timed in, in the order they run.
PHASES = ("decode", "resize", "encode", "quality")


class Timings:
    """Seconds spent per phase; a phase entered several times adds up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed

    def add(self, name: str, seconds: float) -> None:
        """Count time measured elsewhere (a search splits its own) towards a phase."""
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

"""A whole transform in a child process a time limit can stop (`stoppable.py`).

For big work: the decode and the resize of a 50-MP picture are single C calls of a
second or more each, which no thread-level time limit can interrupt, and the peak
they leave behind in a long-lived worker stays there (glibc does not give a
fragmented heap back, `malloc_trim` or not). In a child, the time limit kills it
within one wait step, and its memory goes back to the system when it exits.

`q=auto`'s memory is the parent's (its cache is not safe to use across a fork): the
child starts every search afresh and hands what it chose back, and the parent
remembers it for the next request.
"""

from __future__ import annotations

from .colour import ColourSettings
from .formats import Format
from .options import Options
from .pipeline import ImageLimits, Result, transform
from .quality import QualityMemory
from .stoppable import run_stoppably


class _Recorded:
    """A `QualityMemory` for the child: it knows nothing and keeps what it is told."""

    def __init__(self) -> None:
        self.chosen: list[tuple[str, int]] = []

    def get(self, key: str) -> int | None:
        return None

    def put(self, key: str, quality: int) -> None:
        self.chosen.append((key, quality))


def transform_apart(
    source: bytes,
    options: Options,
    output: Format | None,
    limits: ImageLimits | None = None,
    colour: ColourSettings | None = None,
    memory: QualityMemory | None = None,
    candidates: tuple[Format, ...] = (),
) -> Result:
    """`transform(...)`, run in a forked child; its result or its error, raised here."""

    def work() -> tuple[Result, list[tuple[str, int]]]:
        recorded = _Recorded()
        result = transform(source, options, output, limits, colour, recorded, candidates)
        return result, recorded.chosen

    result, chosen = run_stoppably(work)
    if memory is not None:
        for key, quality in chosen:
            memory.put(key, quality)
    return result

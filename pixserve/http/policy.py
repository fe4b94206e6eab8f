"""Where a transform runs: in place, or in a child process the time limit kills.

In place, the time limit is checked between steps, so a transform can overrun it by
its longest step, and the worker keeps part of its peak memory. In a child
(`isolation.py`) it overruns by nothing and keeps nothing, for the price of a fork.
The estimates are `transformer.cost`'s, from the header alone.
"""

from __future__ import annotations

from pixserve.transformer.cost import Cost

# Transforms estimated to need this much memory or more run in a child: the worker
# keeps none of their peak (a 4000x4000 transform raised a worker's peak by 108-186
# MiB in place, 0 in a child: `tests/test_isolation.py`), and the fork, 10-15 ms at a
# worker's RSS (`benchmarks/isolation.py`), is under 2% of such a transform.
ISOLATE_FROM_BYTES = 64 << 20
# And those whose longest step is estimated at this much CPU or more: in place, that
# is how far they could overrun the time limit. At a second the fork is about 1% of
# the work, and a page's usual sizes stay in place, where their decodes are kept for
# the other widths: AVIF up to about 1.6 MP (1280x1280), lossless WebP 1.5 MP, PNG
# 5.5 MP (`benchmarks/isolation.py`, the rates in `transformer/cost.py`).
ISOLATE_FROM_STEP_SECONDS = 1.0


def isolates(cost: Cost) -> bool:
    """Whether a transform of `cost` runs in a child process."""
    return cost.memory >= ISOLATE_FROM_BYTES or cost.step_seconds >= ISOLATE_FROM_STEP_SECONDS

"""Requests to origins, counted and timed: metrics, and the request's `fetch` phase."""

from __future__ import annotations

from collections.abc import Callable

from pixserve.ops import observe
from pixserve.ops.metrics import Metrics
from pixserve.sources.fetching import FetchReport

FETCH_PHASE = "fetch"  # in Server-Timing and the request's log line, beside decode, resize...


def fetch_recorder(metrics: Metrics) -> Callable[[FetchReport], None]:
    """What a mount calls after each request to its origin."""

    def record(report: FetchReport) -> None:
        metrics.count_fetch(report.source, report.outcome, report.bytes, report.seconds)
        observation = observe.current()
        if observation is not None:
            timings = observation.timings
            timings[FETCH_PHASE] = timings.get(FETCH_PHASE, 0.0) + report.seconds

    return record

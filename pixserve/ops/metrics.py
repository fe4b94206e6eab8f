"""Prometheus metrics (`prometheus_client`), right under several server workers.

Counters and histograms are per process in memory; under `pixserve serve` they live
in prometheus_client's multiprocess mode instead, one memory-mapped file per worker
in a shared folder, summed at each scrape. The cache's figures (hits, misses,
entries, bytes) are not counted here again: the cache's own index already counts
them across processes and restarts, and a collector reads it at scrape time.

Worker slots. prometheus_client names each worker's files by its pid, so every
replaced worker (a reload, `worker_max_rss`, a crash) would leave files behind, and
scrapes slow down as they pile up (prometheus/client_python#204, #568). `pixserve
serve` numbers its workers instead (`use_worker_slots`): a new worker claims the
lowest slot no live worker holds (an `flock` on the slot's file, which the kernel
drops when its holder dies) and carries on from its counts, so the folder holds at
most a file per slot and kind, and counters never go backwards. prometheus_client
documents the rule this keeps: simultaneously running processes have distinct
identifiers.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector

from pixserve.cache import DiskCache, Freed
from pixserve.transformer.timings import PHASES

log = logging.getLogger(__name__)

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# Seconds: from a cache hit (under a millisecond) to a slow AVIF encode.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

_slot: int | None = None
_slot_lock: int | None = None  # the open, locked file of the slot


class Metrics:
    """The app's metrics; `exposition()` is what `/metrics` answers."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = MULTIPROCESS_VARIABLE in os.environ
        self._cache_collector: CacheCollector | None = None
        self._write_failed = False
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], Any] = {}
        self.requests = Counter(
            "pixserve_requests",
            "Requests answered, by route, status and output format.",
            ("route", "status", "format"),
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "pixserve_request_duration_seconds",
            "Time to make each response (until its body is handed to the server).",
            ("route",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.transform_seconds = Histogram(
            "pixserve_transform_seconds",
            "Time spent transforming on cache misses, by phase: decode, resize, encode.",
            ("phase",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.source_bytes = Counter(
            "pixserve_source_read_bytes",
            "Bytes of source images read.",
            registry=self.registry,
        )
        self.fetches = Counter(
            "pixserve_source_fetches",
            "Requests to origins (S3, HTTP), by source and outcome: fetched, not_modified, "
            "not_found, failed, refused, timeout, too_large, and stale (an answer from what was "
            "known while the origin failed, stale-if-error).",
            ("source", "outcome"),
            registry=self.registry,
        )
        self.fetched_bytes = Counter(
            "pixserve_source_fetched_bytes",
            "Bytes of originals fetched from origins, by source.",
            ("source",),
            registry=self.registry,
        )
        self.fetch_seconds = Histogram(
            "pixserve_source_fetch_seconds",
            "Time of each request to an origin, by source.",
            ("source",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rejected = Counter(
            "pixserve_rejected_requests",
            "Requests refused, by reason: bad_params, signature, limits, time_limit, overloaded, "
            "not_found, unsupported, undecodable, other.",
            ("reason",),
            registry=self.registry,
        )
        self.evictions = Counter(
            "pixserve_cache_evictions",
            "Cache entries evicted (least recently used, or expired) to make room.",
            registry=self.registry,
        )
        self.evicted_bytes = Counter(
            "pixserve_cache_evicted_bytes",
            "Bytes of cache entries evicted.",
            registry=self.registry,
        )

    def watch_cache(self, cache: DiskCache) -> None:
        """Report `cache`'s own counters at each scrape."""
        self._cache_collector = CacheCollector(cache)
        self.registry.register(self._cache_collector)

    def count_eviction(self, freed: Freed) -> None:
        self.evictions.inc(freed.entries)
        self.evicted_bytes.inc(freed.bytes)

    def observe_request(
        self,
        route: str,
        status: int,
        output_format: str,
        seconds: float,
        timings: Mapping[str, float],
        source_bytes: int,
        rejection: str | None,
    ) -> None:
        """Count one answered request; a metrics folder gone wrong never fails it."""
        try:
            self._labelled(self.requests, route, str(status), output_format).inc()
            self._labelled(self.request_seconds, route).observe(seconds)
            for phase in PHASES:
                if phase in timings:
                    self._labelled(self.transform_seconds, phase).observe(timings[phase])
            if source_bytes:
                self.source_bytes.inc(source_bytes)
            if rejection is not None:
                self.rejected.labels(rejection).inc()
        except OSError as error:  # multiprocess mode: its files cannot be written
            if not self._write_failed:
                log.warning("cannot record metrics (reported once): %s", error)
            self._write_failed = True

    def _labelled(self, metric: MetricWrapperBase, *labels: str) -> Any:
        """`metric.labels(*labels)`, kept: prometheus_client's own lookup validates and
        locks at every call, which showed in a cache hit's profile."""
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def count_fetch(self, source: str, outcome: str, size: int, seconds: float) -> None:
        """Count one request to an origin; a metrics folder gone wrong never fails it."""
        try:
            self.fetches.labels(source, outcome).inc()
            self.fetch_seconds.labels(source).observe(seconds)
            if size:
                self.fetched_bytes.labels(source).inc(size)
        except OSError as error:
            if not self._write_failed:
                log.warning("cannot record metrics (reported once): %s", error)
            self._write_failed = True

    def exposition(self) -> tuple[bytes, str]:
        """The text format: every worker's counts when several serve, else this process's."""
        registry = self.registry
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            if self._cache_collector is not None:
                registry.register(self._cache_collector)
        return generate_latest(registry), CONTENT_TYPE_LATEST


class CacheCollector:
    """The cache index's totals, read when scraped: the same for every worker."""

    def __init__(self, cache: DiskCache) -> None:
        self.cache = cache

    def describe(self) -> list[Metric]:
        return []  # unchecked: its samples are read from the index at each scrape

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "pixserve_cache_index_up", "1 when the cache index could be read for this scrape."
        )
        try:
            stats = self.cache.stats()
        except Exception as error:  # a scrape must not fail because the cache cannot be read
            log.warning("cannot read the cache index for /metrics: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield CounterMetricFamily(
            "pixserve_cache_hits",
            "Cache hits, all workers, since the cache was made or purged.",
            value=stats.hits,
        )
        yield CounterMetricFamily(
            "pixserve_cache_misses",
            "Results made and stored, all workers, since the same.",
            value=stats.misses,
        )
        yield GaugeMetricFamily("pixserve_cache_entries", "Entries in the cache.", stats.entries)
        yield GaugeMetricFamily("pixserve_cache_bytes", "Bytes in the cache.", stats.bytes)
        yield GaugeMetricFamily(
            "pixserve_cache_max_bytes", "The cache's size bound.", self.cache.max_bytes
        )


def use_worker_slots(directory: Path) -> None:
    """Multiprocess mode in `directory`, with files named by worker slot (see above).

    Call before any metric is made; `claim_worker_slot` in each worker after fork.
    """
    os.environ[MULTIPROCESS_VARIABLE] = str(directory)
    slotted = values.MultiProcessValue(process_identifier=_slot_or_pid)  # type: ignore[no-untyped-call]
    values.ValueClass = slotted


def claim_worker_slot() -> int:
    """This process takes the lowest slot no live process holds; its counts continue
    that slot's files. The slot's lock file stays open (and locked) for its life."""
    global _slot, _slot_lock
    folder = Path(os.environ[MULTIPROCESS_VARIABLE])
    slot = 0
    while True:
        fd = os.open(folder / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            slot += 1
            continue
        _slot, _slot_lock = slot, fd
        return slot


def _slot_or_pid() -> str:
    return f"w{_slot}" if _slot is not None else str(os.getpid())

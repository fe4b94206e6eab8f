"""What the views need, built once per app from the validated config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import current_app

from pixserve.cache import DiskCache
from pixserve.config.settings import Config
from pixserve.http.admission import MakerSlots, MemoryBudget
from pixserve.http.background import BackgroundJobs
from pixserve.http.recent import RecentRequests
from pixserve.ops.metrics import Metrics
from pixserve.sources.watermarks import DecodedOverlays
from pixserve.transformer import ColourSettings, EncoderSettings, ImageLimits, Limits
from pixserve.transformer.decoded import DecodedSources

if TYPE_CHECKING:
    from pixserve.sources.router import Sources

EXTENSION_NAME = "pixserve"


@dataclass(frozen=True)
class Services:
    """The config and what is built from it: the cache, the metrics, the memory budget,
    the parser's and decoder's rules, the queue of background work (AVIF upgrades)."""

    config: Config
    cache: DiskCache
    metrics: Metrics
    admission: MemoryBudget
    makers: MakerSlots
    limits: Limits
    image_limits: ImageLimits
    colour: ColourSettings
    encoder: EncoderSettings
    sources: Sources
    decoded: DecodedSources | None = None  # None: the `decoded_cache` setting is 0
    background: BackgroundJobs = field(default_factory=BackgroundJobs)
    recent: RecentRequests = field(default_factory=RecentRequests)  # repeated requests
    overlays: DecodedOverlays = field(default_factory=DecodedOverlays)  # wm, ninepatch


def build_services(config: Config) -> Services:
    # Imported here: the sources' errors are problems, whose module reaches this one.
    from pixserve.ops.fetches import fetch_recorder
    from pixserve.sources.fetching import FetchLimits
    from pixserve.sources.router import build_sources

    metrics = Metrics()
    cache = DiskCache(
        config.cache.cache_dir,
        config.cache.cache_max_bytes,
        config.cache.cache_max_age,
        flight_timeout=config.cache.flight_timeout,
        on_evict=metrics.count_eviction,
        file_mode=config.cache.cache_file_mode,
    )
    cache.recover()  # what workers killed mid-write left behind
    metrics.watch_cache(cache)
    return Services(
        config=config,
        cache=cache,
        metrics=metrics,
        admission=MemoryBudget(
            config.cache.cache_dir, config.imaging.memory_budget, config.imaging.queue_timeout
        ),
        makers=MakerSlots(config.serving.transforms_per_process, config.imaging.queue_timeout),
        limits=config.query_limits(),
        image_limits=config.imaging.image_limits(),
        colour=config.imaging.colour_settings(),
        encoder=config.imaging.encoder_settings(),
        decoded=DecodedSources(budget) if (budget := config.imaging.decoded_cache) else None,
        sources=build_sources(
            config.http.root,
            config.sources.sources,
            cache_dir=config.cache.cache_dir,
            max_bytes=config.sources.source_cache_max_bytes,
            ttl=config.sources.source_ttl,
            stale_if_error=config.sources.source_stale_if_error,
            limits=FetchLimits(config.imaging.max_source_bytes, config.imaging.time_limit),
            flight_timeout=config.cache.flight_timeout,
            on_fetch=fetch_recorder(metrics),
        ),
    )


def services() -> Services:
    """The current app's pixserve services (set up by `PixServe`)."""
    found: Services = current_app.extensions[EXTENSION_NAME]
    return found

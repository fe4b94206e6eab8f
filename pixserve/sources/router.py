"""From an image name to its original: a named mount, else the local root.

`/image/<mount>/<key>` reads from the mount called `<mount>`; any other name is a
path under `root`, as it always was. A mount and an entry under root with the same
name are refused at start-up (`check_mounts`), so a name never means two things.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pixserve.cache import DiskCache, Freed
from pixserve.cache.disk import FLIGHT_TIMEOUT
from pixserve.sources.base import Source
from pixserve.sources.config import HttpMount, Mount
from pixserve.sources.fetching import FetchLimits, FetchReport, Origin, ignore_report
from pixserve.sources.http_origin import HttpOrigin
from pixserve.sources.local import find_source
from pixserve.sources.remote import RemoteMount

ORIGINALS_FOLDER = "originals"  # inside cache_dir, beside the results' shard folders


class Sources:
    """Every place originals come from, by the first segment of the name."""

    def __init__(self, root: Path, mounts: dict[str, RemoteMount] | None = None) -> None:
        self.root = root
        self.mounts = mounts or {}

    def find(self, name: str) -> Source | None:
        """The original `name`, None when there is none (or the name is refused).

        A mount's origin failures are raised as their problems (502, 504...)."""
        head, slash, rest = name.partition("/")
        mount = self.mounts.get(head)
        if mount is not None:
            return mount.find(rest) if slash else None
        return find_source(self.root, name)

    def unreachable(self, name: str) -> bool:
        """Whether finding `name` would ask an origin that failed in the last moments
        (`RemoteMount.unreachable`): a page's helpers then skip it instead of waiting."""
        head, _, key = name.partition("/")
        mount = self.mounts.get(head)
        return mount is not None and mount.unreachable(key)


def make_origin(mount: Mount, limits: FetchLimits) -> Origin:
    if isinstance(mount, HttpMount):
        return HttpOrigin(mount, limits)
    from pixserve.sources.s3 import S3Origin  # boto3 is imported only when a mount needs it

    return S3Origin(mount, limits)


def build_sources(
    root: Path,
    mounts: dict[str, Mount],
    *,
    cache_dir: Path,
    max_bytes: int,
    ttl: float,
    limits: FetchLimits,
    stale_if_error: float = 0.0,
    flight_timeout: float = FLIGHT_TIMEOUT,
    on_fetch: Callable[[FetchReport], None] = ignore_report,
) -> Sources:
    """The router, with one originals area shared by every mount; a fetch waited for
    by other workers takes up to `time_limit`, so `flight_timeout` is the results'."""
    if not mounts:
        return Sources(root)
    store = DiskCache(cache_dir / ORIGINALS_FOLDER, max_bytes, flight_timeout=flight_timeout)
    store.recover()
    return Sources(
        root,
        {
            name: RemoteMount(
                name,
                make_origin(mount, limits),
                store,
                ttl,
                limits.time_limit,
                on_fetch,
                stale_if_error=stale_if_error,
            )
            for name, mount in mounts.items()
        },
    )


def purge_originals(cache_dir: Path, max_bytes: int, name: str | None) -> Freed | None:
    """`pixserve cache purge [NAME]` on the originals area too: the next request fetches
    anew (running nodes once their `source_ttl` has passed). None when there is none."""
    folder = cache_dir / ORIGINALS_FOLDER
    if not folder.is_dir():
        return None
    store = DiskCache(folder, max_bytes)
    try:
        return store.purge(name)
    finally:
        store.close()

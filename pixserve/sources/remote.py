"""A mount's originals, fetched once and known for `source_ttl`: a hit costs no round trip.

Each original has an identity record (its version, size, sniffed format and the
validators for a conditional request) and its bytes, both in the originals area of
the cache (`<cache_dir>/originals`, its own `DiskCache` with its own byte budget), so
every worker of a node shares them and a srcset ladder of ten widths fetches its
original once. Within `source_ttl` of the last check, the identity is taken as it is
(from memory, else from disk); after it, one conditional request revalidates it
(`If-None-Match`/`If-Modified-Since`: a 304 costs no body). Concurrent misses of one
original, in any worker, wait for one fetch (the cache's per-key lock, as results do).

So a changed original keeps its old results for at most `source_ttl` on each node
(plus what browsers and CDNs keep under `max_age`).

While the origin fails or times out, what is known of an original is used for up to
`stale_if_error` past `source_ttl` (RFC 5861's stale-if-error): its results already
made are served, and new ones are made from its kept bytes. Each process asks the origin
again at most every `STALE_RECHECK` seconds meanwhile, counts each stale answer
(`pixserve_source_fetches{outcome="stale"}`) and logs once per original per outage.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from hashlib import blake2b
from typing import Any

from werkzeug.exceptions import NotFound

from pixserve.cache import DiskCache
from pixserve.sources.errors import OriginAddressRefused, OriginFailed, OriginTimeout
from pixserve.sources.fetching import (
    Fetched,
    FetchReport,
    Origin,
    Validators,
    ignore_report,
)
from pixserve.sources.local import forbidden
from pixserve.transformer import SNIFF_BYTES, ImageTooLarge, sniff_format

log = logging.getLogger(__name__)

RECORD_EXTENSION = "json"
ORIGINAL_EXTENSION = "orig"
# Identities kept in each process's memory; past it the oldest are forgotten (they
# are still on disk).
MEMORY_ENTRIES = 10_000
# Seconds between a process's asks of a failing origin while it serves what it knew:
# an origin that times out would otherwise cost every request `time_limit`.
STALE_RECHECK = 10.0


@dataclass(frozen=True)
class Identity:
    """What is known of one original, and when the origin last confirmed it."""

    version: str
    size: int
    format: str | None
    checked_at: float  # time.time() of the fetch or 304 that confirmed it
    last_modified: float | None = None
    etag: str | None = None
    modified_text: str | None = None

    @property
    def validators(self) -> Validators:
        return Validators(self.etag, self.modified_text)

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, data: bytes) -> Identity | None:
        try:
            fields: dict[str, Any] = json.loads(data)
            return cls(**fields)
        except (ValueError, TypeError):
            return None


@dataclass(frozen=True)
class RemoteSource:
    """An original of a mount; `read()` takes its bytes from the originals area."""

    name: str
    key: str
    identity: Identity
    mount: RemoteMount = field(compare=False, repr=False)

    @property
    def version(self) -> str:
        return self.identity.version

    @property
    def size(self) -> int:
        return self.identity.size

    @property
    def format(self) -> str | None:
        return self.identity.format

    @property
    def last_modified(self) -> datetime | None:
        stamp = self.identity.last_modified
        return None if stamp is None else datetime.fromtimestamp(stamp, UTC)

    def read(self) -> bytes:
        return self.mount.read(self.key, self.identity)


def _digest(*parts: str) -> str:
    return blake2b("\n".join(parts).encode(), digest_size=20).hexdigest()


class RemoteMount:
    """`/image/<name>/<key>`: originals from `origin`, kept in `store` for `ttl` seconds."""

    def __init__(
        self,
        name: str,
        origin: Origin,
        store: DiskCache,
        ttl: float,
        time_limit: float,
        on_fetch: Callable[[FetchReport], None] = ignore_report,
        *,
        stale_if_error: float = 0.0,
    ) -> None:
        self.name = name
        self.origin = origin
        self.store = store
        self.ttl = ttl
        self.time_limit = time_limit
        self.on_fetch = on_fetch
        self.stale_if_error = stale_if_error
        self._known: dict[str, Identity] = {}
        # Monotonic time until which the origin is not asked about what is known (it
        # failed or timed out), and the originals logged as stale in this outage.
        self._failing_until = 0.0
        self._logged_stale: set[str] = set()

    def find(self, key: str) -> RemoteSource | None:
        """The original `key` (fetched or revalidated if need be), None for a bad key.

        Raises what the origin's failures map to (404, 502, 504, 422)."""
        if not key or forbidden(key):
            return None
        return RemoteSource(f"{self.name}/{key}", key, self._identity(key), self)

    def _identity(self, key: str) -> Identity:
        known = self._known.get(key)
        if known is not None and self._usable(known):
            if not self._fresh(known):
                self.on_fetch(FetchReport(self.name, "stale", 0, 0.0))
            return known
        record_key = _digest("identity", self.name, key)
        known = self._stored(record_key)
        if known is None or not self._fresh(known):
            with self.store.single_flight(record_key):
                known = self._stored(record_key)  # fetched while we waited?
                if known is None or not self._fresh(known):
                    known = self._refresh(key, record_key, known)
        if len(self._known) >= MEMORY_ENTRIES:
            self._known.clear()
        self._known[key] = known
        return known

    def unreachable(self, key: str) -> bool:
        """Whether finding `key` would ask an origin this process saw fail or time out
        in the last `STALE_RECHECK` seconds (no fetch has worked since), because
        nothing usable is known of it in memory."""
        known = self._known.get(key)
        return self._failing() and (known is None or not self._usable(known))

    def _fresh(self, identity: Identity) -> bool:
        return time.time() - identity.checked_at < self.ttl

    def _failing(self) -> bool:
        return self._failing_until > time.monotonic()

    def _within_stale(self, identity: Identity) -> bool:
        return time.time() - identity.checked_at < self.ttl + self.stale_if_error

    def _usable(self, identity: Identity) -> bool:
        """Fresh, or stale within `stale_if_error` while the origin is failing."""
        return self._fresh(identity) or (self._failing() and self._within_stale(identity))

    def _stale(self, key: str, known: Identity | None, error: Exception) -> Identity:
        """What was known of `key`, while the origin fails and `stale_if_error` allows;
        else the failure is raised."""
        if known is None or not self._within_stale(known):
            raise error
        if key not in self._logged_stale:
            self._logged_stale.add(key)
            log.warning(
                "source %r: %s; serving what was known of %r %.0f s ago (stale-if-error)",
                self.name,
                getattr(error, "description", None) or error,
                key,
                time.time() - known.checked_at,
                extra={"fields": {"source": self.name, "image": f"{self.name}/{key}"}},
            )
        self.on_fetch(FetchReport(self.name, "stale", 0, 0.0))
        return known

    def _stored(self, record_key: str) -> Identity | None:
        path = self.store.lookup(record_key, (RECORD_EXTENSION,))
        if path is None:
            return None
        try:
            return Identity.decode(path.read_bytes())
        except OSError:
            return None

    def _has_bytes(self, identity: Identity) -> bool:
        found = self.store.lookup(self._bytes_key(identity.version), (ORIGINAL_EXTENSION,))
        return found is not None

    def _bytes_key(self, version: str) -> str:
        return _digest("original", self.name, version)

    def _refresh(self, key: str, record_key: str, known: Identity | None) -> Identity:
        """Ask the origin: conditionally when the bytes of what we know are still kept."""
        conditional = known is not None and (known.format is None or self._has_bytes(known))
        validators = known.validators if known is not None and conditional else None
        try:
            fetched = self._fetch(key, validators)
        except (OriginFailed, OriginTimeout) as error:
            return self._stale(key, known, error)
        if fetched.data is None and known is not None:
            identity = replace(known, checked_at=time.time())
        else:
            identity = self._keep(key, fetched)
        self.store.store(record_key, RECORD_EXTENSION, identity.encode(), f"{self.name}/{key}")
        return identity

    def _fetch(self, key: str, validators: Validators | None) -> Fetched:
        """One request to the origin within `time_limit`, reported however it ends."""
        started = time.perf_counter()
        outcome, size = "failed", 0
        try:
            fetched = self.origin.fetch(key, validators, time.monotonic() + self.time_limit)
        except Exception as error:
            outcome = _outcome(error)
            if isinstance(error, (OriginFailed, OriginTimeout)):
                self._failing_until = time.monotonic() + STALE_RECHECK
            raise
        else:
            self._failing_until = 0.0
            self._logged_stale.clear()
            outcome = "fetched" if fetched.data is not None else "not_modified"
            size = len(fetched.data or b"")
            return fetched
        finally:
            self.on_fetch(FetchReport(self.name, outcome, size, time.perf_counter() - started))

    def _keep(self, key: str, fetched: Fetched) -> Identity:
        data = fetched.data or b""
        identity = Identity(
            version=fetched.version,
            size=len(data),
            format=sniff_format(data[:SNIFF_BYTES]),
            checked_at=time.time(),
            last_modified=None
            if fetched.last_modified is None
            else fetched.last_modified.timestamp(),
            etag=fetched.validators.etag,
            modified_text=fetched.validators.last_modified,
        )
        if identity.format is not None:  # what is not an image is refused, not kept
            self.store.store(
                self._bytes_key(identity.version), ORIGINAL_EXTENSION, data, f"{self.name}/{key}"
            )
        return identity

    def read(self, key: str, identity: Identity) -> bytes:
        """The bytes of `identity`, fetched anew if they were evicted since."""
        bytes_key = self._bytes_key(identity.version)
        for _attempt in range(2):
            path = self.store.lookup(bytes_key, (ORIGINAL_EXTENSION,))
            if path is not None:
                try:
                    return path.read_bytes()
                except FileNotFoundError:
                    continue  # evicted between the lookup and the read
        with self.store.single_flight(bytes_key):
            path = self.store.lookup(bytes_key, (ORIGINAL_EXTENSION,))
            if path is not None:
                try:
                    return path.read_bytes()
                except FileNotFoundError:
                    pass
            fetched = self._fetch(key, None)
            kept = self._keep(key, fetched)
            if kept.version != identity.version:  # replaced meanwhile: tell the next requests
                record_key = _digest("identity", self.name, key)
                self.store.store(record_key, RECORD_EXTENSION, kept.encode(), f"{self.name}/{key}")
                self._known[key] = kept
            return fetched.data or b""


_OUTCOMES: tuple[tuple[type[Exception], str], ...] = (
    (NotFound, "not_found"),
    (OriginAddressRefused, "refused"),
    (OriginTimeout, "timeout"),
    (ImageTooLarge, "too_large"),
)


def _outcome(error: Exception) -> str:
    return next((name for kind, name in _OUTCOMES if isinstance(error, kind)), "failed")

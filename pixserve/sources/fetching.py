"""What an origin client (HTTP, S3) gives back, and the limits every fetch keeps."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pixserve.sources.errors import OriginTimeout
from pixserve.transformer import ImageTooLarge

# Waiting for a TCP (and TLS) connection; a healthy origin nearby answers in
# milliseconds, one across the world in a few hundred.
CONNECT_TIMEOUT = 3.0
# Waiting for any one read of the answer; the whole fetch stays within `time_limit`.
READ_TIMEOUT = 5.0
READ_CHUNK = 64 << 10


@dataclass(frozen=True)
class Validators:
    """What a conditional request sends: `If-None-Match`, `If-Modified-Since`."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    """An origin's answer: the bytes and their identity, or `data` None for "not modified"."""

    data: bytes | None
    version: str = ""
    last_modified: datetime | None = None
    validators: Validators = Validators()


NOT_MODIFIED = Fetched(None)


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int
    time_limit: float
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT


@dataclass(frozen=True)
class FetchReport:
    """One request to an origin, for metrics: which mount, how it ended, bytes, seconds.

    `outcome`: fetched, not_modified, not_found, failed, refused, timeout, too_large,
    stale (no request: what was known, while the origin fails).
    """

    source: str
    outcome: str
    bytes: int
    seconds: float


def ignore_report(report: FetchReport) -> None:
    """For mounts nobody measures (tests, tools)."""


class Origin(Protocol):
    """Where a mount's originals are fetched from."""

    def fetch(self, key: str, validators: Validators | None, deadline: float) -> Fetched:
        """The object `key`; `validators` make the request conditional. `deadline` is
        on `time.monotonic()`'s clock. Raises `NotFound`, `OriginFailed`,
        `OriginTimeout` or `ImageTooLarge`."""
        ...


def remaining(deadline: float, what: str) -> float:
    """Seconds left before `deadline`; `OriginTimeout` when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise OriginTimeout(f"{what} did not answer within the time limit")
    return left


def read_limited(
    read_some: Callable[[int], bytes], declared: int | None, limits: FetchLimits, deadline: float
) -> bytes:
    """A body read chunk by chunk, stopped past `max_bytes` (whatever the origin declared)
    and past the deadline (however slowly the bytes come)."""
    too_large = ImageTooLarge(f"the original is larger than the limit of {limits.max_bytes} bytes")
    if declared is not None and declared > limits.max_bytes:
        raise too_large
    chunks: list[bytes] = []
    total = 0
    while True:
        remaining(deadline, "the origin")
        chunk = read_some(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limits.max_bytes:
            raise too_large
        chunks.append(chunk)

"""A bounded on-disk cache of transform results, safe for several processes.

Layout: `<directory>/ab/cd/<key>.<ext>`, sharded so no directory grows huge. Writes go
to a temp file in the same directory and are moved in place with `os.replace`, so a
reader sees the whole file or none. A hit refreshes the file's mtime, which makes
mtime the last-access time that eviction orders by (least recently used first).
Entries are never modified, so mtime has no other meaning here.

This is the simple version: each process keeps an estimate of the total size, seeded
by a scan, and when the estimate passes the limit it rescans and evicts down to
`EVICT_TO` of it. Other processes' writes are seen at the next scan, so the cache can
overshoot by what the other workers wrote since. Any OSError is logged once per kind
and the caller serves the result uncached: a cache problem never fails a request.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
from pathlib import Path

log = logging.getLogger(__name__)

EVICT_TO = 0.9  # after eviction, the cache holds at most this fraction of its limit
RESCAN_EVERY = 256  # stores between rescans, to see what other processes wrote
_TEMP_PREFIX = ".tmp-"


class DiskCache:
    """Store bytes under a hex key; look them up as a path to serve."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._estimated_bytes: int | None = None
        self._stores_since_scan = 0
        self._warned: set[str] = set()

    def path_for(self, key: str, extension: str) -> Path:
        """Where the entry for `key` lives (whether or not it exists)."""
        if len(key) < 8 or not key.isalnum():
            raise ValueError(f"cache keys are hex digests, got {key!r}")
        return self.directory / key[:2] / key[2:4] / f"{key}.{extension}"

    def lookup(self, key: str, extensions: tuple[str, ...]) -> Path | None:
        """The stored entry for `key` under any of `extensions`, or None.

        A zero-byte file is never an entry: it can only be a failed write.
        """
        for extension in extensions:
            path = self.path_for(key, extension)
            try:
                if path.stat().st_size == 0:
                    continue
                os.utime(path)  # mark as recently used
            except FileNotFoundError:
                continue
            except OSError as error:
                self._warn_once("read", f"cannot read the cache at {self.directory}: {error}")
                return None
            return path
        return None

    def store(self, key: str, extension: str, data: bytes) -> Path | None:
        """Write an entry atomically; None (and a logged warning) when the disk refuses."""
        path = self.path_for(key, extension)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as temp:
                    temp.write(data)
                os.replace(temp_name, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp_name)
                raise
        except OSError as error:
            self._warn_once("write", f"cannot write to the cache at {self.directory}: {error}")
            return None
        self._account(len(data))
        return path

    def _account(self, added: int) -> None:
        with self._lock:
            self._stores_since_scan += 1
            if self._estimated_bytes is None or self._stores_since_scan >= RESCAN_EVERY:
                self._estimated_bytes = self.total_bytes()
                self._stores_since_scan = 0
            else:
                self._estimated_bytes += added
            if self._estimated_bytes > self.max_bytes:
                self._estimated_bytes = self.evict(int(self.max_bytes * EVICT_TO))

    def _entries(self) -> list[tuple[float, int, Path]]:
        entries = []
        for path in self.directory.glob("*/*/*"):
            with contextlib.suppress(OSError):
                stat = path.stat()
                entries.append((stat.st_mtime, stat.st_size, path))
        return entries

    def total_bytes(self) -> int:
        """Bytes on disk in entries (and in-flight temp files) right now."""
        return sum(size for _, size, _ in self._entries())

    def evict(self, target_bytes: int) -> int:
        """Delete least recently used entries until at most `target_bytes` remain."""
        entries = sorted(self._entries())
        total = sum(size for _, size, _ in entries)
        for _, size, path in entries:
            if total <= target_bytes:
                break
            if path.name.startswith(_TEMP_PREFIX):
                continue  # another process is writing it
            with contextlib.suppress(OSError):  # another process may have evicted it
                path.unlink()
                total -= size
        return total

    def _warn_once(self, condition: str, message: str) -> None:
        if condition not in self._warned:
            self._warned.add(condition)
            log.warning("%s; serving results uncached", message)
